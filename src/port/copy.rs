//! Build copies for a porting run: a source package's tree copied (or
//! unpacked) into `RUNDIR/port/ARCH/SOURCE/`, widened for the arch, the
//! recipe's porting patches applied, a `~port1` changelog entry added, and
//! rebuilt into a .dsc; plus the combined patch the packaging team can take,
//! `RUNDIR/port/ARCH/patches/SOURCE.patch`.
//!
//! The user's checkout is only ever read. Effects: files under the run
//! directory, and `dpkg-source`/`patch` through [`crate::process::Cmd`].

use std::path::{Path, PathBuf};

use crate::arch::Arch;
use crate::changelog::{self, Maintainer, NewEntry};
use crate::process::Cmd;
use crate::recipe::PortSettings;
use crate::rundir::RunDir;

/// The suffix that makes a porting version: `7.2.4-1~exp1~port1` sorts just
/// below `7.2.4-1~exp1`, so a porting build never shadows the archive's or
/// the stack's own version of the package.
pub const PORT_SUFFIX: &str = "~port1";

/// The changelog distribution of a porting entry. `UNRELEASED` rather than
/// the stack's suite: sbuild gets `--dist` anyway, and dput, debrelease and
/// lintian all flag `UNRELEASED`, so a porting build can't be uploaded by
/// mistake.
pub const DISTRIBUTION: &str = "UNRELEASED";

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error("{source_name} {version}: `{version}{PORT_SUFFIX}` is not a valid Debian version")]
    Version {
        source_name: String,
        version: String,
    },
    #[error(transparent)]
    Widen(#[from] super::Error),
    #[error(transparent)]
    Changelog(#[from] changelog::Error),
    #[error("{source_name}: the porting patch {} for {arch} does not apply: {source}", patch.display())]
    Patch {
        source_name: String,
        arch: Arch,
        patch: PathBuf,
        #[source]
        source: Box<crate::process::Error>,
    },
    #[error("{source_name}: {step}: {source}")]
    Tool {
        source_name: String,
        step: &'static str,
        #[source]
        source: Box<crate::process::Error>,
    },
    #[error("{}: dpkg-source did not write it", path.display())]
    NoDsc { path: PathBuf },
}

use crate::fsio::{at as io, link_or_copy};

/// Where the sources to port come from.
#[derive(Clone, Copy, Debug)]
pub enum Origin<'a> {
    /// A source package (the one the bump step made): unpacked with
    /// `dpkg-source -x`; its orig tarballs are linked next to the copy.
    Dsc(&'a Path),
    /// An unpacked tree (debian/ + upstream source, e.g. a maintainer's gbp
    /// checkout): copied without `.git`. The orig tarballs
    /// (`SOURCE_UPSTREAM.orig*.tar.*`) are taken from `orig_dir`, by default
    /// the tree's parent directory as dpkg-source expects.
    Tree {
        tree: &'a Path,
        orig_dir: Option<&'a Path>,
    },
}

/// One build copy to make.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub origin: Origin<'a>,
    pub source: &'a str,
    /// The version the origin is at (its changelog's top entry).
    pub version: &'a str,
    pub arch: &'a Arch,
    /// The recipe's porting settings for `arch` (default: none).
    pub settings: &'a PortSettings,
    /// Where the recipe is; its patch paths are relative to it.
    pub recipe_dir: &'a Path,
    pub run_dir: &'a Path,
    /// Signs the porting changelog entry.
    pub maintainer: &'a Maintainer,
    /// The entry's date (SOURCE_DATE_EPOCH or now).
    pub timestamp: u64,
}

/// A build copy, ready to build.
#[derive(Clone, Debug, PartialEq)]
pub struct PortedSource {
    pub source: String,
    pub arch: Arch,
    /// `VERSION~port1`.
    pub version: String,
    /// The porting source package.
    pub dsc: PathBuf,
    /// `RUNDIR/port/ARCH/patches/SOURCE.patch`, when anything but the
    /// changelog changed.
    pub patch: Option<PathBuf>,
    /// What the widening changed in debian/control.
    pub changes: Vec<super::Change>,
    /// The recipe's porting patches that were applied, as given.
    pub applied: Vec<String>,
}

/// The porting version of `version`.
pub fn port_version(version: &str) -> String {
    format!("{version}{PORT_SUFFIX}")
}

/// Is `version` a porting version (a binNMU of one included)?
pub fn is_port_version(version: &str) -> bool {
    version.contains(PORT_SUFFIX)
}

/// `1:7.2.4+dfsg-1~exp1` → `7.2.4+dfsg`; a native version is its own
/// upstream version.
fn upstream_of(version: &str) -> &str {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u)
}

fn without_epoch(version: &str) -> &str {
    version.split_once(':').map_or(version, |(_, v)| v)
}

/// Makes the build copy: see the module documentation. A previous copy of the
/// same source and arch in this run directory is replaced.
pub fn prepare(req: &Request) -> Result<PortedSource, Error> {
    let version = port_version(req.version);
    let parsed: debversion::Version = version.parse().map_err(|_| Error::Version {
        source_name: req.source.to_string(),
        version: req.version.to_string(),
    })?;
    let dir = RunDir::new(req.run_dir).port_copy(req.arch, req.source);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let tree_name = format!("{}-{}", req.source, upstream_of(req.version));
    let tree = dir.join(&tree_name);
    match req.origin {
        Origin::Dsc(dsc) => unpack_dsc(req, dsc, &dir, &tree)?,
        Origin::Tree {
            tree: from,
            orig_dir,
        } => copy_origin_tree(req, from, orig_dir, &dir, &tree)?,
    }

    let (ported, mut combined) = widen_control(req, &tree)?;
    apply_patches(req, &tree, &mut combined)?;
    let patch = write_combined_patch(req, &combined)?;
    add_changelog_entry(req, &tree, &parsed, ported.changed())?;
    let dsc = build_source_package(req, &dir, &tree_name, &version)?;
    // The tree served dpkg-source only; ROCm trees are large.
    std::fs::remove_dir_all(&tree).map_err(io(&tree))?;
    Ok(PortedSource {
        source: req.source.to_string(),
        arch: req.arch.clone(),
        version,
        dsc,
        patch,
        changes: ported.changes,
        applied: req.settings.patches.clone(),
    })
}

/// An error of the external tool run for `step`.
fn tool(req: &Request, step: &'static str) -> impl FnOnce(crate::process::Error) -> Error {
    let source_name = req.source.to_string();
    move |source| Error::Tool {
        source_name,
        step,
        source: Box::new(source),
    }
}

/// Unpacks the source package into `tree` and links its orig tarballs into
/// `dir`.
fn unpack_dsc(req: &Request, dsc: &Path, dir: &Path, tree: &Path) -> Result<(), Error> {
    Cmd::new("dpkg-source")
        .args(["--no-check", "-x"])
        .arg(dsc)
        .arg(tree)
        .run()
        .map_err(tool(req, "unpacking the source package"))?;
    let from = dsc.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(dsc).map_err(io(dsc))?;
    for name in dsc_files(&text).iter().filter(|n| n.contains(".orig")) {
        link_or_copy(&from.join(name), &dir.join(name))?;
    }
    Ok(())
}

/// Copies the unpacked tree `from` to `tree` and links the orig tarballs
/// found in `orig_dir` (by default beside `from`) into `dir`.
fn copy_origin_tree(
    req: &Request,
    from: &Path,
    orig_dir: Option<&Path>,
    dir: &Path,
    tree: &Path,
) -> Result<(), Error> {
    copy_tree(from, tree)?;
    let orig_dir = orig_dir
        .map(Path::to_path_buf)
        .or_else(|| from.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let prefix = format!("{}_{}.orig", req.source, upstream_of(req.version));
    if let Ok(entries) = std::fs::read_dir(&orig_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) {
                link_or_copy(&e.path(), &dir.join(&name))?;
            }
        }
    }
    Ok(())
}

/// Widens debian/control in the copy; returns the widening and its patch
/// (empty when nothing changed).
fn widen_control(req: &Request, tree: &Path) -> Result<(super::Ported, String), Error> {
    let control = tree.join("debian/control");
    let original = std::fs::read_to_string(&control).map_err(io(&control))?;
    let ported = super::widen(
        &control,
        &original,
        req.arch.as_str(),
        super::Options {
            build_depends: req.settings.widen_build_depends,
        },
    )?;
    if ported.changed() {
        std::fs::write(&control, &ported.text).map_err(io(&control))?;
    }
    let patch = super::patch("debian/control", req.arch.as_str(), &original, &ported);
    Ok((ported, patch))
}

/// The recipe's patches, in order, as `patch -p1` applies them to a
/// packaging checkout (paths `a/debian/rules`, `a/src/x.c`); each is added
/// to the `combined` patch.
fn apply_patches(req: &Request, tree: &Path, combined: &mut String) -> Result<(), Error> {
    for p in &req.settings.patches {
        let path = req.recipe_dir.join(p);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        Cmd::new("patch")
            .args([
                "-p1",
                "--batch",
                "--forward",
                "--no-backup-if-mismatch",
                "-i",
            ])
            .arg(&path)
            .cwd(tree)
            .run()
            .map_err(|source| Error::Patch {
                source_name: req.source.to_string(),
                arch: req.arch.clone(),
                patch: path.clone(),
                source: Box::new(source),
            })?;
        if !combined.is_empty() && !combined.ends_with("\n\n") {
            combined.push('\n');
        }
        combined.push_str(&text);
        if !combined.ends_with('\n') {
            combined.push('\n');
        }
    }
    Ok(())
}

/// Writes the combined patch for the packaging team, unless it is empty.
fn write_combined_patch(req: &Request, combined: &str) -> Result<Option<PathBuf>, Error> {
    if combined.is_empty() {
        return Ok(None);
    }
    let path = RunDir::new(req.run_dir).port_patch(req.arch, req.source);
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    std::fs::write(&path, combined).map_err(io(&path))?;
    Ok(Some(path))
}

/// The porting changelog entry, saying what was widened and patched.
fn add_changelog_entry(
    req: &Request,
    tree: &Path,
    version: &debversion::Version,
    widened: bool,
) -> Result<(), Error> {
    let changelog_path = tree.join("debian/changelog");
    let text = std::fs::read_to_string(&changelog_path).map_err(io(&changelog_path))?;
    let mut lines = vec![format!(
        "Porting build for {} by cascade; not for upload.",
        req.arch
    )];
    if widened {
        lines.push(format!(
            "Widen the architecture lists to include {}.",
            req.arch
        ));
    }
    for p in &req.settings.patches {
        lines.push(format!("Apply the porting patch {p}."));
    }
    let new = changelog::add_entry(
        &text,
        &changelog_path,
        &NewEntry {
            version,
            distribution: DISTRIBUTION,
            changes: &lines,
            maintainer: req.maintainer,
            timestamp: req.timestamp,
        },
    )?;
    std::fs::write(&changelog_path, new).map_err(io(&changelog_path))?;
    Ok(())
}

/// The source package. A porting patch may touch upstream files; in a
/// `3.0 (quilt)` package dpkg-source records those changes as a quilt
/// patch of its own instead of refusing them.
fn build_source_package(
    req: &Request,
    dir: &Path,
    tree_name: &str,
    version: &str,
) -> Result<PathBuf, Error> {
    let tree = dir.join(tree_name);
    let format = std::fs::read_to_string(tree.join("debian/source/format")).unwrap_or_default();
    let mut cmd = Cmd::new("dpkg-source");
    if format.trim() == "3.0 (quilt)" {
        cmd = cmd.arg("--auto-commit");
    }
    cmd.args(["-b", tree_name])
        .cwd(dir)
        .run()
        .map_err(tool(req, "building the porting source package"))?;
    let dsc = dir.join(format!("{}_{}.dsc", req.source, without_epoch(version)));
    if !dsc.is_file() {
        return Err(Error::NoDsc { path: dsc });
    }
    Ok(dsc)
}

/// The file names a .dsc lists (its `Files:` field).
fn dsc_files(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_files = false;
    for line in text.lines() {
        if line.starts_with("Files:") {
            in_files = true;
            continue;
        }
        if in_files {
            if !line.starts_with(' ') {
                in_files = false;
                continue;
            }
            if let Some(name) = line.split_whitespace().nth(2) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Copies a tree without `.git`, keeping symlinks and executable bits.
fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry.file_type().map_err(io(&src))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(io(&src))?;
            std::os::unix::fs::symlink(target, &dst).map_err(io(&dst))?;
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            // fs::copy keeps the permission bits.
            std::fs::copy(&src, &dst).map_err(io(&src))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(port_version("7.2.4-1~exp1"), "7.2.4-1~exp1~port1");
        let a: debversion::Version = "7.2.4-1~exp1~port1".parse().unwrap();
        let b: debversion::Version = "7.2.4-1~exp1".parse().unwrap();
        assert!(a < b, "a porting build never shadows the version it ports");
        assert_eq!(upstream_of("1:7.2.4+dfsg-1~exp1"), "7.2.4+dfsg");
        assert_eq!(upstream_of("7.2.4"), "7.2.4");
        assert_eq!(without_epoch("1:7.2.4-1"), "7.2.4-1");
    }

    #[test]
    fn dsc_file_list() {
        let dsc = "Format: 3.0 (quilt)\nSource: x\nFiles:\n 0123 10 x_1.0.orig.tar.xz\n 4567 20 x_1.0-1.debian.tar.xz\nChecksums-Sha256:\n ab 10 x_1.0.orig.tar.xz\n";
        assert_eq!(
            dsc_files(dsc),
            ["x_1.0.orig.tar.xz", "x_1.0-1.debian.tar.xz"]
        );
    }

    /// Writes demo-smi 7.1.0 (upstream + debian/) as `DIR/demo-smi-7.1.0`
    /// with its orig tarball next to it, as dpkg-source expects.
    fn demo_tree(dir: &Path) -> PathBuf {
        let tree = dir.join("demo-smi-7.1.0");
        let mut files = crate::demo::upstream_files("demo-smi", "7.1.0");
        for f in &files {
            let p = tree.join(&f.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &f.content).unwrap();
        }
        Cmd::new("tar")
            .args(["-cJf", "demo-smi_7.1.0.orig.tar.xz", "demo-smi-7.1.0"])
            .cwd(dir)
            .run()
            .unwrap();
        files = crate::demo::debian_files("demo-smi", "7.1.0");
        for f in &files {
            let p = tree.join(&f.path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &f.content).unwrap();
        }
        tree
    }

    fn have_tools() -> bool {
        ["dpkg-source", "patch", "tar", "xz"].iter().all(|t| {
            Cmd::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .run()
                .is_ok()
        })
    }

    fn maintainer() -> Maintainer {
        Maintainer {
            name: "Porting Bot".into(),
            email: "port@example.org".into(),
        }
    }

    /// Unpacks a .dsc and returns the tree.
    fn unpack(dsc: &Path, into: &Path) -> PathBuf {
        let tree = into.join("x");
        Cmd::new("dpkg-source")
            .args(["--no-check", "-x"])
            .arg(dsc)
            .arg(&tree)
            .run()
            .unwrap();
        tree
    }

    #[test]
    fn a_build_copy_of_the_demo_smi_tree() {
        if !have_tools() {
            eprintln!("skipped: dpkg-source, patch, tar or xz missing");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let tree = demo_tree(tmp.path());
        let control_before = std::fs::read_to_string(tree.join("debian/control")).unwrap();
        let recipes = tmp.path().join("recipes");
        std::fs::create_dir_all(recipes.join("patches")).unwrap();
        // Touches an upstream file: dpkg-source must record it as a quilt patch.
        let readme_patch = "Subject: Say riscv64 works\n\n--- a/README.md\n+++ b/README.md\n@@ -1,3 +1,5 @@\n # demo-smi 7.1.0\n \n Part of cascade's demo stack; mirrors ROCm's layering.\n+\n+Works on riscv64.\n";
        std::fs::write(recipes.join("patches/riscv64.patch"), readme_patch).unwrap();
        let settings = PortSettings {
            patches: vec!["patches/riscv64.patch".into()],
            ..PortSettings::default()
        };
        let run_dir = tmp.path().join("run");
        let arch = Arch::new("riscv64").unwrap();
        let ported = prepare(&Request {
            origin: Origin::Tree {
                tree: &tree,
                orig_dir: None,
            },
            source: "demo-smi",
            version: "7.1.0-1~exp1",
            arch: &arch,
            settings: &settings,
            recipe_dir: &recipes,
            run_dir: &run_dir,
            maintainer: &maintainer(),
            timestamp: 1_764_590_400,
        })
        .unwrap();
        assert_eq!(ported.version, "7.1.0-1~exp1~port1");
        assert_eq!(
            ported.dsc,
            run_dir.join("port/riscv64/demo-smi/demo-smi_7.1.0-1~exp1~port1.dsc")
        );
        assert_eq!(ported.changes.len(), 1);
        // The user's tree is untouched.
        assert_eq!(
            std::fs::read_to_string(tree.join("debian/control")).unwrap(),
            control_before
        );
        // The saved patch: the widening, then the recipe's patch.
        let patch = std::fs::read_to_string(ported.patch.as_ref().unwrap()).unwrap();
        assert!(
            patch.starts_with("Subject: Try building on riscv64\n"),
            "{patch}"
        );
        assert!(patch.contains("+Architecture: amd64 arm64 ppc64el riscv64\n"));
        assert!(patch.ends_with(readme_patch), "{patch}");
        // It applies to the original tree with patch -p1.
        let check = tmp.path().join("check");
        copy_tree(&tree, &check).unwrap();
        Cmd::new("patch")
            .args(["-p1", "--batch", "-i"])
            .arg(ported.patch.as_ref().unwrap())
            .cwd(&check)
            .run()
            .unwrap();
        // The .dsc holds all of it.
        let out = unpack(&ported.dsc, tmp.path());
        let control = std::fs::read_to_string(out.join("debian/control")).unwrap();
        assert_eq!(
            control,
            control_before.replace("ppc64el\n", "ppc64el riscv64\n")
        );
        assert!(
            std::fs::read_to_string(out.join("README.md"))
                .unwrap()
                .contains("Works on riscv64.")
        );
        let cl = std::fs::read_to_string(out.join("debian/changelog")).unwrap();
        assert!(
            cl.starts_with(
                "demo-smi (7.1.0-1~exp1~port1) UNRELEASED; urgency=medium\n\n  * Porting build for riscv64 by cascade; not for upload.\n  * Widen the architecture lists to include riscv64.\n  * Apply the porting patch patches/riscv64.patch.\n\n -- Porting Bot <port@example.org>  Mon, 01 Dec 2025 12:00:00 +0000\n\ndemo-smi (7.1.0-1~exp1) experimental;"
            ),
            "{cl}"
        );
        // The unpacked copy is gone; the .dsc and orig stay.
        assert!(
            !run_dir
                .join("port/riscv64/demo-smi/demo-smi-7.1.0")
                .exists()
        );
    }

    #[test]
    fn a_build_copy_from_a_source_package_widens_build_depends_when_asked() {
        if !have_tools() {
            eprintln!("skipped: dpkg-source, patch, tar or xz missing");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let tree = demo_tree(tmp.path());
        // A build-dependency restricted to the arches the package lists.
        let control = tree.join("debian/control");
        let text = std::fs::read_to_string(&control).unwrap().replace(
            "debhelper-compat (= 13)",
            "debhelper-compat (= 13), libnuma-dev [amd64 arm64 ppc64el]",
        );
        std::fs::write(&control, text).unwrap();
        Cmd::new("dpkg-source")
            .args(["-b", "demo-smi-7.1.0"])
            .cwd(tmp.path())
            .run()
            .unwrap();
        let dsc = tmp.path().join("demo-smi_7.1.0-1~exp1.dsc");
        let run_dir = tmp.path().join("run");
        let arch = Arch::new("riscv64").unwrap();
        let settings = PortSettings {
            widen_build_depends: true,
            ..PortSettings::default()
        };
        let maintainer = maintainer();
        let request = Request {
            origin: Origin::Dsc(&dsc),
            source: "demo-smi",
            version: "7.1.0-1~exp1",
            arch: &arch,
            settings: &settings,
            recipe_dir: tmp.path(),
            run_dir: &run_dir,
            maintainer: &maintainer,
            timestamp: 1_764_590_400,
        };
        let ported = prepare(&request).unwrap();
        assert_eq!(ported.changes.len(), 2, "{:?}", ported.changes);
        assert!(ported.applied.is_empty());
        let out = unpack(&ported.dsc, tmp.path());
        let control = std::fs::read_to_string(out.join("debian/control")).unwrap();
        assert!(control.contains("libnuma-dev [amd64 arm64 ppc64el riscv64]"));
        assert!(control.contains("Architecture: amd64 arm64 ppc64el riscv64\n"));
        let first_sha = crate::state::file_sha256(&ported.dsc).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        // A second preparation replaces the first.
        let again = prepare(&request).unwrap();
        assert_eq!(again, ported);
        // Byte-identical: the runner's input hash (the .dsc's sha256) lets a
        // no-op rerun reuse the build.
        assert_eq!(first_sha, crate::state::file_sha256(&again.dsc).unwrap());
    }

    #[test]
    fn a_patch_that_does_not_apply_names_itself() {
        if !have_tools() {
            eprintln!("skipped: dpkg-source, patch, tar or xz missing");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let tree = demo_tree(tmp.path());
        std::fs::write(
            tmp.path().join("bad.patch"),
            "--- a/nope.c\n+++ b/nope.c\n@@ -1 +1 @@\n-a\n+b\n",
        )
        .unwrap();
        let settings = PortSettings {
            patches: vec!["bad.patch".into()],
            ..PortSettings::default()
        };
        let arch = Arch::new("riscv64").unwrap();
        let err = prepare(&Request {
            origin: Origin::Tree {
                tree: &tree,
                orig_dir: None,
            },
            source: "demo-smi",
            version: "7.1.0-1~exp1",
            arch: &arch,
            settings: &settings,
            recipe_dir: tmp.path(),
            run_dir: &tmp.path().join("run"),
            maintainer: &maintainer(),
            timestamp: 0,
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("demo-smi: the porting patch"), "{msg}");
        assert!(
            msg.contains("bad.patch for riscv64 does not apply"),
            "{msg}"
        );
    }
}
