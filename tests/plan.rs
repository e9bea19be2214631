//! `cascade plan` of the real recipes against the fixture archive
//! (tests/fixtures/archive: sid and experimental trimmed to what the stack
//! needs, four arches), snapshot-tested in text and JSON.

use assert_cmd::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `cascade plan ARGS` on the real recipes and the fixture archive,
/// with a fresh cache, and returns stdout.
fn plan(args: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(ROOT)
        .env_remove("CASCADE_MIRROR")
        .args(["--recipes", "recipes", "plan"])
        .args(["--mirror", "tests/fixtures/archive", "--allow-expired"])
        .arg("--cache-dir")
        .arg(cache.path())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "cascade plan {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&plan(&a)).unwrap()
}

#[test]
fn amd64_text() {
    insta::assert_snapshot!(plan(&["--arch", "amd64"]));
}

#[test]
fn riscv64_text() {
    insta::assert_snapshot!(plan(&["--arch", "riscv64"]));
}

#[test]
fn amd64_json() {
    insta::assert_snapshot!(plan(&["--arch", "amd64", "--format", "json"]));
}

#[test]
fn riscv64_json() {
    insta::assert_snapshot!(plan(&["--arch", "riscv64", "--format", "json"]));
}

#[test]
fn riscv64_port_text_tries_excluded_sources_roots_first() {
    let out = plan(&["--port", "--arch", "riscv64"]);
    insta::assert_snapshot!(out);
}

/// Architecture: all-only sources are built once, on the host arch, and
/// are never "tried anyway" elsewhere; their binaries count everywhere.
#[test]
fn arch_all_only_sources_are_never_widened() {
    let doc = json(&["--port", "--arch", "amd64,riscv64"]);
    for arch in doc["arches"].as_array().unwrap() {
        for name in ["rocm-cmake", "half", "pkg-rocm-tools", "rocm-docs-core"] {
            let s = arch["sources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("{name} missing on {}", arch["arch"]));
            assert_eq!(s["status"], "buildable", "{name} on {}", arch["arch"]);
            assert!(s.get("widened").is_none(), "{name} widened: {s}");
        }
    }
}

#[test]
fn no_indep_drops_arch_all_only_sources() {
    let doc = json(&["--arch", "amd64", "--no-indep"]);
    let names: Vec<&str> = doc["arches"][0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"rocm-cmake"), "{names:?}");
    assert!(names.contains(&"rocblas"), "{names:?}");
}

/// The DOT graph has the plan's nodes and edges, arch by arch: every edge
/// of the JSON plan, plus, for a source a dependency made unbuildable, the
/// dashed link to the first source of its chain (issue 12.6: not just any
/// digraph).
#[test]
fn dot_has_the_plans_nodes_and_edges() {
    use std::collections::BTreeSet;
    let args = ["--arch", "amd64,riscv64"];
    let out = plan(&[&args[..], &["--format", "dot"]].concat());
    let doc = json(&args);
    let quoted = |line: &str| -> Vec<String> {
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut nodes = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for line in out.lines().map(str::trim) {
        let q = quoted(line);
        if line.contains(" -> ") {
            edges.insert((q[0].clone(), q[1].clone()));
        } else if line.contains(" [label=") {
            nodes.insert(q[0].clone());
        }
    }
    let (mut want_nodes, mut want_edges) = (BTreeSet::new(), BTreeSet::new());
    for a in doc["arches"].as_array().unwrap() {
        let arch = a["arch"].as_str().unwrap();
        let id = |name: &serde_json::Value| format!("{arch}/{}", name.as_str().unwrap());
        for e in a["edges"].as_array().unwrap() {
            want_edges.insert((id(&e["from"]), id(&e["to"])));
        }
        for s in a["sources"].as_array().unwrap() {
            want_nodes.insert(id(&s["name"]));
            if s["reason"]["kind"] == "dependency" {
                let first = &s["reason"]["chain"][0]["source"];
                want_edges.insert((id(&s["name"]), id(first)));
            }
        }
    }
    assert_eq!(nodes, want_nodes);
    assert_eq!(edges, want_edges);
    assert!(edges.len() > 50, "{} edges", edges.len());
    assert!(out.trim_start().starts_with("digraph"), "{out}");
}

/// Graphviz reads the DOT output (run-tests installs graphviz).
#[test]
#[ignore = "needs graphviz"]
fn dot_is_read_by_graphviz() {
    use std::io::Write;
    let out = plan(&["--arch", "amd64,riscv64", "--format", "dot"]);
    let mut dot = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("graphviz's `dot` runs (apt install graphviz)");
    dot.stdin.take().unwrap().write_all(out.as_bytes()).unwrap();
    let r = dot.wait_with_output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn a_checkout_replaces_the_archive_control_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("debian")).unwrap();
    // rocm-core, now buildable everywhere and build-depending on rocblas.
    std::fs::write(
        dir.path().join("debian/control"),
        "Source: rocm-core\nBuild-Depends: debhelper-compat (= 13), librocblas-dev\n\n\
         Package: librocm-core1\nArchitecture: any\n",
    )
    .unwrap();
    let checkout = format!("rocm-core={}", dir.path().display());
    let doc = json(&["--arch", "amd64", "--checkout", &checkout]);
    let core = doc["arches"][0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "rocm-core")
        .unwrap()
        .clone();
    assert_eq!(core["depends_on"], serde_json::json!(["rocblas"]), "{core}");
    // --from-archive ignores it.
    let doc = json(&["--arch", "amd64", "--checkout", &checkout, "--from-archive"]);
    let core = doc["arches"][0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "rocm-core")
        .unwrap()
        .clone();
    assert_eq!(core["depends_on"], serde_json::json!([]), "{core}");
}

#[test]
fn a_source_missing_everywhere_is_named() {
    let recipes = tempfile::tempdir().unwrap();
    std::fs::copy(
        format!("{ROOT}/recipes/stack.yaml"),
        recipes.path().join("stack.yaml"),
    )
    .unwrap();
    let rocm_core = std::fs::read_to_string(format!("{ROOT}/recipes/rocm-core.yaml")).unwrap();
    std::fs::write(
        recipes.path().join("nosuch.yaml"),
        rocm_core.replace("source: rocm-core", "source: nosuch"),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(ROOT)
        .arg("--recipes")
        .arg(recipes.path())
        .args([
            "plan",
            "--mirror",
            "tests/fixtures/archive",
            "--allow-expired",
        ])
        .arg("--cache-dir")
        .arg(cache.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("nosuch: no control data"));
}

/// `plan --suite sid` (what unstable can build today) marks the stack
/// sources sid lacks as not in this suite and plans the rest (issue 17.9).
#[test]
fn a_suite_without_some_sources_plans_the_rest() {
    let out = plan(&["--suite", "sid", "--arch", "amd64"]);
    assert!(out.contains("aqlprofile: not in this suite (sid)"), "{out}");
    assert!(out.contains("rocblas 6.4.4-4"), "{out}");
}

#[test]
fn a_checkouts_malformed_tests_control_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("debian/tests")).unwrap();
    std::fs::write(
        dir.path().join("debian/control"),
        "Source: rocm-core\nBuild-Depends: debhelper-compat (= 13)\n\n\
         Package: librocm-core1\nArchitecture: any\n",
    )
    .unwrap();
    let tests = dir.path().join("debian/tests/control");
    std::fs::write(
        &tests,
        "Tests: smoke\nDepends: librocm-core1\nRestrictions skippable\n",
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(ROOT)
        .env_remove("CASCADE_MIRROR")
        .args(["--recipes", "recipes", "plan", "--arch", "amd64"])
        .args(["--mirror", "tests/fixtures/archive", "--allow-expired"])
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--checkout")
        .arg(format!("rocm-core={}", dir.path().display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3:", tests.display())),
        "{stderr}"
    );
    // A well-formed one gives the plan its triggers, as the .dsc would.
    std::fs::write(&tests, "Tests: smoke\nDepends: librocm-core1, rocminfo\n").unwrap();
    let doc = json(&[
        "--arch",
        "amd64",
        "--checkout",
        &format!("rocm-core={}", dir.path().display()),
    ]);
    assert!(doc["arches"][0]["sources"].is_array(), "{doc}");
}
