//! `archive`: Sources and Packages indices of a Debian mirror.
//!
//! - [`fetch`]: mirror locations (directory, `file://`, `http(s)://`), the
//!   on-disk cache with conditional requests, Release and `Valid-Until`,
//!   decompression (`.xz`, `.gz`, plain).
//! - [`index`]: parsed [`Sources`] and per-arch [`Packages`] with
//!   binary→source, source→binaries and Provides maps.
//!
//! [`load_suite`] ties them together: it fetches, decompresses and parses
//! Sources and each architecture's Packages in parallel threads.
//!
//! # Example: what a planner asks
//!
//! ```
//! use cascade::arch::Arch;
//! use cascade::archive::{FetchOptions, Fetcher, Mirror, load_suite};
//! use cascade::control::Profiles;
//!
//! let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/archive");
//! let options = FetchOptions {
//!     cache_dir: Some(std::env::temp_dir().join("cascade-doctest")),
//!     allow_expired: true, // the fixture's Valid-Until has passed
//! };
//! let fetcher = Fetcher::new(Mirror::parse(fixture), &options)?;
//! let sid = load_suite(&fetcher, "sid", &["amd64", "riscv64"])?;
//! let (amd64, riscv64) = (Arch::new("amd64").unwrap(), Arch::new("riscv64").unwrap());
//!
//! let rocblas = sid.sources.get("rocblas").expect("in the fixture");
//! assert!(rocblas.builds_on(&amd64));
//! assert!(!rocblas.builds_on(&riscv64)); // not in its Architecture list
//! assert!(rocblas.binaries_on(&amd64).contains(&"librocblas-dev"));
//!
//! // Build-Depends + Build-Depends-Arch for amd64, no profile: an AND of OR-groups.
//! let packages = &sid.packages["amd64"];
//! for group in rocblas.build_deps(&amd64, &Profiles::none(), true, false) {
//!     // The first alternative the archive can satisfy, like sbuild's resolver.
//!     let chosen = group.iter().find(|dep| packages.can_satisfy(dep));
//!     if let Some(dep) = chosen {
//!         let providers = packages.satisfiers(dep); // real package and/or Provides
//!         let _built_by: Vec<_> = providers.iter().filter_map(|b| packages.source_of(b)).collect();
//!     }
//! }
//! # Ok::<(), cascade::archive::Error>(())
//! ```

pub mod fetch;
pub mod index;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use fetch::{FetchOptions, Fetcher, Mirror, Release};
pub use index::{Binary, Packages, Provider, Sources};

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    /// `how`: "HTTP 404" or "no such file".
    #[error("{what} not found on the mirror: {url} ({how})")]
    NotFound {
        what: String,
        url: String,
        how: &'static str,
    },
    #[error("{url}: HTTP status {status}")]
    Http { url: String, status: u16 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: corrupt or truncated file ({message})")]
    Corrupt { file: String, message: String },
    #[error(
        "{file}: Valid-Until {valid_until} has passed, the indices may be stale \
         (pass --allow-expired to use them anyway)"
    )]
    Expired { file: String, valid_until: String },
    #[error("{file}:{line}: {message}")]
    Paragraph {
        file: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Control(#[from] crate::control::Error),
}

/// One suite of a mirror: its Release, Sources and the Packages of the
/// architectures asked for.
#[derive(Debug)]
pub struct Suite {
    pub name: String,
    pub release: Release,
    pub sources: Sources,
    pub packages: BTreeMap<String, Packages>,
}

/// Fetches and parses `dists/SUITE/main/source/Sources` and
/// `dists/SUITE/main/binary-ARCH/Packages` for each of `arches`, on one
/// worker thread per core (decompressing xz dominates). `unstable` is read as `sid`, the
/// name every mirror has. Unless the Release file says arch:all packages are
/// listed in each architecture's index (`No-Support-for-Architecture-all:
/// Packages`, as Debian's does), `binary-all/Packages` is read too, when
/// present, and merged into each architecture.
pub fn load_suite(fetcher: &Fetcher, suite: &str, arches: &[&str]) -> Result<Suite, Error> {
    let suite = if suite == "unstable" { "sid" } else { suite };
    let release = fetcher.release(suite)?;
    let mut tasks = vec![Task::Sources];
    tasks.extend(arches.iter().map(|a| Task::Arch(a)));
    if !release.all_in_arch_indices {
        tasks.push(Task::All);
    }
    // As many workers as cores, not one per file: more would only hold more
    // decompressed indices in memory at once (65 MiB each on sid).
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(tasks.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<Loaded, Error>>>> =
        tasks.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(task) = tasks.get(i) else { break };
                    let r = load_one(fetcher, suite, task);
                    let failed = r.is_err();
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                    if failed {
                        // Others stop taking work; the first error is reported.
                        next.store(tasks.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut sources = None;
    let mut all = None;
    let mut packages = BTreeMap::new();
    for (task, slot) in tasks.iter().zip(results) {
        let loaded = slot.into_inner().ok().flatten();
        match (task, loaded) {
            (_, Some(Err(e))) => return Err(e),
            (_, None) => continue,
            (Task::Sources, Some(Ok(Loaded::Sources(x)))) => sources = Some(x),
            (Task::All, Some(Ok(Loaded::Packages(p)))) => all = p,
            (Task::Arch(a), Some(Ok(Loaded::Packages(Some(p))))) => {
                packages.insert(a.to_string(), p);
            }
            _ => {}
        }
    }
    if let Some(all) = all {
        for p in packages.values_mut() {
            p.merge(all.clone());
        }
    }
    Ok(Suite {
        name: suite.to_string(),
        release,
        // Every task ran unless one failed, and failures returned above.
        sources: sources.unwrap_or_default(),
        packages,
    })
}

enum Task<'a> {
    Sources,
    Arch(&'a str),
    All,
}

enum Loaded {
    Sources(Sources),
    Packages(Option<Packages>),
}

fn load_one(fetcher: &Fetcher, suite: &str, task: &Task<'_>) -> Result<Loaded, Error> {
    match task {
        Task::Sources => {
            let rel = format!("dists/{suite}/main/source/Sources");
            fetcher
                .with_index(&rel, |text| Sources::parse(text, &rel))
                .map(Loaded::Sources)
        }
        Task::Arch(arch) => {
            let rel = format!("dists/{suite}/main/binary-{arch}/Packages");
            fetcher
                .with_index(&rel, |text| Packages::parse(text, &rel, arch))
                .map(|p| Loaded::Packages(Some(p)))
        }
        Task::All => {
            let rel = format!("dists/{suite}/main/binary-all/Packages");
            match fetcher.optional_index(&rel)? {
                Some(text) => {
                    Packages::parse(&text, &rel, "all").map(|p| Loaded::Packages(Some(p)))
                }
                None => Ok(Loaded::Packages(None)),
            }
        }
    }
}
