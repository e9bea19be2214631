//! The run directory's layout: every path of a run directory is spelled
//! here and nowhere else (as cargo's `Layout` owns the target directory).
//! The generated GitLab jobs rely on the same layout, relative to the job's
//! working directory (see `ci`).
//!
//! ```text
//! RUNDIR/state.json            resumable run state (`state`)
//! RUNDIR/plan.json             the run's job graph as reports read it
//! RUNDIR/plan-cache.json       the cached plan (`pipeline`)
//! RUNDIR/results/PKG_ARCH.json one result each
//! RUNDIR/logs/PKG_VER_ARCH.build
//! RUNDIR/out/PKG_VER_ARCH/     sbuild's output directory of one build
//! RUNDIR/debs/ARCH/*.deb       the latest good .debs (arch:all in debs/all/)
//! RUNDIR/port/ARCH/PKG/        a porting build copy; port/ARCH/patches/PKG.patch
//! RUNDIR/tests/PKG_ARCH/       one source × arch's tests (`cascade test`):
//!     result.json              cascade's reading of them
//!     autopkgtest.log          autopkgtest's output; summary: its --summary-file
//!     artifacts/               autopkgtest's --output-dir
//!     lintian/                 lintian.txt and lintian.exit
//! RUNDIR/report.json, report.html, junit.xml, summary.md, port.{json,md,txt}
//! RUNDIR/lock, RUNDIR/running  who holds the run; running process groups
//! RUNDIR/transition/with-stack/ `cascade transition --rebuild`: outside sources
//!                              built against debs/ (a run directory of their own)
//! RUNDIR/transition/recheck/   their failures built again without the stack
//! RUNDIR/transition/transition.{json,md,html}, junit.xml  the report of the last --rebuild
//! ```
//!
//! Pure: only paths, no I/O.

use std::path::{Path, PathBuf};

use crate::arch::Arch;

pub const STATE: &str = "state.json";
pub const PLAN: &str = "plan.json";
pub const PLAN_CACHE: &str = "plan-cache.json";
pub const RESULTS: &str = "results";
pub const LOGS: &str = "logs";
pub const OUT: &str = "out";
pub const DEBS: &str = "debs";
pub const PORT: &str = "port";
pub const TESTS: &str = "tests";
pub const REPORT_JSON: &str = "report.json";
pub const REPORT_HTML: &str = "report.html";
pub const JUNIT_XML: &str = "junit.xml";
pub const SUMMARY_MD: &str = "summary.md";
pub const PORT_JSON: &str = "port.json";
pub const PORT_MD: &str = "port.md";
pub const PORT_TXT: &str = "port.txt";
pub const LOCK: &str = "lock";
pub const RUNNING: &str = "running";
pub const TRANSITION: &str = "transition";

/// A run directory: its root, and every path inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> RunDir {
        RunDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn state(&self) -> PathBuf {
        self.root.join(STATE)
    }

    pub fn plan(&self) -> PathBuf {
        self.root.join(PLAN)
    }

    pub fn plan_cache(&self) -> PathBuf {
        self.root.join(PLAN_CACHE)
    }

    pub fn results(&self) -> PathBuf {
        self.root.join(RESULTS)
    }

    /// `results/PKG_ARCH.json`: one result.
    pub fn result(&self, source: &str, arch: &Arch) -> PathBuf {
        self.results().join(format!("{source}_{arch}.json"))
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join(LOGS)
    }

    /// `logs/PKG_VERSION_ARCH.build`, the version without its epoch as in
    /// Debian file names.
    pub fn log(&self, source: &str, version: &str, arch: &str) -> PathBuf {
        self.logs()
            .join(format!("{}.build", build_name(source, version, arch)))
    }

    /// `out/PKG_VERSION_ARCH/`: sbuild's output directory of one build.
    pub fn out(&self, source: &str, version: &str, arch: &str) -> PathBuf {
        self.root.join(OUT).join(build_name(source, version, arch))
    }

    pub fn debs(&self) -> PathBuf {
        self.root.join(DEBS)
    }

    /// `debs/ARCH/` (`debs/all/` for arch:all packages).
    /// `transition/`: what `cascade transition --rebuild` keeps.
    pub fn transition(&self) -> PathBuf {
        self.root.join(TRANSITION)
    }

    /// The run directory of outside sources built against this run's .debs.
    pub fn transition_with_stack(&self) -> PathBuf {
        self.transition().join("with-stack")
    }

    /// The run directory of their rechecks against the base suite alone.
    pub fn transition_recheck(&self) -> PathBuf {
        self.transition().join("recheck")
    }

    /// The transition report of the last `--rebuild`, as JSON.
    pub fn transition_json(&self) -> PathBuf {
        self.transition().join("transition.json")
    }

    /// The same report as Markdown.
    pub fn transition_md(&self) -> PathBuf {
        self.transition().join("transition.md")
    }

    /// The same report as an HTML page (outside sources × arch).
    pub fn transition_html(&self) -> PathBuf {
        self.transition().join("transition.html")
    }

    /// The same report as JUnit XML.
    pub fn transition_junit(&self) -> PathBuf {
        self.transition().join("junit.xml")
    }

    pub fn debs_for(&self, arch: &str) -> PathBuf {
        self.debs().join(arch)
    }

    /// Where `debs/` is rebuilt before it replaces the old one.
    pub fn debs_staging(&self) -> PathBuf {
        self.root.join(".debs.new")
    }

    /// `port/ARCH/PKG/`: a porting build copy.
    pub fn port_copy(&self, arch: &Arch, source: &str) -> PathBuf {
        self.root.join(PORT).join(arch.as_str()).join(source)
    }

    /// `port/ARCH/patches/PKG.patch`: what a porting build changed.
    pub fn port_patch(&self, arch: &Arch, source: &str) -> PathBuf {
        self.root
            .join(PORT)
            .join(arch.as_str())
            .join("patches")
            .join(format!("{source}.patch"))
    }

    pub fn tests(&self) -> PathBuf {
        self.root.join(TESTS)
    }

    /// `tests/PKG_ARCH/`: everything of one source × arch's tests; `ARCH`
    /// is the build job's (`all` for an arch:all-only source).
    pub fn test_dir(&self, source: &str, arch: &Arch) -> PathBuf {
        self.tests().join(format!("{source}_{arch}"))
    }

    /// `tests/PKG_ARCH/result.json`.
    pub fn test_result(&self, source: &str, arch: &Arch) -> PathBuf {
        self.test_dir(source, arch).join("result.json")
    }

    /// `tests/PKG_ARCH/autopkgtest.log`: autopkgtest's own output.
    pub fn test_log(&self, source: &str, arch: &Arch) -> PathBuf {
        self.test_dir(source, arch).join("autopkgtest.log")
    }

    /// `tests/PKG_ARCH/autopkgtest.sh`: the autopkgtest call as it ran, to
    /// run it again by hand (or bare, in the overhead benchmark).
    pub fn test_command(&self, source: &str, arch: &Arch) -> PathBuf {
        self.test_dir(source, arch).join("autopkgtest.sh")
    }

    /// `tests/PKG_ARCH/summary`: autopkgtest's `--summary-file`.
    pub fn test_summary(&self, source: &str, arch: &Arch) -> PathBuf {
        self.test_dir(source, arch).join("summary")
    }

    /// `tests/PKG_ARCH/artifacts/`: autopkgtest's `--output-dir`.
    pub fn test_artifacts(&self, source: &str, arch: &Arch) -> PathBuf {
        self.test_dir(source, arch).join("artifacts")
    }

    /// `tests/PKG_ARCH/lintian/`: lintian's output and exit code.
    pub fn lintian_dir(&self, source: &str, arch: &Arch) -> PathBuf {
        self.test_dir(source, arch).join("lintian")
    }

    /// A report file (`REPORT_JSON`, `PORT_MD`, …) in the run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn report_json(&self) -> PathBuf {
        self.root.join(REPORT_JSON)
    }

    /// Who holds the run directory (for the run lock).
    pub fn lock(&self) -> PathBuf {
        self.root.join(LOCK)
    }

    /// The process groups of builds running now.
    pub fn running(&self) -> PathBuf {
        self.root.join(RUNNING)
    }
}

/// `PKG_VERSION_ARCH` with the version's epoch left out.
fn build_name(source: &str, version: &str, arch: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    format!("{source}_{version}_{arch}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_documented_layout() {
        let d = RunDir::new("/r");
        let amd64 = Arch::new("amd64").unwrap();
        assert_eq!(d.state(), Path::new("/r/state.json"));
        assert_eq!(
            d.result("a", &Arch::ALL),
            Path::new("/r/results/a_all.json")
        );
        assert_eq!(
            d.log("a", "1:2.0-1", "amd64"),
            Path::new("/r/logs/a_2.0-1_amd64.build")
        );
        assert_eq!(d.out("a", "2.0-1", "all"), Path::new("/r/out/a_2.0-1_all"));
        assert_eq!(d.debs_for("all"), Path::new("/r/debs/all"));
        assert_eq!(d.port_copy(&amd64, "a"), Path::new("/r/port/amd64/a"));
        assert_eq!(
            d.port_patch(&amd64, "a"),
            Path::new("/r/port/amd64/patches/a.patch")
        );
        assert_eq!(
            d.test_result("a", &Arch::ALL),
            Path::new("/r/tests/a_all/result.json")
        );
        assert_eq!(
            d.test_artifacts("a", &amd64),
            Path::new("/r/tests/a_amd64/artifacts")
        );
        assert_eq!(
            d.lintian_dir("a", &amd64),
            Path::new("/r/tests/a_amd64/lintian")
        );
    }
}
