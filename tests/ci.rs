//! CI: the generated child pipeline and the templates in `ci/` validate
//! against GitLab's CI JSON schema, as gitlab-ci-local (npm, 4.70.1) checks
//! every file it loads (it bundles GitLab's schema), on a temporary git repo.
//!
//! The tests that run gitlab-ci-local (and sbuild) are `#[ignore = "needs …"]`:
//! a plain `cargo test` reports them as not run; `./run-tests` runs them with
//! `--include-ignored`. Run that way without gitlab-ci-local they say so and
//! pass, except under `CI=true`, where a missing validator is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::Command as Cargo;
use cascade::ci::{self, MAX_NEEDS, Options, Selection, Since};
use cascade::plan::{Options as PlanOptions, Plan, SourceInput, plan_arch};
use cascade::recipe;
use serde::Deserialize;

mod common;
use common::{missing_prerequisite, unavailable};

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
#[ignore = "needs gitlab-ci-local"]
fn generated_pipeline_validates() {
    let Some(bin) = gitlab_ci_local() else { return };
    let (plan, recipes, options) = fixture_plan();
    let pipeline = ci::generate(&plan, &recipes, &options).unwrap();
    let out = assert_valid(&bin, &pipeline.to_yaml());
    for job in ["build:docs:all", "build:solver:riscv64", "report"] {
        assert!(out.contains(job), "{job} missing from:\n{out}");
    }
    assert!(!out.contains("build:gpu-only:riscv64"));
    // With test jobs (`--test`): each needs its build, the report needs them.
    let tested = Options {
        test: true,
        ..options
    };
    let yaml = ci::generate(&plan, &recipes, &tested).unwrap().to_yaml();
    let out = assert_valid(&bin, &yaml);
    for job in ["test:docs:all", "test:solver:riscv64", "report"] {
        assert!(out.contains(job), "{job} missing from:\n{out}");
    }
}

#[test]
#[ignore = "needs gitlab-ci-local"]
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
#[ignore = "needs gitlab-ci-local"]
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
#[ignore = "needs gitlab-ci-local"]
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

/// `ci/NAME`, included from a project's `.gitlab-ci.yml` as the templates
/// say, validates and lists `jobs` (with `variables` set).
fn assert_template_lists(bin: &Path, name: &str, variables: &[&str], jobs: &[&str]) {
    let path = format!("ci/{name}");
    let include = format!("include:\n  - local: {path}\n");
    let (ok, out) = gitlab_ci_list(
        bin,
        &[(".gitlab-ci.yml", &include), (&path, &template(name))],
        variables,
    );
    assert!(ok, "{out}");
    for job in jobs {
        assert!(out.contains(job), "{job} missing from:\n{out}");
    }
}

#[test]
#[ignore = "needs gitlab-ci-local"]
fn salsa_template_validates_when_included() {
    let Some(bin) = gitlab_ci_local() else { return };
    assert_template_lists(
        &bin,
        "salsa.yml",
        &[],
        &[
            "cascade:bump",
            "build:amd64",
            "build:arm64",
            "build:riscv64",
            "rdeps:generate",
            "rdeps ",
            "transition:generate",
            "transition ",
            "test:amd64",
            "test:arm64",
            "test:riscv64",
            "report",
        ],
    );
    // Issue 17.11: the rdeps rebuild is manual unless asked for (or a tag).
    let path = "ci/salsa.yml";
    let include = format!("include:\n  - local: {path}\n");
    let files = [
        (".gitlab-ci.yml", include.as_str()),
        (path, &template("salsa.yml")),
    ];
    // One listing per set of variables (a gitlab-ci-local call costs a
    // Node start and a few CPU-seconds).
    let mut listings = BTreeMap::<Vec<String>, String>::new();
    let mut when = |job: &str, variables: &[&str]| {
        let key: Vec<String> = variables.iter().map(|v| v.to_string()).collect();
        let out = listings.entry(key).or_insert_with(|| {
            let (ok, out) = gitlab_ci_list(&bin, &files, variables);
            assert!(ok, "{out}");
            out
        });
        let line = out.lines().find(|l| l.starts_with(&format!("{job} ")));
        line.map(|l| l.split_whitespace().nth(2).unwrap_or("").to_string())
    };
    // Issue 13.4: so is the transition's rebuild of outside sources.
    // Issue 14: and the package's tests (`cascade test`).
    for (job, var) in [
        ("rdeps:generate", "CASCADE_RDEPS"),
        ("transition:generate", "CASCADE_TRANSITION"),
        ("test:amd64", "CASCADE_TEST"),
        ("test:riscv64", "CASCADE_TEST"),
    ] {
        assert_eq!(when(job, &[]).as_deref(), Some("manual"), "{job}");
        let always = format!("{var}=always");
        assert_eq!(
            when(job, &[&always]).as_deref(),
            Some("on_success"),
            "{job}"
        );
        assert_eq!(when(job, &[&format!("{var}=never")]), None, "{job}");
    }
}

#[test]
#[ignore = "needs gitlab-ci-local"]
fn nightly_template_validates_when_included() {
    let Some(bin) = gitlab_ci_local() else { return };
    assert_template_lists(
        &bin,
        "nightly.yml",
        &["CASCADE_NIGHTLY=1"],
        &["nightly:previous", "nightly:generate", "nightly "],
    );
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

/// `cascade ci generate` of the real recipes, planned on the fixture archive.
fn generate_on_fixture_archive(cache: &Path) -> Cargo {
    let mut c = Cargo::cargo_bin("cascade").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CASCADE_MIRROR")
        .args(["--recipes", "recipes", "ci", "generate"])
        .args(["--mirror", "tests/fixtures/archive", "--allow-expired"])
        .arg("--cache-dir")
        .arg(cache);
    c
}

/// Issue 17.11: `--max-rdeps` caps the child pipeline the Salsa template
/// starts (CASCADE_RDEPS_MAX): above it, generate fails naming the count.
#[test]
fn generate_caps_the_reverse_dependencies() {
    let cache = tempfile::tempdir().unwrap();
    let generate = |max: &str| {
        let mut c = generate_on_fixture_archive(cache.path());
        c.args(["--rdeps-of", "rocm-hipamd", "--arch", "amd64"])
            .args(["--max-rdeps", max]);
        c
    };
    generate("3")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "19 in-stack reverse build-dependencies to rebuild",
        ))
        .stderr(predicates::str::contains("more than --max-rdeps 3"));
    generate("19")
        .assert()
        .success()
        .stdout(predicates::str::contains("build:rocblas:amd64:"));
}

/// `cascade ci generate --test`: a `test:PKG:ARCH` job after each build job,
/// running `cascade test` on the build's run directory.
#[test]
fn generate_test_adds_a_test_job_per_build() {
    let cache = tempfile::tempdir().unwrap();
    let out = generate_on_fixture_archive(cache.path())
        .args(["--test", "--rdeps-of", "rocm-hipamd", "--arch", "amd64"])
        .assert()
        .success();
    let yaml = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    let job = &doc["test:rocblas:amd64"];
    let needs: Vec<&str> = (job["needs"].as_sequence().unwrap().iter())
        .map(|n| n["job"].as_str().unwrap())
        .collect();
    assert!(needs.contains(&"build:rocblas:amd64"), "{needs:?}");
    assert!(
        job["script"][1]
            .as_str()
            .unwrap()
            .starts_with("cascade test cascade-run --arch amd64 --source rocblas "),
        "{yaml}"
    );
    let report: Vec<&str> = (doc["report"]["needs"].as_sequence().unwrap().iter())
        .map(|n| n["job"].as_str().unwrap())
        .collect();
    assert!(report.contains(&"test:rocblas:amd64"), "{report:?}");
}

/// A test job's run directory holds its build jobs' `results/*.json` and no
/// `state.json`: `cascade test` reads them. A build that failed as its recipe
/// expects (the job succeeded, so its test job runs) leaves nothing to test:
/// with `--if-built` that is no error.
#[test]
fn a_test_job_with_nothing_built_to_test_passes_with_if_built() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("cascade-run/results");
    std::fs::create_dir_all(&results).unwrap();
    let failed = serde_json::json!({
        "source": "solver", "arch": "amd64", "version": "1.0-1",
        "outcome": {"class": "failed", "stage": "build", "errors": []},
        "expected_failure": "known", "log": null, "duration_secs": 1.0,
        "debs": [], "reused": false,
    });
    std::fs::write(results.join("solver_amd64.json"), failed.to_string()).unwrap();
    let test = |source: &str, extra: &[&str]| {
        let mut c = Cargo::cargo_bin("cascade").unwrap();
        c.current_dir(dir.path())
            .args(["--recipes", &format!("{FIXTURES}/recipes")])
            .args(["test", "cascade-run", "--arch", "amd64", "--source", source])
            .args(["--workdir", "cascade-work", "--no-lintian"])
            .args(["--format", "json"])
            .args(extra);
        c.assert()
    };
    test("solver", &["--if-built"]).success().stdout("[]\n");
    test("solver", &[])
        .code(2)
        .stderr(predicates::str::contains("no successful build to test"));
    // A built one is read from results/ and tested: here its .dsc is not in
    // the workdir (no bump ran), which its cell says, without a testbed.
    let ok = serde_json::json!({
        "source": "hip", "arch": "amd64", "version": "1.0-1",
        "outcome": {"class": "ok"}, "expected_failure": null, "log": null,
        "duration_secs": 1.0, "debs": [], "reused": false,
    });
    std::fs::write(results.join("hip_amd64.json"), ok.to_string()).unwrap();
    let out = test("hip", &["--if-built"]).code(1);
    let cells: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(cells[0]["source"], "hip", "{cells}");
    assert_eq!(cells[0]["status"], "error", "{cells}");
    assert!(
        dir.path()
            .join("cascade-run/tests/hip_amd64/result.json")
            .is_file()
    );
}

/// `cascade ARGS` with the demo's fixed identity and date, in `dir`.
fn demo_cascade(dir: &Path, args: &[&str]) -> std::process::Output {
    common::demo_cascade(dir).args(args).output().unwrap()
}

/// What the real builds under gitlab-ci-local need besides sbuild.
const SBUILD_TOOLS: &[&str] = &["dpkg-source", "git", "dpkg-deb", "rsync"];

const DEMO_EPOCH: &str = "1764590400";
const DEMO_VERSION: &str = "7.2.4-1~exp1";

/// gitlab-ci-local's arguments for real builds: isolated job directories,
/// the test's cascade first on PATH (a directory holding only a symlink to
/// it), the demo's identity and date.
fn real_run_args(bin_dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--force-shell-executor",
        "--shell-isolation",
        "--artifacts-to-source=false",
        "--concurrency",
        "2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for v in [
        format!(
            "PATH={}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        format!("SOURCE_DATE_EPOCH={DEMO_EPOCH}"),
        "DEBFULLNAME=Cascade Test".into(),
        "DEBEMAIL=cascade-test@example.org".into(),
    ] {
        args.extend(["--variable".to_string(), v]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A directory holding only `cascade` (a symlink to the test's binary).
fn cascade_bin_dir(work: &Path) -> PathBuf {
    let dir = work.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("cascade"), dir.join("cascade"))
        .unwrap();
    dir
}

/// The .deb file names under `dir`, recursively.
fn deb_names(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(deb_names(&p));
        } else if let Some(n) = p.file_name().and_then(|n| n.to_str())
            && n.ends_with(".deb")
        {
            out.insert(n.to_string());
        }
    }
    out
}

/// `SOURCE/ARCH → status: test=class …` of a report's test cells, and
/// whether lintian ran on each (without a lintian error).
fn test_classes(rep: &cascade::report::Report) -> BTreeMap<String, (String, bool)> {
    (rep.tests.iter())
        .map(|c| {
            let tests: Vec<String> = (c.autopkgtest.iter())
                .flat_map(|a| &a.tests)
                .map(|t| format!(" {}={}", t.name, t.class.as_str()))
                .collect();
            let linted = c.lintian.as_ref().is_some_and(|l| l.error.is_none());
            let cell = format!("{}/{}", c.source, c.arch);
            (cell, (format!("{}:{}", c.status, tests.concat()), linted))
        })
        .collect()
}

/// `SOURCE/ARCH → class` of a report.
fn classes(rep: &cascade::report::Report) -> BTreeMap<String, String> {
    rep.results
        .iter()
        .map(|r| {
            (
                format!("{}/{}", r.source, r.arch),
                cascade::report::display_class(r).to_string(),
            )
        })
        .collect()
}

/// Initialises the demo stack in `work` and generates its pipeline for
/// `arches` (`ci generate` with `extra` too), for the demo's sources that
/// `keep` accepts (the others' recipes are removed). The demo's sources are
/// in no archive: the plan reads their control files from the packaging
/// clones a bump leaves. Returns the recipes directory and the pipeline's
/// YAML.
fn demo_pipeline(
    work: &Path,
    arches: &str,
    extra: &[&str],
    keep: impl Fn(&str) -> bool,
) -> (PathBuf, String) {
    let ok = |out: std::process::Output, what: &str| {
        assert!(out.status.success(), "{what}: {out:?}");
    };
    ok(demo_cascade(work, &["demo", "init", "demo"]), "demo init");
    let recipes = work.join("demo/recipes");
    let recipes_s = recipes.to_str().unwrap();
    let sources: Vec<&str> = (cascade::demo::PACKAGES.iter().copied())
        .filter(|s| keep(s))
        .collect();
    for s in cascade::demo::PACKAGES
        .iter()
        .filter(|s| !sources.contains(s))
    {
        std::fs::remove_file(recipes.join(format!("{s}.yaml"))).unwrap();
    }
    ok(
        demo_cascade(
            work,
            &["bump", "--recipes", recipes_s, "--workdir", "planwork"],
        ),
        "bump for the plan",
    );
    let mut gen_args: Vec<String> = [
        "--recipes",
        recipes_s,
        "ci",
        "generate",
        "--arch",
        arches,
        "--allow-expired",
        "--out",
        "pipeline.yml",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect();
    for s in sources {
        gen_args.push("--checkout".into());
        gen_args.push(format!("{s}={}/planwork/{s}/packaging", work.display()));
    }
    let gen_args: Vec<&str> = gen_args.iter().map(String::as_str).collect();
    ok(demo_cascade(work, &gen_args), "ci generate");
    let yaml = std::fs::read_to_string(work.join("pipeline.yml")).unwrap();
    (recipes, yaml)
}

/// The demo stack's generated pipeline with its test jobs (`--test`), run
/// for real under gitlab-ci-local (shell executor, two jobs at a time, real
/// sbuild, autopkgtest and lintian): its report, .debs and test cells are
/// those of `cascade run --test` on the same stack.
///
/// amd64 by default, on [`PIPELINE_CHAIN`]: 3 build jobs, each needing the
/// one before's .debs, their 3 test jobs (a test that passes, one skipped,
/// an arch:all package with none) and the report. The reference is the
/// shared demo run (tests/common: `cascade run` of the whole stack on amd64
/// and riscv64, made once for the test binaries that read it), on those
/// sources: the other four amd64 builds only repeated its builds, beside it,
/// on the suite's critical path.
/// `CASCADE_CI_DEMO_ARCHES=amd64,riscv64` runs the whole stack and adds the
/// three riscv64 jobs (two cross-built; demo-solver under qemu, where its
/// tests fail, unexpectedly: the pipeline fails and the `when: always`
/// report still runs).
const PIPELINE_CHAIN: [&str; 3] = ["demo-cmake", "demo-runtime", "demo-blas"];

#[test]
#[ignore = "needs sbuild and gitlab-ci-local"]
fn demo_stack_pipeline_runs_under_gitlab_ci_local() {
    let Some(bin) = gitlab_ci_local() else { return };
    let arches_var =
        std::env::var("CASCADE_CI_DEMO_ARCHES").unwrap_or_else(|_| "amd64".to_string());
    let arches: Vec<&str> = arches_var.split(',').collect();
    if let Some(why) = missing_prerequisite(SBUILD_TOOLS, &arches) {
        return unavailable(&why);
    }
    let t0 = std::time::Instant::now();
    // The reference run is read afterwards: run-tests makes it meanwhile
    // in a binary of the critical path, at a higher priority than this
    // one's (run alone, this binary's transition test makes it).
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let whole = arches.len() > 1;
    let kept = |s: &str| whole || PIPELINE_CHAIN.contains(&s);
    let (_, yaml) = demo_pipeline(work, &arches_var, &["--test"], kept);
    let dir = repo(&[(".gitlab-ci.yml", &yaml)]);
    let bin_dir = cascade_bin_dir(work);

    let t_ci = std::time::Instant::now();
    let (passed, log) = gitlab_ci(&bin, dir.path(), &real_run_args(&bin_dir, &[]));
    let artifacts = dir.path().join(".gitlab-ci-local/artifacts");
    let expect_failure = arches.contains(&"riscv64");
    if expect_failure {
        // demo-solver fails on riscv64: gitlab-ci-local stops at the failed
        // stage where GitLab runs the `when: always` report; run it alone.
        assert!(!passed, "demo-solver/riscv64 should fail:\n{log}");
        let (passed, report_log) =
            gitlab_ci(&bin, dir.path(), &real_run_args(&bin_dir, &["report"]));
        assert!(
            !passed,
            "the report fails on an unexpected failure:\n{report_log}"
        );
    } else {
        assert!(passed, "{log}");
    }
    let ci_secs = t_ci.elapsed().as_secs_f64();
    let report_dir = artifacts.join("report/cascade-report");
    let ci_report = cascade::report::Report::from_run(&report_dir.join("report.json"))
        .unwrap_or_else(|e| panic!("{e}\n{log}"));
    for f in ["junit.xml", "index.html", "report.md"] {
        assert!(report_dir.join(f).is_file(), "{f}");
    }
    let ci_debs = deb_names(&artifacts);

    // The reference: `cascade run` of the same stack, the shared demo run
    // (amd64 and riscv64; tests/run.rs checks it), on the pipeline's arches.
    let t_run = std::time::Instant::now();
    let fixture = common::demo_run();
    let run_secs = t_run.elapsed().as_secs_f64();
    let on_arches = |cell: &str| {
        let (source, arch) = cell.rsplit_once('/').unwrap_or_default();
        kept(source) && (arch == "all" || arches.contains(&arch))
    };
    let run_dir = fixture.dir.join("run");
    let local = cascade::report::Report::from_run(&run_dir).unwrap();
    let local_classes: BTreeMap<String, String> = classes(&local)
        .into_iter()
        .filter(|(cell, _)| on_arches(cell))
        .collect();
    // CI passes on no debug symbols, tests or benchmarks (`cascade ci
    // artifacts`); a local run keeps everything it built.
    // Its builds' own directories (`run/out/SOURCE_VERSION_ARCH`), of the
    // sources the pipeline builds.
    let mut all_local_debs = BTreeSet::new();
    for entry in std::fs::read_dir(run_dir.join("out")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (source, rest) = name.split_once('_').unwrap_or_default();
        let arch = rest.rsplit('_').next().unwrap_or_default();
        if on_arches(&format!("{source}/{arch}")) {
            all_local_debs.extend(deb_names(&entry.path()));
        }
    }
    let local_debs: BTreeSet<String> = all_local_debs
        .iter()
        .filter(|d| cascade::artifacts::passes_on(d))
        .cloned()
        .collect();
    assert!(
        local_debs.len() < all_local_debs.len(),
        "the demo builds -dbgsym packages, which CI leaves out"
    );

    // The pipeline builds what the plan builds; the cells it does not build
    // (excluded, blocked) come from the pipeline's plan.json, as the local
    // report has them.
    let ci_classes = classes(&ci_report);
    assert_eq!(ci_classes, local_classes, "CI report vs cascade run");
    assert_eq!(ci_debs, local_debs, "CI .debs vs cascade run's");
    assert!(ci_report.results.iter().all(|r| r.version == DEMO_VERSION));
    for a in &arches {
        assert_eq!(ci_classes[&format!("demo-blas/{a}")], "ok");
        assert!(
            ci_debs.contains(&format!("libdemoblas1_{DEMO_VERSION}_{a}.deb")),
            "{ci_debs:?}"
        );
    }
    assert!(ci_debs.contains(&format!("demo-cmake_{DEMO_VERSION}_all.deb")));

    // Each test job tested what its build job made, as `cascade run --test`
    // did: the same class for each autopkgtest test, lintian on each cell.
    let ci_tests = test_classes(&ci_report);
    let local_tests: BTreeMap<_, _> = (test_classes(&local).into_iter())
        .filter(|(cell, _)| on_arches(cell))
        .collect();
    assert_eq!(ci_tests, local_tests, "CI test cells vs cascade run's");
    assert_eq!(
        ci_tests["demo-runtime/amd64"],
        ("pass: headers=pass loader=pass".to_string(), true)
    );
    assert!(
        (ci_tests.values()).all(|(status, linted)| *linted || status.starts_with("not-built")),
        "{ci_tests:?}"
    );
    eprintln!(
        "gitlab-ci-local: {ci_secs:.0} s, then waited for the shared cascade run: {run_secs:.0} s, total {:.0} s",
        t0.elapsed().as_secs_f64()
    );
}

/// A packaging repository that includes ci/salsa.yml gets a working
/// pipeline: demo-smi's packaging clone (demo-smi has no stack
/// build-dependencies, so its build needs no other job's .debs), with
/// `.gitlab-ci.yml` including a copy of the template (`include: local:`, as
/// there is no GitLab project to include from). gitlab-ci-local runs, for
/// real, `cascade:bump` (the dry-run bump check), `build:amd64` (bump and
/// sbuild) and `report`. Not run: `build:arm64` (a cross-build needs an
/// arm64 cross chroot) and `build:riscv64` (demo-smi's Architecture leaves
/// riscv64 out), and `rdeps:generate` → `rdeps` (a child pipeline from an
/// artifact, which gitlab-ci-local does not trigger; the generated child
/// pipeline itself runs in `demo_stack_pipeline_runs_under_gitlab_ci_local`).
#[test]
#[ignore = "needs sbuild and gitlab-ci-local"]
fn salsa_template_runs_for_a_demo_package() {
    let Some(bin) = gitlab_ci_local() else { return };
    if let Some(why) = missing_prerequisite(SBUILD_TOOLS, &["amd64"]) {
        return unavailable(&why);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    // A runner's project directory is open to other users (a private one
    // turns ccache off: sbuild's build user could not reach it).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = demo_cascade(work, &["demo", "init", "demo"]);
    assert!(out.status.success(), "{out:?}");
    let pkg = work.join("pkg");
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(work)
            .output()
            .unwrap();
        assert!(st.status.success(), "git {args:?}: {st:?}");
    };
    git(&[
        "clone",
        "-q",
        work.join("demo/git/packaging/demo-smi.git")
            .to_str()
            .unwrap(),
        "pkg",
    ]);
    std::fs::create_dir_all(pkg.join("ci")).unwrap();
    std::fs::write(pkg.join("ci/salsa.yml"), template("salsa.yml")).unwrap();
    std::fs::write(
        pkg.join(".gitlab-ci.yml"),
        "include:\n  - local: ci/salsa.yml\n",
    )
    .unwrap();
    let pkg_s = pkg.to_str().unwrap();
    git(&["-C", pkg_s, "add", "-A"]);
    git(&[
        "-C",
        pkg_s,
        "commit",
        "-q",
        "-m",
        "ci: include cascade's salsa.yml",
    ]);
    // CI_PROJECT_NAME (the template's CASCADE_PACKAGE) comes from origin.
    git(&[
        "-C",
        pkg_s,
        "remote",
        "set-url",
        "origin",
        "https://salsa.example.org/rocm-team/demo-smi.git",
    ]);
    let bin_dir = cascade_bin_dir(work);
    let recipes = format!("CASCADE_RECIPES={}", work.join("demo/recipes").display());
    let cache = format!("CASCADE_CACHE_DIR={}", work.join("cache").display());
    let args = real_run_args(
        &bin_dir,
        &[
            "--variable",
            &recipes,
            "--variable",
            &cache,
            // cascade is on PATH already: nothing to clone or install.
            "--variable",
            "CASCADE_SETUP=true",
            "cascade:bump",
            "build:amd64",
            "report",
        ],
    );
    let (passed, log) = gitlab_ci(&bin, &pkg, &args);
    assert!(passed, "{log}");
    for job in ["cascade:bump", "build:amd64", "report"] {
        assert!(log.contains(&format!(" PASS  {job}")), "{job}:\n{log}");
    }
    assert!(log.contains("bumped 7.1.0-1~exp1 → 7.2.4-1~exp1"), "{log}");
    let artifacts = pkg.join(".gitlab-ci-local/artifacts");
    let debs = deb_names(&artifacts.join("buildOgamd64"));
    assert!(
        debs.contains(&format!("demo-smi_{DEMO_VERSION}_amd64.deb")),
        "{debs:?}"
    );
    let report =
        cascade::report::Report::from_run(&artifacts.join("report/cascade-report/report.json"))
            .unwrap();
    assert_eq!(
        classes(&report),
        BTreeMap::from([("demo-smi/amd64".to_string(), "ok".to_string())])
    );
    let junit = artifacts.join("report/cascade-report/junit.xml");
    assert!(std::fs::read_to_string(junit).unwrap().contains("demo-smi"));
    // The build compiled through ccache in the job's directory, which the
    // template hands to GitLab's cache under the package and arch.
    let smi = report.cell("demo-smi", "amd64").unwrap();
    let cc = smi.stats.as_ref().and_then(|s| s.ccache.clone());
    let cc = cc.unwrap_or_else(|| panic!("no ccache statistics:\n{log}"));
    assert!(cc.hits + cc.misses + cc.uncacheable >= 1, "{cc:?}");
    let cached = find_dir(&pkg.join(".gitlab-ci-local"), "ccache-demo-smi-amd64");
    assert!(
        cached.is_some(),
        "no GitLab cache ccache-demo-smi-amd64:\n{log}"
    );
}

/// The first directory named `name` under `root`.
fn find_dir(root: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let path = entry.path();
        if !entry.file_type().ok()?.is_dir() {
            continue;
        }
        if entry.file_name() == name {
            return Some(path);
        }
        if let Some(found) = find_dir(&path, name) {
            return Some(found);
        }
    }
    None
}

/// The real recipes and stack file on their four arches, planned by
/// `cascade ci generate` against the fixture archive: 88 build jobs
/// (arch:all-only sources once, as `build:PKG:all`), `needs:` along the real
/// build DAG, the real runner tags, the report reaching every build through
/// collectors.
#[test]
#[ignore = "needs gitlab-ci-local"]
fn real_stack_pipeline_validates() {
    let cache = tempfile::tempdir().unwrap();
    let out = Cargo::cargo_bin("cascade")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("CASCADE_MIRROR")
        .args(["--recipes", "recipes", "ci", "generate"])
        .args(["--arch", "amd64,arm64,ppc64el,riscv64"])
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
    for arch in ["amd64", "arm64", "ppc64el", "riscv64"] {
        assert!(
            builds.contains(&format!("build:hipify:{arch}").as_str()),
            "no hipify build for {arch}: {builds:?}"
        );
    }
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
#[ignore = "needs gitlab-ci-local"]
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
#[ignore = "needs gitlab-ci-local"]
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
#[ignore = "needs gitlab-ci-local"]
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

/// The demo stack's porting pipeline on riscv64 (`ci generate --port`), run
/// for real under gitlab-ci-local, on the three sources that make a port's
/// story: demo-smi, whose Architecture field leaves riscv64 out, is widened
/// and built; demo-kernels, widened, fails as its recipe expects: its job
/// succeeds and the pipeline goes on, so demo-apps's job starts, receives
/// the failed result with the artifacts and records itself skipped instead
/// of building against .debs that are not there. The report job completes
/// the results from the pipeline's plan and publishes the porting report,
/// demo-apps blocked by demo-kernels, with nothing failing. (The rest of
/// the stack is left out: its riscv64 builds are the shared demo run's, and
/// `cascade port` on the whole stack is tests/port.rs's. An unexpected
/// failure failing a pipeline whose report still runs is
/// `a_failed_build_stops_its_dependents_and_the_report_still_sees_it`'s,
/// and the demo pipeline's with CASCADE_CI_DEMO_ARCHES=amd64,riscv64.)
#[test]
#[ignore = "needs sbuild and gitlab-ci-local"]
fn porting_pipeline_skips_the_dependents_of_an_expected_failure() {
    let Some(bin) = gitlab_ci_local() else { return };
    if let Some(why) = missing_prerequisite(SBUILD_TOOLS, &["amd64", "riscv64"]) {
        return unavailable(&why);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let port_story = ["demo-smi", "demo-kernels", "demo-apps"];
    let (_, yaml) = demo_pipeline(work, "riscv64", &["--port"], |s| port_story.contains(&s));
    let dir = repo(&[(".gitlab-ci.yml", &yaml)]);
    let bin_dir = cascade_bin_dir(work);
    let (passed, log) = gitlab_ci(&bin, dir.path(), &real_run_args(&bin_dir, &[]));
    assert!(passed, "demo-kernels's failure is expected:\n{log}");
    assert!(
        log.contains("demo-apps/riscv64: skipped: dependency demo-kernels failed on riscv64"),
        "{log}"
    );
    let artifacts = dir.path().join(".gitlab-ci-local/artifacts");
    assert!(
        deb_names(&artifacts.join("buildOgdemo-appsOgriscv64")).is_empty(),
        "demo-apps built nothing"
    );
    assert!(
        deb_names(&artifacts.join("buildOgdemo-smiOgriscv64"))
            .contains(&format!("demo-smi_{DEMO_VERSION}~port1_riscv64.deb")),
        "demo-smi widened and built"
    );
    let rep =
        cascade::report::Report::from_run(&artifacts.join("report/cascade-report/report.json"))
            .unwrap_or_else(|e| panic!("{e}\n{log}"));
    let cells = classes(&rep);
    for (cell, class) in [
        ("demo-smi/riscv64", "ok"),
        ("demo-kernels/riscv64", "expected-failure"),
        ("demo-apps/riscv64", "skipped"),
    ] {
        assert_eq!(
            cells.get(cell).map(String::as_str),
            Some(class),
            "{cell}: {cells:?}"
        );
    }
    let port = std::fs::read_to_string(artifacts.join("report/cascade-run/port.json"))
        .unwrap_or_else(|e| panic!("port.json: {e}\n{log}"));
    let port: serde_json::Value = serde_json::from_str(&port).unwrap();
    let riscv = &port["arches"][0];
    assert_eq!(riscv["blocked"][0]["source"], "demo-apps", "{port}");
    assert_eq!(riscv["blocked"][0]["by"][0], "demo-kernels", "{port}");
    assert_eq!(port["failing"], serde_json::json!([]), "{port}");
}

/// `cascade ci artifacts`: a build job passes on no test or debug packages,
/// and fails naming the budget when what is left is still too big (17.12).
#[test]
fn a_build_jobs_artifacts_leave_out_tests_and_keep_to_the_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("cascade-run");
    let amd64 = run.join("debs/amd64");
    std::fs::create_dir_all(&amd64).unwrap();
    std::fs::write(
        amd64.join("librocprim-dev_7.2.4-1_amd64.deb"),
        vec![0; 4000],
    )
    .unwrap();
    std::fs::write(
        amd64.join("librocprim-tests_7.2.4-1_amd64.deb"),
        vec![0; 9000],
    )
    .unwrap();
    let out = Cargo::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["ci", "artifacts", "--budget", "5K"])
        .env_remove("CASCADE_ARTIFACT_BUDGET")
        .env_remove("CASCADE_ARTIFACTS_ALL")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("left out 1 test, benchmark and debug-symbol packages"),
        "{out}"
    );
    assert!(amd64.join("librocprim-dev_7.2.4-1_amd64.deb").exists());
    assert!(!amd64.join("librocprim-tests_7.2.4-1_amd64.deb").exists());
    let err = Cargo::cargo_bin("cascade")
        .unwrap()
        .current_dir(tmp.path())
        .args(["ci", "artifacts"])
        .env("CASCADE_ARTIFACT_BUDGET", "3K")
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("would weigh 4.0 kB, over the budget of 3.0 kB"),
        "{err}"
    );
    assert!(err.contains("librocprim-dev_7.2.4-1_amd64.deb"), "{err}");
    assert!(
        !run.join("debs").exists(),
        "over budget, no .deb is passed on"
    );
}

/// Issue 13.4: the transition's child pipeline, run for real under
/// gitlab-ci-local on a copy of the shared demo run. `cascade transition`
/// analyses the run against the demo's old release (`cascade demo
/// archive`), keeping `demo-consumer` alone among the candidates; `cascade
/// ci generate --transition` turns that into one rebuild job and the
/// report job. gitlab-ci-local ignores `needs: pipeline:` (the parent
/// pipeline's build job and analysis job), so the repository holds what
/// their artifacts would: the run as `cascade-run/` and the analysis. The
/// rebuild job builds demo-consumer under sbuild against the run's .debs;
/// the report job merges its report over the analysis in every format.
#[test]
#[ignore = "needs sbuild and gitlab-ci-local"]
fn transition_pipeline_rebuilds_under_gitlab_ci_local() {
    let Some(bin) = gitlab_ci_local() else { return };
    let tools: Vec<&str> = SBUILD_TOOLS.iter().copied().chain(["cc"]).collect();
    if let Some(why) = missing_prerequisite(&tools, &["amd64"]) {
        return unavailable(&why);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o755)).unwrap();
    common::copy_of_the_demo_run(work);
    let out = demo_cascade(work, &["demo", "archive", "demo"]);
    assert!(out.status.success(), "{out:?}");
    let archive = work.join("demo/archive");
    let archive = archive.to_str().unwrap();
    let recipes = work.join("demo/recipes");
    let recipes = recipes.to_str().unwrap();
    let analysis = demo_cascade(
        work,
        &[
            "transition",
            "run",
            "--recipes",
            recipes,
            "--arch",
            "amd64",
            "--extra-archive",
            archive,
            "--allow-expired",
            "--no-verify-signature",
            "--include",
            "^demo-consumer$",
            "--no-installability",
            "--format",
            "json",
            "--out",
            "analysis.json",
        ],
    );
    assert!(analysis.status.success(), "{analysis:?}");
    let job_args = [archive, "--allow-expired", "--no-verify-signature"];
    let mut generate = vec![
        "--recipes",
        recipes,
        "ci",
        "generate",
        "--transition",
        "analysis.json",
        "--max-rebuilds",
        "1",
        "--out",
        "child.yml",
        "--transition-arg=--extra-archive",
    ];
    let job_args: Vec<String> = job_args
        .iter()
        .map(|a| format!("--transition-arg={a}"))
        .collect();
    generate.extend(job_args.iter().map(String::as_str));
    let out = demo_cascade(work, &generate);
    assert!(out.status.success(), "{out:?}");
    let yaml = std::fs::read_to_string(work.join("child.yml")).unwrap();
    let analysis = std::fs::read_to_string(work.join("analysis.json")).unwrap();
    let dir = repo(&[(".gitlab-ci.yml", &yaml), ("analysis.json", &analysis)]);
    let status = Command::new("cp")
        .args(["-a", "--reflink=auto"])
        .arg(work.join("run"))
        .arg(dir.path().join("cascade-run"))
        .status()
        .unwrap();
    assert!(status.success());
    // gitlab-ci-local hands a job the repository's tracked files only.
    for git in [&["add", "-A"][..], &["commit", "-q", "-m", "the run"]] {
        let st = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(git)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "git {git:?}");
    }
    let bin_dir = cascade_bin_dir(work);
    let args = real_run_args(&bin_dir, &[]);
    let (passed, log) = gitlab_ci(&bin, dir.path(), &args);
    assert!(passed, "{log}");
    for job in ["transition:demo-consumer:amd64", "transition:report"] {
        assert!(log.contains(&format!(" PASS  {job}")), "{job}:\n{log}");
    }
    let written = dir
        .path()
        .join(".gitlab-ci-local/artifacts/transitionOgreport/cascade-report");
    for file in ["junit.xml", "transition.html", "transition.md"] {
        assert!(written.join(file).is_file(), "{file}: {log}");
    }
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(written.join("transition.json")).unwrap()).unwrap();
    let a = &merged["arches"][0];
    assert_eq!(a["renames"][0]["new"], "libdemoruntime1", "the analysis");
    let rebuilt = a["rebuilt"].as_array().unwrap();
    assert_eq!(rebuilt.len(), 1, "{rebuilt:?}");
    assert_eq!(rebuilt[0]["source"], "demo-consumer");
    assert_eq!(rebuilt[0]["verdict"], "ok", "the job's rebuild");
    let md = std::fs::read_to_string(written.join("transition.md")).unwrap();
    assert!(md.contains("| demo-consumer | 1.0 | ok |"), "{md}");
}
