use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::*;
use crate::plan::{Alternative, Options as PlanOptions, SourceInput, plan_arch};
use crate::recipe::{Recipe, Stack};

/// A source `name` building binary `name-dev`, build-depending on `deps`' `-dev`s.
fn src(name: &str, deps: &[&str]) -> SourceInput {
    SourceInput {
        name: name.into(),
        version: "1.0-1".into(),
        binaries: vec![format!("{name}-dev")],
        build_deps: deps
            .iter()
            .map(|d| vec![Alternative::new(&format!("{d}-dev"))])
            .collect(),
        ..SourceInput::default()
    }
}

fn excluded(mut s: SourceInput) -> SourceInput {
    s.arch_exclusion = Some("Architecture: amd64 arm64".into());
    s
}

fn plan_of(arches: &[(&str, Vec<SourceInput>)]) -> Plan {
    Plan {
        arches: arches
            .iter()
            .map(|(arch, sources)| {
                plan_arch(
                    arch,
                    sources,
                    &BTreeSet::<String>::new(),
                    PlanOptions::default(),
                )
            })
            .collect(),
    }
}

fn recipes(stack_yaml: &str, recipes_yaml: &[&str]) -> Recipes {
    Recipes {
        dir: PathBuf::from("recipes"),
        stack: serde_yaml::from_str::<Stack>(stack_yaml).unwrap(),
        recipes: recipes_yaml
            .iter()
            .map(|r| serde_yaml::from_str::<Recipe>(r).unwrap())
            .collect(),
    }
}

const STACK: &str = "
name: demo
suite: experimental
base_suite: unstable
mirror: http://deb.debian.org/debian
architectures: [amd64, riscv64]
modes: {amd64: native, riscv64: qemu}
runner_tags: {amd64: [amd64, sbuild]}
timeout_minutes: 60
";

fn recipe(source: &str, extra: &str) -> String {
    format!(
        "source: {source}
packaging: {{repo: https://salsa.debian.org/rocm-team/{source}.git, branch: debian/experimental}}
upstream: {{repo: https://github.com/ROCm/{source}, tag: rocm-7.2.4}}
version: '{{upstream}}-1~exp1'
{extra}"
    )
}

/// hip ← blas ← solver; docs is arch:all-only and needed by solver;
/// gpu-only is left out of riscv64 by its Architecture field.
fn demo() -> (Plan, Recipes, Options) {
    let sources = |riscv: bool| {
        let gpu = src("gpu-only", &["hip"]);
        vec![
            src("hip", &[]),
            src("blas", &["hip"]),
            src("docs", &[]),
            src("solver", &["blas", "docs"]),
            if riscv { excluded(gpu) } else { gpu },
        ]
    };
    let plan = plan_of(&[("amd64", sources(false)), ("riscv64", sources(true))]);
    let blas = recipe("blas", "timeout_minutes: 180\n");
    let hip = recipe("hip", "");
    let r = recipes(STACK, &[&blas, &hip]);
    let options = Options {
        image: Some("debian:sid".into()),
        before_script: vec!["apt-get install -y cascade".into()],
        expire_in: Some("1 week".into()),
        indep_only: ["docs".to_string()].into(),
        ..Options::default()
    };
    (plan, r, options)
}

fn needs(p: &Pipeline, job: &str) -> Vec<String> {
    p.job(job)
        .unwrap_or_else(|| panic!("no job {job}"))
        .needs
        .iter()
        .map(|n| n.job.clone())
        .collect()
}

fn names(p: &Pipeline) -> Vec<&str> {
    p.jobs.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn one_job_per_buildable_package_and_arch_with_transitive_needs() {
    let (plan, r, o) = demo();
    let p = generate(&plan, &r, &o).unwrap();
    assert_eq!(
        names(&p),
        [
            "build:docs:all",
            "build:hip:amd64",
            "build:blas:amd64",
            "build:gpu-only:amd64",
            "build:solver:amd64",
            "build:hip:riscv64",
            "build:blas:riscv64",
            "build:solver:riscv64",
            "report",
        ]
    );
    // solver needs blas and, for its dependencies, hip; docs from the arch:all job.
    assert_eq!(
        needs(&p, "build:solver:riscv64"),
        ["build:docs:all", "build:hip:riscv64", "build:blas:riscv64"]
    );
    assert_eq!(needs(&p, "build:solver:amd64")[0], "build:docs:all");
    assert!(needs(&p, "build:hip:amd64").is_empty());
    let solver = p.job("build:solver:riscv64").unwrap();
    assert!(solver.needs.iter().all(|n| n.artifacts));
    assert_eq!(solver.when, None, "dependents of a failed job must not run");
    assert_eq!(solver.script.last().unwrap(), "cascade ci artifacts");
    assert_eq!(
        solver.script[solver.script.len() - 2],
        "cascade build --only solver --arch riscv64 --from-artifacts artifacts/ --workdir cascade-work"
    );
}

#[test]
fn arch_all_only_sources_build_once_on_the_host() {
    let (plan, r, o) = demo();
    let p = generate(&plan, &r, &o).unwrap();
    let docs = p.job("build:docs:all").unwrap();
    assert_eq!(docs.tags, ["amd64", "sbuild"]);
    assert!(docs.script[docs.script.len() - 2].contains("--only docs --arch amd64"));
    assert!(p.job("build:docs:riscv64").is_none());
    assert!(p.job("build:docs:amd64").is_none());
}

#[test]
fn tags_timeouts_and_what_is_not_built() {
    let (plan, r, o) = demo();
    let p = generate(&plan, &r, &o).unwrap();
    // No riscv64 runner named: the host's runner builds it under qemu.
    assert_eq!(
        p.job("build:blas:riscv64").unwrap().tags,
        ["amd64", "sbuild"]
    );
    assert_eq!(
        p.job("build:blas:amd64").unwrap().timeout.as_deref(),
        Some("180 minutes")
    );
    assert_eq!(
        p.job("build:hip:amd64").unwrap().timeout.as_deref(),
        Some("60 minutes"),
        "the stack's timeout when the recipe sets none"
    );
    assert_eq!(
        p.not_built,
        [NotBuilt {
            source: "gpu-only".into(),
            arch: "riscv64".into(),
            reason: "excluded: Architecture: amd64 arm64".into(),
        }]
    );
    let yaml = p.to_yaml();
    assert!(yaml.contains("#   gpu-only:riscv64 excluded: Architecture: amd64 arm64\n"));
    let report = p.job("report").unwrap();
    assert!(report.variables["CASCADE_NOT_BUILT"].contains("gpu-only:riscv64"));
}

#[test]
fn report_runs_always_and_needs_every_build() {
    let (plan, r, o) = demo();
    let p = generate(&plan, &r, &o).unwrap();
    let report = p.job("report").unwrap();
    assert_eq!(report.when.as_deref(), Some("always"));
    assert_eq!(report.needs.len(), 8);
    let a = report.artifacts.as_ref().unwrap();
    assert_eq!(
        a.reports.as_ref().unwrap().junit,
        ["cascade-report/junit.xml"]
    );
    assert!(
        report.script.iter().any(
            |l| l
                == "cascade report cascade-run --format html --out cascade-report/index.html || status=$?"
        )
    );
}

#[test]
fn yaml_is_deterministic_and_reviewed() {
    let (plan, r, o) = demo();
    let a = generate(&plan, &r, &o).unwrap().to_yaml();
    let b = generate(&plan, &r, &o).unwrap().to_yaml();
    assert_eq!(a, b);
    insta::assert_snapshot!(a);
}

#[test]
fn failures_propagate_when_an_arch_all_source_is_not_built_on_the_host() {
    // docs is blocked on amd64 (the host), buildable on riscv64: solver has
    // nowhere to get it from.
    let amd64 = vec![
        src("hip", &[]),
        src("docs", &["missing"]),
        src("solver", &["hip", "docs"]),
    ];
    let riscv = vec![
        src("hip", &[]),
        src("docs", &[]),
        src("solver", &["hip", "docs"]),
    ];
    let plan = plan_of(&[("amd64", amd64), ("riscv64", riscv)]);
    let r = recipes(STACK, &[]);
    let o = Options {
        indep_only: ["docs".to_string()].into(),
        ..Options::default()
    };
    let p = generate(&plan, &r, &o).unwrap();
    assert_eq!(
        names(&p),
        ["build:hip:amd64", "build:hip:riscv64", "report"]
    );
    let not: Vec<String> = p
        .not_built
        .iter()
        .map(|n| format!("{}:{} {}", n.source, n.arch, n.reason))
        .collect();
    assert!(not.contains(&"docs:all blocked: missing from the archive: missing-dev".to_string()));
    assert!(
        not.contains(
            &"solver:riscv64 blocked: needs build:docs:all, which this pipeline does not build"
                .to_string()
        )
    );
}

#[test]
fn rdeps_of_a_package_need_the_parent_pipelines_build() {
    let (plan, r, mut o) = demo();
    o.selection = Selection::RdepsOf {
        package: "hip".into(),
        parent_job_prefix: "build:".into(),
    };
    let p = generate(&plan, &r, &o).unwrap();
    assert_eq!(
        names(&p),
        [
            "build:blas:amd64",
            "build:gpu-only:amd64",
            "build:solver:amd64",
            "build:blas:riscv64",
            "build:solver:riscv64",
            "report",
        ]
    );
    let solver = &p.job("build:solver:riscv64").unwrap().needs;
    assert_eq!(
        solver,
        &[
            Need::job("build:blas:riscv64"),
            Need {
                job: "build:riscv64".into(),
                pipeline: Some("$PARENT_PIPELINE_ID".into()),
                artifacts: true,
            }
        ],
        "docs is not a reverse dependency of hip: it comes from the archive"
    );
    let report: Vec<&Need> = p.job("report").unwrap().needs.iter().collect();
    assert_eq!(
        report[report.len() - 2..],
        [&Need::parent("build:amd64"), &Need::parent("build:riscv64")],
        "the report covers the package's own builds too"
    );
    o.selection = Selection::RdepsOf {
        package: "nope".into(),
        parent_job_prefix: "build:".into(),
    };
    assert!(matches!(
        generate(&plan, &r, &o),
        Err(Error::UnknownPackage { .. })
    ));
}

#[test]
fn since_adds_the_previous_run_to_the_report() {
    let (plan, r, mut o) = demo();
    o.since = Some(Since {
        parent_job: "previous".into(),
        run_dir: "previous/cascade-run".into(),
    });
    o.report_after = vec!["keep results".into()];
    let p = generate(&plan, &r, &o).unwrap();
    let report = p.job("report").unwrap();
    assert_eq!(report.needs.last().unwrap(), &Need::parent("previous"));
    let n = report.script.len();
    assert_eq!(report.script[n - 2..], ["keep results", "exit $status"]);
    assert!(report.script.iter().any(|l| l.contains(
        "cascade report cascade-run $SINCE --format junit --out cascade-report/junit.xml"
    )));
}

/// [`demo`] with test jobs: the stack's GPU runners test amd64, blas's
/// own tag its riscv64 tests.
fn demo_tested() -> (Plan, Recipes, Options) {
    let (plan, _, mut o) = demo();
    let stack = format!("{STACK}tests: {{runner_tags: {{amd64: [gpu, rocm]}}}}\n");
    let blas = recipe(
        "blas",
        "timeout_minutes: 180\ntests: {runner_tags: {riscv64: [riscv-board]}}\n",
    );
    let r = recipes(&stack, &[&blas, &recipe("hip", "")]);
    o.test = true;
    (plan, r, o)
}

#[test]
fn a_test_job_also_needs_the_builds_its_testsuite_triggers_name() {
    let (plan, r, mut o) = demo_tested();
    // hip's tests install gpu-only's binary, which hip does not build-depend on.
    let control = "Source: hip\n\nPackage: libhip1\nArchitecture: any\n";
    let mut hip = crate::control::SourceInfo::from_control_str(control, "c").unwrap();
    let gpu = "Source: gpu-only\n\nPackage: gpu-tool\nArchitecture: amd64\n";
    let gpu = crate::control::SourceInfo::from_control_str(gpu, "c").unwrap();
    hip.testsuite_triggers = vec!["gpu-tool".into()];
    o.test_sources = vec![hip, gpu];
    let p = generate(&plan, &r, &o).unwrap();
    assert_eq!(
        needs(&p, "test:hip:amd64"),
        ["build:hip:amd64", "build:gpu-only:amd64"]
    );
    // gpu-only is no job on riscv64: hip's test there needs its build alone.
    assert_eq!(needs(&p, "test:hip:riscv64"), ["build:hip:riscv64"]);
}

#[test]
fn a_test_job_follows_each_build_with_its_debs_and_test_runner() {
    let (plan, r, o) = demo_tested();
    let p = generate(&plan, &r, &o).unwrap();
    let tests: Vec<&str> = (names(&p).into_iter())
        .filter(|n| n.starts_with("test:"))
        .collect();
    assert_eq!(
        tests,
        [
            "test:docs:all",
            "test:hip:amd64",
            "test:blas:amd64",
            "test:gpu-only:amd64",
            "test:solver:amd64",
            "test:hip:riscv64",
            "test:blas:riscv64",
            "test:solver:riscv64",
        ]
    );
    // Its build and, for the .debs its tests install, what the build needs.
    assert_eq!(
        needs(&p, "test:solver:riscv64"),
        [
            "build:docs:all",
            "build:hip:riscv64",
            "build:blas:riscv64",
            "build:solver:riscv64"
        ]
    );
    assert_eq!(needs(&p, "test:hip:amd64"), ["build:hip:amd64"]);
    let solver = p.job("test:solver:riscv64").unwrap();
    assert!(
        solver.needs.iter().all(|n| n.artifacts),
        "{:?}",
        solver.needs
    );
    assert_eq!(solver.when, None, "a failed build stops its test");
    assert_eq!(
        solver.script,
        [
            "cascade bump solver --workdir cascade-work",
            "cascade test cascade-run --arch riscv64 --source solver --workdir cascade-work --if-built --format json",
        ]
    );
    let a = solver.artifacts.as_ref().unwrap();
    assert_eq!(
        (a.when.as_str(), &a.paths[..]),
        ("always", &["cascade-run/tests/".to_string()][..])
    );
    // An arch:all build is tested on the host.
    let docs = p.job("test:docs:all").unwrap();
    assert!(
        docs.script[1].contains("--arch amd64 --source docs "),
        "{:?}",
        docs.script
    );
    // Tags: the recipe's tests.runner_tags, else the stack's, else the build's.
    let tags = |job: &str| p.job(job).unwrap().tags.clone();
    assert_eq!(tags("test:hip:amd64"), ["gpu", "rocm"]);
    assert_eq!(tags("test:docs:all"), ["gpu", "rocm"]);
    assert_eq!(tags("test:blas:riscv64"), ["riscv-board"]);
    assert_eq!(tags("test:hip:riscv64"), tags("build:hip:riscv64"));
    assert_eq!(
        tags("build:hip:amd64"),
        ["amd64", "sbuild"],
        "builds keep theirs"
    );
    // The report needs every build and test job: its matrix has the cells.
    let report = needs(&p, "report");
    assert_eq!(report.len(), 16, "{report:?}");
    assert!(tests.iter().all(|t| report.contains(&t.to_string())));
    assert!(
        p.to_yaml()
            .contains("# 8 test jobs (autopkgtest, lintian), each after its build.\n")
    );
}

#[test]
fn without_test_there_is_no_test_job_and_the_pipeline_is_unchanged() {
    let (plan, r, mut o) = demo_tested();
    o.test = false;
    let p = generate(&plan, &r, &o).unwrap();
    assert!(!p.to_yaml().contains("test:"), "{}", p.to_yaml());
    let (plan, r, o) = demo();
    let plain = generate(&plan, &r, &o).unwrap().to_yaml();
    assert_eq!(
        p.to_yaml(),
        plain,
        "tests.runner_tags change nothing without --test"
    );
}

#[test]
fn an_rdeps_test_job_also_needs_the_parent_pipelines_build() {
    let (plan, r, mut o) = demo_tested();
    o.selection = Selection::RdepsOf {
        package: "hip".into(),
        parent_job_prefix: "build:".into(),
    };
    let p = generate(&plan, &r, &o).unwrap();
    assert_eq!(
        p.job("test:blas:riscv64").unwrap().needs,
        [
            Need::job("build:blas:riscv64"),
            Need::parent("build:riscv64")
        ]
    );
    assert!(p.job("test:hip:amd64").is_none(), "hip is the parent's");
}

/// The build jobs whose artifacts reach `job`: through its needs, passing
/// through collectors (which hand artifacts on) but not through builds.
fn artifact_sources(p: &Pipeline, job: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<String> = needs(p, job);
    while let Some(n) = stack.pop() {
        match p.job(&n).map(|j| &j.kind) {
            Some(Kind::Collect) => stack.extend(needs(p, &n)),
            Some(Kind::Build { .. } | Kind::Test { .. }) => {
                out.insert(n);
            }
            other => panic!("{job} needs {n}, which is {other:?}"),
        }
    }
    out
}

#[test]
fn no_job_needs_more_than_fifty_and_every_dependency_still_arrives() {
    // 120 sources; each build-depends on the one before and on every tenth
    // one before it, so late ones have over 50 stack dependencies.
    let names_: Vec<String> = (0..120).map(|i| format!("p{i:03}")).collect();
    let sources: Vec<SourceInput> = (0..120)
        .map(|i| {
            let deps: Vec<&str> = (0..i)
                .filter(|j| j + 1 == i || j % 10 == 0 || i > 100)
                .map(|j| names_[j].as_str())
                .collect();
            src(&names_[i], &deps)
        })
        .collect();
    let plan = plan_of(&[("amd64", sources)]);
    let r = recipes(STACK, &[]);
    let p = generate(&plan, &r, &Options::default()).unwrap();
    check_needs_fit_and_deliver(&plan, &p);
    // With test jobs too: each gets its build's closure and its build; the
    // report, through collectors, every build and test.
    let tested = Options {
        test: true,
        ..Options::default()
    };
    check_needs_fit_and_deliver(&plan, &generate(&plan, &r, &tested).unwrap());
}

/// [`no_job_needs_more_than_fifty_and_every_dependency_still_arrives`] on `p`.
fn check_needs_fit_and_deliver(plan: &Plan, p: &Pipeline) {
    let all: BTreeSet<&str> = names(p).into_iter().collect();
    assert_eq!(all.len(), p.jobs.len(), "job names are unique");
    for (name, job) in &p.jobs {
        assert!(
            job.needs.len() <= MAX_NEEDS,
            "{name} needs {}",
            job.needs.len()
        );
        for n in &job.needs {
            assert!(
                all.contains(n.job.as_str()),
                "{name} needs unknown {}",
                n.job
            );
        }
    }
    assert!(p.jobs.iter().any(|(_, j)| j.kind == Kind::Collect));

    // Transitive dependencies in the plan, computed independently.
    let a = &plan.arches[0];
    let mut closure: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for name in &a.order {
        let mut set = BTreeSet::new();
        for d in &a.source(name).unwrap().depends_on {
            set.insert(build_job_name(d, "amd64"));
            set.extend(closure[d.as_str()].iter().cloned());
        }
        closure.insert(name.as_str(), set);
    }
    assert!(closure["p119"].len() > MAX_NEEDS);
    for name in &a.order {
        let job = build_job_name(name, "amd64");
        assert_eq!(artifact_sources(p, &job), closure[name.as_str()], "{job}");
        let test = test_job_name(name, "amd64");
        if p.job(&test).is_some() {
            let mut want = closure[name.as_str()].clone();
            want.insert(job);
            assert_eq!(artifact_sources(p, &test), want, "{test}");
        }
    }
    // Collectors for builds keep on_success: a failed dependency stops the build.
    for (name, job) in &p.jobs {
        if job.kind == Kind::Collect && job.when.is_some() {
            let feeds_build = p.jobs.iter().any(|(_, j)| {
                matches!(j.kind, Kind::Build { .. } | Kind::Test { .. })
                    && j.needs.iter().any(|n| &n.job == name)
            });
            assert!(!feeds_build, "{name} runs always but feeds a build");
        }
    }
    let every_build_and_test: BTreeSet<String> = p
        .jobs
        .iter()
        .filter(|(_, j)| matches!(j.kind, Kind::Build { .. } | Kind::Test { .. }))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(artifact_sources(p, "report"), every_build_and_test);
    // Report collectors run even when builds fail, and pass the test cells on.
    let tested = p
        .jobs
        .iter()
        .any(|(_, j)| matches!(j.kind, Kind::Test { .. }));
    let mut stack = needs(p, "report");
    while let Some(n) = stack.pop() {
        let j = p.job(&n).unwrap();
        if j.kind == Kind::Collect {
            assert_eq!(j.when.as_deref(), Some("always"), "{n}");
            let paths = &j.artifacts.as_ref().unwrap().paths;
            assert_eq!(
                paths.contains(&"cascade-run/tests/".to_string()),
                tested,
                "{n}"
            );
            stack.extend(needs(p, &n));
        }
    }
}

#[test]
fn empty_plan_is_an_error() {
    let r = recipes(STACK, &[]);
    assert!(matches!(
        generate(&Plan { arches: vec![] }, &r, &Options::default()),
        Err(Error::NoArch)
    ));
}

#[test]
fn a_porting_run_takes_the_recipes_port_timeout() {
    let sources = vec![excluded(src("hip", &[]))];
    let plan = Plan {
        arches: vec![plan_arch(
            "riscv64",
            &sources,
            &BTreeSet::<String>::new(),
            PlanOptions { port: true },
        )],
    };
    let hip = recipe(
        "hip",
        "timeout_minutes: 30\nport: {riscv64: {timeout_minutes: 600}}\n",
    );
    let r = recipes(STACK, &[&hip]);
    let p = generate(&plan, &r, &Options::default()).unwrap();
    assert_eq!(
        p.job("build:hip:riscv64").unwrap().timeout.as_deref(),
        Some("600 minutes")
    );
    assert!(p.header[0].ends_with("(riscv64; porting run). Do not edit."));
    // The job widens the source (a build copy), as `cascade port` would.
    let script = &p.job("build:hip:riscv64").unwrap().script;
    let build = &script[script.len() - 2];
    assert!(build.starts_with("cascade build --only hip --arch riscv64 "));
    assert!(build.ends_with(" --port"), "{build}");
    // ... and the report judges it by the porting verdict.
    let report = &p.job("report").unwrap().script;
    assert!(
        report
            .iter()
            .any(|l| l.starts_with("cascade report ") && l.contains(" --port riscv64 ")),
        "{report:?}"
    );
    // The porting report it writes into the run directory is published.
    let paths = &p.job("report").unwrap().artifacts.as_ref().unwrap().paths;
    for f in ["port.json", "port.md", "port.txt"] {
        assert!(paths.contains(&format!("cascade-run/{f}")), "{paths:?}");
    }
    // A plain run's jobs build the packaging as it is.
    let (plan, r, o) = demo();
    let plain = generate(&plan, &r, &o).unwrap();
    assert!(
        plain
            .jobs
            .iter()
            .flat_map(|(_, j)| &j.script)
            .all(|l| !l.contains("--port"))
    );
}

#[test]
fn dependents_of_a_mixed_source_also_need_its_host_job() {
    let (plan, r, mut o) = demo();
    o.mixed = ["blas".to_string()].into();
    let p = generate(&plan, &r, &o).unwrap();
    assert_eq!(
        needs(&p, "build:solver:riscv64"),
        [
            "build:docs:all",
            "build:hip:amd64",
            "build:blas:amd64",
            "build:hip:riscv64",
            "build:blas:riscv64"
        ],
        "blas's arch:all .debs come from amd64"
    );
    assert_eq!(
        needs(&p, "build:solver:amd64"),
        ["build:docs:all", "build:hip:amd64", "build:blas:amd64"]
    );
}

/// The report job's plan.json: the pipeline's builds with their edges, what
/// it does not build with the reason; with --rdeps-of only the selection.
#[test]
fn the_report_job_writes_the_pipelines_plan() {
    let run_plan = |p: &Pipeline| -> RunPlan {
        let script = &p.job("report").unwrap().script;
        let line = script
            .iter()
            .find(|l| l.starts_with("cat > cascade-run/plan.json <<'CASCADE_RUN_PLAN'\n"))
            .expect("the report job writes the plan");
        assert!(line.ends_with("\nCASCADE_RUN_PLAN"), "{line}");
        let json = line.lines().nth(1).unwrap();
        serde_json::from_str(json).unwrap()
    };
    let sources = |rp: &RunPlan, arch: &str| -> Vec<String> {
        let a = rp.arches.iter().find(|a| a.arch.as_str() == arch).unwrap();
        a.sources
            .iter()
            .map(|s| match &s.not_built {
                Some(why) => format!("{} ({why})", s.source),
                None => format!("{} <- {}", s.source, s.depends_on.join(" ")),
            })
            .collect()
    };
    let (plan, r, mut o) = demo();
    let all = run_plan(&generate(&plan, &r, &o).unwrap());
    assert_eq!(all.schema, planned::SCHEMA);
    assert!(all.all_only.contains("docs"));
    let riscv = sources(&all, "riscv64");
    assert!(riscv.contains(&"blas <- hip".to_string()), "{riscv:?}");
    assert!(
        riscv.contains(&"gpu-only (Architecture: amd64 arm64)".to_string()),
        "{riscv:?}"
    );
    o.selection = Selection::RdepsOf {
        package: "hip".into(),
        parent_job_prefix: "build:".into(),
    };
    let rdeps = run_plan(&generate(&plan, &r, &o).unwrap());
    let riscv = sources(&rdeps, "riscv64");
    assert!(
        riscv
            .iter()
            .all(|s| !s.starts_with("hip ") && !s.starts_with("docs ")),
        "{riscv:?}"
    );
    assert!(
        riscv.iter().any(|s| s.starts_with("solver <- ")),
        "{riscv:?}"
    );
}

/// An analysis report: `cands` per arch (`libstdc++-x` needs escaping).
fn analysis(cands: &[(&str, &[&str])], transitive: bool) -> crate::transition::render::Transition {
    use crate::transition::ArchTransition;
    use crate::transition::render::{ArchReport, SCHEMA, Transition};
    let arch = |a: &str, names: &[&str]| ArchReport {
        transition: ArchTransition {
            arch: Arch::new(a).unwrap(),
            moving: vec!["hip".into()],
            dropped: vec![],
            cruft: vec![],
            added: vec![],
            renames: vec![],
            binnmus: vec![],
            sourceful: vec![],
            rebuilds: names
                .iter()
                .map(|n| crate::rdeps::Affected {
                    source: n.to_string(),
                    version: Some("1.0-1".into()),
                    via: vec!["hip-dev".into()],
                })
                .collect(),
            rebuilds_direct: names.len(),
            rebuilds_transitive: transitive.then_some(names.len()),
            left_behind: vec![],
        },
        installability: None,
        rebuilt: None,
    };
    Transition {
        schema: SCHEMA.to_string(),
        stack: "demo".into(),
        base_suite: "unstable".into(),
        new_from: "cascade-run".into(),
        arches: cands.iter().map(|(a, n)| arch(a, n)).collect(),
    }
}

fn transition_options(max: Option<usize>) -> transition::TransitionOptions {
    transition::TransitionOptions {
        parent_job_prefix: "build:".into(),
        analysis_job: "transition:generate".into(),
        analysis: "cascade-transition/analysis.json".into(),
        host_arch: "amd64".into(),
        job_args: vec!["--timeout".into(), "120".into()],
        max,
    }
}

#[test]
fn transition_pipeline_rebuilds_each_candidate_on_its_arch_against_the_parents_debs() {
    let (_, r, options) = demo();
    let doc = analysis(
        &[("amd64", &["ggml", "libstdc++-x"]), ("riscv64", &["ggml"])],
        false,
    );
    let p = transition::generate(&doc, &r, &options, &transition_options(Some(3))).unwrap();
    assert_eq!(
        names(&p),
        [
            "transition:ggml:amd64",
            "transition:libstdc++-x:amd64",
            "transition:ggml:riscv64",
            "transition:report"
        ]
    );
    let job = p.job("transition:ggml:riscv64").unwrap();
    let parents: Vec<(String, Option<String>)> = (job.needs.iter())
        .map(|n| (n.job.clone(), n.pipeline.clone()))
        .collect();
    let parent = Some("$PARENT_PIPELINE_ID".to_string());
    assert_eq!(
        parents,
        [
            ("build:riscv64".to_string(), parent.clone()),
            ("build:amd64".to_string(), parent.clone())
        ],
        "its arch's .debs and the host's arch:all ones"
    );
    let line = &p.job("transition:libstdc++-x:amd64").unwrap().script[1];
    assert_eq!(
        line,
        "cascade transition cascade-run --rebuild --arch amd64 --include '^libstdc\\+\\+\\-x$' \
         --no-installability --format json --out cascade-transition/rebuild_libstdc++-x_amd64.json \
         --timeout 120"
    );
    assert_eq!(
        p.job("transition:ggml:amd64").unwrap().tags,
        ["amd64", "sbuild"]
    );
    let report = p.job("transition:report").unwrap();
    assert_eq!(report.when.as_deref(), Some("always"));
    assert_eq!(needs(&p, "transition:report")[0], "transition:generate");
    assert_eq!(report.needs.len(), 4);
    assert!(
        (report.script.iter()).any(|l| l.starts_with(
            "cascade transition --merge cascade-transition/analysis.json cascade-transition/ --format junit"
        )),
        "{:?}",
        report.script
    );
    let yaml = p.to_yaml();
    assert!(
        yaml.starts_with("# Generated by `cascade ci generate --transition`"),
        "{yaml}"
    );
}

#[test]
fn transition_pipeline_follows_a_transitive_analysis_and_keeps_to_its_cap() {
    let (_, r, options) = demo();
    let doc = analysis(&[("amd64", &["ucx", "papi"])], true);
    let p = transition::generate(&doc, &r, &options, &transition_options(None)).unwrap();
    let line = &p.job("transition:ucx:amd64").unwrap().script[1];
    assert!(line.contains(" --transitive"), "{line}");
    let e = transition::generate(&doc, &r, &options, &transition_options(Some(1))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("2 rebuilds to run (ucx/amd64, papi/amd64), more than 1;"),
        "{e}"
    );
    let many: Vec<String> = (0..50).map(|i| format!("s{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let doc = analysis(&[("amd64", &many)], false);
    let e = transition::generate(&doc, &r, &options, &transition_options(Some(80))).unwrap_err();
    assert!(e.to_string().contains("more than 49"), "{e}");
    // Nothing to rebuild: the report job alone, merging the analysis.
    let none = analysis(&[("amd64", &[])], false);
    let p = transition::generate(&none, &r, &options, &transition_options(None)).unwrap();
    assert_eq!(names(&p), ["transition:report"]);
}
