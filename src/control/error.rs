//! The errors of `control`.

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    /// A deb822 syntax error (not `Field: value`, stray continuation line).
    #[error("{origin}:{line}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        message: String,
    },
    /// A relation field that does not parse.
    #[error("{origin}:{line}: field {field}: {message}")]
    Relation {
        origin: String,
        line: usize,
        field: String,
        message: String,
    },
    /// A paragraph lacks a field cascade needs.
    #[error("{origin}:{line}: missing field {field}")]
    MissingField {
        origin: String,
        line: usize,
        field: &'static str,
    },
}
