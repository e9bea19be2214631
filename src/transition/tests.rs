use std::collections::BTreeSet;

use super::debcheck::{parse_report, reachable, split};
use super::rebuild::Rebuilt;
use super::render::{Transition, nmu_lines, text};
use super::*;
use crate::control::relation::parse_relations;
use crate::events::Outcome;

const SID_SOURCES: &str = "\
Package: libfoo
Version: 1.0-1
Architecture: any
Package-List:
 libfoo1 deb libs optional arch=any
 libfoo-dev deb libdevel optional arch=any

Package: tool
Version: 2.0-1
Architecture: any
Build-Depends: libfoo-dev

Package: app
Version: 3.0-1
Architecture: any all
Build-Depends: debhelper-compat (= 13)

Package: docs
Version: 4.0-1
Architecture: all
";

const SID_PACKAGES: &str = "\
Package: libfoo1
Version: 1.0-1
Architecture: amd64
Source: libfoo

Package: libfoo0
Version: 0.9-1
Architecture: amd64
Source: libfoo (0.9-1)

Package: libfoo-dev
Version: 1.0-1
Architecture: amd64
Source: libfoo
Depends: libfoo1 (= 1.0-1)

Package: tool
Version: 2.0-1+b1
Architecture: amd64
Source: tool (2.0-1)
Depends: libfoo1 (>= 1.0), libc6

Package: app
Version: 3.0-1
Architecture: amd64
Depends: libfoo1 | libfoo2

Package: app-data
Version: 3.0-1
Architecture: all
Source: app
Depends: libfoo1

Package: docs
Version: 4.0-1
Architecture: all
Depends: libfoo1 | libother

Package: libother
Version: 1
Architecture: amd64

Package: libc6
Version: 2.40-1
Architecture: amd64
";

fn amd64() -> Arch {
    Arch::new("amd64").unwrap()
}

fn facts() -> (Sources, Packages) {
    (
        Sources::parse(SID_SOURCES, "Sources").unwrap(),
        Packages::parse(SID_PACKAGES, "Packages", "amd64").unwrap(),
    )
}

/// libfoo 2.0 renames libfoo1 to libfoo2 and still build-depends on
/// `libfoo1 | libfoo0`, which the move takes away (libfoo0 is cruft).
fn libfoo_2() -> Moving {
    Moving {
        source: "libfoo".into(),
        base_version: Some("1.0-1".into()),
        target_version: "2.0-1".into(),
        binaries: ["libfoo2", "libfoo-dev"].map(String::from).into(),
        build_deps: parse_relations("libfoo1 | libfoo0, debhelper-compat (= 13)")
            .map(|g| crate::control::relation::evaluate(&g, "amd64", &Profiles::none()))
            .unwrap(),
    }
}

fn analysed() -> ArchTransition {
    let (sources, packages) = facts();
    analysed_with(&sources, &packages, &Options::default())
}

/// libfoo 2.0 moving on amd64, libfoo the whole stack.
fn analysed_with(sources: &Sources, packages: &Packages, options: &Options) -> ArchTransition {
    let stack: BTreeSet<String> = ["libfoo".to_string()].into();
    analyse(&amd64(), sources, packages, &stack, &[libfoo_2()], options)
}

#[test]
fn stems_fold_the_soname_parts_only() {
    assert_eq!(soname_stem("libamdhip64-6"), soname_stem("libamdhip64-7"));
    assert_eq!(
        soname_stem("rocm-device-libs-21"),
        soname_stem("rocm-device-libs-22")
    );
    assert_eq!(soname_stem("libfoo1t64"), soname_stem("libfoo2"));
    assert_eq!(soname_stem("libfoo-1.2"), soname_stem("libfoo-1.3"));
    assert_ne!(soname_stem("libfoo1"), soname_stem("libbar1"));
}

#[test]
fn dropped_binaries_leave_out_cruft_and_pair_renames() {
    let t = analysed();
    // libfoo0 is cruft of an older libfoo: not built by sid's version.
    let dropped: Vec<&str> = t.dropped.iter().map(|c| c.binary.as_str()).collect();
    assert_eq!(dropped, ["libfoo1"]);
    let cruft: Vec<&str> = t.cruft.iter().map(|c| c.binary.as_str()).collect();
    assert_eq!(cruft, ["libfoo0"]);
    let added: Vec<&str> = t.added.iter().map(|c| c.binary.as_str()).collect();
    assert_eq!(added, ["libfoo2"]);
    assert_eq!(
        t.renames,
        [Rename {
            old: "libfoo1".into(),
            new: "libfoo2".into(),
            source: "libfoo".into()
        }]
    );
}

#[test]
fn binnmus_are_arch_dependent_breakage_and_alternatives_save() {
    let t = analysed();
    // tool's binNMU'd binary names its source version; app's `libfoo1 |
    // libfoo2` is met by the new libfoo2, docs' `libfoo1 | libother` by
    // libother; app-data (arch:all) cannot be binNMUed.
    let nmu: Vec<(&str, &str)> = t
        .binnmus
        .iter()
        .map(|d| (d.source.as_str(), d.version.as_str()))
        .collect();
    assert_eq!(nmu, [("tool", "2.0-1")]);
    assert_eq!(t.binnmus[0].against, ["libfoo2"]);
    assert_eq!(t.binnmus[0].on, ["libfoo1"]);
    let sourceful: Vec<(&str, &[String])> = t
        .sourceful
        .iter()
        .map(|d| (d.source.as_str(), d.binaries.as_slice()))
        .collect();
    assert_eq!(sourceful, [("app", &["app-data".to_string()][..])]);
}

#[test]
fn a_source_with_only_arch_all_breakage_needs_a_sourceful_upload() {
    let (sources, _) = facts();
    let packages = Packages::parse(
        &SID_PACKAGES.replace("Depends: libfoo1 | libother", "Depends: libfoo1"),
        "Packages",
        "amd64",
    )
    .unwrap();
    let t = analysed_with(&sources, &packages, &Options::default());
    let sourceful: Vec<&str> = t.sourceful.iter().map(|d| d.source.as_str()).collect();
    assert_eq!(sourceful, ["app", "docs"]);
}

#[test]
fn a_stack_source_needing_a_dropped_binary_is_left_behind() {
    let t = analysed();
    assert_eq!(t.left_behind.len(), 1, "{:?}", t.left_behind);
    let l = &t.left_behind[0];
    assert_eq!((l.source.as_str(), l.version.as_str()), ("libfoo", "2.0-1"));
    // libfoo0, cruft of an older libfoo, leaves with the move too.
    assert_eq!(l.relation, "libfoo1 | libfoo0");
    assert_eq!(l.built_by, ["libfoo"]);
}

/// A run that rebuilt only libfoo: the stack's `plugin` stays at its
/// base-suite version, whose Build-Depends name libfoo1, which the move
/// takes away; `tool` (outside the stack) is a rebuild candidate instead.
#[test]
fn a_stack_source_the_run_did_not_rebuild_is_left_behind_too() {
    let text = format!(
        "{SID_SOURCES}\nPackage: plugin\nVersion: 0.5-1\nArchitecture: any\n\
         Build-Depends: libfoo1 (>= 1.0)\nPackage-List:\n plugin deb misc optional arch=any\n"
    );
    let sources = Sources::parse(&text, "Sources").unwrap();
    let packages = Packages::parse(SID_PACKAGES, "Packages", "amd64").unwrap();
    let stack: BTreeSet<String> = ["libfoo", "plugin", "docs"].map(String::from).into();
    let mut only_libfoo = libfoo_2();
    only_libfoo.build_deps.clear(); // a run's movers built: nothing to check
    let options = Options::default();
    let t = analyse(
        &amd64(),
        &sources,
        &packages,
        &stack,
        &[only_libfoo],
        &options,
    );
    let left: Vec<(&str, &str, &str)> = (t.left_behind.iter())
        .map(|l| (l.source.as_str(), l.version.as_str(), l.relation.as_str()))
        .collect();
    // docs (arch:all, no build-dependencies) stays and is not left behind.
    assert_eq!(left, [("plugin", "0.5-1", "libfoo1 (>= 1.0)")]);
    assert_eq!(t.moving, ["libfoo"]);
}

#[test]
fn rebuild_candidates_are_outside_sources_and_are_selected() {
    let (sources, packages) = facts();
    let options = Options {
        transitive: true,
        ..Options::default()
    };
    let t = analysed_with(&sources, &packages, &options);
    let names: Vec<&str> = t.rebuilds.iter().map(|a| a.source.as_str()).collect();
    assert_eq!(names, ["tool"]);
    assert_eq!((t.rebuilds_direct, t.rebuilds_transitive), (1, Some(1)));
    let none = regex::Regex::new("^app$").unwrap();
    assert_eq!(select(&t.rebuilds, Some(&none), None, None), []);
    let tool = regex::Regex::new("^to").unwrap();
    assert_eq!(select(&t.rebuilds, None, Some(&tool), None), []);
    assert_eq!(select(&t.rebuilds, None, None, Some(0)), []);
}

#[test]
fn nmu_lines_group_arches_in_the_release_teams_syntax() {
    let t = analysed();
    let mut arm64 = t.clone();
    arm64.arch = Arch::new("arm64").unwrap();
    let doc = Transition {
        schema: render::SCHEMA.to_string(),
        stack: "s".into(),
        base_suite: "sid".into(),
        new_from: "experimental".into(),
        arches: [t, arm64]
            .into_iter()
            .map(|transition| render::ArchReport {
                transition,
                installability: None,
                rebuilt: None,
            })
            .collect(),
    };
    let lines = nmu_lines(&doc, "unstable");
    assert!(
        lines.contains(
            &"nmu tool_2.0-1 . amd64 arm64 . unstable . -m \"Rebuild against libfoo2.\""
                .to_string()
        ),
        "{lines:?}"
    );
    assert!(doc.has_problems(), "libfoo is left behind");
    assert!(text(&doc).contains("LEFT BEHIND libfoo 2.0-1"));
}

#[test]
fn the_split_replaces_moving_binaries_and_puts_the_checked_in_front() {
    let moving: BTreeSet<&str> = ["libfoo"].into();
    let check: BTreeSet<&str> = ["libfoo2", "tool"].into();
    let new = "Package: libfoo2\nVersion: 2.0-1\nArchitecture: amd64\nSource: libfoo\n";
    let s = split(SID_PACKAGES, new, &moving, &check);
    assert_eq!(s.checked, 2);
    assert!(
        s.foreground.contains("Package: libfoo2\n") && s.foreground.contains("Package: tool\n")
    );
    assert!(!s.background.contains("Package: libfoo1\n"));
    assert!(
        !s.background.contains("Package: libfoo0\n"),
        "old libfoo binaries leave too"
    );
    assert!(s.background.contains("Package: libother\n"));
}

/// The background keeps what the checked packages reach through Depends
/// and Pre-Depends: every alternative, providers of a virtual name, every
/// version, and transitively; not what only conflicts with them or depends
/// on them.
#[test]
fn dose_reads_only_the_background_the_checked_packages_reach() {
    let base = "\
Package: tool
Version: 1
Depends: liba | libb (>= 2), virt:any

Package: liba
Version: 1
Pre-Depends: libc
 , libd

Package: libb
Version: 1

Package: libb
Version: 2

Package: libc
Version: 1

Package: libd
Version: 1

Package: prov
Version: 1
Provides: virt (= 1), other

Package: unrelated
Version: 1
Conflicts: tool

Package: user
Version: 1
Depends: tool
";
    let s = reachable(split(base, "", &BTreeSet::new(), &["tool"].into()));
    let kept: Vec<&str> = (s.background.lines())
        .filter_map(|l| l.strip_prefix("Package: "))
        .collect();
    assert_eq!(kept, ["liba", "libb", "libb", "libc", "libd", "prov"]);
    assert!(s.foreground.contains("Package: tool\n"));
    assert_eq!(s.checked, 1);
    // A reached relation field that does not parse: all of it, unchanged.
    let bad = base.replace(
        "Version: 1\nPre-Depends: libc",
        "Version: 1\nPre-Depends: libc (>>",
    );
    let whole = split(&bad, "", &BTreeSet::new(), &["tool"].into());
    assert_eq!(reachable(whole.clone()), whole);
}

#[test]
fn dose_reports_become_one_line_reasons() {
    let yaml = "\
output-version: 1.2
report:
 -
  package: a
  version: 1
  status: broken
  reasons:
   -
    missing:
     pkg:
      package: a
      version: 1
      unsat-dependency: b:amd64 (>= 2)
 -
  package: d
  version: 1.0
  status: broken
  reasons:
   -
    conflict:
     pkg1:
      package: c
      version: 1
     pkg2:
      package: d
      version: 1.0
";
    let broken = parse_report(yaml).unwrap();
    assert_eq!(broken[0].reason, "a 1 needs b:amd64 (>= 2)");
    assert_eq!(broken[1].reason, "c 1 conflicts with d 1.0");
    assert!(parse_report("report: [").is_err());
}

fn rebuilt(
    source: &str,
    verdict: rebuild::Verdict,
    outcome: Outcome,
    recheck: Option<Outcome>,
) -> Rebuilt {
    Rebuilt {
        source: source.into(),
        version: "1.0-1".into(),
        verdict,
        outcome,
        recheck,
        log: None,
        recheck_log: None,
        via: vec!["libfoo-dev".into()],
    }
}

#[test]
fn rebuild_verdicts_show_in_text_and_markdown_and_a_regression_is_a_problem() {
    use rebuild::Verdict;
    let mut t = analysed();
    t.left_behind.clear();
    let failed = |e: &str| Outcome::Failed {
        stage: "build".into(),
        errors: vec![e.into()],
    };
    let ok_only = vec![
        rebuilt("good", Verdict::Ok, Outcome::Ok, None),
        rebuilt(
            "old",
            Verdict::AlreadyFailing,
            failed("old bug"),
            Some(failed("old bug")),
        ),
    ];
    let doc = |rs: Vec<Rebuilt>| Transition {
        schema: render::SCHEMA.to_string(),
        stack: "s".into(),
        base_suite: "sid".into(),
        new_from: "run".into(),
        arches: vec![render::ArchReport {
            transition: t.clone(),
            installability: None,
            rebuilt: Some(rs),
        }],
    };
    let calm = doc(ok_only.clone());
    assert!(
        !calm.has_problems(),
        "already failing is not the stack's doing"
    );
    let mut with_regression = ok_only;
    with_regression.push(rebuilt(
        "broken",
        Verdict::Regression,
        failed("error: API gone"),
        Some(Outcome::Ok),
    ));
    let bad = doc(with_regression);
    assert!(bad.has_problems());
    let txt = text(&bad);
    assert!(
        txt.contains("1 ok, 1 regression(s), 1 already failing, 0 other"),
        "{txt}"
    );
    assert!(
        txt.contains("broken 1.0-1: regression: failed at build: error: API gone; without the new stack: built"),
        "{txt}"
    );
    let md = render::markdown(&bad);
    assert!(md.contains("| source | version | amd64 |"), "{md}");
    assert!(md.contains("| good | 1.0-1 | ok |"), "{md}");
    let json = serde_json::to_value(&bad).unwrap();
    assert_eq!(json["schema"], "cascade-transition/2");
    assert_eq!(json["arches"][0]["rebuilt"][2]["verdict"], "regression");
}

fn doc_with(rebuilt_now: Vec<Rebuilt>) -> Transition {
    let mut t = analysed();
    t.left_behind.clear();
    Transition {
        schema: render::SCHEMA.to_string(),
        stack: "s".into(),
        base_suite: "unstable".into(),
        new_from: "run".into(),
        arches: vec![render::ArchReport {
            transition: t,
            installability: None,
            rebuilt: Some(rebuilt_now),
        }],
    }
}

#[test]
fn junit_and_html_show_each_rebuild_and_a_regression_fails() {
    use rebuild::Verdict;
    let failed = Outcome::Failed {
        stage: "build".into(),
        errors: vec!["error: <gone>".into()],
    };
    let doc = doc_with(vec![
        rebuilt("good", Verdict::Ok, Outcome::Ok, None),
        rebuilt(
            "bad",
            Verdict::Regression,
            failed.clone(),
            Some(Outcome::Ok),
        ),
        rebuilt("old", Verdict::AlreadyFailing, failed.clone(), Some(failed)),
    ]);
    let xml = formats::junit(&doc).unwrap();
    assert!(xml.contains("tests=\"3\""), "{xml}");
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("classname=\"amd64.rebuild\""), "{xml}");
    let page = formats::html(&doc);
    assert!(
        page.contains("data-source=\"bad\" data-verdict=\"regression\""),
        "{page}"
    );
    assert!(page.contains("data-verdict=\"already-failing\""), "{page}");
    assert!(page.contains("error: &lt;gone&gt;"), "escaped: {page}");
}

#[test]
fn since_lists_new_regressions_first_and_skips_unchanged_verdicts() {
    use rebuild::Verdict;
    let failed = Outcome::Failed {
        stage: "build".into(),
        errors: vec![],
    };
    let doc = doc_with(vec![
        rebuilt("fixed", Verdict::Ok, Outcome::Ok, None),
        rebuilt("same", Verdict::Ok, Outcome::Ok, None),
        rebuilt("zbroke", Verdict::Regression, failed, Some(Outcome::Ok)),
        rebuilt("added", Verdict::Ok, Outcome::Ok, None),
    ]);
    let earlier: formats::Earlier = serde_json::from_str(
        r#"{"arches": [{"arch": "amd64", "rebuilt": [
            {"source": "fixed", "verdict": "regression"},
            {"source": "same", "verdict": "ok"},
            {"source": "zbroke", "verdict": "ok"}]}]}"#,
    )
    .unwrap();
    let changes = formats::since(&earlier, &doc);
    let got: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| (c.source.as_str(), c.before.as_str(), c.now.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("zbroke", "ok", "regression"),
            ("added", "new", "ok"),
            ("fixed", "regression", "ok")
        ]
    );
    let text = formats::since_text(&changes, "old.json");
    assert!(
        text.contains("NEW REGRESSION zbroke/amd64: ok -> regression"),
        "{text}"
    );
}

/// A rebuild job's report: the analysis with only `source` among the
/// candidates, and its one result.
fn job_doc(source: &str, result: Rebuilt) -> Transition {
    let mut doc = doc_with(vec![result]);
    let t = &mut doc.arches[0].transition;
    t.rebuilds.retain(|c| c.source == source);
    doc
}

#[test]
fn merged_reports_keep_the_analysis_and_gather_every_jobs_rebuild() {
    use rebuild::Verdict;
    let mut analysis = doc_with(vec![]);
    analysis.arches[0].rebuilt = None;
    analysis.arches[0].installability = Some(debcheck::Installability {
        checked: 3,
        ..Default::default()
    });
    let rebuilds = &mut analysis.arches[0].transition.rebuilds;
    rebuilds.push(crate::rdeps::Affected {
        source: "zapp".into(),
        version: Some("1.0-1".into()),
        via: vec!["libfoo-dev".into()],
    });
    let candidates: Vec<String> = rebuilds.iter().map(|c| c.source.clone()).collect();
    assert_eq!(candidates, ["tool", "zapp"]);
    let (first, second) = (&candidates[0], &candidates[1]);
    let failed = Outcome::Failed {
        stage: "build".into(),
        errors: vec![],
    };
    let job = job_doc(
        first,
        rebuilt(first, Verdict::Regression, failed, Some(Outcome::Ok)),
    );
    // Through JSON, as the report job reads them; a job first, the
    // analysis after it: the order does not matter.
    let json = |d: &Transition| serde_json::to_string(d).unwrap();
    let back = |s: String| serde_json::from_str::<Transition>(&s).unwrap();
    let docs = vec![back(json(&job)), back(json(&analysis))];
    let merged = merge::merge(docs).unwrap();
    let a = &merged.arches[0];
    assert_eq!(a.installability.as_ref().map(|i| i.checked), Some(3));
    let names: Vec<&str> = a
        .transition
        .rebuilds
        .iter()
        .map(|c| c.source.as_str())
        .collect();
    assert_eq!(
        names,
        candidates.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let verdicts: Vec<(&str, Verdict)> = (a.rebuilt.iter().flatten())
        .map(|r| (r.source.as_str(), r.verdict))
        .collect();
    assert!(
        verdicts.contains(&(first.as_str(), Verdict::Regression)),
        "{verdicts:?}"
    );
    // The second candidate's job left no report.
    let missing = (a.rebuilt.iter().flatten())
        .find(|r| &r.source == second)
        .unwrap();
    assert_eq!(missing.verdict, Verdict::Unchecked);
    assert_eq!(missing.outcome, Outcome::Cancelled);
    assert!(merged.has_problems());
    assert_eq!(json(&back(json(&merged))), json(&merged), "JSON round trip");
}

#[test]
fn reports_of_other_stacks_do_not_merge() {
    let a = doc_with(vec![]);
    let mut b = doc_with(vec![]);
    b.stack = "other".into();
    let e = merge::merge(vec![a, b]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "stack differs between the reports: s and other"
    );
    assert_eq!(merge::merge(vec![]).unwrap_err(), merge::Error::Empty);
}
