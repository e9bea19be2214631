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

/// Runs `gitlab-ci-local --list` on a fresh git repo holding `files`
/// (path → text; `.gitlab-ci.yml` among them). Returns success and output.
fn gitlab_ci_list(bin: &Path, files: &[(&str, &str)], variables: &[&str]) -> (bool, String) {
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
    let mut cmd = Command::new(bin);
    cmd.arg("--list").current_dir(dir.path());
    for v in variables {
        cmd.args(["--variable", v]);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("json schema validated"),
        text,
    )
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
/// `cascade run`. Scaffold: the steps are written, the commands they use are
/// not there yet.
#[test]
#[ignore = "needs `cascade build --only` (issue 5), `cascade ci generate` wired to the planner, and sbuild chroots"]
fn demo_stack_pipeline_runs_under_gitlab_ci_local() {
    let Some(bin) = gitlab_ci_local() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cascade = assert_cmd::cargo::cargo_bin("cascade");
    let run = |args: &[&str]| {
        let out = Command::new(&cascade)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "cascade {args:?}: {out:?}");
    };
    run(&["demo", "stack"]);
    run(&[
        "--recipes",
        "stack/recipes",
        "ci",
        "generate",
        "--out",
        ".gitlab-ci.yml",
    ]);
    let git = |args: &[&str]| {
        Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://salsa.example.org/rocm-team/demo.git",
    ]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "demo"]);
    let st = Command::new(bin)
        .args(["--shell-executor-no-image", "--variable"])
        .arg(format!(
            "PATH={}:/usr/bin:/bin",
            cascade.parent().unwrap().display()
        ))
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    // Then: `cascade run` in another directory, and compare the .debs under
    // .gitlab-ci-local/artifacts/*/cascade-run/debs with its run dir, and the
    // report job's report.json with `cascade report --format json`.
}

/// The real recipes and stack file on their four arches, with a plan that
/// knows no build-dependencies (the planner glue computing the real one is
/// not merged yet): 160-odd jobs, the real runner tags and timeouts, the
/// report reaching every build through collectors.
#[test]
fn real_stack_without_edges_validates() {
    let Some(bin) = gitlab_ci_local() else { return };
    let recipes = recipe::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes")).unwrap();
    let plan = Plan {
        arches: recipes
            .stack
            .architectures
            .iter()
            .map(|arch| {
                let sources: Vec<SourceInput> = recipes
                    .recipes
                    .iter()
                    .map(|r| SourceInput {
                        name: r.source.clone(),
                        version: r.debian_version(),
                        arch_exclusion: (!recipes.arches_for(r).contains(arch))
                            .then(|| "recipe architectures".to_string()),
                        ..SourceInput::default()
                    })
                    .collect();
                plan_arch(
                    arch.as_str(),
                    &sources,
                    &BTreeSet::<String>::new(),
                    PlanOptions::default(),
                )
            })
            .collect(),
    };
    let pipeline = ci::generate(&plan, &recipes, &Options::default()).unwrap();
    let builds = pipeline
        .jobs
        .iter()
        .filter(|(_, j)| matches!(j.kind, ci::Kind::Build { .. }))
        .count();
    assert!(builds > MAX_NEEDS, "{builds} builds");
    assert!(
        pipeline
            .jobs
            .iter()
            .all(|(_, j)| j.needs.len() <= MAX_NEEDS)
    );
    assert_eq!(
        pipeline.job("build:rocblas:arm64").unwrap().tags,
        ["arm64"],
        "the stack names an arm64 runner"
    );
    assert_valid(&bin, &pipeline.to_yaml());
}
