//! Real sbuild builds of the demo stack: demo-cmake (arch:all), then
//! demo-runtime and demo-blas for amd64 (native) and riscv64 (qemu), each
//! against the .debs just built, checked with dpkg-deb.
//!
//! Needs sbuild, dpkg-source, git and the chroot tarballs that `cascade setup
//! --arch amd64,riscv64` makes. Without them the test is skipped with a
//! reason, or fails when CI=true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cascade::arch::Arch;
use cascade::events::Outcome;
use cascade::process::Cmd;
use cascade::recipe::BuildMode;
use cascade::runner::{BuildOutput, BuildRequest, Builder};
use cascade::sbuild::{SbuildBuilder, SbuildConfig};

const VERSION: &str = "7.1.0-1~exp1";

/// Skips (prints why) or, under CI=true, fails.
fn unavailable(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("prerequisite missing (CI=true makes this a failure): {reason}");
    }
    eprintln!("skipped: {reason}");
}

fn missing_prerequisite(cfg: &SbuildConfig, archs: &[&str]) -> Option<String> {
    for tool in ["sbuild", "dpkg-source", "git", "dpkg-deb"] {
        if Cmd::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .run()
            .is_err()
        {
            return Some(format!("`{tool}` is not installed (run `cascade setup`)"));
        }
    }
    for a in archs {
        let t = cfg.chroot_for(&Arch::new(a).unwrap(), BuildMode::Native);
        if !t.exists() {
            return Some(format!(
                "chroot tarball {} is missing (run `cascade setup --arch amd64,riscv64`)",
                t.display()
            ));
        }
    }
    None
}

/// The source package of `pkg` at its current packaged version: orig tarball
/// from upstream's `rocm-7.1.0` tag, `debian/` from the packaging branch.
/// (Test-only; the bump step makes the real ones.)
fn source_package(stack: &cascade::demo::DemoStack, pkg: &str, dir: &Path) -> PathBuf {
    let p = stack.packages.iter().find(|p| p.source == pkg).unwrap();
    let tree = dir.join(format!("{pkg}-7.1.0"));
    Cmd::new("git")
        .args(["clone", "-q", "-b", "debian/experimental"])
        .arg(&p.packaging)
        .arg(&tree)
        .run()
        .unwrap();
    std::fs::remove_dir_all(tree.join(".git")).unwrap();
    let orig = dir.join(format!("{pkg}_7.1.0.orig.tar"));
    Cmd::new("git")
        .arg("-C")
        .arg(&p.upstream)
        .args(["archive", "--format=tar"])
        .arg(format!("--prefix={pkg}-7.1.0/"))
        .arg("-o")
        .arg(&orig)
        .arg("rocm-7.1.0")
        .run()
        .unwrap();
    Cmd::new("xz").arg(&orig).run().unwrap();
    Cmd::new("dpkg-source")
        .arg("-b")
        .arg(format!("{pkg}-7.1.0"))
        .cwd(dir)
        .run()
        .unwrap();
    dir.join(format!("{pkg}_{VERSION}.dsc"))
}

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

fn field(deb: &Path, name: &str) -> String {
    Cmd::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(name)
        .run()
        .unwrap()
        .stdout
        .trim()
        .to_string()
}

/// runtime then blas for one arch, blas against the runtime just built.
async fn chain(
    builder: &SbuildBuilder,
    work: &Path,
    dscs: &BTreeMap<&str, PathBuf>,
    arch: &str,
    mode: BuildMode,
    cmake_debs: Vec<PathBuf>,
) {
    let rt_req = request(
        work,
        &dscs["demo-runtime"],
        "demo-runtime",
        arch,
        mode,
        cmake_debs.clone(),
    );
    let rt = builder.build(rt_req.clone()).await;
    assert_ok(&rt, &rt_req);
    let lib = deb(&rt, "libdemoruntime1_");
    assert_eq!(field(lib, "Version"), VERSION);
    assert_eq!(field(lib, "Architecture"), arch);

    let mut extra = cmake_debs;
    extra.extend(rt.debs.iter().cloned());
    let blas_req = request(work, &dscs["demo-blas"], "demo-blas", arch, mode, extra);
    let blas = builder.build(blas_req.clone()).await;
    assert_ok(&blas, &blas_req);
    let lib = deb(&blas, "libdemoblas1_");
    assert_eq!(field(lib, "Version"), VERSION);
    // Built against the fresh runtime: its shlibs name its upstream version.
    let depends = field(lib, "Depends");
    assert!(
        depends.contains("libdemoruntime1 (>= 7.1.0)"),
        "libdemoblas1 on {arch}: Depends: {depends}"
    );
    // Only this build's .debs, not the runtime's sitting in the same out dir.
    assert!(blas.debs.iter().all(|d| {
        let n = d.file_name().unwrap().to_string_lossy().into_owned();
        n.starts_with("libdemoblas")
    }));
}

#[test]
fn demo_runtime_and_blas_build_in_order_on_amd64_and_riscv64() {
    let cfg = SbuildConfig::new("unstable");
    if Arch::host().as_str() != "amd64" {
        return unavailable("this test expects an amd64 build machine");
    }
    if let Some(reason) = missing_prerequisite(&cfg, &["amd64", "riscv64"]) {
        return unavailable(&reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let stack = cascade::demo::init(&work.join("demo")).unwrap();
    let src = work.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let dscs: BTreeMap<&str, PathBuf> = ["demo-cmake", "demo-runtime", "demo-blas"]
        .into_iter()
        .map(|p| (p, source_package(&stack, p, &src)))
        .collect();

    let builder = SbuildBuilder::new(SbuildConfig {
        grace: Duration::from_secs(30),
        ..cfg
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The arch:all helper is built once and fed to both architectures.
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
        let all = deb(&cmake, "demo-cmake_");
        assert_eq!(field(all, "Architecture"), "all");

        tokio::join!(
            chain(
                &builder,
                work,
                &dscs,
                "amd64",
                BuildMode::Native,
                cmake.debs.clone()
            ),
            chain(
                &builder,
                work,
                &dscs,
                "riscv64",
                BuildMode::Qemu,
                cmake.debs.clone()
            ),
        );
    });
}

/// sbuild's unshare mode unpacks the chroot to /tmp/tmp.sbuild.*; a killed
/// build must not leave one behind, nor any process of its group.
fn sbuild_sessions() -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("tmp.sbuild."))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_timed_out_build_leaves_no_session_behind() {
    let cfg = SbuildConfig::new("unstable");
    if let Some(reason) = missing_prerequisite(&cfg, &[Arch::host().as_str()]) {
        return unavailable(&reason);
    }
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let stack = cascade::demo::init(&work.join("demo")).unwrap();
    let src = work.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let dsc = source_package(&stack, "demo-smi", &src);
    let before = sbuild_sessions();
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
    let builder = SbuildBuilder::new(SbuildConfig {
        grace: Duration::from_secs(60),
        ..cfg
    });
    let out = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(builder.build(req.clone()));
    assert_eq!(out.outcome, Outcome::Timeout);
    assert!(out.debs.is_empty());
    let log = std::fs::read_to_string(&req.log).unwrap();
    assert!(log.contains("Unpacking"), "sbuild had started:\n{log}");
    let left: Vec<PathBuf> = sbuild_sessions()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}\n{log}");
}
