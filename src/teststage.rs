//! The test stage as jobs: a [`TestJob`] per build (autopkgtest, then
//! lintian, on what that build made), the [`Tester`] its effects sit
//! behind, the input hash that makes it resumable, and [`CellTester`], the
//! real tester. `cascade run --test` runs these jobs in the runner right
//! after their builds (the job graph's test nodes); `cascade test RUNDIR`
//! runs them, through the same runner, for a finished run's builds.
//!
//! A test's inputs are its build's input hash, the .debs it is offered and
//! its settings (the recipe's and the stack's `tests:`, whether lintian
//! runs); a rerun with the same inputs reuses `tests/PKG_ARCH/result.json`
//! (which keeps the hash), as the runner reuses a build from `state.json`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::artifacts::is_debug_symbols;
use crate::autopkgtest::{self as apt, Backend, TestCell};
use crate::fsio::IoError;
use crate::lintian::{self, LintianResult};
use crate::process::{Exit, LogOptions};
use crate::recipe::Recipes;
use crate::rundir::RunDir;
use crate::schedule::JobKey;

/// Expected duration of a test nobody has timed yet, in seconds (for the
/// schedule's priorities only).
pub const DEFAULT_TEST_WEIGHT_SECS: u64 = 60;

/// [`DEFAULT_TEST_WEIGHT_SECS`] for a testbed of `test_arch` on a `host`
/// build machine: another arch's runs under qemu, so that among the tests
/// nobody has timed those start first (the demo's riscv64 tests took 70–130
/// s against 10–50 s for amd64's, and started last, in name order).
pub fn default_weight(test_arch: &Arch, host: &Arch) -> u64 {
    if test_arch == host {
        DEFAULT_TEST_WEIGHT_SECS
    } else {
        crate::schedule::QEMU_SLOWDOWN * DEFAULT_TEST_WEIGHT_SECS
    }
}

/// [`TestCell::status`] of a test whose build failed or was skipped.
pub const NOT_BUILT: &str = "not-built";
/// [`TestCell::status`] of a test stopped or never started at Ctrl-C.
pub const CANCELLED: &str = "cancelled";

/// One test job: the tests of one build job.
#[derive(Clone, Debug)]
pub struct TestJob {
    /// The build job it tests (`source/arch`, or `source/all`); its own
    /// key is this one's [`JobKey::test`].
    pub build: JobKey,
    pub version: String,
    /// Where its testbed runs: the build's arch, the host's for `all`.
    pub test_arch: Arch,
    /// The source package, whose debian/tests it runs, or why there is none.
    pub dsc: Result<PathBuf, String>,
    /// .debs offered besides those of its build and the build's
    /// dependencies in the same run (`cascade test`: the run's whole set).
    pub debs: Vec<PathBuf>,
    /// Its build's own .debs when that build is an earlier run's (lintian
    /// reads them); a build of the same run gives its own.
    pub own_debs: Vec<PathBuf>,
    /// What else decides its result: [`settings_id`].
    pub settings: String,
    /// The builds of the stack sources its tests trigger on
    /// ([`crate::jobgraph::PlannedSource::tested_with`]): it waits for
    /// those of this run too, and reruns when one of them changes.
    pub triggers: Vec<JobKey>,
}

impl TestJob {
    pub fn key(&self) -> JobKey {
        self.build.test()
    }

    /// This job's cell when it does not run: `status` and what it says;
    /// `why` fails the cell, except a [`NOT_BUILT`] cell's: its build's
    /// failure is counted there, as expected or not.
    pub fn not_run(&self, status: &str, why: Option<String>) -> TestCell {
        let (detail, unexpected) = match status {
            NOT_BUILT => (why, None),
            _ => (None, why),
        };
        TestCell {
            source: self.build.source.clone(),
            arch: self.build.arch.clone(),
            test_arch: self.test_arch.clone(),
            version: self.version.clone(),
            status: status.to_string(),
            exit_code: None,
            duration_secs: 0.0,
            autopkgtest: None,
            lintian: None,
            detail,
            unexpected: unexpected.into_iter().collect(),
            input_hash: None,
            reused: false,
        }
    }

    /// Its input hash, from the input hashes of its build and of its
    /// [`TestJob::triggers`] (in that order), and the .debs offered.
    pub fn input_hash(&self, build_hashes: &[&str], debs: &[PathBuf]) -> String {
        let mut names: Vec<String> = (debs.iter())
            .filter_map(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        names.sort();
        let dsc = self.dsc.as_ref().ok().map(|p| p.display().to_string());
        let (build_hash, triggers) = build_hashes.split_first().unwrap_or((&"", &[]));
        let mut canon = serde_json::json!({
            "build": build_hash, "test_arch": self.test_arch, "dsc": dsc,
            "debs": names, "settings": self.settings,
        });
        // Absent without triggers: the hashes of earlier results still hold.
        if !triggers.is_empty() {
            canon["triggers"] = serde_json::json!(triggers);
        }
        hex::encode(Sha256::digest(canon.to_string().as_bytes()))
    }
}

/// What one test gets: the job's source × arch and every .deb it may
/// install (its build's own listed apart: lintian reads those).
#[derive(Clone, Debug)]
pub struct TestRun {
    pub job: TestJob,
    pub debs: Vec<PathBuf>,
    pub own_debs: Vec<PathBuf>,
}

/// The side effect at the edge: autopkgtest and lintian in production, a
/// fake in tests. Dropping the future must kill its processes.
pub trait Tester: Send + Sync + 'static {
    fn test(&self, run: TestRun) -> impl Future<Output = TestCell> + Send;
}

/// No tester (a run without test jobs): a test that comes anyway is an error.
impl<T: Tester> Tester for Option<T> {
    fn test(&self, run: TestRun) -> impl Future<Output = TestCell> + Send {
        let inner = self.as_ref().map(|t| t.test(run.clone()));
        async move {
            match inner {
                Some(f) => f.await,
                None => run
                    .job
                    .not_run("error", Some("no tester in this run".into())),
            }
        }
    }
}

/// Identifies the settings that change the result of `source`'s test on
/// `test_arch`: the recipe's and the stack's `tests:`, whether lintian
/// runs, and the testbeds ([`testbed_id`], in `chroot_dir`).
pub fn settings_id(
    recipes: &Recipes,
    source: &str,
    chroot_dir: &Path,
    test_arch: &Arch,
    lintian: bool,
) -> String {
    let recipe = recipes.get(source).map(|r| &r.tests);
    let testbed = testbed_id(recipes, chroot_dir, test_arch, lintian);
    serde_json::json!({
        "recipe": recipe, "stack": recipes.stack.tests, "lintian": lintian,
        "testbed": testbed,
    })
    .to_string()
}

/// Identifies the testbeds of a test on `test_arch`: the unshare
/// backend's chroot tarball by path, mtime and size ([`crate::state::chroot_id`]:
/// a tarball `cascade setup` remade reruns the tests), or the stack's
/// backend words; and the lintian tarball's when lintian runs.
fn testbed_id(recipes: &Recipes, chroot_dir: &Path, test_arch: &Arch, lintian: bool) -> String {
    let suite = &recipes.stack.base_suite;
    let id = |p: &Path| {
        crate::state::chroot_id(p).unwrap_or_else(|_| format!("{} (absent)", p.display()))
    };
    let testbed = match Backend::for_arch(&recipes.stack, test_arch, chroot_dir, suite) {
        Backend::Unshare { tarball, .. } => id(&tarball),
        Backend::Custom(words) => words.join(" "),
    };
    match lintian {
        true => format!(
            "{testbed}; lintian {}",
            id(&lintian::tarball(chroot_dir, suite, &Arch::host()))
        ),
        false => testbed,
    }
}

/// The earlier result of `key` to reuse: its inputs hash to `hash`, and it
/// finished (not cancelled, not a testbed failure); a failure only unless
/// `retry_failed`.
pub fn reusable(run: &RunDir, key: &JobKey, hash: &str, retry_failed: bool) -> Option<TestCell> {
    let path = run.test_result(&key.source, &key.arch);
    let cell: TestCell = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let finished = !matches!(
        cell.status.as_str(),
        CANCELLED | NOT_BUILT | "error" | "tmpfail"
    );
    let keep = finished && (cell.unexpected.is_empty() || !retry_failed);
    (cell.input_hash.as_deref() == Some(hash) && keep).then_some(cell)
}

/// Writes `tests/PKG_ARCH/result.json` atomically.
pub fn save(run: &RunDir, cell: &TestCell) -> Result<(), IoError> {
    let json = serde_json::to_string_pretty(cell).expect("a test cell serialises");
    let path = run.test_result(&cell.source, &cell.arch);
    crate::outfile::write_atomic(&path, format!("{json}\n").as_bytes())
        .map_err(|e| IoError::new(&path, e))
}

/// The real tester: autopkgtest (unless the recipe skips it or the source
/// declares no tests), then lintian when it has a tarball; its files go to
/// `tests/PKG_ARCH/`.
#[derive(Clone, Debug)]
pub struct CellTester {
    pub run: RunDir,
    pub recipes: Arc<Recipes>,
    /// Where `cascade setup`'s chroot tarballs are (the testbeds).
    pub chroot_dir: PathBuf,
    /// The arch lintian's chroot runs on, which also lints the source.
    pub host: Arch,
    /// The lintian tarball ([`ensure_lintian_tarball`]); none: no lintian.
    pub lintian_tarball: Option<PathBuf>,
    /// As root, the run's schroot chroot of that tarball
    /// ([`CellTester::lintian_in_schroot`]); none: lintian unpacks the
    /// tarball for each cell.
    pub lintian_schroot: Option<String>,
    /// Where the live process groups are recorded (`RUNDIR/running.json`).
    pub running: Option<crate::groups::Running>,
    /// Where each cell's testbeds are unpacked: `ROOT/test_SOURCE_ARCH`,
    /// the `TMPDIR` of its autopkgtest and lintian calls, removed after the
    /// cell. The builds' temp root (on tmpfs when the stack says
    /// `chroot_tmpfs`); none: the process's own TMPDIR.
    pub tmp_root: Option<PathBuf>,
}

impl Tester for CellTester {
    fn test(&self, run: TestRun) -> impl Future<Output = TestCell> + Send {
        let this = self.clone();
        async move {
            let start = Instant::now();
            let mut cell = this.test_one(&run).await;
            cell.duration_secs = start.elapsed().as_secs_f64();
            cell
        }
    }
}

impl CellTester {
    /// As root (and `allowed`: not `--unshare`), with a lintian tarball and
    /// a temp root: lints each cell in a session of the run's schroot
    /// chroot of the tarball ([`crate::schroot::prepare_lintian`]), which
    /// the run removes with its other chroots (`schroot::finish`).
    pub fn lintian_in_schroot(&mut self, allowed: bool) {
        let (Some(tarball), Some(root)) = (&self.lintian_tarball, &self.tmp_root) else {
            return;
        };
        let prefix = crate::schroot::run_prefix(root);
        let suite = &self.recipes.stack.base_suite;
        let name = crate::schroot::lintian_chroot_name(&prefix, suite, &self.host);
        self.lintian_schroot = crate::schroot::prepare_lintian(tarball, &name, root, allowed);
    }

    async fn test_one(&self, run: &TestRun) -> TestCell {
        let job = &run.job;
        let mut cell = job.not_run("", None);
        if let Err(e) = self.clean_dir(&job.build) {
            return job.not_run("error", Some(e.to_string()));
        }
        let dsc = match &job.dsc {
            Ok(path) => path.clone(),
            Err(why) => return job.not_run("error", Some(why.clone())),
        };
        let dsc_text = match std::fs::read_to_string(&dsc) {
            Ok(t) => t,
            Err(e) => return job.not_run("error", Some(IoError::new(&dsc, e).to_string())),
        };
        let tmp = match self.cell_tmp(&job.build) {
            Ok(tmp) => tmp,
            Err(e) => return job.not_run("error", Some(e.to_string())),
        };
        let recipe = self.recipes.get(&job.build.source);
        match () {
            _ if recipe.is_some_and(|r| r.tests.skip) => cell.status = "skipped-by-recipe".into(),
            _ if !apt::declares_tests(&dsc_text) => cell.status = "no-tests".into(),
            _ => self.autopkgtest(run, &dsc, tmp.as_deref(), &mut cell).await,
        }
        if let Some(tarball) = &self.lintian_tarball {
            let result = self
                .lintian(tarball, run, &dsc, &dsc_text, tmp.as_deref())
                .await;
            if result.fails {
                cell.unexpected.push(format!("lintian: {}", result.brief()));
            }
            cell.lintian = Some(result);
        }
        if let Some(dir) = &tmp
            && let Err(e) = std::fs::remove_dir_all(dir)
        {
            tracing::warn!("{}", IoError::new(dir, e));
        }
        cell
    }

    /// The cell's own temp dir under [`CellTester::tmp_root`], made now.
    fn cell_tmp(&self, build: &JobKey) -> Result<Option<PathBuf>, IoError> {
        let Some(root) = &self.tmp_root else {
            return Ok(None);
        };
        let dir = root.join(format!("test_{}_{}", build.source, build.arch));
        std::fs::create_dir_all(&dir).map_err(|e| IoError::new(&dir, e))?;
        Ok(Some(dir))
    }

    /// A rerun starts clean: autopkgtest refuses a non-empty output dir.
    fn clean_dir(&self, build: &JobKey) -> Result<(), IoError> {
        let dir = self.run.test_dir(&build.source, &build.arch);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(IoError::new(&dir, e));
            }
            _ => {}
        }
        std::fs::create_dir_all(&dir).map_err(|e| IoError::new(&dir, e))
    }

    async fn autopkgtest(
        &self,
        run: &TestRun,
        dsc: &Path,
        tmp: Option<&Path>,
        cell: &mut TestCell,
    ) {
        let (job, recipes) = (&run.job, &self.recipes);
        let (source, arch) = (&job.build.source, &job.build.arch);
        let recipe = recipes.get(source);
        let req = apt::TestRequest {
            dsc: absolute(dsc),
            debs: (run.debs.iter())
                .filter(|p| !is_debug_symbols(&p.file_name().unwrap_or_default().to_string_lossy()))
                .map(|p| absolute(p))
                .collect(),
            artifacts: absolute(&self.run.test_artifacts(source, arch)),
            summary: absolute(&self.run.test_summary(source, arch)),
            timeout: recipe.and_then(|r| r.test_timeout(&recipes.stack)),
            backend: Backend::for_arch(
                &recipes.stack,
                &job.test_arch,
                &self.chroot_dir,
                &recipes.stack.base_suite,
            ),
        };
        if let Backend::Unshare { tarball, arch } = &req.backend
            && !tarball.exists()
        {
            // autopkgtest would only say that its testbed failed.
            cell.status = apt::Verdict::Tmpfail.as_str().into();
            cell.unexpected.push(format!(
                "no testbed for {arch}: {} is missing (`cascade setup --arch {arch}` makes it)",
                tarball.display()
            ));
            return;
        }
        let cmd = with_tmp(apt::invocation(Path::new("autopkgtest"), &req), tmp);
        let script = self.run.test_command(source, arch);
        let mkdir = match tmp {
            Some(dir) => format!(
                "mkdir -p {}\n",
                crate::process::shell_quote(dir.as_os_str())
            ),
            None => String::new(),
        };
        let text = format!(
            "#!/bin/sh\n# The autopkgtest call of {source}/{arch}; it wants its --output-dir absent.\n{mkdir}exec {}\n",
            cmd.shell_line()
        );
        if let Err(e) = std::fs::write(&script, text) {
            cell.status = "error".into();
            cell.unexpected.push(IoError::new(&script, e).to_string());
            return;
        }
        let code = match self
            .run_logged(&cmd, &self.run.test_log(source, arch))
            .await
        {
            Ok(Exit::Status(s)) => s.code(),
            Ok(_) => None,
            Err(e) => {
                cell.status = "error".into();
                cell.unexpected.push(e.to_string());
                return;
            }
        };
        // autopkgtest's output holds a copy of every .deb it was given (its
        // local apt repository, `binaries/`): the run has them in debs/.
        let copies = req.artifacts.join("binaries");
        if let Err(e) = std::fs::remove_dir_all(&copies)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("{}", IoError::new(&copies, e));
        }
        let summary = std::fs::read_to_string(&req.summary).unwrap_or_default();
        let judged = apt::judge(apt::parse_summary(&summary), code, recipe, &job.test_arch);
        cell.exit_code = code;
        cell.status = judged.status().to_string();
        cell.unexpected.extend(judged.unexpected());
        cell.autopkgtest = Some(judged);
    }

    /// Runs `cmd` in its own process group, output to `log`; dropping the
    /// future stops the group (and its testbed).
    async fn run_logged(
        &self,
        cmd: &crate::process::Cmd,
        log: &Path,
    ) -> Result<Exit, crate::process::Error> {
        let opts = LogOptions {
            running: self.running.clone(),
            ..LogOptions::default()
        };
        cmd.run_logged_until(log, &opts, std::future::pending())
            .await
    }

    /// lintian on the source (on the host arch's cell only: once a source)
    /// and the build's own .debs, in the lintian tarball's chroot.
    async fn lintian(
        &self,
        tarball: &Path,
        run: &TestRun,
        dsc: &Path,
        dsc_text: &str,
        tmp: Option<&Path>,
    ) -> LintianResult {
        let job = &run.job;
        let fail_on = self.recipes.stack.tests.lintian.fail_on;
        let mut files = Vec::new();
        if job.test_arch == self.host {
            files.push(absolute(dsc));
            let dir = dsc.parent().unwrap_or(Path::new("."));
            let listed = lintian::dsc_files(dsc_text);
            files.extend(listed.iter().map(|f| absolute(&dir.join(f))));
        }
        files.extend(run.own_debs.iter().map(|p| absolute(p)));
        let out = self.run.lintian_dir(&job.build.source, &job.build.arch);
        if let Err(e) = std::fs::create_dir_all(&out) {
            return LintianResult::broken(format!("{}: {e}", out.display()), fail_on);
        }
        let (cmd, log, dir) = match self.lintian_call(tarball, &files, &out, tmp) {
            Ok(call) => call,
            Err(e) => return LintianResult::broken(e.to_string(), fail_on),
        };
        let tool = cmd.program().to_string_lossy().into_owned();
        match self.run_logged(&cmd, &log).await {
            Ok(exit) if exit.success() => {
                if let Err(e) = copy_output(&dir, &out) {
                    return LintianResult::broken(e.to_string(), fail_on);
                }
                lintian_verdict(&out, fail_on)
            }
            Ok(exit) => {
                LintianResult::broken(format!("{tool}: {exit:?}, see {}", log.display()), fail_on)
            }
            Err(e) => LintianResult::broken(e.to_string(), fail_on),
        }
    }

    /// How lintian runs on `files`, its output bound for `out`: the call,
    /// its log and the directory it leaves its output in. In the run's
    /// schroot chroot when there is one (the files linked or copied into
    /// the cell's temp dir, which the chroot sees), else in mmdebstrap's
    /// throwaway chroot (which copies the output into `out` itself).
    fn lintian_call(
        &self,
        tarball: &Path,
        files: &[PathBuf],
        out: &Path,
        tmp: Option<&Path>,
    ) -> Result<(crate::process::Cmd, PathBuf, PathBuf), IoError> {
        if let (Some(chroot), Some(tmp)) = (&self.lintian_schroot, tmp) {
            let dir = tmp.join("lintian");
            std::fs::create_dir_all(&dir).map_err(|e| IoError::new(&dir, e))?;
            for f in files {
                let to = dir.join(f.file_name().unwrap_or_default());
                crate::fsio::link_or_copy(f, &to)?;
            }
            let cmd = lintian::schroot_invocation(chroot, &dir);
            return Ok((cmd, out.join("schroot.log"), dir));
        }
        let suite = &self.recipes.stack.base_suite;
        let cmd = lintian::invocation(tarball, &self.host, suite, files, &absolute(out));
        Ok((
            with_tmp(cmd, tmp),
            out.join("mmdebstrap.log"),
            out.to_owned(),
        ))
    }
}

/// lintian's [`lintian::OUTPUT`] and [`lintian::EXIT`] from `dir` into
/// `out` (nothing to do when they are the same).
fn copy_output(dir: &Path, out: &Path) -> Result<(), IoError> {
    if dir == out {
        return Ok(());
    }
    for name in [lintian::OUTPUT, lintian::EXIT] {
        let (from, to) = (dir.join(name), out.join(name));
        std::fs::copy(&from, &to).map_err(|e| IoError::new(&from, e))?;
    }
    Ok(())
}

/// `cmd` with `TMPDIR` set to `tmp`, where autopkgtest's unshare backend
/// and mmdebstrap unpack their chroots.
fn with_tmp(cmd: crate::process::Cmd, tmp: Option<&Path>) -> crate::process::Cmd {
    match tmp {
        Some(dir) => cmd.env("TMPDIR", dir),
        None => cmd,
    }
}

/// lintian's output in `out`, judged.
fn lintian_verdict(out: &Path, fail_on: crate::recipe::LintianFailOn) -> LintianResult {
    let code = std::fs::read_to_string(out.join(lintian::EXIT)).unwrap_or_default();
    let text = std::fs::read_to_string(out.join(lintian::OUTPUT)).unwrap_or_default();
    match code.trim() {
        "0" => LintianResult::judge(lintian::parse(&text), fail_on),
        other => LintianResult::broken(
            format!(
                "lintian exited {other:?}, see {}",
                out.join(lintian::OUTPUT).display()
            ),
            fail_on,
        ),
    }
}

/// The lintian tarball of `suite` on `host`, made from `mirror` when it is
/// missing or older than the plain chroot tarball (`cascade setup`
/// refreshed that: sid's lintian has moved on); a minute or two. `say` is
/// told before it is made. One cascade at a time makes it (a file lock
/// beside it: two runs, or a run and a CI job on one host, would otherwise
/// write the same temporary file); one that waited finds it made.
pub fn ensure_lintian_tarball(
    dir: &Path,
    suite: &str,
    host: &Arch,
    mirror: &str,
    say: impl FnOnce(&Path),
) -> Result<PathBuf, crate::setup::Error> {
    let tarball = lintian::tarball(dir, suite, host);
    let current = || crate::setup::made_after_plain(&tarball, dir, suite, host);
    if current() {
        return Ok(tarball);
    }
    std::fs::create_dir_all(dir).map_err(crate::fsio::at(dir))?;
    let lock_path = dir.join(format!(".{suite}-{host}-lintian.lock"));
    let _lock = crate::lock::hold(&lock_path).map_err(crate::fsio::at(&lock_path))?;
    if !current() {
        say(&tarball);
        for action in lintian::tarball_actions(dir, suite, host, mirror) {
            crate::setup::apply(&action)?;
        }
    }
    Ok(tarball)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{JobSpec, Limits, Schedule};

    /// With nothing timed yet and both builds done: the riscv64 test (under
    /// qemu on an amd64 machine) starts before amd64's, though amd64's
    /// comes first by name.
    #[test]
    fn untimed_tests_under_qemu_start_first() {
        let host = Arch::new("amd64").unwrap();
        let mut specs = Vec::new();
        for a in ["amd64", "riscv64"] {
            let build = JobKey::new("demo-runtime", Arch::new(a).unwrap());
            specs.push(JobSpec {
                key: build.test(),
                deps: vec![build.clone()],
                weight: default_weight(&build.arch, &host),
                memory: 0,
            });
            specs.push(JobSpec {
                key: build,
                deps: vec![],
                weight: 1,
                memory: 0,
            });
        }
        let limits = Limits {
            jobs: 2,
            memory: None,
        };
        let mut s = Schedule::new(specs, limits).unwrap();
        let builds = [s.start_next().unwrap(), s.start_next().unwrap()];
        for b in &builds {
            assert!(!b.is_test(), "{b}");
            s.finish(b, true);
        }
        let first = s.start_next().unwrap();
        assert_eq!(first.to_string(), "demo-runtime/riscv64:test");
    }
}
