//! Buildability and chains on small hand-written indices: one test per
//! feature dose-builddebcheck decides.

use std::collections::BTreeSet;

use super::chain::{Explainer, Why};
use super::solve::{Failure, buildability, viable};
use super::universe::{SourceSet, Universe};
use crate::control::Profiles;

const PACKAGES: &str = "\
Package: build-essential
Version: 12.12
Architecture: riscv64
Depends: libc6

Package: libc6
Version: 2.41-1
Architecture: riscv64
Multi-Arch: same

Package: base-files
Version: 13
Architecture: riscv64
Essential: yes
Depends: libc6

Package: cmake
Version: 3.31-1
Architecture: riscv64
Depends: libc6

Package: python3
Version: 3.13-1
Architecture: riscv64
Multi-Arch: allowed

Package: perl
Version: 5.40-1
Architecture: riscv64
Multi-Arch: foreign

Package: gcc-14
Version: 14.2-1
Architecture: riscv64
Provides: c-compiler (= 14), c-any

Package: libold-dev
Version: 1.0-1
Architecture: riscv64
Depends: libgone1

Package: libfoo-dev
Version: 2.0-1
Architecture: riscv64
Conflicts: libbar-dev

Package: libbar-dev
Version: 2.0-1
Architecture: riscv64

Package: tool-a
Version: 1
Architecture: all
Depends: libfoo-dev | libbar-dev

Package: tool-b
Version: 1
Architecture: all
Depends: libbar-dev

Package: breaks-essential
Version: 1
Architecture: riscv64
Breaks: base-files (<< 14)

Package: amd64-thing
Version: 1
Architecture: amd64
";

fn sources(text: &str) -> SourceSet {
    let mut s = SourceSet::default();
    s.add_suite(text, "Sources", "sid").unwrap();
    s
}

/// Builds a one-source Sources paragraph and answers for riscv64.
fn check(build_depends: &str, extra: &str) -> Option<Failure> {
    check_with(build_depends, extra, &Profiles::none())
}

fn check_with(build_depends: &str, extra: &str, profiles: &Profiles) -> Option<Failure> {
    let u = Universe::parse(PACKAGES, "Packages", "riscv64").unwrap();
    let ok = viable(&u);
    let src = format!(
        "Package: s\nVersion: 1\nArchitecture: any\nBuild-Depends: {build_depends}\n{extra}"
    );
    let set = sources(&src);
    let r = buildability(&u, &ok, set.iter(), profiles, false);
    assert_eq!(r.len(), 1);
    r.into_iter().next().and_then(|b| b.failure)
}

#[test]
fn plain_versions_and_missing() {
    assert_eq!(check("cmake (>= 3.20), libc6", ""), None);
    assert_eq!(
        check("cmake (>= 4)", ""),
        Some(Failure::Missing {
            relation: "cmake (>= 4)".into()
        })
    );
    assert!(matches!(
        check("nonesuch", ""),
        Some(Failure::Missing { .. })
    ));
    // An alternative rescues the group.
    assert_eq!(check("nonesuch | cmake", ""), None);
}

#[test]
fn provides_versioned_and_unversioned() {
    assert_eq!(check("c-compiler (>= 13)", ""), None);
    assert!(check("c-compiler (>= 15)", "").is_some());
    assert_eq!(check("c-any", ""), None);
    // An unversioned Provides does not satisfy a versioned dependency.
    assert!(check("c-any (>= 1)", "").is_some());
}

#[test]
fn multi_arch_any_and_native() {
    assert_eq!(check("python3:any", ""), None);
    // As dose answers for a native build: `:any` takes the real package
    // whatever its Multi-Arch, but no Provides.
    assert_eq!(check("perl:any", ""), None);
    assert_eq!(check("cmake:any", ""), None);
    assert!(check("c-any:any", "").is_some());
    assert_eq!(check("perl:native, python3:native", ""), None);
    assert_eq!(check("cmake:riscv64", ""), None);
    // Another arch's package is not in a riscv64 universe.
    assert!(check("amd64-thing", "").is_some());
    assert!(check("cmake:amd64", "").is_some());
}

#[test]
fn arch_restrictions_and_profiles() {
    assert_eq!(check("nonesuch [amd64], cmake [riscv64]", ""), None);
    assert!(check("nonesuch [!amd64]", "").is_some());
    assert!(check("nonesuch <!nocheck>", "").is_some());
    assert_eq!(
        check_with("nonesuch <!nocheck>", "", &Profiles::new(["nocheck"])),
        None
    );
    // Build-Depends-Arch counts; Build-Depends-Indep does not by default.
    assert!(check("cmake", "Build-Depends-Arch: nonesuch\n").is_some());
    assert_eq!(check("cmake", "Build-Depends-Indep: nonesuch\n"), None);
}

#[test]
fn transitive_uninstallable() {
    match check("libold-dev", "") {
        Some(Failure::Uninstallable { relation, via }) => {
            assert_eq!(relation, "libold-dev");
            assert_eq!(via, ["libold-dev 1.0-1 depends on libgone1"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn conflicts_force_backtracking_or_fail() {
    // tool-a can take libbar-dev instead of the conflicting libfoo-dev.
    assert_eq!(check("libfoo-dev | libbar-dev, tool-b, tool-a", ""), None);
    assert_eq!(check("tool-a, tool-b", ""), None);
    assert!(matches!(
        check("libfoo-dev, tool-b", ""),
        Some(Failure::Conflict { .. })
    ));
    // Build-Conflicts forbid a candidate.
    assert_eq!(check("tool-a", "Build-Conflicts: libfoo-dev\n"), None);
    assert!(check("libfoo-dev", "Build-Conflicts: libfoo-dev\n").is_some());
}

#[test]
fn essential_packages_are_part_of_every_installation() {
    // breaks-essential Breaks base-files (<< 14), which is Essential.
    assert!(matches!(
        check("breaks-essential", ""),
        Some(Failure::Conflict { .. })
    ));
}

#[test]
fn sources_outside_the_arch_are_not_checked() {
    let u = Universe::parse(PACKAGES, "Packages", "riscv64").unwrap();
    let ok = viable(&u);
    let set = sources(
        "Package: a\nVersion: 1\nArchitecture: amd64\n\n\
         Package: b\nVersion: 1\nArchitecture: all\n\n\
         Package: c\nVersion: 1\nArchitecture: linux-any\n",
    );
    let names: Vec<String> = buildability(&u, &ok, set.iter(), &Profiles::none(), false)
        .into_iter()
        .map(|b| b.source)
        .collect();
    assert_eq!(names, ["b", "c"]);
}

const CHAIN_SOURCES: &str = "\
Package: llvm
Version: 7.0-1
Architecture: amd64 arm64
Build-Depends: cmake, libhsa-dev
Package-List:
 device-libs-22 deb libs optional arch=amd64,arm64
 llvm-tools deb devel optional arch=amd64,arm64

Package: hsa
Version: 7.0-1
Architecture: any
Build-Depends: cmake, device-libs-22
Package-List:
 libhsa-dev deb libdevel optional arch=any

Package: kernels
Version: 1.0-1
Architecture: any
Build-Depends: cmake
Package-List:
 libkernels-dev deb libdevel optional arch=any
";

#[test]
fn chain_follows_package_list_and_build_deps_with_a_cycle() {
    let u = Universe::parse(PACKAGES, "Packages", "riscv64").unwrap();
    let ok = viable(&u);
    let set = sources(CHAIN_SOURCES);
    let stack: BTreeSet<String> = ["mystack".to_string()].into();
    let mut ex = Explainer::new(&u, &ok, &set, &stack, Profiles::none());
    ex.ask("device-libs-22", vec!["mystack".into()]);
    ex.ask("libkernels-dev", vec!["mystack".into()]);
    ex.ask("device-libs-21", vec!["other".into()]);
    let c = ex.finish();
    let top = &c.nodes[c.tops[0].nodes[0]];
    assert_eq!(top.why, [Why::Absent]);
    let llvm = &c.nodes[top.children[0]];
    assert_eq!(llvm.name, "llvm");
    assert!(
        llvm.why
            .iter()
            .any(|w| matches!(w, Why::PackageList { arches, .. } if arches == &["amd64", "arm64"]))
    );
    assert!(
        llvm.why
            .iter()
            .any(|w| matches!(w, Why::Architecture { .. }))
    );
    // llvm needs libhsa-dev, built by hsa, which needs device-libs-22: a cycle.
    let hsa_dev = &c.nodes[llvm.children[0]];
    assert_eq!(hsa_dev.name, "libhsa-dev");
    let hsa = &c.nodes[hsa_dev.children[0]];
    assert_eq!(hsa.name, "hsa");
    assert_eq!(hsa.cycles, [c.tops[0].nodes[0]]);
    // kernels is allowed and satisfiable: not built yet — a root.
    let k = &c.nodes[c.nodes[c.tops[1].nodes[0]].children[0]];
    assert_eq!(k.why, [Why::NotBuilt]);
    assert!(k.is_root());
    // Nothing builds device-libs-21; its renamed sibling is named.
    let d21 = &c.nodes[c.tops[2].nodes[0]];
    assert_eq!(
        d21.why,
        [Why::NothingBuilds {
            closest: vec!["device-libs-22".into()]
        }]
    );
    assert!(
        c.roots
            .iter()
            .any(|r| r.name == "kernels" && r.unblocks == ["mystack"])
    );
}

#[test]
fn binaries_only_the_stack_builds_point_back() {
    let u = Universe::parse(PACKAGES, "Packages", "riscv64").unwrap();
    let ok = viable(&u);
    let set = sources(CHAIN_SOURCES);
    let stack: BTreeSet<String> = ["hsa".to_string()].into();
    let mut ex = Explainer::new(&u, &ok, &set, &stack, Profiles::none());
    ex.ask("libhsa-dev", vec![]);
    let c = ex.finish();
    assert_eq!(
        c.nodes[c.tops[0].nodes[0]].why,
        [Why::InStack {
            sources: vec!["hsa".into()]
        }]
    );
    // Asked about directly, the stack source that builds it is followed too.
    let top = &c.nodes[c.tops[0].nodes[0]];
    assert_eq!(c.nodes[top.children[0]].name, "hsa");
}

#[test]
fn versions_keep_their_parts_through_the_binary_cache() {
    use super::universe::Ver;
    for text in ["2:1.0-1~exp1", "1.0", "0.9+dfsg-3+b1", "1:2"] {
        let v = Ver(text.parse().unwrap());
        let back: Ver = postcard::from_bytes(&postcard::to_stdvec(&v).unwrap()).unwrap();
        assert_eq!(back, v, "{text}");
        assert_eq!(back.to_string(), text);
    }
}

#[test]
fn a_universe_from_the_binary_cache_answers_the_same() {
    let u = Universe::parse(PACKAGES, "Packages", "riscv64").unwrap();
    let mut back: Universe = postcard::from_bytes(&postcard::to_stdvec(&u).unwrap()).unwrap();
    back.reindex();
    let set = sources(
        "Package: s\nVersion: 1\nArchitecture: any\nBuild-Depends: cmake (>= 3.20)\n\n\
         Package: t\nVersion: 1\nArchitecture: any\nBuild-Depends: cmake (>= 4)\n\n\
         Package: v\nVersion: 1\nArchitecture: any\nBuild-Depends: c-compiler (>= 13)\n",
    );
    let answer = |u: &Universe| {
        let ok = viable(u);
        buildability(u, &ok, set.iter(), &Profiles::none(), false)
            .into_iter()
            .map(|b| b.failure)
            .collect::<Vec<_>>()
    };
    let expected = answer(&u);
    assert_eq!(expected.iter().filter(|f| f.is_some()).count(), 1);
    assert_eq!(answer(&back), expected);
}

/// `text` handed on `chunk` bytes at a time (`archive::chunks`), as a cold
/// load reads an index, to `feed`.
fn in_chunks(
    text: &str,
    chunk: usize,
    mut feed: impl FnMut(&str, usize) -> Result<(), crate::archive::Error>,
) -> Result<(), crate::archive::Error> {
    crate::archive::chunks::for_each_chunk(text.as_bytes(), "", "index", chunk, &mut feed)
}

/// The texts the chunk tests read: as written, with CRLF line ends, and
/// without the final newline.
fn variants(text: &str) -> [String; 3] {
    [
        text.to_string(),
        text.replace('\n', "\r\n"),
        text.trim_end().to_string(),
    ]
}

#[test]
fn a_universe_parsed_in_chunks_is_the_one_parsed_whole() {
    use super::universe::UniverseParser;
    for text in variants(PACKAGES) {
        let whole = Universe::parse(&text, "Packages", "riscv64").unwrap();
        let whole = postcard::to_stdvec(&whole).unwrap();
        // 1 byte: every paragraph grows the buffer; 40: most straddle a boundary.
        for chunk in [1, 40, 97, 1 << 20] {
            let mut parser = UniverseParser::new("riscv64");
            in_chunks(&text, chunk, |t, before| parser.feed(t, before, "Packages")).unwrap();
            let got = postcard::to_stdvec(&parser.finish()).unwrap();
            assert!(got == whole, "chunk {chunk}, text {:?}", &text[..20]);
        }
    }
}

#[test]
fn sources_parsed_in_chunks_are_the_ones_parsed_whole() {
    use super::universe::SuiteParser;
    let text = "Package: a\nVersion: 1\nBinary: a1\nArchitecture: any\nBuild-Depends: x,\n y\n\n\
                Package: b\nVersion: 2\nBinary: b1, b2\nArchitecture: all\n\n\
                Package: a\nVersion: 3\nBinary: a1, a3\nArchitecture: any\n\n\
                Package: c\nVersion: 1\nBinary: c\nArchitecture: any\nExtra-Source-Only: yes\n\n\
                Package: a\nVersion: 2\nBinary: a2\nArchitecture: any\n";
    for text in variants(text) {
        let whole = SourceSet::parse_suite(&text, "Sources", "sid").unwrap();
        assert_eq!(whole.len(), 2);
        let whole = postcard::to_stdvec(&whole).unwrap();
        for chunk in [1, 30, 64, 1 << 20] {
            let mut parser = SuiteParser::new("sid");
            in_chunks(&text, chunk, |t, before| parser.feed(t, before, "Sources")).unwrap();
            let got = postcard::to_stdvec(&parser.finish()).unwrap();
            assert!(got == whole, "chunk {chunk}");
        }
    }
}

#[test]
fn errors_in_a_later_chunk_name_the_line_in_the_whole_index() {
    use super::universe::UniverseParser;
    // Line 24: the fifth paragraph's Depends.
    let text = "Package: a\nVersion: 1\nArchitecture: all\nDepends: x\n\n".repeat(4)
        + "Package: bad\nVersion: 1\nArchitecture: all\nDepends: (oops\n\n"
        + "Package: z\nVersion: 1\nArchitecture: all\n";
    let whole = Universe::parse(&text, "Packages", "riscv64").unwrap_err();
    assert!(whole.to_string().contains("Packages:24"), "{whole}");
    for chunk in [1, 30, 64] {
        let mut parser = UniverseParser::new("riscv64");
        let e =
            in_chunks(&text, chunk, |t, before| parser.feed(t, before, "Packages")).unwrap_err();
        assert_eq!(e.to_string(), whole.to_string(), "chunk {chunk}");
    }
    // A syntax error (no colon) as well.
    let text = "Package: a\nVersion: 1\nArchitecture: all\n\n".repeat(5) + "Package: b\nno colon\n";
    let whole = Universe::parse(&text, "Packages", "riscv64").unwrap_err();
    let mut parser = UniverseParser::new("riscv64");
    let e = in_chunks(&text, 20, |t, before| parser.feed(t, before, "Packages")).unwrap_err();
    assert_eq!(e.to_string(), whole.to_string());
    assert!(e.to_string().contains("Packages:22"), "{e}");
}
