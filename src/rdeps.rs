//! `rdeps`: reverse build-dependencies across a whole suite, for one
//! architecture — the question ratt and dose-ceve answer before a transition.
//!
//! A source is affected when its build-dependencies for the arch, followed
//! through binary packages' `Depends` and `Pre-Depends` (and `Provides`),
//! reach one of the given binaries. So: first the closure of binaries that
//! depend, directly or transitively, on the given ones; then the sources whose
//! build-dependencies name a member of it. Binaries an affected source builds
//! are deliberately not followed (that closure swallows most of sid).
//!
//! Matching follows dose-ceve's syntactic reading: an alternative `a | b`
//! links to every package that satisfies any of its members (name and
//! version, or a Provides — versioned only when the dep is versioned); `:any`
//! needs `Multi-Arch: allowed`, other qualifiers are not checked (one index
//! is one arch).
//! Sources are kept when their `Architecture:` field matches the arch or is
//! `all` (dose reads every paragraph of Sources alike).
//!
//! One deliberate difference from dose-ceve: when a suite's Sources lists a
//! source twice (sid keeps an old version while its binaries linger), cascade
//! looks only at the highest version — the one a rebuild would use — while
//! dose-ceve answers for every version. On the snapshot, `libamdhip64-dev
//! hipcc` gives identical sets (32 sources); `libssl-dev` gives 3005 vs 3006:
//! dose-ceve adds gedit-plugins 48.1-3, whose successor 50.0-2 only
//! build-depends on debhelper-compat. `libhwloc-dev libnuma-dev` on arm64
//! with Build-Depends-Indep: identical (1536 sources).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::FxHashMap as HashMap;

use crate::arch::Arch;
use crate::archive::{Packages, Sources};
use crate::control::{Dep, Profiles};

/// What to compute.
#[derive(Clone, Debug)]
pub struct Query {
    /// The binaries that change.
    pub binaries: Vec<String>,
    pub arch: Arch,
    pub profiles: Profiles,
    /// Only sources naming the given binaries themselves.
    pub direct: bool,
    /// Count `Build-Depends-Indep` too.
    pub include_indep: bool,
}

/// One affected source and the binaries (of the closure) its build-deps name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Affected {
    pub source: String,
    pub version: Option<String>,
    pub via: Vec<String>,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Answer {
    /// Affected sources, sorted by name.
    pub sources: Vec<Affected>,
    /// Size of the binary closure (the given binaries included).
    pub closure_size: usize,
    /// Given binaries absent from the Packages index of the arch.
    pub unknown: Vec<String>,
}

fn satisfies(packages: &Packages, binary: &str, dep: &Dep) -> bool {
    packages.get(binary).is_some_and(|b| b.satisfies(dep))
}

/// The binaries that depend (Depends/Pre-Depends, through Provides),
/// directly or transitively, on `start`, `start` included.
pub fn binary_closure(packages: &Packages, start: &[&str]) -> BTreeSet<String> {
    // Reverse index: a name a dependency mentions → (dependent binary, dep).
    let mut rindex: HashMap<&str, Vec<(&str, &Dep)>> = HashMap::default();
    for b in packages.iter() {
        for dep in b.depends.iter().chain(&b.pre_depends).flatten() {
            rindex
                .entry(dep.name.as_str())
                .or_default()
                .push((b.name.as_str(), dep));
        }
    }
    let mut closure: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for s in start {
        if let Some(b) = packages.get(s)
            && closure.insert(b.name.clone())
        {
            queue.push_back(b.name.as_str());
        }
    }
    while let Some(name) = queue.pop_front() {
        let Some(b) = packages.get(name) else {
            continue;
        };
        let names =
            std::iter::once(b.name.as_str()).chain(b.provides.iter().map(|p| p.name.as_str()));
        for n in names {
            for (dependent, dep) in rindex.get(n).map_or(&[][..], Vec::as_slice) {
                if !closure.contains(*dependent) && satisfies(packages, name, dep) {
                    closure.insert(dependent.to_string());
                    queue.push_back(dependent);
                }
            }
        }
    }
    closure
}

/// Answers `query` on one suite's Sources and the arch's Packages.
pub fn rdeps(sources: &Sources, packages: &Packages, query: &Query) -> Answer {
    let start: Vec<&str> = query.binaries.iter().map(String::as_str).collect();
    let unknown: Vec<String> = query
        .binaries
        .iter()
        .filter(|b| packages.get(b).is_none())
        .cloned()
        .collect();
    let closure: BTreeSet<String> = if query.direct {
        start
            .iter()
            .filter(|b| packages.get(b).is_some())
            .map(|b| b.to_string())
            .collect()
    } else {
        binary_closure(packages, &start)
    };
    // Every name under which a closure member can be asked for.
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::default();
    for c in &closure {
        if let Some(b) = packages.get(c) {
            by_name.entry(b.name.as_str()).or_default().push(c);
            for p in &b.provides {
                by_name.entry(p.name.as_str()).or_default().push(c);
            }
        }
    }
    let mut hits: BTreeMap<&str, Affected> = BTreeMap::new();
    for src in sources.iter() {
        if !src.architecture.iter().any(|a| a == "all") && !src.builds_on(&query.arch) {
            continue;
        }
        let mut via = BTreeSet::new();
        for dep in src.applicable_deps(&query.arch, &query.profiles, true, query.include_indep) {
            for c in by_name.get(dep.name.as_str()).into_iter().flatten() {
                if satisfies(packages, c, dep) {
                    via.insert(c.to_string());
                }
            }
        }
        if !via.is_empty() {
            hits.insert(
                src.name.as_str(),
                Affected {
                    source: src.name.clone(),
                    version: src.version.clone(),
                    via: via.into_iter().collect(),
                },
            );
        }
    }
    Answer {
        sources: hits.into_values().collect(),
        closure_size: closure.len(),
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGES: &str = "\
Package: libamdhip64-dev
Version: 6.4-1
Architecture: amd64
Depends: libamdhip64-6 (= 6.4-1)

Package: libamdhip64-6
Version: 6.4-1
Architecture: amd64

Package: librocblas-dev
Version: 6.4-1
Architecture: amd64
Depends: libamdhip64-dev, libc6

Package: libtool-old
Version: 1-1
Architecture: amd64
Depends: libamdhip64-dev (<< 6)

Package: hip-provider
Version: 1-1
Architecture: all
Provides: hip-runtime (= 6.4)
Pre-Depends: librocblas-dev | libfoo

Package: virt-user
Version: 1-1
Architecture: amd64
Depends: hip-runtime (>= 6)

Package: libc6
Version: 2.41-1
Architecture: amd64

Package: any-user
Version: 1-1
Architecture: amd64
Depends: libamdhip64-dev:any
";

    const SOURCES: &str = "\
Package: ggml
Version: 1-1
Architecture: any
Build-Depends: librocblas-dev [amd64]

Package: hipcc-user
Version: 1-1
Architecture: all
Build-Depends: cmake
Build-Depends-Indep: libamdhip64-dev

Package: riscv-only
Version: 1-1
Architecture: riscv64
Build-Depends: libamdhip64-dev

Package: old
Version: 1-1
Architecture: any
Build-Depends: libtool-old

Package: virt
Version: 1-1
Architecture: any
Build-Depends: virt-user <!nocheck>

Package: direct
Version: 1-1
Architecture: any
Build-Depends: foo | libamdhip64-dev (>= 6)
";

    fn run(direct: bool, indep: bool, profiles: &[&str]) -> Vec<String> {
        let p = Packages::parse(PACKAGES, "P", "amd64").unwrap();
        let s = Sources::parse(SOURCES, "S").unwrap();
        let q = Query {
            binaries: vec!["libamdhip64-dev".into(), "nonexistent".into()],
            arch: Arch::new("amd64").unwrap(),
            profiles: Profiles::new(profiles.iter().copied()),
            direct,
            include_indep: indep,
        };
        let a = rdeps(&s, &p, &q);
        assert_eq!(a.unknown, ["nonexistent"]);
        a.sources.into_iter().map(|a| a.source).collect()
    }

    #[test]
    fn transitive_through_depends_pre_depends_and_provides() {
        // `old` depends on a version of libamdhip64-dev that does not exist.
        assert_eq!(run(false, false, &[]), ["direct", "ggml", "virt"]);
        assert_eq!(
            run(false, true, &[]),
            ["direct", "ggml", "hipcc-user", "virt"]
        );
        assert_eq!(run(false, false, &["nocheck"]), ["direct", "ggml"]);
    }

    #[test]
    fn direct_only() {
        assert_eq!(run(true, true, &[]), ["direct", "hipcc-user"]);
    }

    #[test]
    fn closure() {
        let p = Packages::parse(PACKAGES, "P", "amd64").unwrap();
        let c = binary_closure(&p, &["libamdhip64-dev"]);
        // `:any` needs Multi-Arch: allowed, which libamdhip64-dev is not.
        assert!(!c.contains("any-user"));
        let c: Vec<&str> = c.iter().map(String::as_str).collect();
        assert_eq!(
            c,
            [
                "hip-provider",
                "libamdhip64-dev",
                "librocblas-dev",
                "virt-user"
            ]
        );
    }
}
