//! Resumable run state: `RUNDIR/state.json` holds every finished result with
//! the hash of the inputs it was built from.
//!
//! The file is replaced atomically (a temporary file in the same directory,
//! fsync, rename, fsync of the directory), so a `kill -9` at any moment leaves
//! either the old or the new state, never a torn one. Stray temporary files a
//! killed run leaves behind are ignored.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::events::BuildResult;
use crate::schedule::JobKey;

/// The state file's name inside the run directory.
pub use crate::rundir::STATE as STATE_FILE;
/// Bumped when the file's layout changes; older files are then ignored.
pub const SCHEMA: &str = "cascade-state/1";

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error("{path}: not a cascade state file ({source}); move it away to start the run afresh")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

use crate::fsio::at as io;

/// Everything a build's result depends on. Two builds with equal inputs give
/// the same result, so the second one can be skipped.
#[derive(Clone, Debug, Serialize)]
pub struct Inputs<'a> {
    pub source: &'a str,
    pub arch: &'a str,
    pub version: &'a str,
    /// sha256 of the .dsc (which itself pins the tarballs' hashes).
    pub dsc_sha256: &'a str,
    /// File names (`name_version_arch.deb`) of the stack .debs built against.
    pub stack_debs: Vec<String>,
    /// Input hashes of the builds that produced those .debs: a dependency
    /// rebuilt from a changed .dsc under the same version yields .debs of the
    /// same names, and its dependents must still be redone.
    pub dep_hashes: Vec<String>,
    /// Identifies the chroot tarball: see [`chroot_id`].
    pub chroot: &'a str,
    pub mode: &'a str,
    pub profiles: &'a [String],
    pub arch_all: bool,
    pub binnmu: Option<&'a (u32, String)>,
}

impl Inputs<'_> {
    /// Hex sha256 over a canonical JSON encoding of the inputs.
    pub fn hash(&self) -> String {
        let mut me = self.clone();
        me.stack_debs.sort();
        me.dep_hashes.sort();
        let mut profiles = me.profiles.to_vec();
        profiles.sort();
        let canon = serde_json::json!({
            "source": me.source, "arch": me.arch, "version": me.version,
            "dsc": me.dsc_sha256, "debs": me.stack_debs, "deps": me.dep_hashes, "chroot": me.chroot,
            "mode": me.mode, "profiles": profiles, "arch_all": me.arch_all,
            "binnmu": me.binnmu,
        });
        hex::encode(Sha256::digest(canon.to_string().as_bytes()))
    }
}

/// Hex sha256 of a file's contents.
pub fn file_sha256(path: &Path) -> Result<String, Error> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Identifies a chroot tarball by path, mtime and size: a refreshed tarball
/// changes the id without hashing gigabytes.
pub fn chroot_id(path: &Path) -> Result<String, Error> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!("{}:{}:{}", path.display(), mtime, meta.len()))
}

/// One recorded result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub input_hash: String,
    pub result: BuildResult,
}

/// All results of a run directory, keyed by `source/arch`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub schema: String,
    pub entries: BTreeMap<String, Entry>,
}

impl RunState {
    pub fn new() -> RunState {
        RunState {
            schema: SCHEMA.to_string(),
            entries: BTreeMap::new(),
        }
    }

    /// Reads `RUNDIR/state.json`; an absent file or one of an older schema is
    /// an empty state.
    pub fn load(run_dir: &Path) -> Result<RunState, Error> {
        let path = crate::rundir::RunDir::new(run_dir).state();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RunState::new()),
            Err(e) => return Err(io(&path)(e).into()),
        };
        let state: RunState =
            serde_json::from_str(&text).map_err(|source| Error::Corrupt { path, source })?;
        if state.schema != SCHEMA {
            return Ok(RunState::new());
        }
        Ok(state)
    }

    /// Replaces `RUNDIR/state.json` atomically.
    pub fn save(&self, run_dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(run_dir).map_err(io(run_dir))?;
        let path = crate::rundir::RunDir::new(run_dir).state();
        let json = serde_json::to_vec_pretty(self).map_err(|source| Error::Corrupt {
            path: path.clone(),
            source,
        })?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".state.json.")
            .tempfile_in(run_dir)
            .map_err(io(run_dir))?;
        tmp.write_all(&json).map_err(io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        tmp.persist(&path).map_err(|e| io(&path)(e.error))?;
        // The rename itself must reach the disk too.
        if let Ok(dir) = std::fs::File::open(run_dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    pub fn get(&self, key: &JobKey) -> Option<&Entry> {
        self.entries.get(&key.to_string())
    }

    pub fn record(&mut self, key: &JobKey, input_hash: String, result: BuildResult) {
        self.entries
            .insert(key.to_string(), Entry { input_hash, result });
    }

    /// The results, sorted by source then arch.
    pub fn results(&self) -> Vec<BuildResult> {
        self.entries.values().map(|e| e.result.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::events::Outcome;

    fn result(source: &str) -> BuildResult {
        BuildResult {
            source: source.into(),
            arch: Arch::new("amd64").unwrap(),
            version: "1.0-1".into(),
            outcome: Outcome::Ok,
            expected_failure: None,
            log: Some("logs/x_1.0-1_amd64.build".into()),
            duration_secs: 3.5,
            debs: vec!["out/x_1.0-1_amd64.deb".into()],
            reused: false,
            stats: None,
        }
    }

    fn inputs(debs: Vec<String>) -> String {
        Inputs {
            source: "x",
            arch: "amd64",
            version: "1.0-1",
            dsc_sha256: "abc",
            stack_debs: debs,
            dep_hashes: Vec::new(),
            chroot: "/srv/sid-amd64.tar.zst:1:2",
            mode: "native",
            profiles: &[],
            arch_all: false,
            binnmu: None,
        }
        .hash()
    }

    #[test]
    fn the_hash_changes_with_any_input_but_not_with_deb_order() {
        let a = inputs(vec!["a_1_amd64.deb".into(), "b_1_amd64.deb".into()]);
        let b = inputs(vec!["b_1_amd64.deb".into(), "a_1_amd64.deb".into()]);
        let c = inputs(vec!["a_2_amd64.deb".into(), "b_1_amd64.deb".into()]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RunState::new();
        let key = JobKey::new("x", Arch::new("amd64").unwrap());
        s.record(&key, "h1".into(), result("x"));
        s.save(dir.path()).unwrap();
        let back = RunState::load(dir.path()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.get(&key).unwrap().input_hash, "h1");
        // Only the state file is left: no temporary files.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [STATE_FILE]);
    }

    #[test]
    fn a_missing_file_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RunState::load(dir.path()).unwrap().entries.is_empty());
    }

    #[test]
    fn a_partial_temp_file_left_by_a_killed_run_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RunState::new();
        s.record(
            &JobKey::new("x", Arch::new("amd64").unwrap()),
            "h".into(),
            result("x"),
        );
        s.save(dir.path()).unwrap();
        // What a kill -9 between write and rename leaves behind.
        std::fs::write(dir.path().join(".state.json.Xa1b2c"), "{\"schema\": \"casc").unwrap();
        assert_eq!(RunState::load(dir.path()).unwrap(), s);
        // And the next save still works next to it.
        s.save(dir.path()).unwrap();
        assert_eq!(RunState::load(dir.path()).unwrap(), s);
    }

    #[test]
    fn a_damaged_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), "{ not json").unwrap();
        let err = RunState::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
    }

    #[test]
    fn another_schema_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(STATE_FILE),
            r#"{"schema":"cascade-state/0","entries":{}}"#,
        )
        .unwrap();
        assert!(RunState::load(dir.path()).unwrap().entries.is_empty());
    }

    /// Not a test on its own: the child process of
    /// `kill_9_while_saving_never_corrupts_the_state`, saving in a loop.
    #[test]
    #[ignore]
    fn save_loop_child() {
        let Some(dir) = std::env::var_os("CASCADE_STATE_CHILD_DIR") else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        let mut s = RunState::new();
        for i in 0.. {
            let key = JobKey::new(format!("p{i}"), Arch::new("amd64").unwrap());
            s.record(&key, format!("h{i}"), result(&format!("p{i}")));
            s.save(&dir).unwrap();
        }
    }

    #[test]
    fn kill_9_while_saving_never_corrupts_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let mut seen = 0;
        for round in 0..12u64 {
            let mut child = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "state::tests::save_loop_child",
                    "--ignored",
                    "--quiet",
                ])
                .env("CASCADE_STATE_CHILD_DIR", dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Vary the moment of the kill; nothing is asserted about time.
            std::thread::sleep(std::time::Duration::from_millis(20 + round * 7));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let state = RunState::load(dir.path()).expect("state.json is always whole");
            // Every entry saved is complete and consistent.
            for (k, e) in &state.entries {
                assert_eq!(format!("{}/amd64", e.result.source), *k);
            }
            seen = seen.max(state.entries.len());
        }
        assert!(
            seen > 0,
            "the child process saved something before being killed"
        );
    }
}
