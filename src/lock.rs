//! The run directory's lock: one cascade at a time writes a run directory.
//!
//! `RUNDIR/.cascade.lock` is locked with flock(2) for as long as the command
//! runs, and holds a small JSON record of the holder (pid, start time,
//! command line). flock is the lock; the record only names the holder in the
//! refusal. The kernel drops a flock when its holder dies (even by SIGKILL),
//! so a lock left by a dead cascade is simply taken over; its record is
//! checked by pid *and* start time (`pid::Identity`) so that a pid reused by
//! another process is never named as the holder. The file is opened
//! close-on-exec, so builds started by the holder never inherit the lock.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::pid::Identity;

/// The lock file inside the run directory.
pub const LOCK_FILE: &str = ".cascade.lock";

/// Who holds (or last held) a run directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    #[serde(flatten)]
    pub process: Identity,
    /// Seconds since 1970 when the lock was taken.
    pub since: u64,
    /// The holder's command line.
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = UNIX_EPOCH + Duration::from_secs(self.since);
        write!(
            f,
            "pid {}, started {}, `{}`",
            self.process.pid,
            httpdate::fmt_http_date(since),
            self.command
        )
    }
}

/// A held run-directory lock; released when dropped (or when the process
/// dies).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
    /// The record of an earlier holder that died holding the lock.
    pub took_over: Option<Holder>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{dir} is in use by another cascade ({}); wait for it to end, or use another --run-dir (lock: {lock})",
        holder.as_ref().map_or_else(|| "holder unknown".to_owned(), Holder::to_string)
    )]
    Busy {
        dir: PathBuf,
        lock: PathBuf,
        holder: Option<Holder>,
    },
    #[error("cannot lock the run directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// This process's command line, for the holder record.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

impl RunLock {
    /// Locks `run_dir` (creating it) for `command`, or refuses at once,
    /// naming the live holder.
    pub fn acquire(run_dir: &Path, command: &str) -> Result<RunLock, Error> {
        let path = run_dir.join(LOCK_FILE);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(run_dir).map_err(io)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) = file.try_lock() {
            if let std::fs::TryLockError::Error(err) = e {
                return Err(io(err));
            }
            return Err(Error::Busy {
                dir: run_dir.to_owned(),
                lock: path.clone(),
                holder: live_holder(&path),
            });
        }
        let took_over = read_holder(&mut file).filter(|h| !h.process.is_alive());
        let me = Holder {
            process: Identity::current().ok_or_else(|| io(std::io::Error::other("no /proc")))?,
            since: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            command: command.to_owned(),
        };
        let text = serde_json::to_string(&me).unwrap_or_default();
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
        Ok(RunLock {
            file,
            path,
            took_over,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // A lock released in order leaves no holder to name; the flock goes
        // with the descriptor.
        let _ = self.file.set_len(0);
    }
}

/// Waits for an exclusive flock(2) on `file` (std's `File::lock` is flock
/// on Linux), again after a signal interrupts the wait.
pub fn wait_exclusive(file: &File) -> std::io::Result<()> {
    loop {
        match file.lock() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Waits for the exclusive lock of the file `path`, creating it: the lock
/// that keeps cascades at once from making the same tarball or directory
/// twice (the one that waited finds it made). Held until the file is
/// dropped.
pub fn hold(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    wait_exclusive(&file)?;
    Ok(file)
}

/// A lock file that its holder removes when done: for locks named by a
/// hash in the temp dir (`git`'s per-clone lock), which would otherwise
/// pile up there, one per directory ever synced (2,700 after a day of
/// test runs). A waiter whose lock comes on a file its holder has just
/// removed, or that another file has replaced since, opens the path again.
/// A holder killed with SIGKILL leaves its file, which the next holder
/// reuses and removes.
#[derive(Debug)]
pub struct TempLock {
    path: PathBuf,
    _file: File,
}

impl TempLock {
    /// Waits for the exclusive lock of `path`, creating the file.
    pub fn acquire(path: &Path) -> std::io::Result<TempLock> {
        loop {
            let file = hold(path)?;
            if names(path, &file) {
                return Ok(TempLock {
                    path: path.to_owned(),
                    _file: file,
                });
            }
        }
    }
}

/// Whether `path` still names the open `file`.
fn names(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Drop for TempLock {
    fn drop(&mut self) {
        // Removed while still held, so that no one locks it after this.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// The holder named in the record, when that process is alive. A record
/// of a dead process means the live holder has not written its own yet:
/// look again for a moment.
fn live_holder(path: &Path) -> Option<Holder> {
    for _ in 0..10 {
        let holder = File::open(path).ok().and_then(|mut f| read_holder(&mut f));
        if let Some(h) = holder.filter(|h| h.process.is_alive()) {
            return Some(h);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waiter blocks on the holder's file; the holder removes it on
    /// release, so the waiter locks a new one, which the path names while
    /// it holds it, and which it removes in turn.
    #[test]
    fn a_temp_lock_goes_with_its_holder_and_a_waiter_gets_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = TempLock::acquire(&path).unwrap();
        assert!(path.is_file());
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            let lock = TempLock::acquire(&p).unwrap();
            let file = std::fs::File::open(&p).unwrap();
            let held = file.try_lock().is_err();
            drop(lock);
            held
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(first);
        assert!(waiter.join().unwrap(), "the path named an unlocked file");
        assert!(!path.exists(), "left behind");
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let first = RunLock::acquire(&run, "cascade run --one").unwrap();
        assert!(first.took_over.is_none());
        let err = RunLock::acquire(&run, "cascade run --two").unwrap_err();
        let msg = err.to_string();
        let me = std::process::id();
        assert!(msg.contains(&format!("pid {me}")), "{msg}");
        assert!(msg.contains("`cascade run --one`"), "{msg}");
        assert!(msg.contains("GMT"), "{msg}");
        drop(first);
        let again = RunLock::acquire(&run, "cascade run --two").unwrap();
        assert!(again.took_over.is_none(), "a released lock names nobody");
    }

    #[test]
    fn a_record_naming_a_reused_pid_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // This process's pid, another start time: the recorded holder died
        // and its pid went to another process.
        let mut process = Identity::current().unwrap();
        process.start_ticks += 1;
        let dead = Holder {
            process,
            since: 1_700_000_000,
            command: "cascade run (killed)".into(),
        };
        let text = serde_json::to_string(&dead).unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), text).unwrap();
        let lock = RunLock::acquire(dir.path(), "cascade build").unwrap();
        assert_eq!(lock.took_over, Some(dead));
        let record = std::fs::read_to_string(lock.path()).unwrap();
        assert!(record.contains("cascade build"), "{record}");
    }
}
