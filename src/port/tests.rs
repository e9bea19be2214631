use std::path::Path;

use super::*;

const HIPAMD: &str = include_str!("../../tests/fixtures/control/rocm-hipamd.control");
const ROCR: &str = include_str!("../../tests/fixtures/control/rocr-runtime.control");
const ROCBLAS: &str = include_str!("../../tests/fixtures/control/rocblas.control");
const ROCMINFO: &str = include_str!("../../tests/fixtures/control/rocminfo.control");

fn port(text: &str, build_depends: bool) -> Ported {
    widen(
        Path::new("debian/control"),
        text,
        "riscv64",
        Options { build_depends },
    )
    .unwrap()
}

/// The diff shows every changed line; all other lines are byte-identical.
fn diff(text: &str, build_depends: bool) -> String {
    unified_diff("debian/control", text, &port(text, build_depends).text)
}

#[test]
fn hipamd_binaries_widened_comments_kept() {
    assert_eq!(
        diff(HIPAMD, true),
        "\
--- a/debian/control
+++ b/debian/control
@@ -30,7 +30,7 @@
 Section: libs
 # ppc64el is not supported upstream, but the runtime builds and
 # the team keeps it for the CPU-side consumers.
-Architecture: amd64 arm64 ppc64el
+Architecture: amd64 arm64 ppc64el riscv64
 Multi-Arch: same
 Pre-Depends: ${misc:Pre-Depends}
 Depends: ${misc:Depends}, ${shlibs:Depends},
@@ -43,7 +43,7 @@
 
 Package: libamdhip64-dev
 Section: libdevel
-Architecture: amd64 arm64 ppc64el
+Architecture: amd64 arm64 ppc64el riscv64
 Multi-Arch: same
 Depends: libamdhip64-7 (= ${binary:Version}),
          libhiprtc7 (= ${binary:Version}),
@@ -58,7 +58,7 @@
 
 Package: libhiprtc7
 Section: libs
-Architecture: amd64 arm64 ppc64el
+Architecture: amd64 arm64 ppc64el riscv64
 Multi-Arch: same
 Depends: ${misc:Depends}, ${shlibs:Depends},
 Description: HIP runtime compilation library
"
    );
    let p = port(HIPAMD, true);
    // `hip-doc` is `Architecture: all`: untouched.
    assert_eq!(p.changes.len(), 3);
    assert_eq!(
        p.changes[0].to_string(),
        "Package: libamdhip64-7: Architecture: `amd64 arm64 ppc64el` → `amd64 arm64 ppc64el riscv64`"
    );
    // The whole file is the original plus three words.
    assert_eq!(p.text.len(), HIPAMD.len() + 3 * " riscv64".len());
    assert_eq!(p.text.replace(" riscv64", ""), HIPAMD);
}

#[test]
fn rocr_restrictions_widened_and_negations_dropped() {
    assert_eq!(
        diff(ROCR, true),
        "\
--- a/debian/control
+++ b/debian/control
@@ -24,16 +24,16 @@
                rocm-device-libs-21,
                xxd,
 # amd-smi and hwloc are only needed by the tests, which need a GPU [amd64]
-               libamd-smi-dev [amd64] <!nocheck>,
-               libhwloc-dev [amd64 arm64] <!nocheck>,
-               libgtest-dev [amd64] <!nocheck>,
-               libdw-dev [!riscv64],
-               libunwind-dev [!s390x !riscv64 !sparc64],
+               libamd-smi-dev [amd64 riscv64] <!nocheck>,
+               libhwloc-dev [amd64 arm64 riscv64] <!nocheck>,
+               libgtest-dev [amd64 riscv64] <!nocheck>,
+               libdw-dev,
+               libunwind-dev [!s390x !sparc64],
                libatomic-ops-dev [linux-any],
 Rules-Requires-Root: no
 
 Package: libhsa-runtime64-1
-Architecture: amd64 arm64 ppc64el
+Architecture: amd64 arm64 ppc64el riscv64
 Multi-Arch: same
 Depends: ${misc:Depends}, ${shlibs:Depends},
 Description: HSA Runtime API and runtime for ROCm
@@ -42,7 +42,7 @@
 
 Package: libhsa-runtime-dev
 Section: libdevel
-Architecture: amd64 arm64 ppc64el
+Architecture: amd64 arm64 ppc64el riscv64
 Multi-Arch: same
 Depends: libhsa-runtime64-1 (= ${binary:Version}), ${misc:Depends},
 Description: HSA Runtime API and runtime for ROCm - headers
@@ -50,7 +50,7 @@
 
 Package: libhsa-runtime64-tests
 Section: devel
-Architecture: amd64
+Architecture: amd64 riscv64
 Build-Profiles: <!nocheck>
 Depends: libhsa-runtime64-1 (= ${binary:Version}),
          ${misc:Depends},
"
    );
    let changes: Vec<String> = port(ROCR, true)
        .changes
        .iter()
        .take(5)
        .map(|c| c.to_string())
        .collect();
    assert_eq!(
        changes,
        vec![
            "Source: rocr-runtime: Build-Depends: `libamd-smi-dev [amd64] <!nocheck>` → `libamd-smi-dev [amd64 riscv64] <!nocheck>`",
            "Source: rocr-runtime: Build-Depends: `libhwloc-dev [amd64 arm64] <!nocheck>` → `libhwloc-dev [amd64 arm64 riscv64] <!nocheck>`",
            "Source: rocr-runtime: Build-Depends: `libgtest-dev [amd64] <!nocheck>` → `libgtest-dev [amd64 riscv64] <!nocheck>`",
            "Source: rocr-runtime: Build-Depends: `libdw-dev [!riscv64]` → `libdw-dev`",
            "Source: rocr-runtime: Build-Depends: `libunwind-dev [!s390x !riscv64 !sparc64]` → `libunwind-dev [!s390x !sparc64]`",
        ]
    );
}

#[test]
fn build_depends_left_alone_unless_asked() {
    let p = port(ROCR, false);
    assert_eq!(p.changes.len(), 3);
    assert!(p.changes.iter().all(|c| c.field == "Architecture"));
    assert!(p.text.contains("libdw-dev [!riscv64],"));
}

#[test]
fn rocblas_versioned_restriction_and_indep() {
    assert_eq!(
        diff(ROCBLAS, true),
        "\
--- a/debian/control
+++ b/debian/control
@@ -20,7 +20,7 @@
                libgtest-dev <!nocheck> <!noinsttest>,
                libhsa-runtime-dev (>= 7.2.0~),
                libmsgpack-cxx-dev,
-               librocm-smi-dev (>= 7.2.0~) [amd64 arm64],
+               librocm-smi-dev (>= 7.2.0~) [amd64 arm64 riscv64],
                libroctx-dev (>= 7.2.0~),
                clang-22,
                clang-tools-22,
@@ -42,7 +42,7 @@
 
 Package: librocblas5
 Section: libs
-Architecture: amd64 arm64
+Architecture: amd64 arm64 riscv64
 Multi-Arch: same
 Depends: ${misc:Depends}, ${shlibs:Depends},
 Description: ROCm library for basic linear algebra
@@ -51,7 +51,7 @@
 
 Package: librocblas-dev
 Section: libdevel
-Architecture: amd64 arm64
+Architecture: amd64 arm64 riscv64
 Multi-Arch: same
 Depends: librocblas5 (= ${binary:Version}),
          libamdhip64-dev,
"
    );
}

#[test]
fn wildcards_and_all_are_left_alone() {
    let p = port(ROCMINFO, true);
    assert!(!p.changed());
    assert_eq!(p.text, ROCMINFO);
    assert_eq!(unified_diff("debian/control", ROCMINFO, &p.text), "");
}

#[test]
fn widening_twice_changes_nothing_more() {
    for text in [HIPAMD, ROCR, ROCBLAS] {
        let once = port(text, true);
        assert!(once.changed());
        let twice = port(&once.text, true);
        assert!(!twice.changed(), "{:?}", twice.changes);
        assert_eq!(twice.text, once.text);
    }
}

#[test]
fn source_paragraph_architecture_with_all() {
    let text = "Source: hipblas\nArchitecture: amd64 arm64 all\nBuild-Depends: foo\n";
    let p = port(text, true);
    assert_eq!(
        p.text,
        "Source: hipblas\nArchitecture: amd64 arm64 riscv64 all\nBuild-Depends: foo\n"
    );
    assert_eq!(
        p.changes[0].to_string(),
        "Source: hipblas: Architecture: `amd64 arm64 all` → `amd64 arm64 riscv64 all`"
    );
}

#[test]
fn odd_spacing_is_kept() {
    let text = "Source: x\nBuild-Depends-Arch: a [ amd64  arm64 ],\tb\t[!riscv64],\n c [ !riscv64 ] <!nocheck>, d [any-riscv64]\n\nPackage: x\nArchitature-Note: none\nArchitecture:  amd64\t arm64  \n";
    let p = port(text, true);
    assert_eq!(
        p.text,
        "Source: x\nBuild-Depends-Arch: a [ amd64  arm64 riscv64 ],\tb,\n c <!nocheck>, d [any-riscv64]\n\nPackage: x\nArchitature-Note: none\nArchitecture:  amd64\t arm64 riscv64  \n"
    );
}

#[test]
fn other_architectures() {
    let text = "Source: x\n\nPackage: x\nArchitecture: amd64 any-arm\n";
    let p = widen(Path::new("c"), text, "armhf", Options::default()).unwrap();
    assert!(!p.changed());
    let p = widen(Path::new("c"), text, "loong64", Options::default()).unwrap();
    assert_eq!(
        p.text,
        "Source: x\n\nPackage: x\nArchitecture: amd64 any-arm loong64\n"
    );
}

#[test]
fn broken_control_is_an_error_with_file_and_line() {
    let err = widen(
        Path::new("pkg/debian/control"),
        "Source: x\n\nPackage: y\nnot a field\n",
        "riscv64",
        Options::default(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("pkg/debian/control:4: "), "{msg}");
}

#[test]
fn patch_has_a_header_and_applies() {
    let p = port(ROCBLAS, false);
    let text = patch("debian/control", "riscv64", ROCBLAS, &p);
    assert!(text.starts_with(
        "Subject: Try building on riscv64\n\n\
         A porting run of cascade widened the architecture lists to include riscv64:\n\n \
         * Package: librocblas5: Architecture: `amd64 arm64` → `amd64 arm64 riscv64`\n \
         * Package: librocblas-dev: Architecture: `amd64 arm64` → `amd64 arm64 riscv64`\n\
         ---\n--- a/debian/control\n+++ b/debian/control\n@@ -42,7 +42,7 @@\n"
    ));
    assert_eq!(
        patch("debian/control", "riscv64", ROCMINFO, &port(ROCMINFO, true)),
        ""
    );
}
