//! What a CI build job passes on as artifacts: the .debs dependents build
//! against and the report reads, not the test, benchmark and debug-symbol
//! packages (on the real stack librocprim-tests alone is 1.59 GB, past
//! Salsa's 750 MB artifact cap), within a size budget.
//!
//! The decisions ([`passes_on`], [`plan`]) are pure; [`apply`] acts on the
//! run directory's `debs/`.

use std::path::{Path, PathBuf};

use crate::fsio::{IoError, at};
use crate::rundir::RunDir;

/// Package name suffixes no dependent builds against: left out unless asked.
pub const LEFT_OUT_SUFFIXES: [&str; 3] = ["-dbgsym", "-tests", "-bench"];

/// Salsa's artifact cap is 750 MB; leave room for logs and results.
pub const DEFAULT_BUDGET: u64 = 700_000_000;

/// Whether a .deb (or .ddeb) file is passed on to dependents.
pub fn passes_on(file_name: &str) -> bool {
    if file_name.ends_with(".ddeb") {
        return false;
    }
    let package = file_name.split('_').next().unwrap_or(file_name);
    !LEFT_OUT_SUFFIXES.iter().any(|s| package.ends_with(s))
}

/// Whether a .deb holds debug symbols only (`-dbgsym`, `.ddeb`): no test
/// installs one, and autopkgtest copies every .deb it is given into the
/// testbed (and into its output directory), so the test stage leaves them
/// out.
pub fn is_debug_symbols(file_name: &str) -> bool {
    let package = file_name.split('_').next().unwrap_or(file_name);
    file_name.ends_with(".ddeb") || package.ends_with("-dbgsym")
}

/// One file under `debs/` with its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    pub path: PathBuf,
    pub size: u64,
}

/// What to do with the files under `debs/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub left_out: Vec<File>,
    pub kept: Vec<File>,
    /// The kept files' total, with `extra` (logs, results) added.
    pub total: u64,
    pub budget: u64,
}

impl Plan {
    pub fn over_budget(&self) -> bool {
        self.total > self.budget
    }
}

/// Decides which files stay; `keep_all` passes test and debug packages on too.
pub fn plan(files: Vec<File>, extra: u64, budget: u64, keep_all: bool) -> Plan {
    let (kept, left_out): (Vec<File>, Vec<File>) = files.into_iter().partition(|f| {
        keep_all || passes_on(&f.path.file_name().unwrap_or_default().to_string_lossy())
    });
    let total = extra + kept.iter().map(|f| f.size).sum::<u64>();
    Plan {
        left_out,
        kept,
        total,
        budget,
    }
}

/// Every regular file below `dir` (none when it does not exist).
fn files_below(dir: &Path) -> Result<Vec<File>, IoError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(IoError::new(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(at(dir))?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(at(&path))?;
        if meta.is_dir() {
            out.extend(files_below(&path)?);
        } else {
            out.push(File {
                path,
                size: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Reads `run_dir`'s `debs/` (and the size of its logs and results) and
/// decides what stays, within `budget` bytes.
pub fn survey(run_dir: &Path, budget: u64, keep_all: bool) -> Result<Plan, IoError> {
    let layout = RunDir::new(run_dir);
    let extra: u64 = [layout.logs(), layout.results()]
        .iter()
        .map(|d| files_below(d).map(|f| f.iter().map(|f| f.size).sum::<u64>()))
        .sum::<Result<u64, IoError>>()?;
    Ok(plan(files_below(&layout.debs())?, extra, budget, keep_all))
}

/// Removes the left-out files; over budget, removes every .deb, so that the
/// job's logs and results still upload and its dependents skip themselves.
pub fn apply(run_dir: &Path, plan: &Plan) -> Result<(), IoError> {
    if plan.over_budget() {
        let debs = RunDir::new(run_dir).debs();
        return match std::fs::remove_dir_all(&debs) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(IoError::new(debs, e)),
            _ => Ok(()),
        };
    }
    for f in &plan.left_out {
        std::fs::remove_file(&f.path).map_err(at(&f.path))?;
    }
    Ok(())
}

/// A size as people read it: `1.6 GB`, `700.0 MB`, `3.0 kB`.
pub fn human(n: u64) -> String {
    match n {
        0..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Parses a size: bytes, or with a K, M or G suffix (powers of 1000).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1_000,
                'M' => 1_000_000,
                'G' => 1_000_000_000,
                _ => return Err(format!("{s:?}: size unit must be K, M or G")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n.saturating_mul(mult))
        .map_err(|_| format!("{s:?}: not a size (e.g. 700M)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64) -> File {
        File {
            path: PathBuf::from(format!("run/debs/amd64/{name}")),
            size,
        }
    }

    #[test]
    fn tests_benchmarks_and_debug_symbols_are_left_out() {
        assert!(passes_on("librocprim-dev_7.2.4-1_amd64.deb"));
        assert!(passes_on("rocm-cmake_7.2.4-1_all.deb"));
        assert!(!passes_on("librocprim-tests_7.2.4-1_amd64.deb"));
        assert!(!passes_on("librocblas-bench_7.2.4-1_amd64.deb"));
        assert!(!passes_on("librocblas5-dbgsym_7.2.4-1_amd64.deb"));
        assert!(!passes_on("librocblas5-dbgsym_7.2.4-1_amd64.ddeb"));
        assert!(is_debug_symbols("librocblas5-dbgsym_7.2.4-1_amd64.deb"));
        assert!(is_debug_symbols("librocblas5-dbgsym_7.2.4-1_amd64.ddeb"));
        assert!(!is_debug_symbols("rocblas-tests_7.2.4-1_amd64.deb"));
    }

    #[test]
    fn the_budget_counts_what_is_kept_and_the_logs() {
        let files = vec![
            file("librocprim-dev_1_amd64.deb", 300),
            file("librocprim-tests_1_amd64.deb", 1_590),
        ];
        let p = plan(files.clone(), 50, 400, false);
        assert_eq!(p.kept, vec![files[0].clone()]);
        assert_eq!(p.left_out, vec![files[1].clone()]);
        assert_eq!(p.total, 350);
        assert!(!p.over_budget());
        let all = plan(files, 50, 400, true);
        assert_eq!(all.total, 1_940);
        assert!(all.over_budget());
    }

    #[test]
    fn sizes_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_size("700M"), Ok(700_000_000));
        assert_eq!(parse_size("2g"), Ok(2_000_000_000));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("7X").is_err());
        assert!(parse_size("M").is_err());
        assert_eq!(human(3_000), "3.0 kB");
        assert_eq!(human(1_590_000_000), "1.59 GB");
    }

    #[test]
    fn apply_removes_the_left_out_or_everything_over_budget() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        let amd64 = RunDir::new(run).debs_for("amd64");
        std::fs::create_dir_all(&amd64).unwrap();
        std::fs::write(amd64.join("libx-dev_1_amd64.deb"), vec![0; 10]).unwrap();
        std::fs::write(amd64.join("libx-tests_1_amd64.deb"), vec![0; 100]).unwrap();
        let p = survey(run, 50, false).unwrap();
        assert_eq!(p.total, 10);
        apply(run, &p).unwrap();
        assert!(amd64.join("libx-dev_1_amd64.deb").exists());
        assert!(!amd64.join("libx-tests_1_amd64.deb").exists());
        let p = survey(run, 5, false).unwrap();
        assert!(p.over_budget());
        apply(run, &p).unwrap();
        assert!(!RunDir::new(run).debs().exists());
    }
}
