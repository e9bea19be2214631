//! Opens the HTML matrix `cascade report` writes in headless Chromium and
//! checks what the browser shows: one cell per package × arch, coloured by
//! class, links to the logs that resolve. Keeps a screenshot
//! (`$CASCADE_ARTIFACTS` or the test's temporary target dir) for CI.
//! `#[ignore = "needs Chromium"]`: `./run-tests` runs it (`--include-ignored`);
//! run that way without Chromium it is skipped, unless CI=true.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use cascade::arch::Arch;
use cascade::events::{BuildResult, Outcome};
use cascade::schedule::JobKey;
use cascade::state::RunState;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn result(dir: &Path, source: &str, arch: &str, outcome: Outcome) -> BuildResult {
    let log = dir.join(format!("logs/{source}_1.0-1_{arch}.build"));
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    std::fs::write(&log, "sbuild log\n").unwrap();
    BuildResult {
        source: source.into(),
        arch: Arch::new(arch).unwrap(),
        version: "1.0-1".into(),
        outcome,
        expected_failure: None,
        log: Some(log),
        duration_secs: 42.0,
        debs: Vec::new(),
        reused: false,
        stats: None,
    }
}

fn browser(bin: &Path, args: &[&str], page: &Path) -> String {
    let out = Std::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs Chromium"]
fn the_html_matrix_in_a_real_browser() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is missing (apt install chromium)"
        );
        eprintln!("skipped: no chromium");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path();
    let mut state = RunState::new();
    for r in [
        result(run, "runtime", "amd64", Outcome::Ok),
        result(
            run,
            "runtime",
            "riscv64",
            Outcome::Failed {
                stage: "build".into(),
                errors: vec!["x.c:1: error: <boom>".into()],
            },
        ),
        result(run, "blas", "amd64", Outcome::Ok),
        result(
            run,
            "blas",
            "riscv64",
            Outcome::Skipped {
                dependency: "runtime".into(),
                arch: Arch::new("riscv64").unwrap(),
            },
        ),
    ] {
        state.record(
            &JobKey::new(r.source.clone(), r.arch.clone()),
            "h".into(),
            r,
        );
    }
    state.save(run).unwrap();
    let page = run.join("report.html");
    Command::cargo_bin("cascade")
        .unwrap()
        .args(["report", run.to_str().unwrap(), "--format", "html", "--out"])
        .arg(&page)
        .assert()
        .code(1);

    // The page has no script; a copy with one annotates each cell with the
    // colour the browser computed and whether its log link resolves.
    let html = std::fs::read_to_string(&page).unwrap();
    let probe = html.replace(
        "</body>",
        r#"<script>
for (const td of document.querySelectorAll('#matrix td[data-class]')) {
  td.setAttribute('data-bg', getComputedStyle(td).backgroundColor);
  const a = td.querySelector('a');
  if (a) td.setAttribute('data-href', a.href);
}
</script></body>"#,
    );
    let probe_page = run.join("probe.html");
    std::fs::write(&probe_page, probe).unwrap();
    let dom = browser(&bin, &["--dump-dom"], &probe_page);

    let cells: Vec<&str> = dom.split("<td class=\"cell c-").skip(1).collect();
    let cell = |source: &str, arch: &str| -> &str {
        cells
            .iter()
            .find(|c| c.contains(&format!("data-source=\"{source}\" data-arch=\"{arch}\"")))
            .copied()
            .unwrap_or_else(|| panic!("no cell {source}/{arch} in {dom}"))
    };
    let bg = |c: &str| -> String {
        c.split("data-bg=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let ok = cell("runtime", "amd64");
    let failed = cell("runtime", "riscv64");
    let skipped = cell("blas", "riscv64");
    assert!(ok.starts_with("ok"), "{ok}");
    assert!(failed.starts_with("failed"), "{failed}");
    assert_eq!(bg(ok), "rgb(200, 240, 200)");
    assert_eq!(bg(failed), "rgb(246, 184, 184)");
    assert_ne!(bg(skipped), bg(ok));
    assert!(
        failed.contains("&lt;boom&gt;"),
        "error text is escaped: {failed}"
    );
    let href = failed
        .split("data-href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let log = href.strip_prefix("file://").unwrap();
    assert!(Path::new(log).is_file(), "the log link resolves: {href}");
    assert!(dom.contains("1 failed"), "the summary line is shown");

    let shots = std::env::var_os("CASCADE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report-matrix.png");
    browser(
        &bin,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1000,700",
        ],
        &page,
    );
    assert!(
        std::fs::metadata(&png).unwrap().len() > 1000,
        "a real screenshot"
    );
}
