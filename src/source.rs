//! Upstream source: the reproducible orig tarball made from an upstream tag
//! (with `Files-Excluded` of debian/copyright removed for `+dfsg`/`+ds`
//! repacks), the unpacked source tree, and `dpkg-source -b` producing the
//! .dsc the build step consumes.
//!
//! Reproducible means the same bytes on every run: entries in sorted path
//! order, mtime = the tag's commit time, owner root (uid/gid 0), modes from
//! git, a fixed xz preset, single-threaded.

use std::io::Write;
use std::path::{Path, PathBuf};

use deb822_lossless::Deb822;
use git2::{ObjectType, Repository, TreeWalkMode, TreeWalkResult};

use crate::process::Cmd;

/// The xz preset of the orig tarball (xz's default level).
const XZ_PRESET: u32 = 6;

/// `Files-Excluded` of a DEP-5 debian/copyright (first paragraph), split on
/// whitespace. No field: no patterns.
pub fn files_excluded(copyright: &str, path: &Path) -> Result<Vec<String>, Error> {
    let parsed = Deb822::parse(copyright);
    if let Some(e) = parsed.errors().first() {
        return Err(Error::Copyright {
            path: path.to_owned(),
            message: e.clone(),
        });
    }
    let doc = parsed.tree();
    let Some(header) = doc.paragraphs().next() else {
        return Ok(Vec::new());
    };
    Ok(header
        .get("Files-Excluded")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default())
}

/// Whether `path` (relative to the source root) is removed by one of the
/// patterns. DEP-5 globs: `*` matches any run of characters including `/`,
/// `?` one character; a pattern naming a directory removes everything
/// under it. Hand-written because shell-style glob crates stop `*` at `/`.
pub fn is_excluded(patterns: &[String], path: &str) -> bool {
    patterns.iter().any(|p| {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        if p.is_empty() {
            return false;
        }
        // The path itself or any of its parent directories.
        let mut prefix_ends: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
        prefix_ends.push(path.len());
        prefix_ends
            .iter()
            .any(|&end| glob(p.as_bytes(), &path.as_bytes()[..end]))
    })
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard match with backtracking to the last `*`.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// `SOURCE_UPSTREAM.orig.tar.xz`.
pub fn orig_name(source: &str, upstream_version: &str) -> String {
    format!("{source}_{upstream_version}.orig.tar.xz")
}

/// Writes the orig tarball of `tag` into `out_dir` and returns its path.
/// An existing tarball of that name is kept: it was written atomically
/// (temporary file + rename), so it is complete, and it is reproducible.
pub fn orig_tarball(
    upstream: &Path,
    tag: &str,
    source: &str,
    upstream_version: &str,
    excluded: &[String],
    out_dir: &Path,
) -> Result<PathBuf, Error> {
    let dest = out_dir.join(orig_name(source, upstream_version));
    if dest.exists() {
        return Ok(dest);
    }
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let git = |action: &str| {
        let action = format!("{action} ({})", upstream.display());
        move |source: git2::Error| Error::Git { action, source }
    };
    let repo = Repository::open(upstream).map_err(git("open upstream repository"))?;
    let commit = repo
        .revparse_single(&format!("refs/tags/{tag}"))
        .and_then(|o| o.peel_to_commit())
        .map_err(git(&format!("find tag {tag}")))?;
    let mtime = u64::try_from(commit.time().seconds()).unwrap_or(0);
    let tree = commit.tree().map_err(git("read tree"))?;

    // Collect (path, mode, blob) first so the order is plain byte order of
    // the full paths, not git's tree order.
    let mut entries: Vec<(String, i32, Option<git2::Oid>)> = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let path = format!("{dir}{name}");
        if is_excluded(excluded, &path) {
            return TreeWalkResult::Skip;
        }
        match entry.kind() {
            Some(ObjectType::Tree) => entries.push((path, 0o40000, None)),
            Some(ObjectType::Blob) => entries.push((path, entry.filemode(), Some(entry.id()))),
            // Submodules (commits) are not part of the tarball.
            _ => {}
        }
        TreeWalkResult::Ok
    })
    .map_err(git("walk tree"))?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let tmp = tempfile::NamedTempFile::new_in(out_dir).map_err(io(out_dir))?;
    let xz = xz2::write::XzEncoder::new(tmp.as_file(), XZ_PRESET);
    let mut tar = tar::Builder::new(xz);
    let prefix = format!("{source}-{upstream_version}");
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        let _ = h.set_username("root");
        let _ = h.set_groupname("root");
        h
    };
    let tio = |e: std::io::Error| Error::Io(crate::fsio::IoError::new(dest.clone(), e));
    let mut h = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut h, format!("{prefix}/"), std::io::empty())
        .map_err(tio)?;
    for (path, mode, oid) in &entries {
        let name = format!("{prefix}/{path}");
        match oid {
            None => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                tar.append_data(&mut h, format!("{name}/"), std::io::empty())
                    .map_err(tio)?;
            }
            Some(oid) => {
                let blob = repo.find_blob(*oid).map_err(git(&format!("read {path}")))?;
                if *mode == 0o120000 {
                    let target = String::from_utf8_lossy(blob.content()).into_owned();
                    let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                    tar.append_link(&mut h, &name, &target).map_err(tio)?;
                } else {
                    let perm = if *mode == 0o100755 { 0o755 } else { 0o644 };
                    let mut h = header(tar::EntryType::Regular, perm, blob.size() as u64);
                    tar.append_data(&mut h, &name, blob.content())
                        .map_err(tio)?;
                }
            }
        }
    }
    let xz = tar.into_inner().map_err(tio)?;
    let mut file = xz.finish().map_err(tio)?;
    file.flush().map_err(tio)?;
    file.sync_all().map_err(tio)?;
    tmp.persist(&dest)
        .map_err(|e| Error::Io(crate::fsio::IoError::new(dest.clone(), e.error)))?;
    Ok(dest)
}

/// Builds the source package in `out_dir`: unpacks the orig tarball into
/// `SOURCE-UPSTREAM/`, puts the packaging's `debian/` (from the packaging
/// repo's HEAD) in it, and runs `dpkg-source -b`. Returns the .dsc path.
pub fn build_source_package(
    orig: &Path,
    packaging: &Path,
    source: &str,
    upstream_version: &str,
    version_no_epoch: &str,
    out_dir: &Path,
) -> Result<PathBuf, Error> {
    let dir_name = format!("{source}-{upstream_version}");
    let tree_dir = out_dir.join(&dir_name);
    if tree_dir.exists() {
        std::fs::remove_dir_all(&tree_dir).map_err(io(&tree_dir))?;
    }
    let file = std::fs::File::open(orig).map_err(io(orig))?;
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(file));
    archive.unpack(out_dir).map_err(io(orig))?;
    let debian = tree_dir.join("debian");
    if debian.exists() {
        // The packaging's debian/ replaces upstream's, as dpkg-source does.
        std::fs::remove_dir_all(&debian).map_err(io(&debian))?;
    }
    export_debian(packaging, &debian)?;
    dpkg_source_build(out_dir, &dir_name, source, version_no_epoch)
}

/// Runs `dpkg-source -b DIR_NAME` in `out_dir`, checks the .dsc it should
/// have written and removes the unpacked tree, which served dpkg-source only
/// (ROCm trees are large). Returns the .dsc path.
pub fn dpkg_source_build(
    out_dir: &Path,
    dir_name: &str,
    source: &str,
    version_no_epoch: &str,
) -> Result<PathBuf, Error> {
    Cmd::new("dpkg-source")
        .args(["-b", dir_name])
        .cwd(out_dir)
        .run()?;
    let dsc = out_dir.join(format!("{source}_{version_no_epoch}.dsc"));
    if !dsc.exists() {
        return Err(Error::NoDsc { path: dsc });
    }
    let tree_dir = out_dir.join(dir_name);
    std::fs::remove_dir_all(&tree_dir).map_err(io(&tree_dir))?;
    Ok(dsc)
}

/// Builds a native source package (`3.0 (native)`) in `out_dir` from the
/// packaging repo's HEAD tree: there is no orig tarball, the repo is the
/// source. Returns the .dsc path.
pub fn build_native_source_package(
    packaging: &Path,
    source: &str,
    version_no_epoch: &str,
    out_dir: &Path,
) -> Result<PathBuf, Error> {
    let dir_name = format!("{source}-{version_no_epoch}");
    let tree_dir = out_dir.join(&dir_name);
    if tree_dir.exists() {
        std::fs::remove_dir_all(&tree_dir).map_err(io(&tree_dir))?;
    }
    export_tree(packaging, None, &tree_dir)?;
    dpkg_source_build(out_dir, &dir_name, source, version_no_epoch)
}

/// Writes the `debian/` tree of the packaging repo's HEAD into `dest`.
fn export_debian(packaging: &Path, dest: &Path) -> Result<(), Error> {
    export_tree(packaging, Some("debian"), dest)
}

/// Writes the HEAD tree of a repo (or one directory of it) into `dest`.
fn export_tree(packaging: &Path, subdir: Option<&str>, dest: &Path) -> Result<(), Error> {
    let git = |action: &str| {
        let action = format!("{action} ({})", packaging.display());
        move |source: git2::Error| Error::Git { action, source }
    };
    let repo = Repository::open(packaging).map_err(git("open packaging repository"))?;
    let tree = repo
        .head()
        .and_then(|h| h.peel_to_tree())
        .map_err(git("read HEAD"))?;
    let tree = match subdir {
        None => tree,
        Some(dir) => tree
            .get_path(Path::new(dir))
            .and_then(|e| e.to_object(&repo))
            .and_then(|o| o.peel_to_tree())
            .map_err(git(&format!("find {dir}/ at HEAD")))?,
    };
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    let mut failure: Option<Error> = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let path = dest.join(dir).join(name);
        let result = match entry.kind() {
            Some(ObjectType::Tree) => std::fs::create_dir_all(&path).map_err(io(&path)),
            Some(ObjectType::Blob) => write_blob(&repo, entry, &path),
            _ => Ok(()),
        };
        match result {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })
    .ok();
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn write_blob(repo: &Repository, entry: &git2::TreeEntry, path: &Path) -> Result<(), Error> {
    let blob = repo.find_blob(entry.id()).map_err(|source| Error::Git {
        action: format!("read {}", path.display()),
        source,
    })?;
    if entry.filemode() == 0o120000 {
        let target = String::from_utf8_lossy(blob.content()).into_owned();
        return std::os::unix::fs::symlink(target, path).map_err(io(path));
    }
    std::fs::write(path, blob.content()).map_err(io(path))?;
    if entry.filemode() == 0o100755 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io(path))?;
    }
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io(crate::fsio::IoError::new(path, source))
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {action}: {source}")]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error("{}: not a valid DEP-5 file: {message}", path.display())]
    Copyright { path: PathBuf, message: String },
    #[error("dpkg-source ran but {} is missing", path.display())]
    NoDsc { path: PathBuf },
    #[error(transparent)]
    Process(#[from] crate::process::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dep5_globs() {
        let p = pats(&["third_party/*", "*.jar", "docs/blob.pdf", "src/gen?/"]);
        assert!(is_excluded(&p, "third_party/zlib/zlib.h"));
        assert!(is_excluded(&p, "lib/deep/x.jar"));
        assert!(is_excluded(&p, "docs/blob.pdf"));
        assert!(is_excluded(&p, "src/gen1/a.c"));
        assert!(is_excluded(&p, "src/gen1"));
        assert!(!is_excluded(&p, "docs/blob.pdfx"));
        assert!(!is_excluded(&p, "third_party"));
        assert!(!is_excluded(&p, "src/gen12/a.c"));
        let dir = pats(&["vendor"]);
        assert!(is_excluded(&dir, "vendor/a/b.c"));
        assert!(!is_excluded(&dir, "vendored/a"));
    }

    #[test]
    fn copyright_files_excluded() {
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\nFiles-Excluded: third_party/*\n *.jar\n\nFiles: *\nCopyright: 2025 AMD\nLicense: MIT\n";
        assert_eq!(
            files_excluded(text, Path::new("debian/copyright")).unwrap(),
            ["third_party/*", "*.jar"]
        );
        let none = "Format: x\n\nFiles: *\nLicense: MIT\n";
        assert!(files_excluded(none, Path::new("c")).unwrap().is_empty());
    }
}
