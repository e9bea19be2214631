//! `control`: see the map in `lib.rs`. (Skeleton — filled in by its owner.)

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {}
