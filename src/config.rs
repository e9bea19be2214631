//! `config`: the only place that reads environment variables.
//!
//! `Config::from_env()` reads them once at the edge; everything else gets a
//! `Config` value. `Config::from_vars` takes any lookup so tests need not
//! touch the process environment.

use std::path::PathBuf;

/// What the environment says about who we are and where things go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Changelog maintainer name: DEBFULLNAME, else the name part of a
    /// `Name <email>` DEBEMAIL (as dch does).
    pub full_name: Option<String>,
    /// Changelog maintainer address: DEBEMAIL (its `<…>` part if it has one).
    pub email: Option<String>,
    /// SOURCE_DATE_EPOCH: the timestamp for changelog entries and tarballs.
    pub source_date_epoch: Option<i64>,
    /// CASCADE_CACHE_DIR, else the XDG cache dir's `cascade`.
    pub cache_dir: PathBuf,
    /// CASCADE_MIRROR: overrides the stack's mirror.
    pub mirror: Option<String>,
    /// CI=true: running in a CI job (no progress bars, no prompts).
    pub ci: bool,
    /// TMPDIR, else `/tmp`: where each build's own temp dir is made.
    pub tmp_dir: PathBuf,
    /// CASCADE_BUILD_CACHE, else `/var/cache/cascade`: the .deb pool and
    /// the ccache directories every local build shares. Not under a home
    /// directory: sbuild's unshared build user must reach it.
    pub build_cache: PathBuf,
    /// CASCADE_CCACHE_DIR, else `BUILD_CACHE/ccache`: the per-arch ccache
    /// directories (`DIR/ARCH`). A CI job sets it inside its project
    /// directory, which GitLab caches between pipelines. Relative: to the
    /// current directory.
    pub ccache_dir: Option<PathBuf>,
    /// CASCADE_HTTP_TIMEOUT (seconds): connect and stall timeout of mirror
    /// requests; default apt's 30.
    pub http_timeout: Option<std::time::Duration>,
    /// CASCADE_HTTP_RETRIES: further attempts after a timeout or a 5xx.
    pub http_retries: Option<u32>,
    /// CASCADE_KEYRING: the keyring Release signatures are checked with.
    pub keyring: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("SOURCE_DATE_EPOCH=`{value}` is not an integer number of seconds since 1970")]
    SourceDateEpoch { value: String },
    #[error("no cache directory: set CASCADE_CACHE_DIR or HOME")]
    NoCacheDir,
    #[error("{name}=`{value}` is not a whole number")]
    Number { name: &'static str, value: String },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, Error> {
        Config::from_vars(|name| std::env::var(name).ok())
    }

    /// Builds a config from `lookup`; unset and empty variables are the same.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let (email_name, email) = match var("DEBEMAIL") {
            Some(v) => split_name_email(&v),
            None => (None, None),
        };
        let full_name = var("DEBFULLNAME")
            .map(|n| n.trim().to_string())
            .or(email_name);
        let source_date_epoch = match var("SOURCE_DATE_EPOCH") {
            Some(v) => Some(
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| Error::SourceDateEpoch { value: v.clone() })?,
            ),
            None => None,
        };
        let cache_dir = match var("CASCADE_CACHE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => dirs::cache_dir().ok_or(Error::NoCacheDir)?.join("cascade"),
        };
        let ci = var("CI").is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("true") || v == "1"
        });
        let number = |name: &'static str| -> Result<Option<u64>, Error> {
            var(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| Error::Number {
                        name,
                        value: v.clone(),
                    })
                })
                .transpose()
        };
        Ok(Config {
            http_timeout: number("CASCADE_HTTP_TIMEOUT")?.map(std::time::Duration::from_secs),
            http_retries: number("CASCADE_HTTP_RETRIES")?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            keyring: var("CASCADE_KEYRING").map(PathBuf::from),
            full_name,
            email,
            source_date_epoch,
            cache_dir,
            mirror: var("CASCADE_MIRROR").map(|m| m.trim().to_string()),
            ci,
            tmp_dir: var("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from),
            build_cache: var("CASCADE_BUILD_CACHE")
                .map_or_else(|| PathBuf::from("/var/cache/cascade"), PathBuf::from),
            ccache_dir: var("CASCADE_CCACHE_DIR").map(PathBuf::from),
        })
    }

    /// `Name <email>` for a changelog trailer, when both are known.
    pub fn maintainer(&self) -> Option<String> {
        match (&self.full_name, &self.email) {
            (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
            _ => None,
        }
    }
}

/// Splits DEBEMAIL: `Jane Doe <jane@example.org>` → (name, address); a bare
/// address has no name. Hand-written: two string searches need no crate.
fn split_name_email(value: &str) -> (Option<String>, Option<String>) {
    let value = value.trim();
    match (value.find('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = value[..open].trim();
            let email = value[open + 1..close].trim();
            (
                (!name.is_empty()).then(|| name.to_string()),
                (!email.is_empty()).then(|| email.to_string()),
            )
        }
        _ => (None, Some(value.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(move |k| map.get(k).cloned())
    }

    #[test]
    fn name_and_email_from_their_own_variables() {
        let c = config(&[
            ("DEBFULLNAME", "Jane Doe"),
            ("DEBEMAIL", "jane@example.org"),
        ])
        .unwrap();
        assert_eq!(c.full_name.as_deref(), Some("Jane Doe"));
        assert_eq!(c.email.as_deref(), Some("jane@example.org"));
        assert_eq!(
            c.maintainer().as_deref(),
            Some("Jane Doe <jane@example.org>")
        );
    }

    #[test]
    fn debemail_with_a_name_like_dch() {
        let c = config(&[("DEBEMAIL", "Jane Doe <jane@example.org>")]).unwrap();
        assert_eq!(c.full_name.as_deref(), Some("Jane Doe"));
        assert_eq!(c.email.as_deref(), Some("jane@example.org"));
    }

    #[test]
    fn debfullname_wins_over_the_name_in_debemail() {
        let c = config(&[
            ("DEBFULLNAME", "J. Doe"),
            ("DEBEMAIL", "Jane Doe <jane@example.org>"),
        ])
        .unwrap();
        assert_eq!(c.full_name.as_deref(), Some("J. Doe"));
        assert_eq!(c.email.as_deref(), Some("jane@example.org"));
    }

    #[test]
    fn nothing_set() {
        let c = config(&[]).unwrap();
        assert_eq!(c.full_name, None);
        assert_eq!(c.email, None);
        assert_eq!(c.maintainer(), None);
        assert_eq!(c.source_date_epoch, None);
        assert_eq!(c.mirror, None);
        assert!(!c.ci);
        assert!(c.cache_dir.ends_with("cascade"));
    }

    #[test]
    fn source_date_epoch_must_be_an_integer() {
        let c = config(&[("SOURCE_DATE_EPOCH", "1700000000")]).unwrap();
        assert_eq!(c.source_date_epoch, Some(1_700_000_000));
        let err = config(&[("SOURCE_DATE_EPOCH", "yesterday")]).unwrap_err();
        assert!(err.to_string().contains("`yesterday`"), "{err}");
    }

    #[test]
    fn cascade_variables_and_ci() {
        let c = config(&[
            ("CASCADE_CACHE_DIR", "/var/cache/x"),
            ("CASCADE_MIRROR", "http://127.0.0.1:8080/debian"),
            ("CI", "true"),
        ])
        .unwrap();
        assert_eq!(c.cache_dir, PathBuf::from("/var/cache/x"));
        assert_eq!(c.mirror.as_deref(), Some("http://127.0.0.1:8080/debian"));
        assert!(c.ci);
        assert!(!config(&[("CI", "false")]).unwrap().ci);
        assert!(!config(&[("CI", "")]).unwrap().ci);
    }
}
