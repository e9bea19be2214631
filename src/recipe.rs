//! Recipes (`recipes/*.yaml`) and the stack file (`recipes/stack.yaml`).
//!
//! The schema is strict (`deny_unknown_fields`); every error names the file,
//! line, column and field. The types below are the contract the rest of the
//! crate codes against; loading and validation live here too.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::arch::Arch;

/// How one architecture is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildMode {
    /// The host's own architecture.
    Native,
    /// A foreign-architecture chroot under qemu-user binfmt emulation.
    Qemu,
    /// `sbuild --host=ARCH` in a chroot of the build machine's architecture.
    Cross,
}

/// `recipes/stack.yaml`: what the whole stack is built for, and how.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// A name for reports (`rocm-7.2.4`).
    pub name: String,
    /// The suite uploads target and changelog entries name (`experimental`).
    pub suite: String,
    /// The suite builds run on (`unstable`): chroots and archive indices.
    pub base_suite: String,
    /// Debian mirror, e.g. `http://deb.debian.org/debian`.
    pub mirror: String,
    /// Architectures to build, in report order.
    pub architectures: Vec<Arch>,
    /// Build mode per architecture; a missing one means native for the host
    /// arch and qemu otherwise.
    #[serde(default)]
    pub modes: BTreeMap<Arch, BuildMode>,
    /// GitLab runner tags per architecture for `cascade ci generate`.
    #[serde(default)]
    pub runner_tags: BTreeMap<Arch, Vec<String>>,
    /// Fallback changelog maintainer when DEBFULLNAME/DEBEMAIL are unset.
    #[serde(default)]
    pub maintainer: Option<String>,
    /// Per-build timeout in minutes, when a recipe sets none.
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// Build profiles active for every build (e.g. `nocheck`).
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Architectures a nightly run treats as porting targets (see `cascade port`).
    #[serde(default)]
    pub port: Vec<Arch>,
}

/// Where the packaging lives.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Packaging {
    /// Git URL (https, file:// or a plain path).
    pub repo: String,
    /// Branch to work on (`debian/experimental`).
    pub branch: String,
    /// How upstream sources enter the packaging branch.
    #[serde(default)]
    pub import: ImportStyle,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportStyle {
    /// gbp style: an `upstream` branch and `upstream/X` tags merged into the
    /// packaging branch.
    #[default]
    Gbp,
    /// The packaging repo holds only `debian/`; upstream comes from the orig tarball.
    DebianOnly,
}

/// The upstream project and the release to move to.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub repo: String,
    /// The target tag (`rocm-7.2.4`).
    pub tag: String,
    /// The upstream version the tag stands for, when it cannot be read off
    /// the tag (packages with their own scheme, e.g. rocm-cmake).
    #[serde(default)]
    pub version: Option<String>,
}

/// Per-architecture porting knowledge.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortSettings {
    /// Patches (paths relative to the recipe) applied to the build copy.
    #[serde(default)]
    pub patches: Vec<String>,
    /// Extra build profiles, e.g. `nocheck` under emulation.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Extra environment for the build.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// Also widen architecture restrictions in Build-Depends (`[amd64 arm64]`).
    #[serde(default)]
    pub widen_build_depends: bool,
}

/// An expected failure on one architecture.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFailure {
    pub reason: String,
    #[serde(default)]
    pub link: Option<String>,
}

/// One source package of the stack (`recipes/SOURCE.yaml`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The source package name.
    pub source: String,
    pub packaging: Packaging,
    pub upstream: Upstream,
    /// Debian version template: `{upstream}-1~exp1`, `1:{upstream}+dfsg-1~exp1`.
    pub version: String,
    /// Architectures to build; none means the stack's list.
    #[serde(default)]
    pub architectures: Option<Vec<Arch>>,
    /// Architectures where a failure is expected, with the reason.
    #[serde(default)]
    pub expected_failures: BTreeMap<Arch, ExpectedFailure>,
    /// Take this package's build-dependencies from the archive instead of the
    /// stack, cutting a cycle.
    #[serde(default)]
    pub bootstrap: bool,
    /// Extra changelog lines after "New upstream version X".
    #[serde(default)]
    pub changelog: Vec<String>,
    /// Commit message for the bump; default "New upstream version X".
    #[serde(default)]
    pub commit_message: Option<String>,
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// Relative memory weight of one build (1 = a small package).
    #[serde(default = "one")]
    pub memory_weight: u32,
    #[serde(default)]
    pub port: BTreeMap<Arch, PortSettings>,
}

fn one() -> u32 {
    1
}

/// The loaded stack: the stack file plus every recipe, sorted by source name.
#[derive(Clone, Debug)]
pub struct Recipes {
    pub dir: PathBuf,
    pub stack: Stack,
    pub recipes: Vec<Recipe>,
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {}
