//! Benchmark (c) of the build issue: a scheduler simulation. Given a plan-like
//! DAG of (source, arch) builds with durations, it compares the makespan of
//! cascade's critical-path list scheduling (`schedule::simulate`) with W
//! workers against the lower bound max(longest chain, total / W), and against
//! level-by-level waves, first-come-first-served list scheduling, and a serial
//! order.
//!
//! `cargo bench --bench schedule` uses a synthetic DAG shaped like ROCm;
//! `cargo bench --bench schedule -- plan.json` reads one: a JSON array of
//! `{"source": .., "arch": .., "deps": ["source/arch", ..], "weight": secs}`.

use std::collections::BTreeMap;

use cascade::arch::Arch;
use cascade::schedule::{JobKey, JobSpec, simulate};

#[derive(serde::Deserialize)]
struct PlanJob {
    source: String,
    arch: String,
    #[serde(default)]
    deps: Vec<String>,
    weight: u64,
}

fn key(s: &str) -> JobKey {
    let (src, a) = s.split_once('/').unwrap_or((s, "amd64"));
    JobKey::new(src, Arch::new(a).unwrap_or_else(Arch::host))
}

/// ROCm-like: (source, minutes on amd64, build-dependencies within the stack).
/// `rocm-cmake` is arch:all; the rest is built per arch.
const ROCM: &[(&str, u64, &[&str])] = &[
    ("rocm-cmake", 2, &[]),
    ("rocm-core", 3, &["rocm-cmake"]),
    ("rocm-llvm", 240, &["rocm-cmake"]),
    ("rocm-device-libs", 15, &["rocm-llvm", "rocm-cmake"]),
    ("rocm-comgr", 20, &["rocm-llvm", "rocm-device-libs"]),
    (
        "rocr-runtime",
        15,
        &["rocm-llvm", "rocm-device-libs", "rocm-cmake"],
    ),
    ("rocminfo", 3, &["rocr-runtime"]),
    ("rocm-smi-lib", 8, &["rocm-cmake"]),
    (
        "rocm-hipamd",
        40,
        &["rocm-comgr", "rocr-runtime", "rocminfo"],
    ),
    ("hipcc", 5, &["rocm-llvm"]),
    ("rocprofiler-register", 4, &["rocm-cmake"]),
    ("roctracer", 10, &["rocm-hipamd"]),
    ("rocprofiler", 25, &["roctracer", "rocm-hipamd"]),
    ("rocprim", 30, &["rocm-hipamd"]),
    ("hipcub", 10, &["rocprim"]),
    ("rocthrust", 25, &["rocprim"]),
    ("rocrand", 35, &["rocm-hipamd"]),
    ("hiprand", 5, &["rocrand"]),
    ("rocblas", 180, &["rocm-hipamd", "rocm-smi-lib"]),
    ("hipblas-common", 2, &["rocm-cmake"]),
    ("hipblas", 20, &["rocblas", "rocsolver", "hipblas-common"]),
    ("rocsparse", 90, &["rocprim", "rocm-hipamd"]),
    ("hipsparse", 15, &["rocsparse"]),
    ("rocsolver", 120, &["rocblas", "rocsparse", "rocprim"]),
    ("hipsolver", 15, &["rocsolver", "rocblas", "rocsparse"]),
    ("rocfft", 60, &["rocm-hipamd"]),
    ("hipfft", 8, &["rocfft"]),
    ("hipblaslt", 150, &["rocm-hipamd", "hipblas-common"]),
    (
        "rocalution",
        40,
        &["rocblas", "rocsparse", "rocrand", "rocprim"],
    ),
    ("rccl", 70, &["rocm-hipamd", "rocm-smi-lib"]),
    ("composable-kernel", 200, &["rocm-hipamd"]),
    (
        "miopen",
        150,
        &["rocblas", "rocrand", "composable-kernel", "hipblaslt"],
    ),
    ("rocwmma", 30, &["rocm-hipamd"]),
    ("hipsparselt", 45, &["hipsparse", "rocm-hipamd"]),
    ("migraphx", 90, &["miopen", "rocblas", "hipblaslt"]),
    ("rpp", 40, &["rocm-hipamd"]),
    ("mivisionx", 35, &["migraphx", "rpp", "miopen"]),
    ("rocdecode", 15, &["rocm-hipamd"]),
    ("hipify", 10, &["rocm-llvm"]),
    ("half", 1, &["rocm-cmake"]),
];

/// Slowdown per arch against an amd64 host: the others run under qemu-user.
const ARCHS: &[(&str, u64)] = &[
    ("amd64", 10),
    ("arm64", 40),
    ("ppc64el", 40),
    ("riscv64", 55),
];

fn synthetic() -> Vec<JobSpec> {
    let mut out = Vec::new();
    let all = |s: &str| s == "rocm-cmake";
    out.push(JobSpec {
        key: key("rocm-cmake/all"),
        deps: vec![],
        weight: 120,
        memory: 0,
    });
    for (arch, factor) in ARCHS {
        for (src, minutes, deps) in ROCM.iter().filter(|(s, ..)| !all(s)) {
            out.push(JobSpec {
                key: key(&format!("{src}/{arch}")),
                deps: deps
                    .iter()
                    .map(|d| {
                        if all(d) {
                            key(&format!("{d}/all"))
                        } else {
                            key(&format!("{d}/{arch}"))
                        }
                    })
                    .collect(),
                weight: minutes * 60 * factor / 10,
                memory: 0,
            });
        }
    }
    out
}

fn from_file(path: &str) -> Vec<JobSpec> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let jobs: Vec<PlanJob> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jobs.into_iter()
        .map(|j| JobSpec {
            key: key(&format!("{}/{}", j.source, j.arch)),
            deps: j.deps.iter().map(|d| key(d)).collect(),
            weight: j.weight,
            memory: 0,
        })
        .collect()
}

/// Index-based view of the DAG for the comparison schedules.
struct Dag {
    weight: Vec<u64>,
    deps: Vec<Vec<usize>>,
    names: Vec<JobKey>,
}

impl Dag {
    fn new(specs: &[JobSpec]) -> Dag {
        let idx: BTreeMap<&JobKey, usize> =
            specs.iter().enumerate().map(|(i, s)| (&s.key, i)).collect();
        Dag {
            weight: specs.iter().map(|s| s.weight).collect(),
            deps: specs
                .iter()
                .map(|s| s.deps.iter().map(|d| idx[d]).collect())
                .collect(),
            names: specs.iter().map(|s| s.key.clone()).collect(),
        }
    }

    /// Depth of each node: 0 for sources, else 1 + max depth of its deps.
    fn levels(&self) -> Vec<usize> {
        let n = self.weight.len();
        let mut level = vec![usize::MAX; n];
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                if level[i] != usize::MAX {
                    continue;
                }
                if self.deps[i].iter().all(|&d| level[d] != usize::MAX) {
                    level[i] = self.deps[i]
                        .iter()
                        .map(|&d| level[d] + 1)
                        .max()
                        .unwrap_or(0);
                    changed = true;
                }
            }
        }
        level
    }

    fn longest_chain(&self) -> u64 {
        let level = self.levels();
        let mut order: Vec<usize> = (0..self.weight.len()).collect();
        order.sort_by_key(|&i| level[i]);
        let mut finish = vec![0u64; self.weight.len()];
        for i in order {
            let start = self.deps[i].iter().map(|&d| finish[d]).max().unwrap_or(0);
            finish[i] = start + self.weight[i];
        }
        finish.into_iter().max().unwrap_or(0)
    }

    /// Waves: every job of a level must finish before the next level starts
    /// (a CI pipeline with one stage per level); inside a wave, longest first.
    fn waves(&self, workers: usize) -> u64 {
        let level = self.levels();
        let max = level.iter().copied().max().unwrap_or(0);
        (0..=max)
            .map(|l| {
                let mut ws: Vec<u64> = (0..self.weight.len())
                    .filter(|&i| level[i] == l)
                    .map(|i| self.weight[i])
                    .collect();
                ws.sort_unstable_by(|a, b| b.cmp(a));
                let mut free = vec![0u64; workers];
                for w in ws {
                    let m = free.iter_mut().min().unwrap();
                    *m += w;
                }
                free.into_iter().max().unwrap_or(0)
            })
            .sum()
    }

    /// List scheduling without priorities: ready jobs start in name order.
    fn fifo(&self, workers: usize) -> u64 {
        let n = self.weight.len();
        let mut done = vec![false; n];
        let mut started = vec![false; n];
        let mut running: Vec<(u64, usize)> = Vec::new();
        let mut now = 0;
        loop {
            let mut ready: Vec<usize> = (0..n)
                .filter(|&i| !started[i] && self.deps[i].iter().all(|&d| done[d]))
                .collect();
            ready.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
            for i in ready {
                if running.len() >= workers {
                    break;
                }
                started[i] = true;
                running.push((now + self.weight[i], i));
            }
            if running.is_empty() {
                return now;
            }
            running.sort();
            let (t, i) = running.remove(0);
            now = t;
            done[i] = true;
        }
    }
}

fn hours(s: u64) -> String {
    format!("{:.1}h", s as f64 / 3600.0)
}

fn main() {
    let arg = std::env::args().skip(1).find(|a| a.ends_with(".json"));
    let (name, specs) = match arg {
        Some(p) => (p.clone(), from_file(&p)),
        None => ("synthetic ROCm-like DAG".to_string(), synthetic()),
    };
    let dag = Dag::new(&specs);
    let total: u64 = dag.weight.iter().sum();
    let chain = dag.longest_chain();
    println!(
        "scheduler simulation: {name}: {} builds, total {}, longest chain {}",
        specs.len(),
        hours(total),
        hours(chain)
    );
    println!(
        "{:>4}  {:>9}  {:>8}  {:>8}  {:>8}  {:>8}",
        "W", "bound", "critical", "fifo", "waves", "serial"
    );
    let mut worst_enough = 0.0f64;
    for w in [1usize, 2, 4, 8, 16, 32, 64] {
        let bound = chain.max(total.div_ceil(w as u64));
        let cp = simulate(specs.clone(), w).expect("the DAG is acyclic");
        let r = |x: u64| x as f64 / bound as f64;
        println!(
            "{w:>4}  {:>9}  {:>8.3}  {:>8.3}  {:>8.3}  {:>8.3}",
            hours(bound),
            r(cp),
            r(dag.fifo(w)),
            r(dag.waves(w)),
            r(total)
        );
        // "Enough workers": the chain, not the total, is the bound.
        if chain >= total.div_ceil(w as u64) {
            worst_enough = worst_enough.max(r(cp));
        }
    }
    println!(
        "critical-path makespan / lower bound with enough workers: {worst_enough:.3} (target <= 1.05)"
    );
}
