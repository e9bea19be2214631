//! No build process outlives cascade (issue 17, item 4), end to end with a
//! fake `sbuild` (a shell script first on PATH) whose process group has
//! grandchildren and takes a second to stop:
//! - Ctrl-C: cascade exits (130) only after every process of the group is
//!   gone, and the build's own TMPDIR is removed;
//! - kill -9 of cascade: the group dies anyway (its supervisor ends it);
//! - a rerun ends a group recorded in `RUNDIR/running.json` by a killed
//!   run, and clears the temp dirs such a run left.
//!
//! Needs dpkg-source and git (the real bump makes the source packages), the
//! amd64 chroot tarball to exist (nothing is built in it) and the archive
//! snapshot for the plan. Missing prerequisites skip, or fail under CI=true.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cascade::arch::Arch;
use cascade::groups::{Entry, RUNNING_FILE, Running};
use cascade::pid::Identity;
use cascade::recipe::BuildMode;
use cascade::sbuild::SbuildConfig;

mod common;
use common::{snapshot_mirror as mirror, unavailable};

const FAKE_SBUILD: &str = r#"#!/bin/sh
[ -n "$FAKE_SBUILD_FAIL" ] && exit 1
echo "tmpdir $TMPDIR" >> "$FAKE_SBUILD_PIDS"
mkdir -p "$TMPDIR/tmp.sbuild.fake" && echo leftover > "$TMPDIR/tmp.sbuild.fake/x"
# Slow to stop, like sbuild ending its session.
trap 'sleep 1; exit 143' TERM
sleep 1000 & echo "pid $!" >> "$FAKE_SBUILD_PIDS"
sh -c 'sleep 1000' & echo "pid $!" >> "$FAKE_SBUILD_PIDS"
echo "pid $$" >> "$FAKE_SBUILD_PIDS"
wait
"#;

fn missing() -> Option<String> {
    for tool in ["dpkg-source", "git"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    let chroot = SbuildConfig::new("unstable").chroot_for(&Arch::new("amd64")?, BuildMode::Native);
    if !chroot.exists() {
        return Some(format!("no chroot tarball {}", chroot.display()));
    }
    if !mirror().join("dists/sid/Release").exists() {
        return Some(format!("no archive snapshot at {}", mirror().display()));
    }
    None
}

fn cascade(d: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cascade"));
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.args(args)
        .env("PATH", path)
        .env("SOURCE_DATE_EPOCH", "1764590400")
        .env("DEBFULLNAME", "Cascade Test")
        .env("DEBEMAIL", "cascade-test@example.org")
        .env("CASCADE_CACHE_DIR", common::snapshot_cache())
        .env("TMPDIR", d.join("tmp"))
        .env("FAKE_SBUILD_PIDS", d.join("pids"))
        .env_remove("CASCADE_RECIPES")
        .current_dir(d);
    c
}

fn build(d: &Path) -> Command {
    let mut c = cascade(
        d,
        &[
            "build",
            "--recipes",
            "demo/recipes",
            "--workdir",
            "work",
            "--run-dir",
            "run",
            "--arch",
            "amd64",
            "-j1",
            "--allow-expired",
            "--mirror",
        ],
    );
    c.arg(mirror()).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// Lines `pid N` and `tmpdir D` the fake sbuild wrote.
fn recorded(d: &Path) -> (Vec<i32>, Vec<PathBuf>) {
    let text = std::fs::read_to_string(d.join("pids")).unwrap_or_default();
    let pids = text
        .lines()
        .filter_map(|l| l.strip_prefix("pid ")?.parse().ok())
        .collect();
    let tmps = text
        .lines()
        .filter_map(|l| l.strip_prefix("tmpdir ").map(PathBuf::from))
        .collect();
    (pids, tmps)
}

fn alive(pid: i32) -> bool {
    Identity::of(pid).is_some()
}

/// A cascade the test started, killed if the test fails before it ends
/// (else it would run on, its build group with it, after the test).
struct Started(Child);

impl std::ops::Deref for Started {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Started {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The process groups `RUNDIR/running.json` lists (none before it exists).
fn running_groups(d: &Path) -> Vec<Entry> {
    let text = std::fs::read(d.join("run").join(RUNNING_FILE)).unwrap_or_default();
    serde_json::from_slice(&text).unwrap_or_default()
}

/// Starts a build and waits until the fake sbuild's three processes run
/// and cascade has recorded their group (it records a group just after
/// starting it: under load the fake sbuild's processes can be up first).
fn start_build(d: &Path) -> Started {
    let _ = std::fs::remove_file(d.join("pids"));
    let _ = std::fs::remove_file(d.join("run").join(RUNNING_FILE));
    let mut child = Started(build(d).spawn().unwrap());
    let t0 = Instant::now();
    while recorded(d).0.len() < 3 || running_groups(d).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("cascade ended ({status}) before the build started:\n{err}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no build started, or its group is not in running.json"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn prepare() -> Option<tempfile::TempDir> {
    if let Some(why) = missing() {
        unavailable(&why);
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("bin")).unwrap();
    std::fs::create_dir_all(d.join("tmp")).unwrap();
    let fake = d.join("bin/sbuild");
    std::fs::write(&fake, FAKE_SBUILD).unwrap();
    let status = Command::new("chmod")
        .arg("755")
        .arg(&fake)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        cascade(d, &["demo", "init", "demo"])
            .status()
            .unwrap()
            .success()
    );
    let bump = cascade(
        d,
        &["bump", "--recipes", "demo/recipes", "--workdir", "work"],
    )
    .stdout(Stdio::null())
    .status()
    .unwrap();
    assert!(bump.success());
    Some(dir)
}

#[test]
fn no_build_process_outlives_cascade() {
    let Some(dir) = prepare() else { return };
    let d = dir.path();

    // Ctrl-C: every process is gone when cascade exits.
    let mut run = start_build(d);
    let entries = running_groups(d);
    assert_eq!(entries.len(), 1, "running.json: {entries:?}");
    // SAFETY: kill(2) to our own child.
    unsafe { libc::kill(run.id() as i32, libc::SIGINT) };
    let status = run.wait().unwrap();
    let (pids, tmps) = recorded(d);
    let live: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        live.is_empty(),
        "cascade exited with {live:?} still running"
    );
    assert_eq!(status.code(), Some(130));
    assert!(tmps.iter().all(|t| !t.exists()), "temp dir left: {tmps:?}");
    let entries: Vec<Entry> =
        serde_json::from_slice(&std::fs::read(d.join("run").join(RUNNING_FILE)).unwrap()).unwrap();
    assert!(entries.is_empty(), "running.json: {entries:?}");

    // kill -9: the group dies without cascade.
    let mut run = start_build(d);
    run.kill().unwrap();
    run.wait().unwrap();
    let t0 = Instant::now();
    while recorded(d).0.iter().any(|p| alive(*p)) {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "orphans of a killed cascade: {:?}",
            recorded(d).0
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, left_tmp) = recorded(d);

    // A group a killed run recorded is ended by the rerun before it builds,
    // and the temp dirs the killed run left are cleared.
    let mut stale = Command::new("sh")
        .args(["-c", "sleep 1000 & wait"])
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = stale.id() as i32;
    let record = Running::new(&d.join("run"));
    record.add(Identity::of(pgid).unwrap(), "sbuild (killed run)".into());
    // Its leader is not the rerun's child: reaped elsewhere, as by init.
    let reaper = std::thread::spawn(move || stale.wait());
    let out = build(d).env("FAKE_SBUILD_FAIL", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("ended process group {pgid}")),
        "{stderr}"
    );
    reaper.join().unwrap().unwrap();
    assert!(cascade::pid::group_members(pgid).is_empty());
    assert!(
        left_tmp.iter().all(|t| !t.exists()),
        "the killed run's temp dirs: {left_tmp:?}"
    );
}
