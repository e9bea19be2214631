//! One architecture's binary packages as flat arrays, and a suite's sources.
//!
//! Names are interned to `u32`; every package's Depends/Pre-Depends become
//! clauses (an OR of atoms) whose candidate packages are resolved once, so
//! the solver only walks integer slices. Conflicts and Breaks (dose treats
//! both alike) are resolved to target packages once as well.

use std::ops::Range;

use debversion::Version;
use rustc_hash::FxHashMap as HashMap;

use crate::archive::Error;
use crate::archive::lazy::LazyVec;
use crate::control::deb822::{Paragraph, paragraphs_after};
use crate::control::relation::{Dep, Op, Relation, evaluate, parse_relations_with};
use crate::control::{Profiles, SourceInfo};

/// `Multi-Arch:` of a binary package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MultiArch {
    No,
    Same,
    Foreign,
    Allowed,
}

/// What an architecture qualifier asks of a candidate, for a native build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Qual {
    /// None, `:native` or the native arch by name: any package here.
    Native,
    /// `:any`: the real package (see `candidates_into`).
    Any,
    /// Another arch by name: nothing in a one-arch universe.
    Foreign,
}

/// A parsed Debian version. The parsed-index cache (`archive::cache`)
/// stores its parts (epoch, upstream, revision): debversion's own serde
/// form is the text, which every warm load would parse again through its
/// regex (8% of a warm `plan --port`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ver(pub Version);

impl Ver {
    /// `None` for a version that does not parse (such a version meets
    /// every constraint, see [`fits`]).
    fn parse(text: &str) -> Option<Ver> {
        crate::version::parse_ok(text).map(Ver)
    }
}

impl std::fmt::Display for Ver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Ver {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = &self.0;
        serde::Serialize::serialize(&(v.epoch, &v.upstream_version, &v.debian_revision), s)
    }
}

impl<'de> serde::Deserialize<'de> for Ver {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ver, D::Error> {
        let (epoch, upstream_version, debian_revision) = serde::Deserialize::deserialize(d)?;
        Ok(Ver(Version {
            epoch,
            upstream_version,
            debian_revision,
        }))
    }
}

/// One alternative of a relation, interned.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Atom {
    name: u32,
    qual: Qual,
    constraint: Option<(Op, Ver)>,
}

/// Strings end to end in one buffer, addressed by their order: the
/// universe's names and versions load as two allocations each instead of
/// one per string (the parsed-index cache loads hundreds of thousands).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct StrTable {
    text: String,
    ends: Vec<u32>,
}

impl StrTable {
    fn push(&mut self, s: &str) -> u32 {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
        self.ends.len() as u32 - 1
    }

    fn get(&self, id: u32) -> &str {
        let start = match id {
            0 => 0,
            _ => self.ends[id as usize - 1] as usize,
        };
        &self.text[start..self.ends[id as usize] as usize]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }
}

/// The FxHash of a name, for the name → id table.
fn name_hash(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(name)
}

/// One binary package of the universe.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pkg {
    pub name: u32,
    /// Its version's id in [`Universe::version`]'s table.
    version: u32,
    parsed: Option<Ver>,
    pub multi_arch: MultiArch,
    pub essential: bool,
    /// Its Depends + Pre-Depends clauses, a range of [`Universe::clause_cands`].
    deps: Range<u32>,
    /// Its Conflicts + Breaks targets, a range of `conf_targets`.
    conflicts: Range<u32>,
}

/// One architecture's Packages (arch:all included), flat. Serialized for
/// the parsed-index cache (`archive::cache`) without `ids`, which
/// [`Universe::reindex`] rebuilds.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Universe {
    pub arch: String,
    names: StrTable,
    /// Name → id: ids into `names`, hashed by [`name_hash`].
    #[serde(skip)]
    ids: hashbrown::HashTable<u32>,
    versions: StrTable,
    pub pkgs: Vec<Pkg>,
    /// Per name id: the packages of that name, highest version first.
    real: Vec<Vec<u32>>,
    /// Per name id: the packages providing it, with the provided version.
    provided: Vec<Vec<(u32, Option<Ver>)>>,
    atoms: Vec<Atom>,
    /// Clause k is `atoms[clause_atoms[k]]`; its candidates `cands[clause_cands[k]]`.
    clause_atoms: Vec<Range<u32>>,
    clause_cands: Vec<Range<u32>>,
    cands: Vec<u32>,
    conf_atoms: Vec<Atom>,
    conf_targets: Vec<u32>,
    /// The Essential packages, one version per name (the highest).
    essential: Vec<u32>,
}

/// A Packages text parsed piece by piece ([`crate::archive::chunks`]):
/// [`Self::feed`] each piece of whole paragraphs, then [`Self::finish`].
pub struct UniverseParser {
    u: Universe,
    pending_conf: Vec<Range<u32>>,
    seen: HashMap<(u32, String), ()>,
}

impl UniverseParser {
    pub fn new(arch: &str) -> UniverseParser {
        UniverseParser {
            u: Universe {
                arch: arch.to_string(),
                ..Universe::default()
            },
            pending_conf: Vec::new(),
            seen: HashMap::default(),
        }
    }

    /// Parses `text`, whole paragraphs that `lines_before` lines of the
    /// index `origin` precede (errors name the index's line).
    pub fn feed(&mut self, text: &str, lines_before: usize, origin: &str) -> Result<(), Error> {
        for_paragraphs(text, lines_before, origin, |p| {
            if let Some((pkg, conf)) = self.u.package(p, origin, &mut self.seen)? {
                self.u.pkgs.push(pkg);
                self.pending_conf.push(conf);
            }
            Ok(())
        })
    }

    /// The universe, its clauses' candidates resolved.
    pub fn finish(mut self) -> Universe {
        self.u.resolve(self.pending_conf);
        self.u
    }
}

/// Calls `each` with every paragraph of `text` ([`paragraphs_after`]).
fn for_paragraphs(
    text: &str,
    lines_before: usize,
    origin: &str,
    mut each: impl FnMut(&Paragraph<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut paras = paragraphs_after(text, lines_before);
    let mut p = Paragraph::default();
    while let Some(r) = paras.next_into(&mut p) {
        r.map_err(|e| para_error(origin, e.line, e.message))?;
        each(&p)?;
    }
    Ok(())
}

impl Universe {
    /// Parses the text of one arch's Packages; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, arch: &str) -> Result<Universe, Error> {
        let mut parser = UniverseParser::new(arch);
        parser.feed(text, 0, origin)?;
        Ok(parser.finish())
    }

    /// One paragraph → a package (`None` for a duplicate name+version or
    /// another arch) and its pending conflict atoms.
    fn package(
        &mut self,
        p: &Paragraph<'_>,
        origin: &str,
        seen: &mut HashMap<(u32, String), ()>,
    ) -> Result<Option<(Pkg, Range<u32>)>, Error> {
        let need = |f: &'static str| {
            p.get(f)
                .ok_or_else(|| para_error(origin, p.line, format!("missing field {f}")))
        };
        let arch = need("Architecture")?;
        if arch != "all" && arch != self.arch {
            return Ok(None);
        }
        let name = self.intern(need("Package")?);
        let version = need("Version")?;
        if seen.insert((name, version.to_string()), ()).is_some() {
            return Ok(None);
        }
        let id = self.pkgs.len() as u32;
        let rels = |f: &str| -> Result<Vec<Vec<Dep>>, Error> {
            match p.field(f) {
                None => Ok(Vec::new()),
                Some(fl) => parse_relations_with(fl.value, |r| r.dep)
                    .map_err(|m| para_error(origin, fl.line, format!("{f}: {m}"))),
            }
        };
        let first = self.clause_atoms.len() as u32;
        for group in rels("Pre-Depends")?.iter().chain(&rels("Depends")?) {
            let start = self.atoms.len() as u32;
            for d in group {
                let a = self.atom(d);
                self.atoms.push(a);
            }
            self.clause_atoms.push(start..self.atoms.len() as u32);
        }
        let deps = first..self.clause_atoms.len() as u32;
        let cstart = self.conf_atoms.len() as u32;
        for d in rels("Conflicts")?.iter().chain(&rels("Breaks")?).flatten() {
            let a = self.atom(d);
            self.conf_atoms.push(a);
        }
        let conf = cstart..self.conf_atoms.len() as u32;
        let parsed = Ver::parse(version);
        for d in rels("Provides")?.iter().flatten() {
            let n = self.intern(&d.name);
            let v = d.version.as_ref().and_then(|(_, v)| Ver::parse(v));
            self.provided[n as usize].push((id, v));
        }
        let multi_arch = match p.get("Multi-Arch") {
            Some("same") => MultiArch::Same,
            Some("foreign") => MultiArch::Foreign,
            Some("allowed") => MultiArch::Allowed,
            _ => MultiArch::No,
        };
        self.real[name as usize].push(id);
        let pkg = Pkg {
            name,
            version: self.versions.push(version),
            parsed,
            multi_arch,
            essential: p.get("Essential") == Some("yes"),
            deps,
            conflicts: 0..0,
        };
        Ok(Some((pkg, conf)))
    }

    /// Resolves every clause's candidates and every package's conflict targets.
    fn resolve(&mut self, pending_conf: Vec<Range<u32>>) {
        for list in &mut self.real {
            if list.len() > 1 {
                let (pkgs, versions) = (&self.pkgs, &self.versions);
                list.sort_by(|a, b| cmp_version(versions, &pkgs[*b as usize], &pkgs[*a as usize]));
            }
        }
        let mut scratch = Vec::new();
        self.clause_cands = Vec::with_capacity(self.clause_atoms.len());
        for k in 0..self.clause_atoms.len() {
            scratch.clear();
            for a in self.clause_atoms[k].clone() {
                self.candidates_into(&self.atoms[a as usize], &mut scratch);
            }
            let start = self.cands.len() as u32;
            for &c in &scratch {
                if !self.cands[start as usize..].contains(&c) {
                    self.cands.push(c);
                }
            }
            self.clause_cands.push(start..self.cands.len() as u32);
        }
        for (id, conf) in pending_conf.into_iter().enumerate() {
            scratch.clear();
            for a in conf {
                self.candidates_into(&self.conf_atoms[a as usize], &mut scratch);
            }
            // Other versions of the same name can't be installed alongside.
            scratch.extend(self.real[self.pkgs[id].name as usize].iter().copied());
            let start = self.conf_targets.len() as u32;
            for &c in &scratch {
                // A package may conflict with what it provides itself (policy 7.6.2).
                if c as usize != id && !self.conf_targets[start as usize..].contains(&c) {
                    self.conf_targets.push(c);
                }
            }
            self.pkgs[id].conflicts = start..self.conf_targets.len() as u32;
        }
        self.conf_atoms = Vec::new();
        self.essential = (0..self.pkgs.len() as u32)
            .filter(|&p| self.pkgs[p as usize].essential)
            .filter(|&p| self.real[self.pkgs[p as usize].name as usize].first() == Some(&p))
            .collect();
    }

    /// Rebuilds the name → id map after deserializing.
    pub fn reindex(&mut self) {
        let names = &self.names;
        self.ids = hashbrown::HashTable::with_capacity(names.len());
        for id in 0..names.len() as u32 {
            let hash = name_hash(names.get(id));
            self.ids
                .insert_unique(hash, id, |&i| name_hash(names.get(i)));
        }
    }

    /// The id of `name`, if interned.
    fn id(&self, name: &str) -> Option<u32> {
        self.ids
            .find(name_hash(name), |&i| self.names.get(i) == name)
            .copied()
    }

    /// The Essential packages every installation includes.
    pub fn essential(&self) -> &[u32] {
        &self.essential
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.id(name) {
            return id;
        }
        let id = self.names.push(name);
        let names = &self.names;
        self.ids
            .insert_unique(name_hash(name), id, |&i| name_hash(names.get(i)));
        self.real.push(Vec::new());
        self.provided.push(Vec::new());
        id
    }

    fn atom(&mut self, d: &Dep) -> Atom {
        let qual = match d.archqual.as_deref() {
            None | Some("native") => Qual::Native,
            Some("any") => Qual::Any,
            Some(a) if a == self.arch => Qual::Native,
            Some(_) => Qual::Foreign,
        };
        Atom {
            name: self.intern(&d.name),
            qual,
            constraint: d
                .version
                .as_ref()
                .and_then(|(op, v)| Some((*op, Ver::parse(v)?))),
        }
    }

    /// Appends the packages satisfying `a`: the real package of that name if
    /// its version fits, then providers (a versioned dep needs a versioned
    /// Provides that fits, policy 7.5). `:any` takes the real package only,
    /// whatever its Multi-Arch, and no Provides: what dose-builddebcheck
    /// answers for a native build (checked in tests/frontier.rs).
    fn candidates_into(&self, a: &Atom, out: &mut Vec<u32>) {
        if a.qual == Qual::Foreign {
            return;
        }
        for &id in &self.real[a.name as usize] {
            if fits(&a.constraint, self.pkgs[id as usize].parsed.as_ref()) {
                out.push(id);
            }
        }
        if a.qual == Qual::Any {
            return;
        }
        for (id, v) in &self.provided[a.name as usize] {
            let ok = match (&a.constraint, v) {
                (None, _) => true,
                (Some(_), Some(v)) => fits(&a.constraint, Some(v)),
                (Some(_), None) => false,
            };
            if ok {
                out.push(*id);
            }
        }
    }

    /// The candidates of one build relation (a source's, not in the universe).
    pub fn dep_candidates(&mut self, d: &Dep, out: &mut Vec<u32>) {
        let a = self.atom(d);
        self.candidates_into(&a, out);
    }

    /// Like [`Self::dep_candidates`] without interning (`&self`): an unknown
    /// name has no candidates.
    pub fn dep_candidates_ro(&self, d: &Dep, out: &mut Vec<u32>) {
        let Some(name) = self.id(&d.name) else {
            return;
        };
        let qual = match d.archqual.as_deref() {
            None | Some("native") => Qual::Native,
            Some("any") => Qual::Any,
            Some(a) if a == self.arch => Qual::Native,
            Some(_) => Qual::Foreign,
        };
        let constraint = d
            .version
            .as_ref()
            .and_then(|(op, v)| Some((*op, Ver::parse(v)?)));
        self.candidates_into(
            &Atom {
                name,
                qual,
                constraint,
            },
            out,
        );
    }

    pub fn name(&self, id: u32) -> &str {
        self.names.get(id)
    }

    /// The version of package `pkg`, as written.
    pub fn version(&self, pkg: u32) -> &str {
        self.versions.get(self.pkgs[pkg as usize].version)
    }

    pub fn pkg_name(&self, pkg: u32) -> &str {
        self.name(self.pkgs[pkg as usize].name)
    }

    /// The packages named `name` (highest version first).
    pub fn named(&self, name: &str) -> &[u32] {
        self.id(name).map_or(&[], |id| &self.real[id as usize])
    }

    /// The packages providing `name`.
    pub fn providers(&self, name: &str) -> impl Iterator<Item = u32> + '_ {
        self.id(name)
            .into_iter()
            .flat_map(|id| self.provided[id as usize].iter().map(|(p, _)| *p))
    }

    /// Every interned name (real and virtual), for "closest name" searches.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        (0..self.names.len() as u32).map(|id| self.names.get(id))
    }

    pub(crate) fn deps_of(&self, pkg: u32) -> Range<u32> {
        self.pkgs[pkg as usize].deps.clone()
    }

    pub(crate) fn clause(&self, k: u32) -> &[u32] {
        let r = &self.clause_cands[k as usize];
        &self.cands[r.start as usize..r.end as usize]
    }

    pub(crate) fn clause_count(&self) -> usize {
        self.clause_cands.len()
    }

    /// Clause `k` as written: `a (>= 1) | b:any`.
    pub fn clause_text(&self, k: u32) -> String {
        let r = &self.clause_atoms[k as usize];
        self.atoms[r.start as usize..r.end as usize]
            .iter()
            .map(|a| self.atom_text(a))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The names clause `k` mentions.
    pub fn clause_names(&self, k: u32) -> Vec<&str> {
        let r = &self.clause_atoms[k as usize];
        self.atoms[r.start as usize..r.end as usize]
            .iter()
            .map(|a| self.name(a.name))
            .collect()
    }

    /// Clause `k` as deps, to explain each alternative.
    pub fn clause_deps(&self, k: u32) -> Vec<Dep> {
        let r = &self.clause_atoms[k as usize];
        self.atoms[r.start as usize..r.end as usize]
            .iter()
            .map(|a| Dep {
                name: self.name(a.name).to_string(),
                archqual: match a.qual {
                    Qual::Native => None,
                    Qual::Any => Some("any".into()),
                    Qual::Foreign => Some("foreign".into()),
                },
                version: a.constraint.as_ref().map(|(op, v)| (*op, v.to_string())),
            })
            .collect()
    }

    fn atom_text(&self, a: &Atom) -> String {
        let q = match a.qual {
            Qual::Native => "",
            Qual::Any => ":any",
            Qual::Foreign => ":foreign",
        };
        match &a.constraint {
            Some((op, v)) => format!("{}{q} ({} {v})", self.name(a.name), op.as_str()),
            None => format!("{}{q}", self.name(a.name)),
        }
    }

    pub(crate) fn conflicts_of(&self, pkg: u32) -> &[u32] {
        let r = &self.pkgs[pkg as usize].conflicts;
        &self.conf_targets[r.start as usize..r.end as usize]
    }
}

fn cmp_version(versions: &StrTable, a: &Pkg, b: &Pkg) -> std::cmp::Ordering {
    match (&a.parsed, &b.parsed) {
        (Some(x), Some(y)) => x.cmp(y),
        _ => versions.get(a.version).cmp(versions.get(b.version)),
    }
}

/// Does a package of version `have` meet `constraint`? A version that does
/// not parse meets it, as in [`Dep::satisfied_by_version`].
fn fits(constraint: &Option<(Op, Ver)>, have: Option<&Ver>) -> bool {
    let (Some((op, want)), Some(have)) = (constraint, have) else {
        return true;
    };
    let ord = have.cmp(want);
    match op {
        Op::Lt => ord.is_lt(),
        Op::Le => ord.is_le(),
        Op::Eq => ord.is_eq(),
        Op::Ge => ord.is_ge(),
        Op::Gt => ord.is_gt(),
    }
}

fn para_error(origin: &str, line: usize, message: String) -> Error {
    Error::Paragraph {
        file: origin.to_string(),
        line,
        message,
    }
}

/// One source of a suite: what the planner knows ([`SourceInfo`]) plus its
/// Build-Conflicts, which only buildability needs.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SourceRec {
    pub info: SourceInfo,
    pub suite: String,
    pub build_conflicts: Vec<Vec<Relation>>,
    pub build_conflicts_arch: Vec<Vec<Relation>>,
    pub build_conflicts_indep: Vec<Vec<Relation>>,
}

impl SourceRec {
    /// Build-Depends (+ -Arch, + -Indep if `indep`) for `arch` and `profiles`.
    pub fn build_deps(&self, arch: &str, profiles: &Profiles, indep: bool) -> Vec<Vec<Dep>> {
        let mut d = evaluate(&self.info.build_depends, arch, profiles);
        d.extend(evaluate(&self.info.build_depends_arch, arch, profiles));
        if indep {
            d.extend(evaluate(&self.info.build_depends_indep, arch, profiles));
        }
        d
    }

    /// Build-Conflicts (+ -Arch, + -Indep if `indep`), flattened.
    pub fn build_conflicts(&self, arch: &str, profiles: &Profiles, indep: bool) -> Vec<Dep> {
        let mut d = evaluate(&self.build_conflicts, arch, profiles);
        d.extend(evaluate(&self.build_conflicts_arch, arch, profiles));
        if indep {
            d.extend(evaluate(&self.build_conflicts_indep, arch, profiles));
        }
        d.into_iter().flatten().collect()
    }
}

/// One suite's sources as [`SourceSet::parse_suite`] reads them and the
/// parsed cache keeps them: each source's name and binary names (what the
/// set's maps need) decoded at load, the records on first read.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SuiteSources {
    heads: Vec<(String, Vec<String>)>,
    recs: LazyVec<SourceRec>,
}

impl SuiteSources {
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }
}

/// The sources of one or more suites (earlier suites first), with a
/// binary → sources map from `Package-List` (or `Binary`).
#[derive(Debug, Default)]
pub struct SourceSet {
    sources: LazyVec<SourceRec>,
    by_name: HashMap<String, Ids>,
    by_binary: HashMap<String, Ids>,
}

/// The sources of one name: nearly always one, so no `Vec` for it (a
/// hundred thousand allocations a load).
#[derive(Debug)]
enum Ids {
    One(u32),
    Many(Vec<u32>),
}

impl Ids {
    fn add(map: &mut HashMap<String, Ids>, name: String, i: u32) {
        use std::collections::hash_map::Entry;
        match map.entry(name) {
            Entry::Occupied(mut e) => match e.get_mut() {
                Ids::One(first) => {
                    let first = *first;
                    e.insert(Ids::Many(vec![first, i]));
                }
                Ids::Many(v) => v.push(i),
            },
            Entry::Vacant(e) => {
                e.insert(Ids::One(i));
            }
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Ids::One(i) => std::slice::from_ref(i),
            Ids::Many(v) => v,
        }
    }
}

impl SourceSet {
    /// Parses a Sources text of `suite` and adds its sources. Like
    /// `archive::Sources`, `Extra-Source-Only: yes` entries are skipped and
    /// only a name's highest version is kept within one suite.
    pub fn add_suite(&mut self, text: &str, origin: &str, suite: &str) -> Result<(), Error> {
        let recs = SourceSet::parse_suite(text, origin, suite)?;
        self.extend(recs);
        Ok(())
    }

    /// The sources of one suite's Sources text, as [`Self::add_suite`] keeps them.
    pub fn parse_suite(text: &str, origin: &str, suite: &str) -> Result<SuiteSources, Error> {
        let mut parser = SuiteParser::new(suite);
        parser.feed(text, 0, origin)?;
        Ok(parser.finish())
    }

    /// Adds one suite's sources (from [`Self::parse_suite`] or the cache).
    pub fn extend(&mut self, part: SuiteSources) {
        let base = self.sources.len() as u32;
        self.by_name.reserve(part.heads.len());
        let binaries = part.heads.iter().map(|(_, b)| b.len()).sum();
        self.by_binary.reserve(binaries);
        for (i, (name, binaries)) in part.heads.into_iter().enumerate() {
            let i = base + i as u32;
            for b in binaries {
                Ids::add(&mut self.by_binary, b, i);
            }
            Ids::add(&mut self.by_name, name, i);
        }
        self.sources.append(part.recs);
    }

    /// The sources named `name`, one per suite, earlier suites first.
    pub fn named(&self, name: &str) -> &[u32] {
        self.by_name.get(name).map_or(&[], Ids::as_slice)
    }

    /// The sources whose Package-List names `binary`.
    pub fn building(&self, binary: &str) -> &[u32] {
        self.by_binary.get(binary).map_or(&[], Ids::as_slice)
    }

    /// Every binary name some source builds, for "closest name" searches.
    pub fn binary_names(&self) -> impl Iterator<Item = &str> {
        self.by_binary.keys().map(String::as_str)
    }

    pub fn get(&self, i: u32) -> &SourceRec {
        self.sources.get(i as usize)
    }

    /// The sources `range` (one suite's, as [`Self::extend`] added them)
    /// in [`SuiteSources`]' serialised form, without copying them.
    pub fn suite(&self, range: Range<usize>) -> SuiteView<'_> {
        SuiteView { set: self, range }
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Every source, earlier suites first.
    pub fn iter(&self) -> impl Iterator<Item = &SourceRec> {
        self.sources.iter()
    }
}

/// A suite's Sources text parsed piece by piece, as [`UniverseParser`].
pub struct SuiteParser {
    suite: String,
    /// Name → its record in `out`.
    local: HashMap<String, u32>,
    out: Vec<SourceRec>,
}

impl SuiteParser {
    pub fn new(suite: &str) -> SuiteParser {
        SuiteParser {
            suite: suite.to_string(),
            local: HashMap::default(),
            out: Vec::new(),
        }
    }

    /// Parses `text`, whole paragraphs that `lines_before` lines of the
    /// index `origin` precede.
    pub fn feed(&mut self, text: &str, lines_before: usize, origin: &str) -> Result<(), Error> {
        for_paragraphs(text, lines_before, origin, |p| {
            if p.get("Extra-Source-Only") == Some("yes") {
                return Ok(());
            }
            let rec = source_rec(p, origin, &self.suite)?;
            match self.local.get(&rec.info.name) {
                Some(&i) => {
                    let old = &self.out[i as usize].info.version;
                    if newer(rec.info.version.as_deref(), old.as_deref()) {
                        self.out[i as usize] = rec;
                    }
                }
                None => {
                    self.local
                        .insert(rec.info.name.clone(), self.out.len() as u32);
                    self.out.push(rec);
                }
            }
            Ok(())
        })
    }

    /// The suite's sources: a name's highest version, in first-seen order.
    pub fn finish(self) -> SuiteSources {
        let mut part = SuiteSources::default();
        for rec in self.out {
            let binaries = rec.info.binaries.iter().map(|b| b.name.clone()).collect();
            part.heads.push((rec.info.name.clone(), binaries));
            part.recs.push(rec);
        }
        part
    }
}

/// [`SourceSet::suite`]: serialises as the [`SuiteSources`] the range came from.
pub struct SuiteView<'a> {
    set: &'a SourceSet,
    range: Range<usize>,
}

impl serde::Serialize for SuiteView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // As `parse_suite` builds them: each source's name and binary names.
        let heads: Vec<(&str, Vec<&str>)> = self
            .range
            .clone()
            .map(|i| {
                let info = &self.set.sources.get(i).info;
                let binaries = info.binaries.iter().map(|b| b.name.as_str()).collect();
                (info.name.as_str(), binaries)
            })
            .collect();
        let mut st = s.serialize_struct("SuiteSources", 2)?;
        st.serialize_field("heads", &heads)?;
        st.serialize_field("recs", &self.set.sources.slice(self.range.clone()))?;
        st.end()
    }
}

fn newer(a: Option<&str>, b: Option<&str>) -> bool {
    match (
        a.and_then(crate::version::parse_ok),
        b.and_then(crate::version::parse_ok),
    ) {
        (Some(a), Some(b)) => a > b,
        _ => a > b,
    }
}

fn source_rec(p: &Paragraph<'_>, origin: &str, suite: &str) -> Result<SourceRec, Error> {
    let info = SourceInfo::from_sources_paragraph(p, origin)?;
    let rel = |f: &str| -> Result<Vec<Vec<Relation>>, Error> {
        match p.field(f) {
            None => Ok(Vec::new()),
            Some(fl) => crate::control::parse_relations(fl.value)
                .map_err(|m| para_error(origin, fl.line, format!("{f}: {m}"))),
        }
    };
    Ok(SourceRec {
        info,
        suite: suite.to_string(),
        build_conflicts: rel("Build-Conflicts")?,
        build_conflicts_arch: rel("Build-Conflicts-Arch")?,
        build_conflicts_indep: rel("Build-Conflicts-Indep")?,
    })
}
