//! Parsed Sources and Packages indices, and the maps built from them.
//!
//! Parsing borrows from the decompressed text through
//! [`crate::control::deb822`] and keeps only the fields cascade uses; a
//! lossless tree per paragraph would cost seconds on sid.

// FxHash: the keys are package names from the archive, not attacker-chosen
// input a DoS-resistant hash would guard against; SipHash cost 4% of a parse.
use rustc_hash::FxHashMap as HashMap;

use super::Error;
use super::lazy::LazyMap;
use crate::control::deb822::{Paragraph, paragraphs};
use crate::control::relation::parse_relations_with;
use crate::control::{Dep, SourceInfo};

/// One binary package of one architecture's Packages index.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Binary {
    pub name: String,
    pub version: String,
    /// The source package (the `Source:` field, or the binary's own name).
    pub source: String,
    /// The source version (from `Source: name (version)`, else the binary's).
    pub source_version: String,
    /// `amd64`, `all`, …
    pub architecture: String,
    pub multi_arch: Option<String>,
    pub depends: Vec<Vec<Dep>>,
    pub pre_depends: Vec<Vec<Dep>>,
    pub provides: Vec<Dep>,
}

impl Binary {
    /// Does this binary satisfy `dep`, by its name and version or by one of
    /// its Provides (policy 7.5: an unversioned Provides satisfies only
    /// unversioned deps)? A `:any` dep needs `Multi-Arch: allowed`, as apt
    /// and dose read it; other qualifiers are not checked (one index, one arch).
    pub fn satisfies(&self, dep: &Dep) -> bool {
        if dep.archqual.as_deref() == Some("any") && self.multi_arch.as_deref() != Some("allowed") {
            return false;
        }
        if dep.name == self.name && dep.satisfied_by_version(&self.version) {
            return true;
        }
        self.provides.iter().any(|p| {
            p.name == dep.name
                && match (&dep.version, &p.version) {
                    (None, _) => true,
                    (Some(_), Some((_, v))) => dep.satisfied_by_version(v),
                    (Some(_), None) => false,
                }
        })
    }
}

/// A package that provides a virtual name, with the provided version if any.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provider {
    pub package: String,
    pub version: Option<String>,
}

impl Provider {
    /// `b` as a provider of `p`, one of its Provides.
    fn of(b: &Binary, p: &Dep) -> Provider {
        Provider {
            package: b.name.clone(),
            version: p.version.as_ref().map(|(_, v)| v.clone()),
        }
    }
}

/// How much of each Packages paragraph to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Detail {
    /// Every field [`Binary`] has: what `rdeps` and `status` need.
    #[default]
    Full,
    /// No `Depends`/`Pre-Depends` (left empty) and no source→binaries map
    /// ([`Packages::binaries_of`] is empty): enough to answer whether a
    /// build-dependency is satisfiable (name, version, Provides,
    /// Multi-Arch), which is all the planner asks. Parsing sid's relations
    /// is most of a Packages parse.
    Lean,
}

/// One architecture's Packages index (its `Architecture: all` packages included).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Packages {
    pub arch: String,
    /// What the binaries hold; with [`Detail::Lean`] their `depends` and
    /// `pre_depends` are empty.
    pub detail: Detail,
    /// Decoded on first read when loaded from the parsed cache.
    binaries: LazyMap<Binary>,
    provides: LazyMap<Vec<Provider>>,
    by_source: HashMap<String, Vec<String>>,
}

impl Packages {
    /// Parses the text of a Packages file; `origin` names it in errors. When
    /// a name appears more than once, the highest version wins.
    pub fn parse(text: &str, origin: &str, arch: &str) -> Result<Packages, Error> {
        Packages::parse_with(text, origin, arch, Detail::Full)
    }

    /// [`Self::parse`], keeping `detail` of each binary.
    pub fn parse_with(
        text: &str,
        origin: &str,
        arch: &str,
        detail: Detail,
    ) -> Result<Packages, Error> {
        let mut binaries: HashMap<String, Binary> =
            HashMap::with_capacity_and_hasher(80_000, Default::default());
        let mut paras = paragraphs(text);
        let mut p = Paragraph::default();
        while let Some(r) = paras.next_into(&mut p) {
            r.map_err(|e| Error::Paragraph {
                file: origin.to_string(),
                line: e.line,
                message: e.message,
            })?;
            let b = binary(&p, origin, detail)?;
            match binaries.get(&b.name) {
                Some(old) if !newer(&b.version, &old.version) => {}
                _ => {
                    binaries.insert(b.name.clone(), b);
                }
            }
        }
        let mut idx = Packages {
            arch: arch.to_string(),
            detail,
            binaries: LazyMap::new(binaries),
            provides: LazyMap::default(),
            by_source: HashMap::default(),
        };
        idx.index();
        Ok(idx)
    }

    /// Adds binaries (e.g. from a separate `binary-all` index) not already present.
    pub fn merge(&mut self, other: Packages) {
        let mut binaries = std::mem::take(&mut self.binaries).into_map();
        for (name, b) in other.binaries.into_map() {
            binaries.entry(name).or_insert(b);
        }
        self.binaries = LazyMap::new(binaries);
        self.index();
    }

    /// Lays `other`'s binaries over these (an overlay archive's): its entry
    /// wins for a name both have. Only the names both have and `other`'s
    /// are read: the base is a whole suite, loaded lazily from the parsed
    /// cache.
    pub fn overlay(&mut self, other: Packages) {
        for b in other.binaries.into_map().into_values() {
            if let Some(old) = self.binaries.get(&b.name).cloned() {
                self.unindex(&old);
            }
            self.index_one(&b);
            self.binaries.insert(b.name.clone(), b);
        }
    }

    /// Adds `b`'s Provides and source to the maps.
    fn index_one(&mut self, b: &Binary) {
        for p in &b.provides {
            let mut providers = self.provides.get(&p.name).cloned().unwrap_or_default();
            providers.push(Provider::of(b, p));
            self.provides.insert(p.name.clone(), providers);
        }
        if self.detail == Detail::Full {
            let names = self.by_source.entry(b.source.clone()).or_default();
            if let Err(at) = names.binary_search(&b.name) {
                names.insert(at, b.name.clone());
            }
        }
    }

    /// Takes `b`'s Provides and source out of the maps.
    fn unindex(&mut self, b: &Binary) {
        for p in &b.provides {
            if let Some(providers) = self.provides.get(&p.name) {
                let mut providers = providers.clone();
                providers.retain(|pr| pr.package != b.name);
                self.provides.insert(p.name.clone(), providers);
            }
        }
        if let Some(names) = self.by_source.get_mut(&b.source) {
            names.retain(|n| *n != b.name);
        }
    }

    /// Rebuilds the Provides and source maps from `binaries`.
    fn index(&mut self) {
        let mut provides: HashMap<String, Vec<Provider>> = HashMap::default();
        self.by_source.clear();
        for b in self.binaries.values() {
            for p in &b.provides {
                provides
                    .entry(p.name.clone())
                    .or_default()
                    .push(Provider::of(b, p));
            }
            if self.detail == Detail::Full {
                self.by_source
                    .entry(b.source.clone())
                    .or_default()
                    .push(b.name.clone());
            }
        }
        for v in self.by_source.values_mut() {
            v.sort();
        }
        self.provides = LazyMap::new(provides);
    }

    pub fn get(&self, binary: &str) -> Option<&Binary> {
        self.binaries.get(binary)
    }

    pub fn len(&self) -> usize {
        self.binaries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.binaries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Binary> {
        self.binaries.values()
    }

    /// The source that builds `binary` on this arch.
    pub fn source_of(&self, binary: &str) -> Option<&str> {
        self.binaries.get(binary).map(|b| b.source.as_str())
    }

    /// The binaries of `source` in this index, sorted (none with [`Detail::Lean`]).
    pub fn binaries_of(&self, source: &str) -> &[String] {
        self.by_source.get(source).map_or(&[], Vec::as_slice)
    }

    /// The packages that provide the virtual name `name`.
    pub fn providers(&self, name: &str) -> &[Provider] {
        self.provides.get(name).map_or(&[], Vec::as_slice)
    }

    /// The binaries that satisfy `dep`: the real package of that name if its
    /// version fits, and the providers (a versioned dep needs a versioned
    /// Provides that fits). Architecture qualifiers are not checked: one
    /// index holds one architecture.
    pub fn satisfiers(&self, dep: &Dep) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(b) = self.binaries.get(&dep.name)
            && b.satisfies(dep)
        {
            out.push(b.name.as_str());
        }
        for p in self.providers(&dep.name) {
            if p.package != dep.name
                && let Some(b) = self.binaries.get(&p.package)
                && b.satisfies(dep)
            {
                out.push(b.name.as_str());
            }
        }
        out
    }

    /// Can `dep` be satisfied from this index?
    pub fn can_satisfy(&self, dep: &Dep) -> bool {
        !self.satisfiers(dep).is_empty()
    }
}

fn newer(a: &str, b: &str) -> bool {
    match (crate::version::parse_ok(a), crate::version::parse_ok(b)) {
        (Some(a), Some(b)) => a > b,
        _ => a > b,
    }
}

fn binary(p: &Paragraph<'_>, origin: &str, detail: Detail) -> Result<Binary, Error> {
    let need = |f: &'static str| {
        p.get(f).ok_or_else(|| Error::Paragraph {
            file: origin.to_string(),
            line: p.line,
            message: format!("missing field {f}"),
        })
    };
    let rels = |f: &str| -> Result<Vec<Vec<Dep>>, Error> {
        let Some(field) = p.field(f) else {
            return Ok(Vec::new());
        };
        parse_relations_with(field.value, |r| r.dep).map_err(|message| Error::Paragraph {
            file: origin.to_string(),
            line: field.line,
            message: format!("{f}: {message}"),
        })
    };
    let name = need("Package")?.to_string();
    let version = need("Version")?.to_string();
    let (source, source_version) = match p.get("Source") {
        Some(s) => match s.split_once('(') {
            Some((n, v)) => (
                n.trim().to_string(),
                v.trim_end_matches(')').trim().to_string(),
            ),
            None => (s.trim().to_string(), version.clone()),
        },
        None => (name.clone(), version.clone()),
    };
    Ok(Binary {
        architecture: need("Architecture")?.to_string(),
        multi_arch: p.get("Multi-Arch").map(str::to_string),
        depends: match detail {
            Detail::Full => rels("Depends")?,
            Detail::Lean => Vec::new(),
        },
        pre_depends: match detail {
            Detail::Full => rels("Pre-Depends")?,
            Detail::Lean => Vec::new(),
        },
        provides: rels("Provides")?.into_iter().flatten().collect(),
        name,
        version,
        source,
        source_version,
    })
}

/// A suite's Sources index: one [`SourceInfo`] per source name.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Sources {
    /// Decoded on first read when loaded from the parsed cache.
    by_name: LazyMap<SourceInfo>,
}

impl Sources {
    /// Parses the text of a Sources file. `Extra-Source-Only: yes` entries
    /// (kept in the archive for Built-Using, not built) are skipped; when a
    /// name appears more than once, the highest version wins.
    pub fn parse(text: &str, origin: &str) -> Result<Sources, Error> {
        let mut by_name: HashMap<String, SourceInfo> =
            HashMap::with_capacity_and_hasher(45_000, Default::default());
        let mut paras = paragraphs(text);
        let mut p = Paragraph::default();
        while let Some(r) = paras.next_into(&mut p) {
            r.map_err(|e| Error::Paragraph {
                file: origin.to_string(),
                line: e.line,
                message: e.message,
            })?;
            if p.get("Extra-Source-Only") == Some("yes") {
                continue;
            }
            let s = SourceInfo::from_sources_paragraph(&p, origin)?;
            match by_name.get(&s.name) {
                Some(old)
                    if !newer(
                        s.version.as_deref().unwrap_or(""),
                        old.version.as_deref().unwrap_or(""),
                    ) => {}
                _ => {
                    by_name.insert(s.name.clone(), s);
                }
            }
        }
        Ok(Sources {
            by_name: LazyMap::new(by_name),
        })
    }

    pub fn get(&self, source: &str) -> Option<&SourceInfo> {
        self.by_name.get(source)
    }

    /// Lays `other`'s sources over these (an overlay archive's): its entry
    /// wins for a name both have. Only `other`'s are read: the base is a
    /// whole suite, loaded lazily from the parsed cache.
    pub fn overlay(&mut self, other: Sources) {
        for (name, source) in other.by_name.into_map() {
            self.by_name.insert(name, source);
        }
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// All sources, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &SourceInfo> {
        self.by_name.values()
    }

    /// The sources whose Maintainer field contains `needle` (e.g. "Debian ROCm Team").
    pub fn by_maintainer<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = &'a SourceInfo> {
        self.iter()
            .filter(move |s| s.maintainer.as_deref().is_some_and(|m| m.contains(needle)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGES: &str = "\
Package: libamdhip64-dev
Source: rocm-hipamd (6.4.3-1)
Version: 6.4.3-1+b1
Architecture: amd64
Depends: libamdhip64-6 (= 6.4.3-1+b1), hipcc

Package: hipcc
Source: rocm-hipamd
Version: 6.4.3-1
Architecture: amd64
Provides: hip-compiler (= 6.4.3), hip-any
Multi-Arch: foreign

Package: hipcc
Source: rocm-hipamd
Version: 5.7.1-1
Architecture: amd64

Package: rocm-cmake
Version: 6.4.3-1
Architecture: all
";

    /// An overlay's binaries replace the base's of the same name, in the
    /// Provides and source maps too, on a base loaded lazily (the parsed
    /// cache's form) as on a parsed one.
    #[test]
    fn overlay_replaces_binaries_and_their_provides() {
        let over = "\
Package: hipcc
Source: rocm-llvm
Version: 7.2.4-1
Architecture: amd64

Package: hip-compiler-7
Source: rocm-llvm
Version: 7.2.4-1
Architecture: amd64
Provides: hip-compiler (= 7.2.4)
";
        let parsed = Packages::parse(PACKAGES, "Packages", "amd64").unwrap();
        let lazy: Packages =
            postcard::from_bytes(&postcard::to_allocvec(&parsed).unwrap()).unwrap();
        for mut base in [parsed, lazy] {
            base.overlay(Packages::parse(over, "over", "amd64").unwrap());
            assert_eq!(base.len(), 4);
            assert_eq!(base.get("hipcc").unwrap().version, "7.2.4-1");
            let providers: Vec<&str> = (base.providers("hip-compiler").iter())
                .map(|p| p.package.as_str())
                .collect();
            assert_eq!(providers, ["hip-compiler-7"]);
            assert!(base.providers("hip-any").is_empty());
            assert_eq!(base.binaries_of("rocm-hipamd"), ["libamdhip64-dev"]);
            assert_eq!(base.binaries_of("rocm-llvm"), ["hip-compiler-7", "hipcc"]);
            assert_eq!(base.get("rocm-cmake").unwrap().version, "6.4.3-1");
        }
    }

    #[test]
    fn packages_maps() {
        let p = Packages::parse(PACKAGES, "Packages", "amd64").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.get("hipcc").unwrap().version, "6.4.3-1");
        assert_eq!(p.source_of("libamdhip64-dev"), Some("rocm-hipamd"));
        assert_eq!(p.get("libamdhip64-dev").unwrap().source_version, "6.4.3-1");
        assert_eq!(p.source_of("rocm-cmake"), Some("rocm-cmake"));
        assert_eq!(p.binaries_of("rocm-hipamd"), ["hipcc", "libamdhip64-dev"]);
        assert_eq!(p.providers("hip-compiler")[0].package, "hipcc");
        let dep = |s: &str| {
            crate::control::parse_relations(s).unwrap()[0][0]
                .dep
                .clone()
        };
        assert_eq!(p.satisfiers(&dep("hip-compiler (>= 6)")), ["hipcc"]);
        assert!(p.satisfiers(&dep("hip-compiler (>= 7)")).is_empty());
        assert!(p.satisfiers(&dep("hip-any (>= 1)")).is_empty());
        assert_eq!(p.satisfiers(&dep("hip-any")), ["hipcc"]);
        // hipcc is Multi-Arch: foreign, not allowed.
        assert!(p.satisfiers(&dep("hipcc:any (>= 6)")).is_empty());
        assert_eq!(p.satisfiers(&dep("hipcc:native (>= 6)")), ["hipcc"]);
        assert!(!p.can_satisfy(&dep("nonexistent")));
    }

    #[test]
    fn lean_packages_answer_the_same_without_depends() {
        let full = Packages::parse(PACKAGES, "Packages", "amd64").unwrap();
        let lean = Packages::parse_with(PACKAGES, "Packages", "amd64", Detail::Lean).unwrap();
        assert_eq!(lean.detail, Detail::Lean);
        let dev = lean.get("libamdhip64-dev").unwrap();
        assert!(dev.depends.is_empty());
        assert!(!full.get("libamdhip64-dev").unwrap().depends.is_empty());
        assert_eq!(
            lean.providers("hip-compiler"),
            full.providers("hip-compiler")
        );
        assert_eq!(lean.get("hipcc"), full.get("hipcc"));
        assert!(lean.binaries_of("rocm-hipamd").is_empty());
    }

    #[test]
    fn malformed_paragraph_names_file_and_line() {
        let e = Packages::parse("Package: a\nVersion: 1\n", "P", "amd64").unwrap_err();
        assert_eq!(e.to_string(), "P:1: missing field Architecture");
        let e = Packages::parse("Package: a\nbroken\n", "P", "amd64").unwrap_err();
        assert!(e.to_string().starts_with("P:2: "));
    }

    #[test]
    fn sources_keep_highest_and_skip_extra_source_only() {
        let text = "Package: a\nVersion: 1.0-1\nArchitecture: any\n\n\
            Package: a\nVersion: 2.0-1\nArchitecture: any\nMaintainer: Debian ROCm Team <x@y>\n\n\
            Package: a\nVersion: 3.0-1\nArchitecture: any\nExtra-Source-Only: yes\n";
        let s = Sources::parse(text, "Sources").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.get("a").unwrap().version.as_deref(), Some("2.0-1"));
        assert_eq!(s.by_maintainer("Debian ROCm Team").count(), 1);
    }
}
