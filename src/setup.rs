//! Host setup for sbuild, shared by `cascade setup` (fixes) and `cascade
//! doctor` (reports): packages, binfmt_misc and qemu, subuid/subgid, the
//! sbuild config, chroot tarballs.
//!
//! The checks are pure: [`evaluate`] turns [`Facts`] (gathered by [`probe`],
//! the only place that looks at the host) into a list of [`Check`]s, each
//! with the [`Action`]s that fix it. [`apply`] performs one action. The list
//! of check names depends only on the [`Options`], so setup can re-probe
//! after each fix and find the same check again.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::arch::Arch;
use crate::process::Cmd;

/// sbuild older than this cannot cross-build against a sid chroot.
pub const MIN_SBUILD: &str = "0.89";
/// mmdebstrap older than this lacks features sbuild 0.89's unshare mode uses.
pub const MIN_MMDEBSTRAP: &str = "1.4";
/// Packages the builds need besides sbuild and mmdebstrap.
pub const TOOLS: &[&str] = &[
    "uidmap",
    "qemu-user-static",
    "binfmt-support",
    "devscripts",
    "faketime",
    "dose-extra",
    // As root, builds run in schroot overlay chroots (`crate::schroot`).
    "schroot",
];
/// The first subordinate id given to root (the range that sbuild's docs use
/// for unprivileged users starts at 100000; root's is kept apart).
const ROOT_SUBID_START: u64 = 1_000_000;
const SUBID_COUNT: u64 = 65_536;

/// The sbuild user config template (`sbuild/sbuildrc.pl`).
pub const SBUILDRC: &str = include_str!("../sbuild/sbuildrc.pl");

/// What to set up.
#[derive(Clone, Debug)]
pub struct Options {
    pub archs: Vec<Arch>,
    pub suite: String,
    pub mirror: String,
    pub max_age: Duration,
    pub chroot_dir: PathBuf,
    pub host_arch: Arch,
    /// `~/.config/sbuild/config.pl`.
    pub sbuild_config: PathBuf,
}

/// One entry of /proc/sys/fs/binfmt_misc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binfmt {
    pub enabled: bool,
    pub flags: String,
}

/// What [`probe`] found on the host.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// VERSION_CODENAME of /etc/os-release.
    pub codename: Option<String>,
    pub user: String,
    /// Installed packages and their versions.
    pub packages: BTreeMap<String, String>,
    /// Suites named in apt's sources.
    pub apt_suites: BTreeSet<String>,
    pub binfmt_mounted: bool,
    /// binfmt_misc entries by name (`qemu-riscv64`).
    pub binfmt: BTreeMap<String, Binfmt>,
    pub subuid: String,
    pub subgid: String,
    pub sbuild_config: bool,
    /// Age of each chroot tarball that exists.
    pub chroot_age: BTreeMap<Arch, Duration>,
    /// The arches whose warm tarball is current (`sbuild::warm_is_current`).
    pub warm: BTreeSet<Arch>,
    /// What each arch's warm tarball should hold (`sbuild::warm_packages`);
    /// an arch missing here: `sbuild::WARM_PACKAGES`.
    pub warm_packages: BTreeMap<Arch, Vec<String>>,
    /// The arches whose testbed tarball is current ([`testbed_is_current`]).
    pub testbed: BTreeSet<Arch>,
    /// Whether the host arch's lintian chroot tarball is current
    /// ([`made_after_plain`]).
    pub lintian: bool,
    /// The foreign arches whose cross tarball on the host arch exists
    /// (a run that cross-builds for them made it), and whether it is usable
    /// (`sbuild::cross_is_usable`).
    pub cross: BTreeMap<Arch, bool>,
}

/// One step that fixes a check.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Run(Cmd),
    AppendLine { path: PathBuf, line: String },
    WriteFile { path: PathBuf, content: String },
    Rename { from: PathBuf, to: PathBuf },
}

impl fmt::Display for Action {
    /// A shell line a user could type to do the same.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Run(cmd) => write!(f, "{cmd}"),
            Action::AppendLine { path, line } => {
                write!(f, "echo '{line}' >> {}", path.display())
            }
            Action::WriteFile { path, content } => write!(
                f,
                "mkdir -p {} && cat > {} <<'EOF'\n{content}EOF",
                path.parent().unwrap_or(Path::new(".")).display(),
                path.display()
            ),
            Action::Rename { from, to } => write!(f, "mv {} {}", from.display(), to.display()),
        }
    }
}

/// What kind of fix a check needs; setup skips `Install` under `--no-install`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Install,
    Host,
    Chroot,
}

/// The verdict on one requirement.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub kind: Kind,
    pub ok: bool,
    /// What was found (or why it is fine).
    pub detail: String,
    /// Empty when ok.
    pub fix: Vec<Action>,
}

fn check(name: String, kind: Kind, ok: bool, detail: String, fix: Vec<Action>) -> Check {
    let fix = if ok { vec![] } else { fix };
    Check {
        name,
        kind,
        ok,
        detail,
        fix,
    }
}

/// qemu's name for a Debian architecture (binfmt entry `qemu-NAME`).
pub fn qemu_name(arch: &Arch) -> Option<&'static str> {
    Some(match arch.as_str() {
        "arm64" => "aarch64",
        "armhf" | "armel" => "arm",
        "ppc64el" => "ppc64le",
        "ppc64" => "ppc64",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        "loong64" => "loongarch64",
        "mips64el" => "mips64el",
        "alpha" => "alpha",
        "hppa" => "hppa",
        "m68k" => "m68k",
        "sh4" => "sh4",
        "sparc64" => "sparc64",
        "powerpc" => "ppc",
        _ => return None,
    })
}

fn version_at_least(installed: &str, min: &str) -> bool {
    match (
        installed.parse::<debversion::Version>(),
        min.parse::<debversion::Version>(),
    ) {
        (Ok(i), Ok(m)) => i >= m,
        _ => false,
    }
}

fn apt_get() -> Cmd {
    Cmd::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive")
}

/// The subordinate id line to add for `user`, after the ranges in `existing`.
pub fn subid_line(user: &str, existing: &str) -> String {
    let end = existing
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':').skip(1);
            let start: u64 = f.next()?.trim().parse().ok()?;
            let count: u64 = f.next()?.trim().parse().ok()?;
            Some(start + count)
        })
        .max()
        .unwrap_or(0);
    let base = if user == "root" {
        ROOT_SUBID_START
    } else {
        100_000
    };
    let start = base.max(end);
    format!("{user}:{start}:{SUBID_COUNT}")
}

fn has_subid(user: &str, text: &str) -> bool {
    text.lines()
        .any(|l| l.split(':').next() == Some(user) && l.split(':').count() == 3)
}

/// The mmdebstrap call that makes `arch`'s tarball (into a dot-file first:
/// sbuild's tarball lookup ignores names it does not start with).
pub fn chroot_actions(opts: &Options, arch: &Arch) -> Vec<Action> {
    let target = crate::sbuild::chroot_tarball(&opts.chroot_dir, &opts.suite, arch);
    let tmp = opts
        .chroot_dir
        .join(format!(".{}-{arch}.tar.new", opts.suite));
    vec![
        Action::Run(Cmd::new("mkdir").arg("-p").arg(&opts.chroot_dir)),
        Action::Run(
            Cmd::new("mmdebstrap")
                .arg("--variant=buildd")
                .arg("--mode=unshare")
                .arg("--format=tar")
                .arg(format!("--architectures={arch}"))
                // The mirror's Release files may be past Valid-Until.
                .arg("--aptopt=Acquire::Check-Valid-Until \"false\"")
                .arg(&opts.suite)
                .arg(&tmp)
                .arg(&opts.mirror),
        ),
        Action::Rename {
            from: tmp,
            to: target,
        },
    ]
}

/// Every check for `opts`, judged on `facts`. Pure.
pub fn evaluate(opts: &Options, facts: &Facts) -> Vec<Check> {
    let mut out = Vec::new();
    package_checks(facts, &mut out);
    binfmt_checks(opts, facts, &mut out);
    subid_checks(facts, &mut out);
    // 6. sbuild's own config: unshare mode, no automatic tarball refresh.
    out.push(check(
        "sbuild user config".into(),
        Kind::Host,
        facts.sbuild_config,
        opts.sbuild_config.display().to_string(),
        vec![Action::WriteFile {
            path: opts.sbuild_config.clone(),
            content: SBUILDRC.into(),
        }],
    ));
    for arch in &opts.archs {
        chroot_checks(opts, facts, arch, &mut out);
    }
    // A warm tarball remade now makes the cross tarballs on it stale.
    let warm_ok = warm_ok(opts, facts, &opts.host_arch);
    for (host, usable) in &facts.cross {
        out.push(cross_check(opts, host, warm_ok && *usable));
    }
    out
}

/// A cross tarball a run made: remade after the host arch's warm tarball
/// it extends (after that tarball's own check), so that the next run need
/// not. Those no run made are left to the runs that cross-build.
fn cross_check(opts: &Options, host: &Arch, usable: bool) -> Check {
    let (dir, suite, build) = (&opts.chroot_dir, opts.suite.as_str(), &opts.host_arch);
    let tarball = crate::sbuild::cross_tarball(dir, suite, build, host);
    check(
        format!("cross chroot {suite}-{build}-cross-{host}"),
        Kind::Chroot,
        usable,
        match usable {
            true => format!(
                "{} (+ {})",
                tarball.display(),
                crate::sbuild::cross_packages(host).join(", ")
            ),
            false => format!("{} older than the warm tarball", tarball.display()),
        },
        cross_actions_in(dir, suite, build, host),
    )
}

/// Checks 1–3: the apt source for backports, sbuild and mmdebstrap new
/// enough, the other tools.
fn package_checks(facts: &Facts, out: &mut Vec<Check>) {
    let bookworm = facts.codename.as_deref() == Some("bookworm");
    let backports_file = PathBuf::from("/etc/apt/sources.list.d/bookworm-backports.sources");

    // 1. bookworm's sbuild 0.85 breaks cross builds: sbuild comes from backports.
    let has_bpo = facts.apt_suites.contains("bookworm-backports");
    out.push(check(
        "apt source bookworm-backports".into(),
        Kind::Install,
        !bookworm || has_bpo,
        if bookworm {
            format!("bookworm host; backports {}", if has_bpo { "configured" } else { "missing" })
        } else {
            format!(
                "not needed on {}",
                facts.codename.as_deref().unwrap_or("this host")
            )
        },
        vec![Action::WriteFile {
            path: backports_file,
            content: "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n".into(),
        }],
    ));

    // 2. sbuild and mmdebstrap, new enough.
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for (pkg, min) in [("sbuild", MIN_SBUILD), ("mmdebstrap", MIN_MMDEBSTRAP)] {
        match facts.packages.get(pkg) {
            Some(v) if version_at_least(v, min) => found.push(format!("{pkg} {v}")),
            Some(v) => missing.push(format!("{pkg} >= {min} (have {v})")),
            None => missing.push(format!("{pkg} >= {min}")),
        }
    }
    let mut install = apt_get().args(["install", "-y"]);
    if bookworm {
        install = install.args(["-t", "bookworm-backports"]);
    }
    out.push(check(
        "sbuild and mmdebstrap".into(),
        Kind::Install,
        missing.is_empty(),
        if missing.is_empty() {
            found.join(", ")
        } else {
            format!("missing: {}", missing.join(", "))
        },
        vec![
            Action::Run(apt_get().args(["-o", "Acquire::Check-Valid-Until=false", "update"])),
            Action::Run(install.args(["sbuild", "mmdebstrap"])),
        ],
    ));

    // 3. The other tools.
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|p| !facts.packages.contains_key(*p))
        .collect();
    out.push(check(
        "build tools".into(),
        Kind::Install,
        missing.is_empty(),
        if missing.is_empty() {
            TOOLS.join(", ")
        } else {
            format!("missing: {}", missing.join(", "))
        },
        vec![Action::Run(
            apt_get().args(["install", "-y"]).args(missing.iter()),
        )],
    ));
}

/// Check 4: binfmt_misc and qemu for each foreign arch.
fn binfmt_checks(opts: &Options, facts: &Facts, out: &mut Vec<Check>) {
    // 4. binfmt_misc, and qemu registered with the F flag: the interpreter
    // is opened at registration, so it works inside chroots that lack it.
    let foreign: Vec<&Arch> = opts
        .archs
        .iter()
        .filter(|a| **a != opts.host_arch)
        .collect();
    if !foreign.is_empty() {
        out.push(check(
            "binfmt_misc mounted".into(),
            Kind::Host,
            facts.binfmt_mounted,
            "/proc/sys/fs/binfmt_misc".into(),
            vec![Action::Run(Cmd::new("mount").args([
                "-t",
                "binfmt_misc",
                "binfmt_misc",
                "/proc/sys/fs/binfmt_misc",
            ]))],
        ));
    }
    for arch in foreign {
        let Some(q) = qemu_name(arch) else { continue };
        let entry = format!("qemu-{q}");
        let state = facts.binfmt.get(&entry);
        let ok = state.is_some_and(|b| b.enabled && b.flags.contains('F'));
        out.push(check(
            format!("qemu binfmt for {arch}"),
            Kind::Host,
            ok,
            match state {
                Some(b) => format!(
                    "{entry} {} flags {}",
                    if b.enabled { "enabled" } else { "disabled" },
                    b.flags
                ),
                None => format!("{entry} not registered"),
            },
            vec![Action::Run(
                Cmd::new("update-binfmts").args(["--enable", &entry]),
            )],
        ));
    }
}

/// Check 5: subordinate ids of the user.
fn subid_checks(facts: &Facts, out: &mut Vec<Check>) {
    // 5. Subordinate ids for sbuild's unshare mode.
    for (file, text) in [
        ("/etc/subuid", &facts.subuid),
        ("/etc/subgid", &facts.subgid),
    ] {
        let ok = has_subid(&facts.user, text);
        out.push(check(
            format!("{file} entry for {}", facts.user),
            Kind::Host,
            ok,
            if ok {
                "present".into()
            } else {
                "missing (sbuild --chroot-mode=unshare needs it)".into()
            },
            vec![Action::AppendLine {
                path: file.into(),
                line: subid_line(&facts.user, text),
            }],
        ));
    }
}

/// Whether `arch`'s plain chroot tarball is there and young enough.
fn plain_ok(opts: &Options, facts: &Facts, arch: &Arch) -> bool {
    (facts.chroot_age.get(arch)).is_some_and(|a| *a <= opts.max_age)
}

/// Whether `arch`'s warm tarball passes its check: current, on a plain
/// tarball that passes its own.
fn warm_ok(opts: &Options, facts: &Facts, arch: &Arch) -> bool {
    plain_ok(opts, facts, arch) && facts.warm.contains(arch)
}

/// Check 7: `arch`'s plain chroot tarball, young enough, its warm one and
/// its testbed.
fn chroot_checks(opts: &Options, facts: &Facts, arch: &Arch, out: &mut Vec<Check>) {
    // 7. One chroot tarball per architecture, young enough.
    let path = crate::sbuild::chroot_tarball(&opts.chroot_dir, &opts.suite, arch);
    let age = facts.chroot_age.get(arch);
    let days = |d: &Duration| d.as_secs_f64() / 86_400.0;
    let ok = plain_ok(opts, facts, arch);
    out.push(check(
        format!("chroot {}-{arch}", opts.suite),
        Kind::Chroot,
        ok,
        match age {
            Some(a) if ok => format!("{} ({:.1} days old)", path.display(), days(a)),
            Some(a) => format!(
                "{} is {:.1} days old (max {:.0})",
                path.display(),
                days(a),
                days(&opts.max_age)
            ),
            None => format!("{} missing", path.display()),
        },
        chroot_actions(opts, arch),
    ));
    // The warm tarball extends the plain one: remade with it.
    let warm = crate::sbuild::warm_tarball(&opts.chroot_dir, &opts.suite, arch);
    let usable = warm_ok(opts, facts, arch);
    let packages =
        (facts.warm_packages.get(arch).cloned()).unwrap_or_else(|| crate::sbuild::warm_list([]));
    out.push(check(
        format!("warm chroot {}-{arch}", opts.suite),
        Kind::Chroot,
        usable,
        if usable {
            format!("{} (+ {})", warm.display(), packages.join(", "))
        } else {
            format!(
                "{} missing, older than the plain tarball, or without {}",
                warm.display(),
                packages.join(", ")
            )
        },
        warm_actions(opts, arch, &packages),
    ));
    // autopkgtest's testbed: remade with the plain tarball.
    let (dir, suite) = (&opts.chroot_dir, &opts.suite);
    out.push(beside_plain_check(
        format!("testbed {suite}-{arch}"),
        ok && facts.testbed.contains(arch),
        (
            &crate::autopkgtest::testbed_tarball(dir, suite, arch),
            "autopkgtest's",
        ),
        crate::autopkgtest::testbed_actions(dir, suite, arch, &opts.mirror),
    ));
    // lintian's chroot (the test stage lints every cell in it, on the host
    // arch): made here with the testbeds rather than by the first test
    // run, and remade with the plain tarball.
    if *arch == opts.host_arch {
        out.push(beside_plain_check(
            format!("lintian chroot {suite}-{arch}"),
            ok && facts.lintian,
            (&crate::lintian::tarball(dir, suite, arch), "lintian's"),
            crate::lintian::tarball_actions(dir, suite, arch, &opts.mirror),
        ));
    }
}

/// The check of a tarball made beside the plain one ([`made_after_plain`]):
/// `tarball` and whose it is.
fn beside_plain_check(
    name: String,
    current: bool,
    (tarball, whose): (&Path, &str),
    fix: Vec<Action>,
) -> Check {
    let detail = match current {
        true => format!("{} ({whose})", tarball.display()),
        false => format!(
            "{} missing or older than the plain tarball",
            tarball.display()
        ),
    };
    check(name, Kind::Chroot, current, detail, fix)
}

/// Whether `arch`'s testbed tarball is current ([`made_after_plain`]).
pub fn testbed_is_current(dir: &Path, suite: &str, arch: &Arch) -> bool {
    let testbed = crate::autopkgtest::testbed_tarball(dir, suite, arch);
    made_after_plain(&testbed, dir, suite, arch)
}

/// Whether `tarball` exists and was made after `arch`'s plain chroot
/// tarball, or there is none. The tarballs made beside it from the mirror
/// (autopkgtest's testbed, lintian's chroot) hold apt lists and packages as
/// old as they are: remaking the plain tarball, which `cascade setup` does
/// when it is older than its maximum age, makes them stale.
pub fn made_after_plain(tarball: &Path, dir: &Path, suite: &str, arch: &Arch) -> bool {
    use crate::sbuild::tarball_made;
    let plain = tarball_made(&crate::sbuild::chroot_tarball(dir, suite, arch));
    match (tarball_made(tarball), plain) {
        (Some(t), Some(p)) => t >= p,
        (made, None) => made.is_some(),
        (None, Some(_)) => false,
    }
}

/// The mmdebstrap call that makes `arch`'s warm tarball from its plain one:
/// the plain tree unpacked (its `/dev` left to mmdebstrap), apt's lists
/// updated and kept, `packages` (`sbuild::warm_packages`) installed as a
/// build would install them (no recommends), the downloaded .debs dropped;
/// then the stamp that names the package list. When the whole list cannot
/// be installed (a wanted package left the archive), the tarball gets
/// [`crate::sbuild::WARM_PACKAGES`] alone: builds then install the rest,
/// as they would without a warm tarball.
pub fn warm_actions(opts: &Options, arch: &Arch, packages: &[String]) -> Vec<Action> {
    warm_actions_in(&opts.chroot_dir, &opts.suite, arch, packages)
}

/// [`warm_actions`] for the tarballs of `suite` in `dir`.
pub fn warm_actions_in(dir: &Path, suite: &str, arch: &Arch, packages: &[String]) -> Vec<Action> {
    let plain = crate::sbuild::chroot_tarball(dir, suite, arch);
    let tmp = dir.join(format!(".{suite}-{arch}-warm.tar.new"));
    let get = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends";
    let install = format!(
        "apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Languages=none update && \
         {{ {get} {} || {get} {}; }} && apt-get clean",
        packages.join(" "),
        crate::sbuild::WARM_PACKAGES.join(" ")
    );
    vec![
        Action::Run(extend_tarball(&plain, arch, &install).arg(suite).arg(&tmp)),
        Action::Rename {
            from: tmp,
            to: crate::sbuild::warm_tarball(dir, suite, arch),
        },
        Action::WriteFile {
            path: crate::sbuild::warm_stamp(dir, suite, arch),
            content: crate::sbuild::warm_stamp_text(packages),
        },
    ]
}

/// The mmdebstrap call that makes `build`'s cross tarball for `host` from
/// `build`'s warm one: `host` added as a foreign architecture, apt's lists
/// updated and kept, [`crate::sbuild::cross_packages`] installed as sbuild
/// installs a build's dependencies (`apt-get satisfy`: a virtual package
/// such as `libstdc++-dev:riscv64` gets one of its providers; no
/// recommends), the downloaded .debs dropped. Made by a run whose plan
/// cross-builds for `host`.
pub fn cross_actions_in(dir: &Path, suite: &str, build: &Arch, host: &Arch) -> Vec<Action> {
    let warm = crate::sbuild::warm_tarball(dir, suite, build);
    let target = crate::sbuild::cross_tarball(dir, suite, build, host);
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.new"));
    let script = format!(
        "dpkg --add-architecture {host} && \
         apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Languages=none update && \
         DEBIAN_FRONTEND=noninteractive apt-get satisfy -y --no-install-recommends '{}' && \
         apt-get clean",
        crate::sbuild::cross_packages(host).join(", ")
    );
    vec![
        Action::Run(extend_tarball(&warm, build, &script).arg(suite).arg(&tmp)),
        Action::Rename {
            from: tmp,
            to: target,
        },
    ]
}

/// Makes the tarball `target` from `mirror`: mmdebstrap's `apt` variant
/// (Essential packages and apt) with `include` (comma-separated) and the
/// `extra` options, into a dot-file beside it first, renamed when complete.
/// The tarball keeps (/etc/apt/apt.conf.d/99mmdebstrap) the two apt
/// options it is made with: the mirror's Release files may be past
/// Valid-Until, and nothing in it reads translations. autopkgtest's
/// testbeds and lintian's chroot are made so.
pub fn apt_tarball_actions(
    target: &Path,
    suite: &str,
    arch: &Arch,
    mirror: &str,
    include: &str,
    extra: &[&str],
) -> Vec<Action> {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.new"));
    let cmd = Cmd::new("mmdebstrap")
        .arg("--variant=apt")
        .arg(format!("--include={include}"))
        .arg("--mode=unshare")
        .arg("--format=tar")
        .arg(format!("--architectures={arch}"))
        .arg("--aptopt=Acquire::Check-Valid-Until \"false\"")
        .arg("--aptopt=Acquire::Languages \"none\"")
        .args(extra)
        .arg(suite)
        .arg(&tmp)
        .arg(mirror);
    vec![
        Action::Run(Cmd::new("mkdir").arg("-p").arg(dir)),
        Action::Run(cmd),
        Action::Rename {
            from: tmp,
            to: target.to_path_buf(),
        },
    ]
}

/// The mmdebstrap call (without its SUITE and TARGET) that unpacks the
/// tarball `plain` (its `/dev` left to mmdebstrap), runs `script` in it
/// with its apt lists and cache kept, and makes the result anew: the warm
/// tarballs are made so.
pub fn extend_tarball(plain: &Path, arch: &Arch, script: &str) -> Cmd {
    use crate::process::shell_quote;
    Cmd::new("mmdebstrap")
        .arg("--variant=custom")
        .arg("--mode=unshare")
        .arg("--format=tar")
        .arg(format!("--architectures={arch}"))
        .arg("--skip=update,setup,cleanup/apt/lists,cleanup/apt/cache")
        .arg(format!(
            "--setup-hook=tar -C \"$1\" --exclude='./dev/*' -xf {}",
            shell_quote(plain.as_os_str())
        ))
        .arg(format!(
            "--customize-hook=chroot \"$1\" sh -c {}",
            shell_quote(std::ffi::OsStr::new(script))
        ))
}

/// Looks at the host. Missing files and tools read as "not there".
pub fn probe(opts: &Options) -> Facts {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let codename = read("/etc/os-release").lines().find_map(|l| {
        l.strip_prefix("VERSION_CODENAME=")
            .map(|v| v.trim_matches('"').to_string())
    });
    let user = Cmd::new("id")
        .arg("-un")
        .run()
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_else(|_| "root".into());
    let mut names: Vec<&str> = vec!["sbuild", "mmdebstrap"];
    names.extend(TOOLS);
    // dpkg-query exits 1 when some name is unknown but still prints the rest.
    let packages = Cmd::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${Version} ${db:Status-Status}\\n"])
        .args(&names)
        .to_std()
        .output()
        .map(|o| parse_dpkg_query(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or_default();
    let mut apt_suites = BTreeSet::new();
    let mut sources = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        sources.extend(
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "list" || e == "sources")),
        );
    }
    for s in sources {
        apt_suites.extend(apt_source_suites(
            &std::fs::read_to_string(&s).unwrap_or_default(),
        ));
    }
    let binfmt_dir = Path::new("/proc/sys/fs/binfmt_misc");
    let binfmt_mounted = binfmt_dir.join("status").exists();
    let mut binfmt = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir(binfmt_dir) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("qemu-") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                binfmt.insert(name, parse_binfmt(&text));
            }
        }
    }
    let now = SystemTime::now();
    let chroot_age = opts
        .archs
        .iter()
        .filter_map(|a| {
            let p = crate::sbuild::chroot_tarball(&opts.chroot_dir, &opts.suite, a);
            let made = crate::sbuild::tarball_made(&p)?;
            let age = now.duration_since(made).unwrap_or_default();
            Some((a.clone(), age))
        })
        .collect();
    Facts {
        codename,
        user,
        packages,
        apt_suites,
        binfmt_mounted,
        binfmt,
        subuid: read("/etc/subuid"),
        subgid: read("/etc/subgid"),
        sbuild_config: opts.sbuild_config.exists(),
        chroot_age,
        warm: (opts.archs.iter())
            .filter(|a| crate::sbuild::warm_is_current(&opts.chroot_dir, &opts.suite, a))
            .cloned()
            .collect(),
        warm_packages: (opts.archs.iter())
            .map(|a| {
                let list = crate::sbuild::warm_packages(&opts.chroot_dir, &opts.suite, a);
                (a.clone(), list)
            })
            .collect(),
        testbed: (opts.archs.iter())
            .filter(|a| testbed_is_current(&opts.chroot_dir, &opts.suite, a))
            .cloned()
            .collect(),
        lintian: made_after_plain(
            &crate::lintian::tarball(&opts.chroot_dir, &opts.suite, &opts.host_arch),
            &opts.chroot_dir,
            &opts.suite,
            &opts.host_arch,
        ),
        cross: probe_cross(opts),
    }
}

/// [`Facts::cross`]: the cross tarballs of `opts.archs` on the host arch.
fn probe_cross(opts: &Options) -> BTreeMap<Arch, bool> {
    let (dir, suite, build) = (&opts.chroot_dir, opts.suite.as_str(), &opts.host_arch);
    (opts.archs.iter())
        .filter(|a| *a != build && opts.archs.contains(build))
        .filter(|a| {
            crate::sbuild::tarball_made(&crate::sbuild::cross_tarball(dir, suite, build, a))
                .is_some()
        })
        .map(|a| {
            (
                a.clone(),
                crate::sbuild::cross_is_usable(dir, suite, build, a),
            )
        })
        .collect()
}

/// `Package Version Status` lines → installed packages.
pub fn parse_dpkg_query(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (p, v, s) = (f.next()?, f.next()?, f.next()?);
            (s == "installed").then(|| (p.to_string(), v.to_string()))
        })
        .collect()
}

/// The suites named in a one-line-style `.list` or a deb822 `.sources` file.
pub fn apt_source_suites(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        if let Some(v) = line.strip_prefix("Suites:") {
            out.extend(v.split_whitespace().map(String::from));
        } else if line.starts_with("deb ") || line.starts_with("deb-src ") {
            // deb [opts] URI SUITE COMPONENTS...
            let mut words = line.split_whitespace().skip(1).peekable();
            if words.peek().is_some_and(|w| w.starts_with('[')) {
                for w in words.by_ref() {
                    if w.ends_with(']') {
                        break;
                    }
                }
            }
            if let Some(suite) = words.nth(1) {
                out.push(suite.to_string());
            }
        }
    }
    out
}

/// A /proc/sys/fs/binfmt_misc entry's text.
pub fn parse_binfmt(text: &str) -> Binfmt {
    Binfmt {
        enabled: text.lines().next() == Some("enabled"),
        flags: text
            .lines()
            .find_map(|l| l.strip_prefix("flags: "))
            .unwrap_or("")
            .to_string(),
    }
}

/// Performs one action.
pub fn apply(action: &Action) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io(crate::fsio::IoError::new(path, source))
    };
    match action {
        Action::Run(cmd) => {
            // Long tools (apt-get, mmdebstrap) show their progress.
            let status = cmd.to_std().status().map_err(|source| Error::Run {
                command: cmd.to_string(),
                status: source.to_string(),
            })?;
            if !status.success() {
                return Err(Error::Run {
                    command: cmd.to_string(),
                    status: status.to_string(),
                });
            }
        }
        Action::AppendLine { path, line } => {
            use std::io::Write;
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io(path))?;
            writeln!(f, "{sep}{line}").map_err(io(path))?;
        }
        Action::WriteFile { path, content } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(path, content).map_err(io(path))?;
        }
        Action::Rename { from, to } => std::fs::rename(from, to).map_err(io(from))?,
    }
    Ok(())
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("`{command}` failed: {status}")]
    Run { command: String, status: String },
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn opts() -> Options {
        Options {
            archs: vec![arch("amd64"), arch("riscv64")],
            suite: "unstable".into(),
            mirror: "http://deb.debian.org/debian".into(),
            max_age: Duration::from_secs(7 * 86_400),
            chroot_dir: "/root/.cache/sbuild".into(),
            host_arch: arch("amd64"),
            sbuild_config: "/root/.config/sbuild/config.pl".into(),
        }
    }

    fn healthy() -> Facts {
        let mut packages: BTreeMap<String, String> = TOOLS
            .iter()
            .map(|p| (p.to_string(), "1.0".to_string()))
            .collect();
        packages.insert("sbuild".into(), "0.89.3+deb13u1~bpo12+2".into());
        packages.insert("mmdebstrap".into(), "1.5.6-4~bpo12+1".into());
        Facts {
            codename: Some("bookworm".into()),
            user: "root".into(),
            packages,
            apt_suites: ["bookworm".into(), "bookworm-backports".into()].into(),
            binfmt_mounted: true,
            binfmt: [(
                "qemu-riscv64".to_string(),
                Binfmt {
                    enabled: true,
                    flags: "PF".into(),
                },
            )]
            .into(),
            subuid: "root:1000000:65536\n".into(),
            subgid: "root:1000000:65536\n".into(),
            sbuild_config: true,
            warm_packages: BTreeMap::new(),
            chroot_age: [
                (arch("amd64"), Duration::from_secs(3600)),
                (arch("riscv64"), Duration::from_secs(3600)),
            ]
            .into(),
            warm: [arch("amd64"), arch("riscv64")].into(),
            testbed: [arch("amd64"), arch("riscv64")].into(),
            lintian: true,
            cross: BTreeMap::new(),
        }
    }

    fn failing(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn healthy_host_passes_everything() {
        let checks = evaluate(&opts(), &healthy());
        assert_eq!(failing(&checks), Vec::<&str>::new());
        assert!(checks.iter().all(|c| c.fix.is_empty()));
    }

    #[test]
    fn the_list_of_checks_depends_only_on_options() {
        let names = |f: &Facts| {
            evaluate(&opts(), f)
                .into_iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&healthy()),
            names(&Facts {
                user: "root".into(),
                ..Facts::default()
            })
        );
    }

    #[test]
    fn old_sbuild_on_bookworm_installs_from_backports() {
        let mut f = healthy();
        f.packages.insert("sbuild".into(), "0.85.0".into());
        f.apt_suites.remove("bookworm-backports");
        let checks = evaluate(&opts(), &f);
        assert_eq!(
            failing(&checks),
            ["apt source bookworm-backports", "sbuild and mmdebstrap"]
        );
        let fix: Vec<String> = checks[1].fix.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            fix,
            [
                "apt-get -o Acquire::Check-Valid-Until=false update",
                "apt-get install -y -t bookworm-backports sbuild mmdebstrap",
            ]
        );
        assert!(checks[1].detail.contains("have 0.85.0"));
        assert!(
            matches!(&checks[0].fix[0], Action::WriteFile { path, content }
            if path.ends_with("bookworm-backports.sources") && content.contains("Suites: bookworm-backports"))
        );
    }

    #[test]
    fn trixie_needs_no_backports() {
        let mut f = healthy();
        f.codename = Some("trixie".into());
        f.apt_suites.clear();
        f.packages.remove("sbuild");
        let checks = evaluate(&opts(), &f);
        assert_eq!(failing(&checks), ["sbuild and mmdebstrap"]);
        assert_eq!(
            checks[1].fix[1].to_string(),
            "apt-get install -y sbuild mmdebstrap"
        );
    }

    #[test]
    fn missing_tools_binfmt_subids_and_chroots() {
        let mut f = healthy();
        f.packages.remove("dose-extra");
        f.binfmt_mounted = false;
        f.binfmt.clear();
        f.subuid = "alice:100000:65536\n".into();
        f.chroot_age
            .insert(arch("riscv64"), Duration::from_secs(30 * 86_400));
        f.chroot_age.remove(&arch("amd64"));
        let checks = evaluate(&opts(), &f);
        assert_eq!(
            failing(&checks),
            [
                "build tools",
                "binfmt_misc mounted",
                "qemu binfmt for riscv64",
                "/etc/subuid entry for root",
                "chroot unstable-amd64",
                // A remade plain tarball makes its warm one and its
                // testbed stale.
                "warm chroot unstable-amd64",
                "testbed unstable-amd64",
                "lintian chroot unstable-amd64",
                "chroot unstable-riscv64",
                "warm chroot unstable-riscv64",
                "testbed unstable-riscv64",
            ]
        );
        let by = |n: &str| checks.iter().find(|c| c.name == n).unwrap();
        assert_eq!(
            by("build tools").fix[0].to_string(),
            "apt-get install -y dose-extra"
        );
        assert_eq!(
            by("qemu binfmt for riscv64").fix[0].to_string(),
            "update-binfmts --enable qemu-riscv64"
        );
        assert_eq!(
            by("/etc/subuid entry for root").fix[0].to_string(),
            "echo 'root:1000000:65536' >> /etc/subuid"
        );
        let chroot: Vec<String> = by("chroot unstable-riscv64")
            .fix
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            chroot,
            [
                "mkdir -p /root/.cache/sbuild",
                "mmdebstrap --variant=buildd --mode=unshare --format=tar --architectures=riscv64 '--aptopt=Acquire::Check-Valid-Until \"false\"' unstable /root/.cache/sbuild/.unstable-riscv64.tar.new http://deb.debian.org/debian",
                "mv /root/.cache/sbuild/.unstable-riscv64.tar.new /root/.cache/sbuild/unstable-riscv64.tar",
            ]
        );
        assert!(
            by("chroot unstable-riscv64")
                .detail
                .contains("30.0 days old")
        );
    }

    #[test]
    fn a_missing_warm_tarball_is_made_from_the_plain_one() {
        let mut f = healthy();
        f.warm.remove(&arch("riscv64"));
        let checks = evaluate(&opts(), &f);
        assert_eq!(failing(&checks), ["warm chroot unstable-riscv64"]);
        let fix: Vec<String> = checks
            .iter()
            .find(|c| !c.ok)
            .unwrap()
            .fix
            .iter()
            .map(|a| a.to_string())
            .collect();
        let dir = "/root/.cache/sbuild";
        assert_eq!(fix.len(), 3, "{fix:?}");
        for part in [
            "mmdebstrap --variant=custom --mode=unshare --format=tar --architectures=riscv64",
            "--skip=update,setup,cleanup/apt/lists,cleanup/apt/cache",
            "-xf /root/.cache/sbuild/unstable-riscv64.tar",
            "apt-get install -y --no-install-recommends debhelper ccache",
            "unstable /root/.cache/sbuild/.unstable-riscv64-warm.tar.new",
        ] {
            assert!(fix[0].contains(part), "{part}: {}", fix[0]);
        }
        assert_eq!(
            fix[1],
            format!("mv {dir}/.unstable-riscv64-warm.tar.new {dir}/unstable-riscv64-warm.tar")
        );
        assert!(
            fix[2].contains(".unstable-riscv64-warm.packages"),
            "{}",
            fix[2]
        );
    }

    #[test]
    fn a_cross_tarball_a_run_made_is_remade_after_the_warm_one_it_extends() {
        let mut f = healthy();
        // None made by a run: no check.
        assert!(
            evaluate(&opts(), &f)
                .iter()
                .all(|c| !c.name.starts_with("cross"))
        );
        f.cross.insert(arch("riscv64"), true);
        let checks = evaluate(&opts(), &f);
        assert!(failing(&checks).is_empty(), "{:?}", failing(&checks));
        f.cross.insert(arch("riscv64"), false);
        let checks = evaluate(&opts(), &f);
        assert_eq!(
            failing(&checks),
            ["cross chroot unstable-amd64-cross-riscv64"]
        );
        let fix: Vec<String> = (checks.iter().find(|c| !c.ok).unwrap().fix.iter())
            .map(|a| a.to_string())
            .collect();
        for part in [
            "-xf /root/.cache/sbuild/unstable-amd64-warm.tar",
            "dpkg --add-architecture riscv64",
            "apt-get satisfy -y --no-install-recommends",
            "crossbuild-essential-riscv64, libc-dev:riscv64, libstdc++-dev:riscv64",
            "unstable /root/.cache/sbuild/.unstable-amd64-cross-riscv64.tar.new",
        ] {
            assert!(fix[0].contains(part), "{part}: {}", fix[0]);
        }
        assert!(
            fix[1].ends_with("/unstable-amd64-cross-riscv64.tar"),
            "{}",
            fix[1]
        );
        // A warm tarball remade in the same setup makes it stale.
        f.cross.insert(arch("riscv64"), true);
        f.warm.remove(&arch("amd64"));
        assert_eq!(
            failing(&evaluate(&opts(), &f)),
            [
                "warm chroot unstable-amd64",
                "cross chroot unstable-amd64-cross-riscv64"
            ]
        );
    }

    #[test]
    fn a_missing_testbed_is_bootstrapped_as_autopkgtest_would_with_what_it_installs() {
        let mut f = healthy();
        f.testbed.remove(&arch("riscv64"));
        let checks = evaluate(&opts(), &f);
        assert_eq!(failing(&checks), ["testbed unstable-riscv64"]);
        let check = checks.iter().find(|c| !c.ok).unwrap();
        let fix: Vec<String> = check.fix.iter().map(|a| a.to_string()).collect();
        let dir = "/root/.cache/sbuild";
        assert_eq!(
            fix,
            [
                format!("mkdir -p {dir}"),
                format!(
                    "mmdebstrap --variant=apt --include=apt-utils,dpkg-dev --mode=unshare --format=tar \
                     --architectures=riscv64 '--aptopt=Acquire::Check-Valid-Until \"false\"' \
                     '--aptopt=Acquire::Languages \"none\"' --skip=cleanup/apt/lists,cleanup/apt/cache \
                     '--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb' \
                     unstable {dir}/.unstable-riscv64-testbed.tar.new http://deb.debian.org/debian"
                ),
                format!(
                    "mv {dir}/.unstable-riscv64-testbed.tar.new {dir}/unstable-riscv64-testbed.tar"
                ),
            ]
        );
    }

    #[test]
    fn a_tarball_made_beside_the_plain_one_is_current_when_made_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let riscv64 = arch("riscv64");
        let plain = crate::sbuild::chroot_tarball(dir.path(), "unstable", &riscv64);
        let testbed = crate::autopkgtest::testbed_tarball(dir.path(), "unstable", &riscv64);
        let at = |p: &Path, secs: u64| {
            std::fs::write(p, "tar").unwrap();
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        assert!(!testbed_is_current(dir.path(), "unstable", &riscv64));
        at(&plain, 2_000_000_000);
        at(&testbed, 2_000_000_100);
        assert!(testbed_is_current(dir.path(), "unstable", &riscv64));
        // `cascade setup` remade the plain tarball: its lists are newer.
        at(&plain, 2_000_000_200);
        assert!(!testbed_is_current(dir.path(), "unstable", &riscv64));
        // Without a plain tarball there is nothing to be older than.
        std::fs::remove_file(&plain).unwrap();
        assert!(testbed_is_current(dir.path(), "unstable", &riscv64));
    }

    #[test]
    fn a_warm_tarball_holds_what_runs_wanted_and_falls_back_to_the_base_list() {
        let mut f = healthy();
        f.warm.remove(&arch("riscv64"));
        let wanted = crate::sbuild::warm_list(["cmake", "pkgconf"]);
        f.warm_packages.insert(arch("riscv64"), wanted);
        let checks = evaluate(&opts(), &f);
        let check = checks.iter().find(|c| !c.ok).unwrap();
        assert!(
            check
                .detail
                .ends_with("without debhelper, ccache, cmake, pkgconf")
        );
        let fix: Vec<String> = check.fix.iter().map(|a| a.to_string()).collect();
        let get = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends";
        let install =
            format!("{{ {get} debhelper ccache cmake pkgconf || {get} debhelper ccache; }}");
        assert!(fix[0].contains(&install), "{}", fix[0]);
        assert!(
            fix[2].contains("debhelper ccache cmake pkgconf"),
            "{}",
            fix[2]
        );
    }

    #[test]
    fn binfmt_without_fix_binary_flag_is_not_enough() {
        let mut f = healthy();
        f.binfmt.insert(
            "qemu-riscv64".into(),
            Binfmt {
                enabled: true,
                flags: "P".into(),
            },
        );
        assert_eq!(failing(&evaluate(&opts(), &f)), ["qemu binfmt for riscv64"]);
    }

    #[test]
    fn native_only_needs_no_binfmt() {
        let mut o = opts();
        o.archs = vec![arch("amd64")];
        let mut f = healthy();
        f.binfmt_mounted = false;
        let names: Vec<String> = evaluate(&o, &f).into_iter().map(|c| c.name).collect();
        assert!(!names.iter().any(|n| n.contains("binfmt")), "{names:?}");
    }

    #[test]
    fn subid_lines_avoid_existing_ranges() {
        assert_eq!(subid_line("root", ""), "root:1000000:65536");
        assert_eq!(
            subid_line("bob", "alice:100000:65536\n"),
            "bob:165536:65536"
        );
        assert_eq!(subid_line("bob", ""), "bob:100000:65536");
        assert_eq!(
            subid_line("root", "x:1000000:65536\n"),
            "root:1065536:65536"
        );
    }

    #[test]
    fn parsers() {
        assert_eq!(
            apt_source_suites(
                "deb [signed-by=/k.gpg] http://deb.debian.org/debian bookworm main\n# deb http://x sid main\nTypes: deb\nSuites: bookworm-backports bookworm-updates\n"
            ),
            ["bookworm", "bookworm-backports", "bookworm-updates"]
        );
        assert_eq!(
            parse_dpkg_query("sbuild 0.89 installed\nuidmap 1:4.13 config-files\n"),
            [("sbuild".to_string(), "0.89".to_string())].into()
        );
        assert_eq!(
            parse_binfmt(
                "enabled\ninterpreter /usr/libexec/qemu-binfmt/riscv64-binfmt-P\nflags: PF\n"
            ),
            Binfmt {
                enabled: true,
                flags: "PF".into()
            }
        );
    }
}
