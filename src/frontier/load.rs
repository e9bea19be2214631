//! Loading a universe and the sources of a mirror's suites, in parallel
//! threads, through the parsed-index cache (`archive::cache`).

use std::collections::BTreeSet;

use super::chain::{Chains, Explainer};
use super::solve::viable;
use super::universe::{SourceSet, Universe};
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
}

/// Loads `base` suite's Packages for `arch` (with `binary-all` when the
/// Release says arch:all packages are not in the arch's index) and the
/// Sources of `extra` suites (e.g. experimental) followed by `base`'s.
pub fn load(fetcher: &Fetcher, base: &str, extra: &[&str], arch: &str) -> Result<Loaded, Error> {
    let (base, extra) = suites(base, extra);
    let release = fetcher.release(&base)?;
    let (universe, texts) = std::thread::scope(|s| {
        let uni = s.spawn(|| universe(fetcher, &release, &base, arch));
        let mut suites: Vec<&str> = extra.iter().map(String::as_str).collect();
        suites.push(&base);
        let srcs = s.spawn(move || -> Result<(SourceSet, Vec<u32>), Error> {
            let mut set = SourceSet::default();
            let mut base_ids = Vec::new();
            for suite in suites {
                let rel = format!("dists/{suite}/main/source/Sources");
                let release = fetcher.release(suite)?;
                let key = fetcher.index_key(&release, &rel);
                let recs = fetcher.parsed_cache().get_or(
                    &format!("frontier-sources.{suite}"),
                    key.as_deref(),
                    || {
                        fetcher
                            .with_index(&release, &rel, |t| SourceSet::parse_suite(t, &rel, suite))
                    },
                )?;
                // `suites` ends with the base suite: its sources are the last run.
                let start = set.len() as u32;
                base_ids = (start..start + recs.len() as u32).collect();
                set.extend(recs);
            }
            Ok((set, base_ids))
        });
        let u = uni.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        let t = srcs.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (u, t)
    });
    let universe = universe?;
    let (sources, base_ids) = texts?;
    let viable = viable(&universe);
    Ok(Loaded {
        universe,
        viable,
        sources,
        base: base_ids,
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
/// lacks them) as a universe, through the parsed cache keyed by both
/// indices' hashes.
fn universe(
    fetcher: &Fetcher,
    release: &crate::archive::Release,
    base: &str,
    arch: &str,
) -> Result<Universe, Error> {
    let rel = format!("dists/{base}/main/binary-{arch}/Packages");
    let rel_all = format!("dists/{base}/main/binary-all/Packages");
    let with_all = !release.all_in_arch_indices;
    let key = universe_key(fetcher, release, base, arch);
    let parse = || -> Result<Universe, Error> {
        let mut u = fetcher.with_index(release, &rel, |t| Universe::parse(t, &rel, arch))?;
        if with_all && let Some(t) = fetcher.optional_index(release, &rel_all)? {
            let mut text = fetcher.index(release, &rel)?;
            text.push('\n');
            text.push_str(&t);
            u = Universe::parse(&text, &rel, arch)?;
        }
        Ok(u)
    };
    let name = format!("frontier-universe.{base}.{arch}");
    let mut u = fetcher
        .parsed_cache()
        .get_or(&name, key.as_deref(), parse)?;
    u.reindex();
    Ok(u)
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
