//! Helpers the real-sbuild integration tests share (`mod common;` in each):
//! the skip-or-fail rule for missing prerequisites, the prerequisite check,
//! demo source packages made without the bump step, and .deb fields.
//!
//! Each test crate uses a part of this module only.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use cascade::arch::Arch;
use cascade::process::Cmd;
use cascade::recipe::BuildMode;
use cascade::sbuild::SbuildConfig;

/// The demo packaging's version before any bump.
pub const DEMO_PACKAGED_VERSION: &str = "7.1.0-1~exp1";

/// Skips (prints why) or, under CI=true, fails.
pub fn unavailable(reason: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "prerequisite missing (CI=true makes this a failure): {reason}"
    );
    eprintln!("skipped: {reason}");
}

/// The frozen sid + experimental archive snapshot (CASCADE_TEST_MIRROR
/// overrides it).
pub fn snapshot_mirror() -> PathBuf {
    std::env::var_os("CASCADE_TEST_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/debian-archive/mirror"))
}

/// Why a real sbuild build of `arches` cannot run here: a missing tool of
/// `tools` (besides sbuild itself) or chroot tarball; `None` when all are there.
pub fn missing_prerequisite(tools: &[&str], arches: &[&str]) -> Option<String> {
    for tool in std::iter::once(&"sbuild").chain(tools) {
        if Cmd::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .run()
            .is_err()
        {
            return Some(format!("`{tool}` is not installed (run `cascade setup`)"));
        }
    }
    let cfg = SbuildConfig::new("unstable");
    for a in arches {
        let t = cfg.chroot_for(&Arch::new(a).unwrap(), BuildMode::Native);
        if !t.exists() {
            return Some(format!(
                "chroot tarball {} is missing (run `cascade setup --arch {}`)",
                t.display(),
                arches.join(",")
            ));
        }
    }
    None
}

/// The source package of `pkg` at its packaged version, in `dir`: orig
/// tarball from upstream's `rocm-7.1.0` tag, `debian/` from the packaging
/// branch, with `edit` applied to the unpacked tree (left in `dir`) first.
/// (Test-only; the bump step makes the real ones.)
pub fn source_package_with(
    stack: &cascade::demo::DemoStack,
    pkg: &str,
    dir: &Path,
    edit: impl Fn(&Path),
) -> PathBuf {
    let p = stack.packages.iter().find(|p| p.source == pkg).unwrap();
    let tree = dir.join(format!("{pkg}-7.1.0"));
    Cmd::new("git")
        .args(["clone", "-q", "-b", "debian/experimental"])
        .arg(&p.packaging)
        .arg(&tree)
        .run()
        .unwrap();
    std::fs::remove_dir_all(tree.join(".git")).unwrap();
    edit(&tree);
    let orig = dir.join(format!("{pkg}_7.1.0.orig.tar"));
    Cmd::new("git")
        .arg("-C")
        .arg(&p.upstream)
        .args(["archive", "--format=tar"])
        .arg(format!("--prefix={pkg}-7.1.0/"))
        .arg("-o")
        .arg(&orig)
        .arg("rocm-7.1.0")
        .run()
        .unwrap();
    Cmd::new("xz").arg(&orig).run().unwrap();
    Cmd::new("dpkg-source")
        .arg("-b")
        .arg(format!("{pkg}-7.1.0"))
        .cwd(dir)
        .run()
        .unwrap();
    dir.join(format!("{pkg}_{DEMO_PACKAGED_VERSION}.dsc"))
}

/// [`source_package_with`] without an edit.
pub fn source_package(stack: &cascade::demo::DemoStack, pkg: &str, dir: &Path) -> PathBuf {
    source_package_with(stack, pkg, dir, |_| {})
}

/// A control field of a .deb (`dpkg-deb -f`).
pub fn field(deb: &Path, name: &str) -> String {
    Cmd::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(name)
        .run()
        .unwrap()
        .stdout
        .trim()
        .to_string()
}
