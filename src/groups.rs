//! The process groups cascade starts (one per build), and how none of them
//! outlives cascade.
//!
//! 1. **cascade dies** (even by SIGKILL): the leader of each group is a
//!    small supervisor forked in `pre_exec` ([`supervise`]); the program runs
//!    as its child. The supervisor polls `getppid()`: once cascade is gone it
//!    sends the group SIGTERM, and SIGKILL after the grace period (at once
//!    when the program has ended: its stragglers die with it, as below).
//!    Not PR_SET_PDEATHSIG: it fires when the *thread* that spawned the
//!    child exits — tokio spawns from whichever worker (or blocking-pool
//!    thread, which ends after 10 s idle) polls the future — and it reaches
//!    only the direct child, never the grandchildren of the group.
//! 2. **A build is dropped** (Ctrl-C, a timeout): the group gets SIGTERM and
//!    is recorded as stopping; a thread sends SIGKILL at the deadline, and
//!    [`wait_stopped`] blocks until every stopping group is gone, so that
//!    cascade exits only after its processes did.
//! 3. **A rerun**: [`Running`] keeps `RUNDIR/running.json`, the live groups
//!    (leader pid, its start time, boot id), written atomically; a rerun
//!    ends the groups still there ([`end_stale`]) before it builds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::pid::{Identity, Stat};

/// The run directory's record of live build process groups.
pub const RUNNING_FILE: &str = "running.json";

const POLL: Duration = Duration::from_millis(50);

/// In the child forked by `spawn`, before exec: forks the program off and
/// stays behind as the group's leader and supervisor (see the module
/// comment). `parent` is cascade's pid, `grace_ms` the SIGTERM→SIGKILL grace.
/// Only async-signal-safe calls: this runs between fork and exec.
pub fn supervise(parent: libc::pid_t, grace_ms: u64) -> std::io::Result<()> {
    // SAFETY: plain syscalls on this process; no memory is shared.
    unsafe {
        if libc::getppid() != parent {
            // cascade died before the build started.
            libc::_exit(1);
        }
        let child = libc::fork();
        if child < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if child == 0 {
            return Ok(());
        }
        // Close every descriptor: spawn() waits for its exec-error pipe to
        // close, and the log belongs to the program.
        if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) != 0 {
            for fd in 0..4096 {
                libc::close(fd);
            }
        }
        // cascade stops a group with SIGTERM: the supervisor outlives it to
        // report the program's status (and to finish the job if cascade dies).
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        let pgid = libc::getpgrp();
        let mut status = 0;
        loop {
            if libc::waitpid(child, &mut status, libc::WNOHANG) == child {
                exit_like(status);
            }
            if libc::getppid() != parent {
                end_orphaned_group(pgid, child, grace_ms);
            }
            sleep_ms(100);
        }
    }
}

/// Ends this process as the program ended: same exit code or signal.
unsafe fn exit_like(status: libc::c_int) -> ! {
    // SAFETY: async-signal-safe calls on this process.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(libc::WEXITSTATUS(status));
    }
}

/// cascade is gone: SIGTERM to the group, SIGKILL (this process included)
/// after the grace period — the whole period, as the program's cleanup may
/// outlive it and this process cannot see the rest of its group.
unsafe fn end_orphaned_group(pgid: libc::pid_t, child: libc::pid_t, grace_ms: u64) -> ! {
    // SAFETY: async-signal-safe calls; kill(2) with a negative pid signals
    // the group this process leads.
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
        let mut status = 0;
        let mut waited = 0;
        while waited < grace_ms {
            libc::waitpid(child, &mut status, libc::WNOHANG);
            sleep_ms(50);
            waited += 50;
        }
        libc::kill(-pgid, libc::SIGKILL);
        libc::_exit(137);
    }
}

fn sleep_ms(ms: u64) {
    let ts = libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
    };
    // SAFETY: nanosleep reads `ts` only.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: kill(2) with signal 0 only checks.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the group.
    unsafe { libc::kill(-pgid, sig) };
}

/// Reaps the leader if it is our child and has ended; true when it is gone
/// (or not ours to wait for).
fn reap(pgid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: waitpid(2) on one pid, WNOHANG.
    let r = unsafe { libc::waitpid(pgid, &mut status, libc::WNOHANG) };
    r == pgid || r < 0
}

/// Waits until group `pgid`, sent SIGTERM, is gone: SIGKILL at `deadline`
/// (a stopped program's own cleanup may outlive it: the whole group gets
/// the grace period). `own` says whether the leader is our child, to reap
/// it. After SIGKILL, gives up after `grace` more (a process stuck in the
/// kernel), and says so.
pub fn wait_gone(pgid: libc::pid_t, deadline: Instant, grace: Duration, own: bool) -> bool {
    let mut killed_at: Option<Instant> = None;
    loop {
        if own {
            reap(pgid);
        }
        if !group_alive(pgid) {
            return true;
        }
        let now = Instant::now();
        if killed_at.is_none() && now >= deadline {
            signal_group(pgid, libc::SIGKILL);
            killed_at = Some(now);
        }
        if killed_at.is_some_and(|t| now.duration_since(t) > grace.max(Duration::from_secs(5))) {
            tracing::warn!("process group {pgid} survives SIGKILL; not waiting for it");
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Groups stopped without an owner to wait for them (their build future was
/// dropped), by pgid.
static STOPPING: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());
static STOPPED: Condvar = Condvar::new();

/// Stops group `pgid` whose owner is gone: SIGTERM now, SIGKILL after
/// `grace`, from a thread; [`wait_stopped`] waits for it. `running` loses
/// the group once it is gone.
pub fn stop_in_background(pgid: libc::pid_t, grace: Duration, running: Option<Running>) {
    signal_group(pgid, libc::SIGTERM);
    STOPPING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(pgid);
    let deadline = Instant::now() + grace;
    std::thread::spawn(move || {
        let _done = Stopped(pgid);
        wait_gone(pgid, deadline, grace, true);
        if let Some(r) = running {
            r.remove(pgid);
        }
    });
}

/// Tells [`wait_stopped`] that group `.0` is done with when dropped, also
/// when the thread stopping it panics: a panic there (a log line that
/// cannot be written) left cascade waiting forever after Ctrl-C.
struct Stopped(libc::pid_t);

impl Drop for Stopped {
    fn drop(&mut self) {
        let mut s = STOPPING.lock().unwrap_or_else(|e| e.into_inner());
        s.retain(|p| *p != self.0);
        STOPPED.notify_all();
    }
}

/// Blocks until every group handed to [`stop_in_background`] is gone.
/// Called before cascade exits after Ctrl-C or a timeout.
pub fn wait_stopped() {
    let mut s = STOPPING.lock().unwrap_or_else(|e| e.into_inner());
    while !s.is_empty() {
        s = STOPPED.wait(s).unwrap_or_else(|e| e.into_inner());
    }
}

/// One recorded group: its leader as it can be recognised again, and the
/// command, for messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub leader: Identity,
    pub command: String,
}

/// `RUNDIR/running.json`, shared by the builds of one run.
#[derive(Clone, Debug)]
pub struct Running {
    path: PathBuf,
    entries: Arc<Mutex<BTreeMap<i32, Entry>>>,
}

impl Running {
    /// Starts an empty record in `run_dir` (after [`end_stale`]).
    pub fn new(run_dir: &Path) -> Running {
        let r = Running {
            path: run_dir.join(RUNNING_FILE),
            entries: Arc::default(),
        };
        r.save(&BTreeMap::new());
        r
    }

    pub fn add(&self, leader: Identity, command: String) {
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        e.insert(leader.pid, Entry { leader, command });
        self.save(&e);
    }

    pub fn remove(&self, pgid: i32) {
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if e.remove(&pgid).is_some() {
            self.save(&e);
        }
    }

    fn save(&self, entries: &BTreeMap<i32, Entry>) {
        let list: Vec<&Entry> = entries.values().collect();
        let text = serde_json::to_vec_pretty(&list).unwrap_or_default();
        // A record that cannot be written only costs the rerun its check.
        if let Err(e) = crate::report::files::write_atomic(&self.path, &text) {
            tracing::warn!("{}: {e}", self.path.display());
        }
    }
}

/// Whether a recorded group still runs and is really the one recorded: its
/// leader is the same process (pid, start time, boot), or — the leader
/// having ended — its pid is unused and the group's members all started
/// after the leader did.
fn still_ours(e: &Entry) -> bool {
    if e.leader.boot_id != crate::pid::boot_id() {
        return false;
    }
    match Stat::of(e.leader.pid) {
        Some(s) if !s.is_zombie() => Identity::of(e.leader.pid).as_ref() == Some(&e.leader),
        _ => {
            let members = crate::pid::group_members(e.leader.pid);
            !members.is_empty()
                && members
                    .iter()
                    .all(|(_, s)| s.start_ticks >= e.leader.start_ticks)
        }
    }
}

/// Ends the groups a killed earlier run left in `run_dir`'s record
/// (SIGTERM, SIGKILL after `grace`, then waits) and returns them; groups
/// that are gone or are not the recorded ones are left alone.
pub fn end_stale(run_dir: &Path, grace: Duration) -> Vec<Entry> {
    let path = run_dir.join(RUNNING_FILE);
    let entries: Vec<Entry> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let stale: Vec<Entry> = entries.into_iter().filter(still_ours).collect();
    for e in &stale {
        signal_group(e.leader.pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    for e in &stale {
        wait_gone(e.leader.pid, deadline, grace, false);
    }
    stale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread stopping a group panics (as a log line written to a
    /// closed stderr made it do): the group still counts as done with.
    #[test]
    fn a_panic_while_stopping_a_group_does_not_leave_wait_stopped_waiting() {
        let marker = -4242; // no process group has a negative id
        STOPPING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(marker);
        let t = std::thread::spawn(move || {
            let _done = Stopped(marker);
            panic!("a log line that cannot be written");
        });
        assert!(t.join().is_err());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            wait_stopped();
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(30)).is_ok(),
            "wait_stopped still waits"
        );
    }

    /// A shell in its own group with a sleeping child; returns the leader.
    fn group(script: &str) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("sh")
            .args(["-c", script])
            .process_group(0)
            .spawn()
            .unwrap()
    }

    #[test]
    fn a_rerun_ends_a_recorded_group_and_leaves_a_reused_pid_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut stale = group("sleep 100 & sleep 100; wait");
        let mut other = group("sleep 100");
        let id = |c: &std::process::Child| Identity::of(c.id() as i32).unwrap();
        let record = Running::new(dir.path());
        record.add(id(&stale), "sbuild (killed run)".into());
        // Same pid, another start time: a reused pid, not ours.
        let reused = Identity {
            start_ticks: id(&other).start_ticks + 1,
            ..id(&other)
        };
        record.add(reused, "sbuild (pid reused since)".into());
        // The record as a killed cascade leaves it.
        drop(record);

        // A killed run's group is not our child: its zombie leader is
        // reaped by someone else at once (init, here a thread).
        let pgid = stale.id() as i32;
        let reaper = std::thread::spawn(move || stale.wait());
        let ended = end_stale(dir.path(), Duration::from_secs(2));
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended[0].leader.pid, pgid);
        reaper.join().unwrap().unwrap();
        assert!(crate::pid::group_members(pgid).is_empty());
        assert!(other.try_wait().unwrap().is_none(), "not ours: left alone");
        other.kill().unwrap();
        other.wait().unwrap();
    }
}
