//! The parsed-index cache: a parsed index (or anything built from indices
//! alone) stored on disk in a compact binary form (postcard), keyed by the
//! SHA-256 the suite's Release gives each index read. A warm run finds the
//! key in the (verified) Release and loads the parsed form: it reads no
//! compressed index and parses no text.
//!
//! One directory per archive, `CACHE/parsed/ARCHIVE/` ([`for_archive`]):
//! two archives with a suite of the same name (the Debian mirror's sid and
//! a local one given with `--extra-archive`) would otherwise replace each
//! other's files on every run, each a miss for the other. In it one file
//! per cached thing, `NAME.KEY`: a magic, the [`FORMAT`] version, a
//! checksum of the payload, the payload. A file of
//! another format, a bad checksum or a payload that does not decode is a
//! miss (the caller parses again and rewrites it); files are written to a
//! temporary file and renamed, and an older key of the same NAME is removed.
//!
//! Why postcard: serde-based (the types already derive serde), small and
//! fast, well kept; the checksum is FxHash (rustc-hash, already a
//! dependency), enough to catch a truncated or damaged file.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::fetch::sanitize;

const MAGIC: &[u8; 8] = b"cascPRSD";

/// Bump when any cached type changes shape: older files are then misses.
pub const FORMAT: u32 = 5;

/// A directory of parsed indices.
#[derive(Clone, Debug)]
pub struct ParsedCache {
    dir: PathBuf,
    /// Made by [`for_archive`]: writing sweeps the other archives'
    /// directories beside this one ([`sweep_beside`]).
    one_of_many: bool,
}

impl ParsedCache {
    pub fn new(dir: impl Into<PathBuf>) -> ParsedCache {
        ParsedCache {
            dir: dir.into(),
            one_of_many: false,
        }
    }

    fn path(&self, name: &str, key: &str) -> PathBuf {
        self.dir
            .join(format!("{}.{}", sanitize(name), sanitize(key)))
    }

    /// The value stored under `name` for `key`, if any and intact.
    pub fn get<T: DeserializeOwned>(&self, name: &str, key: &str) -> Option<T> {
        let bytes = std::fs::read(self.path(name, key)).ok()?;
        let payload = check(&bytes)?;
        match postcard::from_bytes(payload) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!("parsed cache {name}: does not decode ({e}); parsing again");
                None
            }
        }
    }

    /// Stores `value` under `name` for `key`, atomically, removing the
    /// files of other keys of `name`.
    pub fn put<T: Serialize>(&self, name: &str, key: &str, value: &T) -> std::io::Result<()> {
        // The header first, the payload serialised after it in the same
        // buffer (not copied: parsed sid indices are tens of MB).
        let mut bytes = Vec::with_capacity(1 << 20);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT.to_le_bytes());
        bytes.extend_from_slice(&0u64.to_le_bytes());
        let header = bytes.len();
        let mut bytes = postcard::to_extend(value, bytes).map_err(std::io::Error::other)?;
        let sum = checksum(&bytes[header..]);
        bytes[header - 8..header].copy_from_slice(&sum.to_le_bytes());
        std::fs::create_dir_all(&self.dir)?;
        let prefix = format!("{}.", sanitize(name));
        for old in std::fs::read_dir(&self.dir)?.flatten() {
            if old.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(old.path());
            }
        }
        let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::fs::write(tmp.path(), &bytes)?;
        tmp.persist(self.path(name, key)).map_err(|e| e.error)?;
        if self.one_of_many {
            sweep_beside(&self.dir);
        }
        Ok(())
    }

    /// The value for `key` from the cache, else `build()`'s, stored for next
    /// time (a cache that can't be written only costs a parse next time).
    /// Without a key (an index Release does not list) nothing is cached.
    pub fn get_or<T, E>(
        &self,
        name: &str,
        key: Option<&str>,
        build: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
    {
        let Some(key) = key else { return build() };
        if let Some(v) = self.get(name, key) {
            return Ok(v);
        }
        let v = build()?;
        if let Err(e) = self.put(name, key, &v) {
            tracing::warn!("cannot write the parsed cache {name}: {e}");
        }
        Ok(v)
    }
}

/// The payload of a file of this format whose checksum matches.
fn check(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (format, rest) = rest.split_first_chunk::<4>()?;
    let (sum, payload) = rest.split_first_chunk::<8>()?;
    (u32::from_le_bytes(*format) == FORMAT && u64::from_le_bytes(*sum) == checksum(payload))
        .then_some(payload)
}

fn checksum(payload: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(payload);
    h.write_usize(payload.len());
    h.finish()
}

/// An archive's directory unused (nothing written in it) for this long is
/// removed when another archive's cache is written: local archives made for
/// one run (a test's, a CI job's) leave theirs behind.
pub const MAX_IDLE: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// The cache of the archive at `address` (its URL or directory) under a
/// fetcher's cache directory: `parsed/TAG`, TAG the address's last
/// characters, made a file name, and a hash of the whole address.
pub fn for_archive(cache_dir: &Path, address: &str) -> ParsedCache {
    let mut h = rustc_hash::FxHasher::default();
    h.write(address.as_bytes());
    let name = sanitize(address);
    let tail = &name[name.len().saturating_sub(40)..];
    let dir = (cache_dir.join("parsed")).join(format!("{tail}-{:016x}", h.finish()));
    ParsedCache {
        dir,
        one_of_many: true,
    }
}

/// Whether `name` is an archive's directory ([`for_archive`]: a dash and
/// 16 hex digits at its end) or a file of the layout before
/// (`NAME.KEY`, KEY a SHA-256): nothing else beside them is touched.
fn is_ours(name: &str, dir: bool) -> bool {
    let (sep, digits) = if dir { ('-', 16) } else { ('.', 64) };
    name.rsplit_once(sep).is_some_and(|(_, tail)| {
        tail.len() == digits && tail.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Removes, beside `dir`, the files of the layout before archives had a
/// directory each and the directories of archives unused for [`MAX_IDLE`].
fn sweep_beside(dir: &Path) {
    let Some(parent) = dir.parent() else { return };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let (path, Ok(meta)) = (entry.path(), entry.metadata()) else {
            continue;
        };
        if !is_ours(&entry.file_name().to_string_lossy(), meta.is_dir()) {
            continue;
        }
        let idle = (meta.modified().ok())
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > MAX_IDLE);
        if meta.is_file() {
            let _ = std::fs::remove_file(&path);
        } else if idle && path != dir {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Parsed {
        names: Vec<String>,
        deps: Vec<crate::control::Dep>,
    }

    fn value() -> Parsed {
        let deps = crate::control::parse_relations("a:any (>= 1) | b, c")
            .unwrap()
            .into_iter()
            .flatten()
            .map(|r| r.dep)
            .collect();
        Parsed {
            names: vec!["x".into(), "y".into()],
            deps,
        }
    }

    /// Counts calls of the build closure.
    fn load(c: &ParsedCache, key: &str, builds: &mut usize) -> Parsed {
        c.get_or("sid_riscv64", Some(key), || {
            *builds += 1;
            Ok::<_, ()>(value())
        })
        .unwrap()
    }

    #[test]
    fn hit_after_a_miss_returns_the_same_value() {
        let dir = tempfile::tempdir().unwrap();
        let c = ParsedCache::new(dir.path());
        let mut builds = 0;
        assert_eq!(load(&c, "abc", &mut builds), value());
        assert_eq!(load(&c, "abc", &mut builds), value());
        assert_eq!(builds, 1, "the second load is a hit");
        // `None` fields survive the binary form (JSON leaves them out).
        assert_eq!(value().deps[1].version, None);
    }

    #[test]
    fn archives_with_a_suite_of_the_same_name_keep_their_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let debian = for_archive(dir.path(), "http://deb.debian.org/debian");
        let local = for_archive(dir.path(), "/tmp/x/demo/archive");
        let mut builds = 0;
        load(&debian, "abc", &mut builds);
        load(&local, "def", &mut builds);
        load(&debian, "abc", &mut builds);
        load(&local, "def", &mut builds);
        assert_eq!(builds, 2, "each archive's second load is a hit");
    }

    #[test]
    fn writing_removes_idle_archives_and_files_of_the_old_layout() {
        let dir = tempfile::tempdir().unwrap();
        let parsed = dir.path().join("parsed");
        let idle = for_archive(dir.path(), "/tmp/old");
        let recent = for_archive(dir.path(), "/tmp/recent");
        let mut builds = 0;
        load(&idle, "abc", &mut builds);
        load(&recent, "abc", &mut builds);
        let old = format!("sources.sid.{}", "ab".repeat(32));
        std::fs::write(parsed.join(old), b"old layout").unwrap();
        // Nothing else there is touched, however old.
        std::fs::write(parsed.join("notes.txt"), b"mine").unwrap();
        std::fs::create_dir(parsed.join("mine")).unwrap();
        let mine = std::fs::File::open(parsed.join("mine")).unwrap();
        mine.set_modified(std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        let long_ago = std::time::SystemTime::now() - MAX_IDLE - MAX_IDLE;
        std::fs::File::open(&idle.dir)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        load(&for_archive(dir.path(), "/tmp/new"), "abc", &mut builds);
        let mut left: Vec<_> = (std::fs::read_dir(&parsed).unwrap().flatten())
            .map(|e| e.path())
            .collect();
        left.sort();
        let mut want = vec![
            recent.dir.clone(),
            for_archive(dir.path(), "/tmp/new").dir,
            parsed.join("notes.txt"),
            parsed.join("mine"),
        ];
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn a_cache_made_with_new_sweeps_nothing_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let beside = dir.path().join(format!("sources.sid.{}", "ab".repeat(32)));
        std::fs::write(&beside, b"x").unwrap();
        let mut builds = 0;
        load(&ParsedCache::new(dir.path().join("c")), "abc", &mut builds);
        assert!(beside.is_file());
    }

    #[test]
    fn changed_hash_is_a_miss_and_replaces_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = ParsedCache::new(dir.path());
        let mut builds = 0;
        load(&c, "abc", &mut builds);
        load(&c, "def", &mut builds);
        assert_eq!(builds, 2);
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "one file per name");
        assert!(c.get::<Parsed>("sid_riscv64", "abc").is_none());
    }

    #[test]
    fn corrupt_truncated_or_other_format_files_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let c = ParsedCache::new(dir.path());
        let path = c.path("sid_riscv64", "abc");
        let mut builds = 0;
        load(&c, "abc", &mut builds);
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0x55;
        let mut other_format = good.clone();
        other_format[8] = other_format[8].wrapping_add(1);
        for bad in [
            flipped,
            good[..good.len() - 3].to_vec(),
            other_format,
            vec![],
        ] {
            std::fs::write(&path, &bad).unwrap();
            let before = builds;
            assert_eq!(load(&c, "abc", &mut builds), value());
            assert_eq!(builds, before + 1, "a damaged file is a miss");
            assert_eq!(std::fs::read(&path).unwrap(), good, "and is rewritten");
        }
    }
}
