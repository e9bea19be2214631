//! Drives the schedule on tokio, calls a [`Builder`] for each ready build
//! and a [`Tester`] for each ready test job (`teststage`: a build's tests,
//! after it), emits [`Event`]s and saves state. It never prints.
//!
//! Shaped like cargo's job queue: one loop owns the pure [`Schedule`], starts
//! what it allows, and waits for the next job to end (or for Ctrl-C).
//! Builds and tests run as tasks of one `JoinSet` under one `-j`; cancelling
//! aborts the tasks, which drops their futures, and the builder and the
//! tester kill their process groups on drop.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::arch::Arch;
use crate::autopkgtest::TestCell;
use crate::events::{BuildResult, Event, Outcome};
use crate::recipe::BuildMode;
use crate::rundir::RunDir;
use crate::schedule::{JobKey, JobSpec, Limits, Schedule};
use crate::state::{self, Inputs, RunState};
use crate::teststage::{self, TestJob, TestRun, Tester};

/// Everything one build needs; the builder decides how to run it.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub source: String,
    pub version: String,
    pub arch: Arch,
    pub mode: BuildMode,
    /// The .dsc to build.
    pub dsc: PathBuf,
    /// .debs built earlier in this run that this build may use.
    pub extra_debs: Vec<PathBuf>,
    /// Where the .debs and .changes go.
    pub out_dir: PathBuf,
    /// The build log (RUNDIR/logs/PKG_VERSION_ARCH.build).
    pub log: PathBuf,
    pub timeout: Option<Duration>,
    pub profiles: Vec<String>,
    /// Build arch:all packages too (done once, on one arch).
    pub arch_all: bool,
    /// binNMU: (number, changelog reason).
    pub binnmu: Option<(u32, String)>,
    pub env: BTreeMap<String, String>,
}

/// What a finished build reports back.
#[derive(Clone, Debug)]
pub struct BuildOutput {
    pub outcome: Outcome,
    pub debs: Vec<PathBuf>,
    pub duration: Duration,
    /// Where the build's time went (sbuild's log), ccache's counters.
    pub stats: Option<crate::timing::BuildStats>,
}

/// The side effect at the edge: sbuild in production, a fake in tests.
/// Dropping the future must kill the build (whole process group).
pub trait Builder: Send + Sync + 'static {
    fn build(&self, req: BuildRequest) -> impl Future<Output = BuildOutput> + Send;
}

/// One build the runner is asked to do: the request (its `log` and `out_dir`
/// are filled in by the runner, which adds to `extra_debs` the .debs of the
/// job's dependencies) and its place in the graph.
#[derive(Clone, Debug)]
pub struct Job {
    pub request: BuildRequest,
    /// Jobs whose .debs this build uses: same-arch stack dependencies and
    /// the arch:all builds (key arch `all`). Each must be a job of the same
    /// run (a dependency taken from the archive is no edge here).
    pub deps: Vec<JobKey>,
    /// Expected duration in seconds (last known build time), for priorities.
    pub weight: u64,
    /// Memory the build needs in MiB.
    pub memory: u64,
    /// The recipe's reason when this build is expected to fail.
    pub expected_failure: Option<String>,
    /// Identifies the chroot (see [`state::chroot_id`]); part of the input hash.
    pub chroot_id: String,
    /// The source builds only arch:all packages (like rocm-cmake): the job
    /// (with `request.arch_all` set) is keyed, logged and reported as arch
    /// `all`, and every arch's jobs depend on `source/all`. A source with
    /// both kinds is keyed by its arch even when it also builds arch:all.
    pub all_only: bool,
}

impl Job {
    /// The schedule key: `source/arch`, or `source/all` (see `all_only`).
    pub fn key(&self) -> JobKey {
        let arch = if self.all_only {
            Arch::ALL
        } else {
            self.request.arch.clone()
        };
        JobKey::new(self.request.source.clone(), arch)
    }

    /// This job's result when it is not built (failed before building,
    /// cancelled), with the recipe's expected failure.
    pub fn not_built(&self, outcome: Outcome) -> BuildResult {
        let req = &self.request;
        let mut r = BuildResult::not_built(&req.source, self.key().arch, &req.version, outcome);
        r.expected_failure = self.expected_failure.clone();
        r
    }

    /// This job's result when the failure of `failed` skips it.
    pub fn skipped(&self, failed: &JobKey) -> BuildResult {
        let req = &self.request;
        let mut r = BuildResult::skipped(
            &req.source,
            self.key().arch,
            &req.version,
            &failed.source,
            &failed.arch,
        );
        r.expected_failure = self.expected_failure.clone();
        r
    }
}

/// A failure before building, as [`take_failed`] takes it.
#[derive(Clone, Debug)]
pub enum EarlyFailure {
    /// A job of this run that cannot be built (its bump or build copy
    /// failed): it gets this outcome.
    Job(JobKey, Outcome),
    /// A failed build outside this run (another CI job), and the jobs of
    /// this run that build against it. It gets no result here.
    External { failed: JobKey, blocks: Vec<JobKey> },
}

/// Takes out of `jobs` those that failed before building and, transitively,
/// the jobs depending on them, with the schedule's rule for a failed build
/// (the first failure given wins a job behind several). Returns the jobs
/// left and the results of those taken out.
pub fn take_failed(
    jobs: Vec<Job>,
    failures: &[EarlyFailure],
) -> Result<(Vec<Job>, Vec<BuildResult>), Error> {
    if failures.is_empty() {
        return Ok((jobs, Vec::new()));
    }
    let mut specs: Vec<JobSpec> = jobs
        .iter()
        .map(|j| JobSpec {
            key: j.key(),
            deps: j.deps.clone(),
            weight: 0,
            memory: 0,
        })
        .collect();
    for f in failures {
        if let EarlyFailure::External { failed, blocks } = f {
            for s in specs.iter_mut().filter(|s| blocks.contains(&s.key)) {
                s.deps.push(failed.clone());
            }
        }
    }
    for f in failures {
        if let EarlyFailure::External { failed, .. } = f {
            specs.push(JobSpec {
                key: failed.clone(),
                deps: Vec::new(),
                weight: 0,
                memory: 0,
            });
        }
    }
    let mut schedule = Schedule::new(
        specs,
        Limits {
            jobs: 1,
            memory: None,
        },
    )?;
    let mut outcome: BTreeMap<JobKey, Outcome> = BTreeMap::new();
    let mut failed = Vec::new();
    for f in failures {
        match f {
            EarlyFailure::Job(key, o) => {
                outcome.insert(key.clone(), o.clone());
                failed.push(key.clone());
            }
            EarlyFailure::External { failed: key, .. } => failed.push(key.clone()),
        }
    }
    let skips: BTreeMap<JobKey, JobKey> = schedule
        .fail_unstarted(&failed)
        .into_iter()
        .map(|s| (s.job, s.failed))
        .collect();
    let mut keep = Vec::new();
    let mut results = Vec::new();
    for job in jobs {
        let key = job.key();
        match (outcome.get(&key), skips.get(&key)) {
            (Some(o), _) => results.push(job.not_built(o.clone())),
            (None, Some(failed)) => results.push(job.skipped(failed)),
            (None, None) => keep.push(job),
        }
    }
    Ok((keep, results))
}

/// How to run. [`RunOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Concurrent builds.
    pub jobs: usize,
    /// Memory budget in MiB for concurrent builds; `None` = unlimited.
    pub memory_budget: Option<u64>,
    /// Stop starting builds after the first unexpected failure.
    pub fail_fast: bool,
    /// Where logs (`logs/`), build output (`out/`) and `state.json` go.
    pub run_dir: PathBuf,
    /// Timeout for requests that set none.
    pub default_timeout: Option<Duration>,
    /// Redo builds that failed in an earlier run even if their inputs are
    /// unchanged (flaky builds). Successful ones are always reused.
    pub retry_failed: bool,
}

impl RunOptions {
    /// One build per core, no memory budget, keep going, no timeout.
    pub fn new(run_dir: PathBuf) -> RunOptions {
        RunOptions {
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_budget: None,
            fail_fast: false,
            run_dir,
            default_timeout: None,
            retry_failed: false,
        }
    }
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Schedule(#[from] crate::schedule::Error),
    #[error(transparent)]
    State(#[from] crate::state::Error),
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
}

fn deb_names(debs: &[PathBuf]) -> Vec<String> {
    debs.iter()
        .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// Cancels a run from elsewhere (the Ctrl-C handler).
#[derive(Clone, Debug)]
pub struct Cancel(tokio::sync::watch::Sender<bool>);

impl Cancel {
    pub fn new() -> (Cancel, CancelToken) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (Cancel(tx), CancelToken(rx))
    }

    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }

    /// Cancels on the first Ctrl-C (SIGINT) or SIGTERM (a CI job being
    /// cancelled). Call inside a tokio runtime.
    pub fn on_ctrl_c(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let me = self.clone();
        tokio::spawn(async move {
            let mut term = signal(SignalKind::terminate()).ok();
            let term = async {
                match term.as_mut() {
                    Some(t) => t.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_ok() { me.cancel() },
                _ = term => me.cancel(),
            }
        });
    }
}

/// The runner's side of [`Cancel`].
#[derive(Clone, Debug)]
pub struct CancelToken(tokio::sync::watch::Receiver<bool>);

impl CancelToken {
    /// A token that is never cancelled.
    pub fn never() -> CancelToken {
        let (tx, rx) = tokio::sync::watch::channel(false);
        // Keep the channel open forever so `changed()` never resolves.
        std::mem::forget(tx);
        CancelToken(rx)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    async fn cancelled(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                // The sender is gone: nobody can cancel any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

struct Prepared {
    job: Job,
    input_hash: String,
}

/// Runs every job, at most `opts.jobs` at once, in critical-path order,
/// and returns one result per job sorted by source and arch.
///
/// Each build gets, as `extra_debs`, the .debs that this run produced (or
/// reused from identical inputs) for its transitive dependencies — never a
/// file from an earlier build of another version. A result whose inputs hash
/// equals the one in `RUNDIR/state.json` is reused without building.
pub async fn run<B: Builder>(
    jobs: Vec<Job>,
    builder: B,
    opts: RunOptions,
    events: UnboundedSender<Event>,
    cancel: CancelToken,
) -> Result<Vec<BuildResult>, Error> {
    let (results, _) =
        run_with_tests(jobs, Vec::new(), builder, NoTests, opts, events, cancel).await?;
    Ok(results)
}

/// [`run`] with test jobs: each test job waits for its build job when that
/// is one of `jobs` (else the build is an earlier run's, in `state.json`),
/// under the same `-j`; a failed build skips its test (the schedule's
/// rule); a test never skips anything. A test is offered its build's and
/// the build's dependencies' .debs of this run, and those its job names;
/// a result whose inputs hash equals the one its `result.json` keeps is
/// reused. Returns the build results and the test cells, in job order.
pub async fn run_with_tests<B: Builder, T: Tester>(
    jobs: Vec<Job>,
    tests: Vec<TestJob>,
    builder: B,
    tester: T,
    opts: RunOptions,
    events: UnboundedSender<Event>,
    mut cancel: CancelToken,
) -> Result<(Vec<BuildResult>, Vec<TestCell>), Error> {
    let started = Instant::now();
    let mut drain = Drain::new(jobs, tests, opts, events)?;
    let (builder, tester) = (Arc::new(builder), Arc::new(tester));
    let mut running: JoinSet<Done> = JoinSet::new();
    loop {
        while !drain.stop_starting && !cancel.is_cancelled() {
            match drain.start_next()? {
                None => break,
                Some(Start::Build(s)) => running.spawn(build(Arc::clone(&builder), s)),
                Some(Start::Test(s)) => running.spawn(test(Arc::clone(&tester), s)),
            };
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                match joined {
                    None => break,
                    Some(Ok(done)) => drain.done(done)?,
                    // A panicking builder is a bug in it; the job's key is lost
                    // with the task, so it stays "running" and is reported cancelled.
                    Some(Err(_)) => {}
                }
            }
            _ = cancel.cancelled() => {
                // Dropping the futures kills the jobs' process groups; wait
                // until every task is really gone before reporting.
                running.abort_all();
                while running.join_next().await.is_some() {}
                break;
            }
        }
    }
    let (results, cells) = drain.end()?;
    let _ = drain.events.send(Event::RunFinished {
        results: results.clone(),
        duration_secs: started.elapsed().as_secs_f64(),
    });
    Ok((results, cells))
}

/// The tester of a run without test jobs: never called.
pub struct NoTests;

impl Tester for NoTests {
    fn test(&self, run: TestRun) -> impl Future<Output = TestCell> + Send {
        std::future::ready(
            run.job
                .not_run("error", Some("no tester in this run".into())),
        )
    }
}

/// The builder of a run without build jobs (`cascade test`): never called.
pub struct NoBuilds;

impl Builder for NoBuilds {
    fn build(&self, _: BuildRequest) -> impl Future<Output = BuildOutput> + Send {
        std::future::ready(BuildOutput {
            outcome: Outcome::Cancelled,
            debs: Vec::new(),
            duration: Duration::ZERO,
            stats: None,
        })
    }
}

/// A job the runner starts.
enum Start {
    Build(Started),
    Test(StartedTest),
}

/// A job that ended, with its key and input hash.
enum Done {
    Build(JobKey, String, BuildOutput),
    Test(JobKey, String, TestCell),
}

/// A test the runner started: its key, input hash and what it gets.
struct StartedTest {
    key: JobKey,
    hash: String,
    run: TestRun,
}

/// Runs one test job (its timeouts are autopkgtest's own).
async fn test<T: Tester>(tester: Arc<T>, started: StartedTest) -> Done {
    let cell = tester.test(started.run).await;
    Done::Test(started.key, started.hash, cell)
}

/// A build the runner started: its key, input hash and request.
struct Started {
    key: JobKey,
    hash: String,
    request: BuildRequest,
}

/// Runs one build under its timeout.
async fn build<B: Builder>(builder: Arc<B>, started: Started) -> Done {
    let t0 = Instant::now();
    let out = match started.request.timeout {
        Some(t) => match tokio::time::timeout(t, builder.build(started.request)).await {
            Ok(out) => out,
            // Dropping the build future killed the process group.
            Err(_) => BuildOutput {
                outcome: Outcome::Timeout,
                debs: Vec::new(),
                duration: t0.elapsed(),
                stats: None,
            },
        },
        None => builder.build(started.request).await,
    };
    Done::Build(started.key, started.hash, out)
}

/// The run loop's state (as cargo's `DrainState`): the schedule, the jobs
/// not finished yet, the results so far and the run directory's state.
/// The loop in [`run_with_tests`] only waits; every decision is a method here.
struct Drain {
    schedule: Schedule,
    state: RunState,
    /// Jobs not finished yet, by key (running ones included).
    pending: BTreeMap<JobKey, Job>,
    results: BTreeMap<JobKey, BuildResult>,
    /// Results come back in the order the jobs were given (the plan's).
    order: Vec<JobKey>,
    /// Test jobs not finished yet, by their (test) key.
    tests: BTreeMap<JobKey, TestJob>,
    cells: BTreeMap<JobKey, TestCell>,
    test_order: Vec<JobKey>,
    events: UnboundedSender<Event>,
    opts: RunOptions,
    /// Fail-fast after an unexpected failure: start nothing more.
    stop_starting: bool,
}

impl Drain {
    fn new(
        jobs: Vec<Job>,
        tests: Vec<TestJob>,
        opts: RunOptions,
        events: UnboundedSender<Event>,
    ) -> Result<Drain, Error> {
        let logs = RunDir::new(&opts.run_dir).logs();
        std::fs::create_dir_all(&logs).map_err(crate::fsio::at(&logs))?;
        let state = RunState::load(&opts.run_dir)?;
        let mut specs: Vec<JobSpec> = jobs.iter().map(|j| spec(j, &state)).collect();
        let builds: Vec<JobKey> = specs.iter().map(|s| s.key.clone()).collect();
        let run = RunDir::new(&opts.run_dir);
        specs.extend(tests.iter().map(|t| test_spec(t, &builds, &run)));
        let limits = Limits {
            jobs: opts.jobs.max(1),
            memory: opts.memory_budget,
        };
        let schedule = Schedule::new(specs, limits)?;
        let order: Vec<JobKey> = jobs.iter().map(Job::key).collect();
        let pending: BTreeMap<JobKey, Job> = jobs.into_iter().map(|j| (j.key(), j)).collect();
        let test_order: Vec<JobKey> = tests.iter().map(TestJob::key).collect();
        let tests = tests.into_iter().map(|t| (t.key(), t)).collect();
        let _ = events.send(Event::RunStarted {
            run_dir: opts.run_dir.clone(),
            total: pending.len(),
            jobs: opts.jobs.max(1),
        });
        Ok(Drain {
            schedule,
            state,
            pending,
            results: BTreeMap::new(),
            order,
            tests,
            cells: BTreeMap::new(),
            test_order,
            events,
            opts,
            stop_starting: false,
        })
    }

    /// Starts the next job the schedule allows: a build to spawn, or `None`
    /// when nothing can start now. Reusable results are recorded on the
    /// way without building.
    fn start_next(&mut self) -> Result<Option<Start>, Error> {
        while let Some(key) = self.schedule.start_next() {
            if key.is_test() {
                match self.start_test(key)? {
                    Some(t) => return Ok(Some(Start::Test(t))),
                    None => continue,
                }
            }
            let Some(job) = self.pending.remove(&key) else {
                continue;
            };
            let prepared = prepare(
                job,
                &key,
                &self.schedule,
                &self.results,
                &self.state,
                &self.opts,
            );
            let reused = reusable(
                &self.state,
                &key,
                &prepared.input_hash,
                self.opts.retry_failed,
            );
            if let Some(mut result) = reused {
                result.reused = true;
                result.expected_failure = prepared.job.expected_failure.clone();
                self.finish(&key, prepared.input_hash, result)?;
                continue;
            }
            let request = prepared.job.request.clone();
            let _ = self.events.send(Event::BuildStarted {
                source: request.source.clone(),
                arch: key.arch.clone(),
                version: request.version.clone(),
            });
            // Earlier output of this build must not be mistaken for new.
            let _ = std::fs::remove_dir_all(&request.out_dir);
            let _ = std::fs::create_dir_all(&request.out_dir);
            self.pending.insert(key.clone(), prepared.job);
            let hash = prepared.input_hash;
            return Ok(Some(Start::Build(Started { key, hash, request })));
        }
        Ok(None)
    }

    /// Records a finished job.
    fn done(&mut self, done: Done) -> Result<(), Error> {
        match done {
            Done::Build(key, hash, out) => self.built(&key, hash, out),
            Done::Test(key, hash, cell) => self.tested(&key, hash, cell),
        }
    }

    /// Records a finished build.
    fn built(&mut self, key: &JobKey, hash: String, out: BuildOutput) -> Result<(), Error> {
        let Some(job) = self.pending.remove(key) else {
            return Ok(());
        };
        let req = &job.request;
        let ok = out.outcome == Outcome::Ok;
        let result = BuildResult {
            source: req.source.clone(),
            arch: key.arch.clone(),
            version: req.version.clone(),
            outcome: out.outcome,
            expected_failure: job.expected_failure.clone(),
            log: Some(req.log.clone()),
            duration_secs: out.duration.as_secs_f64(),
            debs: if ok { out.debs } else { Vec::new() },
            reused: false,
            stats: out.stats.map(Box::new),
        };
        if result.is_unexpected_failure() && self.opts.fail_fast {
            self.stop_starting = true;
        }
        self.finish(key, hash, result)
    }

    /// Records a result, and the skips a failure causes: in the state on
    /// disk first, then as events.
    fn finish(&mut self, key: &JobKey, hash: String, result: BuildResult) -> Result<(), Error> {
        let reused = result.reused;
        let ok = result.outcome == Outcome::Ok;
        self.state.record(key, hash, result.clone());
        let mut finished = vec![result.clone()];
        self.results.insert(key.clone(), result);
        for skip in self.schedule.finish(key, ok) {
            if skip.job.is_test() {
                self.skip_test(&skip.job, &skip.failed)?;
                continue;
            }
            let Some(job) = self.pending.get(&skip.job) else {
                continue;
            };
            let skipped = job.skipped(&skip.failed);
            self.state.record(&skip.job, String::new(), skipped.clone());
            finished.push(skipped.clone());
            self.results.insert(skip.job, skipped);
        }
        // On disk before anyone is told: a reporter never shows a result
        // that a crash right after would lose. A reused result is on disk
        // already (the end of the run saves its `reused` flag): a no-op
        // rerun stays fast.
        if !reused || finished.len() > 1 {
            self.state.save(&self.opts.run_dir)?;
        }
        for result in finished {
            let _ = self.events.send(Event::BuildFinished { result });
        }
        Ok(())
    }

    /// Ends the run: whatever never ran (fail-fast, Ctrl-C) or was running
    /// at Ctrl-C is cancelled; the state is saved. The results in job order.
    fn end(&mut self) -> Result<(Vec<BuildResult>, Vec<TestCell>), Error> {
        self.schedule.cancel_pending();
        for (key, job) in std::mem::take(&mut self.tests) {
            let cell = job.not_run(teststage::CANCELLED, Some("cancelled (Ctrl-C)".into()));
            self.test_finished(&key, cell, true)?;
        }
        for (key, job) in std::mem::take(&mut self.pending) {
            if self.results.contains_key(&key) {
                continue;
            }
            let result = job.not_built(Outcome::Cancelled);
            let _ = self.events.send(Event::BuildFinished {
                result: result.clone(),
            });
            self.state.record(&key, String::new(), result.clone());
            self.results.insert(key, result);
        }
        // Skips and cancellations are kept too, so that `cascade report` on
        // the state alone shows the whole matrix; their empty hash never
        // matches.
        self.state.save(&self.opts.run_dir)?;
        let order = std::mem::take(&mut self.order);
        let results = (order.iter())
            .filter_map(|k| self.results.remove(k))
            .collect();
        let test_order = std::mem::take(&mut self.test_order);
        let cells = (test_order.iter())
            .filter_map(|k| self.cells.remove(k))
            .collect();
        Ok((results, cells))
    }

    /// Starts the test job `key`: `None` when an earlier identical one is
    /// reused (recorded on the way).
    fn start_test(&mut self, key: JobKey) -> Result<Option<StartedTest>, Error> {
        let Some(job) = self.tests.get(&key).cloned() else {
            return Ok(None);
        };
        let run = self.test_run(&key, job);
        let hash_of = |k: &JobKey| self.state.get(k).map_or("", |e| e.input_hash.as_str());
        let builds = std::iter::once(&run.job.build).chain(&run.job.triggers);
        let hash = run
            .job
            .input_hash(&builds.map(hash_of).collect::<Vec<_>>(), &run.debs);
        let dir = RunDir::new(&self.opts.run_dir);
        if let Some(mut cell) = teststage::reusable(&dir, &key, &hash, self.opts.retry_failed) {
            cell.reused = true;
            self.test_finished(&key, cell, false)?;
            return Ok(None);
        }
        let _ = self.events.send(Event::TestStarted {
            source: key.source.clone(),
            arch: key.arch.clone(),
            version: run.job.version.clone(),
        });
        Ok(Some(StartedTest { key, hash, run }))
    }

    /// What test `key` gets: the .debs its job names and those this run
    /// made for its build and the build's dependencies.
    fn test_run(&self, key: &JobKey, job: TestJob) -> TestRun {
        let mut debs = job.debs.clone();
        for dep in self.schedule.transitive_deps(key) {
            if let Some(r) = self.results.get(dep) {
                debs.extend(r.debs.iter().cloned());
            }
        }
        debs.sort();
        debs.dedup();
        let own_debs = match self.results.get(&job.build) {
            Some(r) => r.debs.clone(),
            None => job.own_debs.clone(),
        };
        TestRun {
            job,
            debs,
            own_debs,
        }
    }

    /// Records a finished test with the hash of its inputs.
    fn tested(&mut self, key: &JobKey, hash: String, mut cell: TestCell) -> Result<(), Error> {
        cell.input_hash = Some(hash);
        self.test_finished(key, cell, true)
    }

    /// The test of a build that failed (or was skipped): not run.
    fn skip_test(&mut self, key: &JobKey, failed: &JobKey) -> Result<(), Error> {
        let Some(job) = self.tests.get(key) else {
            return Ok(());
        };
        let why = format!("not tested: {failed} did not build");
        let cell = job.not_run(teststage::NOT_BUILT, Some(why));
        self.test_finished(key, cell, true)
    }

    /// Records a test's cell: in `result.json` (unless reused: it is there)
    /// before the event, as for builds.
    fn test_finished(&mut self, key: &JobKey, cell: TestCell, save: bool) -> Result<(), Error> {
        self.tests.remove(key);
        // Frees its slot when it ran or was reused; it has no dependents.
        self.schedule.finish(key, cell.unexpected.is_empty());
        if save {
            teststage::save(&RunDir::new(&self.opts.run_dir), &cell)?;
        }
        let _ = self.events.send(Event::TestFinished {
            cell: Box::new(cell.clone()),
        });
        self.cells.insert(key.clone(), cell);
        Ok(())
    }
}

/// A test job's node: after its build and its triggers' builds, those that
/// are jobs of this run; no weight known: the duration its `result.json`
/// records, else a default.
fn test_spec(test: &TestJob, builds: &[JobKey], run: &RunDir) -> JobSpec {
    let path = run.test_result(&test.build.source, &test.build.arch);
    let earlier = (std::fs::read_to_string(path).ok())
        .and_then(|t| serde_json::from_str::<TestCell>(&t).ok())
        .map(|c| c.duration_secs.round() as u64)
        .filter(|&d| d > 0);
    JobSpec {
        key: test.key(),
        deps: (std::iter::once(&test.build).chain(&test.triggers))
            .filter(|b| builds.contains(b))
            .cloned()
            .collect(),
        weight: earlier.unwrap_or(teststage::default_weight(&test.test_arch, &Arch::host())),
        memory: 0,
    }
}

/// A job's node in the schedule. No weight given: the duration this build
/// took last time in this run directory, else a default estimate.
fn spec(job: &Job, state: &RunState) -> JobSpec {
    let weight = if job.weight > 0 {
        job.weight
    } else {
        state
            .get(&job.key())
            .map(|e| e.result.duration_secs.round() as u64)
            .filter(|&d| d > 0)
            .unwrap_or(crate::schedule::DEFAULT_WEIGHT_SECS)
    };
    JobSpec {
        key: job.key(),
        deps: job.deps.clone(),
        weight,
        memory: job.memory,
    }
}

fn prepare(
    mut job: Job,
    key: &JobKey,
    schedule: &Schedule,
    results: &BTreeMap<JobKey, BuildResult>,
    state: &RunState,
    opts: &RunOptions,
) -> Prepared {
    // .debs the caller gave (built elsewhere: `--from-artifacts`) come first.
    let mut extra = std::mem::take(&mut job.request.extra_debs);
    let mut dep_hashes = Vec::new();
    for dep in schedule.transitive_deps(key) {
        if let Some(r) = results.get(dep) {
            extra.extend(r.debs.iter().cloned());
        }
        if let Some(e) = state.get(dep) {
            dep_hashes.push(e.input_hash.clone());
        }
    }
    extra.sort();
    extra.dedup();
    let req = &mut job.request;
    let arch = key.arch.as_str().to_string();
    req.extra_debs = extra;
    let dir = RunDir::new(&opts.run_dir);
    req.log = dir.log(&req.source, &req.version, &arch);
    req.out_dir = dir.out(&req.source, &req.version, &arch);
    if req.timeout.is_none() {
        req.timeout = opts.default_timeout;
    }
    let dsc_sha256 = state::file_sha256(&req.dsc).unwrap_or_else(|_| "missing".to_string());
    let input_hash = Inputs {
        source: &req.source,
        arch: &arch,
        version: &req.version,
        dsc_sha256: &dsc_sha256,
        stack_debs: deb_names(&req.extra_debs),
        dep_hashes,
        chroot: &job.chroot_id,
        mode: req.mode.as_str(),
        profiles: &req.profiles,
        arch_all: req.arch_all,
        binnmu: req.binnmu.as_ref(),
    }
    .hash();
    Prepared { job, input_hash }
}

/// The earlier result to reuse, if its inputs are the same and it is worth
/// keeping: a success whose .debs are still there, or (unless retrying) a
/// failure of the package itself. Timeouts, cancellations and skips are redone.
fn reusable(state: &RunState, key: &JobKey, hash: &str, retry_failed: bool) -> Option<BuildResult> {
    let entry = state.get(key)?;
    if entry.input_hash != hash {
        return None;
    }
    let r = &entry.result;
    let keep = match &r.outcome {
        Outcome::Ok => r.debs.iter().all(|d| d.exists()),
        Outcome::Timeout => false,
        o => o.is_failure() && !retry_failed,
    };
    keep.then(|| r.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What the fake does for a source.
    #[derive(Clone, Copy)]
    enum Act {
        Ok,
        /// Succeeds after a while.
        Slow,
        Fail,
        Hang,
    }

    #[derive(Default)]
    struct Record {
        started: Mutex<Vec<String>>,
        extra: Mutex<BTreeMap<String, Vec<String>>>,
        now: AtomicUsize,
        max: AtomicUsize,
        dropped: AtomicUsize,
    }

    struct Fake {
        acts: BTreeMap<String, Act>,
        rec: Arc<Record>,
    }

    /// Counts builds whose future was dropped (finished or killed).
    struct Guard(Arc<Record>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.now.fetch_sub(1, Ordering::SeqCst);
            self.0.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Builder for Fake {
        fn build(&self, req: BuildRequest) -> impl Future<Output = BuildOutput> + Send {
            let act = self.acts.get(&req.source).copied().unwrap_or(Act::Ok);
            let rec = Arc::clone(&self.rec);
            async move {
                // The runner names the log after the job's key arch.
                let stem = req.log.file_stem().unwrap().to_string_lossy().into_owned();
                let key_arch = stem.rsplit('_').next().unwrap().to_string();
                let key = format!("{}/{key_arch}", req.source);
                rec.started.lock().unwrap().push(key.clone());
                rec.extra
                    .lock()
                    .unwrap()
                    .insert(key, deb_names(&req.extra_debs));
                let n = rec.now.fetch_add(1, Ordering::SeqCst) + 1;
                rec.max.fetch_max(n, Ordering::SeqCst);
                let _guard = Guard(Arc::clone(&rec));
                tokio::time::sleep(Duration::from_millis(20)).await;
                let arch = if req.arch_all {
                    "all"
                } else {
                    req.arch.as_str()
                };
                if let Act::Slow = act {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                match act {
                    Act::Ok | Act::Slow => {
                        let deb = req
                            .out_dir
                            .join(format!("{}_{}_{arch}.deb", req.source, req.version));
                        std::fs::write(&deb, "deb").unwrap();
                        BuildOutput {
                            outcome: Outcome::Ok,
                            debs: vec![deb],
                            duration: Duration::from_millis(20),
                            stats: None,
                        }
                    }
                    Act::Fail => BuildOutput {
                        outcome: Outcome::Failed {
                            stage: "build".into(),
                            errors: vec!["error: boom".into()],
                        },
                        debs: Vec::new(),
                        duration: Duration::from_millis(20),
                        stats: None,
                    },
                    Act::Hang => std::future::pending().await,
                }
            }
        }
    }

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    /// `spec` is `source/arch`; arch `all` means the arch:all build (on amd64).
    fn job(dir: &Path, spec: &str, deps: &[&str]) -> Job {
        let (source, a) = spec.split_once('/').unwrap();
        let dsc = dir.join(format!("{source}.dsc"));
        if !dsc.exists() {
            std::fs::write(&dsc, format!("Source: {source}\n")).unwrap();
        }
        let all = a == "all";
        Job {
            request: BuildRequest {
                source: source.into(),
                version: "1.0-1".into(),
                arch: if all { arch("amd64") } else { arch(a) },
                mode: BuildMode::Native,
                dsc,
                extra_debs: Vec::new(),
                out_dir: PathBuf::new(),
                log: PathBuf::new(),
                timeout: None,
                profiles: Vec::new(),
                arch_all: all,
                binnmu: None,
                env: BTreeMap::new(),
            },
            deps: deps
                .iter()
                .map(|d| {
                    let (s, a) = d.split_once('/').unwrap();
                    JobKey::new(s, arch(a))
                })
                .collect(),
            weight: 1,
            memory: 0,
            expected_failure: None,
            chroot_id: "chroot-1".into(),
            all_only: all,
        }
    }

    fn opts(dir: &Path, jobs: usize) -> RunOptions {
        RunOptions {
            jobs,
            memory_budget: None,
            fail_fast: false,
            run_dir: dir.join("run"),
            default_timeout: None,
            retry_failed: false,
        }
    }

    fn stack(dir: &Path) -> Vec<Job> {
        vec![
            job(dir, "cmake/all", &[]),
            job(dir, "runtime/amd64", &["cmake/all"]),
            job(dir, "runtime/riscv64", &["cmake/all"]),
            job(dir, "blas/amd64", &["runtime/amd64", "cmake/all"]),
            job(dir, "blas/riscv64", &["runtime/riscv64", "cmake/all"]),
        ]
    }

    async fn go(
        jobs: Vec<Job>,
        acts: &[(&str, Act)],
        o: RunOptions,
    ) -> (Vec<BuildResult>, Arc<Record>, Vec<Event>) {
        let rec = Arc::new(Record::default());
        let fake = Fake {
            acts: acts.iter().map(|(s, a)| (s.to_string(), *a)).collect(),
            rec: Arc::clone(&rec),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let results = run(jobs, fake, o, tx, CancelToken::never()).await.unwrap();
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        (results, rec, events)
    }

    fn classes(results: &[BuildResult]) -> Vec<String> {
        results
            .iter()
            .map(|r| format!("{}/{}={}", r.source, r.arch, r.outcome.class()))
            .collect()
    }

    #[tokio::test]
    async fn builds_follow_dependencies_and_get_fresh_debs_of_their_arch() {
        let dir = tempfile::tempdir().unwrap();
        let (results, rec, events) = go(stack(dir.path()), &[], opts(dir.path(), 1)).await;
        assert!(results.iter().all(|r| r.outcome == Outcome::Ok));
        let started = rec.started.lock().unwrap().clone();
        let pos = |k: &str| started.iter().position(|s| s == k).unwrap();
        assert!(pos("cmake/all") < pos("runtime/amd64"));
        assert!(pos("runtime/amd64") < pos("blas/amd64"));
        assert!(pos("runtime/riscv64") < pos("blas/riscv64"));
        let extra = rec.extra.lock().unwrap();
        assert_eq!(extra["cmake/all"], Vec::<String>::new());
        assert_eq!(extra["runtime/riscv64"], ["cmake_1.0-1_all.deb"]);
        assert_eq!(
            extra["blas/amd64"],
            ["cmake_1.0-1_all.deb", "runtime_1.0-1_amd64.deb"]
        );
        assert_eq!(
            extra["blas/riscv64"],
            ["cmake_1.0-1_all.deb", "runtime_1.0-1_riscv64.deb"]
        );
        assert!(matches!(
            events.first(),
            Some(Event::RunStarted { total: 5, .. })
        ));
        assert!(matches!(events.last(), Some(Event::RunFinished { .. })));
        let log = results[3].log.as_ref().unwrap();
        assert!(log.ends_with("logs/blas_1.0-1_amd64.build"), "{log:?}");
    }

    #[tokio::test]
    async fn never_more_than_jobs_builds_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = (0..6)
            .map(|i| job(dir.path(), &format!("p{i}/amd64"), &[]))
            .collect();
        let (results, rec, _) = go(jobs, &[], opts(dir.path(), 2)).await;
        assert_eq!(results.len(), 6);
        assert_eq!(rec.max.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_without_starting_them() {
        let dir = tempfile::tempdir().unwrap();
        let (results, rec, _) = go(
            stack(dir.path()),
            &[("runtime", Act::Fail)],
            opts(dir.path(), 2),
        )
        .await;
        assert_eq!(
            classes(&results),
            [
                "cmake/all=ok",
                "runtime/amd64=failed",
                "runtime/riscv64=failed",
                "blas/amd64=skipped",
                "blas/riscv64=skipped",
            ]
        );
        assert_eq!(
            results[3].outcome,
            Outcome::Skipped {
                dependency: "runtime".into(),
                arch: arch("amd64")
            }
        );
        let saved = RunState::load(&dir.path().join("run")).unwrap();
        assert_eq!(saved.results().len(), 5, "skips are saved too");
        let started: BTreeSet<String> = rec.started.lock().unwrap().iter().cloned().collect();
        assert!(!started.contains("blas/amd64"));
        assert!(!started.contains("blas/riscv64"));
    }

    #[tokio::test]
    async fn fail_fast_cancels_what_has_not_started() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = vec![
            job(dir.path(), "a/amd64", &[]),
            job(dir.path(), "b/amd64", &[]),
        ];
        let mut o = opts(dir.path(), 1);
        o.fail_fast = true;
        let (results, rec, _) = go(jobs, &[("a", Act::Fail)], o).await;
        assert_eq!(classes(&results), ["a/amd64=failed", "b/amd64=cancelled"]);
        assert_eq!(rec.started.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_build_over_its_timeout_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = vec![
            job(dir.path(), "slow/amd64", &[]),
            job(dir.path(), "after/amd64", &["slow/amd64"]),
        ];
        let mut o = opts(dir.path(), 1);
        o.default_timeout = Some(Duration::from_millis(100));
        let (results, rec, _) = go(jobs, &[("slow", Act::Hang)], o).await;
        assert_eq!(
            classes(&results),
            ["slow/amd64=timeout", "after/amd64=skipped"]
        );
        assert_eq!(rec.dropped.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn cancelling_drops_running_builds_and_cancels_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = vec![
            job(dir.path(), "a/amd64", &[]),
            job(dir.path(), "b/amd64", &[]),
            job(dir.path(), "c/amd64", &["a/amd64"]),
        ];
        let rec = Arc::new(Record::default());
        let fake = Fake {
            acts: [("a".to_string(), Act::Hang), ("b".to_string(), Act::Hang)].into(),
            rec: Arc::clone(&rec),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (cancel, token) = Cancel::new();
        let handle = tokio::spawn(run(jobs, fake, opts(dir.path(), 2), tx, token));
        let mut started = 0;
        while let Some(e) = rx.recv().await {
            if matches!(e, Event::BuildStarted { .. }) {
                started += 1;
                if started == 2 {
                    break;
                }
            }
        }
        cancel.cancel();
        let results = handle.await.unwrap().unwrap();
        assert_eq!(
            classes(&results),
            [
                "a/amd64=cancelled",
                "b/amd64=cancelled",
                "c/amd64=cancelled"
            ]
        );
        // Both running builds were dropped before run() returned.
        assert_eq!(
            rec.dropped.load(Ordering::SeqCst),
            rec.started.lock().unwrap().len()
        );
    }

    #[tokio::test]
    async fn a_rerun_reuses_unchanged_builds_and_redoes_changed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (first, rec, _) = go(stack(dir.path()), &[], opts(dir.path(), 2)).await;
        assert_eq!(rec.started.lock().unwrap().len(), 5);
        assert!(first.iter().all(|r| !r.reused));

        let (second, rec, _) = go(stack(dir.path()), &[], opts(dir.path(), 2)).await;
        assert!(rec.started.lock().unwrap().is_empty());
        assert!(second.iter().all(|r| r.reused && r.outcome == Outcome::Ok));

        // A changed .dsc redoes that build and everything built on it.
        std::fs::write(
            dir.path().join("runtime.dsc"),
            "Source: runtime\nChanged: yes\n",
        )
        .unwrap();
        let (_, rec, _) = go(stack(dir.path()), &[], opts(dir.path(), 2)).await;
        let mut redone = rec.started.lock().unwrap().clone();
        redone.sort();
        assert_eq!(
            redone,
            [
                "blas/amd64",
                "blas/riscv64",
                "runtime/amd64",
                "runtime/riscv64"
            ]
        );
    }

    #[tokio::test]
    async fn an_interrupted_run_resumes_where_it_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path(), 2);
        o.default_timeout = Some(Duration::from_millis(100));
        let (first, _, _) = go(stack(dir.path()), &[("blas", Act::Hang)], o).await;
        assert_eq!(
            classes(&first),
            [
                "cmake/all=ok",
                "runtime/amd64=ok",
                "runtime/riscv64=ok",
                "blas/amd64=timeout",
                "blas/riscv64=timeout",
            ]
        );
        let (second, rec, _) = go(stack(dir.path()), &[], opts(dir.path(), 2)).await;
        let mut redone = rec.started.lock().unwrap().clone();
        redone.sort();
        assert_eq!(redone, ["blas/amd64", "blas/riscv64"]);
        assert!(second.iter().all(|r| r.outcome == Outcome::Ok));
        assert_eq!(second.iter().filter(|r| r.reused).count(), 3);
        // The rebuilt ones still got the (reused) .debs below them.
        assert_eq!(
            rec.extra.lock().unwrap()["blas/riscv64"],
            ["cmake_1.0-1_all.deb", "runtime_1.0-1_riscv64.deb"]
        );
    }

    /// A fake tester: a test fails for the sources in `fail`, hangs for
    /// those in `hang`; it records what it started in the builder's record.
    struct FakeTester {
        fail: BTreeSet<String>,
        hang: BTreeSet<String>,
        rec: Arc<Record>,
    }

    impl Tester for FakeTester {
        fn test(&self, run: TestRun) -> impl Future<Output = TestCell> + Send {
            let source = run.job.build.source.clone();
            let (fail, hang) = (self.fail.contains(&source), self.hang.contains(&source));
            let rec = Arc::clone(&self.rec);
            async move {
                let key = run.job.key().to_string();
                rec.started.lock().unwrap().push(key.clone());
                rec.extra.lock().unwrap().insert(key, deb_names(&run.debs));
                let n = rec.now.fetch_add(1, Ordering::SeqCst) + 1;
                rec.max.fetch_max(n, Ordering::SeqCst);
                let _guard = Guard(Arc::clone(&rec));
                tokio::time::sleep(Duration::from_millis(20)).await;
                if hang {
                    std::future::pending::<()>().await;
                }
                match fail {
                    true => run.job.not_run("fail", Some("smoke: fail".into())),
                    false => run.job.not_run("pass", None),
                }
            }
        }
    }

    /// The test job of the build `spec` (`source/arch`).
    fn test_of(dir: &Path, spec: &str) -> TestJob {
        let (source, a) = spec.split_once('/').unwrap();
        TestJob {
            build: JobKey::new(source, arch(a)),
            version: "1.0-1".into(),
            test_arch: if a == "all" { arch("amd64") } else { arch(a) },
            dsc: Ok(dir.join(format!("{source}.dsc"))),
            debs: Vec::new(),
            own_debs: Vec::new(),
            settings: "settings-1".into(),
            triggers: Vec::new(),
        }
    }

    fn stack_tests(dir: &Path) -> Vec<TestJob> {
        let specs = ["cmake/all", "runtime/amd64", "runtime/riscv64"];
        let mut tests: Vec<TestJob> = specs.iter().map(|s| test_of(dir, s)).collect();
        tests.extend(["blas/amd64", "blas/riscv64"].map(|s| test_of(dir, s)));
        tests
    }

    struct Ran {
        results: Vec<BuildResult>,
        cells: Vec<TestCell>,
        rec: Arc<Record>,
        events: Vec<Event>,
    }

    /// Runs `jobs` and `tests`: builds act by `acts`, tests of `fail`
    /// sources fail.
    async fn go_tests(
        (jobs, tests): (Vec<Job>, Vec<TestJob>),
        acts: &[(&str, Act)],
        fail: &[&str],
        o: RunOptions,
    ) -> Ran {
        let rec = Arc::new(Record::default());
        let fake = Fake {
            acts: acts.iter().map(|(s, a)| (s.to_string(), *a)).collect(),
            rec: Arc::clone(&rec),
        };
        let tester = FakeTester {
            fail: fail.iter().map(|s| s.to_string()).collect(),
            hang: BTreeSet::new(),
            rec: Arc::clone(&rec),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let never = CancelToken::never();
        let (results, cells) = run_with_tests(jobs, tests, fake, tester, o, tx, never)
            .await
            .unwrap();
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        Ran {
            results,
            cells,
            rec,
            events,
        }
    }

    /// The test jobs `ran` started, sorted.
    fn tests_started(ran: &Ran) -> Vec<String> {
        let started = ran.rec.started.lock().unwrap();
        let mut tests: Vec<String> = (started.iter())
            .filter(|k| k.ends_with(":test"))
            .cloned()
            .collect();
        tests.sort();
        tests
    }

    fn statuses(cells: &[TestCell]) -> Vec<String> {
        (cells.iter())
            .map(|c| format!("{}/{}={}", c.source, c.arch, c.status))
            .collect()
    }

    #[tokio::test]
    async fn a_test_runs_after_its_own_build_not_after_the_stack() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ran = go_tests(
            (stack(d), stack_tests(d)),
            &[("blas", Act::Slow)],
            &[],
            opts(d, 3),
        )
        .await;
        assert!(ran.results.iter().all(|r| r.outcome == Outcome::Ok));
        assert!(ran.cells.iter().all(|c| c.status == "pass"));
        let at = |want: &dyn Fn(&Event) -> bool| ran.events.iter().position(want).unwrap();
        let cmake_tested =
            at(&|e| matches!(e, Event::TestFinished { cell } if cell.source == "cmake"));
        let blas_built =
            at(&|e| matches!(e, Event::BuildFinished { result } if result.source == "blas"));
        assert!(cmake_tested < blas_built, "{:?}", ran.events);
        // A test gets its build's .debs and those of the build's needs.
        let extra = ran.rec.extra.lock().unwrap();
        assert_eq!(
            extra["blas/riscv64:test"],
            [
                "blas_1.0-1_riscv64.deb",
                "cmake_1.0-1_all.deb",
                "runtime_1.0-1_riscv64.deb"
            ]
        );
        let saved = RunDir::new(d.join("run")).test_result("blas", &arch("riscv64"));
        assert!(saved.is_file());
    }

    #[tokio::test]
    async fn a_failed_build_skips_its_test_and_a_failed_test_skips_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ran = go_tests(
            (stack(d), stack_tests(d)),
            &[("runtime", Act::Fail)],
            &["cmake"],
            opts(d, 2),
        )
        .await;
        assert_eq!(
            statuses(&ran.cells),
            [
                "cmake/all=fail",
                "runtime/amd64=not-built",
                "runtime/riscv64=not-built",
                "blas/amd64=not-built",
                "blas/riscv64=not-built",
            ]
        );
        // The build failure is counted on the build, not again on its test.
        assert_eq!(
            ran.cells[3].detail.as_deref(),
            Some("not tested: runtime/amd64 did not build")
        );
        assert!(ran.cells[3].unexpected.is_empty());
        let started = ran.rec.started.lock().unwrap().clone();
        assert!(!started.iter().any(|k| k.starts_with("runtime/amd64:")));
        // cmake's failed test skipped none of the builds on it.
        assert_eq!(
            classes(&ran.results),
            [
                "cmake/all=ok",
                "runtime/amd64=failed",
                "runtime/riscv64=failed",
                "blas/amd64=skipped",
                "blas/riscv64=skipped",
            ]
        );
    }

    #[tokio::test]
    async fn jobs_limit_covers_builds_and_tests_together() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let specs: Vec<String> = (0..4).map(|i| format!("p{i}/amd64")).collect();
        let jobs = specs.iter().map(|s| job(d, s, &[])).collect();
        let tests = specs.iter().map(|s| test_of(d, s)).collect();
        let ran = go_tests((jobs, tests), &[], &[], opts(d, 2)).await;
        assert_eq!(ran.rec.started.lock().unwrap().len(), 8);
        assert_eq!(ran.rec.max.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_test_with_triggers_waits_for_them_gets_their_debs_and_reruns_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // cmake's tests name a binary of blas on amd64.
        let both = || {
            let mut tests = stack_tests(d);
            tests[0].triggers = vec![JobKey::new("blas", arch("amd64"))];
            (stack(d), tests)
        };
        let first = go_tests(both(), &[], &[], opts(d, 3)).await;
        let at = |want: &dyn Fn(&Event) -> bool| first.events.iter().position(want).unwrap();
        let cmake_started =
            at(&|e| matches!(e, Event::TestStarted { source, .. } if source == "cmake"));
        let blas_built = at(
            &|e| matches!(e, Event::BuildFinished { result } if result.source == "blas" && result.arch.as_str() == "amd64"),
        );
        assert!(blas_built < cmake_started, "{:?}", first.events);
        assert_eq!(
            first.rec.extra.lock().unwrap()["cmake/all:test"],
            [
                "blas_1.0-1_amd64.deb",
                "cmake_1.0-1_all.deb",
                "runtime_1.0-1_amd64.deb"
            ]
        );
        // A rebuilt blas reruns cmake's test too, though cmake is unchanged.
        std::fs::write(d.join("blas.dsc"), "Source: blas\nChanged: yes\n").unwrap();
        let changed = go_tests(both(), &[], &[], opts(d, 3)).await;
        let tests = tests_started(&changed);
        assert_eq!(
            tests,
            ["blas/amd64:test", "blas/riscv64:test", "cmake/all:test"]
        );
        // blas failing skips cmake's test: it cannot be tested against it.
        std::fs::write(d.join("blas.dsc"), "Source: blas\nChanged: again\n").unwrap();
        let failed = go_tests(both(), &[("blas", Act::Fail)], &[], opts(d, 3)).await;
        assert!(statuses(&failed.cells).contains(&"cmake/all=not-built".to_string()));
    }

    #[tokio::test]
    async fn a_rerun_reuses_unchanged_tests_and_redoes_changed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let both = || (stack(d), stack_tests(d));
        let first = go_tests(both(), &[], &[], opts(d, 2)).await;
        assert!(first.cells.iter().all(|c| !c.reused));
        let again = go_tests(both(), &[], &[], opts(d, 2)).await;
        assert!(again.rec.started.lock().unwrap().is_empty());
        assert!(again.cells.iter().all(|c| c.reused && c.status == "pass"));

        // A changed build redoes its tests and its dependents'.
        std::fs::write(d.join("runtime.dsc"), "Source: runtime\nChanged: yes\n").unwrap();
        let changed = go_tests(both(), &[], &[], opts(d, 2)).await;
        let tests = tests_started(&changed);
        assert_eq!(
            tests,
            [
                "blas/amd64:test",
                "blas/riscv64:test",
                "runtime/amd64:test",
                "runtime/riscv64:test"
            ]
        );
        // Changed test settings redo the test alone.
        let mut tests = stack_tests(d);
        tests[0].settings = "settings-2".into();
        let resettled = go_tests((stack(d), tests), &[], &[], opts(d, 2)).await;
        assert_eq!(*resettled.rec.started.lock().unwrap(), ["cmake/all:test"]);
    }

    #[tokio::test]
    async fn cancelling_drops_running_tests_and_cancels_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let rec = Arc::new(Record::default());
        let fake = Fake {
            acts: BTreeMap::new(),
            rec: Arc::clone(&rec),
        };
        let tester = FakeTester {
            fail: BTreeSet::new(),
            hang: ["a".to_string()].into(),
            rec: Arc::clone(&rec),
        };
        let jobs = vec![job(d, "a/amd64", &[]), job(d, "b/amd64", &["a/amd64"])];
        let tests = vec![test_of(d, "a/amd64"), test_of(d, "b/amd64")];
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (cancel, token) = Cancel::new();
        let handle = tokio::spawn(run_with_tests(
            jobs,
            tests,
            fake,
            tester,
            opts(d, 1),
            tx,
            token,
        ));
        while let Some(e) = rx.recv().await {
            if matches!(e, Event::TestStarted { .. }) {
                break;
            }
        }
        // Let the tester reach its hang, then stop the run.
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
        let (results, cells) = handle.await.unwrap().unwrap();
        // b's build outranks a's test (its chain is longer): built first.
        assert_eq!(classes(&results), ["a/amd64=ok", "b/amd64=ok"]);
        assert_eq!(statuses(&cells), ["a/amd64=cancelled", "b/amd64=cancelled"]);
        assert_eq!(
            rec.dropped.load(Ordering::SeqCst),
            rec.started.lock().unwrap().len()
        );
    }

    #[tokio::test]
    async fn a_rerun_redoes_timeouts_and_keeps_failures_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = || vec![job(dir.path(), "bad/amd64", &[])];
        go(jobs(), &[("bad", Act::Fail)], opts(dir.path(), 1)).await;
        let (r, rec, _) = go(jobs(), &[("bad", Act::Fail)], opts(dir.path(), 1)).await;
        assert!(rec.started.lock().unwrap().is_empty());
        assert!(r[0].reused);
        let mut o = opts(dir.path(), 1);
        o.retry_failed = true;
        let (_, rec, _) = go(jobs(), &[], o).await;
        assert_eq!(rec.started.lock().unwrap().len(), 1);
    }
}
