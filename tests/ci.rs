//! CI: the generated child pipeline and the templates in `ci/` validate
//! against GitLab's CI JSON schema, as gitlab-ci-local (npm, 4.70.1) checks
//! every file it loads (it bundles GitLab's schema), on a temporary git repo.
//!
//! Without gitlab-ci-local these tests say so and pass, except under
//! `CI=true`, where a missing validator is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as Cargo;
use cascade::ci::{self, MAX_NEEDS, Options, Selection, Since};
use cascade::plan::{Options as PlanOptions, Plan, SourceInput, plan_arch};
use cascade::recipe;
use serde::Deserialize;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ci");
const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ci");

/// The gitlab-ci-local binary, or `None` (a failure under CI=true).
fn gitlab_ci_local() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("gitlab-ci-local"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "gitlab-ci-local is not installed (npm install -g gitlab-ci-local@4.70.1)"
        );
        eprintln!("skipped: gitlab-ci-local is not installed");
    }
    found
}

/// A fresh git repo holding `files` (path → text), as gitlab-ci-local wants it.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(st.status.success(), "git {args:?}: {st:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    // gitlab-ci-local reads the project's path from the origin remote.
    git(&[
        "remote",
        "add",
        "origin",
        "https://salsa.example.org/rocm-team/pkg.git",
    ]);
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "test"]);
    dir
}

/// Runs gitlab-ci-local in `dir`; success and stdout + stderr.
fn gitlab_ci(bin: &Path, dir: &Path, args: &[String]) -> (bool, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `gitlab-ci-local --list` on a fresh git repo holding `files`
/// (`.gitlab-ci.yml` among them): schema validation, includes, needs.
fn gitlab_ci_list(bin: &Path, files: &[(&str, &str)], variables: &[&str]) -> (bool, String) {
    let dir = repo(files);
    let mut args = vec!["--list".to_string()];
    for v in variables {
        args.extend(["--variable".to_string(), v.to_string()]);
    }
    let (ok, text) = gitlab_ci(bin, dir.path(), &args);
    (ok && text.contains("json schema validated"), text)
}

fn assert_valid(bin: &Path, yaml: &str) -> String {
    let (ok, out) = gitlab_ci_list(bin, &[(".gitlab-ci.yml", yaml)], &[]);
    assert!(
        ok,
        "gitlab-ci-local rejects the pipeline:\n{out}\n---\n{yaml}"
    );
    out
}

#[derive(Deserialize)]
struct Inputs {
    indep_only: BTreeSet<String>,
    archive: BTreeSet<String>,
    arches: BTreeMap<String, Vec<SourceInput>>,
}

fn fixture_plan() -> (Plan, recipe::Recipes, Options) {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("plan-inputs.json")).unwrap();
    let mut inputs: serde_json::Value = serde_json::from_str(&text).unwrap();
    inputs.as_object_mut().unwrap().remove("comment");
    let inputs: Inputs = serde_json::from_value(inputs).unwrap();
    let plan = Plan {
        arches: inputs
            .arches
            .iter()
            .map(|(arch, sources)| {
                plan_arch(arch, sources, &inputs.archive, PlanOptions::default())
            })
            .collect(),
    };
    let recipes = recipe::load(&Path::new(FIXTURES).join("recipes")).unwrap();
    let options = Options {
        image: Some("$CASCADE_IMAGE".into()),
        before_script: vec!["eval \"$CASCADE_SETUP\"".into()],
        expire_in: Some("1 week".into()),
        indep_only: inputs.indep_only,
        ..Options::default()
    };
    (plan, recipes, options)
}

#[test]
fn generated_pipeline_validates() {
    let Some(bin) = gitlab_ci_local() else { return };
    let (plan, recipes, options) = fixture_plan();
    let pipeline = ci::generate(&plan, &recipes, &options).unwrap();
    let out = assert_valid(&bin, &pipeline.to_yaml());
    for job in ["build:docs:all", "build:solver:riscv64", "report"] {
        assert!(out.contains(job), "{job} missing from:\n{out}");
    }
    assert!(!out.contains("build:gpu-only:riscv64"));
}

#[test]
fn rdeps_and_since_pipelines_validate() {
    let Some(bin) = gitlab_ci_local() else { return };
    let (plan, recipes, mut options) = fixture_plan();
    options.selection = Selection::RdepsOf {
        package: "hip".into(),
        parent_job_prefix: "build:".into(),
    };
    assert_valid(
        &bin,
        &ci::generate(&plan, &recipes, &options).unwrap().to_yaml(),
    );
    options.selection = Selection::All;
    options.since = Some(Since {
        parent_job: "nightly:previous".into(),
        run_dir: "previous/cascade-run".into(),
    });
    options.report_after = vec![
        "if [ \"$CI_COMMIT_REF_NAME\" = \"$CI_DEFAULT_BRANCH\" ]; then tar -czf r.tgz cascade-run/results && curl --fail --header \"JOB-TOKEN: $CI_JOB_TOKEN\" --upload-file r.tgz \"$CASCADE_RESULTS_URL\"; fi".into(),
    ];
    assert_valid(
        &bin,
        &ci::generate(&plan, &recipes, &options).unwrap().to_yaml(),
    );
}

#[test]
fn a_pipeline_with_collectors_validates() {
    let Some(bin) = gitlab_ci_local() else { return };
    // 80 sources in a chain, each also needing the first: long closures.
    let sources: Vec<SourceInput> = (0..80)
        .map(|i| SourceInput {
            name: format!("p{i:02}"),
            version: "1.0-1".into(),
            binaries: vec![format!("p{i:02}-dev")],
            build_deps: (0..i)
                .filter(|j| j + 1 == i || *j == 0)
                .map(|j| vec![cascade::plan::Alternative::new(&format!("p{j:02}-dev"))])
                .collect(),
            ..SourceInput::default()
        })
        .collect();
    let plan = Plan {
        arches: ["amd64", "riscv64"]
            .iter()
            .map(|a| {
                plan_arch(
                    a,
                    &sources,
                    &BTreeSet::<String>::new(),
                    PlanOptions::default(),
                )
            })
            .collect(),
    };
    let recipes = recipe::load(&Path::new(FIXTURES).join("recipes")).unwrap();
    let pipeline = ci::generate(&plan, &recipes, &Options::default()).unwrap();
    assert!(
        pipeline
            .jobs
            .iter()
            .all(|(_, j)| j.needs.len() <= MAX_NEEDS)
    );
    let out = assert_valid(&bin, &pipeline.to_yaml());
    assert!(out.contains("collect:amd64:1"), "{out}");
}

#[test]
fn the_validator_rejects_a_broken_pipeline() {
    let Some(bin) = gitlab_ci_local() else { return };
    let (ok, out) = gitlab_ci_list(
        &bin,
        &[(
            ".gitlab-ci.yml",
            "build:x:amd64:\n  script: [true]\n  needs: nope\n",
        )],
        &[],
    );
    assert!(!ok, "accepted:\n{out}");
}

fn template(name: &str) -> String {
    std::fs::read_to_string(Path::new(TEMPLATES).join(name)).unwrap()
}

#[test]
fn salsa_template_validates_when_included() {
    let Some(bin) = gitlab_ci_local() else { return };
    let salsa = template("salsa.yml");
    let (ok, out) = gitlab_ci_list(
        &bin,
        &[
            (".gitlab-ci.yml", "include:\n  - local: ci/salsa.yml\n"),
            ("ci/salsa.yml", &salsa),
        ],
        &[],
    );
    assert!(ok, "{out}");
    for job in [
        "cascade:bump",
        "build:amd64",
        "build:arm64",
        "build:riscv64",
        "rdeps:generate",
        "rdeps ",
        "report",
    ] {
        assert!(out.contains(job), "{job} missing from:\n{out}");
    }
}

#[test]
fn nightly_template_validates_when_included() {
    let Some(bin) = gitlab_ci_local() else { return };
    let nightly = template("nightly.yml");
    let (ok, out) = gitlab_ci_list(
        &bin,
        &[
            (".gitlab-ci.yml", "include:\n  - local: ci/nightly.yml\n"),
            ("ci/nightly.yml", &nightly),
        ],
        &["CASCADE_NIGHTLY=1"],
    );
    assert!(ok, "{out}");
    for job in ["nightly:previous", "nightly:generate", "nightly "] {
        assert!(out.contains(job), "{job} missing from:\n{out}");
    }
}

#[test]
fn generate_rejects_an_arch_the_stack_does_not_build() {
    Cargo::cargo_bin("cascade")
        .unwrap()
        .args(["--recipes", &format!("{FIXTURES}/recipes")])
        .args(["ci", "generate", "--arch", "s390x"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not built for s390x"));
}

#[test]
fn generate_rejects_rdeps_of_an_unknown_source() {
    Cargo::cargo_bin("cascade")
        .unwrap()
        .args(["--recipes", &format!("{FIXTURES}/recipes")])
        .args(["ci", "generate", "--rdeps-of", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no recipe for nope"));
}

/// The demo stack's pipeline, run for real: the same .debs and report as
/// `cascade run`. Scaffold: the steps are written; `cascade demo`'s
/// arguments (here `cascade demo DIR`) and the comparison are to be fixed
/// when the commands exist.
#[test]
#[ignore = "needs `cascade demo`, `cascade build --only` (issue 5) and sbuild chroots"]
fn demo_stack_pipeline_runs_under_gitlab_ci_local() {
    let Some(bin) = gitlab_ci_local() else { return };
    let work = tempfile::tempdir().unwrap();
    let cascade = assert_cmd::cargo::cargo_bin("cascade");
    let run = |dir: &Path, args: &[&str]| {
        let out = Command::new(&cascade)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "cascade {args:?}: {out:?}");
    };
    run(work.path(), &["demo", "demo"]);
    let recipes = work.path().join("demo/recipes");
    let recipes = recipes.to_str().unwrap();
    // The pipeline, in a repo of its own; jobs find cascade on PATH.
    let out = Command::new(&cascade)
        .args(["--recipes", recipes, "ci", "generate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let yaml = String::from_utf8(out.stdout).unwrap();
    let dir = repo(&[(".gitlab-ci.yml", &yaml)]);
    let path = format!(
        "PATH={}:{}",
        cascade.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let args: Vec<String> = [
        "--force-shell-executor",
        "--shell-isolation",
        "--artifacts-to-source=false",
        "--variable",
        &path,
        "--variable",
        &format!("CASCADE_RECIPES={recipes}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (ok, log) = gitlab_ci(&bin, dir.path(), &args);
    assert!(ok, "{log}");
    // The same run locally, then compare.
    run(
        work.path(),
        &["--recipes", recipes, "run", "--arch", "amd64,riscv64"],
    );
    let ci_report = dir
        .path()
        .join(".gitlab-ci-local/artifacts/report/cascade-report/report.json");
    let local_debs = work.path().join("cascade-run/debs");
    assert!(ci_report.exists() && local_debs.exists());
    // TODO when it runs: the set of .deb names under every build job's
    // .gitlab-ci-local/artifacts/*/cascade-run/debs equals local_debs', and
    // report.json's outcomes equal `cascade report cascade-run --format json`'s.
}

/// The real recipes and stack file on their four arches, planned by
/// `cascade ci generate` against the fixture archive: 88 build jobs
/// (arch:all-only sources once, as `build:PKG:all`), `needs:` along the real
/// build DAG, the real runner tags, the report reaching every build through
/// collectors.
#[test]
fn real_stack_pipeline_validates() {
    let cache = tempfile::tempdir().unwrap();
    let out = Cargo::cargo_bin("cascade")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CASCADE_MIRROR")
        .args(["--recipes", "recipes", "ci", "generate"])
        .args(["--mirror", "tests/fixtures/archive", "--allow-expired"])
        .arg("--cache-dir")
        .arg(cache.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let yaml = String::from_utf8(out.stdout).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    let jobs = doc.as_mapping().unwrap();
    let builds: Vec<&str> = jobs
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|k| k.starts_with("build:"))
        .collect();
    assert!(builds.len() > MAX_NEEDS, "{} builds", builds.len());
    for indep in ["rocm-cmake", "half", "pkg-rocm-tools", "rocm-docs-core"] {
        assert!(
            builds.contains(&format!("build:{indep}:all").as_str()),
            "{builds:?}"
        );
        assert!(!builds.contains(&format!("build:{indep}:riscv64").as_str()));
    }
    assert!(!builds.contains(&"build:rocblas:riscv64"), "excluded there");
    let needs = |job: &str| -> Vec<String> {
        jobs[job]["needs"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|n| n["job"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rocblas = needs("build:rocblas:arm64");
    for dep in [
        "build:rocm-hipamd:arm64",
        "build:rocr-runtime:arm64",
        "build:rocm-cmake:all",
    ] {
        assert!(
            rocblas.contains(&dep.to_string()),
            "{dep} not in {rocblas:?}"
        );
    }
    assert_eq!(
        jobs["build:rocblas:arm64"]["tags"],
        serde_yaml::Value::Sequence(vec!["arm64".into()]),
        "the stack names an arm64 runner"
    );
    assert!(jobs.values().all(|j| {
        j["needs"]
            .as_sequence()
            .is_none_or(|n| n.len() <= MAX_NEEDS)
    }));
    let Some(bin) = gitlab_ci_local() else { return };
    assert_valid(&bin, &yaml);
}

/// A repo with `yaml` as its pipeline and a stub `cascade` (records the .debs
/// each build received, makes one of its own; the report concatenates).
fn stub_repo(yaml: &str) -> tempfile::TempDir {
    let stub = std::fs::read_to_string(Path::new(FIXTURES).join("stub-cascade")).unwrap();
    let dir = repo(&[(".gitlab-ci.yml", yaml), ("bin/cascade", &stub)]);
    let bin = dir.path().join("bin/cascade");
    let mut perm = std::fs::metadata(&bin).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&bin, perm).unwrap();
    dir
}

/// gitlab-ci-local running jobs in isolated shell directories, each with
/// only the artifacts of the jobs it needs, as GitLab does.
fn run_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let path = format!(
        "PATH={}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut args: Vec<String> = [
        "--force-shell-executor",
        "--shell-isolation",
        "--artifacts-to-source=false",
        "--variable",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(path);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The stub report: `SOURCE ARCH: the .debs it received`, by `SOURCE ARCH`.
fn stub_report(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(
        dir.join(".gitlab-ci-local/artifacts/report/cascade-report/report.md"),
    )
    .unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            l.split_once(": ")
                .or_else(|| l.strip_suffix(':').map(|k| (k, "")))
        })
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn generated_pipeline_runs_and_hands_each_build_its_dependencies() {
    let Some(bin) = gitlab_ci_local() else { return };
    let (plan, recipes, mut options) = fixture_plan();
    // Nothing to install: the stub is on PATH.
    options.image = None;
    options.before_script.clear();
    let yaml = ci::generate(&plan, &recipes, &options).unwrap().to_yaml();
    let dir = stub_repo(&yaml);
    let (ok, out) = gitlab_ci(&bin, dir.path(), &run_args(dir.path(), &[]));
    assert!(ok, "{out}");
    let report = stub_report(dir.path());
    let expect = [
        ("hip amd64", ""),
        ("blas amd64", "amd64/hip_1.0_amd64.deb"),
        ("gpu-only amd64", "amd64/hip_1.0_amd64.deb"),
        // The arch:all job runs on the host arch; the stub files it there.
        ("docs amd64", ""),
        (
            "solver amd64",
            "amd64/blas_1.0_amd64.deb amd64/docs_1.0_amd64.deb amd64/hip_1.0_amd64.deb",
        ),
        ("hip riscv64", ""),
        ("blas riscv64", "riscv64/hip_1.0_riscv64.deb"),
        (
            "solver riscv64",
            "amd64/docs_1.0_amd64.deb riscv64/blas_1.0_riscv64.deb riscv64/hip_1.0_riscv64.deb",
        ),
    ];
    let expect: BTreeMap<String, String> = expect
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(report, expect, "{out}");
}

#[test]
fn a_failed_build_stops_its_dependents_and_the_report_still_sees_it() {
    let Some(bin) = gitlab_ci_local() else { return };
    let (plan, recipes, mut options) = fixture_plan();
    options.image = None;
    options.before_script.clear();
    let yaml = ci::generate(&plan, &recipes, &options).unwrap().to_yaml();
    let dir = stub_repo(&yaml);
    let args = run_args(
        dir.path(),
        &["--variable", "CASCADE_STUB_FAIL=blas:riscv64"],
    );
    let (ok, out) = gitlab_ci(&bin, dir.path(), &args);
    assert!(!ok, "{out}");
    let artifacts = dir.path().join(".gitlab-ci-local/artifacts");
    assert!(artifacts.join("buildOgblasOgriscv64").exists(), "{out}");
    assert!(!artifacts.join("buildOgsolverOgriscv64").exists(), "{out}");
    assert!(artifacts.join("buildOgsolverOgamd64").exists(), "{out}");
    // gitlab-ci-local stops at a failed stage where GitLab would still run
    // the `when: always` report: run it by itself, on the same artifacts.
    // It writes every format, then fails as `cascade report` did.
    let mut args = run_args(dir.path(), &[]);
    args.push("report".into());
    let (ok, out) = gitlab_ci(&bin, dir.path(), &args);
    assert!(!ok, "{out}");
    let written = dir
        .path()
        .join(".gitlab-ci-local/artifacts/report/cascade-report");
    for file in ["junit.xml", "index.html", "report.md", "report.json"] {
        assert!(written.join(file).is_file(), "{file}: {out}");
    }
    let report = stub_report(dir.path());
    assert!(report.contains_key("blas riscv64"), "{report:?}");
    assert!(!report.contains_key("solver riscv64"), "{report:?}");
    assert_eq!(report.len(), 7, "{report:?}");
}

#[test]
fn collectors_pass_the_artifacts_on() {
    let Some(bin) = gitlab_ci_local() else { return };
    // 52 independent sources and one needing them all. A star rather than a
    // long chain: gitlab-ci-local's scheduler walks every path of the needs
    // graph (a chain of 18 with transitive needs takes minutes; GitLab has no
    // such problem), so long chains are only validated with `--list`.
    let mut sources: Vec<SourceInput> = (0..52)
        .map(|i| SourceInput {
            name: format!("p{i:02}"),
            version: "1.0-1".into(),
            binaries: vec![format!("p{i:02}-dev")],
            ..SourceInput::default()
        })
        .collect();
    sources.push(SourceInput {
        name: "top".into(),
        version: "1.0-1".into(),
        binaries: vec!["top-dev".into()],
        build_deps: (0..52)
            .map(|j| vec![cascade::plan::Alternative::new(&format!("p{j:02}-dev"))])
            .collect(),
        ..SourceInput::default()
    });
    let plan = Plan {
        arches: vec![plan_arch(
            "amd64",
            &sources,
            &BTreeSet::<String>::new(),
            PlanOptions::default(),
        )],
    };
    let recipes = recipe::load(&Path::new(FIXTURES).join("recipes")).unwrap();
    let pipeline = ci::generate(&plan, &recipes, &Options::default()).unwrap();
    let top = pipeline.job("build:top:amd64").unwrap();
    assert!(top.needs.iter().any(|n| n.job.starts_with("collect:")));
    let dir = stub_repo(&pipeline.to_yaml());
    let (ok, out) = gitlab_ci(&bin, dir.path(), &run_args(dir.path(), &[]));
    assert!(ok, "{out}");
    let report = stub_report(dir.path());
    assert_eq!(report.len(), 53, "{out}");
    let want: Vec<String> = (0..52)
        .map(|j| format!("amd64/p{j:02}_1.0_amd64.deb"))
        .collect();
    assert_eq!(report["top amd64"], want.join(" "));
}
