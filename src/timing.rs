//! Where a build's time went, read from its sbuild log (pure).
//!
//! sbuild stamps every section header with the time it started
//! (`| Update chroot                 Mon, 30 Nov 2026 13:20:03 +0000 |`);
//! a section lasts until the next header. The sections are folded into the
//! phases of an sbuild call that a faster path can cut: chroot unpack and
//! setup, apt update, source fetch, build-dependency install, the build
//! itself, packaging (.changes, .buildinfo, contents) and cleanup (removing
//! the unpacked chroot). The summary's own `Build-Time`, `Install-Time` and
//! `Package-Time` come along. Resolution is sbuild's: one second.

use serde::{Deserialize, Serialize};

/// What a build reports about its own cost: the phases of its sbuild log
/// and, with ccache on, ccache's counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Phases>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccache: Option<crate::buildcache::CcacheStats>,
}

impl BuildStats {
    pub fn is_empty(&self) -> bool {
        self.phases.is_none() && self.ccache.is_none()
    }
}

/// Seconds per phase of one sbuild call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    /// From sbuild's first header to `Update chroot`: tarball unpack,
    /// session and apt archive setup.
    pub setup: u64,
    pub apt_update: u64,
    pub fetch: u64,
    pub install_deps: u64,
    /// Architecture check, build environment and dpkg-buildpackage.
    pub build: u64,
    /// .changes, .buildinfo and the package contents listing.
    pub package: u64,
    /// Post-build hooks, build-dependency purge, chroot removal.
    pub cleanup: u64,
    /// Sections this table does not know (lintian, hooks of newer sbuilds).
    pub other: u64,
    /// First header to the summary.
    pub total: u64,
    /// The summary's `Build-Time:`, `Install-Time:`, `Package-Time:`.
    pub sbuild_build_time: Option<u64>,
    pub sbuild_install_time: Option<u64>,
    pub sbuild_package_time: Option<u64>,
}

/// The phase a section header's title belongs to (not the first header,
/// the package's own `| demo-cmake 7.2.4-1 (amd64) … |`: that is setup).
fn phase_of(title: &str) -> fn(&mut Phases) -> &mut u64 {
    match title {
        "Chroot Setup Commands" => |p| &mut p.setup,
        "Update chroot" => |p| &mut p.apt_update,
        "Fetch source files" => |p| &mut p.fetch,
        "Install package build dependencies" | "Install extra packages" => |p| &mut p.install_deps,
        "Check architectures"
        | "Build environment"
        | "Build"
        | "Starting Build Commands"
        | "Finished Build Commands" => |p| &mut p.build,
        "Changes" | "Buildinfo" | "Package contents" => |p| &mut p.package,
        "Post Build"
        | "Post Build Chroot"
        | "Cleanup"
        | "Chroot Cleanup Commands"
        | "Post Build Commands" => |p| &mut p.cleanup,
        _ => |p| &mut p.other,
    }
}

/// One header: its title and the time it was written (seconds since the epoch).
fn header(line: &str) -> Option<(&str, u64)> {
    let inner = line
        .strip_prefix("| ")?
        .trim_end()
        .strip_suffix('|')?
        .trim_end();
    // The date is right-aligned after at least two spaces.
    let (title, date) = inner.rsplit_once("  ")?;
    Some((title.trim(), parse_date(date.trim())?))
}

/// `Mon, 30 Nov 2026 13:20:03 +0000` (RFC 2822, any offset).
fn parse_date(s: &str) -> Option<u64> {
    let (rest, offset) = s.rsplit_once(' ')?;
    let sign: i64 = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh: i64 = offset.get(1..3)?.parse().ok()?;
    let mm: i64 = offset.get(3..5)?.parse().ok()?;
    let utc_like = httpdate::parse_http_date(&format!("{rest} GMT")).ok()?;
    let secs = utc_like
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    u64::try_from(secs - sign * (hh * 3600 + mm * 60)).ok()
}

/// The phases of a finished sbuild log; `None` when it has no summary
/// (sbuild was killed) or no dated headers.
pub fn phases(log: &str) -> Option<Phases> {
    let heads: Vec<(&str, u64)> = log.lines().filter_map(header).collect();
    let (_, start) = *heads.first()?;
    let (last, end) = *heads.last()?;
    if last != "Summary" {
        return None;
    }
    let mut p = Phases::default();
    let mut prev: Option<(&str, u64)> = None;
    for (i, &(title, at)) in heads.iter().enumerate() {
        let secs = prev.map_or(0, |(_, t)| at.saturating_sub(t));
        match prev {
            Some((t, _)) if i > 1 => *phase_of(t)(&mut p) += secs,
            Some(_) => p.setup += secs,
            None => {}
        }
        prev = Some((title, at));
    }
    p.total = end.saturating_sub(start);
    let summary = summary_fields(log);
    p.sbuild_build_time = summary("Build-Time");
    p.sbuild_install_time = summary("Install-Time");
    p.sbuild_package_time = summary("Package-Time");
    Some(p)
}

/// A numeric `Key: N` field of the summary at the end of the log.
fn summary_fields(log: &str) -> impl Fn(&str) -> Option<u64> + '_ {
    let tail = &log[log.rfind("| Summary").unwrap_or(0)..];
    move |key| {
        tail.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// The phases of several builds added up (their summary fields left out).
pub fn sum<'a>(all: impl IntoIterator<Item = &'a Phases>) -> Phases {
    let mut t = Phases::default();
    for p in all {
        t.setup += p.setup;
        t.apt_update += p.apt_update;
        t.fetch += p.fetch;
        t.install_deps += p.install_deps;
        t.build += p.build;
        t.package += p.package;
        t.cleanup += p.cleanup;
        t.other += p.other;
        t.total += p.total;
    }
    t
}

/// `setup 10 s, apt update 4 s, …`: the phases that took time, in order.
pub fn describe(p: &Phases) -> String {
    let parts = [
        ("setup", p.setup),
        ("apt update", p.apt_update),
        ("fetch", p.fetch),
        ("build-deps", p.install_deps),
        ("build", p.build),
        ("package", p.package),
        ("cleanup", p.cleanup),
        ("other", p.other),
    ];
    parts
        .iter()
        .filter(|(_, s)| *s > 0)
        .map(|(n, s)| format!("{n} {s} s"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/buildlogs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn a_real_arch_all_build() {
        // Headers at 03:06:34 (start), :44 update, :48 fetch, :49 deps,
        // 07:07 arch check, :08 env, :08 build, :14 changes, :15 buildinfo,
        // :15 contents, :16 post build, :16 cleanup, :50 summary.
        let p = phases(&fixture("real-ok-arch-all.build")).unwrap();
        assert_eq!(
            p,
            Phases {
                setup: 10,
                apt_update: 4,
                fetch: 1,
                install_deps: 18,
                build: 7,
                package: 2,
                cleanup: 34,
                other: 0,
                total: 76,
                sbuild_build_time: Some(3),
                sbuild_install_time: Some(18),
                sbuild_package_time: Some(39),
            }
        );
        assert_eq!(
            describe(&p),
            "setup 10 s, apt update 4 s, fetch 1 s, build-deps 18 s, build 7 s, package 2 s, cleanup 34 s"
        );
    }

    #[test]
    fn a_faster_path_build_counts_its_setup_hook_as_setup() {
        // sbuild's "Chroot Setup Commands" section also holds the setup of
        // its archive of extra packages (demo-cmake here).
        let p = phases(&fixture("real-ok-faster-path.build")).unwrap();
        assert_eq!(
            (p.setup, p.apt_update, p.fetch, p.install_deps),
            (82, 6, 6, 86)
        );
        assert_eq!((p.build, p.package, p.cleanup, p.other), (35, 10, 43, 0));
        assert_eq!(p.total, 268);
        assert_eq!(p.sbuild_install_time, Some(86));
    }

    #[test]
    fn phases_add_up() {
        let a = phases(&fixture("real-ok-arch-all.build")).unwrap();
        let b = phases(&fixture("real-bdfail.build")).unwrap();
        let t = sum([&a, &b]);
        assert_eq!(
            (t.setup, t.install_deps, t.cleanup, t.total),
            (21, 27, 39, 107)
        );
        assert_eq!(t.sbuild_build_time, None);
    }

    #[test]
    fn a_build_that_stopped_at_its_dependencies() {
        let p = phases(&fixture("real-bdfail.build")).unwrap();
        assert_eq!((p.setup, p.apt_update, p.fetch), (11, 4, 2));
        assert_eq!((p.install_deps, p.build, p.package), (9, 0, 0));
        assert_eq!((p.cleanup, p.total), (5, 31));
    }

    #[test]
    fn no_summary_no_phases() {
        assert_eq!(phases(&fixture("truncated.build")), None);
        assert_eq!(phases("E: sbuild died early\n"), None);
    }

    #[test]
    fn dates_with_offsets() {
        let utc = parse_date("Mon, 30 Nov 2026 13:20:03 +0000").unwrap();
        assert_eq!(parse_date("Mon, 30 Nov 2026 14:20:03 +0100"), Some(utc));
        assert_eq!(parse_date("Mon, 30 Nov 2026 08:20:03 -0500"), Some(utc));
        assert_eq!(parse_date("Mon, 30 Nov 2026 13:20:03"), None);
        assert_eq!(
            header(
                "| Update chroot                                Mon, 30 Nov 2026 13:20:03 +0000 |"
            ),
            Some(("Update chroot", utc))
        );
    }
}
