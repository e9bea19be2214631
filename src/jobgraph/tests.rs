use super::*;

fn arch(a: &str) -> Arch {
    Arch::new(a).unwrap()
}

fn src(source: &str, deps: &[&str]) -> PlannedSource {
    PlannedSource {
        source: source.into(),
        version: "1-1".into(),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        not_built: None,
        tested_with: Vec::new(),
    }
}

fn not_built(source: &str, why: &str) -> PlannedSource {
    PlannedSource {
        // As plan.json saves it.
        not_built: Some(NotBuiltReason::from(why.to_string())),
        ..src(source, &[])
    }
}

/// cmake (arch:all only) ← runtime (mixed) ← blas; smi excluded on riscv64.
fn demo() -> RunPlan {
    RunPlan {
        schema: SCHEMA.into(),
        host: Some(arch("amd64")),
        all_only: ["cmake".to_string()].into(),
        mixed: ["runtime".to_string()].into(),
        arches: vec![
            ArchSources {
                arch: arch("amd64"),
                sources: vec![
                    src("cmake", &[]),
                    src("smi", &[]),
                    src("runtime", &["cmake"]),
                    src("blas", &["cmake", "runtime"]),
                ],
                warm: Vec::new(),
            },
            ArchSources {
                arch: arch("riscv64"),
                sources: vec![
                    src("cmake", &[]),
                    src("runtime", &["cmake"]),
                    src("blas", &["cmake", "runtime"]),
                    not_built("smi", "Architecture: amd64"),
                ],
                warm: Vec::new(),
            },
        ],
    }
}

fn keys(g: &JobGraph) -> Vec<String> {
    g.nodes.iter().map(|n| n.key.to_string()).collect()
}

fn needs(g: &JobGraph, key: &str) -> Vec<String> {
    let n = g.nodes.iter().find(|n| n.key.to_string() == key).unwrap();
    n.needs.iter().map(|k| k.to_string()).collect()
}

#[test]
fn an_arch_all_only_source_builds_once_on_the_host_and_every_arch_needs_it() {
    let g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    assert_eq!(
        keys(&g),
        [
            "cmake/all",
            "smi/amd64",
            "runtime/amd64",
            "blas/amd64",
            "runtime/riscv64",
            "blas/riscv64"
        ]
    );
    let cmake = g.node_of(&JobKey::new("cmake", Arch::ALL)).unwrap();
    assert_eq!((cmake.build_arch.as_str(), cmake.arch_all), ("amd64", true));
    assert_eq!(needs(&g, "runtime/riscv64"), ["cmake/all"]);
}

#[test]
fn a_mixed_sources_other_arch_dependents_wait_for_its_host_job() {
    let g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    assert_eq!(
        needs(&g, "blas/riscv64"),
        ["cmake/all", "runtime/riscv64", "runtime/amd64"]
    );
    assert_eq!(needs(&g, "blas/amd64"), ["cmake/all", "runtime/amd64"]);
    let on = |k: &str| g.nodes.iter().find(|n| n.key.to_string() == k).unwrap();
    assert!(on("runtime/amd64").arch_all);
    assert!(!on("runtime/riscv64").arch_all);
}

#[test]
fn without_the_host_arch_all_jobs_come_from_the_first_arch_and_build_on_the_host() {
    let mut plan = demo();
    plan.arches.remove(0);
    let g = JobGraph::new(&plan, &arch("amd64")).unwrap();
    assert_eq!(g.all_from.as_str(), "riscv64");
    assert_eq!(keys(&g), ["cmake/all", "runtime/riscv64", "blas/riscv64"]);
    let cmake = g.node_of(&JobKey::new("cmake", Arch::ALL)).unwrap();
    assert_eq!(cmake.build_arch.as_str(), "amd64");
    // No host job: the mixed source's arch:all binaries are not built here.
    assert_eq!(needs(&g, "blas/riscv64"), ["cmake/all", "runtime/riscv64"]);
}

#[test]
fn what_is_not_a_job_says_why() {
    let mut plan = demo();
    // cmake is not buildable on the host: its riscv64 dependents are blocked.
    plan.arches[0].sources[0] = not_built("cmake", "blocked: missing from the archive: x");
    let g = JobGraph::new(&plan, &arch("amd64")).unwrap();
    let name = |k: &JobKey| format!("build:{}:{}", k.source, k.arch);
    let why: Vec<String> = g
        .not_built
        .iter()
        .map(|n| format!("{} {}", n.key, n.why.pipeline_text(name)))
        .collect();
    assert_eq!(
        why,
        [
            "cmake/all blocked: missing from the archive: x",
            "smi/riscv64 excluded: Architecture: amd64",
            "runtime/amd64 blocked: needs build:cmake:all, which this pipeline does not build",
            "blas/amd64 blocked: needs build:cmake:all, which this pipeline does not build",
            "runtime/riscv64 blocked: needs build:cmake:all, which this pipeline does not build",
            "blas/riscv64 blocked: needs build:cmake:all, which this pipeline does not build",
        ]
    );
    assert_eq!(keys(&g), ["smi/amd64"]);
}

#[test]
fn a_selection_drops_needs_outside_it() {
    let g = JobGraph::select(&demo(), &arch("amd64"), |s, _| s == "blas").unwrap();
    assert_eq!(keys(&g), ["blas/amd64", "blas/riscv64"]);
    assert!(needs(&g, "blas/riscv64").is_empty());
}

#[test]
fn upstream_walks_needs_depth_first() {
    let g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    let up: Vec<String> = g
        .upstream(&JobKey::new("blas", arch("riscv64")))
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(up, ["cmake/all", "runtime/riscv64", "runtime/amd64"]);
}

#[test]
fn a_cycle_is_an_error() {
    let mut plan = demo();
    plan.arches[0].sources[2] = src("runtime", &["blas"]);
    let err = JobGraph::new(&plan, &arch("amd64")).unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
}

/// A plan.json written before the reasons were typed: the blocked reason
/// loads as blocked, the exclusion as excluded, and the plan saves again
/// byte for byte.
#[test]
fn an_old_plan_json_loads_its_reasons_typed_and_saves_unchanged() {
    let old = r#"{"schema":"cascade-run-plan/1","all_only":[],"arches":[{"arch":"riscv64","sources":[{"source":"demo-runtime","version":"7.2.4-1~exp1"},{"source":"demo-apps","version":"7.2.4-1~exp1","not_built":"blocked: missing from the archive: libdemokernels-dev"},{"source":"demo-smi","version":"7.2.4-1~exp1","not_built":"Architecture: amd64 arm64 ppc64el"}]}]}
"#;
    let plan: RunPlan = serde_json::from_str(old).unwrap();
    let reasons: Vec<_> = plan.arches[0]
        .sources
        .iter()
        .map(|s| s.not_built.clone())
        .collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(NotBuiltReason::Blocked(
                "missing from the archive: libdemokernels-dev".into()
            )),
            Some(NotBuiltReason::Excluded(
                "Architecture: amd64 arm64 ppc64el".into()
            )),
        ]
    );
    assert_eq!(plan.to_json(), old);
    let graph = JobGraph::new(&plan, &arch("riscv64")).unwrap();
    let why = |s: &str| &graph.why_not(&JobKey::new(s, arch("riscv64"))).unwrap().why;
    assert!(!why("demo-apps").is_exclusion());
    assert!(why("demo-smi").is_exclusion());
}

/// An old result file of a blocked source: still blocked, saved unchanged.
#[test]
fn an_old_blocked_result_loads_blocked_and_saves_unchanged() {
    let old =
        r#"{"class":"excluded","reason":"blocked: missing from the archive: libdemokernels-dev"}"#;
    let outcome: crate::events::Outcome = serde_json::from_str(old).unwrap();
    let crate::events::Outcome::Excluded { reason } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.is_blocked());
    assert_eq!(
        reason.text(),
        "missing from the archive: libdemokernels-dev"
    );
    assert_eq!(serde_json::to_string(&outcome).unwrap(), old);
}

#[test]
fn each_build_gets_a_test_job_that_needs_it_alone_on_its_build_arch() {
    let mut g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    g.add_tests();
    let tests: Vec<String> = (g.nodes.iter())
        .filter(|n| n.kind == JobKind::Test)
        .map(|n| n.key.to_string())
        .collect();
    assert_eq!(
        tests,
        [
            "cmake/all:test",
            "smi/amd64:test",
            "runtime/amd64:test",
            "blas/amd64:test",
            "runtime/riscv64:test",
            "blas/riscv64:test"
        ]
    );
    assert_eq!(needs(&g, "blas/riscv64:test"), ["blas/riscv64"]);
    // An arch:all job's tests run on the host, where it was built.
    let cmake = g.node_of(&JobKey::new("cmake", Arch::ALL).test()).unwrap();
    assert_eq!(cmake.build_arch.as_str(), "amd64");
}

#[test]
fn tests_are_leaves() {
    let mut g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    g.add_tests();
    let needed: Vec<&JobKey> = g.nodes.iter().flat_map(|n| &n.needs).collect();
    assert!(!needed.is_empty());
    assert!(needed.iter().all(|k| !k.is_test()), "{needed:?}");
}

/// The schedule of `g`'s nodes as the runner makes it.
fn schedule_of(g: &JobGraph) -> crate::schedule::Schedule {
    let specs = (g.nodes.iter())
        .map(|n| crate::schedule::JobSpec {
            key: n.key.clone(),
            deps: n.needs.clone(),
            weight: 1,
            memory: 0,
        })
        .collect();
    let limits = crate::schedule::Limits {
        jobs: 1,
        memory: None,
    };
    crate::schedule::Schedule::new(specs, limits).unwrap()
}

#[test]
fn a_failed_build_skips_its_test_and_its_dependents_tests_but_a_failed_test_skips_nothing() {
    let mut g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    g.add_tests();
    let mut s = schedule_of(&g);
    let mut skipped = Vec::new();
    while let Some(k) = s.start_next() {
        let fails = k.to_string() == "runtime/riscv64" || k.is_test();
        skipped.extend(s.finish(&k, !fails).into_iter().map(|x| x.job.to_string()));
    }
    skipped.sort();
    assert_eq!(
        skipped,
        ["blas/riscv64", "blas/riscv64:test", "runtime/riscv64:test"]
    );
}

#[test]
fn a_test_waits_for_its_own_build_not_for_the_stack() {
    let mut g = JobGraph::new(&demo(), &arch("amd64")).unwrap();
    g.add_tests();
    let mut s = schedule_of(&g);
    let cmake = JobKey::new("cmake", Arch::ALL);
    while let Some(k) = s.start_next() {
        s.finish(&k, true);
        if k == cmake {
            break;
        }
    }
    let ready: Vec<String> = s.ready().iter().map(|k| k.to_string()).collect();
    assert!(ready.contains(&"cmake/all:test".to_string()), "{ready:?}");
}

fn info(name: &str, binaries: &[(&str, &str)], triggers: &[&str]) -> crate::control::SourceInfo {
    let mut text = format!("Source: {name}\n");
    for (b, archs) in binaries {
        text.push_str(&format!("\nPackage: {b}\nArchitecture: {archs}\n"));
    }
    let mut i = crate::control::SourceInfo::from_control_str(&text, "c").unwrap();
    i.testsuite_triggers = triggers.iter().map(|t| t.to_string()).collect();
    i
}

/// smi's tests name runtime's library and a binary of the archive; blas's
/// name its own package; cmake's name smi's tool, which riscv64 lacks.
fn triggered() -> RunPlan {
    let infos = [
        info("cmake", &[("cmake-data", "all")], &["smi-tool"]),
        info(
            "runtime",
            &[("libruntime1", "any"), ("runtime-doc", "all")],
            &[],
        ),
        info("blas", &[("libblas1", "any")], &["libblas1"]),
        info("smi", &[("smi-tool", "amd64")], &["libruntime1", "python3"]),
    ];
    let mut plan = demo();
    plan.add_test_triggers(&infos);
    plan
}

#[test]
fn tests_name_the_stack_sources_whose_binaries_their_triggers_are() {
    let plan = triggered();
    let with = |a: usize, s: &str| {
        let p = plan.arches[a].sources.iter().find(|p| p.source == s);
        p.unwrap().tested_with.clone()
    };
    assert_eq!(with(0, "smi"), ["runtime"]);
    assert_eq!(with(0, "cmake"), ["smi"]);
    // Its own binaries, the archive's and what the arch lacks: nothing.
    assert!(with(0, "blas").is_empty());
    assert!(with(1, "cmake").is_empty());
    // plan.json stays as it was without triggers.
    assert!(!demo().to_json().contains("tested_with"));
    assert!(plan.to_json().contains(r#""tested_with":["runtime"]"#));
}

#[test]
fn a_test_also_waits_for_the_builds_its_triggers_name_and_is_skipped_by_their_failure() {
    let mut g = JobGraph::new(&triggered(), &arch("amd64")).unwrap();
    g.add_tests();
    assert_eq!(needs(&g, "smi/amd64:test"), ["smi/amd64", "runtime/amd64"]);
    // cmake's test runs on the host, where smi's tool is.
    assert_eq!(needs(&g, "cmake/all:test"), ["cmake/all", "smi/amd64"]);
    assert_eq!(needs(&g, "blas/amd64:test"), ["blas/amd64"]);
    let triggers = g.test_triggers();
    assert_eq!(
        triggers[&JobKey::new("smi", arch("amd64"))],
        [JobKey::new("runtime", arch("amd64"))]
    );
    let mut s = schedule_of(&g);
    let mut skipped = Vec::new();
    while let Some(k) = s.start_next() {
        let fails = k.to_string() == "runtime/amd64";
        skipped.extend(s.finish(&k, !fails).into_iter().map(|x| x.job.to_string()));
    }
    skipped.sort();
    assert_eq!(
        skipped,
        [
            "blas/amd64",
            "blas/amd64:test",
            // runtime's arch:all .debs come from its amd64 job.
            "blas/riscv64",
            "blas/riscv64:test",
            "runtime/amd64:test",
            "smi/amd64:test"
        ]
    );
    // A selection without runtime: smi's test needs only its own build.
    let plan = triggered();
    let g = JobGraph::select(&plan, &arch("amd64"), |s, _| s != "runtime" && s != "blas").unwrap();
    let mut g = g;
    g.add_tests();
    assert_eq!(needs(&g, "smi/amd64:test"), ["smi/amd64"]);
}
