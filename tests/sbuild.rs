//! Real sbuild builds of the demo stack through the library's builder:
//! demo-cmake (arch:all), then demo-runtime for amd64 against the .debs just
//! built, checked with dpkg-deb, in sbuild's unshare mode (the library's
//! default; as root `cascade` picks schroot chroots) with the package pool
//! and ccache: demo-cmake from the plain tarball, demo-runtime from the
//! warm one. (The rest of the stack and riscv64: the shared demo run of
//! tests/run.rs, which checks demo-blas's shlibs against the fresh
//! demo-runtime on both arches.)
//!
//! Needs sbuild, dpkg-source, git and the chroot tarballs that `cascade setup
//! --arch amd64,riscv64` makes. Without them the test is skipped with a
//! reason, or fails when CI=true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cascade::arch::Arch;
use cascade::events::Outcome;
use cascade::recipe::BuildMode;
use cascade::runner::{BuildOutput, BuildRequest, Builder};
use cascade::sbuild::{CcacheConfig, FastPath, SbuildBuilder, SbuildConfig};

mod common;
use common::{
    DEMO_PACKAGED_VERSION as VERSION, field, missing_prerequisite, source_package,
    source_package_with, unavailable,
};

/// What these builds need besides sbuild.
const TOOLS: &[&str] = &["dpkg-source", "git", "xz", "dpkg-deb"];

fn request(
    work: &Path,
    dsc: &Path,
    source: &str,
    arch: &str,
    mode: BuildMode,
    extra: Vec<PathBuf>,
) -> BuildRequest {
    BuildRequest {
        source: source.into(),
        version: VERSION.into(),
        arch: Arch::new(arch).unwrap(),
        mode,
        dsc: dsc.to_owned(),
        extra_debs: extra,
        out_dir: work.join("out").join(arch),
        log: work
            .join("logs")
            .join(format!("{source}_{VERSION}_{arch}.build")),
        timeout: Some(Duration::from_secs(15 * 60)),
        profiles: vec![],
        arch_all: source == "demo-cmake",
        binnmu: None,
        env: BTreeMap::new(),
    }
}

fn assert_ok(out: &BuildOutput, req: &BuildRequest) {
    assert_eq!(
        out.outcome,
        Outcome::Ok,
        "{} on {} failed; log {}:\n{}",
        req.source,
        req.arch,
        req.log.display(),
        cascade::process::tail(&std::fs::read_to_string(&req.log).unwrap_or_default(), 40)
    );
    assert!(!out.debs.is_empty(), "{}: no .debs", req.source);
    for d in &out.debs {
        assert!(d.exists(), "{} listed in .changes but missing", d.display());
    }
    // Where the time went, read from the log: every phase sbuild went through.
    let stats = out.stats.as_ref().expect("a finished build has stats");
    let p = stats
        .phases
        .as_ref()
        .expect("phases from the log's headers");
    assert!(p.setup > 0 && p.install_deps > 0 && p.total > 0, "{p:?}");
    assert!(
        p.setup
            + p.apt_update
            + p.fetch
            + p.install_deps
            + p.build
            + p.package
            + p.cleanup
            + p.other
            == p.total,
        "{p:?}"
    );
    // The faster path's ccache ran (under qemu too); its stats log was read.
    assert!(stats.ccache.is_some(), "{}: no ccache stats", req.source);
}

fn deb<'a>(out: &'a BuildOutput, prefix: &str) -> &'a Path {
    out.debs
        .iter()
        .find(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no {prefix}* among {:?}", out.debs))
}

/// The build of `req` unpacked the chroot tarball named `tarball`
/// (sbuild's unshare mode says which in the log).
fn assert_unpacked(req: &BuildRequest, tarball: &str) {
    let log = std::fs::read_to_string(&req.log).unwrap();
    let unpacked = (log.lines()).find_map(|l| l.strip_prefix("I: Unpacking "));
    let from = unpacked.and_then(|l| l.split(" to ").next()).unwrap_or("");
    assert!(
        from.ends_with(&format!("/{tarball}")),
        "{}: {from}",
        req.source
    );
}

/// demo-runtime for one arch, against demo-cmake's .debs just built (it
/// build-depends on demo-cmake, which no archive has).
async fn runtime_against(
    builder: &SbuildBuilder,
    work: &Path,
    dsc: &Path,
    arch: &str,
    mode: BuildMode,
    cmake_debs: Vec<PathBuf>,
) {
    let rt_req = request(work, dsc, "demo-runtime", arch, mode, cmake_debs);
    let rt = builder.build(rt_req.clone()).await;
    assert_ok(&rt, &rt_req);
    assert_unpacked(&rt_req, &format!("unstable-{arch}-warm.tar"));
    // demo-runtime's `cc` calls went through ccache (/usr/lib/ccache first
    // in PATH). Each compiles and links in one call, which ccache counts
    // but cannot cache.
    let cc = rt.stats.as_ref().and_then(|s| s.ccache.clone()).unwrap();
    assert!(
        cc.misses + cc.hits + cc.uncacheable >= 2,
        "{arch}: ccache saw no compiler call: {cc:?}"
    );
    let lib = deb(&rt, "libdemoruntime1_");
    assert_eq!(field(lib, "Version"), VERSION);
    assert_eq!(field(lib, "Architecture"), arch);
    // Only this build's .debs, not demo-cmake's sitting in the same out dir.
    assert!(rt.debs.iter().all(|d| {
        let n = d.file_name().unwrap().to_string_lossy().into_owned();
        n.starts_with("libdemoruntime") || n.starts_with("demo-runtime")
    }));
}

#[test]
#[ignore = "needs sbuild"]
fn demo_runtime_builds_against_demo_cmake_with_the_pool_in_unshare_mode() {
    let cfg = SbuildConfig::new("unstable");
    if Arch::host().as_str() != "amd64" {
        return unavailable("this test expects an amd64 build machine");
    }
    if let Some(reason) = missing_prerequisite(TOOLS, &["amd64"]) {
        return unavailable(&reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let stack = cascade::demo::init(&work.join("demo")).unwrap();
    let src = work.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let dscs: BTreeMap<&str, PathBuf> = ["demo-cmake", "demo-runtime"]
        .into_iter()
        .map(|p| (p, source_package(&stack, p, &src)))
        .collect();

    // The faster path, with caches of this test's own: sbuild's unshared
    // build user must reach them (a temp dir is 0700).
    let caches = work.join("caches");
    std::fs::create_dir_all(&caches).unwrap();
    for dir in [work, caches.as_path()] {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let pool = cascade::buildcache::apt_pool(&caches);
    let builder = |warm: &[&str]| {
        SbuildBuilder::new(SbuildConfig {
            grace: Duration::from_secs(30),
            tmp_root: Some(caches.join("tmp")),
            fast: Some(FastPath {
                apt_pool: pool.clone(),
                ccache: Some(CcacheConfig {
                    root: caches.join("ccache"),
                    max_size: "1G".into(),
                }),
                warm: warm.iter().map(|a| Arch::new(a).unwrap()).collect(),
                cross: Default::default(),
            }),
            ..cfg.clone()
        })
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The arch:all helper from the plain tarball: every
        // build-dependency is downloaded, so the pool has something to keep
        // (the warm tarball holds debhelper).
        let cmake_req = request(
            work,
            &dscs["demo-cmake"],
            "demo-cmake",
            "amd64",
            BuildMode::Native,
            vec![],
        );
        let cmake = builder(&[]).build(cmake_req.clone()).await;
        assert_ok(&cmake, &cmake_req);
        let all = deb(&cmake, "demo-cmake_");
        assert_eq!(field(all, "Architecture"), "all");
        assert_unpacked(&cmake_req, "unstable-amd64.tar");

        // demo-runtime against its .deb, from the warm tarball (the shared
        // demo run builds from it too, in schroot chroots as root).
        runtime_against(
            &builder(&["amd64"]),
            work,
            &dscs["demo-runtime"],
            "amd64",
            BuildMode::Native,
            cmake.debs.clone(),
        )
        .await;
    });
    // What apt downloaded is in the pool for the next build; the stack's
    // own .debs (fed through --extra-package) and sbuild's dummy are not.
    let pooled: Vec<String> = std::fs::read_dir(&pool)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        pooled.iter().any(|n| n.starts_with("debhelper_")),
        "{pooled:?}"
    );
    assert!(
        !pooled.iter().any(|n| n.starts_with("demo-cmake_")
            || n.starts_with("libdemo")
            || n.starts_with("sbuild-")),
        "{pooled:?}"
    );
}

/// sbuild's unshare mode unpacks the chroot to /tmp/tmp.sbuild.*; a killed
/// build must not leave its own one behind. Only the session named in this
/// build's log counts: other builds (tests run in parallel) have theirs.
fn session_of(log: &str) -> Option<PathBuf> {
    log.lines()
        .find_map(|l| l.strip_prefix("I: Unpacking ")?.split(" to ").nth(1))
        .map(|p| PathBuf::from(p.trim_end_matches("...")))
}

#[test]
#[ignore = "needs sbuild"]
fn a_timed_out_build_leaves_no_session_behind() {
    let cfg = SbuildConfig::new("unstable");
    if let Some(reason) = missing_prerequisite(TOOLS, &[Arch::host().as_str()]) {
        return unavailable(&reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let stack = cascade::demo::init(&work.join("demo")).unwrap();
    let src = work.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let dsc = source_package(&stack, "demo-smi", &src);
    let mut req = request(
        work,
        &dsc,
        "demo-smi",
        Arch::host().as_str(),
        BuildMode::Native,
        vec![],
    );
    // Long enough for sbuild to unpack its chroot, far too short to finish.
    req.timeout = Some(Duration::from_secs(12));
    // As `cascade build` does: the build's own TMPDIR, removed after it.
    // sbuild stopped while it sets the chroot up leaves its session behind
    // (sbuild 0.89.3: "Error creating chroot session"), so this is the
    // only thing that makes the session go.
    let tmp_root = cascade::sbuild::tmp_root(&std::env::temp_dir(), work);
    cascade::sbuild::clear_tmp_root(&tmp_root).unwrap();
    let builder = SbuildBuilder::new(SbuildConfig {
        grace: Duration::from_secs(60),
        tmp_root: Some(tmp_root.clone()),
        ..cfg
    });
    let out = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(builder.build(req.clone()));
    assert_eq!(out.outcome, Outcome::Timeout);
    assert!(out.debs.is_empty());
    let log = std::fs::read_to_string(&req.log).unwrap();
    assert!(log.contains("Unpacking"), "sbuild had started:\n{log}");
    let session = session_of(&log).expect("the log names the chroot session");
    assert!(session.starts_with(&tmp_root), "{}", session.display());
    assert!(
        !session.exists(),
        "left behind: {}\n{log}",
        session.display()
    );
    let _ = std::fs::remove_dir_all(&tmp_root);
}

/// What a porting run would do to an Architecture list (test-only stand-in).
fn widen_to_riscv64(tree: &Path) {
    let control = tree.join("debian/control");
    let text = std::fs::read_to_string(&control).unwrap();
    std::fs::write(
        &control,
        text.replace("amd64 arm64 ppc64el", "amd64 arm64 ppc64el riscv64"),
    )
    .unwrap();
}

/// The whole demo stack on both architectures, and the porting variants of
/// the two packages that leave riscv64 out. About 15 minutes; run with
/// `cargo test --test sbuild -- --ignored`.
#[test]
#[ignore]
fn the_whole_demo_stack_shows_each_story() {
    let cfg = SbuildConfig::new("unstable");
    if let Some(reason) = missing_prerequisite(TOOLS, &["amd64", "riscv64"]) {
        return unavailable(&reason);
    }
    // Kept for inspection: the logs are the point of this test.
    let kept = tempfile::tempdir().unwrap().keep();
    eprintln!("work dir: {}", kept.display());
    let work = kept.as_path();
    let stack = cascade::demo::init(&work.join("demo")).unwrap();
    let src = work.join("src");
    let ported = work.join("ported");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&ported).unwrap();
    let dscs: BTreeMap<&str, PathBuf> = cascade::demo::PACKAGES
        .iter()
        .map(|p| (*p, source_package(&stack, p, &src)))
        .collect();
    let port: BTreeMap<&str, PathBuf> = ["demo-smi", "demo-kernels"]
        .into_iter()
        .map(|p| (p, source_package_with(&stack, p, &ported, widen_to_riscv64)))
        .collect();
    let builder = SbuildBuilder::new(cfg);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let class = |o: &BuildOutput| o.outcome.class().to_string();
    rt.block_on(async {
        let cmake_req = request(
            work,
            &dscs["demo-cmake"],
            "demo-cmake",
            "amd64",
            BuildMode::Native,
            vec![],
        );
        let cmake = builder.build(cmake_req.clone()).await;
        assert_ok(&cmake, &cmake_req);
        let run_arch = |arch: &'static str, mode: BuildMode| {
            let builder = &builder;
            let dscs = &dscs;
            let port = &port;
            let cmake_debs = cmake.debs.clone();
            async move {
                let mut extra = cmake_debs;
                let mut got: BTreeMap<String, String> = BTreeMap::new();
                for pkg in &cascade::demo::PACKAGES[1..] {
                    let req = request(work, &dscs[pkg], pkg, arch, mode, extra.clone());
                    let out = builder.build(req.clone()).await;
                    eprintln!("{pkg} {arch}: {:?} in {:?}", out.outcome, out.duration);
                    extra.extend(out.debs.iter().cloned());
                    got.insert(pkg.to_string(), class(&out));
                }
                if arch == "riscv64" {
                    for (pkg, dsc) in port {
                        let mut req = request(work, dsc, pkg, arch, mode, extra.clone());
                        req.out_dir = work.join("out-port").join(arch);
                        req.log = work.join("logs").join(format!("{pkg}_port_{arch}.build"));
                        let out = builder.build(req).await;
                        eprintln!("{pkg} {arch} (ported): {:?}", out.outcome);
                        got.insert(format!("{pkg} (ported)"), class(&out));
                    }
                }
                got
            }
        };
        let (amd64, riscv64) = tokio::join!(
            run_arch("amd64", BuildMode::Native),
            run_arch("riscv64", BuildMode::Qemu)
        );
        let all_ok: BTreeMap<String, String> = cascade::demo::PACKAGES[1..]
            .iter()
            .map(|p| (p.to_string(), "ok".to_string()))
            .collect();
        assert_eq!(amd64, all_ok);
        let expected: BTreeMap<String, String> = [
            ("demo-runtime", "ok"),
            ("demo-blas", "ok"),
            ("demo-smi", "excluded"),
            ("demo-solver", "test-failed"),
            ("demo-kernels", "excluded"),
            ("demo-apps", "build-dep-unsatisfiable"),
            ("demo-smi (ported)", "ok"),
            ("demo-kernels (ported)", "failed"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(riscv64, expected);
    });
}
