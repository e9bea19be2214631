//! sbuild's schroot mode on the faster path (issue 16).
//!
//! In unshare mode every sbuild call unpacks its chroot tarball, and each of
//! the ~120 commands sbuild runs in the chroot goes through a fresh
//! `sbuild-usernsexec` (a Perl interpreter and about 14 `mount` calls): 13
//! of a tiny build's 20 CPU-seconds, measured with `perf`. As root, cascade
//! instead unpacks each warm (or cross) tarball once into a directory next to it
//! (remade when the tarball is) and lets sbuild open an schroot session on
//! it with an overlay: nothing to unpack per build, and schroot runs each
//! command cheaply. Debian's buildds run sbuild this way. The build itself
//! runs as the `sbuild` user, as in unshare mode, and makes the same .debs.
//!
//! Each run writes its own schroot chroot per architecture, named after
//! its temp root (`cascade-HASH-SUITE-ARCH`). Its profile bind-mounts the
//! run's temp root and the ccache root at their own paths, and its overlay
//! lives in the temp root. A run ends its sessions and removes its chroots
//! when it finishes; the next run (from any run directory) does both for
//! the chroots whose writing process is gone (a killed run). Not used without
//! root (schroot's configuration belongs to root), where schroot cannot
//! mount (a container: the probe session fails), or for `--clean-chroot`.
//!
//! Pure: the names and the configuration texts. Effects: [`prepare`],
//! [`finish`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::pid::Identity;
use crate::process::Cmd;
use crate::sbuild::{Chroot, SbuildConfig};

/// Where schroot reads its configuration.
const ETC: &str = "/etc/schroot";
/// Where schroot keeps its open sessions.
const SESSIONS: &str = "/var/lib/schroot/session";

/// The prefix of a run's chroot and session names: its temp root's name
/// (`cascade-HASH`, one per run directory).
pub fn run_prefix(tmp_root: &Path) -> String {
    tmp_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cascade".into())
}

/// The schroot chroot of a run for one chroot tarball
/// (`cascade-HASH-unstable-amd64`, `cascade-HASH-unstable-amd64-cross-riscv64`).
pub fn chroot_name(prefix: &str, suite: &str, chroot: &Chroot) -> String {
    format!("{prefix}-{suite}-{chroot}")
}

/// The schroot chroot of a run for the lintian tarball of `host`
/// (`cascade-HASH-unstable-amd64-lintian`).
pub fn lintian_chroot_name(prefix: &str, suite: &str, host: &crate::arch::Arch) -> String {
    format!("{prefix}-{suite}-{host}-lintian")
}

/// `DIR/NAME.SECS.d` for the tarball `DIR/NAME.tar` made at SECS: the
/// tarball unpacked (`unstable-amd64-warm.SECS.d`).
pub fn unpacked_dir(tarball: &Path, made_secs: u64) -> PathBuf {
    tarball.with_extension(format!("{made_secs}.d"))
}

/// The chroot's entry in `/etc/schroot/chroot.d`: `directory` as the
/// overlay's lower layer, the upper one under `overlay`, root only; a
/// comment names the cascade process that wrote it (`owner`), so that a
/// later run can tell the entry of a killed run ([`owner_of`]).
pub fn chroot_config(name: &str, directory: &Path, overlay: &Path, owner: &Identity) -> String {
    format!(
        "# {OWNER} {} {} {}\n[{name}]\ntype=directory\ndirectory={}\nunion-type=overlay\nunion-overlay-directory={}\nprofile={name}\nusers=root\nroot-users=root\n",
        owner.pid,
        owner.start_ticks,
        owner.boot_id,
        directory.display(),
        overlay.display()
    )
}

/// The comment that names a chroot entry's writer.
const OWNER: &str = "cascade process:";

/// The process that wrote a chroot entry, from its text.
pub fn owner_of(config: &str) -> Option<Identity> {
    let rest = config
        .lines()
        .find_map(|l| l.strip_prefix(&format!("# {OWNER} ")))?;
    let mut w = rest.split_whitespace();
    Some(Identity {
        pid: w.next()?.parse().ok()?,
        start_ticks: w.next()?.parse().ok()?,
        boot_id: w.next()?.to_string(),
    })
}

/// The profile's fstab: sbuild's (no /build on disk: it stays in the
/// overlay), plus each of `binds` at its own path.
pub fn fstab(binds: &[&Path]) -> String {
    let mut out = String::from(
        "/proc /proc none rw,bind 0 0\n/sys /sys none rw,bind 0 0\n/dev/pts /dev/pts none rw,bind 0 0\ntmpfs /dev/shm tmpfs defaults 0 0\n",
    );
    for b in binds {
        // fstab(5) separates fields with blanks: octal escapes within one.
        let field = (b.display().to_string())
            .replace('\\', "\\134")
            .replace(' ', "\\040")
            .replace('\t', "\\011");
        out.push_str(&format!("{field} {field} none rw,bind 0 0\n"));
    }
    out
}

/// sbuild's profile's other two files: the chroot gets the host's
/// resolv.conf and users (so the `sbuild` build user exists).
const COPYFILES: &str = "/etc/resolv.conf\n";
const NSSDATABASES: &str = "passwd\nshadow\ngroup\ngshadow\n";

/// The shell commands that point the chroot's apt archive and ccache
/// directories at the host's (`archives`, `ccache`), under the run's temp
/// root and ccache root, which the profile bind-mounts at their own paths.
pub fn link_commands(archives: Option<&Path>, ccache: Option<&Path>) -> String {
    let link = |host: &Path, at: &str| {
        let q = format!("'{}'", host.display().to_string().replace('\'', r"'\''"));
        format!("rm -rf {at} && ln -s {q} {at}")
    };
    let mut cmds = Vec::new();
    if let Some(a) = archives {
        cmds.push(link(a, "/var/cache/apt/archives"));
    }
    if let Some(c) = ccache {
        cmds.push(link(c, crate::sbuild::CHROOT_CCACHE_DIR));
    }
    cmds.join("; ")
}

/// Whether this process may configure schroot, may mount (CAP_SYS_ADMIN:
/// a container without it cannot open a session) and has schroot.
fn available() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    root && may_mount(&status) && Cmd::new("schroot").arg("--version").run().is_ok()
}

/// Whether `/proc/self/status` text gives CAP_SYS_ADMIN (bit 21 of CapEff).
pub fn may_mount(status: &str) -> bool {
    (status.lines())
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 21) != 0)
}

/// Before a run's builds: the schroot chroots of the chroots it builds in
/// that have a warm or cross tarball (chroot → name), each unpacked,
/// configured and tried once; a chroot that fails keeps unshare mode, with
/// a warning. Empty without the faster path, root or schroot, or with
/// `--unshare`.
pub fn prepare(
    cfg: &SbuildConfig,
    tmp_root: &Path,
    chroots: &std::collections::BTreeSet<Chroot>,
) -> BTreeMap<Chroot, String> {
    let mut out = BTreeMap::new();
    let Some(fast) = (cfg.fast.as_ref()).filter(|_| cfg.schroot_allowed && available()) else {
        return out;
    };
    let Some(owner) = Identity::current() else {
        return out;
    };
    sweep();
    let prefix = run_prefix(tmp_root);
    let mut binds = vec![tmp_root];
    binds.extend(fast.ccache.as_ref().map(|c| c.root.as_path()));
    for chroot in chroots.iter().filter(|c| cfg.on_faster_path(c)) {
        let name = chroot_name(&prefix, &cfg.suite, chroot);
        match configure(&cfg.tarball(chroot), &name, &binds, tmp_root, &owner) {
            Ok(()) => {
                out.insert(chroot.clone(), name);
            }
            Err(e) => {
                tracing::warn!("{name}: {e}; its builds unpack their chroot tarball");
                remove_config(&name);
            }
        }
    }
    out
}

/// Before a run's tests, as root: the run's schroot chroot `name` of the
/// lintian tarball, unpacked once beside it, so that each cell's lintian
/// opens an overlay session on it instead of unpacking the tarball (573 MB
/// on sid/amd64: 11 of a tiny cell's lintian CPU-seconds went to that,
/// mostly the kernel's). Its profile bind-mounts the run's temp root, where
/// the cell puts the files to lint. `None` where schroot is not used (see
/// [`prepare`]; `allowed` is false under `--unshare`) or the chroot fails:
/// lintian then unpacks the tarball in mmdebstrap's throwaway chroot.
pub fn prepare_lintian(
    tarball: &Path,
    name: &str,
    tmp_root: &Path,
    allowed: bool,
) -> Option<String> {
    if !allowed || !available() {
        return None;
    }
    let owner = Identity::current()?;
    sweep();
    match configure(tarball, name, &[tmp_root], tmp_root, &owner) {
        Ok(()) => Some(name.to_string()),
        Err(e) => {
            tracing::warn!("{name}: {e}; lintian unpacks its chroot tarball");
            remove_config(name);
            None
        }
    }
}

/// Unpacks `tarball` (once), writes the chroot `name` and its profile
/// (binding `binds` at their own paths; the overlay in `tmp_root`), and
/// opens and ends one session on it.
fn configure(
    tarball: &Path,
    name: &str,
    binds: &[&Path],
    tmp_root: &Path,
    owner: &Identity,
) -> Result<(), String> {
    let lower = unpacked(tarball)?;
    let overlay = tmp_root.join("schroot-overlay");
    for d in binds {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::create_dir_all(&overlay).map_err(|e| format!("{}: {e}", overlay.display()))?;
    let profile = Path::new(ETC).join(name);
    let files = [
        (profile.join("fstab"), fstab(binds)),
        (profile.join("copyfiles"), COPYFILES.to_string()),
        (profile.join("nssdatabases"), NSSDATABASES.to_string()),
        (
            Path::new(ETC).join("chroot.d").join(name),
            chroot_config(name, &lower, &overlay, owner),
        ),
    ];
    for (path, text) in files {
        crate::outfile::write_atomic(&path, text.as_bytes()).map_err(|e| e.to_string())?;
    }
    (Cmd::new("schroot")
        .args(["-c", name, "-d", "/", "--", "true"])
        .run())
    .map(drop)
    .map_err(|e| format!("a session does not start: {e}"))
}

/// The directory holding `tarball` unpacked ([`unpacked_dir`]), made now
/// when the tarball is newer than every such directory (under a lock: runs
/// at once unpack it once). Older directories no chroot or session names
/// are removed.
fn unpacked(tarball: &Path) -> Result<PathBuf, String> {
    let secs = crate::sbuild::tarball_made(tarball)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .ok_or_else(|| format!("{}: no tarball", tarball.display()))?
        .as_secs();
    let target = unpacked_dir(tarball, secs);
    if target.is_dir() {
        return Ok(target);
    }
    let (dir, stem) = stem_of(tarball);
    let lock_path = dir.join(format!(".{stem}.d.lock"));
    let _lock =
        crate::lock::hold(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    if target.is_dir() {
        return Ok(target);
    }
    let tmp = target.with_extension("d.part");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    // As root, tar restores owners, modes and the device nodes of /dev.
    let tar = Cmd::new("tar")
        .args(["--numeric-owner", "-xpf"])
        .arg(tarball);
    if let Err(e) = tar.arg("-C").arg(&tmp).run() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(format!("unpacking {}: {e}", tarball.display()));
    }
    std::fs::rename(&tmp, &target).map_err(|e| format!("{}: {e}", target.display()))?;
    remove_unused(dir, &stem, &target);
    Ok(target)
}

/// The directory of `DIR/NAME.tar` and NAME.
fn stem_of(tarball: &Path) -> (&Path, String) {
    let dir = tarball.parent().unwrap_or(Path::new("."));
    let stem = tarball.file_stem().unwrap_or_default().to_string_lossy();
    (dir, stem.into_owned())
}

/// Removes the unpacked directories of tarball `stem` in `dir` other than
/// `keep` that no schroot chroot or session names.
fn remove_unused(dir: &Path, stem: &str, keep: &Path) {
    let prefix = format!("{stem}.");
    let named = named_directories();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(&prefix) && (name.ends_with(".d") || name.ends_with(".d.part"));
        if ours && path != keep && !named.contains(&path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Every `directory=` of schroot's chroots and sessions.
fn named_directories() -> Vec<PathBuf> {
    let dirs = [Path::new(ETC).join("chroot.d"), PathBuf::from(SESSIONS)];
    let files = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten());
    files
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .flat_map(|text| {
            (text.lines())
                .filter_map(|l| l.strip_prefix("directory="))
                .map(PathBuf::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The open sessions on chroot `name`.
fn sessions(name: &str) -> Vec<String> {
    let start = format!("{name}-");
    (std::fs::read_dir(SESSIONS).into_iter().flatten().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&start))
        .collect()
}

/// After a run's builds, or before a rerun's: ends the sessions of the run
/// `prefix` (a killed sbuild leaves its session open) and removes its
/// chroots. Nothing to do without root.
pub fn finish(prefix: &str) {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let start = format!("{prefix}-");
    for name in entries().into_iter().filter(|n| n.starts_with(&start)) {
        end(&name);
    }
}

/// The entries of cascade's chroots in `/etc/schroot/chroot.d`.
fn entries() -> Vec<String> {
    let chroots = Path::new(ETC).join("chroot.d");
    (std::fs::read_dir(&chroots).into_iter().flatten().flatten())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cascade-"))
        .collect()
}

/// Ends the sessions on chroot `name` and removes it.
fn end(name: &str) {
    for s in sessions(name) {
        if let Err(e) = Cmd::new("schroot").args(["--end-session", "-c", &s]).run() {
            tracing::warn!("schroot session {s} could not be ended: {e}");
        }
    }
    remove_config(name);
}

/// Ends the chroots (and their sessions) that runs killed before they could
/// remove them left behind, from any run directory: those whose writer is
/// gone. Otherwise they would keep an old unpacked tarball from removal.
fn sweep() {
    let chroots = Path::new(ETC).join("chroot.d");
    for name in entries() {
        let text = std::fs::read_to_string(chroots.join(&name)).unwrap_or_default();
        if !owner_of(&text).is_some_and(|o| o.is_alive()) {
            end(&name);
        }
    }
}

/// Removes the chroot `name`'s entry and profile.
fn remove_config(name: &str) {
    let _ = std::fs::remove_file(Path::new(ETC).join("chroot.d").join(name));
    let _ = std::fs::remove_dir_all(Path::new(ETC).join(name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    #[test]
    fn names_follow_the_run_and_the_tarball() {
        let root = Path::new("/dev/shm/cascade-0123456789abcdef");
        let prefix = run_prefix(root);
        assert_eq!(prefix, "cascade-0123456789abcdef");
        let amd64 = Arch::new("amd64").unwrap();
        assert_eq!(
            chroot_name(&prefix, "unstable", &Chroot::Arch(amd64.clone())),
            "cascade-0123456789abcdef-unstable-amd64"
        );
        let cross = Chroot::Cross {
            build: amd64,
            host: Arch::new("riscv64").unwrap(),
        };
        assert_eq!(
            chroot_name(&prefix, "unstable", &cross),
            "cascade-0123456789abcdef-unstable-amd64-cross-riscv64"
        );
        assert_eq!(
            unpacked_dir(Path::new("/c/unstable-amd64-warm.tar"), 42),
            Path::new("/c/unstable-amd64-warm.42.d")
        );
        assert_eq!(
            unpacked_dir(Path::new("/c/unstable-amd64-cross-riscv64.tar"), 42),
            Path::new("/c/unstable-amd64-cross-riscv64.42.d")
        );
    }

    #[test]
    fn mounting_needs_cap_sys_admin() {
        assert!(may_mount("Name:\tx\nCapEff:\t000001ffffffffff\n"));
        // Docker's default capabilities: no CAP_SYS_ADMIN.
        assert!(!may_mount("CapEff:\t00000000a80425fb\n"));
        assert!(!may_mount("Name:\tx\n"));
    }

    #[test]
    fn the_chroot_is_an_overlay_on_the_unpacked_tarball_for_root_only() {
        let owner = Identity {
            pid: 42,
            start_ticks: 7,
            boot_id: "b00t".into(),
        };
        let text = chroot_config(
            "n",
            Path::new("/c/lower.d"),
            Path::new("/t/overlay"),
            &owner,
        );
        assert_eq!(owner_of(&text), Some(owner));
        assert_eq!(owner_of("[n]\ntype=directory\n"), None);
        assert_eq!(
            text,
            "# cascade process: 42 7 b00t\n[n]\ntype=directory\ndirectory=/c/lower.d\nunion-type=overlay\nunion-overlay-directory=/t/overlay\nprofile=n\nusers=root\nroot-users=root\n"
        );
    }

    #[test]
    fn the_profile_binds_each_directory_at_its_own_path() {
        let text = fstab(&[Path::new("/dev/shm/cascade-1"), Path::new("/var/cache/cc")]);
        assert!(text.starts_with("/proc /proc none rw,bind 0 0\n"));
        assert!(text.ends_with(
            "/dev/shm/cascade-1 /dev/shm/cascade-1 none rw,bind 0 0\n/var/cache/cc /var/cache/cc none rw,bind 0 0\n"
        ));
        assert!(
            !text.contains("/build"),
            "the build directory stays in the overlay"
        );
        let text = fstab(&[Path::new("/builds/my project/.cascade-ccache")]);
        assert!(text.ends_with(
            "/builds/my\\040project/.cascade-ccache /builds/my\\040project/.cascade-ccache none rw,bind 0 0\n"
        ));
    }

    #[test]
    fn links_point_the_chroot_at_the_host_directories() {
        let cmds = link_commands(
            Some(Path::new("/t/b_1~x/apt-archives")),
            Some(Path::new("/cc/it's")),
        );
        assert_eq!(
            cmds,
            "rm -rf /var/cache/apt/archives && ln -s '/t/b_1~x/apt-archives' /var/cache/apt/archives; \
rm -rf /var/cache/ccache && ln -s '/cc/it'\\''s' /var/cache/ccache"
        );
        assert_eq!(link_commands(None, None), "");
    }
}
