//! The survey itself: stack sources × suites × architectures, from parsed
//! Sources and Packages indices, and the porting frontier. No I/O.

use std::collections::BTreeMap;

use crate::arch::Arch;
use crate::archive::{Packages, Sources, Suite};
use crate::control::{Dep, Profiles, SourceInfo};

/// Version of the JSON document's shape (docs/status-json.md); bump on
/// incompatible changes.
pub const SCHEMA: &str = "cascade-status/1";

/// One suite's parsed indices, as the survey reads them.
#[derive(Clone, Copy, Debug)]
pub struct SuiteView<'a> {
    pub name: &'a str,
    pub sources: &'a Sources,
    pub packages: &'a BTreeMap<String, Packages>,
}

impl<'a> From<&'a Suite> for SuiteView<'a> {
    fn from(s: &'a Suite) -> SuiteView<'a> {
        SuiteView {
            name: &s.name,
            sources: &s.sources,
            packages: &s.packages,
        }
    }
}

/// A stack package: its source name and the Debian version its recipe targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackPackage {
    pub source: String,
    pub target: String,
}

/// What one suite has of one source on one architecture.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Cell {
    /// Arch-dependent binaries built from the suite's source version are there.
    Built,
    /// Only binaries of an older (or other) source version are there; `seen`
    /// is the highest source version among them.
    OutOfDate { seen: String },
    /// The source's Architecture field includes the arch, but no binary is there.
    Missing,
    /// The source's Architecture field leaves the arch out.
    Excluded,
    /// The source builds only `Architecture: all` packages.
    All,
    /// The suite has no such source.
    Absent,
}

impl Cell {
    /// The kebab-case name used in JSON, HTML classes and counts.
    pub fn name(&self) -> &'static str {
        match self {
            Cell::Built => "built",
            Cell::OutOfDate { .. } => "out-of-date",
            Cell::Missing => "missing",
            Cell::Excluded => "excluded",
            Cell::All => "all",
            Cell::Absent => "absent",
        }
    }

    /// Built, or nothing arch-dependent to build.
    pub fn is_done(&self) -> bool {
        matches!(self, Cell::Built | Cell::All)
    }
}

/// One source in one suite.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SuiteStatus {
    /// The source version in the suite's Sources (the highest if several).
    pub version: Option<String>,
    /// The source's Architecture field as the suite has it.
    pub architecture: Vec<String>,
    /// Per architecture asked for.
    pub arches: BTreeMap<String, Cell>,
}

/// One stack package across both suites.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PackageStatus {
    pub source: String,
    /// The recipe's target Debian version.
    pub target: String,
    /// Experimental has no version of it, or one lower than the target.
    pub experimental_lags: bool,
    pub unstable: SuiteStatus,
    pub experimental: SuiteStatus,
}

/// A stack package not built in unstable for an arch, and whether unstable
/// could build it there now.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FrontierEntry {
    pub source: String,
    /// Why it is on the list: its unstable cell (`missing`, `out-of-date`,
    /// `excluded`, `absent`).
    pub state: String,
    /// The suite whose source's build-dependencies were evaluated
    /// (unstable's, else experimental's when unstable has none).
    pub suite: String,
    pub version: String,
    /// Build-dependency OR-groups nothing in unstable satisfies on this arch
    /// (`a | b (>= 1)`); empty when the package can be built next.
    pub unsatisfied: Vec<String>,
}

/// The porting frontier of one architecture.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Frontier {
    /// Every build-dependency available in unstable: build these next.
    pub ready: Vec<FrontierEntry>,
    /// Waiting for the build-dependencies named in each entry.
    pub blocked: Vec<FrontierEntry>,
}

/// Cells per state for one suite and architecture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub built: usize,
    pub out_of_date: usize,
    pub missing: usize,
    pub excluded: usize,
    pub all: usize,
    pub absent: usize,
}

impl Counts {
    fn add(&mut self, cell: &Cell) {
        match cell {
            Cell::Built => self.built += 1,
            Cell::OutOfDate { .. } => self.out_of_date += 1,
            Cell::Missing => self.missing += 1,
            Cell::Excluded => self.excluded += 1,
            Cell::All => self.all += 1,
            Cell::Absent => self.absent += 1,
        }
    }
}

/// The whole survey.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub schema: &'static str,
    pub stack: String,
    /// Suite names as read (`sid`, `experimental`).
    pub unstable_suite: String,
    pub experimental_suite: String,
    pub arches: Vec<String>,
    pub packages: Vec<PackageStatus>,
    /// Per architecture.
    pub frontier: BTreeMap<String, Frontier>,
    /// `unstable`/`experimental` → arch → counts.
    pub summary: BTreeMap<String, BTreeMap<String, Counts>>,
}

/// Computes the survey of `stack`'s packages (in the order given) on `arches`.
pub fn compute(
    stack: &str,
    packages: &[StackPackage],
    unstable: SuiteView<'_>,
    experimental: SuiteView<'_>,
    arches: &[Arch],
) -> Status {
    let arch_names: Vec<String> = arches.iter().map(|a| a.to_string()).collect();
    let mut rows = Vec::new();
    let mut frontier: BTreeMap<String, Frontier> = arch_names
        .iter()
        .map(|a| (a.clone(), Frontier::default()))
        .collect();
    for p in packages {
        let u = suite_status(&p.source, unstable, arches);
        let e = suite_status(&p.source, experimental, arches);
        let experimental_lags = match &e.version {
            None => true,
            Some(v) => version_lt(v, &p.target),
        };
        for arch in arches {
            let Some(cell) = u.arches.get(arch.as_str()) else {
                continue;
            };
            if cell.is_done() {
                continue;
            }
            let Some(src) = unstable
                .sources
                .get(&p.source)
                .map(|s| (s, unstable.name))
                .or_else(|| {
                    experimental
                        .sources
                        .get(&p.source)
                        .map(|s| (s, experimental.name))
                })
            else {
                continue; // in neither suite: nothing to evaluate
            };
            let unsatisfied = match unstable.packages.get(arch.as_str()) {
                Some(idx) => unsatisfied_build_deps(src.0, arch, idx),
                None => vec!["(no Packages index for this arch)".to_string()],
            };
            let entry = FrontierEntry {
                source: p.source.clone(),
                state: cell.name().to_string(),
                suite: src.1.to_string(),
                version: src.0.version.clone().unwrap_or_default(),
                unsatisfied,
            };
            if let Some(f) = frontier.get_mut(arch.as_str()) {
                if entry.unsatisfied.is_empty() {
                    f.ready.push(entry);
                } else {
                    f.blocked.push(entry);
                }
            }
        }
        rows.push(PackageStatus {
            source: p.source.clone(),
            target: p.target.clone(),
            experimental_lags,
            unstable: u,
            experimental: e,
        });
    }
    let mut summary = BTreeMap::new();
    for (key, pick) in [
        (
            "unstable",
            (|r: &PackageStatus| &r.unstable) as fn(&PackageStatus) -> &SuiteStatus,
        ),
        ("experimental", |r: &PackageStatus| &r.experimental),
    ] {
        let mut per_arch = BTreeMap::new();
        for a in &arch_names {
            let mut c = Counts::default();
            for r in &rows {
                if let Some(cell) = pick(r).arches.get(a) {
                    c.add(cell);
                }
            }
            per_arch.insert(a.clone(), c);
        }
        summary.insert(key.to_string(), per_arch);
    }
    Status {
        schema: SCHEMA,
        stack: stack.to_string(),
        unstable_suite: unstable.name.to_string(),
        experimental_suite: experimental.name.to_string(),
        arches: arch_names,
        packages: rows,
        frontier,
        summary,
    }
}

fn suite_status(source: &str, suite: SuiteView<'_>, arches: &[Arch]) -> SuiteStatus {
    let Some(src) = suite.sources.get(source) else {
        return SuiteStatus {
            version: None,
            architecture: Vec::new(),
            arches: arches
                .iter()
                .map(|a| (a.to_string(), Cell::Absent))
                .collect(),
        };
    };
    let version = src.version.clone().unwrap_or_default();
    let cells = arches
        .iter()
        .map(|a| {
            let cell = cell(src, &version, a, suite.packages.get(a.as_str()));
            (a.to_string(), cell)
        })
        .collect();
    SuiteStatus {
        version: src.version.clone(),
        architecture: src.architecture.clone(),
        arches: cells,
    }
}

/// One cell: the arch-dependent binaries `src` has in `packages`, compared
/// by source version (the `Source: name (version)` field, so binNMUs
/// `+bN` count as built from their source version).
fn cell(src: &SourceInfo, version: &str, arch: &Arch, packages: Option<&Packages>) -> Cell {
    if !src.builds_on(arch) {
        return if src.architecture.iter().all(|a| a == "all") {
            Cell::All
        } else {
            Cell::Excluded
        };
    }
    let Some(packages) = packages else {
        return Cell::Missing;
    };
    let mut seen: Option<&str> = None;
    for name in packages.binaries_of(&src.name) {
        let Some(b) = packages.get(name) else {
            continue;
        };
        if b.architecture == "all" {
            continue;
        }
        let sv = strip_binnmu(&b.source_version);
        if sv == version {
            return Cell::Built;
        }
        if seen.is_none_or(|s| version_lt(s, sv)) {
            seen = Some(sv);
        }
    }
    match seen {
        Some(s) => Cell::OutOfDate {
            seen: s.to_string(),
        },
        None => Cell::Missing,
    }
}

/// The archive records a binNMU's source version in `Source: (…)`; a binary
/// without it whose own version carries `+bN` still comes from the version
/// before the suffix.
fn strip_binnmu(v: &str) -> &str {
    match v.rfind("+b") {
        Some(i) if i + 2 < v.len() && v[i + 2..].bytes().all(|b| b.is_ascii_digit()) => &v[..i],
        _ => v,
    }
}

/// Build-Depends + Build-Depends-Arch of `src` for `arch` (no profile),
/// each OR-group checked against `packages` (real packages and Provides,
/// version constraints honoured); the groups none of whose alternatives is
/// available, rendered.
fn unsatisfied_build_deps(src: &SourceInfo, arch: &Arch, packages: &Packages) -> Vec<String> {
    src.build_deps(arch, &Profiles::none(), true, false)
        .iter()
        .filter(|group| !group.iter().any(|d| packages.can_satisfy(d)))
        .map(|group| render_group(group))
        .collect()
}

fn render_group(group: &[Dep]) -> String {
    group
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `a < b` as Debian versions; plain string order when one does not parse.
pub fn version_lt(a: &str, b: &str) -> bool {
    match (
        a.parse::<debversion::Version>(),
        b.parse::<debversion::Version>(),
    ) {
        (Ok(a), Ok(b)) => a < b,
        _ => a < b,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const SID_SOURCES: &str = "\
Package: rocr-runtime
Binary: libhsa-runtime64-1, libhsa-runtime-dev
Version: 6.4.3+dfsg-5
Maintainer: Debian ROCm Team <debian-ai@lists.debian.org>
Build-Depends: cmake, libdrm-dev
Architecture: amd64 arm64 ppc64el riscv64

Package: rocm-hipamd
Binary: libamdhip64-6
Version: 6.4.3-5
Build-Depends: cmake, libhsa-runtime-dev (>= 6.4), gcc | clang
Build-Depends-Arch: arch-only-dep [riscv64]
Build-Depends-Indep: doc-only-dep
Architecture: amd64 arm64 ppc64el riscv64

Package: half
Binary: libhalf-dev
Version: 2.2.0-1
Architecture: all

Package: rocblas
Binary: librocblas4
Version: 6.4.4-4
Build-Depends: libamdhip64-dev
Architecture: amd64 arm64 all
";

    const SID_AMD64: &str = "\
Package: libhsa-runtime64-1
Source: rocr-runtime
Version: 6.4.3+dfsg-5
Architecture: amd64

Package: libamdhip64-6
Source: rocm-hipamd (6.4.3-5)
Version: 6.4.3-5+b1
Architecture: amd64

Package: librocblas4
Source: rocblas
Version: 6.4.4-3
Architecture: amd64

Package: cmake
Version: 3.31-1
Architecture: amd64

Package: libdrm-dev
Version: 2.4-1
Architecture: amd64
";

    const SID_RISCV64: &str = "\
Package: cmake
Version: 3.31-1
Architecture: riscv64

Package: libdrm-dev
Version: 2.4-1
Architecture: riscv64

Package: clang
Version: 1:21-1
Architecture: riscv64
Provides: c-compiler

Package: libhalf-dev
Source: half
Version: 2.2.0-1
Architecture: all
";

    const EXP_SOURCES: &str = "\
Package: rocblas
Binary: librocblas5
Version: 7.2.4-1~exp1
Architecture: amd64 arm64 all
";

    fn arches() -> Vec<Arch> {
        ["amd64", "riscv64"]
            .iter()
            .map(|a| Arch::new(a).unwrap())
            .collect()
    }

    /// A small survey the renderers' tests share.
    pub(in crate::status) fn status() -> Status {
        let sid_sources = Sources::parse(SID_SOURCES, "sid").unwrap();
        let mut sid_packages = BTreeMap::new();
        sid_packages.insert(
            "amd64".to_string(),
            Packages::parse(SID_AMD64, "amd64", "amd64").unwrap(),
        );
        sid_packages.insert(
            "riscv64".to_string(),
            Packages::parse(SID_RISCV64, "riscv64", "riscv64").unwrap(),
        );
        let exp_sources = Sources::parse(EXP_SOURCES, "exp").unwrap();
        let exp_packages = BTreeMap::new();
        let stack: Vec<StackPackage> = [
            ("rocr-runtime", "7.2.4+dfsg-1~exp1"),
            ("rocm-hipamd", "7.2.4-1~exp1"),
            ("half", "2.2.0-1"),
            ("rocblas", "7.2.4-1~exp1"),
        ]
        .iter()
        .map(|(s, t)| StackPackage {
            source: s.to_string(),
            target: t.to_string(),
        })
        .collect();
        compute(
            "test",
            &stack,
            SuiteView {
                name: "sid",
                sources: &sid_sources,
                packages: &sid_packages,
            },
            SuiteView {
                name: "experimental",
                sources: &exp_sources,
                packages: &exp_packages,
            },
            &arches(),
        )
    }

    fn row<'a>(s: &'a Status, source: &str) -> &'a PackageStatus {
        s.packages.iter().find(|p| p.source == source).unwrap()
    }

    #[test]
    fn cells() {
        let s = status();
        let rocr = row(&s, "rocr-runtime");
        assert_eq!(rocr.unstable.arches["amd64"], Cell::Built);
        assert_eq!(rocr.unstable.arches["riscv64"], Cell::Missing);
        assert_eq!(rocr.experimental.arches["amd64"], Cell::Absent);
        assert!(rocr.experimental_lags);
        // binNMU: built from 6.4.3-5 although the binary is 6.4.3-5+b1.
        assert_eq!(row(&s, "rocm-hipamd").unstable.arches["amd64"], Cell::Built);
        assert_eq!(row(&s, "half").unstable.arches["riscv64"], Cell::All);
        let rocblas = row(&s, "rocblas");
        assert_eq!(
            rocblas.unstable.arches["amd64"],
            Cell::OutOfDate {
                seen: "6.4.4-3".into()
            }
        );
        assert_eq!(rocblas.unstable.arches["riscv64"], Cell::Excluded);
        assert_eq!(rocblas.experimental.arches["amd64"], Cell::Missing);
        assert_eq!(rocblas.experimental.arches["riscv64"], Cell::Excluded);
        assert!(!rocblas.experimental_lags);
    }

    #[test]
    fn frontier() {
        let s = status();
        let rv = &s.frontier["riscv64"];
        // rocr-runtime's deps are all on riscv64: ready.
        assert_eq!(
            rv.ready
                .iter()
                .map(|e| e.source.as_str())
                .collect::<Vec<_>>(),
            ["rocr-runtime"]
        );
        // rocm-hipamd: needs rocr-runtime's -dev and its arch-only dep; the
        // OR-group gcc | clang is met by clang; Build-Depends-Indep ignored.
        let hip = rv
            .blocked
            .iter()
            .find(|e| e.source == "rocm-hipamd")
            .unwrap();
        assert_eq!(
            hip.unsatisfied,
            ["libhsa-runtime-dev (>= 6.4)", "arch-only-dep"]
        );
        assert_eq!(hip.state, "missing");
        let blas = rv.blocked.iter().find(|e| e.source == "rocblas").unwrap();
        assert_eq!(blas.state, "excluded");
        // On amd64 only rocblas (out of date) is left.
        let amd = &s.frontier["amd64"];
        assert!(amd.ready.is_empty());
        assert_eq!(amd.blocked.len(), 1);
        assert_eq!(amd.blocked[0].state, "out-of-date");
    }

    #[test]
    fn counts() {
        let s = status();
        let u = s.summary["unstable"]["riscv64"];
        assert_eq!(
            u,
            Counts {
                built: 0,
                out_of_date: 0,
                missing: 2,
                excluded: 1,
                all: 1,
                absent: 0
            }
        );
        let e = s.summary["experimental"]["amd64"];
        assert_eq!((e.missing, e.absent), (1, 3));
    }

    #[test]
    fn binnmu_suffix() {
        assert_eq!(strip_binnmu("1.0-1+b2"), "1.0-1");
        assert_eq!(strip_binnmu("1.0+bzr5-1"), "1.0+bzr5-1");
        assert_eq!(strip_binnmu("1.0-1+b"), "1.0-1+b");
    }
}
