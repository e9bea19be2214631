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

/// The cache directory (CASCADE_CACHE_DIR) the tests that read
/// [`snapshot_mirror`] share, beside the shared demo run: the snapshot's
/// sid is parsed once, not once per test (20 CPU-seconds each in the debug
/// build). Its files are keyed by the indices' SHA-256 (`archive::cache`).
pub fn snapshot_cache() -> PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("cascade");
    bin.parent().unwrap().join("cascade-fixtures/cache")
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
        let arch = Arch::new(a).unwrap();
        let t = cfg.chroot_for(&arch, BuildMode::Native);
        // The faster path starts from the warm tarball `cascade setup` makes.
        let warm = cascade::sbuild::warm_is_usable(&cfg.chroot_dir, &cfg.suite, &arch);
        if !t.exists() || !warm {
            return Some(format!(
                "chroot tarball {} or its warm tarball is missing (run `cascade setup --arch {}`)",
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

/// The README's main job, run once and shared: `cascade run --test` of the
/// demo stack on amd64 and riscv64 (`-j2`, the demo's identity and date:
/// builds, then autopkgtest and lintian on each) in
/// `DIR` (`DIR/demo`, `DIR/work`, `DIR/run`). Made the first time a test
/// asks for it, by whichever test binary comes first, and reused by the
/// others while the `cascade` binary is the same (a rebuilt binary makes a
/// new one): `tests/run.rs` checks its builds, `tests/test_stage.rs` its
/// tests, `tests/ci.rs` compares its pipeline with it. Holding the returned lock keeps others out while a test reruns
/// in it.
pub struct DemoRun {
    pub dir: PathBuf,
    /// The first run's exit code, stdout and stderr.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub secs: f64,
    _lock: std::fs::File,
}

/// `cascade CMD` on the demo stack of a [`demo_cascade`] directory:
/// `demo/recipes`, `work`, `run`, two builds at a time.
pub const fn demo_args(cmd: &'static str, arches: &'static str) -> [&'static str; 11] {
    [
        cmd,
        "--recipes",
        "demo/recipes",
        "--arch",
        arches,
        "-j2",
        "--workdir",
        "work",
        "--run-dir",
        "run",
        "--allow-expired",
    ]
}

/// The arguments of the shared demo run (and of a rerun in it): the
/// README's first command, `--test` included.
pub const DEMO_RUN_ARGS: [&str; 12] = {
    let a = demo_args("run", "amd64,riscv64");
    [
        a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], "--test",
    ]
};

/// `cascade` with the demo's fixed identity and date, in `dir`.
pub fn demo_cascade(dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("cascade"));
    c.env("SOURCE_DATE_EPOCH", "1764590400")
        .env("DEBFULLNAME", "Cascade Test")
        .env("DEBEMAIL", "cascade-test@example.org")
        .env_remove("CASCADE_RECIPES")
        .current_dir(dir);
    c
}

/// A copy of the shared demo run in `dir` (`demo/`, `work/`, `run/`), to
/// go on from without touching the shared one.
pub fn copy_of_the_demo_run(dir: &Path) {
    let fixture = demo_run();
    let status = std::process::Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(fixture.dir.join("."))
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "cp {}", fixture.dir.display());
}

/// The shared demo run (see [`DemoRun`]), made now if needed.
pub fn demo_run() -> DemoRun {
    let bin = assert_cmd::cargo::cargo_bin("cascade");
    let meta = std::fs::metadata(&bin).unwrap();
    let stamp = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let key = format!("{}-{}", meta.len(), stamp.as_nanos());
    let root = bin.parent().unwrap().join("cascade-fixtures");
    std::fs::create_dir_all(&root).unwrap();
    let lock = std::fs::File::create(root.join("demo-run.lock")).unwrap();
    lock.lock().unwrap();
    let dir = root.join(format!("demo-run-{key}"));
    let outcome = dir.join("outcome.json");
    if !outcome.is_file() {
        make_demo_run(&root, &dir);
    }
    let o: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outcome).unwrap()).unwrap();
    DemoRun {
        dir,
        code: o["code"].as_i64().map(|c| c as i32),
        stdout: o["stdout"].as_str().unwrap_or_default().into(),
        stderr: o["stderr"].as_str().unwrap_or_default().into(),
        secs: o["secs"].as_f64().unwrap_or_default(),
        _lock: lock,
    }
}

/// Makes the shared demo run in `dir` (older ones of other binaries are
/// removed: one is enough on disk).
fn make_demo_run(root: &Path, dir: &Path) {
    for e in std::fs::read_dir(root).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("demo-run-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    // sbuild's unshared build user reads the .dsc and writes the .debs.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let init = demo_cascade(dir)
        .args(["demo", "init", "demo"])
        .output()
        .unwrap();
    assert!(init.status.success(), "demo init: {init:?}");
    let t0 = std::time::Instant::now();
    let out = demo_cascade(dir).args(DEMO_RUN_ARGS).output().unwrap();
    let outcome = serde_json::json!({
        "code": out.status.code(),
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
        "secs": t0.elapsed().as_secs_f64(),
    });
    std::fs::write(dir.join("outcome.json"), outcome.to_string()).unwrap();
}
