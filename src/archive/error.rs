//! The errors of `archive`.

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach {url}: {message}")]
    Network { url: String, message: String },
    /// `how`: "HTTP 404" or "no such file".
    #[error("{what} not found on the mirror: {url} ({how})")]
    NotFound {
        what: String,
        url: String,
        how: &'static str,
    },
    #[error("{url}: HTTP status {status}")]
    Http { url: String, status: u16 },
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error("{file}: corrupt or truncated file ({message})")]
    Corrupt { file: String, message: String },
    #[error(
        "{file}: Valid-Until {valid_until} has passed, the indices may be stale \
         (pass --allow-expired to use them anyway)"
    )]
    Expired { file: String, valid_until: String },
    #[error("{file}: does not match the Release file: {message}")]
    Checksum { file: String, message: String },
    #[error("{file}: bad signature (pass --no-verify-signature to skip the check): {message}")]
    Signature { file: String, message: String },
    #[error(
        "{file}: no InRelease or Release.gpg, so the indices cannot be verified \
         (pass --no-verify-signature to use them anyway)"
    )]
    Unsigned { file: String },
    #[error("{file}:{line}: {message}")]
    Paragraph {
        file: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Control(#[from] crate::control::Error),
}
