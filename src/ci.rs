//! `ci`: a [`Plan`] → a GitLab child pipeline (YAML), one job per package ×
//! architecture, ordered by `needs:` along the per-arch build DAG.
//!
//! Pure: no I/O. `cascade ci generate` computes the plan, calls [`generate`]
//! and writes [`Pipeline::to_yaml`]; the templates in `ci/` trigger the result.
//!
//! Choices, and why:
//! - **One `build` stage** (plus `report`): with `needs:` GitLab starts a job
//!   as soon as the jobs it needs finish, so stages add nothing but waiting.
//!   Waves differ per architecture; a stage per wave would hold every arch
//!   back to the slowest one.
//! - **Needs are the transitive closure** of a job's stack build-dependencies,
//!   not just the direct ones: GitLab only hands a job the artifacts of the
//!   jobs it names, and sbuild must install `libfoo-dev` *and* the stack
//!   packages it depends on. Each job uploads only its own .debs.
//! - **Artifacts** land where the producing job wrote them (`cascade-run/`), so
//!   a build job first moves what it received to `artifacts/` (the layout
//!   `--from-artifacts` reads: `artifacts/ARCH/*.deb`, `artifacts/all/*.deb`)
//!   and then writes its own results to a clean `cascade-run/`.
//! - **Each build job bumps its own source** (`cascade bump PKG --workdir
//!   cascade-work`, then `cascade build --only PKG --workdir cascade-work`):
//!   the bump is deterministic per recipe, so every job gets the source
//!   package `cascade run` would build, without a bump job every build needs.
//! - **arch:all**: a source whose binaries are all arch:all is built once, in a
//!   job `build:PKG:all` on the host architecture's runner, and every arch's
//!   dependents need that job. A source with both kinds builds its arch:all
//!   binaries in its host-arch job only ([`Options::mixed`]): its dependents
//!   on other arches need that job as well.
//! - **GitLab's limit of 50 `needs`** is kept with collector jobs
//!   (`collect:ARCH:N`): each needs at most 50 jobs and passes their artifacts
//!   on unchanged (same paths); the consumer needs the collectors instead.
//!   Collectors for builds keep GitLab's default `when: on_success`, so a
//!   failed build still stops its dependents; collectors for the report run
//!   `when: always`, so the report sees every result, failures included.
//! - **Failed jobs stop their dependents**: GitLab's default `when: on_success`
//!   with `needs:` does that; only the report (and its collectors) run
//!   `when: always`.
//! - **Test jobs** (`--test`, [`Options::test`]): one `test:PKG:ARCH` per
//!   test node of the job graph ([`JobGraph::add_tests`]), needing the build
//!   jobs the node needs and their transitive needs (for the .debs the
//!   tests install), in the `build` stage (a report collector may need
//!   them); the report needs them too, so its matrix has the test cells.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::arch::Arch;
use crate::jobgraph::{JobGraph, Node, RunPlan};
use crate::plan::{ArchPlan, Plan};
use crate::recipe::Recipes;
use crate::report::planned;
use crate::report::port as port_report;
use crate::rundir::{DEBS, LOGS, RESULTS, TESTS};
use crate::schedule::JobKey;

/// GitLab rejects a job with more than this many `needs`.
pub const MAX_NEEDS: usize = 50;

/// The run directory every job writes (the `cascade build` default).
pub const RUN_DIR: &str = "cascade-run";
/// Where a build job puts the .debs it received, for `--from-artifacts`.
pub const ARTIFACTS_DIR: &str = "artifacts";
/// The bump step's directory in a build job (`cascade bump --workdir`,
/// `cascade build --workdir`): each build job bumps its own source first.
pub const WORK_DIR: &str = "cascade-work";
/// Where the report job writes JUnit, HTML, Markdown and JSON.
pub const REPORT_DIR: &str = "cascade-report";
/// The pseudo-architecture of jobs building arch:all-only sources.
pub const ALL: &str = "all";

/// Which jobs to emit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every buildable package × arch of the plan.
    #[default]
    All,
    /// The in-stack reverse build-dependencies of `package` (transitively,
    /// per arch), rebuilt against the .debs of `package` that the parent
    /// pipeline's job `{parent_job_prefix}{ARCH}` built. Stack packages
    /// outside the selection come from the archive.
    RdepsOf {
        package: String,
        parent_job_prefix: String,
    },
}

/// The previous run to compare against in the report (`cascade report --since`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Since {
    /// The parent pipeline's job whose artifacts hold the previous run.
    pub parent_job: String,
    /// The run directory inside those artifacts (e.g. `previous/cascade-run`);
    /// when it holds no results the report runs without `--since`.
    pub run_dir: String,
}

/// Knobs of the generated pipeline.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Container image of every job; none leaves it to the including project.
    pub image: Option<String>,
    /// Lines run before each cascade job: installing cascade, cloning recipes.
    pub before_script: Vec<String>,
    /// Artifacts expiry, e.g. `1 week`.
    pub expire_in: Option<String>,
    /// The architecture of arch:all and collector jobs; none means the
    /// stack's first native architecture, else its first architecture.
    pub host_arch: Option<String>,
    /// Sources whose binaries are all arch:all.
    pub indep_only: BTreeSet<String>,
    /// Sources that build arch:all binaries besides arch-dependent ones. Only
    /// their host-arch job builds the arch:all ones, so a dependent on another
    /// arch needs that job too.
    pub mixed: BTreeSet<String>,
    pub selection: Selection,
    pub since: Option<Since>,
    /// Value of `CASCADE_RECIPES` in the child pipeline, if not the default.
    pub recipes_dir: Option<String>,
    /// Lines the report job runs last, e.g. keeping the results for the
    /// next night's `--since`.
    pub report_after: Vec<String>,
    /// A `test:PKG:ARCH` job per test node of the job graph (`--test`).
    pub test: bool,
    /// The stack's control data, whose `Testsuite-Triggers` give test jobs
    /// the builds of other stack sources too
    /// ([`RunPlan::add_test_triggers`]); empty: none.
    pub test_sources: Vec<crate::control::SourceInfo>,
}

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the plan has no architecture")]
    NoArch,
    #[error(
        "`{package}` is not a source of the stack; cannot rebuild its reverse build-dependencies"
    )]
    UnknownPackage { package: String },
    #[error("build jobs depend on each other in a cycle through {job}")]
    Cycle { job: String },
    #[error(
        "{count} rebuilds to run ({cells}), more than {cap}; narrow them with `cascade \
         transition --include/--exclude/--max`, or raise --max-rebuilds (at most {})",
        transition::MAX_REBUILDS
    )]
    TooManyRebuilds {
        count: usize,
        cap: usize,
        cells: String,
    },
}

/// One entry of `needs:`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Need {
    pub job: String,
    /// Set for a job of the parent pipeline (`$PARENT_PIPELINE_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    pub artifacts: bool,
}

impl Need {
    fn job(name: &str) -> Need {
        Need {
            job: name.to_string(),
            pipeline: None,
            artifacts: true,
        }
    }
    fn parent(name: &str) -> Need {
        Need {
            job: name.to_string(),
            pipeline: Some("$PARENT_PIPELINE_ID".to_string()),
            artifacts: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reports {
    pub junit: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Artifacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `always`: results and logs of failed builds are what a maintainer needs.
    pub when: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_in: Option<String>,
    pub paths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports: Option<Reports>,
}

/// What a job is, for tests and for the report's list of builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `cascade build` of `source` for `arch` (`all` for arch:all-only sources).
    Build {
        source: String,
        arch: String,
    },
    /// `cascade transition --rebuild` of an outside `source` on `arch`.
    Rebuild {
        source: String,
        arch: String,
    },
    /// `cascade test` of the build of `source` for `arch`.
    Test {
        source: String,
        arch: String,
    },
    Collect,
    Report,
}

/// One GitLab job. Field order is the YAML key order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Job {
    #[serde(skip)]
    pub kind: Kind,
    pub stage: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_script: Option<Vec<String>>,
    pub script: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Artifacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
}

/// A GitLab cache: kept by the runner between pipelines under `key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cache {
    pub key: String,
    pub paths: Vec<String>,
    /// `always`: a failed build's compilations are worth keeping too.
    pub when: String,
}

/// The build jobs' ccache directory, relative to the job's directory
/// (CASCADE_CCACHE_DIR): GitLab caches it per source and arch.
pub const CCACHE_DIR: &str = ".cascade-ccache";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Defaults {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub before_script: Vec<String>,
}

/// A package × arch the pipeline does not build, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBuilt {
    pub source: String,
    pub arch: String,
    pub reason: String,
}

/// A generated child pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// Lines of the comment at the top of the YAML.
    pub header: Vec<String>,
    pub variables: BTreeMap<String, String>,
    pub default: Defaults,
    /// In emission order: builds (arch by arch, wave order), collectors, report.
    pub jobs: Vec<(String, Job)>,
    pub not_built: Vec<NotBuilt>,
}

impl Serialize for Pipeline {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("stages", &["build", "report"])?;
        if !self.variables.is_empty() {
            m.serialize_entry("variables", &self.variables)?;
        }
        if self.default.image.is_some() || !self.default.before_script.is_empty() {
            m.serialize_entry("default", &self.default)?;
        }
        for (name, job) in &self.jobs {
            m.serialize_entry(name, job)?;
        }
        m.end()
    }
}

impl Pipeline {
    /// The YAML text: a comment header, then the pipeline.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            if line.is_empty() {
                out.push_str("#\n");
            } else {
                let _ = writeln!(out, "# {line}");
            }
        }
        // Serialising plain strings, vectors and maps to YAML can't fail.
        out.push_str(&serde_yaml::to_string(self).unwrap_or_else(|e| format!("# error: {e}\n")));
        out
    }

    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|(n, _)| n == name).map(|(_, j)| j)
    }
}

/// The name of the job building `source` for `arch` (`all` for arch:all-only).
pub fn build_job_name(source: &str, arch: &str) -> String {
    format!("build:{source}:{arch}")
}

/// The name of the job testing the build `build:{source}:{arch}`.
pub fn test_job_name(source: &str, arch: &str) -> String {
    format!("test:{source}:{arch}")
}

/// What every part of [`generate`] reads: the inputs and the job graph.
struct Ctx<'a> {
    plan: &'a Plan,
    recipes: &'a Recipes,
    options: &'a Options,
    /// The pipeline's plan as the report reads it.
    run_plan: RunPlan,
    graph: JobGraph,
    /// Tags of the host arch's runner (`all` jobs, collectors, report).
    host_tags: Vec<String>,
}

/// Generates the child pipeline of `plan`.
pub fn generate(plan: &Plan, recipes: &Recipes, options: &Options) -> Result<Pipeline, Error> {
    if plan.arches.is_empty() {
        return Err(Error::NoArch);
    }
    let arches: Vec<Arch> = plan
        .arches
        .iter()
        .filter_map(|a| Arch::new(&a.arch))
        .collect();
    // `--host-arch` over the one rule.
    let host = options
        .host_arch
        .as_deref()
        .and_then(Arch::new)
        .unwrap_or_else(|| crate::jobgraph::run_host(&recipes.stack, &arches));
    let mut run_plan = RunPlan::from_plan(plan, &host, &options.indep_only, &options.mixed);
    run_plan.add_test_triggers(&options.test_sources);
    let selected: BTreeMap<&str, BTreeSet<String>> = plan
        .arches
        .iter()
        .map(|a| Ok((a.arch.as_str(), select(a, &options.selection)?)))
        .collect::<Result<_, Error>>()?;
    let graph = JobGraph::select(&run_plan, &host, |s, a| {
        selected.get(a.as_str()).is_some_and(|sel| sel.contains(s))
    })
    .map_err(|crate::jobgraph::Error::Cycle(k)| Error::Cycle { job: job_name(&k) })?;
    let all_from = graph.all_from.to_string();
    let ctx = Ctx {
        plan,
        recipes,
        options,
        run_plan,
        host_tags: tags_for(recipes, &all_from, &all_from),
        graph,
    };
    let mut collectors = Collectors::default();
    let mut jobs: Vec<(String, Job)> = Vec::new();
    for n in &ctx.graph.nodes {
        jobs.push((job_name(&n.key), build_job(&ctx, n, &mut collectors)));
    }
    if options.test {
        jobs.extend(test_jobs(&ctx, &mut collectors));
    }
    let not_built: Vec<NotBuilt> = ctx
        .graph
        .not_built
        .iter()
        .map(|n| NotBuilt {
            source: n.key.source.clone(),
            arch: n.key.arch.to_string(),
            reason: n.why.pipeline_text(job_name),
        })
        .collect();
    let tests = (jobs.iter())
        .filter(|(_, j)| matches!(j.kind, Kind::Test { .. }))
        .count();
    let report = report_job(&ctx, &jobs, &not_built, &mut collectors);
    jobs.extend(collectors.jobs);
    jobs.push(("report".into(), report));
    let mut variables = BTreeMap::new();
    if let Some(dir) = &options.recipes_dir {
        variables.insert("CASCADE_RECIPES".to_string(), dir.clone());
    }
    Ok(Pipeline {
        header: header(&ctx, &not_built, tests),
        variables,
        default: Defaults {
            image: options.image.clone(),
            before_script: options.before_script.clone(),
        },
        jobs,
        not_built,
    })
}

/// The name of a graph job's GitLab job.
fn job_name(key: &JobKey) -> String {
    build_job_name(&key.source, key.arch.as_str())
}

/// The parent pipeline's job an `--rdeps-of` job on `arch` needs.
fn parent_for(ctx: &Ctx, arch: &str) -> Option<String> {
    match &ctx.options.selection {
        Selection::All => None,
        Selection::RdepsOf {
            package,
            parent_job_prefix,
        } => {
            let built_on = if ctx.options.indep_only.contains(package) {
                ctx.graph.all_from.as_str()
            } else {
                arch
            };
            Some(format!("{parent_job_prefix}{built_on}"))
        }
    }
}

/// A recipe's timeout for `source` on `arch`: its porting timeout in a
/// porting run, else its own, else the stack's.
fn timeout_of(recipes: &Recipes, source: &str, arch: &str, port: bool) -> Option<u64> {
    let recipe = recipes.get(source);
    let port_timeout = recipe
        .filter(|_| port)
        .and_then(|r| r.port.iter().find(|(a, _)| a.as_str() == arch))
        .and_then(|(_, p)| p.timeout_minutes);
    port_timeout
        .or_else(|| recipe.and_then(|r| r.timeout_minutes))
        .or(recipes.stack.timeout_minutes)
}

/// The GitLab job of graph node `node`: it needs the transitive closure of
/// its needs (GitLab hands a job only the artifacts of the jobs it names).
fn build_job(ctx: &Ctx, node: &Node, collectors: &mut Collectors) -> Job {
    let (source, arch) = (&node.key.source, node.key.arch.as_str());
    let plan_arch = node.plan_arch.as_str();
    let port = ctx
        .plan
        .arches
        .iter()
        .any(|a| a.arch == plan_arch && a.port);
    let needs = closure_needs(ctx, &ctx.graph, node, collectors);
    let script = vec![
        format!("mkdir -p {ARTIFACTS_DIR}"),
        // The needed jobs' results come along: one that failed (as its
        // recipe expects, so the pipeline went on) skips this build.
        format!(
            "if [ -d {RUN_DIR}/{DEBS} ]; then cp -a {RUN_DIR}/{DEBS}/. {ARTIFACTS_DIR}/; fi; if [ -d {RUN_DIR}/{RESULTS} ]; then cp -a {RUN_DIR}/{RESULTS} {ARTIFACTS_DIR}/; fi; rm -rf {RUN_DIR}"
        ),
        // The job bumps its own source (a clone and `dpkg-source -b`: seconds)
        // rather than taking it from a bump job all builds would need: no
        // extra edge per job, and a job can be retried on its own.
        format!("cascade bump {source} --workdir {WORK_DIR}"),
        format!(
            "cascade build --only {source} --arch {plan_arch} --from-artifacts {ARTIFACTS_DIR}/ --workdir {WORK_DIR}{}",
            if port { " --port" } else { "" }
        ),
        // Only what dependents and the report need goes up, within Salsa's
        // artifact cap (CASCADE_ARTIFACT_BUDGET).
        "cascade ci artifacts".to_string(),
    ];
    let timeout = timeout_of(ctx.recipes, source, plan_arch, port);
    Job {
        kind: Kind::Build {
            source: source.clone(),
            arch: arch.to_string(),
        },
        stage: "build".into(),
        tags: tags_for(ctx.recipes, plan_arch, ctx.graph.all_from.as_str()),
        needs,
        when: None,
        timeout: timeout.map(|m| format!("{m} minutes")),
        variables: BTreeMap::from([("CASCADE_CCACHE_DIR".to_string(), CCACHE_DIR.to_string())]),
        before_script: None,
        script,
        cache: Some(Cache {
            key: format!("ccache-{source}-{arch}"),
            paths: vec![format!("{CCACHE_DIR}/")],
            when: "always".into(),
        }),
        artifacts: Some(Artifacts {
            name: Some(format!("{source}_{arch}")),
            when: "always".into(),
            expire_in: ctx.options.expire_in.clone(),
            paths: run_dir_paths(),
            reports: None,
        }),
    }
}

/// The needs of `node`'s job: every job it needs in `graph`, directly or
/// not, in graph order (through on_success collectors past GitLab's limit),
/// then the parent pipeline's job of its arch, if any.
fn closure_needs(
    ctx: &Ctx,
    graph: &JobGraph,
    node: &Node,
    collectors: &mut Collectors,
) -> Vec<Need> {
    let mut deps = graph.upstream(&node.key);
    deps.sort_by_key(|d| graph.position(d));
    let needs: Vec<Need> = deps.iter().map(|d| Need::job(&job_name(d))).collect();
    let parent: Vec<Need> = parent_for(ctx, node.plan_arch.as_str())
        .iter()
        .map(|p| Need::parent(p))
        .collect();
    let (tags, arch) = (&ctx.host_tags, node.key.arch.as_str());
    let mut needs = collectors.reduce(needs, parent.len(), arch, false, tags, ctx.options);
    needs.extend(parent);
    needs
}

/// What build and collector jobs pass on: the run directory's .debs,
/// results and logs.
fn run_dir_paths() -> Vec<String> {
    vec![
        format!("{RUN_DIR}/{DEBS}/"),
        format!("{RUN_DIR}/{RESULTS}/"),
        format!("{RUN_DIR}/{LOGS}/"),
    ]
}

/// What a collector passes on: the run directory's, and the test cells
/// when it feeds the report of a pipeline with test jobs.
fn collector_paths(always: bool, options: &Options) -> Vec<String> {
    let mut paths = run_dir_paths();
    if always && options.test {
        paths.push(format!("{RUN_DIR}/{TESTS}/"));
    }
    paths
}

/// The test jobs: one per test node of the job graph with its tests
/// ([`JobGraph::add_tests`]), after the builds.
fn test_jobs(ctx: &Ctx, collectors: &mut Collectors) -> Vec<(String, Job)> {
    let mut graph = ctx.graph.clone();
    graph.add_tests();
    (graph.nodes.iter())
        .filter(|n| n.key.is_test())
        .map(|n| {
            let name = test_job_name(&n.key.source, n.key.arch.as_str());
            (name, test_job(ctx, &graph, n, collectors))
        })
        .collect()
}

/// The GitLab job of test node `node`: `cascade test` of its build on the
/// testbed's arch (the host's for an `all` build). It needs the build jobs
/// the node needs and, as a build job does, everything those need: GitLab
/// hands it only the artifacts of the jobs it names, and the tests install
/// the stack's .debs their packages depend on. Its own artifacts are the
/// test cells, `cascade-run/tests/`.
fn test_job(ctx: &Ctx, graph: &JobGraph, node: &Node, collectors: &mut Collectors) -> Job {
    let (source, arch) = (&node.key.source, node.key.arch.as_str());
    let test_arch = node.build_arch.as_str();
    let needs = closure_needs(ctx, graph, node, collectors);
    let build_tags = tags_for(
        ctx.recipes,
        node.plan_arch.as_str(),
        ctx.graph.all_from.as_str(),
    );
    Job {
        kind: Kind::Test {
            source: source.clone(),
            arch: arch.to_string(),
        },
        // The `build` stage, as the collectors that may pass its artifacts
        // on to the report: a job may only need jobs of its stage or before.
        stage: "build".into(),
        tags: test_tags(ctx.recipes, source, test_arch).unwrap_or(build_tags),
        needs,
        when: None,
        timeout: None,
        variables: BTreeMap::new(),
        before_script: None,
        script: vec![
            // The .dsc (debian/tests) is not among the build's artifacts:
            // the bump is deterministic, as in the build job.
            format!("cascade bump {source} --workdir {WORK_DIR}"),
            // --if-built: a build that failed as its recipe expects (its job
            // succeeded) leaves nothing to test, which is no error.
            format!(
                "cascade test {RUN_DIR} --arch {test_arch} --source {source} --workdir {WORK_DIR} --if-built --format json"
            ),
        ],
        artifacts: Some(Artifacts {
            name: Some(format!("test_{source}_{arch}")),
            when: "always".into(),
            expire_in: ctx.options.expire_in.clone(),
            paths: vec![format!("{RUN_DIR}/{TESTS}/")],
            reports: None,
        }),
        cache: None,
    }
}

/// Runner tags of the test jobs of `source` on `test_arch`: the recipe's
/// `tests.runner_tags`, else the stack's; none: the build's.
fn test_tags(recipes: &Recipes, source: &str, test_arch: &str) -> Option<Vec<String>> {
    let of = |tags: &BTreeMap<Arch, Vec<String>>| {
        (tags.iter())
            .find(|(a, _)| a.as_str() == test_arch)
            .map(|(_, t)| t.clone())
    };
    let recipe = recipes.get(source).and_then(|r| of(&r.tests.runner_tags));
    recipe.or_else(|| of(&recipes.stack.tests.runner_tags))
}

/// The report job's needs: every build job, through `when: always`
/// collectors (one set per arch) when there are too many, then the parent
/// pipeline's jobs it reads.
fn report_needs(ctx: &Ctx, jobs: &[(String, Job)], collectors: &mut Collectors) -> Vec<Need> {
    // With --rdeps-of the parent pipeline built the package itself: its
    // results join the report, which then covers the package and its rdeps.
    let parents: BTreeSet<String> = ctx
        .plan
        .arches
        .iter()
        .filter_map(|a| parent_for(ctx, &a.arch))
        .collect();
    let mut extra: Vec<Need> = parents.iter().map(|p| Need::parent(p)).collect();
    extra.extend(
        ctx.options
            .since
            .iter()
            .map(|s| Need::parent(&s.parent_job)),
    );
    let all_builds: Vec<Need> = jobs.iter().map(|(n, _)| Need::job(n)).collect();
    let mut needs = if all_builds.len() + extra.len() <= MAX_NEEDS {
        all_builds
    } else {
        let mut by_arch: BTreeMap<String, Vec<Need>> = BTreeMap::new();
        for (name, job) in jobs {
            if let Kind::Build { arch, .. } | Kind::Test { arch, .. } = &job.kind {
                by_arch
                    .entry(arch.clone())
                    .or_default()
                    .push(Need::job(name));
            }
        }
        let (tags, options) = (&ctx.host_tags, ctx.options);
        let mut needs = Vec::new();
        for (arch, group) in by_arch {
            needs.extend(collectors.chunk(group, &arch, true, tags, options));
        }
        collectors.reduce(needs, extra.len(), ALL, true, tags, options)
    };
    needs.extend(extra);
    needs
}

/// The report job: writes the pipeline's plan, then every report format.
fn report_job(
    ctx: &Ctx,
    jobs: &[(String, Job)],
    not_built: &[NotBuilt],
    collectors: &mut Collectors,
) -> Job {
    let needs = report_needs(ctx, jobs, collectors);
    let port_arches: Vec<&str> = ctx
        .plan
        .arches
        .iter()
        .filter(|a| a.port)
        .map(|a| a.arch.as_str())
        .collect();
    let mut paths = vec![format!("{REPORT_DIR}/"), format!("{RUN_DIR}/{RESULTS}/")];
    if !port_arches.is_empty() {
        for f in [
            port_report::PORT_JSON,
            port_report::PORT_MD,
            port_report::PORT_TXT,
        ] {
            paths.push(format!("{RUN_DIR}/{f}"));
        }
    }
    let built: Vec<String> = ctx
        .graph
        .nodes
        .iter()
        .map(|n| format!("{}:{}", n.key.source, n.key.arch))
        .collect();
    let not_built: Vec<String> = not_built
        .iter()
        .map(|n| format!("{}:{} {}", n.source, n.arch, n.reason))
        .collect();
    let variables = BTreeMap::from([
        ("CASCADE_BUILDS".to_string(), built.join(" ")),
        ("CASCADE_NOT_BUILT".to_string(), not_built.join("\n")),
    ]);
    Job {
        kind: Kind::Report,
        stage: "report".into(),
        tags: ctx.host_tags.clone(),
        needs,
        when: Some("always".into()),
        timeout: None,
        variables,
        before_script: None,
        script: report_script(ctx, &port_arches),
        artifacts: Some(Artifacts {
            name: Some("cascade-report".into()),
            when: "always".into(),
            expire_in: ctx.options.expire_in.clone(),
            paths,
            reports: Some(Reports {
                junit: vec![format!("{REPORT_DIR}/junit.xml")],
            }),
        }),
        cache: None,
    }
}

/// The report job's script.
fn report_script(ctx: &Ctx, port_arches: &[&str]) -> Vec<String> {
    let mut script = Vec::new();
    let since_arg = match &ctx.options.since {
        Some(s) => {
            script.push(format!(
                "SINCE=\"\"; if ls {}/{RESULTS}/*.json >/dev/null 2>&1; then SINCE=\"--since {}\"; fi",
                s.run_dir, s.run_dir
            ));
            " $SINCE"
        }
        None => "",
    };
    // A porting run is judged by the porting verdict: a widened package that
    // never built does not fail the night; one that built before does.
    let port_arg = if port_arches.is_empty() {
        String::new()
    } else {
        format!(" --port {}", port_arches.join(","))
    };
    script.push(format!("mkdir -p {RUN_DIR}/{RESULTS} {REPORT_DIR}"));
    // The pipeline's plan, for the report: GitLab never starts the
    // dependents of a failed job, and the plan says what they were.
    let run_plan = ctx.graph.restrict(&ctx.run_plan, job_name);
    script.push(format!(
        "cat > {RUN_DIR}/{} <<'CASCADE_RUN_PLAN'\n{}CASCADE_RUN_PLAN",
        planned::RUN_PLAN,
        run_plan.to_json()
    ));
    // `cascade report` exits 1 when a build failed unexpectedly: every format
    // is still written, and the job fails at the end with that status.
    script.push("status=0".into());
    for (format, file) in [
        ("junit", crate::rundir::JUNIT_XML),
        ("html", "index.html"),
        ("markdown", "report.md"),
        ("json", crate::rundir::REPORT_JSON),
    ] {
        script.push(format!(
            "cascade report {RUN_DIR}{since_arg}{port_arg} --format {format} --out {REPORT_DIR}/{file} || status=$?"
        ));
    }
    script.push(format!("cat {REPORT_DIR}/report.md || true"));
    if !port_arches.is_empty() {
        // `cascade report --port` writes the porting report into the run
        // directory: publish it, and show it in the job log.
        script.push(format!("cat {RUN_DIR}/{} || true", port_report::PORT_MD));
    }
    script.extend(ctx.options.report_after.iter().cloned());
    script.push("exit $status".into());
    script
}

/// The comment at the top of the YAML.
fn header(ctx: &Ctx, not_built: &[NotBuilt], tests: usize) -> Vec<String> {
    let plan = ctx.plan;
    let arches: Vec<&str> = plan.arches.iter().map(|a| a.arch.as_str()).collect();
    let port = if plan.arches.iter().any(|a| a.port) {
        "; porting run"
    } else {
        ""
    };
    let mut header = vec![
        format!(
            "Generated by `cascade ci generate` for the stack {} ({}{port}). Do not edit.",
            ctx.recipes.stack.name,
            arches.join(", "),
        ),
        format!("{} build jobs.", ctx.graph.nodes.len()),
    ];
    if ctx.options.test {
        header.push(format!(
            "{tests} test jobs (autopkgtest, lintian), each after its build."
        ));
    }
    if let Selection::RdepsOf { package, .. } = &ctx.options.selection {
        header.push(format!(
            "Reverse build-dependencies of {package} in the stack, rebuilt against its new .debs."
        ));
    }
    if !not_built.is_empty() {
        header.push(String::new());
        header.push("Not built:".into());
        for n in not_built {
            header.push(format!("  {}:{} {}", n.source, n.arch, n.reason));
        }
    }
    header.push(String::new());
    header
}

/// The buildable sources of one arch that get a job under `selection`.
fn select(a: &ArchPlan, selection: &Selection) -> Result<BTreeSet<String>, Error> {
    let buildable: BTreeSet<String> = a.order.iter().cloned().collect();
    match selection {
        Selection::All => Ok(buildable),
        Selection::RdepsOf { package, .. } => {
            if a.source(package).is_none() {
                return Err(Error::UnknownPackage {
                    package: package.clone(),
                });
            }
            // Wave order puts dependencies first: one pass finds every
            // source reaching `package`.
            let mut reach: BTreeSet<String> = BTreeSet::new();
            for name in &a.order {
                let Some(s) = a.source(name) else { continue };
                if s.depends_on
                    .iter()
                    .any(|d| d == package || reach.contains(d))
                {
                    reach.insert(name.clone());
                }
            }
            reach.remove(package);
            Ok(reach)
        }
    }
}

/// Runner tags of a build for `arch`: the stack's tags for it (a native
/// runner), else the host's (emulated or cross build there), else none.
fn tags_for(recipes: &Recipes, arch: &str, host: &str) -> Vec<String> {
    let tags = &recipes.stack.runner_tags;
    let of = |a: &str| tags.iter().find(|(k, _)| k.as_str() == a).map(|(_, t)| t);
    of(arch).or_else(|| of(host)).cloned().unwrap_or_default()
}

/// Collector jobs made so far, shared between consumers with the same needs.
#[derive(Default)]
struct Collectors {
    jobs: Vec<(String, Job)>,
    by_content: BTreeMap<(bool, Vec<Need>), String>,
    count: BTreeMap<String, usize>,
}

impl Collectors {
    /// Needs of at most `MAX_NEEDS - reserve` entries standing for `needs`.
    fn reduce(
        &mut self,
        mut needs: Vec<Need>,
        reserve: usize,
        arch: &str,
        always: bool,
        tags: &[String],
        options: &Options,
    ) -> Vec<Need> {
        while needs.len() + reserve > MAX_NEEDS {
            needs = self.chunk(needs, arch, always, tags, options);
        }
        needs
    }

    /// One collector per `MAX_NEEDS` entries of `needs`; a group that fits in
    /// one collector is returned unchanged when it has a single job.
    fn chunk(
        &mut self,
        needs: Vec<Need>,
        arch: &str,
        always: bool,
        tags: &[String],
        options: &Options,
    ) -> Vec<Need> {
        needs
            .chunks(MAX_NEEDS)
            .map(|group| {
                if group.len() == 1 {
                    return group[0].clone();
                }
                let key = (always, group.to_vec());
                if let Some(name) = self.by_content.get(&key) {
                    return Need::job(name);
                }
                let n = self.count.entry(arch.to_string()).or_insert(0);
                *n += 1;
                let name = format!("collect:{arch}:{n}");
                self.by_content.insert(key, name.clone());
                self.jobs.push((
                    name.clone(),
                    Job {
                        kind: Kind::Collect,
                        stage: "build".into(),
                        tags: tags.to_vec(),
                        needs: group.to_vec(),
                        when: always.then(|| "always".to_string()),
                        timeout: None,
                        variables: [("GIT_STRATEGY".to_string(), "none".to_string())].into(),
                        // Passing artifacts on needs no cascade installed.
                        before_script: Some(Vec::new()),
                        script: vec![format!(
                            "echo \"passing on the artifacts of {} jobs\"",
                            group.len()
                        )],
                        artifacts: Some(Artifacts {
                            name: None,
                            when: "always".into(),
                            expire_in: options.expire_in.clone(),
                            paths: collector_paths(always, options),
                            reports: None,
                        }),
                        cache: None,
                    },
                ));
                Need::job(&name)
            })
            .collect()
    }
}

pub mod transition;

#[cfg(test)]
mod tests;
