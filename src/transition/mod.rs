//! `transition`: what moving the stack from its target suite (experimental)
//! to the base suite (unstable) does to the rest of Debian, per arch — the
//! release team's questions before a library transition, for the whole stack
//! at once.
//!
//! Pure: [`analyse`] takes the facts (the base suite's Sources and one
//! arch's Packages, and for each stack source what its new version builds on
//! that arch) and answers:
//! - which binaries the stack stops and starts building ([`Change`]), with
//!   library renames paired by [`soname_stem`];
//! - which outside sources need a binNMU (an arch-dependent binary of theirs
//!   depends on a binary that disappears) and which need a sourceful upload
//!   (only `Architecture: all` binaries do: those cannot be binNMUed);
//! - which outside sources build-depend on the stack (rebuild candidates,
//!   through [`crate::rdeps`], directly and through the installation closure);
//! - which stack sources are left behind (their new Build-Depends need a
//!   binary the stack stops building).
//!
//! "Broken" is one rule for both dependencies and build-dependencies
//! ([`group_broken`]): an OR-group is broken when one of its alternatives is
//! met only by disappearing binaries and no alternative is met otherwise.
//!
//! Installability (dose-debcheck) is an effect and lives in [`debcheck`];
//! the rebuilds of outside sources with recheck are planned and judged in
//! [`rebuild`].

pub mod debcheck;
pub mod formats;
pub mod merge;
pub mod rebuild;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use crate::arch::Arch;
use crate::archive::{Packages, Sources};
use crate::control::{Dep, Profiles};
use crate::rdeps::{Affected, Query, rdeps};

/// One stack source that moves: what its new version builds on the arch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moving {
    pub source: String,
    /// The base suite's version (None: new to the base suite).
    pub base_version: Option<String>,
    pub target_version: String,
    /// Binaries the new version builds on this arch (arch:all included).
    pub binaries: BTreeSet<String>,
    /// The new version's Build-Depends and Build-Depends-Arch on this arch.
    pub build_deps: Vec<Vec<Dep>>,
}

/// What is asked besides the facts.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Count Build-Depends-Indep of outside sources (rebuild candidates).
    pub include_indep: bool,
    /// Rebuild candidates through the installation closure, not only direct.
    pub transitive: bool,
}

/// A binary the stack stops or starts building.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub binary: String,
    pub source: String,
}

/// A binary that disappears and the new one that replaces it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Rename {
    pub old: String,
    pub new: String,
    pub source: String,
}

/// An outside source whose binaries need rebuilding (binNMU) or a new
/// upload (arch:all binaries only) because they depend on a disappearing binary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dependent {
    pub source: String,
    /// The source version its binaries in the base suite were built from.
    pub version: String,
    /// Its binaries whose dependencies break.
    pub binaries: Vec<String>,
    /// The disappearing binaries they depend on.
    pub on: Vec<String>,
    /// What they would be rebuilt against (the renamed binaries, or the
    /// disappearing binary's source at its new version).
    pub against: Vec<String>,
}

/// A stack source whose Build-Depends (its new version's, or its base-suite
/// version's when it stays) need a binary the stack stops building.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftBehind {
    pub source: String,
    pub version: String,
    /// The failing build-dependency, as written (`a | b`).
    pub relation: String,
    /// The stack source that used to build it.
    pub built_by: Vec<String>,
}

/// The transition on one architecture.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchTransition {
    pub arch: Arch,
    /// Stack sources that move (their versions differ) on this arch.
    pub moving: Vec<String>,
    pub dropped: Vec<Change>,
    /// Binaries of older versions of the moving sources still listed (not
    /// built by the base suite's version): removed with the move too, and
    /// counted as disappearing, but not among `dropped`.
    pub cruft: Vec<Change>,
    pub added: Vec<Change>,
    pub renames: Vec<Rename>,
    pub binnmus: Vec<Dependent>,
    /// Outside sources whose broken binaries are all `Architecture: all`.
    pub sourceful: Vec<Dependent>,
    /// Outside sources that build-depend on a stack binary (direct, or
    /// through the closure with [`Options::transitive`]).
    pub rebuilds: Vec<Affected>,
    /// How many outside sources build-depend on the stack directly, and
    /// through the installation closure (so both numbers are seen).
    pub rebuilds_direct: usize,
    pub rebuilds_transitive: Option<usize>,
    pub left_behind: Vec<LeftBehind>,
}

/// The base suite's binaries of a stack source on an arch, built from its
/// current version (binaries of older versions still listed are cruft the
/// archive removes anyway).
pub fn base_binaries<'p>(
    packages: &'p Packages,
    sources: &Sources,
    source: &str,
) -> BTreeSet<&'p str> {
    let current = sources.get(source).and_then(|s| s.version.as_deref());
    packages
        .binaries_of(source)
        .iter()
        .filter_map(|b| packages.get(b))
        .filter(|b| current.is_none_or(|v| b.source_version == v))
        .map(|b| b.name.as_str())
        .collect()
}

/// The name with every run of digits (and dots between them) and a `t64`
/// suffix folded, so that `libamdhip64-6` and `libamdhip64-7`, or
/// `rocm-device-libs-21` and `-22`, share a stem: SONAME bumps rename a
/// library package only in those parts (policy 8.1).
pub fn soname_stem(name: &str) -> String {
    let name = name.strip_suffix("t64").unwrap_or(name);
    let mut out = String::with_capacity(name.len());
    let mut in_number = false;
    for c in name.chars() {
        let numeric = c.is_ascii_digit() || (in_number && c == '.');
        if numeric && !in_number {
            out.push('#');
        } else if !numeric {
            out.push(c);
        }
        in_number = numeric;
    }
    out
}

/// Is the OR-group `group` broken once `gone` disappears? One alternative is
/// met only by disappearing binaries, and none is met by anything else
/// (another binary of `packages`, or a name in `arriving`).
pub fn group_broken(
    group: &[Dep],
    packages: &Packages,
    gone: &BTreeSet<&str>,
    arriving: &BTreeSet<&str>,
) -> bool {
    let mut hit = false;
    for dep in group {
        if arriving.contains(dep.name.as_str()) {
            return false;
        }
        let (lost, kept): (Vec<&str>, Vec<&str>) = packages
            .satisfiers(dep)
            .into_iter()
            .partition(|b| gone.contains(b));
        if !kept.is_empty() {
            return false;
        }
        hit |= !lost.is_empty();
    }
    hit
}

/// The transition on `arch`. `stack` names every source of the stack
/// (moving or not); `moving` what the moving ones build.
pub fn analyse(
    arch: &Arch,
    sources: &Sources,
    packages: &Packages,
    stack: &BTreeSet<String>,
    moving: &[Moving],
    options: &Options,
) -> ArchTransition {
    let (dropped, cruft, added) = changes(sources, packages, moving);
    let gone: BTreeSet<&str> = dropped
        .iter()
        .chain(&cruft)
        .map(|c| c.binary.as_str())
        .collect();
    let arriving: BTreeSet<&str> = added.iter().map(|c| c.binary.as_str()).collect();
    let renames = renames(&dropped, &added);
    let (binnmus, sourceful) = dependents(packages, stack, (&gone, &arriving), moving, &renames);
    let (rebuilds_direct, rebuilds, rebuilds_transitive) =
        rebuild_candidates(arch, sources, packages, stack, options);
    ArchTransition {
        arch: arch.clone(),
        moving: moving.iter().map(|m| m.source.clone()).collect(),
        left_behind: left_behind(
            packages,
            &[moving, &staying(arch, sources, stack, moving)].concat(),
            &gone,
            &arriving,
        ),
        dropped,
        cruft,
        added,
        renames,
        binnmus,
        sourceful,
        rebuilds,
        rebuilds_direct,
        rebuilds_transitive,
    }
}

type Changes = (Vec<Change>, Vec<Change>, Vec<Change>);

/// (dropped, cruft, added) over the moving sources.
fn changes(sources: &Sources, packages: &Packages, moving: &[Moving]) -> Changes {
    let (mut dropped, mut cruft, mut added) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for m in moving {
        let base = base_binaries(packages, sources, &m.source);
        let change = |b: &str| Change {
            binary: b.to_string(),
            source: m.source.clone(),
        };
        dropped.extend(
            base.iter()
                .filter(|b| !m.binaries.contains(**b))
                .map(|b| change(b)),
        );
        cruft.extend(
            packages
                .binaries_of(&m.source)
                .iter()
                .filter(|b| !base.contains(b.as_str()) && !m.binaries.contains(*b))
                .map(|b| change(b)),
        );
        added.extend(
            m.binaries
                .iter()
                .filter(|b| !base.contains(b.as_str()))
                .map(|b| change(b)),
        );
    }
    let v = |s: BTreeSet<Change>| s.into_iter().collect();
    (v(dropped), v(cruft), v(added))
}

/// Pairs a dropped binary with an added one of the same source and stem;
/// when several share a stem, none is paired (the pair would be a guess).
fn renames(dropped: &[Change], added: &[Change]) -> Vec<Rename> {
    let key = |c: &Change| (c.source.clone(), soname_stem(&c.binary));
    // (source, stem) → (dropped names, added names)
    type Sides<'a> = (Vec<&'a str>, Vec<&'a str>);
    let mut by_key: BTreeMap<(String, String), Sides> = BTreeMap::new();
    for c in dropped {
        by_key.entry(key(c)).or_default().0.push(&c.binary);
    }
    for c in added {
        by_key.entry(key(c)).or_default().1.push(&c.binary);
    }
    by_key
        .into_iter()
        .filter_map(|((source, _), (old, new))| match (&old[..], &new[..]) {
            ([old], [new]) => Some(Rename {
                old: old.to_string(),
                new: new.to_string(),
                source,
            }),
            _ => None,
        })
        .collect()
}

/// One outside source's broken binaries, gathered.
#[derive(Default)]
struct Broken {
    binaries: Vec<String>,
    on: BTreeSet<String>,
    arch_dependent: bool,
}

/// Outside binaries whose Depends/Pre-Depends break, grouped by source:
/// (binNMU candidates, sources with only arch:all binaries broken).
fn dependents(
    packages: &Packages,
    stack: &BTreeSet<String>,
    (gone, arriving): (&BTreeSet<&str>, &BTreeSet<&str>),
    moving: &[Moving],
    renames: &[Rename],
) -> (Vec<Dependent>, Vec<Dependent>) {
    let mut by_source: BTreeMap<(&str, &str), Broken> = BTreeMap::new();
    for b in packages.iter().filter(|b| !stack.contains(&b.source)) {
        let broken: Vec<&Dep> = b
            .depends
            .iter()
            .chain(&b.pre_depends)
            .filter(|g| group_broken(g, packages, gone, arriving))
            .flatten()
            .collect();
        if broken.is_empty() {
            continue;
        }
        let e = by_source
            .entry((b.source.as_str(), b.source_version.as_str()))
            .or_default();
        e.binaries.push(b.name.clone());
        e.on.extend(lost_names(&broken, packages, gone));
        e.arch_dependent |= b.architecture != "all";
    }
    let (mut nmu, mut sourceful) = (Vec::new(), Vec::new());
    for ((source, version), mut broken) in by_source {
        broken.binaries.sort();
        let Broken {
            binaries,
            on,
            arch_dependent,
        } = broken;
        let d = Dependent {
            source: source.to_string(),
            version: version.to_string(),
            against: against(&on, packages, moving, renames),
            on: on.into_iter().collect(),
            binaries,
        };
        if arch_dependent {
            &mut nmu
        } else {
            &mut sourceful
        }
        .push(d);
    }
    (nmu, sourceful)
}

/// The disappearing binaries that met `deps`.
fn lost_names(deps: &[&Dep], packages: &Packages, gone: &BTreeSet<&str>) -> Vec<String> {
    deps.iter()
        .flat_map(|d| packages.satisfiers(d))
        .filter(|b| gone.contains(b))
        .map(str::to_string)
        .collect()
}

/// What a dependent is rebuilt against: each lost binary's new name, or its
/// source at the new version when it has no successor.
fn against(
    on: &BTreeSet<String>,
    packages: &Packages,
    moving: &[Moving],
    renames: &[Rename],
) -> Vec<String> {
    let out: BTreeSet<String> = on
        .iter()
        .map(|old| match renames.iter().find(|r| &r.old == old) {
            Some(r) => r.new.clone(),
            None => {
                let source = packages.source_of(old).unwrap_or(old);
                match moving.iter().find(|m| m.source == source) {
                    Some(m) => format!("{source} {}", m.target_version),
                    None => source.to_string(),
                }
            }
        })
        .collect();
    out.into_iter().collect()
}

/// (direct count, the candidates asked for, transitive count if asked).
fn rebuild_candidates(
    arch: &Arch,
    sources: &Sources,
    packages: &Packages,
    stack: &BTreeSet<String>,
    options: &Options,
) -> (usize, Vec<Affected>, Option<usize>) {
    let binaries: Vec<String> = stack
        .iter()
        .flat_map(|s| packages.binaries_of(s).iter().cloned())
        .collect();
    let ask = |direct| {
        let query = Query {
            binaries: binaries.clone(),
            arch: arch.clone(),
            profiles: Profiles::none(),
            direct,
            include_indep: options.include_indep,
        };
        let mut a = rdeps(sources, packages, &query).sources;
        a.retain(|s| !stack.contains(&s.source));
        a
    };
    let direct = ask(true);
    if !options.transitive {
        return (direct.len(), direct, None);
    }
    let transitive = ask(false);
    (direct.len(), transitive.clone(), Some(transitive.len()))
}

/// The stack sources that stay at their base-suite version on `arch` (not
/// moving, built there), as [`Moving`] entries of that version: a run that
/// rebuilt only part of the stack leaves the rest as it is, and a binary
/// the movers stop building can leave them behind too.
fn staying(
    arch: &Arch,
    sources: &Sources,
    stack: &BTreeSet<String>,
    moving: &[Moving],
) -> Vec<Moving> {
    let moves = |name: &str| moving.iter().any(|m| m.source == name);
    stack
        .iter()
        .filter(|name| !moves(name))
        .filter_map(|name| {
            let src = sources.get(name)?;
            let version = src.version.clone()?;
            let binaries: BTreeSet<String> = src
                .binaries_on(arch)
                .into_iter()
                .map(str::to_string)
                .collect();
            (!binaries.is_empty()).then(|| Moving {
                source: name.clone(),
                base_version: Some(version.clone()),
                target_version: version,
                binaries,
                build_deps: src.build_deps(arch, &Profiles::none(), true, false),
            })
        })
        .collect()
}

fn left_behind(
    packages: &Packages,
    moving: &[Moving],
    gone: &BTreeSet<&str>,
    arriving: &BTreeSet<&str>,
) -> Vec<LeftBehind> {
    let mut out = Vec::new();
    for m in moving.iter().filter(|m| !m.binaries.is_empty()) {
        for group in &m.build_deps {
            if !group_broken(group, packages, gone, arriving) {
                continue;
            }
            let lost = lost_names(&group.iter().collect::<Vec<_>>(), packages, gone);
            let built_by: BTreeSet<String> = lost
                .iter()
                .filter_map(|b| packages.source_of(b))
                .map(str::to_string)
                .collect();
            out.push(LeftBehind {
                source: m.source.clone(),
                version: m.target_version.clone(),
                relation: render::relation(group),
                built_by: built_by.into_iter().collect(),
            });
        }
    }
    out
}

/// Outside binaries whose Depends/Pre-Depends name a binary of the stack:
/// what must stay installable after the move.
pub fn outside_dependents<'p>(packages: &'p Packages, stack: &BTreeSet<String>) -> Vec<&'p str> {
    let ours = |name: &str| packages.source_of(name).is_some_and(|s| stack.contains(s));
    packages
        .iter()
        .filter(|b| !stack.contains(&b.source))
        .filter(|b| {
            b.depends
                .iter()
                .chain(&b.pre_depends)
                .flatten()
                .any(|d| ours(&d.name))
        })
        .map(|b| b.name.as_str())
        .collect()
}

/// Keeps the candidates matching `include` (all if None) and not `exclude`,
/// at most `max`.
pub fn select(
    candidates: &[Affected],
    include: Option<&regex::Regex>,
    exclude: Option<&regex::Regex>,
    max: Option<usize>,
) -> Vec<Affected> {
    candidates
        .iter()
        .filter(|a| include.is_none_or(|r| r.is_match(&a.source)))
        .filter(|a| exclude.is_none_or(|r| !r.is_match(&a.source)))
        .take(max.unwrap_or(usize::MAX))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
