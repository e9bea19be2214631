//! The crate's top-level error: one variant per module that can fail.
//! `main` renders it once and maps it to an exit code.

/// Any error cascade reports to the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Recipe(#[from] crate::recipe::Error),
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    #[error(transparent)]
    Archive(#[from] crate::archive::Error),
    #[error(transparent)]
    Control(#[from] crate::control::Error),
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    #[error(transparent)]
    Version(#[from] crate::version::Error),
    #[error(transparent)]
    Changelog(#[from] crate::changelog::Error),
    #[error(transparent)]
    Source(#[from] crate::source::Error),
    #[error(transparent)]
    Bump(#[from] crate::bump::Error),
    #[error(transparent)]
    Process(#[from] crate::process::Error),
    #[error(transparent)]
    Setup(#[from] crate::setup::Error),
    #[error(transparent)]
    State(#[from] crate::state::Error),
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    #[error(transparent)]
    Demo(#[from] crate::demo::Error),
    #[error(transparent)]
    Port(#[from] crate::port::Error),
    #[error(transparent)]
    Runner(#[from] crate::runner::Error),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::Error),
    #[error(transparent)]
    Ci(#[from] crate::ci::Error),
    #[error(transparent)]
    Planner(#[from] crate::planner::Error),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::Error),
    #[error(transparent)]
    Lock(#[from] crate::lock::Error),
    #[error(transparent)]
    Debcheck(#[from] crate::transition::debcheck::Error),
    /// A command-line argument that parsed but makes no sense.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
}

/// The exit code of a refusal because the run directory is locked.
pub const LOCKED: u8 = 75;

impl Error {
    /// Exit code: 2 for bad input (recipes, arguments), 75 (EX_TEMPFAIL:
    /// try again later) when another cascade holds the run directory, 1 for
    /// everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Lock(crate::lock::Error::Busy { .. }) => LOCKED,
            Error::Recipe(_)
            | Error::Config(_)
            | Error::Usage(_)
            | Error::Ci(crate::ci::Error::TooManyRebuilds { .. })
            | Error::Pipeline(crate::pipeline::Error::UnknownSource(_)) => 2,
            _ => 1,
        }
    }
}
