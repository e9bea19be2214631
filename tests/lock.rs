//! One cascade at a time per run directory (issue 17, item 1): while one
//! holds the run directory's lock, `build`, `run` and `port` on it are
//! refused at once with exit code 75 and a message naming the holder; a
//! lock record left by a dead cascade is taken over.

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use cascade::lock::{Holder, LOCK_FILE, RunLock};
use cascade::pid::Identity;

fn cascade(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("cascade").unwrap();
    c.env("DEBFULLNAME", "Cascade Test")
        .env("DEBEMAIL", "cascade-test@example.org")
        .env("CASCADE_CACHE_DIR", dir.join("cache"))
        .env_remove("CASCADE_RECIPES")
        .current_dir(dir);
    c
}

fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    cascade::demo::init(&dir.path().join("demo")).unwrap();
    dir
}

const ARGS: [&str; 6] = [
    "--recipes",
    "demo/recipes",
    "--workdir",
    "empty",
    "--run-dir",
    "run",
];

#[test]
fn a_second_cascade_on_a_locked_run_dir_is_refused_at_once_naming_the_holder() {
    let dir = demo();
    let d = dir.path();
    let held = RunLock::acquire(&d.join("run"), "cascade run --held-by-the-test").unwrap();
    for cmd in ["build", "run", "port"] {
        let t0 = Instant::now();
        let out = cascade(d).arg(cmd).args(ARGS).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(75), "{cmd}: {stderr}");
        assert!(
            stderr.contains(&format!("pid {}", std::process::id()))
                && stderr.contains("`cascade run --held-by-the-test`")
                && stderr.contains("in use by another cascade"),
            "{cmd}: {stderr}"
        );
        // Refused before any bump or archive work.
        assert!(t0.elapsed() < Duration::from_secs(30), "{cmd}");
    }
    // `report --port` writes the porting report into the run directory.
    let out = cascade(d)
        .args(["report", "run", "--port", "riscv64"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "report --port: {stderr}");
    assert!(stderr.contains("in use by another cascade"), "{stderr}");
    drop(held);
    // Released: the same command gets past the lock (and stops at the
    // missing bump, as without a lock).
    let out = cascade(d).arg("build").args(ARGS).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("run `cascade bump"), "{stderr}");
}

#[test]
fn a_lock_left_by_a_dead_cascade_is_taken_over() {
    let dir = demo();
    let d = dir.path();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    child.wait().unwrap();
    let dead = Holder {
        process: Identity {
            pid,
            start_ticks: 1,
            boot_id: cascade::pid::boot_id(),
        },
        since: 1_700_000_000,
        command: "cascade run --killed".into(),
    };
    std::fs::create_dir_all(d.join("run")).unwrap();
    std::fs::write(
        d.join("run").join(LOCK_FILE),
        serde_json::to_string(&dead).unwrap(),
    )
    .unwrap();
    let out = cascade(d).arg("build").args(ARGS).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("took over the lock"), "{stderr}");
    assert!(stderr.contains("`cascade run --killed`"), "{stderr}");
    assert!(stderr.contains("run `cascade bump"), "{stderr}");
}
