//! `status`: the Debian ROCm team's porting survey, computed from the
//! archive's indices — per stack package its version in unstable and
//! experimental against the recipe's target, per architecture and suite
//! whether its binaries are built, out of date, missing or excluded, and
//! the porting frontier (what unstable could build next on each arch).
//!
//! - [`compute`]: pure, over parsed [`crate::archive`] indices.
//! - [`text`], [`html`]: renderers; JSON is the serde form of [`Status`]
//!   (docs/status-json.md).
//!
//! May use: `archive`, `control`, `arch`, `report::html`'s CSS.

pub mod compute;
pub mod html;
pub mod text;

pub use compute::{
    Cell, Counts, Frontier, FrontierEntry, PackageStatus, SCHEMA, StackPackage, Status,
    SuiteStatus, SuiteView, compute,
};
