//! Loading a universe and the sources of a mirror's suites, in parallel
//! threads, through the parsed-index cache (`archive::cache`).

use std::collections::BTreeSet;

use super::chain::{Chains, Explainer};
use super::solve::viable;
use super::universe::{SourceSet, SuiteParser, Universe, UniverseParser};
use crate::archive::{Error, Fetcher};
use crate::control::Profiles;

/// What the frontier needs of a mirror: one arch's universe, its viability
/// fixpoint, and the sources of the stack suite (first) and the base suite.
pub struct Loaded {
    pub universe: Universe,
    pub viable: Vec<bool>,
    pub sources: SourceSet,
    /// How many of `sources` come from the base suite (the `--all` set).
    pub base: Vec<u32>,
    /// Parsed-cache entries this load built and has not written yet
    /// ([`load_deferred`]).
    pending: Vec<Pending>,
}

/// A parsed-cache entry to write: its name, key and what it stores.
struct Pending {
    name: String,
    key: String,
    what: Part,
}

enum Part {
    Universe,
    /// The sources `start..end` of the set: one suite's.
    Sources(std::ops::Range<usize>),
}

impl Loaded {
    /// Ends a command's use of the loaded archive without freeing it:
    /// its hundreds of thousands of allocations took a tenth of a cold
    /// `frontier --all` and a sixth of a warm `plan --port` to free, just
    /// before the process exits and the kernel takes the memory back at once.
    /// For a command's last use only (a long-lived caller just drops it).
    pub fn leave(self) {
        std::mem::forget(self);
    }

    /// Writes the parsed-cache entries [`load_deferred`] left pending, one
    /// thread each (a cache that can't be written only costs a parse next
    /// time). Reads `self` only: it can run beside the work on `self`.
    pub fn write_cache(&self, fetcher: &Fetcher) {
        let cache = fetcher.parsed_cache();
        std::thread::scope(|s| {
            for p in &self.pending {
                let cache = &cache;
                s.spawn(move || {
                    let written = match &p.what {
                        Part::Universe => cache.put(&p.name, &p.key, &self.universe),
                        Part::Sources(r) => {
                            cache.put(&p.name, &p.key, &self.sources.suite(r.clone()))
                        }
                    };
                    if let Err(e) = written {
                        tracing::warn!("cannot write the parsed cache {}: {e}", p.name);
                    }
                });
            }
        });
    }
}

/// Loads `base` suite's Packages for `arch` (with `binary-all` when the
/// Release says arch:all packages are not in the arch's index) and the
/// Sources of `extra` suites (e.g. experimental) followed by `base`'s.
pub fn load(fetcher: &Fetcher, base: &str, extra: &[&str], arch: &str) -> Result<Loaded, Error> {
    let loaded = load_deferred(fetcher, base, extra, arch)?;
    loaded.write_cache(fetcher);
    Ok(loaded)
}

/// [`load`] without writing what it parsed to the parsed cache: the caller
/// calls [`Loaded::write_cache`], e.g. on a thread while a core is idle (a
/// cold `frontier --all` explains on one thread). Serialising sid's sources
/// was a tenth of the loading thread that decides the cold run's length.
pub fn load_deferred(
    fetcher: &Fetcher,
    base: &str,
    extra: &[&str],
    arch: &str,
) -> Result<Loaded, Error> {
    let (base, extra) = suites(base, extra);
    let release = fetcher.release(&base)?;
    let (universe, texts) = std::thread::scope(|s| {
        let uni = s.spawn(|| universe(fetcher, &release, &base, arch));
        let mut suites: Vec<&str> = extra.iter().map(String::as_str).collect();
        suites.push(&base);
        let srcs = s.spawn(move || {
            let mut set = SourceSet::default();
            let mut base_ids = Vec::new();
            let mut pending = Vec::new();
            for suite in suites {
                let rel = format!("dists/{suite}/main/source/Sources");
                let release = fetcher.release(suite)?;
                let name = format!("frontier-sources.{suite}");
                let key = fetcher.index_key(&release, &rel);
                let cached = key
                    .as_deref()
                    .and_then(|k| fetcher.parsed_cache().get(&name, k));
                let hit = cached.is_some();
                let recs = match cached {
                    Some(recs) => recs,
                    None => {
                        let mut parser = SuiteParser::new(suite);
                        fetcher.with_index_chunks(&release, &rel, |t, before| {
                            parser.feed(t, before, &rel)
                        })?;
                        parser.finish()
                    }
                };
                // `suites` ends with the base suite: its sources are the last run.
                let start = set.len();
                base_ids = (start as u32..(start + recs.len()) as u32).collect();
                set.extend(recs);
                if let (Some(key), false) = (key, hit) {
                    pending.push(Pending {
                        name,
                        key,
                        what: Part::Sources(start..set.len()),
                    });
                }
            }
            Ok::<_, Error>((set, base_ids, pending))
        });
        let u = uni.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        let t = srcs.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (u, t)
    });
    let (universe, universe_pending) = universe?;
    let (sources, base_ids, mut pending) = texts?;
    pending.extend(universe_pending);
    let viable = viable(&universe);
    Ok(Loaded {
        universe,
        viable,
        sources,
        base: base_ids,
        pending,
    })
}

/// The suites [`load`] reads: `unstable` as `sid`, `extra` without `base`.
fn suites(base: &str, extra: &[&str]) -> (String, Vec<String>) {
    let canon = |s: &str| {
        if s == "unstable" {
            "sid".to_string()
        } else {
            s.to_string()
        }
    };
    let base = canon(base);
    let extra = extra
        .iter()
        .map(|s| canon(s))
        .filter(|s| *s != base)
        .collect();
    (base, extra)
}

/// The SHA-256s, from the Releases, of every index [`load`] reads, joined;
/// `None` when a Release does not list one.
pub fn index_keys(
    fetcher: &Fetcher,
    base: &str,
    extra: &[&str],
    arch: &str,
) -> Result<Option<String>, Error> {
    let (base, extra) = suites(base, extra);
    let release = fetcher.release(&base)?;
    let mut keys = vec![universe_key(fetcher, &release, &base, arch)];
    for suite in extra.iter().chain([&base]) {
        let release = fetcher.release(suite)?;
        let rel = format!("dists/{suite}/main/source/Sources");
        keys.push(fetcher.index_key(&release, &rel));
    }
    Ok(keys
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(|k| k.join("-")))
}

/// The universe's cache key: the arch's Packages hash (and `binary-all`'s
/// when the Release says the arch's index lacks arch:all packages).
fn universe_key(
    fetcher: &Fetcher,
    release: &crate::archive::Release,
    base: &str,
    arch: &str,
) -> Option<String> {
    let rel = format!("dists/{base}/main/binary-{arch}/Packages");
    let rel_all = format!("dists/{base}/main/binary-all/Packages");
    let mut key = fetcher.index_key(release, &rel);
    if !release.all_in_arch_indices
        && let (Some(k), Some(a)) = (&key, fetcher.index_key(release, &rel_all))
    {
        key = Some(format!("{k}-{}", &a[..16]));
    }
    key
}

/// `base`'s Packages for `arch` (and `binary-all`'s when the arch's index
/// lacks them) as a universe, from the parsed cache keyed by both indices'
/// hashes, else parsed, with the cache entry to write.
fn universe(
    fetcher: &Fetcher,
    release: &crate::archive::Release,
    base: &str,
    arch: &str,
) -> Result<(Universe, Option<Pending>), Error> {
    let rel = format!("dists/{base}/main/binary-{arch}/Packages");
    let rel_all = format!("dists/{base}/main/binary-all/Packages");
    let with_all = !release.all_in_arch_indices;
    let key = universe_key(fetcher, release, base, arch);
    let parse = || -> Result<Universe, Error> {
        let mut parser = UniverseParser::new(arch);
        fetcher.with_index_chunks(release, &rel, |t, before| parser.feed(t, before, &rel))?;
        let mut u = parser.finish();
        if with_all && let Some(t) = fetcher.optional_index(release, &rel_all)? {
            let mut text = fetcher.index(release, &rel)?;
            text.push('\n');
            text.push_str(&t);
            u = Universe::parse(&text, &rel, arch)?;
        }
        Ok(u)
    };
    let name = format!("frontier-universe.{base}.{arch}");
    let cached = key
        .as_deref()
        .and_then(|k| fetcher.parsed_cache().get::<Universe>(&name, k));
    if let Some(mut u) = cached {
        u.reindex();
        return Ok((u, None));
    }
    // A parse builds the name index as it interns.
    let pending = key.map(|key| Pending {
        name,
        key,
        what: Part::Universe,
    });
    Ok((parse()?, pending))
}

/// The stack's source names, for "points back into the stack".
pub fn stack_names<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_string).collect()
}

/// The blocker chains of `asks` (a relation as written, and the stack
/// sources that need it) on `arch`, through `base`'s Packages and the
/// Sources of `extra` and `base`; a binary only the stack builds points back
/// into the stack.
pub fn chains(
    fetcher: &Fetcher,
    (base, extra): (&str, &[&str]),
    arch: &str,
    stack: &BTreeSet<String>,
    profiles: &Profiles,
    asks: &[(String, Vec<String>)],
) -> Result<Chains, Error> {
    let loaded = load(fetcher, base, extra, arch)?;
    let mut ex = Explainer::new(
        &loaded.universe,
        &loaded.viable,
        &loaded.sources,
        stack,
        profiles.clone(),
    );
    for (item, needed_by) in asks {
        ex.ask(item, needed_by.clone());
    }
    Ok(ex.finish())
}
