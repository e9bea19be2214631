//! git through git2, behind the small [`Vcs`] trait a bump needs: clone or
//! fetch, tags, the recipe's branch, the dirty-tree check, the gbp-style
//! upstream import, one commit, and an explicit push.
//!
//! Everything here is blocking; async callers go through `spawn_blocking`.
//! Nothing here rewrites history: branches only move forward (fast-forward or
//! a new commit on top), checkouts are "safe" (a file the user changed is a
//! conflict, never overwritten), pushes are never forced.

use std::path::{Path, PathBuf};

use git2::build::CheckoutBuilder;
use git2::{
    AutotagOption, BranchType, FetchOptions, IndexAddOption, Oid, Repository, Signature,
    StatusOptions, Time,
};

/// Who commits, and when (seconds since the epoch, UTC).
#[derive(Clone, Debug)]
pub struct Author {
    pub name: String,
    pub email: String,
    pub time: u64,
}

/// A tag resolved to its commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagInfo {
    pub name: String,
    pub commit: String,
    /// The commit's time (seconds since the epoch): the orig tarball's mtime.
    pub time: i64,
}

/// What a commit on the packaging branch contains.
#[derive(Clone, Debug)]
pub struct CommitRequest<'a> {
    /// Paths (relative to the work tree) whose work-tree content goes in.
    pub paths: &'a [String],
    pub message: &'a str,
    pub author: &'a Author,
    /// gbp style: merge this upstream commit, whose tree replaces everything
    /// outside `debian/`.
    pub merge_upstream: Option<&'a str>,
}

/// The git operations a bump needs.
pub trait Vcs {
    /// Clones `url` (URL, `file://` or plain path) into `dest`, or fetches
    /// into an existing clone there (branches and all tags). A bare clone for
    /// upstream repos nobody edits.
    fn sync(&self, url: &str, dest: &Path, bare: bool) -> Result<(), Error>;
    /// All tag names, sorted.
    fn tags(&self, repo: &Path) -> Result<Vec<String>, Error>;
    /// The tag's commit; a missing tag is an error listing the nearest tags.
    fn resolve_tag(&self, repo: &Path, tag: &str) -> Result<TagInfo, Error>;
    /// Makes `branch` the checked-out branch: the local one, or a new one
    /// tracking `origin/branch`; fast-forwards it to `origin/branch` when it
    /// is behind and the tree is clean. Never drops a local commit.
    fn checkout_branch(&self, repo: &Path, branch: &str) -> Result<(), Error>;
    /// Tracked files that differ from HEAD (untracked files do not count).
    fn dirty_paths(&self, repo: &Path) -> Result<Vec<String>, Error>;
    /// A file's content at HEAD, if it exists there.
    fn head_file(&self, repo: &Path, path: &str) -> Result<Option<Vec<u8>>, Error>;
    /// A file's content at the tip of `branch` (local, else `origin/branch`),
    /// without checking anything out.
    fn branch_file(&self, repo: &Path, branch: &str, path: &str) -> Result<Option<Vec<u8>>, Error>;
    /// gbp style: the `upstream` branch (created if missing) gets a commit
    /// with the tag's tree minus excluded paths, tagged `upstream_tag`.
    /// Reuses that tag when it already exists. Returns the commit id.
    fn import_upstream(
        &self,
        packaging: &Path,
        upstream: &Path,
        tag: &str,
        upstream_tag: &str,
        excluded: &dyn Fn(&str) -> bool,
        author: &Author,
    ) -> Result<String, Error>;
    /// One commit on the checked-out branch; the work tree is updated to it
    /// first (safely). Returns the commit id.
    fn commit(&self, repo: &Path, req: &CommitRequest) -> Result<String, Error>;
    /// Pushes refs (`refs/heads/B`, `refs/tags/T`) to `url`, never forced.
    fn push(&self, repo: &Path, url: &str, refs: &[String]) -> Result<(), Error>;
}

/// Serialises the cascades that sync one clone (two CI jobs sharing a
/// workdir, as gitlab-ci-local runs them): the second waits for the first's
/// clone instead of racing its rename or taking it for an interrupted one.
/// The lock file lives in the temp dir, so a sync (a dry run's too) adds
/// nothing to the workdir, and goes when the sync ends; the kernel drops
/// the lock with its holder.
fn sync_lock(dest: &Path) -> Result<crate::lock::TempLock, Error> {
    use sha2::Digest;
    let abs = std::path::absolute(dest).unwrap_or_else(|_| dest.to_owned());
    let hash = hex::encode(sha2::Sha256::digest(abs.as_os_str().as_encoded_bytes()));
    let path = std::env::temp_dir().join(format!("cascade-git-{}.lock", &hash[..16]));
    crate::lock::TempLock::acquire(&path)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.clone(), source)))
}

/// The git2 implementation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Git2;

fn open(path: &Path) -> Result<Repository, Error> {
    Repository::open(path).map_err(|source| Error::Git {
        repo: path.to_owned(),
        action: "open".into(),
        source,
    })
}

fn ctx(repo: &Path, action: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
    let repo = repo.to_owned();
    let action = action.into();
    move |source| Error::Git {
        repo,
        action,
        source,
    }
}

/// Plain paths become absolute so libgit2's local transport finds them
/// whatever the current directory.
fn normalize_url(url: &str) -> String {
    if url.contains("://") || url.contains('@') {
        return url.to_owned();
    }
    std::path::absolute(url)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| url.to_owned())
}

fn fetch_options<'a>() -> FetchOptions<'a> {
    let mut fo = FetchOptions::new();
    fo.download_tags(AutotagOption::All);
    // Nothing reads FETCH_HEAD; not writing it keeps a fetch that brings
    // nothing new (every dry run's) from changing the clone at all.
    fo.update_fetchhead(false);
    fo
}

fn signature(author: &Author) -> Result<Signature<'static>, git2::Error> {
    let time = i64::try_from(author.time).unwrap_or(i64::MAX);
    Signature::new(&author.name, &author.email, &Time::new(time, 0))
}

impl Vcs for Git2 {
    fn sync(&self, url: &str, dest: &Path, bare: bool) -> Result<(), Error> {
        let url = normalize_url(url);
        let _lock = sync_lock(dest)?;
        if dest.exists() && incomplete_clone(dest)? {
            tracing::warn!("{}: an interrupted clone; cloning again", dest.display());
            std::fs::remove_dir_all(dest)
                .map_err(|source| Error::Io(crate::fsio::IoError::new(dest.to_owned(), source)))?;
        }
        if dest.exists() {
            let repo = open(dest)?;
            // The recipe may have moved to another URL since the clone.
            repo.remote_set_url("origin", &url)
                .map_err(ctx(dest, "set the URL of origin"))?;
            let mut remote = repo
                .find_remote("origin")
                .map_err(ctx(dest, "find remote origin"))?;
            // An upstream mirror follows upstream, retagged tags included. In
            // a packaging clone, tags arrive through auto-follow, which never
            // replaces a local tag (such as an unpushed `upstream/X`).
            let refspecs: &[&str] = if bare {
                &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
            } else {
                &["+refs/heads/*:refs/remotes/origin/*"]
            };
            return remote
                .fetch(refspecs, Some(&mut fetch_options()), None)
                .map_err(ctx(dest, format!("fetch {url}")));
        }
        clone_into_place(&url, dest, bare)
    }

    fn tags(&self, repo: &Path) -> Result<Vec<String>, Error> {
        let r = open(repo)?;
        let names = r.tag_names(None).map_err(ctx(repo, "list tags"))?;
        let mut tags: Vec<String> = names
            .iter()
            .filter_map(|t| t.ok().flatten().map(str::to_owned))
            .collect();
        tags.sort();
        Ok(tags)
    }

    fn resolve_tag(&self, repo: &Path, tag: &str) -> Result<TagInfo, Error> {
        let r = open(repo)?;
        let obj = match r.revparse_single(&format!("refs/tags/{tag}")) {
            Ok(obj) => obj,
            Err(_) => {
                let tags = self.tags(repo)?;
                return Err(Error::NoSuchTag {
                    repo: repo.to_owned(),
                    tag: tag.to_owned(),
                    nearest: nearest_tags(tag, &tags, 5),
                });
            }
        };
        let commit = obj
            .peel_to_commit()
            .map_err(ctx(repo, format!("peel tag {tag}")))?;
        Ok(TagInfo {
            name: tag.to_owned(),
            commit: commit.id().to_string(),
            time: commit.time().seconds(),
        })
    }

    fn checkout_branch(&self, repo: &Path, branch: &str) -> Result<(), Error> {
        let r = open(repo)?;
        let remote_ref = r
            .find_branch(&format!("origin/{branch}"), BranchType::Remote)
            .ok()
            .and_then(|b| b.get().target());
        let local = r.find_branch(branch, BranchType::Local).ok();
        let local_tip = local.as_ref().and_then(|b| b.get().target());
        let tip = match (local_tip, remote_ref) {
            (Some(l), Some(rm)) if l != rm && r.graph_descendant_of(rm, l).unwrap_or(false) => {
                // Behind origin: fast-forward, but only a clean tree.
                if self.dirty_paths(repo)?.is_empty() {
                    rm
                } else {
                    l
                }
            }
            (Some(l), _) => l,
            (None, Some(rm)) => rm,
            (None, None) => {
                return Err(Error::NoBranch {
                    repo: repo.to_owned(),
                    branch: branch.to_owned(),
                });
            }
        };
        let refname = format!("refs/heads/{branch}");
        let on_branch = r
            .head()
            .ok()
            .and_then(|h| h.name().ok().map(|n| n == refname))
            .unwrap_or(false);
        let current = r.head().ok().and_then(|h| h.target());
        if on_branch && current == Some(tip) {
            return Ok(());
        }
        let commit = r.find_commit(tip).map_err(ctx(repo, "find branch tip"))?;
        let mut co = CheckoutBuilder::new();
        co.safe();
        r.checkout_tree(commit.as_object(), Some(&mut co))
            .map_err(ctx(repo, format!("check out {branch}")))?;
        r.reference(&refname, tip, true, "cascade: check out recipe branch")
            .map_err(ctx(repo, format!("update {refname}")))?;
        r.set_head(&refname)
            .map_err(ctx(repo, format!("switch to {branch}")))?;
        Ok(())
    }

    fn dirty_paths(&self, repo: &Path) -> Result<Vec<String>, Error> {
        let r = open(repo)?;
        let mut opts = StatusOptions::new();
        opts.include_untracked(false).include_ignored(false);
        let statuses = r.statuses(Some(&mut opts)).map_err(ctx(repo, "status"))?;
        Ok(statuses
            .iter()
            .filter(|s| !s.status().is_empty())
            .filter_map(|s| s.path().ok().map(str::to_owned))
            .collect())
    }

    fn head_file(&self, repo: &Path, path: &str) -> Result<Option<Vec<u8>>, Error> {
        file_at(repo, &["HEAD"], path)
    }

    fn branch_file(&self, repo: &Path, branch: &str, path: &str) -> Result<Option<Vec<u8>>, Error> {
        file_at(
            repo,
            &[
                &format!("refs/heads/{branch}"),
                &format!("refs/remotes/origin/{branch}"),
            ],
            path,
        )
    }

    fn import_upstream(
        &self,
        packaging: &Path,
        upstream: &Path,
        tag: &str,
        upstream_tag: &str,
        excluded: &dyn Fn(&str) -> bool,
        author: &Author,
    ) -> Result<String, Error> {
        let r = open(packaging)?;
        if let Ok(obj) = r.revparse_single(&format!("refs/tags/{upstream_tag}")) {
            let c = obj
                .peel_to_commit()
                .map_err(ctx(packaging, format!("peel {upstream_tag}")))?;
            return Ok(c.id().to_string());
        }
        // Bring the upstream tag's objects into the packaging repo.
        let url = normalize_url(&upstream.to_string_lossy());
        let fetched = "refs/cascade/upstream-import";
        let mut remote = r
            .remote_anonymous(&url)
            .map_err(ctx(packaging, "remote for upstream"))?;
        let mut fo = FetchOptions::new();
        fo.download_tags(AutotagOption::None);
        fo.update_fetchhead(false);
        remote
            .fetch(
                &[format!("+refs/tags/{tag}:{fetched}")],
                Some(&mut fo),
                None,
            )
            .map_err(ctx(packaging, format!("fetch tag {tag} from {url}")))?;
        let up_commit = r
            .revparse_single(fetched)
            .and_then(|o| o.peel_to_commit())
            .map_err(ctx(packaging, format!("read fetched tag {tag}")))?;
        let mut index = git2::Index::new().map_err(ctx(packaging, "new index"))?;
        index
            .read_tree(&up_commit.tree().map_err(ctx(packaging, "upstream tree"))?)
            .map_err(ctx(packaging, "read upstream tree"))?;
        let drop: Vec<PathBuf> = index
            .iter()
            .filter_map(|e| String::from_utf8(e.path).ok())
            .filter(|p| excluded(p))
            .map(PathBuf::from)
            .collect();
        for p in &drop {
            index
                .remove_path(p)
                .map_err(ctx(packaging, format!("exclude {}", p.display())))?;
        }
        let tree_id = index
            .write_tree_to(&r)
            .map_err(ctx(packaging, "write upstream tree"))?;
        let tree = r.find_tree(tree_id).map_err(ctx(packaging, "find tree"))?;
        let sig = signature(author).map_err(ctx(packaging, "signature"))?;
        let parent = upstream_tip(&r);
        let version = upstream_tag.rsplit('/').next().unwrap_or(upstream_tag);
        let message = format!("New upstream version {version}\n");
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let id = r
            .commit(None, &sig, &sig, &message, &tree, &parents)
            .map_err(ctx(packaging, "commit upstream import"))?;
        // Moves only forward: `id` has the old tip as its parent.
        r.reference("refs/heads/upstream", id, true, "cascade: upstream import")
            .map_err(ctx(packaging, "update upstream branch"))?;
        let obj = r.find_object(id, None).map_err(ctx(packaging, "find"))?;
        r.tag(
            upstream_tag,
            &obj,
            &sig,
            &format!("Upstream version {version}\n"),
            false,
        )
        .map_err(ctx(packaging, format!("tag {upstream_tag}")))?;
        if let Ok(mut reference) = r.find_reference(fetched) {
            let _ = reference.delete();
        }
        Ok(id.to_string())
    }

    fn commit(&self, repo: &Path, req: &CommitRequest) -> Result<String, Error> {
        let r = open(repo)?;
        let head = r
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(ctx(repo, "read HEAD"))?;
        let mut index = r.index().map_err(ctx(repo, "index"))?;
        index
            .add_all(req.paths.iter(), IndexAddOption::DEFAULT, None)
            .map_err(ctx(repo, "stage files"))?;
        let staged = index.write_tree().map_err(ctx(repo, "write tree"))?;
        let mut parents = vec![head.clone()];
        let tree_id = match req.merge_upstream {
            None => staged,
            Some(up) => {
                let up_oid = Oid::from_str(up).map_err(ctx(repo, "upstream commit id"))?;
                let up_commit = r
                    .find_commit(up_oid)
                    .map_err(ctx(repo, "upstream commit"))?;
                let staged_tree = r.find_tree(staged).map_err(ctx(repo, "staged tree"))?;
                let debian = staged_tree
                    .get_name("debian")
                    .ok_or_else(|| Error::NoDebianDir {
                        repo: repo.to_owned(),
                    })?;
                let up_tree = up_commit.tree().map_err(ctx(repo, "upstream tree"))?;
                let mut tb = r
                    .treebuilder(Some(&up_tree))
                    .map_err(ctx(repo, "tree builder"))?;
                tb.insert("debian", debian.id(), debian.filemode())
                    .map_err(ctx(repo, "insert debian/"))?;
                let merged = tb.write().map_err(ctx(repo, "write merged tree"))?;
                let already_merged = r.graph_descendant_of(head.id(), up_oid).unwrap_or(false)
                    || head.id() == up_oid;
                if !already_merged {
                    parents.push(up_commit);
                }
                merged
            }
        };
        let tree = r.find_tree(tree_id).map_err(ctx(repo, "find tree"))?;
        // Update the work tree before the branch moves; safe mode refuses to
        // overwrite anything the user changed. A work tree that already
        // matches (an interrupted earlier run) needs nothing.
        let matches = r
            .diff_tree_to_workdir(Some(&tree), None)
            .map(|d| d.deltas().len() == 0)
            .unwrap_or(false);
        if !matches {
            let mut co = CheckoutBuilder::new();
            co.safe();
            r.checkout_tree(tree.as_object(), Some(&mut co))
                .map_err(ctx(repo, "update the work tree"))?;
        }
        let sig = signature(req.author).map_err(ctx(repo, "signature"))?;
        let message = if req.message.ends_with('\n') {
            req.message.to_owned()
        } else {
            format!("{}\n", req.message)
        };
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        // update_ref "HEAD" checks that HEAD still points at our first parent.
        let id = r
            .commit(Some("HEAD"), &sig, &sig, &message, &tree, &parent_refs)
            .map_err(ctx(repo, "commit"))?;
        let mut index = r.index().map_err(ctx(repo, "index"))?;
        index.read_tree(&tree).map_err(ctx(repo, "refresh index"))?;
        index.write().map_err(ctx(repo, "write index"))?;
        Ok(id.to_string())
    }

    fn push(&self, repo: &Path, url: &str, refs: &[String]) -> Result<(), Error> {
        let r = open(repo)?;
        let url = normalize_url(url);
        let mut remote = r
            .remote_anonymous(&url)
            .map_err(ctx(repo, format!("remote {url}")))?;
        // No leading `+`: a non-fast-forward is refused by the remote.
        let specs: Vec<String> = refs.iter().map(|r| format!("{r}:{r}")).collect();
        let rejected = std::cell::RefCell::new(Vec::new());
        let mut cbs = git2::RemoteCallbacks::new();
        cbs.push_update_reference(|name, status| {
            if let Some(msg) = status {
                rejected.borrow_mut().push(format!("{name}: {msg}"));
            }
            Ok(())
        });
        let mut po = git2::PushOptions::new();
        po.remote_callbacks(cbs);
        remote
            .push(&specs, Some(&mut po))
            .map_err(ctx(repo, format!("push to {url}")))?;
        drop(po);
        let rejected = rejected.into_inner();
        if !rejected.is_empty() {
            return Err(Error::PushRejected {
                url,
                refs: rejected.join(", "),
            });
        }
        Ok(())
    }
}

/// The commit a new upstream import goes on: the newer of the local
/// `upstream` branch and `origin/upstream`. A fresh clone has only the
/// remote one; an import without it as parent could never be pushed.
/// Diverged branches keep the local one (the push then says why).
fn upstream_tip(r: &Repository) -> Option<git2::Commit<'_>> {
    let tip = |name: &str, kind| {
        r.find_branch(name, kind)
            .ok()
            .and_then(|b| b.get().peel_to_commit().ok())
    };
    match (
        tip("upstream", BranchType::Local),
        tip("origin/upstream", BranchType::Remote),
    ) {
        (Some(l), Some(o)) if r.graph_descendant_of(o.id(), l.id()).unwrap_or(false) => Some(o),
        (Some(l), _) => Some(l),
        (None, o) => o,
    }
}

/// Clones into a temporary directory next to `dest` and renames it into
/// place, so that a clone killed halfway never sits at `dest`. Temporary
/// clones an earlier killed run left behind are removed first.
fn clone_into_place(url: &str, dest: &Path, bare: bool) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io(crate::fsio::IoError::new(path, source))
    };
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.clone-");
    for old in std::fs::read_dir(parent).map_err(io(parent))?.flatten() {
        if old.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(parent)
        .map_err(io(parent))?;
    git2::build::RepoBuilder::new()
        .bare(bare)
        .fetch_options(fetch_options())
        .clone(url, tmp.path())
        .map_err(ctx(dest, format!("clone {url}")))?;
    std::fs::rename(tmp.path(), dest).map_err(io(dest))?;
    // Renamed away: nothing left for the guard to remove.
    let _ = tmp.keep();
    Ok(())
}

/// Is `dest` a clone that never finished (an interrupted `git clone` of an
/// older cascade, or of the user)? Such a directory has git's layout but no
/// reference at all, so removing it loses no commit. A directory that is
/// not a repository and holds references is left alone: `open` reports it.
fn incomplete_clone(dest: &Path) -> Result<bool, Error> {
    match Repository::open(dest) {
        Ok(r) => Ok(r
            .references()
            .map_err(ctx(dest, "list references"))?
            .next()
            .is_none()),
        Err(_) => {
            let git_dir = if dest.join(".git").is_dir() {
                dest.join(".git")
            } else {
                dest.to_owned()
            };
            let looks_like_git = git_dir.join("objects").is_dir() || git_dir.join("HEAD").is_file();
            let no_refs = std::fs::read_dir(git_dir.join("refs/heads"))
                .map_or(true, |mut d| d.next().is_none())
                && std::fs::metadata(git_dir.join("packed-refs")).map_or(true, |m| m.len() == 0);
            let empty = std::fs::read_dir(dest).is_ok_and(|mut d| d.next().is_none());
            Ok(empty || (looks_like_git && no_refs))
        }
    }
}

/// A file at the first of `revs` that exists.
fn file_at(repo: &Path, revs: &[&str], path: &str) -> Result<Option<Vec<u8>>, Error> {
    let r = open(repo)?;
    let Some(tree) = revs
        .iter()
        .find_map(|rev| r.revparse_single(rev).and_then(|o| o.peel_to_tree()).ok())
    else {
        return Ok(None);
    };
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    let blob = entry
        .to_object(&r)
        .and_then(|o| o.peel_to_blob())
        .map_err(ctx(repo, format!("read {path}")))?;
    Ok(Some(blob.content().to_vec()))
}

/// The tags closest to a missing one: those with the same non-numeric
/// prefix, nearest by version; else the highest versions overall.
pub fn nearest_tags(wanted: &str, tags: &[String], n: usize) -> Vec<String> {
    fn split(tag: &str) -> (&str, &str) {
        match tag.find(|c: char| c.is_ascii_digit()) {
            Some(i) => (&tag[..i], &tag[i..]),
            None => (tag, ""),
        }
    }
    fn key(v: &str) -> Option<debversion::Version> {
        format!("{v}-0").parse().ok()
    }
    let (prefix, ver) = split(wanted);
    let mut same: Vec<&String> = tags.iter().filter(|t| split(t).0 == prefix).collect();
    if same.is_empty() {
        same = tags.iter().collect();
    }
    same.sort_by(|a, b| key(split(a).1).cmp(&key(split(b).1)).then(a.cmp(b)));
    let Some(target) = key(ver) else {
        return same.iter().rev().take(n).map(|s| s.to_string()).collect();
    };
    // Centre the window on where the wanted tag would sort.
    let pos = same.partition_point(|t| key(split(t).1).is_some_and(|k| k < target));
    let start = pos.saturating_sub(n / 2).min(same.len().saturating_sub(n));
    same[start..same.len().min(start + n)]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot {action}: {source}", repo.display())]
    Git {
        repo: PathBuf,
        action: String,
        #[source]
        source: git2::Error,
    },
    #[error("{}: no tag `{tag}`; nearest tags: {}", repo.display(), if nearest.is_empty() { "(none)".to_owned() } else { nearest.join(", ") })]
    NoSuchTag {
        repo: PathBuf,
        tag: String,
        nearest: Vec<String>,
    },
    #[error("{}: no branch `{branch}` (neither local nor origin/{branch})", repo.display())]
    NoBranch { repo: PathBuf, branch: String },
    #[error("{}: the packaging tree has no debian/ directory", repo.display())]
    NoDebianDir { repo: PathBuf },
    #[error("push to {url} rejected: {refs}")]
    PushRejected { url: String, refs: String },
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_tags_prefer_same_prefix_and_close_versions() {
        let tags: Vec<String> = [
            "rocm-6.4.3",
            "rocm-7.0.0",
            "rocm-7.1.0",
            "rocm-7.2.0",
            "rocm-7.2.4",
            "rocm-7.3.0",
            "therock-10.1",
            "v1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let near = nearest_tags("rocm-7.2.5", &tags, 3);
        assert_eq!(near, ["rocm-7.2.0", "rocm-7.2.4", "rocm-7.3.0"]);
        let near = nearest_tags("rocm-9.0", &tags, 2);
        assert_eq!(near, ["rocm-7.2.4", "rocm-7.3.0"]);
        let near = nearest_tags("release-1.0", &tags, 2);
        assert_eq!(near.len(), 2);
    }

    /// Two CI jobs sharing a workdir clone the same repository at once: both
    /// end with the clone, neither takes the other's for an interrupted one.
    #[test]
    fn concurrent_syncs_of_one_clone_both_succeed() {
        let tmp = tempfile::tempdir().unwrap();
        let origin = tmp.path().join("origin");
        let repo = Repository::init(&origin).unwrap();
        std::fs::write(origin.join("f"), "x").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("f")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.org").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &[])
            .unwrap();
        let dest = tmp.path().join("work/upstream.git");
        let url = origin.to_string_lossy().into_owned();
        let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| Git2.sync(&url, &dest, true)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in results {
            r.unwrap();
        }
        assert!(Repository::open(&dest).unwrap().head().is_ok());
    }
}
