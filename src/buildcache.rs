//! The host-side caches of the faster sbuild path: the .deb pool shared by
//! every build, and each build's ccache counters.
//!
//! apt in a chroot keeps what it downloads in /var/cache/apt/archives. Each
//! build gets a directory of its own there (bind-mounted by sbuild), filled
//! with hard links to the pool before the build; after the build, what apt
//! downloaded is linked back into the pool. Builds running at the same time
//! never share a directory, so apt's lock on its archive directory and its
//! `partial/` downloads never meet (a directory shared by concurrent builds
//! would make the second apt fail on that lock); and no daemon has to run,
//! which a loopback apt-cacher-ng would need. apt checks each cached file
//! against its index as it would a download.
//!
//! A pool file is never one of the stack's own .debs: those reach the build
//! through sbuild's `--extra-package` archive, and a same-named file from
//! the pool must not stand in for them.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::runner::BuildRequest;
use crate::sbuild::{self, SbuildConfig};

/// The directory of per-build stats logs inside an arch's ccache directory.
pub const STATS_DIR: &str = ".cascade-stats";

/// What ccache did for one build, from its stats log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CcacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Calls ccache could not cache (linking, preprocessing only, …).
    pub uncacheable: u64,
}

impl CcacheStats {
    /// Hits over cacheable calls, in percent; `None` without any.
    pub fn hit_rate(&self) -> Option<f64> {
        let all = self.hits + self.misses;
        (all > 0).then(|| 100.0 * self.hits as f64 / all as f64)
    }
}

/// Counts a ccache stats log: one counter name per line for each call
/// (`direct_cache_hit`, `cache_miss`, …), `#` lines name the source file.
pub fn parse_stats_log(text: &str) -> CcacheStats {
    let mut s = CcacheStats::default();
    for line in text.lines().map(str::trim) {
        match line {
            "" => {}
            l if l.starts_with('#') => {}
            "direct_cache_hit" | "preprocessed_cache_hit" | "remote_storage_hit" => s.hits += 1,
            "cache_miss" => s.misses += 1,
            _ => s.uncacheable += 1,
        }
    }
    s
}

/// Makes a directory that the chroot's users (other ids on the host, in
/// sbuild's unshare mode) can write to.
fn shared_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))
}

/// The first existing directory on the way to `dir` (itself included)
/// that other users may not search (no `o+x`): sbuild's unshared build
/// user, another id on the host, cannot reach `dir` through it (e.g. a
/// CI tool's private 0700 job directory). `None`: the way is open.
pub fn closed_ancestor(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    (dir.ancestors())
        .filter_map(|d| Some((d, std::fs::metadata(d).ok()?)))
        .find(|(_, m)| m.is_dir() && m.permissions().mode() & 0o001 == 0)
        .map(|(d, _)| d.to_path_buf())
}

/// File names the pool must not provide to or take from `req`'s build: the
/// stack's own .debs and sbuild's dummy dependency package.
fn not_pooled(req: &BuildRequest) -> impl Fn(&str) -> bool {
    let own: BTreeSet<String> = req
        .extra_debs
        .iter()
        .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
        .collect();
    move |name| !name.ends_with(".deb") || name.starts_with("sbuild-") || own.contains(name)
}

fn debs_in(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_file() {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

/// Hard-links (copies across file systems) `from` to `to` through a
/// temporary name: a reader never sees half a file.
fn link_into(from: &Path, to: &Path) -> io::Result<()> {
    let tmp = to.with_extension(format!("tmp.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(from, &tmp).is_err() {
        std::fs::copy(from, &tmp)?;
    }
    std::fs::rename(&tmp, to)
}

/// Before `req`'s build: its apt archive directory filled from the pool,
/// its ccache directory and stats log place ready.
pub fn prepare(req: &BuildRequest, cfg: &SbuildConfig) -> io::Result<()> {
    if let (Some(dir), Some(fast)) = (sbuild::apt_archives_dir(req, cfg), &cfg.fast) {
        shared_dir(&dir)?;
        std::fs::create_dir_all(&fast.apt_pool)?;
        let skip = not_pooled(req);
        for name in debs_in(&fast.apt_pool)? {
            if !skip(&name) {
                link_into(&fast.apt_pool.join(&name), &dir.join(&name))?;
            }
        }
    }
    if let Some((log, _)) = sbuild::ccache_stats_log(req, cfg) {
        if let Some(stats) = log.parent() {
            shared_dir(stats.parent().unwrap_or(stats))?;
            shared_dir(stats)?;
        }
        let _ = std::fs::remove_file(&log);
    }
    Ok(())
}

/// After `req`'s build: what apt downloaded goes into the pool (the
/// build's directory is removed with its temp dir); the ccache counters
/// of the build, when ccache was on.
pub fn finish(req: &BuildRequest, cfg: &SbuildConfig) -> Option<CcacheStats> {
    if let (Some(dir), Some(fast)) = (sbuild::apt_archives_dir(req, cfg), &cfg.fast)
        && let Err(e) = harvest(&dir, &fast.apt_pool, not_pooled(req))
    {
        tracing::warn!("package cache {}: {e}", fast.apt_pool.display());
    }
    let (log, _) = sbuild::ccache_stats_log(req, cfg)?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Some(parse_stats_log(&text))
}

fn harvest(dir: &Path, pool: &Path, skip: impl Fn(&str) -> bool) -> io::Result<()> {
    let have: BTreeSet<String> = debs_in(pool)?.into_iter().collect();
    for name in debs_in(dir)? {
        if !skip(&name) && !have.contains(&name) {
            link_into(&dir.join(&name), &pool.join(&name))?;
        }
    }
    Ok(())
}

/// The pool's default place: `ROOT/apt-archives`.
pub fn apt_pool(root: &Path) -> PathBuf {
    root.join("apt-archives")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::recipe::BuildMode;
    use crate::sbuild::{CcacheConfig, FastPath};

    fn req(extra: &str) -> BuildRequest {
        BuildRequest {
            source: "demo-blas".into(),
            version: "7.2.4-1~exp1".into(),
            arch: Arch::new("amd64").unwrap(),
            mode: BuildMode::Native,
            dsc: "/x.dsc".into(),
            extra_debs: vec![PathBuf::from(extra)],
            out_dir: "/o".into(),
            log: "/l".into(),
            timeout: None,
            profiles: vec![],
            arch_all: false,
            binnmu: None,
            env: Default::default(),
        }
    }

    #[test]
    fn a_directory_behind_a_private_one_is_out_of_the_build_users_reach() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("open");
        let private = open.join("private");
        std::fs::create_dir_all(&private).unwrap();
        for d in [tmp.path(), &open] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        // Not made yet: what counts is the way there.
        assert_eq!(closed_ancestor(&open.join("ccache/amd64")), None);
        assert_eq!(
            closed_ancestor(&private.join("ccache/amd64")),
            Some(private.clone())
        );
    }

    #[test]
    fn stats_logs() {
        let text = "# /build/a.c\ncache_miss\n# /build/b.c\ndirect_cache_hit\n# /build/c.c\npreprocessed_cache_hit\n# x\ncalled_for_link\n";
        let s = parse_stats_log(text);
        assert_eq!(
            s,
            CcacheStats {
                hits: 2,
                misses: 1,
                uncacheable: 1
            }
        );
        assert_eq!(s.hit_rate().map(|r| r.round()), Some(67.0));
        assert_eq!(parse_stats_log("").hit_rate(), None);
    }

    #[test]
    fn the_pool_fills_builds_and_takes_their_downloads_but_not_the_stacks_debs() {
        let tmp = tempfile::tempdir().unwrap();
        let pool = tmp.path().join("pool");
        let mut cfg = SbuildConfig::new("unstable");
        cfg.tmp_root = Some(tmp.path().join("tmp"));
        cfg.fast = Some(FastPath {
            apt_pool: pool.clone(),
            ccache: Some(CcacheConfig {
                root: tmp.path().join("ccache"),
                max_size: "1G".into(),
            }),
            warm: Default::default(),
            cross: Default::default(),
        });
        std::fs::create_dir_all(&pool).unwrap();
        std::fs::write(pool.join("make_4.4_amd64.deb"), "make").unwrap();
        std::fs::write(pool.join("libdemoruntime1_7.2.4_amd64.deb"), "archive's").unwrap();
        let r = req("/run/debs/amd64/libdemoruntime1_7.2.4_amd64.deb");
        prepare(&r, &cfg).unwrap();
        let dir = sbuild::apt_archives_dir(&r, &cfg).unwrap();
        assert_eq!(debs_in(&dir).unwrap(), ["make_4.4_amd64.deb"]);
        // The build downloads one package, gets its own .deb and the dummy.
        std::fs::write(dir.join("cmake_3.31_amd64.deb"), "cmake").unwrap();
        std::fs::write(dir.join("libdemoruntime1_7.2.4_amd64.deb"), "ours").unwrap();
        std::fs::write(
            dir.join("sbuild-build-depends-main-dummy_0.invalid.0_amd64.deb"),
            "",
        )
        .unwrap();
        std::fs::write(dir.join("lock"), "").unwrap();
        let (log, inside) = sbuild::ccache_stats_log(&r, &cfg).unwrap();
        // Named after the run's temp root too: another run building the
        // same package at the same time counts in a file of its own.
        assert_eq!(
            inside,
            "/var/cache/ccache/.cascade-stats/tmp.demo-blas_7.2.4-1~exp1_amd64.log"
        );
        let mut other = cfg.clone();
        other.tmp_root = Some(tmp.path().join("other-run"));
        assert_ne!(sbuild::ccache_stats_log(&r, &other).unwrap().0, log);
        std::fs::write(&log, "cache_miss\ndirect_cache_hit\n").unwrap();
        let stats = finish(&r, &cfg).unwrap();
        assert_eq!((stats.hits, stats.misses), (1, 1));
        assert!(!log.exists());
        let mut pooled = debs_in(&pool).unwrap();
        pooled.sort();
        assert_eq!(
            pooled,
            [
                "cmake_3.31_amd64.deb",
                "libdemoruntime1_7.2.4_amd64.deb",
                "make_4.4_amd64.deb"
            ]
        );
        assert_eq!(
            std::fs::read_to_string(pool.join("libdemoruntime1_7.2.4_amd64.deb")).unwrap(),
            "archive's"
        );
    }
}
