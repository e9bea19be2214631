//! Source packages in a mirror's pool: the files a Sources paragraph lists
//! ([`pool_sources`], pure) and fetching them, each checked against the
//! size and SHA-256 of its `Checksums-Sha256` line, into one directory of
//! the cache where dpkg-source and sbuild find them together
//! ([`Fetcher::fetch_source`]). A file already there with the right
//! checksum is not fetched again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::Error;
use super::fetch::{Fetcher, FileSum, sanitize};
use super::verify::parse_sha256;
use crate::control::deb822::{Paragraph, paragraphs};
use crate::fsio::IoError;

/// One source version's files in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSource {
    pub name: String,
    pub version: String,
    /// The pool directory, relative to the mirror root (`pool/main/g/ggml`).
    pub directory: String,
    /// File name → size and SHA-256, the .dsc among them.
    pub files: BTreeMap<String, FileSum>,
}

impl PoolSource {
    /// The .dsc's file name.
    pub fn dsc(&self) -> Option<&str> {
        self.files
            .keys()
            .map(String::as_str)
            .find(|f| f.ends_with(".dsc"))
    }
}

/// The pool entries of the `wanted` sources (name → version) in the text of
/// a Sources index (`origin` names it in errors). A wanted source whose
/// version is not there is left out; a paragraph without `Directory` or
/// `Checksums-Sha256` is an error naming its line.
pub fn pool_sources(
    text: &str,
    origin: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, PoolSource>, Error> {
    let mut out = BTreeMap::new();
    for_wanted(text, origin, wanted, |found| {
        out.insert(found.name.to_string(), pool_source(found)?);
        Ok(())
    })?;
    Ok(out)
}

/// A wanted paragraph, and what errors about it name: the index, the
/// paragraph's line, the package and version.
struct Found<'p, 't> {
    p: &'p Paragraph<'t>,
    origin: &'p str,
    name: &'t str,
    version: &'t str,
}

impl<'t> Found<'_, 't> {
    fn bad(&self, what: String) -> Error {
        Error::Paragraph {
            file: self.origin.to_string(),
            line: self.p.line,
            message: format!("{} {}: {what}", self.name, self.version),
        }
    }

    fn field(&self, f: &str) -> Result<&'t str, Error> {
        self.p
            .get(f)
            .ok_or_else(|| self.bad(format!("no `{f}` field")))
    }
}

/// Calls `f` with each paragraph of `text` whose `Package` is wanted at
/// its `Version`.
fn for_wanted<'t>(
    text: &'t str,
    origin: &str,
    wanted: &BTreeMap<String, String>,
    mut f: impl FnMut(&Found<'_, 't>) -> Result<(), Error>,
) -> Result<(), Error> {
    for p in paragraphs(text) {
        let p = p.map_err(|e| Error::Paragraph {
            file: origin.to_string(),
            line: e.line,
            message: e.message,
        })?;
        let (Some(name), Some(version)) = (p.get("Package"), p.get("Version")) else {
            continue;
        };
        if wanted.get(name).map(String::as_str) == Some(version) {
            f(&Found {
                p: &p,
                origin,
                name,
                version,
            })?;
        }
    }
    Ok(())
}

fn pool_source(found: &Found<'_, '_>) -> Result<PoolSource, Error> {
    let directory = found.field("Directory")?.to_string();
    let files = parse_sha256(found.field("Checksums-Sha256")?);
    if !files.keys().any(|f| f.ends_with(".dsc")) {
        return Err(found.bad("`Checksums-Sha256` lists no .dsc".into()));
    }
    Ok(PoolSource {
        name: found.name.to_string(),
        version: found.version.to_string(),
        directory,
        files,
    })
}

/// One binary package's file in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDeb {
    /// Relative to the mirror root (`pool/main/g/glibc/libc6_2.41-1_amd64.deb`).
    pub filename: String,
    pub sum: FileSum,
}

/// The pool files of the `wanted` binaries (name → version) in the text of
/// a Packages index; a wanted binary at another version is left out.
pub fn pool_debs(
    text: &str,
    origin: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, PoolDeb>, Error> {
    let mut out = BTreeMap::new();
    for_wanted(text, origin, wanted, |found| {
        let size = (found.field("Size")?.parse())
            .map_err(|_| found.bad("`Size` is not a number".into()))?;
        let sum = FileSum {
            size,
            sha256: found.field("SHA256")?.to_ascii_lowercase(),
        };
        let filename = found.field("Filename")?.to_string();
        out.insert(found.name.to_string(), PoolDeb { filename, sum });
        Ok(())
    })?;
    Ok(out)
}

/// Whether `bytes` are the file `want` describes; the mismatch otherwise.
fn mismatch(bytes: &[u8], want: &FileSum) -> Option<String> {
    if bytes.len() as u64 != want.size {
        return Some(format!(
            "size {} where Sources says {}",
            bytes.len(),
            want.size
        ));
    }
    let got = hex::encode(sha2::Sha256::digest(bytes));
    (got != want.sha256).then(|| format!("SHA256 {got} where Sources says {}", want.sha256))
}

impl Fetcher {
    /// Fetches `src`'s files into `CACHE/pool/NAME_VERSION/` and returns the
    /// .dsc's path there. Each file is checked against its Sources line; a
    /// file the mirror lacks (the pool keeps only current versions) is
    /// [`Error::NotFound`].
    pub fn fetch_source(&self, src: &PoolSource) -> Result<PathBuf, Error> {
        let name = sanitize(&format!("{}_{}", src.name, src.version));
        let dir = self.cache_dir().join("pool").join(name);
        let what = format!("{} {} source file", src.name, src.version);
        for (file, want) in &src.files {
            let rel = format!("{}/{file}", src.directory);
            self.fetch_checked(&rel, &dir.join(file), want, &what)?;
        }
        Ok(dir.join(src.dsc().unwrap_or_default()))
    }

    /// Fetches a binary package into `CACHE/pool/debs/`, checked against
    /// its Packages line; returns its path there.
    pub fn fetch_deb(&self, deb: &PoolDeb) -> Result<PathBuf, Error> {
        let base = deb.filename.rsplit('/').next().unwrap_or(&deb.filename);
        let dest = self
            .cache_dir()
            .join("pool")
            .join("debs")
            .join(sanitize(base));
        self.fetch_checked(&deb.filename, &dest, &deb.sum, "binary package")?;
        Ok(dest)
    }

    /// `rel` of the mirror at `dest`, unless a file with the right checksum
    /// is there already.
    fn fetch_checked(
        &self,
        rel: &str,
        dest: &Path,
        want: &FileSum,
        what: &str,
    ) -> Result<(), Error> {
        if std::fs::read(dest).is_ok_and(|b| mismatch(&b, want).is_none()) {
            return Ok(());
        }
        let url = self.mirror().describe(rel);
        let Some(bytes) = self.get(rel)? else {
            return Err(Error::NotFound {
                what: what.to_string(),
                url,
                how: self.mirror().not_found(),
            });
        };
        if let Some(message) = mismatch(&bytes, want) {
            return Err(Error::Checksum { file: url, message });
        }
        crate::outfile::write_atomic(dest, &bytes).map_err(|e| IoError::new(dest, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &str = "\
Package: ggml
Version: 0.9.4-1
Directory: pool/main/g/ggml
Checksums-Sha256:
 aaaa 100 ggml_0.9.4-1.dsc
 bbbb 2000 ggml_0.9.4.orig.tar.xz

Package: ggml
Version: 0.9.3-2
Directory: pool/main/g/ggml
Checksums-Sha256:
 cccc 100 ggml_0.9.3-2.dsc

Package: spfft
Version: 1.1.1-1
Checksums-Sha256:
 dddd 100 spfft_1.1.1-1.dsc
";

    fn wanted(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_wanted_version_s_files_and_directory_are_read() {
        let got = pool_sources(SOURCES, "Sources", &wanted(&[("ggml", "0.9.3-2")])).unwrap();
        let ggml = &got["ggml"];
        assert_eq!(ggml.directory, "pool/main/g/ggml");
        assert_eq!(ggml.dsc(), Some("ggml_0.9.3-2.dsc"));
        assert_eq!(ggml.files["ggml_0.9.3-2.dsc"].sha256, "cccc");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn a_version_not_in_sources_is_left_out() {
        let got = pool_sources(SOURCES, "Sources", &wanted(&[("ggml", "0.8")])).unwrap();
        assert!(got.is_empty());
    }

    #[test]
    fn a_paragraph_without_directory_names_its_line_and_field() {
        let err = pool_sources(SOURCES, "Sources", &wanted(&[("spfft", "1.1.1-1")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Sources"), "{text}");
        assert!(text.contains("14"), "{text}");
        assert!(text.contains("Directory"), "{text}");
    }

    #[test]
    fn a_wanted_binary_s_pool_file_and_checksum_are_read() {
        let text = "Package: libdemoruntime0\nVersion: 7.1.0-1\nFilename: pool/main/d/demo-runtime/libdemoruntime0_7.1.0-1_amd64.deb\nSize: 1234\nSHA256: ABCD\n\nPackage: other\nVersion: 1\n";
        let got = pool_debs(
            text,
            "Packages",
            &wanted(&[("libdemoruntime0", "7.1.0-1"), ("other", "2")]),
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        let d = &got["libdemoruntime0"];
        assert!(d.filename.ends_with("libdemoruntime0_7.1.0-1_amd64.deb"));
        assert_eq!((d.sum.size, d.sum.sha256.as_str()), (1234, "abcd"));
        let bad = "Package: x\nVersion: 1\nFilename: f\nSize: big\nSHA256: 00\n";
        let err = pool_debs(bad, "Packages", &wanted(&[("x", "1")])).unwrap_err();
        assert!(err.to_string().contains("Size"), "{err}");
    }

    #[test]
    fn a_file_is_checked_by_size_then_digest() {
        let bytes = b"hello";
        let digest = hex::encode(sha2::Sha256::digest(bytes));
        let ok = FileSum {
            size: 5,
            sha256: digest.clone(),
        };
        assert_eq!(mismatch(bytes, &ok), None);
        let short = FileSum {
            size: 4,
            ..ok.clone()
        };
        assert!(mismatch(bytes, &short).unwrap().contains("size 5"));
        let other = FileSum {
            sha256: "00".into(),
            ..ok
        };
        assert!(mismatch(bytes, &other).unwrap().contains(&digest));
    }
}
