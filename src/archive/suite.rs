//! [`load_suite`]: one suite's Release, Sources and per-arch Packages,
//! fetched and parsed in parallel.

use std::collections::BTreeMap;

use super::{Detail, Error, Fetcher, Packages, Release, Sources};

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
    load_suite_with(fetcher, suite, arches, Detail::Full)
}

/// [`load_suite`], keeping `detail` of each binary (see [`Detail`]).
pub fn load_suite_with(
    fetcher: &Fetcher,
    suite: &str,
    arches: &[&str],
    detail: Detail,
) -> Result<Suite, Error> {
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
                    let r = load_one(fetcher, &release, suite, task, detail);
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

/// One task's result, as the parsed cache stores it too.
#[derive(serde::Serialize, serde::Deserialize)]
enum Loaded {
    Sources(Sources),
    Packages(Option<Packages>),
}

fn load_one(
    fetcher: &Fetcher,
    release: &Release,
    suite: &str,
    task: &Task<'_>,
    detail: Detail,
) -> Result<Loaded, Error> {
    // Through the parsed cache, keyed by the index's SHA-256 in Release.
    let cached = |rel: &str, name: String, parse: &dyn Fn(&str) -> Result<Loaded, Error>| {
        let key = fetcher.index_key(release, rel);
        fetcher.parsed_cache().get_or(&name, key.as_deref(), || {
            fetcher.with_index(release, rel, parse)
        })
    };
    match task {
        Task::Sources => {
            let rel = format!("dists/{suite}/main/source/Sources");
            cached(&rel, format!("sources.{suite}"), &|t| {
                Sources::parse(t, &rel).map(Loaded::Sources)
            })
        }
        Task::Arch(arch) => {
            let rel = format!("dists/{suite}/main/binary-{arch}/Packages");
            cached(&rel, format!("packages.{suite}.{arch}.{detail:?}"), &|t| {
                Packages::parse_with(t, &rel, arch, detail).map(|p| Loaded::Packages(Some(p)))
            })
        }
        Task::All => {
            let rel = format!("dists/{suite}/main/binary-all/Packages");
            match fetcher.optional_index(release, &rel)? {
                Some(text) => Packages::parse_with(&text, &rel, "all", detail)
                    .map(|p| Loaded::Packages(Some(p))),
                None => Ok(Loaded::Packages(None)),
            }
        }
    }
}
