//! `cascade demo archive DIR`: a small local archive beside the demo stack,
//! `DIR/archive/`, holding what "unstable" had before the stack's move —
//! the overlay `cascade transition --extra-archive` lays over the Debian
//! mirror, so the transition check has an old release and consumers
//! outside the stack to find:
//!
//! | source               | version  | what the transition check finds                                   |
//! |----------------------|----------|-------------------------------------------------------------------|
//! | demo-runtime         | 7.1.0-1  | the old release: `libdemoruntime0` (SONAME 0); the run builds `libdemoruntime1`: a rename |
//! | demo-consumer        | 1.0      | builds against the new release (ok); its binary depends on `libdemoruntime0`: a binNMU |
//! | demo-consumer-legacy | 1.0      | calls `demo_runtime_add3`, gone in 7.2.4: a regression (it builds against 7.1.0) |
//! | demo-consumer-broken | 1.0      | its own test fails with any runtime: already failing (the recheck says so) |
//!
//! The source packages are real (`dpkg-source -b`); the binaries are made
//! in a second without sbuild: the old runtime compiled by the host's `cc`
//! (so they exist for the host's architecture only; the other arches get
//! empty indices), the consumers' binaries placeholders whose control
//! fields are what the checks read. Indices by `dpkg-scansources` and
//! `dpkg-scanpackages`, the Release file (SHA256 lines, no signature: a
//! local directory is only warned about) written here.

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{
    Error, File, MAINTAINER_EMAIL, MAINTAINER_NAME, OLD_VERSION, exe, file, upstream_files,
};
use crate::fsio::IoError;
use crate::process::Cmd;

/// The old release's Debian version in the archive.
pub const OLD_ARCHIVE_VERSION: &str = "7.1.0-1";

/// The consumers outside the stack: (source, what its program checks).
pub const CONSUMERS: &[&str] = &[
    "demo-consumer",
    "demo-consumer-legacy",
    "demo-consumer-broken",
];

/// The suite directory the archive holds (`unstable`'s codename).
const SUITE: &str = "sid";

/// The archive's date (2025-10-01): dpkg-source and dpkg-deb clamp file
/// times to it, so a rewritten archive has the same files and checksums,
/// and rebuilds of unchanged consumers are reused.
const EPOCH: &str = "1759320000";

/// A consumer's C program: what it calls and what its `make check` expects.
fn consumer_program(source: &str) -> String {
    let body = match source {
        "demo-consumer" => "    int sum = demo_runtime_add(2, 3);\n    return sum == 5 ? 0 : 1;",
        "demo-consumer-legacy" => {
            "    /* Written against 7.1.0: demo_runtime_add3 is gone in 7.2.4. */\n    int sum = demo_runtime_add3(1, 2, 3);\n    return sum == 6 ? 0 : 1;"
        }
        _ => {
            "    /* A bug of its own, whatever the runtime: 2 + 2 is not 5. */\n    int sum = demo_runtime_add(2, 2);\n    if (sum != 5)\n        fprintf(stderr, \"FAIL: expected 5, got %d\\n\", sum);\n    return sum == 5 ? 0 : 1;"
        }
    };
    format!("#include <stdio.h>\n#include <demo/demoruntime.h>\n\nint main(void) {{\n{body}\n}}\n")
}

/// The unpacked source tree of a consumer.
pub fn consumer_files(source: &str) -> Vec<File> {
    let maintainer = format!("{MAINTAINER_NAME} <{MAINTAINER_EMAIL}>");
    let makefile = format!(
        "all: {source}\n\n{source}: {source}.c\n\t$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -ldemoruntime\n\ncheck: all\n\t./{source}\n\ninstall: all\n\tinstall -D -m 755 {source} $(DESTDIR)/usr/bin/{source}\n\nclean:\n\trm -f {source}\n\n.PHONY: all check install clean\n"
    );
    let control = format!(
        "Source: {source}\nSection: utils\nPriority: optional\nMaintainer: {maintainer}\nBuild-Depends: debhelper-compat (= 13), libdemoruntime-dev\nStandards-Version: 4.7.2\nRules-Requires-Root: no\n\nPackage: {source}\nArchitecture: any\nDepends: ${{shlibs:Depends}}, ${{misc:Depends}}\nDescription: consumer of the cascade demo stack outside it\n A program using the demo runtime, like a package outside ROCm using it.\n"
    );
    let changelog = format!(
        "{source} (1.0) unstable; urgency=medium\n\n  * Initial release.\n\n -- {maintainer}  Wed, 01 Oct 2025 12:00:00 +0000\n"
    );
    vec![
        file(&format!("{source}.c"), consumer_program(source)),
        file("Makefile", makefile),
        file("debian/control", control),
        file("debian/changelog", changelog),
        exe("debian/rules", RULES),
        file("debian/source/format", "3.0 (native)\n"),
    ]
}

/// The plain dh rules of the archive's sources.
const RULES: &str = "#!/usr/bin/make -f\n%:\n\tdh $@\n";

/// The old demo-runtime's source tree: upstream 7.1.0 with the old
/// packaging (libdemoruntime0).
fn old_runtime_files() -> Vec<File> {
    let maintainer = format!("{MAINTAINER_NAME} <{MAINTAINER_EMAIL}>");
    let mut files = upstream_files("demo-runtime", OLD_VERSION);
    files.extend([
        file(
            "debian/control",
            format!(
                "Source: demo-runtime\nSection: libs\nPriority: optional\nMaintainer: {maintainer}\nBuild-Depends: debhelper-compat (= 13), demo-cmake\nStandards-Version: 4.7.2\n\nPackage: libdemoruntime0\nArchitecture: any\nMulti-Arch: same\nDepends: ${{shlibs:Depends}}, ${{misc:Depends}}\nDescription: runtime library of the cascade demo stack (old release)\n SONAME 0, before the 7.2 series renamed it.\n\nPackage: libdemoruntime-dev\nSection: libdevel\nArchitecture: any\nMulti-Arch: same\nDepends: libdemoruntime0 (= ${{binary:Version}}), ${{misc:Depends}}\nDescription: runtime library of the cascade demo stack -- headers (old release)\n The headers and the development symlink.\n"
            ),
        ),
        file(
            "debian/changelog",
            format!(
                "demo-runtime ({OLD_ARCHIVE_VERSION}) unstable; urgency=medium\n\n  * Upload of 7.1.0.\n\n -- {maintainer}  Wed, 01 Oct 2025 12:00:00 +0000\n"
            ),
        ),
        exe("debian/rules", RULES),
        file("debian/source/format", "1.0\n"),
    ]);
    files
}

/// A binary package's control file.
fn deb_control(package: &str, source: &str, version: &str, arch: &str, depends: &str) -> String {
    format!(
        "Package: {package}\nSource: {source}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {MAINTAINER_NAME} <{MAINTAINER_EMAIL}>\nDepends: {depends}\nSection: libs\nPriority: optional\nDescription: {package} (cascade demo archive)\n Part of what unstable had before the demo stack's move.\n"
    )
}

/// The Release file of the suite, listing `indices` (path below the
/// suite's directory, contents) by size and SHA-256.
pub fn release_text(arches: &[String], indices: &[(String, Vec<u8>)]) -> String {
    let mut out = format!(
        "Origin: cascade demo\nLabel: cascade demo\nSuite: unstable\nCodename: {SUITE}\nDate: Wed, 01 Oct 2025 12:00:00 UTC\nArchitectures: {}\nComponents: main\nDescription: what unstable had before the demo stack's move\nSHA256:\n",
        arches.join(" ")
    );
    for (path, bytes) in indices {
        let sum = hex::encode(sha2::Sha256::digest(bytes));
        out.push_str(&format!(" {sum} {} {path}\n", bytes.len()));
    }
    out
}

/// Writes `DIR/archive/` (replacing an older one) for the host arch
/// `host` (binaries) and `arches` (indices); returns its path.
pub fn write(dir: &Path, host: &str, arches: &[String]) -> Result<PathBuf, Error> {
    let root = dir.join("archive");
    let tmp = dir.join("archive.new");
    let _ = std::fs::remove_dir_all(&tmp);
    let build = tempfile::tempdir().map_err(|e| IoError::new("<tempdir>", e))?;
    let pool = tmp.join("pool/main");
    for source in CONSUMERS {
        source_package(build.path(), &pool, source, "1.0", &consumer_files(source))?;
    }
    let files = old_runtime_files();
    source_package(
        build.path(),
        &pool,
        "demo-runtime",
        OLD_ARCHIVE_VERSION,
        &files,
    )?;
    old_runtime_debs(build.path(), &pool.join("d/demo-runtime"), host)?;
    consumer_debs(build.path(), &pool, host)?;
    indices(&tmp, host, arches)?;
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&tmp, &root).map_err(|e| IoError::new(&root, e))?;
    Ok(root)
}

fn write_files(dir: &Path, files: &[File]) -> Result<(), Error> {
    for f in files {
        let p = dir.join(&f.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| IoError::new(parent, e))?;
        }
        std::fs::write(&p, &f.content).map_err(|e| IoError::new(&p, e))?;
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(&p, mode).map_err(|e| IoError::new(&p, e))?;
        }
    }
    Ok(())
}

/// `dpkg-source -b` of `files` into `pool/L/SOURCE/`.
fn source_package(
    build: &Path,
    pool: &Path,
    source: &str,
    version: &str,
    files: &[File],
) -> Result<(), Error> {
    let upstream = version.split('-').next().unwrap_or(version);
    let tree = build.join(format!("{source}-{upstream}"));
    write_files(&tree, files)?;
    let dest = pool.join(&source[..1]).join(source);
    std::fs::create_dir_all(&dest).map_err(|e| IoError::new(&dest, e))?;
    Cmd::new("dpkg-source")
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .arg("-b")
        .arg(tree.file_name().unwrap_or_default())
        .cwd(build)
        .run()?;
    for entry in std::fs::read_dir(build).map_err(|e| IoError::new(build, e))? {
        let path = entry.map_err(|e| IoError::new(build, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_file() && name.starts_with(&format!("{source}_")) {
            let to = dest.join(name);
            std::fs::rename(&path, &to).map_err(|e| IoError::new(&to, e))?;
        }
    }
    Ok(())
}

/// The old runtime's two binary packages, compiled by the host's `cc` with
/// SONAME 0, into `dest`.
fn old_runtime_debs(build: &Path, dest: &Path, host: &str) -> Result<(), Error> {
    let multiarch = Cmd::new("dpkg-architecture")
        .args(["-qDEB_HOST_MULTIARCH"])
        .run()?
        .stdout
        .trim()
        .to_string();
    let src = build.join(format!("demo-runtime-{OLD_VERSION}"));
    let libdir = format!("usr/lib/{multiarch}");
    let lib = build.join("libdemoruntime0").join(&libdir);
    std::fs::create_dir_all(&lib).map_err(|e| IoError::new(&lib, e))?;
    Cmd::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-O2",
            "-Wl,-soname,libdemoruntime.so.0",
            "-Iinclude",
        ])
        .arg("-o")
        .arg(lib.join("libdemoruntime.so.0"))
        .arg("src/demoruntime.c")
        .cwd(&src)
        .run()?;
    let v = OLD_ARCHIVE_VERSION;
    let control = deb_control(
        "libdemoruntime0",
        "demo-runtime",
        v,
        host,
        "libc6 (>= 2.2.5)",
    );
    let runtime = format!("{control}Multi-Arch: same\n");
    // What dpkg-shlibdeps reads when a consumer links against it.
    let shlibs = build.join("libdemoruntime0/DEBIAN/shlibs");
    std::fs::create_dir_all(build.join("libdemoruntime0/DEBIAN"))
        .map_err(|e| IoError::new(&shlibs, e))?;
    std::fs::write(&shlibs, "libdemoruntime 0 libdemoruntime0 (>= 7.1.0)\n")
        .map_err(|e| IoError::new(&shlibs, e))?;
    deb(build, "libdemoruntime0", &runtime, dest, host)?;
    let dev = build.join("libdemoruntime-dev");
    let include = dev.join("usr/include/demo");
    let devlib = dev.join(&libdir);
    for d in [&include, &devlib] {
        std::fs::create_dir_all(d).map_err(|e| IoError::new(d, e))?;
    }
    let header = src.join("include/demo/demoruntime.h");
    std::fs::copy(&header, include.join("demoruntime.h")).map_err(|e| IoError::new(&header, e))?;
    let link = devlib.join("libdemoruntime.so");
    std::os::unix::fs::symlink("libdemoruntime.so.0", &link).map_err(|e| IoError::new(&link, e))?;
    let depends = format!("libdemoruntime0 (= {v})");
    let control = deb_control("libdemoruntime-dev", "demo-runtime", v, host, &depends);
    deb(
        build,
        "libdemoruntime-dev",
        &format!("{control}Multi-Arch: same\n"),
        dest,
        host,
    )
}

/// Placeholder binaries of the consumers that built before: their
/// dependency on the old SONAME is what the binNMU check reads.
fn consumer_debs(build: &Path, pool: &Path, host: &str) -> Result<(), Error> {
    for source in ["demo-consumer", "demo-consumer-legacy"] {
        let doc = build.join(source).join(format!("usr/share/doc/{source}"));
        std::fs::create_dir_all(&doc).map_err(|e| IoError::new(&doc, e))?;
        let readme = doc.join("README.Debian");
        let text = "A placeholder of the cascade demo archive: only its control fields matter.\n";
        std::fs::write(&readme, text).map_err(|e| IoError::new(&readme, e))?;
        let depends = "libdemoruntime0 (>= 7.1.0), libc6 (>= 2.34)";
        let control = deb_control(source, source, "1.0", host, depends);
        let dest = pool.join(&source[..1]).join(source);
        deb(build, source, &control, &dest, host)?;
    }
    Ok(())
}

/// `dpkg-deb --build` of `build/PACKAGE/` with `control` into `dest`.
fn deb(build: &Path, package: &str, control: &str, dest: &Path, host: &str) -> Result<(), Error> {
    let tree = build.join(package);
    let debian = tree.join("DEBIAN");
    std::fs::create_dir_all(&debian).map_err(|e| IoError::new(&debian, e))?;
    let path = debian.join("control");
    std::fs::write(&path, control).map_err(|e| IoError::new(&path, e))?;
    std::fs::create_dir_all(dest).map_err(|e| IoError::new(dest, e))?;
    let version = control
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .unwrap_or_default();
    let out = dest.join(format!("{package}_{version}_{host}.deb"));
    Cmd::new("dpkg-deb")
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&tree)
        .arg(&out)
        .run()?;
    Ok(())
}

/// Sources, each arch's Packages (the host's lists the binaries, the
/// others are empty) and the Release file over them.
fn indices(root: &Path, host: &str, arches: &[String]) -> Result<(), Error> {
    let suite = root.join("dists").join(SUITE);
    let sources = Cmd::new("dpkg-scansources")
        .arg("pool")
        .cwd(root)
        .run()?
        .stdout;
    let mut indices = vec![("main/source/Sources".to_string(), sources.into_bytes())];
    for arch in arches {
        let text = if arch == host {
            let out = Cmd::new("dpkg-scanpackages")
                .args(["-a", host, "pool"])
                .cwd(root)
                .run()?;
            out.stdout
        } else {
            String::new()
        };
        indices.push((format!("main/binary-{arch}/Packages"), text.into_bytes()));
    }
    for (path, bytes) in &indices {
        let p = suite.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| IoError::new(parent, e))?;
        }
        std::fs::write(&p, bytes).map_err(|e| IoError::new(&p, e))?;
    }
    let release = suite.join("Release");
    std::fs::write(&release, release_text(arches, &indices))
        .map_err(|e| IoError::new(&release, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legacy_consumer_calls_what_only_the_old_release_has() {
        let old = upstream_files("demo-runtime", OLD_VERSION);
        let new = upstream_files("demo-runtime", super::super::NEW_VERSION);
        let header = |fs: &[File]| {
            fs.iter()
                .find(|f| f.path == "include/demo/demoruntime.h")
                .unwrap()
                .content
                .clone()
        };
        assert!(header(&old).contains("demo_runtime_add3"));
        assert!(!header(&new).contains("demo_runtime_add3"));
        assert!(consumer_program("demo-consumer-legacy").contains("demo_runtime_add3("));
        assert!(!consumer_program("demo-consumer").contains("demo_runtime_add3"));
    }

    #[test]
    fn every_consumer_build_depends_on_the_runtime_headers() {
        for c in CONSUMERS {
            let files = consumer_files(c);
            let control = &files
                .iter()
                .find(|f| f.path == "debian/control")
                .unwrap()
                .content;
            assert!(control.contains("Build-Depends: debhelper-compat (= 13), libdemoruntime-dev"));
            assert!(control.contains(&format!("Package: {c}\n")));
        }
    }

    #[test]
    fn the_release_lists_each_index_by_size_and_sha256() {
        let text = release_text(
            &["amd64".into(), "riscv64".into()],
            &[("main/binary-riscv64/Packages".into(), Vec::new())],
        );
        assert!(text.contains("Architectures: amd64 riscv64\n"));
        assert!(text.contains(
            " e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 main/binary-riscv64/Packages\n"
        ));
    }
}
