//! Trusting what a mirror sent, as apt does: the Release file's signature
//! (InRelease or Release + Release.gpg) checked with the archive keyring by
//! `gpgv`, and every index checked against the size and SHA-256 that
//! Release lists for it.
//!
//! gpgv rather than an OpenPGP crate: it is what apt itself calls, it is on
//! every Debian system, and the keyring is in its format.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::Digest;

use super::Error;
use super::fetch::FileSum;
use crate::process::Cmd;

/// The `SHA256` lines of a Release file, by path below the suite's directory.
pub fn parse_sha256(value: &str) -> BTreeMap<String, FileSum> {
    value
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (sha256, size, path) = (words.next()?, words.next()?, words.next()?);
            let size = size.parse().ok()?;
            let entry = FileSum {
                size,
                sha256: sha256.to_ascii_lowercase(),
            };
            Some((path.to_string(), entry))
        })
        .collect()
}

/// Checks `bytes` (the file `name`, `path` below the suite) against the
/// Release's line for it. An index the Release does not list is refused:
/// nothing says it is the one the archive published.
pub fn check_index(
    sums: &BTreeMap<String, FileSum>,
    path: &str,
    bytes: &[u8],
    name: &str,
) -> Result<(), Error> {
    let mismatch = |message: String| Error::Checksum {
        file: name.to_string(),
        message,
    };
    let Some(want) = sums.get(path) else {
        return Err(mismatch(if sums.is_empty() {
            "the Release file lists no SHA256 checksums".into()
        } else {
            format!("`{path}` is not listed in the Release file's SHA256")
        }));
    };
    if bytes.len() as u64 != want.size {
        return Err(mismatch(format!(
            "size {} where Release says {}",
            bytes.len(),
            want.size
        )));
    }
    let got = hex::encode(sha2::Sha256::digest(bytes));
    if got != want.sha256 {
        return Err(mismatch(format!(
            "SHA256 {got} where Release says {}",
            want.sha256
        )));
    }
    Ok(())
}

/// How a signature check went.
pub enum Signed {
    /// Checked; the signed text (for InRelease, without the armour).
    Good(Vec<u8>),
    /// gpgv or the keyring is not installed: nothing was checked.
    Unchecked,
}

/// Verifies an inline-signed InRelease and returns what it signs.
pub fn inline(keyring: &Path, signed: &[u8], name: &str) -> Result<Signed, Error> {
    let dir = temp(name)?;
    let file = dir.path().join("InRelease");
    write(&file, signed, name)?;
    let out = dir.path().join("Release");
    // Options first: gpgv stops reading options at the first file name.
    let argv = ["--output".as_ref(), out.as_os_str(), file.as_os_str()];
    if !gpgv(keyring, &argv, name)? {
        return Ok(Signed::Unchecked);
    }
    std::fs::read(&out)
        .map(Signed::Good)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(out, source)))
}

/// Verifies `release` against its detached signature `Release.gpg`.
pub fn detached(
    keyring: &Path,
    signature: &[u8],
    release: &[u8],
    name: &str,
) -> Result<Signed, Error> {
    let dir = temp(name)?;
    let (sig, data) = (dir.path().join("Release.gpg"), dir.path().join("Release"));
    write(&sig, signature, name)?;
    write(&data, release, name)?;
    if !gpgv(keyring, &[sig.as_os_str(), data.as_os_str()], name)? {
        return Ok(Signed::Unchecked);
    }
    Ok(Signed::Good(release.to_vec()))
}

/// Runs gpgv; `Ok(false)` when it or the keyring is not installed.
fn gpgv(keyring: &Path, args: &[&std::ffi::OsStr], name: &str) -> Result<bool, Error> {
    if !keyring.is_file() {
        return Ok(false);
    }
    let cmd = Cmd::new("gpgv")
        .arg("--keyring")
        .arg(keyring)
        .args(args.iter().copied());
    match cmd.run() {
        Ok(_) => Ok(true),
        Err(crate::process::Error::Spawn { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::Signature {
            file: name.to_string(),
            message: e.to_string(),
        }),
    }
}

fn temp(name: &str) -> Result<tempfile::TempDir, Error> {
    tempfile::tempdir().map_err(|source| Error::Io(crate::fsio::IoError::new(name, source)))
}

fn write(path: &Path, bytes: &[u8], name: &str) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|source| Error::Io(crate::fsio::IoError::new(name, source)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_refuse_what_release_does_not_vouch_for() {
        let body = b"Package: a\n";
        let sha = hex::encode(sha2::Sha256::digest(body));
        let sums = parse_sha256(&format!(
            "\n {sha} {} main/source/Sources\n {sha}  1 main/x",
            body.len()
        ));
        assert_eq!(sums.len(), 2);
        check_index(&sums, "main/source/Sources", body, "S").unwrap();
        let e = check_index(&sums, "main/source/Sources", b"Package: b\n", "S").unwrap_err();
        assert!(e.to_string().contains("S: "), "{e}");
        assert!(e.to_string().contains("SHA256"), "{e}");
        let e = check_index(&sums, "main/x", body, "X").unwrap_err();
        assert!(
            e.to_string().contains("size 11 where Release says 1"),
            "{e}"
        );
        let e = check_index(&sums, "main/y", body, "Y").unwrap_err();
        assert!(e.to_string().contains("not listed"), "{e}");
        let e = check_index(&BTreeMap::new(), "main/y", body, "Y").unwrap_err();
        assert!(e.to_string().contains("lists no SHA256"), "{e}");
    }
}
