//! The crate's one I/O error: an operation on a path failed. Each module's
//! error enum wraps it (`Io(#[from] IoError)`) instead of spelling its own
//! `Io { path, source }`; [`at`] builds it in a `map_err`.

use std::path::{Path, PathBuf};

/// An I/O operation on `path` failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct IoError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl IoError {
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> IoError {
        IoError {
            path: path.into(),
            source,
        }
    }

    pub fn kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }
}

/// `.map_err(at(path))?`: the error of an operation on `path`, converted by
/// `?` into the caller's error type.
pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> IoError + '_ {
    move |source| IoError::new(path, source)
}

/// The `*.json` files directly in `dir`, by name: CI jobs' results and
/// reports, gathered into one directory.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, IoError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(at(dir))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// `to` as a hard link to `from` when both are on one file system (a
/// ROCm orig tarball or .deb is hundreds of MiB), else a copy.
pub fn link_or_copy(from: &Path, to: &Path) -> Result<(), IoError> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map(drop).map_err(at(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_path() {
        let e = std::fs::read("/nonexistent/x").map_err(at(Path::new("/nonexistent/x")));
        let e = e.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("/nonexistent/x: "), "{e}");
    }
}
