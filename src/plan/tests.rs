use std::collections::BTreeSet;

use super::*;

fn src(name: &str, binaries: &[&str], deps: &[&str]) -> SourceInput {
    SourceInput {
        name: name.to_string(),
        version: "1.0-1".to_string(),
        arch_exclusion: None,
        binaries: binaries.iter().map(|s| s.to_string()).collect(),
        provides: Vec::new(),
        // `a | b` in one string is an OR-group.
        build_deps: deps
            .iter()
            .map(|g| g.split(" | ").map(alt).collect())
            .collect(),
        bootstrap: false,
    }
}

/// `name` or `name (op version)`.
fn alt(text: &str) -> Alternative {
    match text.split_once(" (") {
        None => Alternative::new(text),
        Some((name, rest)) => {
            let (op, version) = rest.trim_end_matches(')').split_once(' ').unwrap();
            Alternative {
                version: Some(VersionReq {
                    op: crate::control::Op::parse(op).unwrap(),
                    version: version.into(),
                }),
                ..Alternative::new(name)
            }
        }
    }
}

fn archive(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn excluded_by_arch(mut s: SourceInput) -> SourceInput {
    s.arch_exclusion = Some("Architecture: amd64 arm64 ppc64el".into());
    s
}

fn run(sources: &[SourceInput], archive_has: &[&str]) -> ArchPlan {
    plan_arch(
        "riscv64",
        sources,
        &archive(archive_has),
        Options::default(),
    )
}

fn waves(p: &ArchPlan) -> Vec<Vec<&str>> {
    p.waves
        .iter()
        .map(|w| w.iter().map(String::as_str).collect())
        .collect()
}

#[test]
fn simple_chain() {
    let p = run(
        &[
            src("c", &["libc-dev"], &["libb-dev", "debhelper-compat (= 13)"]),
            src("a", &["liba-dev"], &["debhelper-compat"]),
            src("b", &["libb-dev"], &["liba-dev"]),
        ],
        &["debhelper-compat"],
    );
    assert_eq!(waves(&p), vec![vec!["a"], vec!["b"], vec!["c"]]);
    assert_eq!(p.order, vec!["a", "b", "c"]);
    assert!(p.excluded.is_empty() && p.blocked.is_empty() && p.cycles.is_empty());
    assert_eq!(p.source("b").unwrap().depends_on, vec!["a"]);
    assert_eq!(p.source("b").unwrap().wave, Some(2));
}

#[test]
fn diamond_waves_and_ties_by_name() {
    let p = run(
        &[
            src("top", &["top"], &["right", "left"]),
            src("right", &["right"], &["base"]),
            src("left", &["left"], &["base"]),
            src("base", &["base"], &[]),
        ],
        &[],
    );
    assert_eq!(
        waves(&p),
        vec![vec!["base"], vec!["left", "right"], vec!["top"]]
    );
    assert_eq!(p.order, vec!["base", "left", "right", "top"]);
    assert_eq!(p.edges.len(), 4);
}

#[test]
fn or_group_falls_back_to_archive() {
    // `hipcc` is built by an excluded stack source; the second alternative is
    // in the archive.
    let p = run(
        &[
            excluded_by_arch(src("rocm-hipamd", &["hipcc"], &[])),
            src("rocprim", &["rocprim-dev"], &["hipcc | clang"]),
        ],
        &["clang"],
    );
    let rocprim = p.source("rocprim").unwrap();
    assert_eq!(rocprim.status, Status::Buildable);
    assert_eq!(
        rocprim.build_deps[0].choice,
        Choice::Archive {
            alternative: 1,
            package: "clang".into(),
            instead_of: None
        }
    );
    assert!(rocprim.depends_on.is_empty());
}

#[test]
fn or_group_prefers_stack_over_archive() {
    let p = run(
        &[
            src("rocm-hipamd", &["hipcc"], &[]),
            src("rocprim", &["rocprim-dev"], &["hipcc | clang"]),
        ],
        &["clang", "hipcc"],
    );
    assert_eq!(p.source("rocprim").unwrap().depends_on, vec!["rocm-hipamd"]);
    assert_eq!(p.order, vec!["rocm-hipamd", "rocprim"]);
}

#[test]
fn provides_of_a_stack_source_make_an_edge() {
    let mut llvm = src("rocm-llvm", &["llvm-rocm"], &[]);
    llvm.provides = vec!["rocm-device-libs".into()];
    let p = run(&[llvm, src("hip", &["hip"], &["rocm-device-libs"])], &[]);
    assert_eq!(p.source("hip").unwrap().depends_on, vec!["rocm-llvm"]);
}

#[test]
fn excluded_by_architecture() {
    let p = run(
        &[excluded_by_arch(src("rocm-hipamd", &["hipcc"], &["cmake"]))],
        &[],
    );
    assert!(p.order.is_empty());
    assert_eq!(
        p.excluded,
        vec![Unbuildable {
            source: "rocm-hipamd".into(),
            reason: Reason::Architecture {
                field: "Architecture: amd64 arm64 ppc64el".into()
            }
        }]
    );
    // Nothing is resolved for a source that doesn't build here: no frontier.
    assert!(p.frontier.is_empty());
    assert!(p.source("rocm-hipamd").unwrap().build_deps.is_empty());
}

#[test]
fn transitive_exclusion_gives_the_chain() {
    let p = run(
        &[
            excluded_by_arch(src("rocm-hipamd", &["hipcc"], &[])),
            src("rocblas", &["librocblas-dev"], &["hipcc"]),
            src("hipblas", &["libhipblas-dev"], &["librocblas-dev"]),
            src("unrelated", &["x"], &[]),
        ],
        &[],
    );
    assert_eq!(p.order, vec!["unrelated"]);
    let names: Vec<&str> = p.excluded.iter().map(|u| u.source.as_str()).collect();
    assert_eq!(names, vec!["hipblas", "rocblas", "rocm-hipamd"]);
    let root = Root::Architecture {
        field: "Architecture: amd64 arm64 ppc64el".into(),
    };
    assert_eq!(
        p.source("hipblas").unwrap().reason,
        Some(Reason::Dependency {
            chain: vec![
                Link {
                    package: "librocblas-dev".into(),
                    source: "rocblas".into()
                },
                Link {
                    package: "hipcc".into(),
                    source: "rocm-hipamd".into()
                },
            ],
            root: root.clone(),
        })
    );
    assert_eq!(
        render::reason_text(
            "rocblas",
            p.source("rocblas").unwrap().reason.as_ref().unwrap()
        ),
        "rocblas → hipcc (built by rocm-hipamd, excluded: Architecture: amd64 arm64 ppc64el)"
    );
    // Not the porting frontier: the stack has hipcc, only not here.
    assert!(p.frontier.is_empty());
}

#[test]
fn missing_archive_dependency_is_the_frontier() {
    let p = run(
        &[
            src(
                "rocm-llvm",
                &["llvm-rocm"],
                &["libzstd-dev", "libelf-dev | libelf1-dev"],
            ),
            src(
                "rocr-runtime",
                &["libhsa-runtime-dev"],
                &["llvm-rocm", "libelf-dev | libelf1-dev"],
            ),
            src("rocm-cmake", &["rocm-cmake"], &[]),
        ],
        &["libzstd-dev"],
    );
    assert_eq!(p.order, vec!["rocm-cmake"]);
    assert_eq!(
        p.frontier,
        vec![Missing {
            package: "libelf-dev | libelf1-dev".into(),
            needed_by: vec!["rocm-llvm".into(), "rocr-runtime".into()],
        }]
    );
    assert_eq!(
        p.source("rocm-llvm").unwrap().reason,
        Some(Reason::Missing {
            packages: vec!["libelf-dev | libelf1-dev".into()]
        })
    );
    assert_eq!(p.source("rocm-llvm").unwrap().status, Status::Blocked);
    // Its own missing package is reported first, not the blocked dependency.
    assert!(matches!(
        p.source("rocr-runtime").unwrap().reason,
        Some(Reason::Missing { .. })
    ));
    assert!(p.excluded.is_empty());
}

#[test]
fn blocked_dependency_blocks_dependents() {
    let p = run(
        &[src("a", &["a"], &["missing-dev"]), src("b", &["b"], &["a"])],
        &[],
    );
    let b = p.source("b").unwrap();
    assert_eq!(b.status, Status::Blocked);
    assert_eq!(
        render::reason_text("b", b.reason.as_ref().unwrap()),
        "b → a (built by a, blocked: missing from the archive: missing-dev)"
    );
    assert_eq!(p.frontier.len(), 1);
}

#[test]
fn two_cycle_cut_by_bootstrap() {
    let mut rocr = src("rocr-runtime", &["libhsa-runtime-dev"], &["llvm-rocm-dev"]);
    rocr.bootstrap = true;
    let p = run(
        &[
            src("rocm-llvm", &["llvm-rocm-dev"], &["libhsa-runtime-dev"]),
            rocr,
            src("hip", &["hip"], &["llvm-rocm-dev"]),
        ],
        // The archive has the previous release of both.
        &["llvm-rocm-dev", "libhsa-runtime-dev"],
    );
    assert_eq!(
        waves(&p),
        vec![vec!["rocr-runtime"], vec!["rocm-llvm"], vec!["hip"]]
    );
    assert_eq!(p.cycles.len(), 1);
    let c = &p.cycles[0];
    assert_eq!(c.members, vec!["rocm-llvm", "rocr-runtime"]);
    assert!(c.broken);
    assert_eq!(
        c.edges,
        vec![
            Edge {
                from: "rocm-llvm".into(),
                to: "rocr-runtime".into(),
                packages: vec!["libhsa-runtime-dev".into()],
                cut: false
            },
            Edge {
                from: "rocr-runtime".into(),
                to: "rocm-llvm".into(),
                packages: vec!["llvm-rocm-dev".into()],
                cut: true
            },
        ]
    );
    assert_eq!(
        p.source("rocr-runtime").unwrap().build_deps[0].choice,
        Choice::Archive {
            alternative: 0,
            package: "llvm-rocm-dev".into(),
            instead_of: Some("rocm-llvm".into())
        }
    );
    assert!(p.blocked.is_empty());
}

#[test]
fn bootstrap_keeps_edges_the_archive_cant_replace() {
    // On a new arch the archive has neither: the cut is impossible.
    let mut rocr = src("rocr-runtime", &["libhsa-runtime-dev"], &["llvm-rocm-dev"]);
    rocr.bootstrap = true;
    let p = run(
        &[
            src("rocm-llvm", &["llvm-rocm-dev"], &["libhsa-runtime-dev"]),
            rocr,
        ],
        &[],
    );
    assert!(!p.cycles[0].broken);
    assert_eq!(p.blocked.len(), 2);
}

#[test]
fn uncut_cycle_blocks_members_and_dependents() {
    let p = run(
        &[
            src("a", &["a"], &["b"]),
            src("b", &["b"], &["a"]),
            src("c", &["c"], &["a"]),
            src("d", &["d"], &[]),
        ],
        &["a", "b"],
    );
    assert_eq!(p.order, vec!["d"]);
    assert_eq!(p.cycles.len(), 1);
    assert!(!p.cycles[0].broken);
    assert_eq!(
        p.source("a").unwrap().reason,
        Some(Reason::Cycle {
            members: vec!["a".into(), "b".into()]
        })
    );
    assert_eq!(
        render::reason_text("c", p.source("c").unwrap().reason.as_ref().unwrap()),
        "c → a (built by a, blocked: unbroken cycle a ↔ b)"
    );
    let blocked: Vec<&str> = p.blocked.iter().map(|u| u.source.as_str()).collect();
    assert_eq!(blocked, vec!["a", "b", "c"]);
}

#[test]
fn self_loop_is_a_cycle_unless_bootstrapped() {
    let p = run(
        &[src("rocm-llvm", &["clang-rocm"], &["clang-rocm"])],
        &["clang-rocm"],
    );
    assert_eq!(p.cycles.len(), 1);
    assert_eq!(p.cycles[0].members, vec!["rocm-llvm"]);
    assert!(!p.cycles[0].broken);
    assert!(p.order.is_empty());

    let mut s = src("rocm-llvm", &["clang-rocm"], &["clang-rocm"]);
    s.bootstrap = true;
    let p = run(&[s], &["clang-rocm"]);
    assert!(p.cycles[0].broken);
    assert!(p.cycles[0].edges[0].cut);
    assert_eq!(p.order, vec!["rocm-llvm"]);
}

#[test]
fn port_mode_tries_sources_excluded_by_architecture() {
    let sources = [
        excluded_by_arch(src("rocm-hipamd", &["hipcc"], &["llvm-rocm"])),
        excluded_by_arch(src("rocm-llvm", &["llvm-rocm"], &[])),
        src("rocm-cmake", &["rocm-cmake"], &[]),
        src("rocblas", &["librocblas-dev"], &["hipcc"]),
    ];
    let plain = run(&sources, &[]);
    assert_eq!(plain.order, vec!["rocm-cmake"]);
    let p = plan_arch("riscv64", &sources, &archive(&[]), Options { port: true });
    assert!(p.port);
    assert_eq!(
        waves(&p),
        vec![
            vec!["rocm-cmake", "rocm-llvm"],
            vec!["rocm-hipamd"],
            vec!["rocblas"]
        ]
    );
    assert!(p.excluded.is_empty());
    assert_eq!(
        p.source("rocm-llvm").unwrap().widened.as_deref(),
        Some("Architecture: amd64 arm64 ppc64el")
    );
    assert_eq!(p.source("rocm-cmake").unwrap().widened, None);
}

#[test]
fn input_order_does_not_matter() {
    let mut a = vec![
        src("b", &["b"], &["a"]),
        src("a", &["a"], &[]),
        src("c", &["c"], &["a"]),
    ];
    let p1 = run(&a, &[]);
    a.reverse();
    assert_eq!(p1, run(&a, &[]));
}

/// A small stack with one of everything, for the renderer snapshots.
fn sample() -> Plan {
    let mut rocr = src(
        "rocr-runtime",
        &["libhsa-runtime-dev"],
        &["llvm-rocm-dev", "libdrm-dev"],
    );
    rocr.bootstrap = true;
    rocr.version = "7.2.4-1~exp1".into();
    let mut llvm = src(
        "rocm-llvm",
        &["llvm-rocm-dev"],
        &["libhsa-runtime-dev | hsa-stub", "cmake (>= 3.20)"],
    );
    llvm.version = "7.2.4+dfsg-1~exp1".into();
    let hipamd = excluded_by_arch(src("rocm-hipamd", &["hipcc"], &["llvm-rocm-dev"]));
    let rocblas = src(
        "rocblas",
        &["librocblas-dev"],
        &["hipcc", "libmsgpack-cxx-dev"],
    );
    let cmake = src("rocm-cmake", &["rocm-cmake"], &["cmake (>= 3.20)"]);
    let stack = vec![rocr, llvm, hipamd, rocblas, cmake];
    let amd64 = archive(&["llvm-rocm-dev", "libdrm-dev", "cmake", "libmsgpack-cxx-dev"]);
    let riscv64 = archive(&["libdrm-dev", "cmake"]);
    let mut on_amd64 = stack.clone();
    on_amd64[2].arch_exclusion = None;
    plan(
        &[
            ArchInput {
                arch: "amd64".into(),
                sources: on_amd64,
                archive: &amd64,
            },
            ArchInput {
                arch: "riscv64".into(),
                sources: stack,
                archive: &riscv64,
            },
        ],
        Options::default(),
    )
}

#[test]
fn snapshot_text() {
    insta::assert_snapshot!(render::text(&sample()));
}

#[test]
fn snapshot_json() {
    let json = render::json(&sample());
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], "cascade-plan/1");
    insta::assert_snapshot!(json);
}

#[test]
fn snapshot_dot() {
    insta::assert_snapshot!(render::dot(&sample()));
}

#[test]
fn snapshot_port_text() {
    let stack = vec![
        excluded_by_arch(src("rocm-hipamd", &["hipcc"], &["llvm-rocm-dev"])),
        excluded_by_arch(src("rocm-llvm", &["llvm-rocm-dev"], &["cmake"])),
        src("rocm-cmake", &["rocm-cmake"], &["cmake"]),
        excluded_by_arch(src(
            "rocblas",
            &["librocblas-dev"],
            &["hipcc", "libmsgpack-cxx-dev"],
        )),
    ];
    let p = Plan {
        arches: vec![plan_arch(
            "riscv64",
            &stack,
            &archive(&["cmake"]),
            Options { port: true },
        )],
    };
    insta::assert_snapshot!(render::text(&p));
}

#[test]
fn inputs_can_be_read_from_json() {
    let s: SourceInput = serde_json::from_str(
        r#"{"name": "rocblas", "binaries": ["librocblas-dev"],
            "build_deps": [[{"name": "hipcc", "version": {"op": ">=", "version": "7.2.0~"}}]]}"#,
    )
    .unwrap();
    assert_eq!(s.build_deps[0][0].to_string(), "hipcc (>= 7.2.0~)");
    assert!(serde_json::from_str::<SourceInput>(r#"{"name": "x", "bogus": 1}"#).is_err());
}
