//! The bundled demo stack: seven tiny C packages that mirror ROCm's layering,
//! written as local git repositories (upstream and packaging) plus recipes, so
//! that a whole cascade run needs no network but the Debian mirror.
//!
//! | source        | like            | what it shows                                         |
//! |---------------|-----------------|-------------------------------------------------------|
//! | demo-cmake    | rocm-cmake      | arch:all build helper, built once, fed to every arch  |
//! | demo-runtime  | rocr-runtime    | shared library; shlibs name its upstream version      |
//! | demo-blas     | rocblas         | 7.2.4 refuses to compile against a runtime < 7.2.4    |
//! | demo-smi      | rocm-smi-lib    | Architecture leaves riscv64 out, builds there (port); its autopkgtest fails there, and names the runtime (Testsuite-Triggers) |
//! | demo-solver   | rocsolver       | test suite fails on riscv64 only                      |
//! | demo-kernels  | composable-kernel | truly fails on riscv64 (`#error`)                  |
//! | demo-apps     | a consumer      | blocked on riscv64 when demo-kernels fails            |
//!
//! One more source is opt-in: `demo-tensile` (like Tensile, rocBLAS's kernel
//! generator) is a C++ library of [`TENSILE_KERNELS`] generated translation
//! units full of templates, compiling for about a minute natively — the
//! ccache benchmark's subject. Its recipe lives in a stack of its own,
//! `recipes-heavy/` (amd64 only), so the default `recipes/` run stays as
//! fast as it was: `cascade run --recipes DIR/recipes-heavy` builds it.
//!
//! Every upstream repo has the tags `rocm-7.1.0` and `rocm-7.2.4` (and a later
//! development commit on `main`). Every packaging repo is gbp-style: branch
//! `upstream` at the `rocm-7.1.0` commit, tag `upstream/7.1.0`, and branch
//! `debian/experimental` adding `debian/` at `7.1.0-1~exp1`. Objects are
//! written straight into bare repositories with fixed signatures and times,
//! so `demo init` gives the same commit ids on every run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod archive;
mod tensile;

/// The release the packaging is at.
pub const OLD_VERSION: &str = "7.1.0";
/// The release the recipes move to.
pub const NEW_VERSION: &str = "7.2.4";
/// The Debian version of the packaging as written.
pub const OLD_DEBIAN_VERSION: &str = "7.1.0-1~exp1";
pub const PACKAGING_BRANCH: &str = "debian/experimental";
pub const MAINTAINER_NAME: &str = "Cascade Demo";
pub const MAINTAINER_EMAIL: &str = "cascade-demo@example.org";

/// The demo sources, in build order.
pub const PACKAGES: &[&str] = &[
    "demo-cmake",
    "demo-runtime",
    "demo-blas",
    "demo-smi",
    "demo-solver",
    "demo-kernels",
    "demo-apps",
];

/// The opt-in compile-heavy sources, in the `recipes-heavy/` stack.
pub const HEAVY_PACKAGES: &[&str] = &["demo-tensile"];

/// The recipes directory of the heavy stack, next to `recipes/`.
pub const HEAVY_RECIPES: &str = "recipes-heavy";

/// How many generated kernel files demo-tensile has: about a minute of
/// sbuild Build-Time on this project's quiet 2-core VM (`parallel=2`,
/// about 0.6 s of wall time each). 32 gave 26 s there, of which dh's and
/// `make check`'s fixed seconds were a fifth: too little compiling for a
/// ccache measurement.
pub const TENSILE_KERNELS: usize = 96;

/// Every demo source: the default stack's, then the heavy ones.
pub fn all_packages() -> impl Iterator<Item = &'static str> {
    PACKAGES.iter().chain(HEAVY_PACKAGES).copied()
}

/// The upstream tag of a release.
pub fn tag(version: &str) -> String {
    format!("rocm-{version}")
}

/// One file of a generated tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub content: String,
    pub executable: bool,
}

fn file(path: &str, content: impl Into<String>) -> File {
    File {
        path: path.to_string(),
        content: content.into(),
        executable: false,
    }
}

fn exe(path: &str, content: impl Into<String>) -> File {
    File {
        executable: true,
        ..file(path, content)
    }
}

/// `7.2.4` → `70204`, the number C code compares against.
fn version_number(v: &str) -> u32 {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    a * 10000 + b * 100 + c
}

const MIT: &str = "Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the \"Software\"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
";

/// A C library's upstream Makefile: `lib$name.so.1`, header, `make check`.
/// `libs` are the stack libraries it links against.
fn library_makefile(name: &str, libs: &str) -> String {
    format!(
        "# lib{name}: a tiny shared library of the cascade demo stack.
DEMO_CMAKE_DIR ?= /usr/share/demo-cmake
include $(DEMO_CMAKE_DIR)/demo.mk

SONAME := $(call demo_soname,{name},1)
LIBS := {libs}

all: $(SONAME) lib{name}.so

$(SONAME): src/{name}.c include/demo/{name}.h
\t$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -Iinclude -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ src/{name}.c $(LIBS)

lib{name}.so: $(SONAME)
\tln -sf $(SONAME) $@

check: all
\t$(CC) $(CPPFLAGS) $(CFLAGS) -Iinclude -o test-{name} tests/test.c -L. -l{name} $(LIBS) $(LDFLAGS)
\tLD_LIBRARY_PATH=. ./test-{name}

install: all
\tinstall -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/demo
\tinstall -m 644 $(SONAME) $(DESTDIR)$(LIBDIR)/
\tln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/lib{name}.so
\tinstall -m 644 include/demo/{name}.h $(DESTDIR)$(INCLUDEDIR)/demo/

clean:
\trm -f *.so *.so.* test-{name}

.PHONY: all check install clean
"
    )
}

/// A program's upstream Makefile: `bin/$name`, `make check` runs tests/test.c.
fn program_makefile(name: &str, cflags: &str, libs: &str) -> String {
    format!(
        "# {name}: a tiny program of the cascade demo stack.
PREFIX ?= /usr
LIBS := {libs}

all: {name}

{name}: src/main.c
\t$(CC) $(CPPFLAGS) $(CFLAGS) {cflags} -o $@ src/main.c $(LDFLAGS) $(LIBS)

check: all
\t$(CC) $(CPPFLAGS) $(CFLAGS) {cflags} -o test-{name} tests/test.c $(LDFLAGS) $(LIBS)
\t./test-{name}

install: all
\tinstall -d $(DESTDIR)$(PREFIX)/bin
\tinstall -m 755 {name} $(DESTDIR)$(PREFIX)/bin/

clean:
\trm -f {name} test-{name}

.PHONY: all check install clean
"
    )
}

/// demo-runtime's deprecated `demo_runtime_add3` (declaration,
/// definition): in 7.1.0, gone in 7.2.4 — the API break a consumer outside
/// the stack trips over (`cascade demo archive`'s demo-consumer-legacy).
fn runtime_legacy(num: u32) -> (&'static str, &'static str) {
    if num >= version_number(NEW_VERSION) {
        return ("", "");
    }
    (
        "/* Deprecated: use demo_runtime_add twice. Removed in 7.2.4. */\nint demo_runtime_add3(int a, int b, int c);\n",
        "\nint demo_runtime_add3(int a, int b, int c) { return a + b + c; }\n",
    )
}

/// The upstream tree of `pkg` at release `version`.
pub fn upstream_files(pkg: &str, version: &str) -> Vec<File> {
    let num = version_number(version);
    let mut files = vec![
        file(
            "LICENSE",
            format!("Copyright 2025 Cascade Demo Authors\n\n{MIT}"),
        ),
        file("VERSION", format!("{version}\n")),
        file(
            "README.md",
            format!(
                "# {pkg} {version}\n\nPart of cascade's demo stack; mirrors ROCm's layering.\n"
            ),
        ),
    ];
    match pkg {
        "demo-cmake" => files.extend([
            file(
                "Makefile",
                "# Installs the demo stack's build helpers (like rocm-cmake).\nall:\n\ninstall:\n\tinstall -d $(DESTDIR)/usr/share/demo-cmake/cmake\n\tinstall -m 644 demo.mk $(DESTDIR)/usr/share/demo-cmake/\n\tinstall -m 644 cmake/DemoCMakeConfig.cmake $(DESTDIR)/usr/share/demo-cmake/cmake/\n\nclean:\n\n.PHONY: all install clean\n",
            ),
            file(
                "demo.mk",
                format!(
                    "# Make helpers shared by the demo stack (demo-cmake {version}).\nDEMO_CMAKE_VERSION := {version}\nPREFIX ?= /usr\nLIBDIR ?= $(PREFIX)/lib\nINCLUDEDIR ?= $(PREFIX)/include\n# $(call demo_soname,NAME,SOVERSION)\ndemo_soname = lib$(1).so.$(2)\n"
                ),
            ),
            file(
                "cmake/DemoCMakeConfig.cmake",
                format!("# demo-cmake {version}: CMake helpers of the demo stack.\nset(DEMO_CMAKE_VERSION \"{version}\")\nfunction(demo_soname name soversion out)\n  set(${{out}} \"lib${{name}}.so.${{soversion}}\" PARENT_SCOPE)\nendfunction()\n"),
            ),
        ]),
        "demo-runtime" => files.extend([
            file("Makefile", library_makefile("demoruntime", "")),
            file(
                "include/demo/demoruntime.h",
                format!(
                    "#ifndef DEMO_RUNTIME_H\n#define DEMO_RUNTIME_H\n\n#define DEMO_RUNTIME_VERSION {num}\n#define DEMO_RUNTIME_VERSION_STRING \"{version}\"\n\nint demo_runtime_version(void);\nint demo_runtime_add(int a, int b);\n{}\n#endif\n",
                    runtime_legacy(num).0
                ),
            ),
            file(
                "src/demoruntime.c",
                format!(
                    "#include <demo/demoruntime.h>\n\nint demo_runtime_version(void) {{ return DEMO_RUNTIME_VERSION; }}\n\nint demo_runtime_add(int a, int b) {{ return a + b; }}\n{}",
                    runtime_legacy(num).1
                ),
            ),
            file(
                "tests/test.c",
                "#include <stdio.h>\n#include <demo/demoruntime.h>\n\nint main(void) {\n    if (demo_runtime_add(2, 3) != 5 || demo_runtime_version() != DEMO_RUNTIME_VERSION) {\n        fprintf(stderr, \"FAIL: runtime\\n\");\n        return 1;\n    }\n    printf(\"PASS: runtime %d\\n\", demo_runtime_version());\n    return 0;\n}\n",
            ),
        ]),
        "demo-blas" => files.extend([
            file("Makefile", library_makefile("demoblas", "-ldemoruntime")),
            file(
                "include/demo/demoblas.h",
                format!(
                    "#ifndef DEMO_BLAS_H\n#define DEMO_BLAS_H\n\n#include <demo/demoruntime.h>\n\n/* Like rocBLAS, each release needs the runtime of the same release. */\n#if DEMO_RUNTIME_VERSION < {num}\n#error \"demo-blas {version} needs demo-runtime >= {version}\"\n#endif\n\n#define DEMO_BLAS_VERSION {num}\n\nint demo_blas_dot(const int *x, const int *y, int n);\n\n#endif\n"
                ),
            ),
            file(
                "src/demoblas.c",
                "#include <demo/demoblas.h>\n\nint demo_blas_dot(const int *x, const int *y, int n) {\n    int sum = 0;\n    for (int i = 0; i < n; i++)\n        sum = demo_runtime_add(sum, x[i] * y[i]);\n    return sum;\n}\n",
            ),
            file(
                "tests/test.c",
                "#include <stdio.h>\n#include <demo/demoblas.h>\n\nint main(void) {\n    int x[] = {1, 2, 3}, y[] = {4, 5, 6};\n    if (demo_blas_dot(x, y, 3) != 32) {\n        fprintf(stderr, \"FAIL: dot\\n\");\n        return 1;\n    }\n    printf(\"PASS: dot\\n\");\n    return 0;\n}\n",
            ),
        ]),
        "demo-smi" => files.extend([
            file("Makefile", program_makefile("demo-smi", "", "")),
            file(
                "src/main.c",
                // Builds everywhere; its riscv64 port does not work there,
                // which only its autopkgtest finds out.
                format!("#include <stdio.h>\n\n/* Like rocm-smi: a device table per architecture; riscv64 has none yet. */\nint main(void) {{\n#if defined(__riscv)\n    fprintf(stderr, \"demo-smi {version}: no device table for riscv64\\n\");\n    return 1;\n#else\n    printf(\"demo-smi {version}: no devices\\n\");\n    return 0;\n#endif\n}}\n"),
            ),
            file(
                "tests/test.c",
                "#include <stdio.h>\n\nint main(void) {\n    printf(\"PASS: smi\\n\");\n    return 0;\n}\n",
            ),
        ]),
        "demo-solver" => files.extend([
            file(
                "Makefile",
                program_makefile("demo-solver", "", "-ldemoblas -ldemoruntime"),
            ),
            file(
                "src/main.c",
                "#include <stdio.h>\n#include <demo/demoblas.h>\n\nint main(void) {\n    int x[] = {3, 4}, y[] = {3, 4};\n    printf(\"|x|^2 = %d\\n\", demo_blas_dot(x, y, 2));\n    return 0;\n}\n",
            ),
            file(
                "tests/test.c",
                "#include <stdio.h>\n#include <demo/demoblas.h>\n\n/* Stands in for a numerical test that is off on one architecture. */\nint main(void) {\n    int x[] = {3, 4}, y[] = {3, 4};\n    int r = demo_blas_dot(x, y, 2);\n#if defined(__riscv)\n    r += 1;\n#endif\n    if (r != 25) {\n        fprintf(stderr, \"FAIL: solver residual %d != 25\\n\", r);\n        return 1;\n    }\n    printf(\"PASS: solver\\n\");\n    return 0;\n}\n",
            ),
        ]),
        "demo-kernels" => files.extend([
            file(
                "Makefile",
                "# libdemokernels.a: architecture-specific kernels of the demo stack.\nPREFIX ?= /usr\nLIBDIR ?= $(PREFIX)/lib\nINCLUDEDIR ?= $(PREFIX)/include\n\nall: libdemokernels.a\n\nlibdemokernels.a: src/kernels.c include/demo/kernels.h\n\t$(CC) $(CPPFLAGS) $(CFLAGS) -Iinclude -c -o kernels.o src/kernels.c\n\t$(AR) rcs $@ kernels.o\n\ncheck: all\n\t$(CC) $(CPPFLAGS) $(CFLAGS) -Iinclude -o test-kernels tests/test.c libdemokernels.a $(LDFLAGS)\n\t./test-kernels\n\ninstall: all\n\tinstall -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/demo\n\tinstall -m 644 libdemokernels.a $(DESTDIR)$(LIBDIR)/\n\tinstall -m 644 include/demo/kernels.h $(DESTDIR)$(INCLUDEDIR)/demo/\n\nclean:\n\trm -f *.o *.a test-kernels\n\n.PHONY: all check install clean\n",
            ),
            file(
                "include/demo/kernels.h",
                "#ifndef DEMO_KERNELS_H\n#define DEMO_KERNELS_H\n\nconst char *demo_kernels_backend(void);\n\n#endif\n",
            ),
            file(
                "src/kernels.c",
                "#include <demo/kernels.h>\n\n#if defined(__x86_64__)\n#define BACKEND \"x86_64\"\n#elif defined(__aarch64__)\n#define BACKEND \"aarch64\"\n#elif defined(__powerpc64__)\n#define BACKEND \"ppc64le\"\n#elif defined(__riscv)\n#error \"demo-kernels: no kernel backend for riscv64 yet\"\n#else\n#define BACKEND \"generic\"\n#endif\n\nconst char *demo_kernels_backend(void) { return BACKEND; }\n",
            ),
            file(
                "tests/test.c",
                "#include <stdio.h>\n#include <demo/kernels.h>\n\nint main(void) {\n    printf(\"PASS: kernels on %s\\n\", demo_kernels_backend());\n    return 0;\n}\n",
            ),
        ]),
        "demo-apps" => files.extend([
            file(
                "Makefile",
                program_makefile("demo-apps", "", "-l:libdemokernels.a"),
            ),
            file(
                "src/main.c",
                "#include <stdio.h>\n#include <demo/kernels.h>\n\nint main(void) {\n    printf(\"demo-apps on %s\\n\", demo_kernels_backend());\n    return 0;\n}\n",
            ),
            file(
                "tests/test.c",
                "#include <stdio.h>\n#include <demo/kernels.h>\n\nint main(void) {\n    printf(\"PASS: apps on %s\\n\", demo_kernels_backend());\n    return 0;\n}\n",
            ),
        ]),
        "demo-tensile" => files.extend(tensile::upstream_files(version)),
        _ => {}
    }
    files
}

/// How one demo source is packaged.
struct Packaging {
    section: &'static str,
    build_depends: &'static str,
    /// debian/control binary stanzas.
    binaries: &'static str,
    /// Extra debian/rules targets.
    rules: &'static str,
    /// (file, content) of *.install files.
    install: &'static [(&'static str, &'static str)],
}

fn packaging(pkg: &str) -> Packaging {
    const NO_RULES: &str = "";
    match pkg {
        "demo-cmake" => Packaging {
            section: "devel",
            build_depends: "",
            binaries: "Package: demo-cmake
Architecture: all
Multi-Arch: foreign
Depends: ${misc:Depends}
Description: build helpers of the cascade demo stack
 Make and CMake helpers shared by the demo stack's packages, standing in
 for rocm-cmake.
",
            rules: NO_RULES,
            install: &[],
        },
        "demo-runtime" => Packaging {
            section: "libs",
            build_depends: ", demo-cmake (>= 7.1.0~)",
            binaries: "Package: libdemoruntime1
Architecture: any
Multi-Arch: same
Depends: ${shlibs:Depends}, ${misc:Depends}
Description: runtime library of the cascade demo stack
 A tiny C library standing in for the ROCm runtime (rocr-runtime).

Package: libdemoruntime-dev
Section: libdevel
Architecture: any
Multi-Arch: same
Depends: libdemoruntime1 (= ${binary:Version}), ${misc:Depends}
Description: runtime library of the cascade demo stack -- headers
 A tiny C library standing in for the ROCm runtime (rocr-runtime).
 .
 This package has the headers and the development symlink.
",
            // Dependents must run with the runtime they were built against.
            rules: "override_dh_makeshlibs:
\tdh_makeshlibs -V'libdemoruntime1 (>= $(DEB_VERSION_UPSTREAM))'
",
            install: &[
                ("libdemoruntime1.install", "usr/lib/*/libdemoruntime.so.*\n"),
                (
                    "libdemoruntime-dev.install",
                    "usr/include\nusr/lib/*/libdemoruntime.so\n",
                ),
            ],
        },
        "demo-blas" => Packaging {
            section: "libs",
            build_depends: ", demo-cmake (>= 7.1.0~), libdemoruntime-dev (>= 7.1.0~)",
            binaries: "Package: libdemoblas1
Architecture: any
Multi-Arch: same
Depends: ${shlibs:Depends}, ${misc:Depends}
Description: BLAS library of the cascade demo stack
 A tiny C library built on the demo runtime, standing in for rocBLAS.

Package: libdemoblas-dev
Section: libdevel
Architecture: any
Multi-Arch: same
Depends: libdemoblas1 (= ${binary:Version}), libdemoruntime-dev, ${misc:Depends}
Description: BLAS library of the cascade demo stack -- headers
 A tiny C library built on the demo runtime, standing in for rocBLAS.
 .
 This package has the headers and the development symlink.
",
            rules: "override_dh_makeshlibs:
\tdh_makeshlibs -V'libdemoblas1 (>= $(DEB_VERSION_UPSTREAM))'
",
            install: &[
                ("libdemoblas1.install", "usr/lib/*/libdemoblas.so.*\n"),
                (
                    "libdemoblas-dev.install",
                    "usr/include\nusr/lib/*/libdemoblas.so\n",
                ),
            ],
        },
        "demo-smi" => Packaging {
            section: "utils",
            build_depends: "",
            binaries: "Package: demo-smi
Architecture: amd64 arm64 ppc64el
Depends: ${shlibs:Depends}, ${misc:Depends}
Description: system management tool of the cascade demo stack
 A tiny program standing in for rocm-smi. Its Architecture field leaves
 riscv64 out although it builds there.
",
            rules: NO_RULES,
            install: &[],
        },
        "demo-solver" => Packaging {
            section: "math",
            build_depends: ", libdemoblas-dev (>= 7.1.0~)",
            binaries: "Package: demo-solver
Architecture: any
Depends: ${shlibs:Depends}, ${misc:Depends}
Description: solver of the cascade demo stack
 A tiny program built on the demo BLAS, standing in for rocSOLVER. Its
 test suite fails on riscv64.
",
            rules: NO_RULES,
            install: &[],
        },
        "demo-kernels" => Packaging {
            section: "libdevel",
            build_depends: "",
            binaries: "Package: libdemokernels-dev
Architecture: amd64 arm64 ppc64el
Multi-Arch: same
Depends: ${misc:Depends}
Description: architecture-specific kernels of the cascade demo stack
 A tiny static library standing in for composable-kernel. It has no
 riscv64 backend.
",
            rules: NO_RULES,
            install: &[],
        },
        "demo-tensile" => Packaging {
            section: "libdevel",
            build_depends: "",
            binaries: "Package: libdemotensile-dev
Architecture: any
Multi-Arch: same
Depends: ${misc:Depends}
Description: generated tile kernels of the cascade demo stack
 A static C++ library of generated, template-heavy kernels standing in
 for Tensile's. It takes about a minute to compile.
",
            rules: NO_RULES,
            install: &[],
        },
        _ => Packaging {
            section: "utils",
            build_depends: ", libdemokernels-dev",
            binaries: "Package: demo-apps
Architecture: any
Depends: ${shlibs:Depends}, ${misc:Depends}
Description: applications of the cascade demo stack
 A tiny program built on the demo kernels.
",
            rules: NO_RULES,
            install: &[],
        },
    }
}

/// The `debian/` directory of `pkg` at upstream `version`, Debian revision
/// `1~exp1`, with a single changelog entry.
pub fn debian_files(pkg: &str, version: &str) -> Vec<File> {
    let p = packaging(pkg);
    let maintainer = format!("{MAINTAINER_NAME} <{MAINTAINER_EMAIL}>");
    let control = format!(
        "Source: {pkg}
Section: {section}
Priority: optional
Maintainer: {maintainer}
Build-Depends: debhelper-compat (= 13){bd}
Standards-Version: 4.7.2
Rules-Requires-Root: no
Homepage: https://example.org/cascade-demo/{pkg}

{binaries}",
        section = p.section,
        bd = p.build_depends,
        binaries = p.binaries,
    );
    let rules = format!(
        "#!/usr/bin/make -f
include /usr/share/dpkg/architecture.mk
include /usr/share/dpkg/pkg-info.mk

%:
\tdh $@

override_dh_auto_install:
\tdh_auto_install -- PREFIX=/usr LIBDIR=/usr/lib/$(DEB_HOST_MULTIARCH)
{extra}",
        extra = if p.rules.is_empty() {
            String::new()
        } else {
            format!("\n{}", p.rules)
        },
    );
    let changelog = format!(
        "{pkg} ({version}-1~exp1) experimental; urgency=medium

  * Initial release.

 -- {maintainer}  Mon, 01 Dec 2025 12:00:00 +0000
"
    );
    let copyright = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: {pkg}
Source: https://example.org/cascade-demo/{pkg}

Files: *
Copyright: 2025 Cascade Demo Authors
License: Expat

License: Expat
{}",
        MIT.lines()
            .map(|l| if l.is_empty() {
                " .\n".to_string()
            } else {
                format!(" {l}\n")
            })
            .collect::<String>()
    );
    let mut files = vec![
        file("debian/changelog", changelog),
        file("debian/control", control),
        exe("debian/rules", rules),
        file("debian/copyright", copyright),
        file("debian/source/format", "3.0 (quilt)\n"),
        file(
            "debian/gbp.conf",
            format!(
                "[DEFAULT]\ndebian-branch = {PACKAGING_BRANCH}\nupstream-branch = upstream\nupstream-tag = upstream/%(version)s\npristine-tar = False\n"
            ),
        ),
    ];
    for (name, content) in p.install {
        files.push(file(&format!("debian/{name}"), *content));
    }
    files.extend(autopkgtests(pkg));
    files
}

/// `debian/tests/` of `pkg`: tiny tests of what the run built, for
/// `cascade test`. demo-runtime's `headers` checks its headers (passes on
/// every arch) and its `loader` finds no device loader for the library's
/// ELF machine on riscv64 (fails there only), demo-solver's runs the built program, demo-blas's `gpu` test
/// exits 77 without a GPU as the ROCm team's do (`skippable`: skipped),
/// demo-smi's runs the tool beside the runtime library (its Depends makes
/// the .dsc's `Testsuite-Triggers` name `libdemoruntime1`, so a new
/// runtime reruns it) and fails on riscv64 only; the others have none.
fn autopkgtests(pkg: &str) -> Vec<File> {
    match pkg {
        "demo-runtime" => vec![
            file(
                "debian/tests/control",
                "Tests: headers\nDepends: libdemoruntime-dev\n\nTests: loader\nDepends: libdemoruntime1\n",
            ),
            exe(
                "debian/tests/headers",
                "#!/bin/sh\nset -e\ngrep -q 'int demo_runtime_add' /usr/include/demo/demoruntime.h\necho \"demoruntime.h declares demo_runtime_add\"\n",
            ),
            exe(
                "debian/tests/loader",
                "#!/bin/sh\n# Like rocr-runtime's ISA table: device loaders for x86-64 (ELF machine 62),\n# aarch64 (183) and ppc64le (21), none for riscv64 (243) yet. Reads the\n# installed library's ELF header.\nset -e\nlib=$(ls /usr/lib/*/libdemoruntime.so.1)\nmachine=$(od -An -tu2 -j18 -N2 \"$lib\" | tr -d ' ')\ncase \"$machine\" in\n    62|183|21) echo \"$lib: a device loader for ELF machine $machine\" ;;\n    *) echo \"$lib: no device loader for ELF machine $machine\"; exit 1 ;;\nesac\n",
            ),
        ],
        "demo-blas" => vec![
            file(
                "debian/tests/control",
                "Tests: gpu\nDepends: libdemoblas1\nRestrictions: skippable\n",
            ),
            exe(
                "debian/tests/gpu",
                "#!/bin/sh\n# Like the ROCm team's GPU tests: no GPU, no test.\nif [ ! -e /dev/kfd ]; then\n    echo \"no GPU (/dev/kfd): skipping\"\n    exit 77\nfi\necho \"a GPU: nothing to run on it in the demo\"\n",
            ),
        ],
        "demo-smi" => vec![
            file(
                "debian/tests/control",
                "Tests: smi\nDepends: demo-smi, libdemoruntime1\n",
            ),
            exe(
                "debian/tests/smi",
                "#!/bin/sh\n# Like rocm-smi's tests, run beside the installed runtime (Depends:\n# libdemoruntime1, so the .dsc's Testsuite-Triggers names it: a new\n# runtime reruns this test). The riscv64 port builds but fails here.\nset -e\nls /usr/lib/*/libdemoruntime.so.*\ndemo-smi\n",
            ),
        ],
        "demo-solver" => vec![file(
            "debian/tests/control",
            "Test-Command: demo-solver | grep -qxF '|x|^2 = 25'\nDepends: demo-solver\n",
        )],
        _ => vec![],
    }
}

/// Where `demo init` put one package.
#[derive(Clone, Debug)]
pub struct DemoPackage {
    pub source: String,
    /// Bare upstream repository (`DIR/git/upstream/PKG.git`).
    pub upstream: PathBuf,
    /// Bare packaging repository (`DIR/git/packaging/PKG.git`).
    pub packaging: PathBuf,
}

/// What `demo init` wrote.
#[derive(Clone, Debug)]
pub struct DemoStack {
    pub dir: PathBuf,
    pub recipes: PathBuf,
    /// The opt-in heavy stack's recipes ([`HEAVY_RECIPES`]).
    pub heavy_recipes: PathBuf,
    /// The default stack's packages ([`PACKAGES`]), then the heavy ones.
    pub packages: Vec<DemoPackage>,
}

/// The recipes' stack file.
pub fn stack_yaml() -> String {
    stack_text(
        "seven tiny packages that mirror ROCm's layering",
        "demo",
        "architectures: [amd64, riscv64]
modes:
  amd64: native
# Other arches are cross-built from amd64's chroot (sbuild --host), fast;
# a recipe that says `cross: false` is built under qemu there. The tests
# (autopkgtest) of every arch still run under qemu.
foreign_mode: cross
",
        "timeout_minutes: 30\nport: [riscv64]\n",
    )
}

/// The heavy stack's file ([`HEAVY_RECIPES`]): amd64 only (under qemu the
/// minute of compiling would be ten).
pub fn heavy_stack_yaml() -> String {
    stack_text(
        "its compile-heavy part, opt-in (demo-tensile)",
        "demo-heavy",
        "architectures: [amd64]\nmodes:\n  amd64: native\n",
        "timeout_minutes: 60\n",
    )
}

fn stack_text(what: &str, name: &str, arches: &str, limits: &str) -> String {
    format!(
        "# The cascade demo stack: {what}.
name: {name}
suite: experimental
base_suite: unstable
mirror: http://deb.debian.org/debian
{arches}maintainer: {MAINTAINER_NAME} <{MAINTAINER_EMAIL}>
{limits}chroot_tmpfs: true
"
    )
}

/// The recipe of `pkg`, with its repositories as file:// URLs.
pub fn recipe_yaml(pkg: &str, upstream: &Path, packaging: &Path) -> String {
    let extra = match pkg {
        "demo-solver" => {
            "# Its test suite fails on riscv64; a porting run may add nocheck there.
# A cross build skips the build-time tests (nocheck): built under qemu on
# riscv64, so that they run.
cross: false
"
        }
        "demo-kernels" => {
            "expected_failures:
  riscv64:
    reason: \"no kernel backend for riscv64 yet (#error under __riscv)\"
"
        }
        _ => "",
    };
    format!(
        "source: {pkg}
packaging:
  repo: file://{packaging}
  branch: {PACKAGING_BRANCH}
upstream:
  repo: file://{upstream}
  tag: \"{tag}\"
version: \"{{upstream}}-1~exp1\"
{extra}",
        packaging = packaging.display(),
        upstream = upstream.display(),
        tag = tag(NEW_VERSION),
    )
}

/// Writes the demo stack into `dir`: `git/upstream/PKG.git`,
/// `git/packaging/PKG.git`, `recipes/` and the opt-in `recipes-heavy/`.
/// Refuses to overwrite.
pub fn init(dir: &Path) -> Result<DemoStack, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io(crate::fsio::IoError::new(path, source))
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    let recipes = dir.join("recipes");
    let heavy_recipes = dir.join(HEAVY_RECIPES);
    for existing in [dir.join("git"), recipes.clone(), heavy_recipes.clone()] {
        if existing.exists() {
            return Err(Error::Exists { path: existing });
        }
    }
    let mut packages = Vec::new();
    for (stack_dir, stack, sources) in [
        (&recipes, stack_yaml(), PACKAGES),
        (&heavy_recipes, heavy_stack_yaml(), HEAVY_PACKAGES),
    ] {
        std::fs::create_dir_all(stack_dir).map_err(io(stack_dir))?;
        write(&stack_dir.join("stack.yaml"), &stack)?;
        for pkg in sources {
            packages.push(init_package(&dir, stack_dir, pkg)?);
        }
    }
    Ok(DemoStack {
        dir,
        recipes,
        heavy_recipes,
        packages,
    })
}

/// Writes `pkg`'s two repositories under `dir` and its recipe into `recipes`.
fn init_package(dir: &Path, recipes: &Path, pkg: &str) -> Result<DemoPackage, Error> {
    let upstream = dir.join(format!("git/upstream/{pkg}.git"));
    let packaging = dir.join(format!("git/packaging/{pkg}.git"));
    write_upstream(pkg, &upstream)?;
    write_packaging(pkg, &packaging)?;
    write(
        &recipes.join(format!("{pkg}.yaml")),
        &recipe_yaml(pkg, &upstream, &packaging),
    )?;
    Ok(DemoPackage {
        source: pkg.to_string(),
        upstream,
        packaging,
    })
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_owned(), source)))
}

/// Fixed commit times (seconds since the epoch) so ids are reproducible.
const T_OLD: i64 = 1_759_320_000; // 2025-10-01
const T_NEW: i64 = 1_764_590_400; // 2025-12-01
const T_DEV: i64 = 1_764_676_800;
const T_PACKAGING: i64 = 1_764_590_400 + 3600;

fn signature(name: &str, email: &str, time: i64) -> Result<git2::Signature<'static>, git2::Error> {
    git2::Signature::new(name, email, &git2::Time::new(time, 0))
}

fn upstream_sig(time: i64) -> Result<git2::Signature<'static>, git2::Error> {
    signature("Demo Upstream", "upstream@example.org", time)
}

/// Writes `files` as a tree (nested directories included) into `repo`.
fn write_tree(repo: &git2::Repository, files: &[File]) -> Result<git2::Oid, git2::Error> {
    // path component → subtree files, or a blob at this level
    let mut blobs: BTreeMap<String, (git2::Oid, i32)> = BTreeMap::new();
    let mut dirs: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for f in files {
        match f.path.split_once('/') {
            Some((d, rest)) => dirs.entry(d.to_string()).or_default().push(File {
                path: rest.to_string(),
                ..f.clone()
            }),
            None => {
                let oid = repo.blob(f.content.as_bytes())?;
                let mode = if f.executable { 0o100755 } else { 0o100644 };
                blobs.insert(f.path.clone(), (oid, mode));
            }
        }
    }
    let mut tb = repo.treebuilder(None)?;
    for (name, (oid, mode)) in blobs {
        tb.insert(name, oid, mode)?;
    }
    for (name, sub) in dirs {
        let oid = write_tree(repo, &sub)?;
        tb.insert(name, oid, 0o040000)?;
    }
    tb.write()
}

fn commit(
    repo: &git2::Repository,
    reference: &str,
    sig: &git2::Signature<'_>,
    message: &str,
    tree: git2::Oid,
    parents: &[git2::Oid],
) -> Result<git2::Oid, git2::Error> {
    let tree = repo.find_tree(tree)?;
    let parents = parents
        .iter()
        .map(|p| repo.find_commit(*p))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some(reference), sig, sig, message, &tree, &refs)
}

/// The upstream history: 7.1.0 and 7.2.4 releases, tagged, and a later
/// development commit on `main` so that the tag (not the branch) matters.
/// Returns the commit of each release tag.
fn upstream_history(repo: &git2::Repository, pkg: &str) -> Result<[git2::Oid; 2], git2::Error> {
    let main = "refs/heads/main";
    let mut parents = vec![];
    let mut released = [git2::Oid::ZERO_SHA1; 2];
    for (i, (version, time)) in [(OLD_VERSION, T_OLD), (NEW_VERSION, T_NEW)]
        .into_iter()
        .enumerate()
    {
        let tree = write_tree(repo, &upstream_files(pkg, version))?;
        let oid = commit(
            repo,
            main,
            &upstream_sig(time)?,
            &format!("Release {version}\n"),
            tree,
            &parents,
        )?;
        released[i] = oid;
        parents = vec![oid];
    }
    Ok(released)
}

fn write_upstream(pkg: &str, path: &Path) -> Result<(), Error> {
    let git = |source| Error::Git {
        path: path.to_owned(),
        source,
    };
    let repo = git2::Repository::init_bare(path).map_err(git)?;
    let [old, new] = upstream_history(&repo, pkg).map_err(git)?;
    let sig = upstream_sig(T_NEW).map_err(git)?;
    for (version, oid) in [(OLD_VERSION, old), (NEW_VERSION, new)] {
        let obj = repo.find_object(oid, None).map_err(git)?;
        repo.tag(
            &tag(version),
            &obj,
            &sig,
            &format!("ROCm {version}\n"),
            false,
        )
        .map_err(git)?;
    }
    let mut dev_files = upstream_files(pkg, NEW_VERSION);
    dev_files.push(file("NEWS", "Development towards 7.3.0.\n"));
    let tree = write_tree(&repo, &dev_files).map_err(git)?;
    commit(
        &repo,
        "refs/heads/main",
        &upstream_sig(T_DEV).map_err(git)?,
        "Start 7.3.0 development\n",
        tree,
        &[new],
    )
    .map_err(git)?;
    repo.set_head("refs/heads/main").map_err(git)?;
    Ok(())
}

fn write_packaging(pkg: &str, path: &Path) -> Result<(), Error> {
    let git = |source| Error::Git {
        path: path.to_owned(),
        source,
    };
    let repo = git2::Repository::init_bare(path).map_err(git)?;
    // The same objects as upstream's: `upstream` is upstream's 7.1.0 commit,
    // as gbp's upstream-vcs-tag import would leave it.
    let [old, _] = upstream_history(&repo, pkg).map_err(git)?;
    repo.reference("refs/heads/upstream", old, true, "upstream 7.1.0")
        .map_err(git)?;
    repo.find_reference("refs/heads/main")
        .and_then(|mut r| r.delete())
        .map_err(git)?;
    let obj = repo.find_object(old, None).map_err(git)?;
    repo.tag_lightweight(&format!("upstream/{OLD_VERSION}"), &obj, false)
        .map_err(git)?;
    let mut files = upstream_files(pkg, OLD_VERSION);
    files.extend(debian_files(pkg, OLD_VERSION));
    let tree = write_tree(&repo, &files).map_err(git)?;
    let sig = signature(MAINTAINER_NAME, MAINTAINER_EMAIL, T_PACKAGING).map_err(git)?;
    let branch = format!("refs/heads/{PACKAGING_BRANCH}");
    commit(
        &repo,
        &branch,
        &sig,
        &format!("Initial packaging of {OLD_DEBIAN_VERSION}\n"),
        tree,
        &[old],
    )
    .map_err(git)?;
    repo.set_head(&branch).map_err(git)?;
    Ok(())
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path} exists already; `cascade demo init` writes into a new or empty directory")]
    Exists { path: PathBuf },
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error(transparent)]
    Process(#[from] crate::process::Error),
    #[error("git repository {path}: {source}")]
    Git {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers() {
        assert_eq!(version_number("7.2.4"), 70204);
        assert_eq!(version_number("7.1.0"), 70100);
    }

    #[test]
    fn every_package_has_a_consistent_debian_dir() {
        for pkg in all_packages() {
            let files = debian_files(pkg, OLD_VERSION);
            let get = |p: &str| {
                files
                    .iter()
                    .find(|f| f.path == p)
                    .unwrap_or_else(|| panic!("{pkg}: no {p}"))
            };
            let cl = &get("debian/changelog").content;
            assert!(
                cl.starts_with(&format!(
                    "{pkg} (7.1.0-1~exp1) experimental; urgency=medium\n"
                )),
                "{cl}"
            );
            let parsed: debian_changelog::ChangeLog = cl.parse().unwrap();
            let top = parsed.iter().next().unwrap();
            assert_eq!(top.version().unwrap().to_string(), OLD_DEBIAN_VERSION);
            let control = &get("debian/control").content;
            assert!(control.starts_with(&format!("Source: {pkg}\n")));
            let parsed: debian_control::Control = control.parse().unwrap();
            assert!(parsed.binaries().count() >= 1, "{pkg}");
            assert!(get("debian/rules").executable);
            assert_eq!(get("debian/source/format").content, "3.0 (quilt)\n");
        }
    }

    #[test]
    fn some_packages_have_autopkgtests_one_of_them_skippable() {
        let tests = |pkg: &str| -> Vec<File> {
            let files = debian_files(pkg, NEW_VERSION);
            files
                .into_iter()
                .filter(|f| f.path.starts_with("debian/tests/"))
                .collect()
        };
        let control = |pkg: &str| {
            tests(pkg)
                .into_iter()
                .find(|f| f.path == "debian/tests/control")
        };
        assert!(
            control("demo-runtime")
                .unwrap()
                .content
                .starts_with("Tests: headers\n")
        );
        let runtime = tests("demo-runtime");
        assert!(runtime[0].content.contains("\n\nTests: loader\n"));
        assert!(runtime[2].path.ends_with("/loader") && runtime[2].content.contains("62|183|21)"));
        let blas = tests("demo-blas");
        assert!(blas[0].content.contains("Restrictions: skippable"));
        assert!(blas[1].executable && blas[1].content.contains("exit 77"));
        assert!(
            control("demo-solver")
                .unwrap()
                .content
                .starts_with("Test-Command: demo-solver")
        );
        let smi = tests("demo-smi");
        assert!(
            smi[0]
                .content
                .contains("Depends: demo-smi, libdemoruntime1")
        );
        assert!(smi[1].executable);
        // The tool it runs fails on riscv64 only.
        let up = upstream_files("demo-smi", NEW_VERSION);
        let main = up.iter().find(|f| f.path == "src/main.c").unwrap();
        assert!(
            main.content
                .contains("#if defined(__riscv)\n    fprintf(stderr")
        );
        for pkg in ["demo-cmake", "demo-kernels", "demo-apps", "demo-tensile"] {
            assert!(tests(pkg).is_empty(), "{pkg}");
        }
        // Every script a control file names is there and executable.
        for pkg in all_packages() {
            let files = tests(pkg);
            for f in &files {
                for name in f.content.lines().filter_map(|l| l.strip_prefix("Tests: ")) {
                    let script = files
                        .iter()
                        .find(|s| s.path == format!("debian/tests/{name}"));
                    assert!(script.is_some_and(|s| s.executable), "{pkg}: {name}");
                }
            }
        }
    }

    #[test]
    fn architecture_fields_mirror_the_story() {
        let arch_of = |pkg: &str| {
            let files = debian_files(pkg, OLD_VERSION);
            let control: debian_control::Control = files
                .iter()
                .find(|f| f.path == "debian/control")
                .unwrap()
                .content
                .parse()
                .unwrap();
            control
                .binaries()
                .map(|b| b.architecture().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(arch_of("demo-cmake"), ["all"]);
        assert_eq!(arch_of("demo-smi"), ["amd64 arm64 ppc64el"]);
        assert_eq!(arch_of("demo-kernels"), ["amd64 arm64 ppc64el"]);
        assert_eq!(arch_of("demo-runtime"), ["any", "any"]);
        assert_eq!(arch_of("demo-tensile"), ["any"]);
    }

    #[test]
    fn the_heavy_package_is_a_stack_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let stack = init(dir.path()).unwrap();
        let default = crate::recipe::load(&stack.recipes).unwrap();
        let names: Vec<_> = default.recipes.iter().map(|r| r.source.as_str()).collect();
        let mut want = PACKAGES.to_vec();
        want.sort();
        assert_eq!(names, want, "the default run builds what it built before");
        assert_eq!(stack.heavy_recipes, stack.dir.join(HEAVY_RECIPES));
        let heavy = crate::recipe::load(&stack.heavy_recipes).unwrap();
        let names: Vec<_> = heavy.recipes.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(names, HEAVY_PACKAGES);
        assert_eq!(
            heavy.stack.architectures,
            [crate::arch::Arch::new("amd64").unwrap()]
        );
        assert_eq!(heavy.stack.base_suite, default.stack.base_suite);
        let tensile = stack.packages.last().unwrap();
        assert_eq!(tensile.source, "demo-tensile");
        let up = git2::Repository::open_bare(&tensile.upstream).unwrap();
        let old = up
            .revparse_single("rocm-7.1.0^{tree}")
            .unwrap()
            .peel_to_tree()
            .unwrap();
        let kernel = old.get_path(Path::new("src/kernels/kernel_000.cpp"));
        assert!(
            kernel.is_ok(),
            "the old release has the generated kernels too"
        );
    }

    #[test]
    fn riscv64_is_cross_built_but_demo_solver() {
        use crate::recipe::BuildMode;
        let dir = tempfile::tempdir().unwrap();
        let stack = init(dir.path()).unwrap();
        let recipes = crate::recipe::load(&stack.recipes).unwrap();
        let riscv64 = crate::arch::Arch::new("riscv64").unwrap();
        let arch_mode = recipes.stack.mode_for(&riscv64);
        assert_eq!(arch_mode, BuildMode::Cross);
        for source in PACKAGES {
            // Its build-time tests must run on riscv64: qemu.
            let want = if *source == "demo-solver" {
                BuildMode::Qemu
            } else {
                BuildMode::Cross
            };
            assert_eq!(recipes.mode_of(source, arch_mode), want, "{source}");
        }
    }

    #[test]
    fn init_writes_repos_with_tags_and_branches() {
        let dir = tempfile::tempdir().unwrap();
        let stack = init(dir.path()).unwrap();
        assert_eq!(stack.packages.len(), PACKAGES.len() + HEAVY_PACKAGES.len());
        let blas = &stack.packages[2];
        assert_eq!(blas.source, "demo-blas");
        let up = git2::Repository::open_bare(&blas.upstream).unwrap();
        let tags = up.tag_names(None).unwrap();
        let tags: Vec<&str> = tags.iter().flatten().flatten().collect();
        assert_eq!(tags, ["rocm-7.1.0", "rocm-7.2.4"]);
        let new = up
            .revparse_single("rocm-7.2.4^{commit}")
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let header = new
            .tree()
            .unwrap()
            .get_path(Path::new("include/demo/demoblas.h"))
            .unwrap()
            .to_object(&up)
            .unwrap()
            .peel_to_blob()
            .unwrap();
        assert!(String::from_utf8_lossy(header.content()).contains("DEMO_RUNTIME_VERSION < 70204"));

        let pk = git2::Repository::open_bare(&blas.packaging).unwrap();
        let head = pk.head().unwrap();
        assert_eq!(head.name().ok(), Some("refs/heads/debian/experimental"));
        let c = head.peel_to_commit().unwrap();
        let up_old = up.revparse_single("rocm-7.1.0^{commit}").unwrap().id();
        assert_eq!(
            c.parent_id(0).unwrap(),
            up_old,
            "upstream branch = upstream tag"
        );
        assert_eq!(pk.revparse_single("upstream/7.1.0").unwrap().id(), up_old);
        let rules = c
            .tree()
            .unwrap()
            .get_path(Path::new("debian/rules"))
            .unwrap();
        assert_eq!(rules.filemode(), 0o100755);

        let recipe = std::fs::read_to_string(stack.recipes.join("demo-blas.yaml")).unwrap();
        assert!(recipe.contains(&format!("repo: file://{}", blas.packaging.display())));
        assert!(recipe.contains("tag: \"rocm-7.2.4\""));

        // Reproducible ids, and no overwriting.
        let dir2 = tempfile::tempdir().unwrap();
        let again = init(dir2.path()).unwrap();
        let pk2 = git2::Repository::open_bare(&again.packages[2].packaging).unwrap();
        assert_eq!(pk2.head().unwrap().target(), head.target());
        assert!(matches!(init(dir.path()), Err(Error::Exists { .. })));
    }
}
