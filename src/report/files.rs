//! Writes every format of a run's report into a directory (the run
//! directory, usually), each file replaced atomically.

use std::path::{Path, PathBuf};

use super::model::{Error, Report};

/// The files [`write_all`] writes, relative to its directory.
pub use crate::rundir::{JUNIT_XML, REPORT_HTML, REPORT_JSON, SUMMARY_MD};

/// Writes report.json, report.html, junit.xml and summary.md into `dir`
/// and returns their paths.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let files = [
        (REPORT_JSON, super::json::render(report)),
        (REPORT_HTML, super::html::render(report, dir)),
        (JUNIT_XML, super::junit::render(report)?),
        (SUMMARY_MD, super::markdown::render(report)),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        out.push(path);
    }
    Ok(out)
}

/// Writes a file through a temporary sibling and a rename, so a reader (or
/// a CI artifact upload) never sees half a report.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::outfile::write_atomic(path, bytes)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))
}

/// Writes a user-named `--out` file: see [`crate::outfile::write_out`].
pub fn write_out(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::outfile::write_out(path, bytes)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures;

    #[test]
    fn writes_every_format_and_the_json_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let rep = fixtures::demo();
        let written = write_all(&rep, dir.path()).unwrap();
        assert_eq!(written.len(), 4);
        assert!(written.iter().all(|p| p.is_file()));
        assert_eq!(Report::from_run(dir.path()).unwrap(), rep);
    }
}
