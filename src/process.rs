//! The one way cascade runs a child process: an argv vector (never a shell
//! string), explicit environment and working directory, captured status, and
//! the tail of the output in the error.
//!
//! Two ways to run: [`Cmd::run`] (blocking, output captured) for quick tools,
//! and [`Cmd::run_logged`] (tokio) for long jobs such as sbuild: the child gets
//! its own process group, its output goes to a log file, and the whole group
//! is killed on timeout, on cancellation, or when the future is dropped.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many trailing lines of output an error keeps.
const TAIL_LINES: usize = 20;

/// A command to run: program, arguments, environment, directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: BTreeMap<OsString, OsString>,
    cwd: Option<PathBuf>,
}

/// A finished command's output.
#[derive(Clone, Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.env
            .insert(key.as_ref().to_owned(), value.as_ref().to_owned());
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    pub fn program(&self) -> &OsStr {
        &self.program
    }

    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    pub fn get_env(&self) -> &BTreeMap<OsString, OsString> {
        &self.env
    }

    pub fn get_cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// A `std::process::Command` configured like this one.
    pub fn to_std(&self) -> std::process::Command {
        let mut c = std::process::Command::new(&self.program);
        c.args(&self.args).envs(&self.env);
        if let Some(dir) = &self.cwd {
            c.current_dir(dir);
        }
        c
    }

    /// Runs to completion, capturing stdout and stderr; a non-zero exit is an
    /// error carrying the tail of the output.
    pub fn run(&self) -> Result<Output, Error> {
        let out = self.to_std().output().map_err(|source| Error::Spawn {
            command: self.to_string(),
            source,
        })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            return Err(Error::Failed {
                command: self.to_string(),
                status: out.status.to_string(),
                tail: tail(&format!("{stdout}{stderr}"), TAIL_LINES),
            });
        }
        Ok(Output { stdout, stderr })
    }
}

impl fmt::Display for Cmd {
    /// A readable rendering for messages, quoted as a shell would need;
    /// never executed by a shell.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shell_quote(&self.program))?;
        for a in &self.args {
            write!(f, " {}", shell_quote(a))?;
        }
        Ok(())
    }
}

impl Cmd {
    /// A line a shell runs as this command: `env K=V … program 'arg' …`.
    pub fn shell_line(&self) -> String {
        if self.env.is_empty() {
            return self.to_string();
        }
        let mut parts = vec!["env".to_string()];
        for (k, v) in &self.env {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            parts.push(shell_quote(&kv));
        }
        parts.push(self.to_string());
        parts.join(" ")
    }
}

/// `s` as one shell word: bare when it has only characters no shell treats
/// specially, else single-quoted. Hand-written (one quoting rule, four lines)
/// rather than a crate.
pub fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./,:+~@".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// How a logged run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The child exited (or was killed by a signal from elsewhere).
    Status(std::process::ExitStatus),
    /// The timeout passed; the process group was killed.
    TimedOut,
    /// The cancel future completed; the process group was killed.
    Cancelled,
}

impl Exit {
    pub fn success(&self) -> bool {
        matches!(self, Exit::Status(s) if s.success())
    }
}

/// Options of [`Cmd::run_logged`].
#[derive(Clone, Debug)]
pub struct LogOptions {
    /// Kill the group after this long.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL, so that sbuild can clean up its
    /// chroot session.
    pub grace: Duration,
    /// Append to the log instead of truncating it.
    pub append: bool,
    /// Where the live group is recorded (`RUNDIR/running.json`) so that a
    /// rerun can end it if cascade is killed.
    pub running: Option<crate::groups::Running>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            timeout: None,
            grace: Duration::from_secs(20),
            append: false,
            running: None,
        }
    }
}

/// Stops a process group when dropped, unless disarmed. This is what makes
/// a dropped future (Ctrl-C, a cancelled scheduler task) leave no orphans:
/// the group is handed to `groups`, which kills it after the grace period
/// and which cascade waits for before it exits.
struct GroupGuard {
    pgid: libc::pid_t,
    grace: Duration,
    armed: bool,
    running: Option<crate::groups::Running>,
}

impl GroupGuard {
    fn signal(&self, sig: libc::c_int) -> bool {
        // SAFETY: kill(2) with a negative pid signals the group; no memory
        // is shared with the callee.
        unsafe { libc::kill(-self.pgid, sig) == 0 }
    }

    fn alive(&self) -> bool {
        self.signal(0)
    }

    /// The group is gone (or handed over): forget it.
    fn disarm(&mut self) {
        self.armed = false;
        if let Some(r) = &self.running {
            r.remove(self.pgid);
        }
    }

    /// Waits until the group is gone, its leader reaped through `child`:
    /// SIGKILL once `deadline` passes, or, with `stragglers`, at once when
    /// the leader has ended (what a finished program leaves dies with it; a
    /// program being stopped may leave its own cleanup running).
    async fn until_gone(
        &mut self,
        child: &mut tokio::process::Child,
        deadline: tokio::time::Instant,
        stragglers: bool,
    ) {
        let mut leader_done = false;
        let mut killed = false;
        loop {
            if !leader_done {
                leader_done = tokio::time::timeout(Duration::from_millis(50), child.wait())
                    .await
                    .is_ok();
            } else {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !self.alive() {
                break;
            }
            if !killed && ((stragglers && leader_done) || tokio::time::Instant::now() >= deadline) {
                self.signal(libc::SIGKILL);
                killed = true;
            }
            if killed && tokio::time::Instant::now() >= deadline + Duration::from_secs(5) {
                tracing::warn!(
                    "process group {} survives SIGKILL; not waiting for it",
                    self.pgid
                );
                break;
            }
        }
        self.disarm();
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            crate::groups::stop_in_background(self.pgid, self.grace, self.running.take());
        }
    }
}

impl Cmd {
    /// Runs in its own process group with stdout and stderr going to `log`;
    /// never returns before the whole group is gone. See [`Cmd::run_logged_until`].
    pub async fn run_logged(&self, log: &Path, opts: &LogOptions) -> Result<Exit, Error> {
        self.run_logged_until(log, opts, std::future::pending::<()>())
            .await
    }

    /// Like [`Cmd::run_logged`], and stops the group (SIGTERM, SIGKILL after
    /// the grace period) when `cancel` completes first.
    pub async fn run_logged_until(
        &self,
        log: &Path,
        opts: &LogOptions,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<Exit, Error> {
        let io_err = |source| Error::Log {
            path: log.to_owned(),
            source,
        };
        if let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(opts.append)
            .truncate(!opts.append)
            .open(log)
            .map_err(io_err)?;
        let file2 = file.try_clone().map_err(io_err)?;
        let mut cmd = tokio::process::Command::from(self.to_std());
        cmd.stdin(std::process::Stdio::null())
            .stdout(file)
            .stderr(file2)
            .process_group(0);
        let parent = std::process::id() as libc::pid_t;
        let grace_ms = u64::try_from(opts.grace.as_millis()).unwrap_or(u64::MAX);
        // SAFETY: `supervise` makes only async-signal-safe calls (see there).
        unsafe {
            cmd.pre_exec(move || crate::groups::supervise(parent, grace_ms));
        }
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            command: self.to_string(),
            source,
        })?;
        let pgid = child.id().map(|p| p as libc::pid_t).unwrap_or(0);
        if let (Some(r), Some(id)) = (&opts.running, crate::pid::Identity::of(pgid)) {
            r.add(id, self.to_string());
        }
        let mut guard = GroupGuard {
            pgid,
            grace: opts.grace,
            armed: pgid > 0,
            running: opts.running.clone(),
        };
        let timeout = async {
            match opts.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        let wait_err = |source| Error::Spawn {
            command: self.to_string(),
            source,
        };
        let stopped = tokio::select! {
            status = child.wait() => {
                let status = status.map_err(wait_err)?;
                // Stragglers the child left behind (daemons, background
                // jobs) die with it.
                guard.signal(libc::SIGKILL);
                let soon = tokio::time::Instant::now() + opts.grace;
                guard.until_gone(&mut child, soon, true).await;
                return Ok(Exit::Status(status));
            }
            _ = timeout => Exit::TimedOut,
            _ = cancel => Exit::Cancelled,
        };
        guard.signal(libc::SIGTERM);
        let deadline = tokio::time::Instant::now() + opts.grace;
        guard.until_gone(&mut child, deadline, false).await;
        let _ = child.wait().await;
        Ok(stopped)
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the log {path}: {source}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); last lines of its output:\n{tail}")]
    Failed {
        command: String,
        status: String,
        tail: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_captures() {
        let out = Cmd::new("sh")
            .args(["-c", "echo hi; echo err >&2"])
            .run()
            .unwrap();
        assert_eq!(out.stdout, "hi\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn failure_keeps_tail_and_status() {
        let err = Cmd::new("sh")
            .args(["-c", "for i in $(seq 1 30); do echo line$i; done; exit 3"])
            .run()
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("line30") && !msg.contains("line10\n"), "{msg}");
    }

    /// Whether `pid` is still a live (non-zombie) process.
    fn alive(pid: i32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie is dead already; only its parent's reaping is missing.
        !stat.is_empty() && !stat.rsplit(") ").next().is_some_and(|s| s.starts_with('Z'))
    }

    /// The pids a test script printed as `pid N` lines into its log.
    fn logged_pids(log: &Path) -> Vec<i32> {
        std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("pid ")?.trim().parse().ok())
            .collect()
    }

    fn assert_all_dead(log: &Path, expected: usize) {
        // Signals to processes that are not our children land asynchronously;
        // allow a moment (bounded, not a timing assertion).
        for _ in 0..100 {
            if logged_pids(log).iter().all(|p| !alive(*p)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let pids = logged_pids(log);
        assert_eq!(pids.len(), expected, "pids in the log: {pids:?}");
        let live: Vec<i32> = pids.into_iter().filter(|p| alive(*p)).collect();
        assert!(live.is_empty(), "still running: {live:?}");
    }

    /// A shell with two background sleeps that prints their pids.
    fn sleepers() -> Cmd {
        Cmd::new("sh").args([
            "-c",
            "sleep 100 & echo pid $!; sleep 100 & echo pid $!; echo pid $$; wait",
        ])
    }

    /// Waits until the script has printed `n` pids (it runs concurrently).
    async fn started(log: &Path, n: usize) {
        while !log.exists() || logged_pids(log).len() < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn quick() -> LogOptions {
        LogOptions {
            grace: Duration::from_secs(2),
            ..LogOptions::default()
        }
    }

    #[test]
    fn logged_run_writes_log_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub/x.log");
        let cmd = Cmd::new("sh").args(["-c", "echo out; echo err >&2; exit 4"]);
        let exit = rt().block_on(cmd.run_logged(&log, &quick())).unwrap();
        match exit {
            Exit::Status(s) => assert_eq!(s.code(), Some(4)),
            other => panic!("{other:?}"),
        }
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("out") && text.contains("err"), "{text}");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let opts = LogOptions {
            timeout: Some(Duration::from_millis(300)),
            ..quick()
        };
        let exit = rt().block_on(sleepers().run_logged(&log, &opts)).unwrap();
        assert_eq!(exit, Exit::TimedOut);
        assert_all_dead(&log, 3);
    }

    #[test]
    fn cancel_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let cancel = started(&log, 3);
        let exit = rt()
            .block_on(sleepers().run_logged_until(&log, &quick(), cancel))
            .unwrap();
        assert_eq!(exit, Exit::Cancelled);
        assert_all_dead(&log, 3);
    }

    #[test]
    fn dropped_future_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let opts = quick();
        rt().block_on(async {
            let cmd = sleepers();
            // Dropping the losing branch of the select drops the run future.
            tokio::select! {
                _ = cmd.run_logged(&log, &opts) => panic!("the sleepers cannot finish first"),
                _ = started(&log, 3) => {}
            }
        });
        assert_all_dead(&log, 3);
    }

    /// Sleepers that ignore SIGTERM: only SIGKILL ends them.
    fn stubborn_sleepers() -> Cmd {
        Cmd::new("sh").args([
            "-c",
            "trap '' TERM; sleep 100 & echo pid $!; sleep 100 & echo pid $!; echo pid $$; wait",
        ])
    }

    #[test]
    fn a_dropped_build_is_waited_for_until_every_process_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let opts = LogOptions {
            grace: Duration::from_millis(500),
            ..LogOptions::default()
        };
        let rt = rt();
        rt.block_on(async {
            let cmd = stubborn_sleepers();
            tokio::select! {
                _ = cmd.run_logged(&log, &opts) => panic!("the sleepers cannot finish first"),
                _ = started(&log, 3) => {}
            }
        });
        // As cascade does at Ctrl-C: the runtime goes, then it waits.
        drop(rt);
        crate::groups::wait_stopped();
        let pids = logged_pids(&log);
        assert_eq!(pids.len(), 3);
        let live: Vec<i32> = pids.into_iter().filter(|p| alive(*p)).collect();
        assert!(live.is_empty(), "wait_stopped returned with {live:?} alive");
    }

    #[test]
    fn a_group_is_recorded_while_it_runs_and_forgotten_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let running = crate::groups::Running::new(dir.path());
        let opts = LogOptions {
            running: Some(running),
            ..quick()
        };
        let file = dir.path().join(crate::groups::RUNNING_FILE);
        let recorded = || -> Vec<crate::groups::Entry> {
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap()
        };
        let cancel = async {
            started(&log, 3).await;
            let entries = recorded();
            assert_eq!(entries.len(), 1, "{entries:?}");
            assert!(entries[0].command.starts_with("sh -c"), "{entries:?}");
        };
        let exit = rt()
            .block_on(sleepers().run_logged_until(&log, &opts, cancel))
            .unwrap();
        assert_eq!(exit, Exit::Cancelled);
        assert!(recorded().is_empty());
    }

    /// Run by `children_die_with_a_killed_parent` in a child process (the
    /// test binary itself): starts the sleepers and never returns.
    #[test]
    fn child_process_of_the_kill_test() {
        let Some(log) = std::env::var_os("CASCADE_TEST_SLEEPERS_LOG") else {
            return;
        };
        let opts = quick();
        rt().block_on(async {
            let _ = stubborn_sleepers().run_logged(Path::new(&log), &opts).await;
        });
        unreachable!("the sleepers never end");
    }

    #[test]
    fn children_die_with_a_killed_parent() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let mut parent = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "process::tests::child_process_of_the_kill_test"])
            .env("CASCADE_TEST_SLEEPERS_LOG", &log)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        rt().block_on(started(&log, 3));
        parent.kill().unwrap(); // SIGKILL: no cleanup code runs
        parent.wait().unwrap();
        // The supervisor sees its parent gone within 100 ms; SIGTERM is
        // ignored, so SIGKILL follows after the grace period (2 s).
        let t0 = std::time::Instant::now();
        while logged_pids(&log).iter().any(|p| alive(*p)) {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "still running after their parent was killed: {:?}",
                logged_pids(&log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn exit_status_and_signals_come_through_the_supervisor() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let cmd = Cmd::new("sh").args(["-c", "kill -USR1 $$"]);
        let exit = rt().block_on(cmd.run_logged(&log, &quick())).unwrap();
        use std::os::unix::process::ExitStatusExt;
        match exit {
            Exit::Status(s) => assert_eq!(s.signal(), Some(libc::SIGUSR1)),
            other => panic!("{other:?}"),
        }
        let err = rt()
            .block_on(Cmd::new("/nonexistent/prog").run_logged(&log, &quick()))
            .unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }), "{err}");
    }

    #[test]
    fn stragglers_die_with_a_finished_child() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let cmd = Cmd::new("sh").args(["-c", "sleep 100 & echo pid $!; exit 0"]);
        let exit = rt().block_on(cmd.run_logged(&log, &quick())).unwrap();
        assert!(exit.success());
        assert_all_dead(&log, 1);
    }

    #[test]
    fn missing_program_is_an_error() {
        let err = Cmd::new("/nonexistent/prog").run().unwrap_err();
        assert!(matches!(err, Error::Spawn { .. }));
    }

    #[test]
    fn command_lines_quote_what_the_shell_would_split() {
        let cmd = Cmd::new("sbuild")
            .arg("--arch=amd64")
            .arg("/tmp/a b.dsc")
            .env("DEB_BUILD_OPTIONS", "nocheck");
        assert_eq!(
            cmd.shell_line(),
            "env DEB_BUILD_OPTIONS=nocheck sbuild --arch=amd64 '/tmp/a b.dsc'"
        );
    }
}
