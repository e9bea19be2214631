//! sbuild as cascade's [`Builder`]: a pure function from a [`BuildRequest`]
//! to sbuild's argv ([`invocation`]), the mapping of a finished build to an
//! [`Outcome`] ([`outcome_from_log`], a basic one; the builder uses
//! [`crate::buildlog`]'s classifier), and [`SbuildBuilder`], which runs sbuild
//! through [`crate::process`] and collects the .debs named in its .changes.
//!
//! sbuild runs in unshare mode against chroot tarballs that `cascade setup`
//! creates: `CACHE/SUITE-ARCH.tar` (sbuild's own naming under
//! `~/.cache/sbuild`). The tarball is passed by path: with a path, sbuild never
//! refreshes it behind cascade's back, so the tarball id in a build's input
//! hash stays true.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::arch::Arch;
use crate::events::{NotBuiltReason, Outcome};
use crate::process::{Cmd, Exit, LogOptions};
use crate::recipe::BuildMode;
use crate::runner::{BuildOutput, BuildRequest, Builder};

/// Host-wide settings of every sbuild call.
#[derive(Clone, Debug)]
pub struct SbuildConfig {
    /// The sbuild program (`sbuild`).
    pub program: PathBuf,
    /// Where the chroot tarballs are (`~/.cache/sbuild`).
    pub chroot_dir: PathBuf,
    /// The suite the chroots hold (`unstable`).
    pub suite: String,
    /// The build machine's architecture, whose chroot cross builds use.
    pub build_arch: Arch,
    /// `Name <email>` for binNMU changelog entries.
    pub maintainer: Option<String>,
    /// SIGTERM → SIGKILL grace when a build is stopped.
    pub grace: Duration,
    /// A cascade-owned directory under which each build gets its own
    /// `TMPDIR` (sbuild unpacks its chroot there), removed after the build;
    /// `None`: sbuild's default (`/tmp`).
    pub tmp_root: Option<PathBuf>,
    /// The run directory's record of live builds (`running.json`).
    pub running: Option<crate::groups::Running>,
    /// The faster path (issue 16); `None`: the plain sbuild call
    /// (`--clean-chroot`).
    pub fast: Option<FastPath>,
    /// On the faster path as root: the run's schroot chroot of each chroot
    /// architecture that has one ([`crate::schroot::prepare`]); the others
    /// unpack their tarball in unshare mode.
    pub schroot: std::collections::BTreeMap<Chroot, String>,
    /// Whether a run may use schroot chroots at all (`--unshare`: no).
    pub schroot_allowed: bool,
}

/// What makes a build's fixed cost smaller than a plain sbuild call's,
/// without changing what it builds: dpkg's unsafe I/O in the chroot, a
/// package cache shared by every build, and ccache across runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FastPath {
    /// The host's pool of downloaded .debs (see [`crate::buildcache`]).
    pub apt_pool: PathBuf,
    /// `DIR/ARCH` is each architecture's ccache; `None`: no ccache.
    pub ccache: Option<CcacheConfig>,
    /// The chroot architectures whose warm tarball ([`warm_tarball`]) is
    /// usable ([`warm_is_usable`]): their builds start from it.
    pub warm: std::collections::BTreeSet<Arch>,
    /// The host architectures whose cross tarball on the build machine
    /// ([`cross_tarball`]) is usable ([`cross_is_usable`]): their cross
    /// builds start from it.
    pub cross: std::collections::BTreeSet<Arch>,
}

/// The chroot tarball a build runs in, as a run's schroot chroots are
/// keyed ([`SbuildConfig::chroot`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Chroot {
    /// The architecture's own: warm on the faster path when usable, else
    /// the plain buildd tarball.
    Arch(Arch),
    /// The build machine's cross tarball for cross builds to `host`.
    Cross { build: Arch, host: Arch },
}

impl std::fmt::Display for Chroot {
    /// `amd64`, or `amd64-cross-riscv64`: a part of file and chroot names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Chroot::Arch(a) => write!(f, "{a}"),
            Chroot::Cross { build, host } => write!(f, "{build}-cross-{host}"),
        }
    }
}

/// ccache across runs: one directory per architecture on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcacheConfig {
    pub root: PathBuf,
    /// ccache's `max_size` (`5G`).
    pub max_size: String,
}

/// Where the chroot sees the shared caches.
pub const CHROOT_CCACHE_DIR: &str = "/var/cache/ccache";
const CHROOT_APT_ARCHIVES: &str = "/var/cache/apt/archives";
/// sbuild's default `$path`, with ccache's compiler links first.
const CCACHE_PATH: &str =
    "/usr/lib/ccache:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games";
/// Run before the build-dependencies are installed: dpkg skips its
/// fsync()s, as eatmydata would, without installing anything (the chroot is
/// thrown away after the build, so a crash loses nothing worth keeping);
/// man-db (pulled in by debhelper) does not index the manual pages nobody
/// will read.
const CHROOT_SETUP: &str = "echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/cascade-unsafe-io; \
echo 'man-db man-db/auto-update boolean false' | debconf-set-selections";

impl SbuildConfig {
    /// Defaults for this host: `~/.cache/sbuild`, the host architecture.
    pub fn new(suite: &str) -> SbuildConfig {
        SbuildConfig {
            program: PathBuf::from("sbuild"),
            chroot_dir: default_chroot_dir(),
            suite: suite.to_string(),
            build_arch: Arch::host(),
            maintainer: None,
            grace: Duration::from_secs(30),
            tmp_root: None,
            running: None,
            fast: None,
            schroot: Default::default(),
            schroot_allowed: true,
        }
    }

    /// The ccache directory of `req`'s builds on the host, when ccache is on
    /// for it. A cross build's compiler runs on the build architecture, and
    /// ccache is `Multi-Arch: foreign`: the added dependency installs the
    /// build architecture's ccache, whose links cover the cross compilers
    /// too (its dpkg trigger watches `/usr/lib/gcc-cross`).
    pub fn ccache_dir(&self, req: &BuildRequest) -> Option<PathBuf> {
        let c = self.fast.as_ref()?.ccache.as_ref()?;
        Some(c.root.join(req.arch.as_str()))
    }

    /// The tarball a build of `arch` in `mode` runs in ([`Self::tarball`]).
    pub fn chroot_for(&self, arch: &Arch, mode: BuildMode) -> PathBuf {
        self.tarball(&self.chroot(arch, mode))
    }

    /// The chroot a build of `arch` in `mode` runs in: a cross build's is
    /// the build machine's, its cross tarball when that is usable.
    pub fn chroot(&self, arch: &Arch, mode: BuildMode) -> Chroot {
        let cross = self.fast.as_ref().is_some_and(|f| f.cross.contains(arch));
        match mode {
            BuildMode::Cross if cross => Chroot::Cross {
                build: self.build_arch.clone(),
                host: arch.clone(),
            },
            BuildMode::Cross => Chroot::Arch(self.build_arch.clone()),
            BuildMode::Native | BuildMode::Qemu => Chroot::Arch(arch.clone()),
        }
    }

    /// The tarball of `chroot`: an architecture's warm one on the faster
    /// path when it is usable, else its plain buildd tarball.
    pub fn tarball(&self, chroot: &Chroot) -> PathBuf {
        let (dir, suite) = (&self.chroot_dir, self.suite.as_str());
        match chroot {
            Chroot::Cross { build, host } => cross_tarball(dir, suite, build, host),
            Chroot::Arch(a) if self.on_faster_path(chroot) => warm_tarball(dir, suite, a),
            Chroot::Arch(a) => chroot_tarball(dir, suite, a),
        }
    }

    /// Whether `chroot`'s tarball is one the faster path made (warm or
    /// cross) and found usable, as builds in it use it.
    pub fn on_faster_path(&self, chroot: &Chroot) -> bool {
        self.fast.as_ref().is_some_and(|f| match chroot {
            Chroot::Arch(a) => f.warm.contains(a),
            Chroot::Cross { host, .. } => f.cross.contains(host),
        })
    }

    /// The schroot chroot `req` builds in, when the run has one for its
    /// chroot architecture (only on the faster path).
    pub fn schroot_for(&self, req: &BuildRequest) -> Option<&str> {
        self.fast.as_ref()?;
        let name = self.schroot.get(&self.chroot(&req.arch, req.mode))?;
        Some(name.as_str())
    }
}

/// What every warm tarball holds besides the buildd chroot: what nearly
/// every Debian build installs (debhelper and its dependencies, the bulk of
/// a small package's Install-Time, slow under qemu), ccache for the faster
/// path, and apt's package lists, so that a build's `apt-get update`
/// fetches a diff rather than the whole index. A stack adds the
/// build-dependencies common to its plan ([`warm_wanted`], `crate::warm`).
pub const WARM_PACKAGES: &[&str] = &["debhelper", "ccache"];

/// `DIR/SUITE-ARCH-warm.tar`: the buildd tarball plus [`warm_packages`]
/// (made by `cascade setup`, remade by a run whose plan wants more).
/// `--clean-chroot` never uses it.
pub fn warm_tarball(dir: &Path, suite: &str, arch: &Arch) -> PathBuf {
    dir.join(format!("{suite}-{arch}-warm.tar"))
}

/// `DIR/.SUITE-ARCH-warm.packages`: the package list a warm tarball was
/// made with.
pub fn warm_stamp(dir: &Path, suite: &str, arch: &Arch) -> PathBuf {
    dir.join(format!(".{suite}-{arch}-warm.packages"))
}

/// `DIR/.SUITE-ARCH-warm.wanted`: the packages runs' plans asked the warm
/// tarball to hold besides [`WARM_PACKAGES`], one a line. It only grows
/// (several stacks share a tarball), and outlives the tarball: a refresh
/// by `cascade setup` keeps them.
pub fn warm_wanted(dir: &Path, suite: &str, arch: &Arch) -> PathBuf {
    dir.join(format!(".{suite}-{arch}-warm.wanted"))
}

/// What `arch`'s warm tarball should hold: [`WARM_PACKAGES`], then the
/// wanted ones in name order.
pub fn warm_packages(dir: &Path, suite: &str, arch: &Arch) -> Vec<String> {
    let wanted = std::fs::read_to_string(warm_wanted(dir, suite, arch)).unwrap_or_default();
    warm_list(wanted.split_whitespace())
}

/// Adds `packages` to `arch`'s wanted list ([`warm_wanted`], written
/// atomically) and returns the whole list, as [`warm_packages`] now reads it.
pub fn add_warm_wanted(
    dir: &Path,
    suite: &str,
    arch: &Arch,
    packages: &[String],
) -> Result<Vec<String>, crate::fsio::IoError> {
    let old = warm_packages(dir, suite, arch);
    let list = warm_list(old.iter().chain(packages).map(String::as_str));
    let extra = &list[WARM_PACKAGES.len()..];
    let path = warm_wanted(dir, suite, arch);
    let text = format!("{}\n", extra.join("\n"));
    crate::outfile::write_atomic(&path, text.as_bytes()).map_err(crate::fsio::at(&path))?;
    Ok(list)
}

/// [`WARM_PACKAGES`] and `extra` (sorted, without repeats) as one list.
pub fn warm_list<'a>(extra: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let extra: std::collections::BTreeSet<&str> = extra
        .into_iter()
        .filter(|p| !WARM_PACKAGES.contains(p))
        .collect();
    (WARM_PACKAGES.iter().copied().chain(extra))
        .map(String::from)
        .collect()
}

/// The stamp's text for a package list.
pub fn warm_stamp_text(packages: &[String]) -> String {
    format!("{}\n", packages.join(" "))
}

/// The packages `arch`'s warm tarball was made with, from its stamp.
pub fn warm_stamp_packages(dir: &Path, suite: &str, arch: &Arch) -> Vec<String> {
    let stamp = std::fs::read_to_string(warm_stamp(dir, suite, arch)).unwrap_or_default();
    stamp.split_whitespace().map(String::from).collect()
}

/// Whether `arch`'s warm tarball can be used: it exists, was made after
/// the plain tarball it extends (a refreshed plain tarball makes it stale)
/// and holds today's [`WARM_PACKAGES`]. The one rule, read by `cascade
/// setup` and by every build's configuration. A tarball that lacks some
/// wanted packages is still usable (builds install them); see
/// [`warm_is_current`].
pub fn warm_is_usable(dir: &Path, suite: &str, arch: &Arch) -> bool {
    let (Some(warm), Some(plain)) = (
        tarball_made(&warm_tarball(dir, suite, arch)),
        tarball_made(&chroot_tarball(dir, suite, arch)),
    ) else {
        return false;
    };
    let stamp = warm_stamp_packages(dir, suite, arch);
    warm >= plain && WARM_PACKAGES.iter().all(|p| stamp.iter().any(|s| s == p))
}

/// When the tarball `path` was made (its mtime), if it is there: an empty
/// file, as a failed write may leave, is none.
pub fn tarball_made(path: &Path) -> Option<std::time::SystemTime> {
    (std::fs::metadata(path).ok())
        .filter(|m| m.len() > 0)
        .and_then(|m| m.modified().ok())
}

/// [`warm_is_usable`], and made with every package [`warm_packages`] names:
/// what `cascade setup` checks.
pub fn warm_is_current(dir: &Path, suite: &str, arch: &Arch) -> bool {
    warm_is_usable(dir, suite, arch)
        && warm_stamp_packages(dir, suite, arch) == warm_packages(dir, suite, arch)
}

/// What a cross tarball adds to the build machine's warm one for builds to
/// `host`: what sbuild installs for every cross build (its
/// `$cross_build_deps`), the cross toolchain (42 packages, 800 MB unpacked
/// for riscv64: most of a small cross build's Install-Time) and the host's
/// C and C++ libraries. Not apt-utils, which sbuild also adds: with it in
/// the chroot sbuild would pick another resolver than a build without the
/// cross tarball gets.
pub fn cross_packages(host: &Arch) -> Vec<String> {
    vec![
        format!("crossbuild-essential-{host}"),
        format!("libc-dev:{host}"),
        format!("libstdc++-dev:{host}"),
    ]
}

/// `DIR/SUITE-BUILD-cross-HOST.tar`: BUILD's warm tarball with HOST a
/// foreign architecture of dpkg, its package list fetched and
/// [`cross_packages`] installed. Made by a run whose plan cross-builds for
/// HOST; `--clean-chroot` never uses it.
pub fn cross_tarball(dir: &Path, suite: &str, build: &Arch, host: &Arch) -> PathBuf {
    dir.join(format!("{suite}-{build}-cross-{host}.tar"))
}

/// Whether BUILD's cross tarball for HOST can be used: it exists and was
/// made after BUILD's warm tarball, itself usable (remaking the warm
/// tarball makes it stale). The one rule, read by a run's warm-up and by
/// every build's configuration.
pub fn cross_is_usable(dir: &Path, suite: &str, build: &Arch, host: &Arch) -> bool {
    let (Some(cross), Some(warm)) = (
        tarball_made(&cross_tarball(dir, suite, build, host)),
        tarball_made(&warm_tarball(dir, suite, build)),
    ) else {
        return false;
    };
    cross >= warm && warm_is_usable(dir, suite, build)
}

/// `~/.cache/sbuild`, where sbuild's unshare mode looks for tarballs.
pub fn default_chroot_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(|| PathBuf::from("/root/.cache"))
        .join("sbuild")
}

/// `DIR/SUITE-ARCH.tar`: the name sbuild itself would look up for `--dist=SUITE --arch=ARCH`.
pub fn chroot_tarball(dir: &Path, suite: &str, arch: &Arch) -> PathBuf {
    dir.join(format!("{suite}-{arch}.tar"))
}

/// One sbuild call: the command, and an extra sbuild config file to write
/// first (sbuild has no command-line option for the build environment).
#[derive(Clone, Debug)]
pub struct Invocation {
    pub cmd: Cmd,
    /// (path, Perl text) of a config file named by `SBUILD_CONFIG` in `cmd`.
    pub config: Option<(PathBuf, String)>,
}

/// The sbuild call for `req`. Pure: no file is touched.
pub fn invocation(req: &BuildRequest, cfg: &SbuildConfig) -> Invocation {
    let mut cmd = match cfg.schroot_for(req) {
        Some(name) => Cmd::new(&cfg.program)
            .arg("--chroot-mode=schroot")
            .arg(format!("--chroot={name}")),
        None => Cmd::new(&cfg.program)
            .arg("--chroot-mode=unshare")
            .arg(format!(
                "--chroot={}",
                cfg.chroot_for(&req.arch, req.mode).display()
            )),
    };
    cmd = cmd.arg(format!("--dist={}", cfg.suite));
    cmd = match req.mode {
        BuildMode::Native | BuildMode::Qemu => cmd.arg(format!("--arch={}", req.arch)),
        BuildMode::Cross => cmd
            .arg(format!("--build={}", cfg.build_arch))
            .arg(format!("--host={}", req.arch)),
    };
    cmd = cmd
        .arg("--arch-any")
        .arg(if req.arch_all {
            "--arch-all"
        } else {
            "--no-arch-all"
        })
        .arg("--no-source")
        // All output goes to stdout, which process.rs sends to req.log.
        .arg("--nolog")
        .arg(format!("--build-dir={}", req.out_dir.display()))
        .arg("--no-run-lintian")
        .arg("--no-run-piuparts")
        .arg("--no-run-autopkgtest")
        // The chroot's package lists are as old as the tarball; update them,
        // but do not upgrade: the chroot stays what its tarball id says.
        .arg("--apt-update")
        .arg("--no-apt-upgrade")
        .arg("--no-apt-distupgrade")
        // dose3 would be installed into the chroot first (slow under qemu).
        .arg("--bd-uninstallable-explainer=apt");
    let mut profiles = req.profiles.clone();
    if req.mode == BuildMode::Cross {
        // An explicit --profiles replaces sbuild's cross default
        // (cross,nocheck): keep both.
        for p in ["nocheck", "cross"] {
            if !profiles.iter().any(|x| x == p) {
                profiles.insert(0, p.to_string());
            }
        }
    }
    if !profiles.is_empty() {
        cmd = cmd.arg(format!("--profiles={}", profiles.join(",")));
    }
    if profiles.iter().any(|p| p == "nocheck") {
        // The profile drops test build-deps; the option skips the tests.
        cmd = cmd.env("DEB_BUILD_OPTIONS", "nocheck");
    }
    if let Some((n, reason)) = &req.binnmu {
        cmd = cmd
            .arg(format!("--make-binNMU={reason}"))
            .arg(format!("--binNMU={n}"));
        if let Some(m) = &cfg.maintainer {
            cmd = cmd.arg(format!("--maintainer={m}"));
        }
    }
    for deb in &req.extra_debs {
        cmd = cmd.arg(format!("--extra-package={}", deb.display()));
    }
    if cfg.fast.is_some() {
        cmd = cmd.arg(format!(
            "--chroot-setup-commands={}",
            setup_commands(req, cfg)
        ));
    }
    if cfg.ccache_dir(req).is_some() {
        cmd = cmd.arg("--add-depends=ccache");
    }
    let text = sbuild_config_text(req, cfg);
    let config = (!text.is_empty()).then(|| {
        let path = req.out_dir.join(format!(
            ".cascade-sbuild-{}_{}_{}.conf",
            req.source, req.version, req.arch
        ));
        (path, text + "1;\n")
    });
    if let Some((path, _)) = &config {
        cmd = cmd.env("SBUILD_CONFIG", path);
    }
    if let Some(dir) = tmp_dir(req, cfg) {
        cmd = cmd.env("TMPDIR", dir);
    }
    cmd = cmd.arg(&req.dsc);
    Invocation { cmd, config }
}

/// The build's own `TMPDIR`, when the config has a temp root.
pub fn tmp_dir(req: &BuildRequest, cfg: &SbuildConfig) -> Option<PathBuf> {
    let root = cfg.tmp_root.as_ref()?;
    Some(root.join(format!("{}_{}_{}", req.source, req.version, req.arch)))
}

/// The temp root of the builds of `run_dir`: `BASE/cascade-HASH`, one name
/// per run directory, so that a rerun finds what a killed run left there.
/// Not inside the run directory: the unshared build user must be able to
/// reach it (a run directory may sit in a private 0700 directory).
pub fn tmp_root(base: &Path, run_dir: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let run_dir = std::fs::canonicalize(run_dir).unwrap_or_else(|_| run_dir.to_path_buf());
    let hash = hex::encode(Sha256::digest(run_dir.as_os_str().as_encoded_bytes()));
    base.join(format!("cascade-{}", &hash[..16]))
}

/// Empties (or makes) a temp root; refuses one that is not a directory of
/// this user (a symlink planted in a shared /tmp).
pub fn clear_tmp_root(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(root) {
        // SAFETY: geteuid(2) has no preconditions.
        Ok(m) if m.is_dir() && m.uid() == unsafe { libc::geteuid() } => {
            if let Err(e) = std::fs::remove_dir_all(root) {
                tracing::warn!("cannot remove what a build left in {}: {e}", root.display());
            }
        }
        Ok(_) => {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a directory of this user",
                root.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(root)
}

/// The package cache `req`'s chroot sees as apt's archive directory: a
/// directory of its own, filled from the shared pool before the build
/// ([`crate::buildcache`]); `None` without the faster path or a temp root.
pub fn apt_archives_dir(req: &BuildRequest, cfg: &SbuildConfig) -> Option<PathBuf> {
    cfg.fast.as_ref()?;
    Some(tmp_dir(req, cfg)?.join("apt-archives"))
}

/// The file ccache counts `req`'s compilations in, as (host path, chroot
/// path): ccache's `stats_log`, one per build, so that builds sharing a
/// ccache directory at the same time are told apart — also the same
/// package built by two runs at once (a local run and a CI job on one
/// host): the name starts with the run's temp root (`cascade-HASH` of its
/// run directory; a run directory has one writer).
pub fn ccache_stats_log(req: &BuildRequest, cfg: &SbuildConfig) -> Option<(PathBuf, String)> {
    let dir = cfg.ccache_dir(req)?;
    let run = (cfg.tmp_root.as_deref())
        .and_then(Path::file_name)
        .map(|n| format!("{}.", n.to_string_lossy()))
        .unwrap_or_default();
    let name = format!("{run}{}_{}_{}.log", req.source, req.version, req.arch);
    Some((
        dir.join(crate::buildcache::STATS_DIR).join(&name),
        format!(
            "{CHROOT_CCACHE_DIR}/{}/{name}",
            crate::buildcache::STATS_DIR
        ),
    ))
}

/// What runs in the chroot before the build-dependencies are installed:
/// [`CHROOT_SETUP`], and in an schroot chroot the links to the build's
/// package cache and ccache directory (unshare mode bind-mounts them).
fn setup_commands(req: &BuildRequest, cfg: &SbuildConfig) -> String {
    if cfg.schroot_for(req).is_none() {
        return CHROOT_SETUP.to_string();
    }
    let links = crate::schroot::link_commands(
        apt_archives_dir(req, cfg).as_deref(),
        cfg.ccache_dir(req).as_deref(),
    );
    match links.is_empty() {
        true => CHROOT_SETUP.to_string(),
        false => format!("{CHROOT_SETUP}; {links}"),
    }
}

fn perl_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The Perl text of `req`'s extra sbuild config, empty when it needs none.
/// `$build_environment` (unlike the caller's environment) is not filtered
/// by `$environment_filter`; bind mounts and `$path` have no option.
fn sbuild_config_text(req: &BuildRequest, cfg: &SbuildConfig) -> String {
    let mut env = req.env.clone();
    let mut mounts: Vec<(PathBuf, &str)> = Vec::new();
    let mut out = String::new();
    if let Some(dir) = apt_archives_dir(req, cfg) {
        mounts.push((dir, CHROOT_APT_ARCHIVES));
        out.push_str("$apt_keep_downloaded_packages = 1;\n");
    }
    if let (Some(dir), Some(c)) = (
        cfg.ccache_dir(req),
        cfg.fast.as_ref().and_then(|f| f.ccache.as_ref()),
    ) {
        mounts.push((dir, CHROOT_CCACHE_DIR));
        env.insert("CCACHE_DIR".into(), CHROOT_CCACHE_DIR.into());
        env.insert("CCACHE_MAXSIZE".into(), c.max_size.clone());
        // The build user and root both write to the shared directory.
        env.insert("CCACHE_UMASK".into(), "000".into());
        if let Some((_, log)) = ccache_stats_log(req, cfg) {
            env.insert("CCACHE_STATSLOG".into(), log);
        }
        out.push_str(&format!("$path = {};\n", perl_quote(CCACHE_PATH)));
    }
    if cfg.schroot_for(req).is_some() {
        // schroot mode builds as the calling user (root); unshare mode as
        // `sbuild`: keep it (the chroot has the host's users).
        out.push_str("$build_user = 'sbuild';\n");
        mounts.clear();
    }
    if !mounts.is_empty() {
        out.push_str("$unshare_bind_mounts = [\n");
        for (dir, at) in &mounts {
            out.push_str(&format!(
                "    {{ directory => {}, mountpoint => {} }},\n",
                perl_quote(&dir.to_string_lossy()),
                perl_quote(at)
            ));
        }
        out.push_str("];\n");
    }
    if !env.is_empty() {
        let mut e = String::from("$build_environment = {\n");
        for (k, v) in &env {
            e.push_str(&format!("    {} => {},\n", perl_quote(k), perl_quote(v)));
        }
        e.push_str("};\n");
        out.insert_str(0, &e);
    }
    out
}

/// The fields of sbuild's closing summary cascade needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub status: Option<String>,
    pub fail_stage: Option<String>,
}

/// Reads `Status:` and `Fail-Stage:` from the summary at the end of a log.
pub fn summary(log: &str) -> Summary {
    let start = log.rfind("| Summary").unwrap_or(0);
    let mut s = Summary::default();
    for line in log[start..].lines() {
        if let Some(v) = line.strip_prefix("Status: ") {
            s.status = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Fail-Stage: ") {
            s.fail_stage = Some(v.trim().to_string());
        }
    }
    s
}

/// A basic mapping of a finished sbuild log to an outcome. One function so
/// that the detailed classifier (`buildlog`) can replace it.
pub fn outcome_from_log(log: &str) -> Outcome {
    let s = summary(log);
    let stage = s.fail_stage.clone().unwrap_or_else(|| "unknown".into());
    match s.status.as_deref() {
        Some("successful") => Outcome::Ok,
        Some("skipped") => Outcome::Excluded {
            reason: NotBuiltReason::Excluded(format!("sbuild skipped the build ({stage})")),
        },
        None => Outcome::Failed {
            stage: "sbuild".into(),
            errors: vec![crate::process::tail(log, 5)],
        },
        Some(_) if stage == "install-deps" || stage == "explain-bd-uninstallable" => {
            Outcome::BuildDepUnsatisfiable {
                missing: unmet_dependencies(log),
            }
        }
        Some(_) if stage == "build" && test_failed(log) => Outcome::TestFailed {
            errors: error_lines(log),
        },
        Some(_) => Outcome::Failed {
            stage,
            errors: error_lines(log),
        },
    }
}

/// dh_auto_test's own failure line, or make's for a `check`/`test` target.
fn test_failed(log: &str) -> bool {
    log.lines().any(|l| {
        l.starts_with("dh_auto_test: error:")
            || (l.starts_with("make") && l.contains("Error") && {
                let l = l.to_ascii_lowercase();
                l.contains("check]") || l.contains("test]")
            })
    })
}

/// The first few error lines of the log.
fn error_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains("error:")
                || l.contains("Error ")
                || l.contains("#error")
                || l.contains("FAIL")
        })
        .take(5)
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// apt's "unmet dependencies" lines (`X : Depends: Y but Z is to be installed`).
/// apt also lists satisfiable siblings without a reason; those are dropped
/// when any line gives one.
fn unmet_dependencies(log: &str) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for l in log.lines() {
        if let Some((_, dep)) = l.split_once(" Depends: ") {
            let dep = dep.trim().to_string();
            if !all.contains(&dep) {
                all.push(dep);
            }
        }
    }
    let with_reason: Vec<String> = all
        .iter()
        .filter(|d| d.contains(" but ") || d.contains("not installable"))
        .cloned()
        .collect();
    let mut out = if with_reason.is_empty() {
        all
    } else {
        with_reason
    };
    out.truncate(10);
    out
}

/// The name sbuild gives the .changes of `req`: epoch dropped, binNMU suffix
/// added, host architecture.
pub fn changes_name(req: &BuildRequest) -> String {
    let version = req
        .version
        .split_once(':')
        .map_or(req.version.as_str(), |(_, v)| v);
    let suffix = req
        .binnmu
        .as_ref()
        .map(|(n, _)| format!("+b{n}"))
        .unwrap_or_default();
    format!("{}_{}{}_{}.changes", req.source, version, suffix, req.arch)
}

/// The .debs (and .udebs) listed in a .changes text, as paths in `dir`.
pub fn debs_in_changes(text: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let changes = debian_control::changes::Changes::read(text.as_bytes())
        .map_err(|e| format!("unreadable .changes: {e}"))?;
    let files = changes
        .files()
        .ok_or_else(|| "the .changes has no Files field".to_string())?;
    Ok(files
        .into_iter()
        .filter(|f| f.filename.ends_with(".deb") || f.filename.ends_with(".udeb"))
        .map(|f| dir.join(f.filename))
        .collect())
}

/// The production [`Builder`]: real sbuild, one process group per build.
#[derive(Clone, Debug)]
pub struct SbuildBuilder {
    pub config: SbuildConfig,
}

impl SbuildBuilder {
    pub fn new(config: SbuildConfig) -> SbuildBuilder {
        SbuildBuilder { config }
    }

    /// Runs the build; `ccache` gets the build's ccache counters.
    async fn run(
        &self,
        req: &BuildRequest,
        ccache: &mut Option<crate::buildcache::CcacheStats>,
    ) -> (Outcome, Vec<PathBuf>) {
        let failed = |what: String| Outcome::Failed {
            stage: "cascade".into(),
            errors: vec![what],
        };
        let inv = invocation(req, &self.config);
        if let Err(e) = std::fs::create_dir_all(&req.out_dir) {
            return (failed(format!("{}: {e}", req.out_dir.display())), vec![]);
        }
        if let Some((path, text)) = &inv.config
            && let Err(e) = std::fs::write(path, text)
        {
            return (failed(format!("{}: {e}", path.display())), vec![]);
        }
        let tmp = tmp_dir(req, &self.config);
        if let Some(dir) = &tmp
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            return (failed(format!("{}: {e}", dir.display())), vec![]);
        }
        if let Err(e) = crate::buildcache::prepare(req, &self.config) {
            return (failed(format!("build caches: {e}")), vec![]);
        }
        let opts = LogOptions {
            timeout: req.timeout,
            grace: self.config.grace,
            append: false,
            running: self.config.running.clone(),
        };
        let exit = inv.cmd.run_logged(&req.log, &opts).await;
        *ccache = crate::buildcache::finish(req, &self.config);
        // The group is gone: nothing uses its TMPDIR any more. (A dropped
        // build's is removed with the whole root once its group is gone.)
        if let Some(dir) = &tmp {
            let _ = std::fs::remove_dir_all(dir);
        }
        let exit = match exit {
            Ok(exit) => exit,
            Err(e) => return (failed(e.to_string()), vec![]),
        };
        match exit {
            Exit::TimedOut => return (Outcome::Timeout, vec![]),
            Exit::Cancelled => return (Outcome::Cancelled, vec![]),
            Exit::Status(_) => {}
        }
        let outcome = match crate::buildlog::classify_file(&req.log) {
            Ok(a) => a.outcome,
            Err(e) => failed(e.to_string()),
        };
        if outcome != Outcome::Ok {
            return (outcome, vec![]);
        }
        let changes = req.out_dir.join(changes_name(req));
        match std::fs::read_to_string(&changes)
            .map_err(|e| format!("{}: {e}", changes.display()))
            .and_then(|t| debs_in_changes(&t, &req.out_dir))
        {
            Ok(debs) => (Outcome::Ok, debs),
            Err(e) => (failed(e), vec![]),
        }
    }
}

impl Builder for SbuildBuilder {
    fn build(&self, req: BuildRequest) -> impl std::future::Future<Output = BuildOutput> + Send {
        let this = self.clone();
        async move {
            let start = Instant::now();
            let mut ccache = None;
            let (outcome, debs) = this.run(&req, &mut ccache).await;
            let log = std::fs::read(&req.log).unwrap_or_default();
            let stats = crate::timing::BuildStats {
                phases: crate::timing::phases(&String::from_utf8_lossy(&log)),
                ccache,
            };
            BuildOutput {
                outcome,
                debs,
                duration: start.elapsed(),
                stats: Some(stats).filter(|s| !s.is_empty()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn cfg() -> SbuildConfig {
        SbuildConfig {
            program: "sbuild".into(),
            chroot_dir: "/cache/sbuild".into(),
            suite: "unstable".into(),
            build_arch: arch("amd64"),
            maintainer: Some("Cascade <cascade@example.org>".into()),
            grace: Duration::from_secs(1),
            tmp_root: None,
            running: None,
            fast: None,
            schroot: BTreeMap::new(),
            schroot_allowed: true,
        }
    }

    fn fast_cfg() -> SbuildConfig {
        SbuildConfig {
            tmp_root: Some("/tmp/cascade-1234".into()),
            fast: Some(FastPath {
                apt_pool: "/var/cache/cascade/apt-archives".into(),
                ccache: Some(CcacheConfig {
                    root: "/var/cache/cascade/ccache".into(),
                    max_size: "5G".into(),
                }),
                warm: Default::default(),
                cross: Default::default(),
            }),
            ..cfg()
        }
    }

    fn req(a: &str, mode: BuildMode) -> BuildRequest {
        BuildRequest {
            source: "demo-blas".into(),
            version: "7.2.4-1~exp1".into(),
            arch: arch(a),
            mode,
            dsc: "/run/src/demo-blas_7.2.4-1~exp1.dsc".into(),
            extra_debs: vec!["/run/debs/amd64/libdemoruntime1_7.2.4-1~exp1_amd64.deb".into()],
            out_dir: "/run/out/amd64".into(),
            log: "/run/logs/demo-blas_7.2.4-1~exp1_amd64.build".into(),
            timeout: None,
            profiles: vec![],
            arch_all: false,
            binnmu: None,
            env: BTreeMap::new(),
        }
    }

    fn argv(inv: &Invocation) -> Vec<String> {
        inv.cmd
            .get_args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn native_argv() {
        let mut r = req("amd64", BuildMode::Native);
        r.arch_all = true;
        let inv = invocation(&r, &cfg());
        assert_eq!(
            argv(&inv),
            [
                "--chroot-mode=unshare",
                "--chroot=/cache/sbuild/unstable-amd64.tar",
                "--dist=unstable",
                "--arch=amd64",
                "--arch-any",
                "--arch-all",
                "--no-source",
                "--nolog",
                "--build-dir=/run/out/amd64",
                "--no-run-lintian",
                "--no-run-piuparts",
                "--no-run-autopkgtest",
                "--apt-update",
                "--no-apt-upgrade",
                "--no-apt-distupgrade",
                "--bd-uninstallable-explainer=apt",
                "--extra-package=/run/debs/amd64/libdemoruntime1_7.2.4-1~exp1_amd64.deb",
                "/run/src/demo-blas_7.2.4-1~exp1.dsc",
            ]
        );
        assert!(inv.cmd.get_env().is_empty());
        assert!(inv.config.is_none());
    }

    #[test]
    fn qemu_uses_the_foreign_chroot() {
        let inv = invocation(&req("riscv64", BuildMode::Qemu), &cfg());
        let a = argv(&inv);
        assert!(a.contains(&"--chroot=/cache/sbuild/unstable-riscv64.tar".into()));
        assert!(a.contains(&"--arch=riscv64".into()));
        assert!(a.contains(&"--no-arch-all".into()));
        assert!(!a.iter().any(|x| x.starts_with("--host")));
    }

    #[test]
    fn cross_uses_the_build_chroot_and_cross_profile() {
        let inv = invocation(&req("arm64", BuildMode::Cross), &cfg());
        let a = argv(&inv);
        assert!(a.contains(&"--chroot=/cache/sbuild/unstable-amd64.tar".into()));
        assert!(a.contains(&"--build=amd64".into()));
        assert!(a.contains(&"--host=arm64".into()));
        assert!(a.contains(&"--profiles=cross,nocheck".into()));
        assert!(!a.iter().any(|x| x.starts_with("--arch=")));
    }

    #[test]
    fn binnmu_argv() {
        let mut r = req("riscv64", BuildMode::Qemu);
        r.binnmu = Some((2, "Rebuild against libdemoruntime1 7.2.4".into()));
        let a = argv(&invocation(&r, &cfg()));
        assert!(a.contains(&"--make-binNMU=Rebuild against libdemoruntime1 7.2.4".into()));
        assert!(a.contains(&"--binNMU=2".into()));
        assert!(a.contains(&"--maintainer=Cascade <cascade@example.org>".into()));
        assert_eq!(
            changes_name(&r),
            "demo-blas_7.2.4-1~exp1+b2_riscv64.changes"
        );
    }

    #[test]
    fn profiles_and_nocheck() {
        let mut r = req("riscv64", BuildMode::Qemu);
        r.profiles = vec!["nocheck".into(), "noudeb".into()];
        let inv = invocation(&r, &cfg());
        assert!(argv(&inv).contains(&"--profiles=nocheck,noudeb".into()));
        assert_eq!(
            inv.cmd
                .get_env()
                .get(std::ffi::OsStr::new("DEB_BUILD_OPTIONS")),
            Some(&"nocheck".into())
        );
    }

    #[test]
    fn env_goes_through_an_sbuild_config() {
        let mut r = req("amd64", BuildMode::Native);
        r.env.insert("QEMU_CPU".into(), "rv64,v=true".into());
        r.env.insert("ODD".into(), "it's".into());
        let inv = invocation(&r, &cfg());
        let (path, text) = inv.config.unwrap();
        assert!(path.starts_with("/run/out/amd64"));
        assert_eq!(
            text,
            "$build_environment = {\n    'ODD' => 'it\\'s',\n    'QEMU_CPU' => 'rv64,v=true',\n};\n1;\n"
        );
        assert_eq!(
            inv.cmd.get_env().get(std::ffi::OsStr::new("SBUILD_CONFIG")),
            Some(&path.into_os_string())
        );
    }

    #[test]
    fn builds_start_from_the_warm_tarball_only_on_the_faster_path() {
        let mut c = cfg();
        let plain = "/cache/sbuild/unstable-riscv64.tar";
        assert_eq!(
            c.chroot_for(&arch("riscv64"), BuildMode::Qemu),
            Path::new(plain)
        );
        c.fast = Some(FastPath {
            apt_pool: "/pool".into(),
            ccache: None,
            warm: [arch("riscv64")].into(),
            cross: [arch("arm64")].into(),
        });
        assert_eq!(
            c.chroot_for(&arch("riscv64"), BuildMode::Qemu),
            Path::new("/cache/sbuild/unstable-riscv64-warm.tar")
        );
        // amd64 has no usable warm tarball; a cross build uses the build
        // arch's, or its cross tarball for the host when that is usable.
        assert_eq!(
            c.chroot_for(&arch("amd64"), BuildMode::Native),
            Path::new("/cache/sbuild/unstable-amd64.tar")
        );
        assert_eq!(
            c.chroot(&arch("riscv64"), BuildMode::Cross),
            Chroot::Arch(arch("amd64"))
        );
        assert_eq!(
            c.chroot_for(&arch("riscv64"), BuildMode::Cross),
            Path::new("/cache/sbuild/unstable-amd64.tar")
        );
        let cross = c.chroot(&arch("arm64"), BuildMode::Cross);
        assert_eq!(cross.to_string(), "amd64-cross-arm64");
        assert_eq!(
            c.tarball(&cross),
            Path::new("/cache/sbuild/unstable-amd64-cross-arm64.tar")
        );
        // Under qemu an arch builds in its own chroot, cross tarball or not.
        assert_eq!(
            c.chroot_for(&arch("arm64"), BuildMode::Qemu),
            Path::new("/cache/sbuild/unstable-arm64.tar")
        );
    }

    #[test]
    fn a_cross_tarball_is_usable_when_newer_than_a_usable_warm_one() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, build, host) = (tmp.path(), arch("amd64"), arch("riscv64"));
        let usable = || cross_is_usable(dir, "unstable", &build, &host);
        let touch = |p: PathBuf, secs: u64| {
            std::fs::write(&p, "tar").unwrap();
            let t = std::time::UNIX_EPOCH + Duration::from_secs(secs);
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(t).unwrap();
        };
        touch(cross_tarball(dir, "unstable", &build, &host), 3_000);
        assert!(!usable(), "no warm tarball under it");
        touch(chroot_tarball(dir, "unstable", &build), 1_000);
        touch(warm_tarball(dir, "unstable", &build), 2_000);
        std::fs::write(
            warm_stamp(dir, "unstable", &build),
            warm_stamp_text(&warm_list([])),
        )
        .unwrap();
        assert!(usable());
        // A remade warm tarball makes the cross one stale.
        touch(warm_tarball(dir, "unstable", &build), 4_000);
        assert!(!usable());
        touch(cross_tarball(dir, "unstable", &build, &host), 4_000);
        assert!(usable());
        // So does a remade plain one (the warm one is then unusable too).
        touch(chroot_tarball(dir, "unstable", &build), 5_000);
        assert!(!usable());
    }

    #[test]
    fn a_warm_tarball_is_usable_when_newer_than_the_plain_one_with_todays_packages() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, a) = (tmp.path(), arch("amd64"));
        let usable = || warm_is_usable(dir, "unstable", &a);
        let touch = |p: PathBuf, secs: u64| {
            std::fs::write(&p, "x").unwrap();
            let t = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            std::fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        assert!(!usable(), "nothing there");
        touch(chroot_tarball(dir, "unstable", &a), 2_000);
        touch(warm_tarball(dir, "unstable", &a), 3_000);
        assert!(!usable(), "no stamp");
        std::fs::write(warm_stamp(dir, "unstable", &a), "debhelper\n").unwrap();
        assert!(!usable(), "made without today's WARM_PACKAGES");
        let base = warm_list([]);
        std::fs::write(warm_stamp(dir, "unstable", &a), warm_stamp_text(&base)).unwrap();
        assert!(usable());
        assert!(warm_is_current(dir, "unstable", &a));
        // A run's plan wants cmake: still usable, no longer current.
        std::fs::write(warm_wanted(dir, "unstable", &a), "cmake\nccache\n").unwrap();
        assert_eq!(
            warm_packages(dir, "unstable", &a),
            ["debhelper", "ccache", "cmake"]
        );
        assert!(usable() && !warm_is_current(dir, "unstable", &a));
        let wanted = warm_packages(dir, "unstable", &a);
        std::fs::write(warm_stamp(dir, "unstable", &a), warm_stamp_text(&wanted)).unwrap();
        assert!(warm_is_current(dir, "unstable", &a));
        // A later run wants pkgconf too: the list grows, sorted, no repeats.
        let more = ["pkgconf".to_string(), "cmake".to_string()];
        let list = add_warm_wanted(dir, "unstable", &a, &more).unwrap();
        assert_eq!(list, ["debhelper", "ccache", "cmake", "pkgconf"]);
        assert_eq!(warm_packages(dir, "unstable", &a), list);
        assert!(usable() && !warm_is_current(dir, "unstable", &a));
        touch(chroot_tarball(dir, "unstable", &a), 4_000);
        assert!(!usable(), "the plain tarball was remade after it");
    }

    #[test]
    fn the_faster_path_mounts_the_caches_and_puts_ccache_first() {
        let r = req("riscv64", BuildMode::Qemu);
        let inv = invocation(&r, &fast_cfg());
        let a = argv(&inv);
        let plain = argv(&invocation(&r, &cfg()));
        // The plain call's arguments, then the faster path's, then the .dsc.
        assert_eq!(a[..plain.len() - 1], plain[..plain.len() - 1]);
        assert_eq!(
            a[plain.len() - 1..],
            [
                "--chroot-setup-commands=echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/cascade-unsafe-io; \
                 echo 'man-db man-db/auto-update boolean false' | debconf-set-selections",
                "--add-depends=ccache",
                "/run/src/demo-blas_7.2.4-1~exp1.dsc",
            ]
        );
        let (path, text) = inv.config.unwrap();
        assert_eq!(
            path,
            Path::new("/run/out/amd64/.cascade-sbuild-demo-blas_7.2.4-1~exp1_riscv64.conf")
        );
        assert_eq!(
            text,
            "$build_environment = {
    'CCACHE_DIR' => '/var/cache/ccache',
    'CCACHE_MAXSIZE' => '5G',
    'CCACHE_STATSLOG' => '/var/cache/ccache/.cascade-stats/cascade-1234.demo-blas_7.2.4-1~exp1_riscv64.log',
    'CCACHE_UMASK' => '000',
};
$apt_keep_downloaded_packages = 1;
$path = '/usr/lib/ccache:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games';
$unshare_bind_mounts = [
    { directory => '/tmp/cascade-1234/demo-blas_7.2.4-1~exp1_riscv64/apt-archives', mountpoint => '/var/cache/apt/archives' },
    { directory => '/var/cache/cascade/ccache/riscv64', mountpoint => '/var/cache/ccache' },
];
1;
"
        );
    }

    #[test]
    fn cross_builds_take_the_package_cache_and_the_host_arch_ccache() {
        let inv = invocation(&req("arm64", BuildMode::Cross), &fast_cfg());
        assert!(argv(&inv).contains(&"--add-depends=ccache".to_string()));
        let (_, text) = inv.config.unwrap();
        assert!(
            text.contains("mountpoint => '/var/cache/apt/archives'"),
            "{text}"
        );
        // The cross compiler's objects are the host arch's: its ccache.
        assert!(
            text.contains("{ directory => '/var/cache/cascade/ccache/arm64', mountpoint => '/var/cache/ccache' }"),
            "{text}"
        );
    }

    #[test]
    fn an_schroot_chroot_links_the_caches_and_builds_as_sbuild() {
        let mut c = fast_cfg();
        let amd64 = Chroot::Arch(arch("amd64"));
        c.schroot = [(amd64, "cascade-1234-unstable-amd64".to_string())].into();
        // riscv64 cross-built in amd64's chroot: its schroot chroot.
        let inv = invocation(&req("riscv64", BuildMode::Cross), &c);
        let a = argv(&inv);
        assert_eq!(
            a[..2],
            [
                "--chroot-mode=schroot",
                "--chroot=cascade-1234-unstable-amd64"
            ]
        );
        // With a cross tarball for riscv64, the schroot chroot made on it.
        let mut x = c.clone();
        x.fast.as_mut().unwrap().cross.insert(arch("riscv64"));
        let cross = x.chroot(&arch("riscv64"), BuildMode::Cross);
        let name = "cascade-1234-unstable-amd64-cross-riscv64";
        x.schroot.insert(cross, name.to_string());
        let a = argv(&invocation(&req("riscv64", BuildMode::Cross), &x));
        assert_eq!(a[1], format!("--chroot={name}"));
        let setup = a
            .iter()
            .find(|x| x.starts_with("--chroot-setup-commands="))
            .unwrap();
        assert!(
            setup.ends_with(
                "debconf-set-selections; \
rm -rf /var/cache/apt/archives && ln -s '/tmp/cascade-1234/demo-blas_7.2.4-1~exp1_riscv64/apt-archives' /var/cache/apt/archives; \
rm -rf /var/cache/ccache && ln -s '/var/cache/cascade/ccache/riscv64' /var/cache/ccache"
            ),
            "{setup}"
        );
        let (_, text) = inv.config.unwrap();
        assert!(text.contains("$build_user = 'sbuild';\n"), "{text}");
        assert!(!text.contains("unshare_bind_mounts"), "{text}");
        assert!(
            text.contains("'CCACHE_DIR' => '/var/cache/ccache'"),
            "{text}"
        );
        // Under qemu, riscv64's own chroot: it has none, so unshare mode.
        let a = argv(&invocation(&req("riscv64", BuildMode::Qemu), &c));
        assert_eq!(a[0], "--chroot-mode=unshare");
        // The plain call never uses it.
        c.fast = None;
        let a = argv(&invocation(&req("amd64", BuildMode::Native), &c));
        assert_eq!(a[0], "--chroot-mode=unshare");
    }

    #[test]
    fn changes_name_drops_the_epoch() {
        let mut r = req("amd64", BuildMode::Native);
        r.version = "1:2.0-3".into();
        assert_eq!(changes_name(&r), "demo-blas_2.0-3_amd64.changes");
    }

    const SUMMARY_FAILED: &str = "\
dh_auto_test: error: make -j1 check returned exit code 2
+------------------------------------------------------------------------------+
| Summary                                                                      |
+------------------------------------------------------------------------------+

Build Architecture: amd64
Build Type: any
Fail-Stage: build
Host Architecture: riscv64
Status: attempted
";

    #[test]
    fn outcomes_from_summaries() {
        let ok = "| Summary |\nStatus: successful\n";
        assert_eq!(outcome_from_log(ok), Outcome::Ok);
        assert!(matches!(
            outcome_from_log(SUMMARY_FAILED),
            Outcome::TestFailed { .. }
        ));
        let compile =
            "x.c:3:2: error: #error no riscv64\n| Summary\nFail-Stage: build\nStatus: attempted\n";
        match outcome_from_log(compile) {
            Outcome::Failed { stage, errors } => {
                assert_eq!(stage, "build");
                assert_eq!(errors, ["x.c:3:2: error: #error no riscv64"]);
            }
            o => panic!("{o:?}"),
        }
        let deps = " sbuild-build-depends-main-dummy : Depends: debhelper-compat (= 13)\n                                   Depends: libdemoruntime-dev (>= 7.2.4~) but it is not going to be installed\n sbuild-build-depends-main-dummy : Depends: debhelper-compat (= 13)\n                                   Depends: libdemoruntime-dev (>= 7.2.4~) but it is not going to be installed\n| Summary\nFail-Stage: install-deps\nStatus: given-back\n";
        assert_eq!(
            outcome_from_log(deps),
            Outcome::BuildDepUnsatisfiable {
                missing: vec![
                    "libdemoruntime-dev (>= 7.2.4~) but it is not going to be installed".into()
                ]
            }
        );
        let skipped = "| Summary\nFail-Stage: arch-check\nStatus: skipped\n";
        assert!(matches!(
            outcome_from_log(skipped),
            Outcome::Excluded { .. }
        ));
        assert!(matches!(
            outcome_from_log("E: sbuild died early"),
            Outcome::Failed { stage, .. } if stage == "sbuild"
        ));
    }

    #[test]
    fn debs_from_changes() {
        let text = "\
Format: 1.8
Source: demo-runtime
Binary: libdemoruntime1 libdemoruntime-dev
Architecture: amd64
Version: 7.2.4-1~exp1
Files:
 0123 100 libs optional libdemoruntime1_7.2.4-1~exp1_amd64.deb
 4567 200 libdevel optional libdemoruntime-dev_7.2.4-1~exp1_amd64.deb
 89ab 300 misc optional demo-runtime_7.2.4-1~exp1_amd64.buildinfo
";
        let debs = debs_in_changes(text, Path::new("/o")).unwrap();
        assert_eq!(
            debs,
            [
                PathBuf::from("/o/libdemoruntime1_7.2.4-1~exp1_amd64.deb"),
                PathBuf::from("/o/libdemoruntime-dev_7.2.4-1~exp1_amd64.deb"),
            ]
        );
    }
}
