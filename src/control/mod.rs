//! `control`: the build relations of one source package, evaluated for one
//! architecture and a set of build profiles.
//!
//! - [`wildcard`]: dpkg's architecture tuples and wildcard matching (`linux-any`, `any-amd64`).
//! - [`relation`]: relations (`a (>= 1) [amd64] <!nocheck> | b:native`), restrictions, profiles.
//! - [`source`]: [`SourceInfo`], read from `debian/control` or a Sources paragraph.
//! - [`deb822`]: a fast, borrowing deb822 paragraph splitter with line numbers.
//!
//! Nothing here does I/O except [`SourceInfo::from_control_file`], which reads one file.

pub mod deb822;
pub mod relation;
pub mod source;
pub mod wildcard;

pub use relation::{ArchTerm, Dep, Op, ProfileTerm, Profiles, Relation, parse_relations};
pub use source::{BinaryInfo, SourceInfo};
pub use wildcard::{arch_list_matches, arch_matches};

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
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
