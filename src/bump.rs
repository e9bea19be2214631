//! Moves one recipe's package to its target upstream tag, the way a
//! maintainer does it by hand: fetch, version, changelog entry, orig
//! tarball, upstream import, one commit, source package. And the stack mode
//! around it: every package in the order given, one outcome each.
//!
//! Crash safety comes from the order of the steps. The changelog is written
//! atomically first; the tarball is written atomically and reused when
//! present; the upstream import reuses an existing `upstream/X` tag; the
//! commit is the last change to the repository. A rerun after an interruption
//! at any point sees "changelog at the new version but not committed" and
//! completes the bump instead of refusing a dirty tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use debversion::Version;
use serde::{Deserialize, Serialize};

use crate::changelog::{self, Maintainer, NewEntry};
use crate::git::{Author, CommitRequest, Vcs};
use crate::recipe::{ImportStyle, Recipe, Stack};
use crate::source;
use crate::version::{self, Decision};

const CHANGELOG: &str = "debian/changelog";
const COPYRIGHT: &str = "debian/copyright";

/// A point after which a bump can be told to stop, to test what a rerun
/// does after an interruption there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Changelog,
    Tarball,
    Import,
    Commit,
}

/// How to bump.
#[derive(Clone, Debug)]
pub struct BumpOptions {
    /// cascade-managed clones: `WORKDIR/SOURCE/packaging` and
    /// `WORKDIR/SOURCE/upstream.git`.
    pub workdir: PathBuf,
    /// Maintainers' own packaging checkouts, by source name (`--checkout`).
    pub checkouts: BTreeMap<String, PathBuf>,
    /// Orig tarballs, unpacked trees and .dsc files go to `OUT/SOURCE/`.
    pub out_dir: PathBuf,
    pub allow_dirty: bool,
    /// Go ahead even if the new version is not greater than the changelog's.
    pub force: bool,
    /// The changelog already has the target upstream release: make a second
    /// upload of it, with the Debian revision raised.
    pub reupload: bool,
    pub push: bool,
    /// Say what would change; write nothing to any repository or out dir.
    pub dry_run: bool,
    pub maintainer: Maintainer,
    /// Changelog date and commit time (SOURCE_DATE_EPOCH or now).
    pub timestamp: u64,
    /// Tests only: stop after this step, as if interrupted.
    pub stop_after: Option<Step>,
}

impl BumpOptions {
    /// Where a source's packaging repository is.
    pub fn packaging_dir(&self, source: &str) -> PathBuf {
        self.checkouts
            .get(source)
            .cloned()
            .unwrap_or_else(|| self.workdir.join(source).join("packaging"))
    }

    pub fn upstream_dir(&self, source: &str) -> PathBuf {
        self.workdir.join(source).join("upstream.git")
    }

    pub fn source_out_dir(&self, source: &str) -> PathBuf {
        self.out_dir.join(source)
    }

    fn author(&self) -> Author {
        Author {
            name: self.maintainer.name.clone(),
            email: self.maintainer.email.clone(),
            time: self.timestamp,
        }
    }
}

/// What happened to one package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum Status {
    Bumped,
    /// `--dry-run`: what a real run would do is in the outcome.
    Planned,
    AlreadyAtTarget,
    /// `--binnmu`: a binNMU request was recorded for the build step.
    BinNmuRecorded,
    Skipped(String),
    Failed(String),
}

/// The result of bumping one package.
#[derive(Clone, Debug, Serialize)]
pub struct BumpOutcome {
    pub source: String,
    pub status: Status,
    /// The changelog's top version before the bump.
    pub previous: Option<String>,
    /// The version after the bump (or already there).
    pub version: Option<String>,
    pub orig: Option<PathBuf>,
    pub dsc: Option<PathBuf>,
    pub commit: Option<String>,
    /// An interrupted earlier bump was completed.
    pub resumed: bool,
    /// `--dry-run`: the unified diff of debian/changelog.
    pub changelog_diff: Option<String>,
}

impl BumpOutcome {
    /// A failed package, with the error's whole chain as the reason.
    pub fn failed(source: &str, e: &dyn std::error::Error) -> BumpOutcome {
        BumpOutcome::new(source, Status::Failed(error_chain(e)))
    }

    fn new(source: &str, status: Status) -> BumpOutcome {
        BumpOutcome {
            source: source.to_owned(),
            status,
            previous: None,
            version: None,
            orig: None,
            dsc: None,
            commit: None,
            resumed: false,
            changelog_diff: None,
        }
    }
}

/// The upstream version a recipe targets (`Recipe::upstream_version`), or
/// an error when the tag has no number and the recipe gives none.
pub fn recipe_upstream_version(recipe: &Recipe) -> Result<String, Error> {
    let v = recipe.upstream_version();
    if v.is_empty() {
        return Err(Error::NoUpstreamVersion {
            source_name: recipe.source.clone(),
            tag: recipe.upstream.tag.clone(),
        });
    }
    Ok(v)
}

/// The Debian version the recipe's template gives.
pub fn recipe_debian_version(recipe: &Recipe) -> Result<Version, Error> {
    recipe_upstream_version(recipe)?;
    Ok(version::parse(&recipe.debian_version())?)
}

/// Whether a version is a repack whose tarball drops `Files-Excluded`.
pub fn is_repack(v: &Version) -> bool {
    v.upstream_version.contains("+dfsg") || v.upstream_version.contains("+ds")
}

/// gbp's upstream tag for an upstream version (`~` → `_`, `:` → `%`).
pub fn upstream_tag_name(upstream_version: &str) -> String {
    format!(
        "upstream/{}",
        upstream_version.replace('~', "_").replace(':', "%")
    )
}

fn version_no_epoch(v: &Version) -> String {
    match &v.debian_revision {
        Some(r) => format!("{}-{}", v.upstream_version, r),
        None => v.upstream_version.clone(),
    }
}

/// Moves one package to its recipe's target.
pub fn bump_package(
    recipe: &Recipe,
    stack: &Stack,
    opts: &BumpOptions,
    vcs: &dyn Vcs,
) -> Result<BumpOutcome, Error> {
    let src = recipe.source.as_str();
    let packaging = opts.packaging_dir(src);
    let upstream = opts.upstream_dir(src);
    sync_repositories(recipe, opts, vcs, &packaging, &upstream)?;
    let tag = vcs.resolve_tag(&upstream, &recipe.upstream.tag)?;
    let target = recipe_debian_version(recipe)?;

    // In a dry run nothing moves, so read the branch as a real run would
    // see it after checking it out.
    if opts.dry_run {
        return plan_dry_run(recipe, stack, opts, vcs, &packaging, &target);
    }

    let bump = Bump {
        recipe,
        stack,
        opts,
        vcs,
        src,
        changelog_path: packaging.join(CHANGELOG),
        packaging,
        upstream,
        tag: tag.name,
    };
    bump.check_dirty(&target)?;
    vcs.checkout_branch(&bump.packaging, &recipe.packaging.branch)?;

    let head = head_text(vcs, &bump.packaging)?;
    let head_top = changelog::top(&head, &bump.changelog_path)?;
    let mut outcome = BumpOutcome::new(src, Status::Bumped);
    outcome.previous = Some(head_top.version.to_string());
    let new_version = match decide(&head_top, &target, opts)? {
        Decision::AlreadyAtTarget(v) => return bump.already_at_target(outcome, &v),
        Decision::New(v) => v,
    };
    outcome.version = Some(new_version.to_string());

    // 1. The changelog (atomically), unless an interrupted run wrote it.
    outcome.resumed = bump.write_changelog(&head, &new_version)?;
    stop(opts, Step::Changelog)?;

    if recipe.native {
        bump.finish_native(&mut outcome, &new_version)?;
    } else {
        bump.finish_upstream(&mut outcome, &new_version)?;
    }
    Ok(outcome)
}

/// Brings the packaging clone (when cascade manages it; a maintainer's own
/// checkout must exist) and the upstream clone up to date.
fn sync_repositories(
    recipe: &Recipe,
    opts: &BumpOptions,
    vcs: &dyn Vcs,
    packaging: &Path,
    upstream: &Path,
) -> Result<(), Error> {
    let src = recipe.source.as_str();
    if !opts.checkouts.contains_key(src) {
        vcs.sync(&recipe.packaging.repo, packaging, false)?;
    } else if !packaging.join(".git").exists() && !packaging.join("HEAD").exists() {
        return Err(Error::NoCheckout {
            source_name: src.to_owned(),
            path: packaging.to_owned(),
        });
    }
    vcs.sync(&recipe.upstream.repo, upstream, true)?;
    Ok(())
}

/// One real (not dry-run) bump's context: the package, its repositories
/// and the resolved upstream tag.
struct Bump<'a> {
    recipe: &'a Recipe,
    stack: &'a Stack,
    opts: &'a BumpOptions,
    vcs: &'a dyn Vcs,
    src: &'a str,
    packaging: PathBuf,
    upstream: PathBuf,
    changelog_path: PathBuf,
    /// The resolved upstream tag's name.
    tag: String,
}

impl Bump<'_> {
    /// The dirty-tree check, letting through the states an interrupted bump
    /// leaves: debian/changelog at a new version of the target upstream
    /// release, and nothing else changed in debian/ (upstream files change
    /// too when the interruption hit between the work-tree update and the
    /// commit of a gbp import; the commit's safe checkout still protects
    /// anything that differs from what it would write).
    fn check_dirty(&self, target: &Version) -> Result<(), Error> {
        let dirty = self.vcs.dirty_paths(&self.packaging)?;
        if dirty.is_empty() {
            return Ok(());
        }
        let gbp = self.recipe.packaging.import == ImportStyle::Gbp;
        let only_ours = dirty.iter().any(|p| p == CHANGELOG)
            && dirty
                .iter()
                .all(|p| p == CHANGELOG || (gbp && !p.starts_with("debian/")));
        let resumable = only_ours && {
            let work = read(&self.changelog_path)?;
            let head = head_text(self.vcs, &self.packaging)?;
            let w = changelog::top(&work, &self.changelog_path)?;
            let h = changelog::top(&head, &self.changelog_path)?;
            w.version != h.version && version::same_upstream(&w.version, target)
        };
        if !resumable && !self.opts.allow_dirty {
            return Err(Error::Dirty {
                repo: self.packaging.clone(),
                paths: dirty,
            });
        }
        Ok(())
    }

    /// The build step needs the source package; the repository stays as it
    /// is.
    fn already_at_target(
        &self,
        mut outcome: BumpOutcome,
        v: &Version,
    ) -> Result<BumpOutcome, Error> {
        outcome.status = Status::AlreadyAtTarget;
        outcome.version = Some(v.to_string());
        outcome.dsc = match existing_dsc(self.opts, self.src, v) {
            Some(dsc) => Some(dsc),
            None => {
                let (orig, dsc) = source_package(
                    self.recipe,
                    self.opts,
                    &self.packaging,
                    &self.upstream,
                    &self.tag,
                    v,
                )?;
                outcome.orig = (!self.recipe.native).then_some(orig);
                Some(dsc)
            }
        };
        Ok(outcome)
    }

    /// Writes the new changelog entry, unless an interrupted run already
    /// did: then says the bump is resumed.
    fn write_changelog(&self, head: &str, new_version: &Version) -> Result<bool, Error> {
        let path = &self.changelog_path;
        let work = read(path)?;
        let work_top = changelog::top(&work, path)?;
        if work != head && &work_top.version == new_version {
            return Ok(true);
        }
        let text = new_changelog(self.recipe, self.stack, self.opts, &work, path, new_version)?;
        write_atomically(path, text.as_bytes())?;
        Ok(false)
    }

    /// A native package: the packaging repo is the source, so no tarball
    /// and no import; the commit, the source package and the push.
    fn finish_native(&self, outcome: &mut BumpOutcome, new_version: &Version) -> Result<(), Error> {
        outcome.commit = Some(self.commit(None)?);
        stop(self.opts, Step::Commit)?;
        outcome.dsc = Some(source::build_native_source_package(
            &self.packaging,
            self.src,
            &version_no_epoch(new_version),
            &self.opts.source_out_dir(self.src),
        )?);
        self.push(None)
    }

    /// Steps 2 to 5 of a package with an upstream: the orig tarball, the
    /// upstream import, one commit, the source package; then the push.
    fn finish_upstream(
        &self,
        outcome: &mut BumpOutcome,
        new_version: &Version,
    ) -> Result<(), Error> {
        // 2. The orig tarball.
        let up_version = new_version.upstream_version.clone();
        let excluded = excluded_paths(&self.packaging, new_version)?;
        let out = self.opts.source_out_dir(self.src);
        let orig = source::orig_tarball(
            &self.upstream,
            &self.tag,
            self.src,
            &up_version,
            &excluded,
            &out,
        )?;
        outcome.orig = Some(orig.clone());
        stop(self.opts, Step::Tarball)?;

        // 3. The upstream import.
        let upstream_tag = upstream_tag_name(&up_version);
        let merge = match self.recipe.packaging.import {
            ImportStyle::Gbp => Some(self.vcs.import_upstream(
                &self.packaging,
                &self.upstream,
                &self.tag,
                &upstream_tag,
                &|p: &str| source::is_excluded(&excluded, p),
                &self.opts.author(),
            )?),
            ImportStyle::DebianOnly => None,
        };
        stop(self.opts, Step::Import)?;

        // 4. One commit.
        outcome.commit = Some(self.commit(merge.as_deref())?);
        stop(self.opts, Step::Commit)?;

        // 5. The source package.
        let dsc = source::build_source_package(
            &orig,
            &self.packaging,
            self.src,
            &up_version,
            &version_no_epoch(new_version),
            &out,
        )?;
        outcome.dsc = Some(dsc);
        self.push(merge.is_some().then_some(upstream_tag.as_str()))
    }

    /// The one commit of debian/changelog (with the upstream merge, gbp
    /// style).
    fn commit(&self, merge_upstream: Option<&str>) -> Result<String, Error> {
        let message = commit_message(self.recipe, &recipe_upstream_version(self.recipe)?);
        Ok(self.vcs.commit(
            &self.packaging,
            &CommitRequest {
                paths: &[CHANGELOG.to_owned()],
                message: &message,
                author: &self.opts.author(),
                merge_upstream,
            },
        )?)
    }

    /// With `--push`: the packaging branch, and after a gbp import the
    /// upstream branch and the `upstream_tag`.
    fn push(&self, upstream_tag: Option<&str>) -> Result<(), Error> {
        if !self.opts.push {
            return Ok(());
        }
        let mut refs = vec![format!("refs/heads/{}", self.recipe.packaging.branch)];
        if let Some(tag) = upstream_tag {
            refs.push("refs/heads/upstream".into());
            refs.push(format!("refs/tags/{tag}"));
        }
        self.vcs
            .push(&self.packaging, &self.recipe.packaging.repo, &refs)?;
        Ok(())
    }
}

/// The version decision for a changelog top entry.
fn decide(top: &changelog::Top, target: &Version, opts: &BumpOptions) -> Result<Decision, Error> {
    Ok(
        match version::decide(&top.version, target, opts.force, opts.reupload)? {
            // A hand-written UNRELEASED entry at the target version is not a
            // finished bump: dch would update it, and so do we.
            Decision::AlreadyAtTarget(v) if top.is_unreleased() && &v == target => Decision::New(v),
            d => d,
        },
    )
}

/// `Files-Excluded` when `v` is a repack, else nothing.
fn excluded_paths(packaging: &Path, v: &Version) -> Result<Vec<String>, Error> {
    if !is_repack(v) {
        return Ok(Vec::new());
    }
    let copyright = packaging.join(COPYRIGHT);
    Ok(source::files_excluded(&read(&copyright)?, &copyright)?)
}

fn plan_dry_run(
    recipe: &Recipe,
    stack: &Stack,
    opts: &BumpOptions,
    vcs: &dyn Vcs,
    packaging: &Path,
    target: &Version,
) -> Result<BumpOutcome, Error> {
    let path = packaging.join(CHANGELOG);
    let text = vcs
        .branch_file(packaging, &recipe.packaging.branch, CHANGELOG)?
        .ok_or_else(|| Error::NoChangelog { path: path.clone() })?;
    let text = String::from_utf8(text).map_err(|_| Error::NotUtf8 { path: path.clone() })?;
    let top = changelog::top(&text, &path)?;
    let mut outcome = BumpOutcome::new(&recipe.source, Status::Planned);
    outcome.previous = Some(top.version.to_string());
    match decide(&top, target, opts)? {
        Decision::AlreadyAtTarget(v) => {
            outcome.status = Status::AlreadyAtTarget;
            outcome.version = Some(v.to_string());
        }
        Decision::New(v) => {
            let new = new_changelog(recipe, stack, opts, &text, &path, &v)?;
            outcome.changelog_diff = Some(unified_diff(&text, &new, CHANGELOG));
            outcome.version = Some(v.to_string());
        }
    }
    Ok(outcome)
}

fn new_changelog(
    recipe: &Recipe,
    stack: &Stack,
    opts: &BumpOptions,
    text: &str,
    path: &Path,
    v: &Version,
) -> Result<String, Error> {
    let upstream = recipe_upstream_version(recipe)?;
    let mut changes = vec![format!("New upstream version {upstream}")];
    changes.extend(recipe.changelog.iter().cloned());
    Ok(changelog::add_entry(
        text,
        path,
        &NewEntry {
            version: v,
            distribution: &stack.suite,
            changes: &changes,
            maintainer: &opts.maintainer,
            timestamp: opts.timestamp,
        },
    )?)
}

/// The recipe's commit message, or "New upstream version X".
pub fn commit_message(recipe: &Recipe, upstream_version: &str) -> String {
    recipe
        .commit_message
        .clone()
        .unwrap_or_else(|| format!("New upstream version {upstream_version}"))
}

/// The orig tarball and .dsc of version `v` from the committed packaging.
fn source_package(
    recipe: &Recipe,
    opts: &BumpOptions,
    packaging: &Path,
    upstream: &Path,
    tag: &str,
    v: &Version,
) -> Result<(PathBuf, PathBuf), Error> {
    let src = recipe.source.as_str();
    let out = opts.source_out_dir(src);
    if recipe.native {
        let dsc = source::build_native_source_package(packaging, src, &version_no_epoch(v), &out)?;
        return Ok((PathBuf::new(), dsc));
    }
    let excluded = excluded_paths(packaging, v)?;
    let orig = source::orig_tarball(upstream, tag, src, &v.upstream_version, &excluded, &out)?;
    let dsc = source::build_source_package(
        &orig,
        packaging,
        src,
        &v.upstream_version,
        &version_no_epoch(v),
        &out,
    )?;
    Ok((orig, dsc))
}

fn existing_dsc(opts: &BumpOptions, src: &str, v: &Version) -> Option<PathBuf> {
    let dsc = opts
        .source_out_dir(src)
        .join(format!("{src}_{}.dsc", version_no_epoch(v)));
    dsc.exists().then_some(dsc)
}

fn stop(opts: &BumpOptions, step: Step) -> Result<(), Error> {
    if opts.stop_after == Some(step) {
        return Err(Error::Interrupted { step });
    }
    Ok(())
}

fn head_text(vcs: &dyn Vcs, packaging: &Path) -> Result<String, Error> {
    let path = packaging.join(CHANGELOG);
    let bytes = vcs
        .head_file(packaging, CHANGELOG)?
        .ok_or_else(|| Error::NoChangelog { path: path.clone() })?;
    String::from_utf8(bytes).map_err(|_| Error::NotUtf8 { path })
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_owned(), source)))
}

/// Writes through a temporary file in the same directory and a rename, so
/// an interruption leaves the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::outfile::write_atomic(path, bytes)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_owned(), source)))
}

/// A unified diff of a single contiguous change (what a changelog edit is:
/// lines inserted or replaced at the top), with three lines of context.
/// Hand-written because one hunk is all it takes and the crate has no diff
/// library.
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    if a == b {
        return String::new();
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let start = prefix.saturating_sub(3);
    let a_end = (a.len() - suffix + 3).min(a.len());
    let b_end = (b.len() - suffix + 3).min(b.len());
    let range = |s: usize, e: usize| {
        let len = e - s;
        let first = if len == 0 { s } else { s + 1 };
        format!("{first},{len}")
    };
    let mut out = format!(
        "--- a/{name}\n+++ b/{name}\n@@ -{} +{} @@\n",
        range(start, a_end),
        range(start, b_end)
    );
    let line = |out: &mut String, mark: char, l: &str| {
        out.push(mark);
        out.push_str(l);
        if !l.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    };
    for l in &a[start..prefix] {
        line(&mut out, ' ', l);
    }
    for l in &a[prefix..a.len() - suffix] {
        line(&mut out, '-', l);
    }
    for l in &b[prefix..b.len() - suffix] {
        line(&mut out, '+', l);
    }
    for l in &a[a.len() - suffix..a_end] {
        line(&mut out, ' ', l);
    }
    out
}

/// Bumps packages in the order given. A failure is recorded and the walk
/// goes on, unless `fail_fast`: then the rest are skipped.
pub fn bump_stack(
    recipes: &[&Recipe],
    stack: &Stack,
    opts: &BumpOptions,
    vcs: &dyn Vcs,
    fail_fast: bool,
) -> Vec<BumpOutcome> {
    let mut outcomes = Vec::new();
    let mut failed = false;
    for recipe in recipes {
        if failed && fail_fast {
            outcomes.push(BumpOutcome::new(
                &recipe.source,
                Status::Skipped("--fail-fast: an earlier package failed".into()),
            ));
            continue;
        }
        let outcome = bump_package(recipe, stack, opts, vcs).unwrap_or_else(|e| {
            failed = true;
            BumpOutcome::failed(&recipe.source, &e)
        });
        outcomes.push(outcome);
    }
    outcomes
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = cause.source();
    }
    msg
}

/// A binNMU request for the build step (`binnmu.json` in the out dir):
/// sbuild's `--make-binNMU=REASON --binNMU=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinNmu {
    pub source: String,
    /// The source version being rebuilt.
    pub source_version: String,
    /// The binary version (`7.2.4-1+b1`).
    pub version: String,
    /// N of `+bN`.
    pub binnmu: u32,
    pub reason: String,
    pub distribution: String,
}

/// The file the build step reads binNMU requests from.
pub fn binnmu_file(opts: &BumpOptions) -> PathBuf {
    opts.out_dir.join("binnmu.json")
}

/// Records a binNMU of the package's current version instead of editing its
/// changelog. The same request twice is recorded once.
pub fn record_binnmu(
    recipe: &Recipe,
    stack: &Stack,
    opts: &BumpOptions,
    vcs: &dyn Vcs,
    reason: &str,
) -> Result<BumpOutcome, Error> {
    let src = recipe.source.as_str();
    let packaging = opts.packaging_dir(src);
    if !opts.checkouts.contains_key(src) {
        vcs.sync(&recipe.packaging.repo, &packaging, false)?;
    }
    let path = packaging.join(CHANGELOG);
    let text = vcs
        .branch_file(&packaging, &recipe.packaging.branch, CHANGELOG)?
        .ok_or_else(|| Error::NoChangelog { path: path.clone() })?;
    let text = String::from_utf8(text).map_err(|_| Error::NotUtf8 { path: path.clone() })?;
    let top = changelog::top(&text, &path)?;
    let file = binnmu_file(opts);
    let mut requests: Vec<BinNmu> = match std::fs::read_to_string(&file) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| Error::BinNmuFile {
            path: file.clone(),
            message: e.to_string(),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(Error::Io(crate::fsio::IoError::new(file.clone(), source)));
        }
    };
    let base = top.version.to_string();
    let previous = requests
        .iter()
        .filter(|r| r.source == src && r.source_version == base)
        .max_by_key(|r| r.binnmu);
    let mut outcome = BumpOutcome::new(src, Status::BinNmuRecorded);
    outcome.previous = Some(base.clone());
    if let Some(p) = previous.filter(|p| p.reason == reason) {
        outcome.status = Status::AlreadyAtTarget;
        outcome.version = Some(p.version.clone());
        return Ok(outcome);
    }
    let mut v = top.version.clone();
    for _ in 0..previous.map_or(0, |p| p.binnmu) {
        v = version::next_binnmu(&v);
    }
    let v = version::next_binnmu(&v);
    let n = previous.map_or(1, |p| p.binnmu + 1);
    outcome.version = Some(v.to_string());
    if opts.dry_run {
        outcome.status = Status::Planned;
        return Ok(outcome);
    }
    requests.retain(|r| r.source != src);
    requests.push(BinNmu {
        source: src.to_owned(),
        source_version: base,
        version: v.to_string(),
        binnmu: n,
        reason: reason.to_owned(),
        distribution: stack.suite.clone(),
    });
    let json = serde_json::to_string_pretty(&requests).map_err(|e| Error::BinNmuFile {
        path: file.clone(),
        message: e.to_string(),
    })?;
    write_atomically(&file, format!("{json}\n").as_bytes())?;
    Ok(outcome)
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    #[error(transparent)]
    Version(#[from] crate::version::Error),
    #[error(transparent)]
    Changelog(#[from] crate::changelog::Error),
    #[error(transparent)]
    Source(#[from] crate::source::Error),
    #[error(
        "{}: uncommitted changes in {} (commit or stash them, or pass --allow-dirty)",
        repo.display(),
        paths.join(", ")
    )]
    Dirty { repo: PathBuf, paths: Vec<String> },
    #[error("{source_name}: tag `{tag}` has no version number; set upstream.version in the recipe")]
    NoUpstreamVersion { source_name: String, tag: String },
    #[error("{source_name}: --checkout path {} is not a git repository", path.display())]
    NoCheckout { source_name: String, path: PathBuf },
    #[error("{}: missing", path.display())]
    NoChangelog { path: PathBuf },
    #[error("{}: not UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}: {message}", path.display())]
    BinNmuFile { path: PathBuf, message: String },
    #[error("stopped after the {step:?} step (as asked)")]
    Interrupted { step: Step },
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_of_a_new_top_entry() {
        let old = "a\nb\nc\nd\n";
        let new = "x\ny\n\na\nb\nc\nd\n";
        assert_eq!(
            unified_diff(old, new, "debian/changelog"),
            "--- a/debian/changelog\n+++ b/debian/changelog\n@@ -1,3 +1,6 @@\n+x\n+y\n+\n a\n b\n c\n"
        );
        let changed = "a\nB\nc\nd\n";
        assert_eq!(
            unified_diff(old, changed, "f"),
            "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n c\n d\n"
        );
        assert_eq!(unified_diff(old, old, "f"), "");
    }

    #[test]
    fn tags_and_repacks() {
        assert_eq!(upstream_tag_name("7.2.4"), "upstream/7.2.4");
        assert_eq!(upstream_tag_name("7.2.4~rc1"), "upstream/7.2.4_rc1");
        assert!(is_repack(&"7.2.4+dfsg-1".parse().unwrap()));
        assert!(is_repack(&"1:6.4.3+ds-4~exp2".parse().unwrap()));
        assert!(!is_repack(&"7.2.4-1~exp1".parse().unwrap()));
        assert_eq!(
            version_no_epoch(&"1:7.2.4-1~exp1".parse().unwrap()),
            "7.2.4-1~exp1"
        );
    }
}
