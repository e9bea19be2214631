//! `--commit-port`: the widening of debian/control committed to the user's
//! packaging branch, for a maintainer who wants it there rather than as a
//! patch in the run directory. Never done by default.

use std::path::{Path, PathBuf};

use crate::git::{Author, CommitRequest, Vcs};

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error(
        "{}: debian/control has uncommitted changes; commit or stash them before --commit-port",
        repo.display()
    )]
    Dirty { repo: PathBuf },
    #[error(transparent)]
    Widen(#[from] super::Error),
    #[error(transparent)]
    Git(#[from] crate::git::Error),
}

/// The commit message of a widening.
pub fn message(arch: &str, changes: &[super::Change]) -> String {
    let mut m = format!(
        "Try building on {arch}\n\nA porting run of cascade widened the architecture lists:\n\n"
    );
    for c in changes {
        m.push_str(&format!(" * {c}\n"));
    }
    m
}

/// Widens `repo`'s debian/control for `arch` and commits it on the
/// checked-out branch. Returns the commit id, or `None` when the file
/// already includes the arch.
pub fn commit_port(
    vcs: &dyn Vcs,
    repo: &Path,
    arch: &str,
    options: super::Options,
    author: &Author,
) -> Result<Option<String>, Error> {
    const CONTROL: &str = "debian/control";
    if vcs.dirty_paths(repo)?.iter().any(|p| p == CONTROL) {
        return Err(Error::Dirty {
            repo: repo.to_path_buf(),
        });
    }
    let path = repo.join(CONTROL);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.clone(), source)))?;
    let ported = super::widen(&path, &text, arch, options)?;
    if !ported.changed() {
        return Ok(None);
    }
    std::fs::write(&path, &ported.text)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.clone(), source)))?;
    let msg = message(arch, &ported.changes);
    let id = vcs.commit(
        repo,
        &CommitRequest {
            paths: &[CONTROL.to_string()],
            message: &msg,
            author,
            merge_upstream: None,
        },
    )?;
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Git2;

    #[test]
    fn commits_the_widening_once() {
        let tmp = tempfile::tempdir().unwrap();
        let stack = crate::demo::init(&tmp.path().join("demo")).unwrap();
        let bare = &stack
            .packages
            .iter()
            .find(|p| p.source == "demo-smi")
            .unwrap()
            .packaging;
        let repo = tmp.path().join("checkout");
        git2::Repository::clone(bare.to_str().unwrap(), &repo).unwrap();
        let author = Author {
            name: "P".into(),
            email: "p@example.org".into(),
            time: 1_764_590_400,
        };
        let id = commit_port(
            &Git2,
            &repo,
            "riscv64",
            super::super::Options::default(),
            &author,
        )
        .unwrap()
        .unwrap();
        let r = git2::Repository::open(&repo).unwrap();
        let head = r.head().unwrap().peel_to_commit().unwrap();
        assert_eq!(head.id().to_string(), id);
        assert!(
            head.message()
                .unwrap()
                .starts_with("Try building on riscv64\n")
        );
        let control = std::fs::read_to_string(repo.join("debian/control")).unwrap();
        assert!(control.contains("Architecture: amd64 arm64 ppc64el riscv64\n"));
        assert!(r.statuses(None).unwrap().is_empty());
        // Nothing left to widen.
        assert_eq!(
            commit_port(
                &Git2,
                &repo,
                "riscv64",
                super::super::Options::default(),
                &author
            )
            .unwrap(),
            None
        );
    }
}
