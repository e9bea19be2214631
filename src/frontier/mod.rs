//! `frontier`: whole-archive buildability per architecture and the blocker
//! chains behind a porting frontier.
//!
//! - [`universe`]: one architecture's Packages as flat arrays (interned
//!   names, packages, dependency clauses with their candidates, conflicts),
//!   and a suite's Sources with what buildability needs.
//! - [`solve`]: a complete installability solver (conflict-free fixpoint,
//!   then backtracking search) and [`solve::buildability`] for every source.
//! - [`chain`]: why a binary or source is missing on an arch, recursively,
//!   down to the roots, with cycles; roots ranked by what they unblock.
//! - [`load`]: a mirror → universe + sources, in parallel, through the cache.
//! - [`render`]: text, JSON and DOT of chains and of `--all`.
//!
//! Pure: the indices come in as text, whole or in pieces of whole
//! paragraphs as `archive::chunks` decompresses them ([`universe::UniverseParser`],
//! [`universe::SuiteParser`]); see `archive::cache` for the parsed cache and
//! `commands::frontier` for loading.

pub mod chain;
pub mod load;
pub mod render;
pub mod solve;
pub mod universe;

pub use chain::{ByArch, Chains, Explainer, NodeId};
pub use solve::{Buildability, Failure, buildability};
pub use universe::{SourceRec, SourceSet, Universe};

#[cfg(test)]
mod tests;
