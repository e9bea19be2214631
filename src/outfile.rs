//! Writing a user-named output file (`--out`): atomically where that is
//! safe, straight through where a rename would destroy what is there.
//!
//! A rename replaces the directory entry, so it is only right for a regular
//! file (or a path that does not exist yet): over a symlink it would replace
//! the link, over a FIFO or a device node (`--out /dev/null`, as root) it
//! would replace the node. A symlink to a regular file is followed and its
//! target replaced atomically; anything else is opened and written through.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` as `--out` should (see the module comment).
pub fn write_out(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match target(path)? {
        Target::Atomic(real) => write_atomic(&real, bytes),
        Target::Through => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?;
            f.write_all(bytes)?;
            f.flush()
        }
    }
}

/// Writes a regular file through a temporary sibling and a rename, so a
/// reader (or a CI artifact upload) never sees half of it. The file keeps
/// the permissions of the one it replaces.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

enum Target {
    /// Replace this regular file (or create it) by a rename.
    Atomic(PathBuf),
    /// Open the path and write into what is there.
    Through,
}

fn target(path: &Path) -> std::io::Result<Target> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target::Atomic(path.to_path_buf()));
        }
        Err(e) => return Err(e),
    };
    if meta.file_type().is_file() {
        return Ok(Target::Atomic(path.to_path_buf()));
    }
    if meta.file_type().is_symlink() {
        // Every link in the chain resolved; a dangling link is written
        // through, which creates its target as `>` in a shell would.
        if let Ok(real) = std::fs::canonicalize(path)
            && std::fs::metadata(&real).is_ok_and(|m| m.is_file())
        {
            return Ok(Target::Atomic(real));
        }
    }
    Ok(Target::Through)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_and_absent_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_out(&p, b"one").unwrap();
        write_out(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_out(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // Dangling: the target is created, the link kept.
        let gone = dir.path().join("gone.txt");
        let dangling = dir.path().join("dangling.txt");
        std::os::unix::fs::symlink(&gone, &dangling).unwrap();
        write_out(&dangling, b"x").unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert_eq!(std::fs::read(&gone).unwrap(), b"x");
    }

    #[test]
    fn a_device_node_is_written_through_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        write_out(Path::new("/dev/null"), b"discarded").unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device());
    }

    #[test]
    fn a_fifo_is_written_through() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_out(&fifo, b"through").unwrap();
        assert_eq!(reader.join().unwrap(), b"through");
        let meta = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(meta.file_type().is_fifo());
    }
}
