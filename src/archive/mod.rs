//! `archive`: Sources and Packages indices of a Debian mirror.
//!
//! - [`fetch`]: mirror locations (directory, `file://`, `http(s)://`), the
//!   on-disk cache with conditional requests, Release and `Valid-Until`,
//!   decompression (`.xz`, `.gz`, plain).
//! - [`verify`]: the Release signature (gpgv and the archive keyring) and
//!   each index's size and SHA-256 against Release.
//! - [`cache`]: parsed indices on disk (postcard), keyed by the SHA-256
//!   Release gives each index: a warm run reads no index and parses no text.
//! - [`index`]: parsed [`Sources`] and per-arch [`Packages`] with
//!   binary→source, source→binaries and Provides maps.
//! - [`lazy`]: a name → value map whose cached values decode on first read.
//! - [`chunks`]: an index decompressed a few MB at a time, each piece whole
//!   paragraphs, for parsers that need not hold the whole text.
//! - [`pool`]: a source package's files in the pool, fetched and checked
//!   against Sources' SHA-256 (transition rebuilds of outside sources).
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
//!     ..Default::default()
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

pub mod cache;
pub mod chunks;
pub mod error;
pub mod fetch;
pub mod index;
pub mod lazy;
pub mod pool;
pub mod suite;
pub mod verify;

pub use error::Error;
pub use fetch::{FetchOptions, Fetcher, Mirror, Policy, Release};
pub use index::{Binary, Detail, Packages, Provider, Sources};
pub use suite::{Suite, load_suite, load_suite_with};
