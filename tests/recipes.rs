//! `cascade check` on the real recipes and on every kind of bad recipe: exit
//! code 2 and a message naming file, line, column and field, never a panic.

use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;

const STACK: &str = "\
name: test
suite: experimental
base_suite: unstable
mirror: http://deb.debian.org/debian
architectures: [amd64, arm64, riscv64]
modes:
  amd64: native
runner_tags:
  amd64: [amd64]
port: [riscv64]
";

const GOOD: &str = "\
source: rocblas
packaging:
  repo: https://salsa.debian.org/rocm-team/rocblas.git
  branch: debian/experimental
upstream:
  repo: https://github.com/ROCm/rocm-libraries
  tag: rocm-7.2.4
version: \"{upstream}-1~exp1\"
architectures: [amd64, arm64]
";

/// Runs `cascade --recipes DIR check`.
fn check(dir: &Path) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("cascade")
        .env_remove("CASCADE_RECIPES")
        .arg("--recipes")
        .arg(dir)
        .arg("check")
        .assert()
}

/// A recipes dir holding `stack` and the given recipe files.
fn recipes(stack: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), stack).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// Checks a bad recipes dir: exit 2, no panic, and each `expected` string
/// (a `FILE:LINE:COL: field `F`` prefix and message words) in stderr.
fn fails_with(stack: &str, files: &[(&str, &str)], expected: &[&str]) {
    let dir = recipes(stack, files);
    let out = check(dir.path()).code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.replace(&format!("{}/", dir.path().display()), "");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "expected `{e}` in:\n{stderr}");
    }
}

#[test]
fn the_real_recipes_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes");
    let out = check(&dir).success().get_output().clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "ok: stack rocm-7.2.4 (experimental on unstable), 41 recipes, \
         architectures amd64 arm64 ppc64el riscv64"
    );
}

#[test]
fn a_good_small_stack() {
    let dir = recipes(STACK, &[("rocblas.yaml", GOOD)]);
    check(dir.path()).success();
}

#[test]
fn yaml_syntax_error() {
    let bad = GOOD.replace(
        "architectures: [amd64, arm64]",
        "architectures: [amd64, arm64",
    );
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:10:1: YAML syntax error"],
    );
}

#[test]
fn unknown_field() {
    let bad = GOOD.replace("  branch:", "  brnach:");
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:4:3: field `packaging.brnach`: unknown field `brnach`"],
    );
}

#[test]
fn wrong_type() {
    let bad = GOOD.replace("architectures: [amd64, arm64]", "architectures: amd64");
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:9:1: field `architectures`: invalid type: string \"amd64\""],
    );
}

#[test]
fn missing_field() {
    let bad = GOOD.replace("version: \"{upstream}-1~exp1\"\n", "");
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:1:1: field `version`: missing field `version`"],
    );
}

#[test]
fn unknown_architecture() {
    let bad = GOOD.replace("[amd64, arm64]", "[amd64, riscv]");
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:9:24: field `architectures[1]`: unknown architecture `riscv`"],
    );
}

#[test]
fn unknown_architecture_in_the_stack() {
    let bad = STACK.replace("  amd64: native", "  x86_64: native");
    fails_with(
        &bad,
        &[],
        &[
            "stack.yaml:7:3: field `modes",
            "unknown architecture `x86_64`",
        ],
    );
}

#[test]
fn duplicate_source_names_both_files() {
    fails_with(
        STACK,
        &[("rocblas.yaml", GOOD), ("rocblas2.yaml", GOOD)],
        &["rocblas2.yaml:1:1: field `source`: source `rocblas` is already defined in rocblas.yaml"],
    );
}

#[test]
fn source_differs_from_file_name() {
    fails_with(
        STACK,
        &[("hipblas.yaml", GOOD)],
        &["hipblas.yaml:1:1: field `source`: source `rocblas` differs from the file name"],
    );
}

#[test]
fn malformed_tag() {
    for (tag, why) in [
        ("\"\"", "empty"),
        ("\"rocm 7.2.4\"", "spaces"),
        ("rocm..7", "`..`"),
        ("rocm~7", "`~`"),
        ("rocm-7.lock", ".lock"),
    ] {
        let bad = GOOD.replace("tag: rocm-7.2.4", &format!("tag: {tag}"));
        fails_with(
            STACK,
            &[("rocblas.yaml", &bad)],
            &["rocblas.yaml:7:3: field `upstream.tag`: ", why],
        );
    }
}

#[test]
fn malformed_version_template() {
    for (template, why) in [
        ("7.2.4-1", "exactly once"),
        ("{upstream}", "no Debian revision"),
        ("{upstream}+dfsg", "no Debian revision"),
        ("{upstream}-1 exp", "not a Debian version"),
        ("e:{upstream}-1", "epoch"),
    ] {
        let bad = GOOD.replace("{upstream}-1~exp1", template);
        fails_with(
            STACK,
            &[("rocblas.yaml", &bad)],
            &["rocblas.yaml:8:1: field `version`: ", why],
        );
    }
}

#[test]
fn expected_failure_and_port_arches() {
    let bad = format!(
        "{GOOD}expected_failures:\n  ppc64el:\n    reason: no such arch here\nport:\n  s390x: {{}}\n"
    );
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &[
            "rocblas.yaml:11:3: field `expected_failures.ppc64el`: ",
            "rocblas.yaml:14:3: field `port.s390x`: ",
        ],
    );
}

#[test]
fn stack_modes_and_runner_tags_outside_its_architectures() {
    let bad = STACK
        .replace("  amd64: native", "  amd64: native\n  ppc64el: qemu")
        .replace("  amd64: [amd64]", "  amd64: [amd64]\n  s390x: [s390x]");
    fails_with(
        &bad,
        &[],
        &[
            "stack.yaml:8:3: field `modes.ppc64el`: architecture `ppc64el` is not in `architectures`",
            "stack.yaml:11:3: field `runner_tags.s390x`: ",
        ],
    );
}

#[test]
fn empty_architectures() {
    let bad = GOOD.replace("[amd64, arm64]", "[]");
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:9:1: field `architectures`: the list is empty"],
    );
    let bad = STACK.replace("[amd64, arm64, riscv64]", "[]");
    fails_with(
        &bad,
        &[],
        &["stack.yaml:5:1: field `architectures`: the list is empty"],
    );
}

#[test]
fn every_problem_is_reported() {
    let a = GOOD
        .replace("rocblas", "hipblas")
        .replace("tag: rocm-7.2.4", "tag: a..b");
    let b = GOOD.replace("  branch:", "  brnach:");
    fails_with(
        STACK,
        &[("hipblas.yaml", &a), ("rocblas.yaml", &b)],
        &[
            "2 problems in the recipes",
            "hipblas.yaml:7:3: field `upstream.tag`",
            "rocblas.yaml:4:3: field `packaging.brnach`",
        ],
    );
}

#[test]
fn missing_directory_and_stack_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(&dir.path().join("nope")).code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read the recipes directory"),
        "{stderr}"
    );
    let out = check(dir.path()).code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no stack.yaml"), "{stderr}");
}

#[test]
fn key_given_twice() {
    let bad = GOOD.replace("version:", "upstream:\n  repo: x\n  tag: y\nversion:");
    fails_with(
        STACK,
        &[("rocblas.yaml", &bad)],
        &["rocblas.yaml:8:1: field `upstream`: given twice (first on line 5)"],
    );
}

/// A `*.yaml` that is a directory or a symlink loop is named, not skipped
/// (issue 17.9).
#[test]
fn a_yaml_that_is_not_a_file_is_named() {
    let dir = recipes(STACK, &[("rocblas.yaml", GOOD)]);
    std::fs::create_dir(dir.path().join("hipblas.yaml")).unwrap();
    let out = check(dir.path()).code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hipblas.yaml is not a regular file"),
        "{stderr}"
    );
    std::fs::remove_dir(dir.path().join("hipblas.yaml")).unwrap();
    let looped = dir.path().join("loop.yaml");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let out = check(dir.path()).code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loop.yaml"), "{stderr}");
    assert!(stderr.contains("symbolic links"), "{stderr}");
}
