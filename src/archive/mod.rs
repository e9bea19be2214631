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
/// `dists/SUITE/main/binary-ARCH/Packages` for each of `arches`, one thread
/// per file (decompressing xz dominates). `unstable` is read as `sid`, the
/// name every mirror has. Unless the Release file says arch:all packages are
/// listed in each architecture's index (`No-Support-for-Architecture-all:
/// Packages`, as Debian's does), `binary-all/Packages` is read too, when
/// present, and merged into each architecture.
pub fn load_suite(fetcher: &Fetcher, suite: &str, arches: &[&str]) -> Result<Suite, Error> {
    let suite = if suite == "unstable" { "sid" } else { suite };
    let release = fetcher.release(suite)?;
    let sources_rel = format!("dists/{suite}/main/source/Sources");
    let all_rel = format!("dists/{suite}/main/binary-all/Packages");
    let (sources, packages) = std::thread::scope(|s| {
        let sources =
            s.spawn(|| fetcher.with_index(&sources_rel, |text| Sources::parse(text, &sources_rel)));
        let read_all = !release.all_in_arch_indices;
        let all = s.spawn(move || match read_all {
            true => match fetcher.optional_index(&all_rel)? {
                Some(text) => Packages::parse(&text, &all_rel, "all").map(Some),
                None => Ok(None),
            },
            false => Ok(None),
        });
        let per_arch: Vec<_> = arches
            .iter()
            .map(|arch| {
                s.spawn(move || {
                    let rel = format!("dists/{suite}/main/binary-{arch}/Packages");
                    fetcher.with_index(&rel, |text| Packages::parse(text, &rel, arch))
                })
            })
            .collect();
        let sources: Result<Sources, Error> = join(sources);
        let all: Result<Option<Packages>, Error> = join(all);
        let mut packages = BTreeMap::new();
        let all = all?;
        for (arch, h) in arches.iter().zip(per_arch) {
            let mut p: Packages = join(h)?;
            if let Some(all) = &all {
                p.merge(all.clone());
            }
            packages.insert(arch.to_string(), p);
        }
        Ok::<_, Error>((sources?, packages))
    })?;
    Ok(Suite {
        name: suite.to_string(),
        release,
        sources,
        packages,
    })
}

/// A worker's result; a panic in a worker is a bug and is re-raised.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}
