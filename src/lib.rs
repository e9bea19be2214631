//! cascade — rebuild a stack of Debian source packages, in dependency order,
//! for every architecture.
//!
//! # Map of the modules
//!
//! Data flows one way; each stage can be tested with plain values.
//!
//! ```text
//! recipes/*.yaml ─► recipe ──┐
//! debian/control, Sources ─► archive, control ─► plan (pure) ─► jobgraph (pure) ─► schedule (pure) ─► runner ─► events ─► report::*
//!                                                                  ├─► ci (GitLab child pipeline)        │
//!                    bump: git ► version ► changelog ► source      └─► plan.json, report cells   builder: sbuild argv ► process
//! ```
//!
//! | module      | job                                                                  | may use            |
//! |-------------|----------------------------------------------------------------------|--------------------|
//! | `config`    | the only reader of environment variables                             | —                  |
//! | `recipe`    | recipes and the stack file: schema, validation, file:line errors     | `arch`             |
//! | `arch`      | Debian architecture names (wildcards: `control::arch_matches`)       | —                  |
//! | `control`   | build relations of one source, evaluated for one arch and profiles   | `arch`             |
//! | `archive`   | Sources/Packages indices: fetch, cache, parse, binary→source maps; pool files checked against them (`pool`) | `control`, `arch`  |
//! | `rdeps`     | reverse build-dependencies across the whole archive (ratt, dose-ceve)| `archive`,`control`|
//! | `transition`| moving the stack into unstable: dropped/renamed binaries, binNMUs, rebuild candidates, left-behind sources; installability by dose-debcheck; rebuild jobs and recheck verdicts (`rebuild`); reports of CI jobs merged (`merge`) | `archive`,`rdeps`,`runner` (`Job`) |
//! | `frontier`  | whole-archive buildability (dose-builddebcheck's answer), blocker chains | `archive`,`control`|
//! | `plan`      | pure: sources × arch → DAG, cycles, order, exclusions, frontier      | `control` (`Op`)   |
//! | `jobgraph`  | pure: the one plan → jobs rule (`all` jobs on the host arch, mixed sources' host job, why not built; a test job after each build and the builds its `Testsuite-Triggers` name, `add_tests`); `RunPlan`, plan.json's form; `host_arch` | `plan`, `recipe`, `schedule` (`JobKey`) |
//! | `planner`   | recipes + control data + archive → `plan`'s inputs; loads suites     | `recipe`,`archive`,`plan`,`jobgraph` (`host_arch`)|
//! | `port`      | widen debian/control losslessly (pure); build copies, porting jobs   | `control`,`runner` |
//! | `schedule`  | pure: dependency queue, critical-path priorities; the one rule "a failure skips its dependents"; `JobKey` (source, arch, build or test stage) | `arch`   |
//! | `version`   | Debian version policy (templates, revisions, binNMUs)                | —                  |
//! | `changelog` | debian/changelog edits, byte-identical to dch                        | `version`          |
//! | `git`       | git2 behind the `Vcs` trait                                          | —                  |
//! | `source`    | orig tarballs (git2 tree walk) and `dpkg-source -b`                  | `process`, git2    |
//! | `bump`      | moves a recipe's package to its target tag                           | the four above     |
//! | `process`   | the one way to run a child process                                   | `groups`           |
//! | `groups`    | build process groups: supervisor, stop and wait, `running.json`      | `pid`              |
//! | `sbuild`    | build request → sbuild argv; the sbuild `Builder`; which chroot (plain or warm tarball, or the run's schroot chroot) | `process` |
//! | `autopkgtest`| pure: a source × arch's test request → autopkgtest argv (unshare on the arch's testbed tarball, or the stack's backend); the testbed tarball's mmdebstrap call; summary file → per-test classes; exit code → verdict; expected test failures | `process`, `recipe`, `setup` (`Action`, `apt_tarball_actions`) |
//! | `teststage` | the test stage as jobs: `TestJob`, the `Tester` trait, the input hash (its build's, its triggers' builds', the testbeds') and `result.json` reuse; `CellTester`, the real one (autopkgtest on the offered .debs but debug symbols, then lintian, as root in the run's schroot chroot of its tarball), shared by `cascade test` and `run --test` | `artifacts`, `autopkgtest`, `lintian`, `process`, `rundir`, `schedule`, `schroot` |
//! | `lintian`   | pure: lintian run inside the target suite's chroot (a cached `-lintian` tarball, through mmdebstrap, or as root an schroot session on it unpacked) → argv; the tarball's mmdebstrap call; its output → tags by severity; the stack's `fail_on` | `process`, `recipe`, `setup` (`Action`, `apt_tarball_actions`) |
//! | `schroot`   | the faster path's chroots as root: warm tarballs unpacked once, one schroot overlay chroot per run × arch, and one of the lintian tarball for the tests (names, configuration texts: pure), its sessions ended when the run ends | `sbuild`, `outfile` |
//! | `buildcache`| the faster path's host caches: shared .deb pool, ccache stats logs | `sbuild`           |
//! | `setup`     | host setup and `doctor`: packages, subuid, binfmt, plain and warm chroot tarballs, autopkgtest's testbed tarballs; the one rule for tarballs made from the mirror beside the plain one (`apt_tarball_actions`, `made_after_plain`) | `process`, `sbuild`, `autopkgtest` |
//! | `warm`      | pure: the build-dependencies common to a plan's builds, which the warm tarballs hold | `plan`, `sbuild` |
//! | `demo`      | the bundled demo stack: generates upstream and packaging repos; `demo::tensile`, the opt-in compile-heavy package; `demo::archive`, the local archive of the old release and outside consumers | `git`, `process` |
//! | `events`    | the typed events the runner emits                                    | `autopkgtest` (`TestCell`) |
//! | `runner`    | drives the schedule on tokio, calls a `Builder` and a `Tester` (test jobs after their builds, one `-j`), emits events; jobs failed before building enter the schedule as failed | `schedule`,`state`,`rundir`,`teststage` |
//! | `state`     | resumable run state, written atomically                              | `rundir`           |
//! | `rundir`    | the run directory's layout: every path in it (pure)                  | `arch`             |
//! | `lock`      | one writer per run directory: flock and a holder record; temp lock files their holder removes (git's per-clone lock) | `pid`              |
//! | `pid`       | a process's identity (pid + start time + boot id), from /proc        | —                  |
//! | `outfile`   | `--out` files: atomic over regular files, written through otherwise  | —                  |
//! | `status`    | the porting survey: versions, binaries per suite × arch, frontier    | `archive`,`control`|
//! | `buildlog`  | failure classes from sbuild's summary and the log                    | —                  |
//! | `timing`    | pure: where a build's time went (sbuild log headers → phases)      | —                  |
//! | `report`    | reporters: text, JSON, JUnit, HTML, Markdown; reads the run's plan.json | `events`, `plan`, `jobgraph` (planned cells, which failure blocked a build), `schedule`, `rundir`, `timing` |
//! | `artifacts` | what a CI build job passes on: no -tests/-bench/-dbgsym, a size budget; which .debs are debug symbols | `rundir`           |
//! | `ci`        | pure: job graph → GitLab child pipeline (build jobs, `--test`'s test jobs, needs, collectors, report job); a transition report → its rebuild pipeline (`ci::transition`) | `jobgraph`, `plan`, `recipe`, `transition` (`render`) |
//! | `pipeline`  | build/run orchestration: sources → plan → facts (`gather`) → job graph → runner jobs (pure `jobs`) → runner → run dir | most of the above  |
//! | `commands`  | one file per subcommand: glue from validated args to the library; `run` is the one orchestration entry point (`build`: one job's part of it, `port`: `run --port`) | everything |
//! | `cli`       | clap definitions only                                                | `commands`         |
//! | `error`     | the crate's top error type and its exit codes                        | every module's     |
//! | `fsio`      | the one I/O error (`IoError`: a path and what failed)                 | —                  |

pub mod arch;
pub mod archive;
pub mod artifacts;
pub mod autopkgtest;
pub mod buildcache;
pub mod buildlog;
pub mod bump;
pub mod changelog;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod demo;
pub mod error;
pub mod events;
pub mod frontier;
pub mod fsio;
pub mod git;
pub mod groups;
pub mod jobgraph;
pub mod lintian;
pub mod lock;
pub mod outfile;
pub mod pid;
pub mod pipeline;
pub mod plan;
pub mod planner;
pub mod port;
pub mod process;
pub mod rdeps;
pub mod recipe;
pub mod report;
pub mod rundir;
pub mod runner;
pub mod sbuild;
pub mod schedule;
pub mod schroot;
pub mod setup;
pub mod source;
pub mod state;
pub mod status;
pub mod teststage;
pub mod timing;
pub mod transition;
pub mod version;
pub mod warm;

pub use error::Error;
