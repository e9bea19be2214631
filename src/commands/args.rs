//! Arguments several subcommands share: where archive indices come from
//! and how far they are trusted (`--mirror`, `--cache-dir`,
//! `--allow-expired`, `--no-verify-signature`) and packaging checkouts
//! (`--checkout PKG=PATH`). One declaration, one help text, one reading of
//! the environment's defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::Error;
use crate::archive::{FetchOptions, Policy};
use crate::config::Config;
use crate::recipe::Recipes;

/// Where the archive's Sources and Packages indices come from.
#[derive(Clone, Debug, Default, clap::Args)]
// Flattened into commands that are flattened themselves (`run` ⊃ `build`):
// no clap group of its own.
#[group(skip)]
pub struct ArchiveArgs {
    /// Mirror: a URL (http, https, file) or a directory laid out like one;
    /// default: CASCADE_MIRROR, else the stack's.
    #[arg(long, value_name = "URL|DIR")]
    pub mirror: Option<String>,
    /// Where downloaded indices are cached; default: CASCADE_CACHE_DIR, else
    /// the XDG cache dir's `cascade`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use indices whose Release file's Valid-Until has passed (snapshots).
    #[arg(long)]
    pub allow_expired: bool,
    /// Don't check the Release file's signature (InRelease or Release.gpg)
    /// with the Debian archive keyring; indices are still checked against
    /// the Release file's SHA256 lines.
    #[arg(long)]
    pub no_verify_signature: bool,
}

impl ArchiveArgs {
    /// `--mirror`, else CASCADE_MIRROR; `None` leaves the choice to the stack.
    pub fn mirror(&self, config: &Config) -> Option<String> {
        self.mirror.clone().or_else(|| config.mirror.clone())
    }

    /// Timeouts, retries and signature checking: the flags, then the
    /// environment (CASCADE_HTTP_TIMEOUT, CASCADE_HTTP_RETRIES,
    /// CASCADE_KEYRING), then apt's defaults.
    pub fn policy(&self, config: &Config) -> Policy {
        let default = Policy::default();
        Policy {
            timeout: config.http_timeout.unwrap_or(default.timeout),
            retries: config.http_retries.unwrap_or(default.retries),
            verify_signature: !self.no_verify_signature,
            keyring: config.keyring.clone().unwrap_or(default.keyring),
        }
    }

    /// Everything a [`crate::archive::Fetcher`] needs from these arguments.
    pub fn fetch_options(&self, config: &Config) -> FetchOptions {
        FetchOptions {
            cache_dir: Some(self.cache_dir(config)),
            allow_expired: self.allow_expired,
            policy: self.policy(config),
        }
    }

    /// `--cache-dir`, else the config's (CASCADE_CACHE_DIR or XDG).
    pub fn cache_dir(&self, config: &Config) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| config.cache_dir.clone())
    }
}

/// Parses `--checkout PKG=PATH` arguments; every PKG must have a recipe.
pub fn checkouts(args: &[String], recipes: &Recipes) -> Result<BTreeMap<String, PathBuf>, Error> {
    let mut out = BTreeMap::new();
    for c in args {
        let (pkg, path) = c
            .split_once('=')
            .filter(|(pkg, path)| !pkg.is_empty() && !path.is_empty())
            .ok_or_else(|| Error::Usage(format!("--checkout `{c}`: expected PKG=PATH")))?;
        if recipes.get(pkg).is_none() {
            return Err(Error::Usage(format!(
                "--checkout {pkg}: no recipe for {pkg} in {}",
                recipes.dir.display()
            )));
        }
        out.insert(pkg.to_string(), PathBuf::from(path));
    }
    Ok(out)
}
