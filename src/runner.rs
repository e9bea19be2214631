//! Drives the schedule on tokio, calls a [`Builder`] for each ready build,
//! emits [`Event`](crate::events::Event)s and saves state. It never prints.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::arch::Arch;
use crate::events::Outcome;
use crate::recipe::BuildMode;

/// Everything one build needs; the builder decides how to run it.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub source: String,
    pub version: String,
    pub arch: Arch,
    pub mode: BuildMode,
    /// The .dsc to build.
    pub dsc: PathBuf,
    /// .debs built earlier in this run that this build may use.
    pub extra_debs: Vec<PathBuf>,
    /// Where the .debs and .changes go.
    pub out_dir: PathBuf,
    /// The build log (RUNDIR/logs/PKG_VERSION_ARCH.build).
    pub log: PathBuf,
    pub timeout: Option<Duration>,
    pub profiles: Vec<String>,
    /// Build arch:all packages too (done once, on one arch).
    pub arch_all: bool,
    /// binNMU: (number, changelog reason).
    pub binnmu: Option<(u32, String)>,
    pub env: BTreeMap<String, String>,
}

/// What a finished build reports back.
#[derive(Clone, Debug)]
pub struct BuildOutput {
    pub outcome: Outcome,
    pub debs: Vec<PathBuf>,
    pub duration: Duration,
}

/// The side effect at the edge: sbuild in production, a fake in tests.
/// Dropping the future must kill the build (whole process group).
pub trait Builder: Send + Sync + 'static {
    fn build(&self, req: BuildRequest) -> impl Future<Output = BuildOutput> + Send;
}
