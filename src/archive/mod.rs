//! `archive`: Sources/Packages indices.
#[derive(Debug, thiserror::Error)]
pub enum Error {}
