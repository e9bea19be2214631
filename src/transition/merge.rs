//! Pure: one transition report from several. A CI child pipeline
//! (`cascade ci generate --transition`) rebuilds each candidate × arch in
//! a job of its own, each writing a report that holds its one rebuild; the
//! report job lays them over the analysis report of the whole stack
//! (`cascade transition --merge`), so every format reads one document.

use std::collections::BTreeMap;

use super::rebuild::{Rebuilt, Verdict};
use super::render::{ArchReport, Transition};
use crate::events::Outcome;

/// Why documents could not be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("no transition report to merge")]
    Empty,
    #[error("{what} differs between the reports: {first} and {other}")]
    Mismatch {
        what: &'static str,
        first: String,
        other: String,
    },
}

/// Merges `docs`, in order. Per arch, the analysis (changes, binNMUs,
/// installability) comes from the first report that has no rebuilds (the
/// analysis), else the first one; the rebuild candidates and results are
/// the union of all reports', by source (a later report's result for a
/// source wins). A candidate of a report with rebuilds that no report
/// holds a result for — its job died before writing one — is `unchecked`,
/// its outcome `cancelled`.
pub fn merge(docs: Vec<Transition>) -> Result<Transition, Error> {
    let mut docs = docs.into_iter();
    let mut out = docs.next().ok_or(Error::Empty)?;
    for doc in docs {
        same("stack", &out.stack, &doc.stack)?;
        same("base suite", &out.base_suite, &doc.base_suite)?;
        for arch in doc.arches {
            match out
                .arches
                .iter_mut()
                .find(|a| a.transition.arch == arch.transition.arch)
            {
                Some(have) => lay_over(have, arch),
                None => out.arches.push(arch),
            }
        }
    }
    for a in &mut out.arches {
        fill_missing(a);
    }
    Ok(out)
}

fn same(what: &'static str, first: &str, other: &str) -> Result<(), Error> {
    if first == other {
        return Ok(());
    }
    Err(Error::Mismatch {
        what,
        first: first.to_string(),
        other: other.to_string(),
    })
}

/// `more`'s candidates and results added to `have`; its analysis taken
/// when `have`'s came from a rebuild job and `more`'s did not.
fn lay_over(have: &mut ArchReport, mut more: ArchReport) {
    if have.rebuilt.is_some() && more.rebuilt.is_none() {
        std::mem::swap(have, &mut more);
    }
    if have.installability.is_none() {
        have.installability = more.installability.take();
    }
    let candidates = &mut have.transition.rebuilds;
    for c in more.transition.rebuilds {
        if !candidates.iter().any(|h| h.source == c.source) {
            candidates.push(c);
        }
    }
    candidates.sort_by(|a, b| a.source.cmp(&b.source));
    if let Some(results) = more.rebuilt {
        let mut by_source: BTreeMap<String, Rebuilt> = have
            .rebuilt
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.source.clone(), r))
            .collect();
        by_source.extend(results.into_iter().map(|r| (r.source.clone(), r)));
        have.rebuilt = Some(by_source.into_values().collect());
    }
}

/// A result for every candidate of an arch that was rebuilt at all.
fn fill_missing(a: &mut ArchReport) {
    let Some(rebuilt) = &mut a.rebuilt else {
        return;
    };
    for c in &a.transition.rebuilds {
        if rebuilt.iter().any(|r| r.source == c.source) {
            continue;
        }
        rebuilt.push(Rebuilt {
            source: c.source.clone(),
            version: c.version.clone().unwrap_or_default(),
            verdict: Verdict::Unchecked,
            outcome: Outcome::Cancelled,
            recheck: None,
            log: None,
            recheck_log: None,
            via: c.via.clone(),
        });
    }
    rebuilt.sort_by(|x, y| x.source.cmp(&y.source));
}
