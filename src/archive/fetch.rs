//! Fetching index files from a mirror: a local directory laid out like a
//! mirror, `file://`, or `http(s)://` with an on-disk cache and conditional
//! requests.
//!
//! Cache policy: every file downloaded over HTTP is stored under the cache
//! directory with its `ETag`/`Last-Modified`; the next fetch sends
//! `If-None-Match`/`If-Modified-Since` and reuses the copy on `304`. When the
//! mirror cannot be reached at all (offline), a cached copy is used with a
//! warning (tracing), so that `plan` and `rdeps` keep working from the last
//! fetch (a file the mirror last answered 404 for stays absent); without a
//! cached copy the network error is returned. Local mirrors
//! are read in place and not cached.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Error;

/// Where indices come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mirror {
    /// A directory with `dists/SUITE/...` (also what a `file://` URL names).
    Dir(PathBuf),
    /// An `http://` or `https://` mirror root.
    Url(String),
}

impl Mirror {
    /// `http(s)://…` is a URL, `file:///path` and anything else a directory.
    pub fn parse(s: &str) -> Mirror {
        if let Some(path) = s.strip_prefix("file://") {
            Mirror::Dir(PathBuf::from(path))
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Mirror::Url(s.trim_end_matches('/').to_string())
        } else {
            Mirror::Dir(PathBuf::from(s))
        }
    }

    pub(super) fn not_found(&self) -> &'static str {
        match self {
            Mirror::Dir(_) => "no such file",
            Mirror::Url(_) => "HTTP 404",
        }
    }

    /// Where `rel` is: a path below the directory, or a URL.
    pub fn describe(&self, rel: &str) -> String {
        match self {
            Mirror::Dir(d) => d.join(rel).display().to_string(),
            Mirror::Url(u) => format!("{u}/{rel}"),
        }
    }
}

/// How to fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// Cache directory; `None` means `dirs::cache_dir()/cascade`.
    pub cache_dir: Option<PathBuf>,
    /// Accept a Release file whose `Valid-Until` has passed.
    pub allow_expired: bool,
    /// Timeouts, retries and signature checking.
    pub policy: Policy,
}

/// What cascade trusts and how long it waits, as apt does by default.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Connect timeout, and how long a connection may stall between two
    /// reads (apt's `Acquire::http::Timeout`, 30 s).
    pub timeout: Duration,
    /// Further attempts after a timeout or a 5xx answer, waiting 1 s, 2 s,
    /// 4 s … in between (apt's `Acquire::Retries`, 3).
    pub retries: u32,
    /// Check the Release signature (InRelease or Release.gpg) with
    /// `keyring` when gpgv and the keyring are installed. A mirror over HTTP
    /// without a signature is refused; a local directory without one (a
    /// snapshot) only warned about.
    pub verify_signature: bool,
    pub keyring: PathBuf,
}

/// Where debian-archive-keyring installs the archive's keys.
pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            timeout: Duration::from_secs(30),
            retries: 3,
            verify_signature: true,
            keyring: PathBuf::from(DEBIAN_KEYRING),
        }
    }
}

/// Fetches files of one mirror.
pub struct Fetcher {
    mirror: Mirror,
    cache_dir: PathBuf,
    allow_expired: bool,
    policy: Policy,
    client: Option<reqwest::blocking::Client>,
}

/// The fields of a suite's Release file cascade uses.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub date: Option<String>,
    pub valid_until: Option<String>,
    pub architectures: Vec<String>,
    /// Set when `Valid-Until` has passed and the caller allowed it.
    pub expired: bool,
    /// `No-Support-for-Architecture-all: Packages`: arch:all packages are
    /// listed in every `binary-ARCH/Packages` (Debian's mirrors say so), so a
    /// separate `binary-all/Packages` need not be read.
    pub all_in_arch_indices: bool,
    /// The `SHA256` lines: size and digest of each index, by its path
    /// below the suite's directory (`main/source/Sources.xz`).
    #[serde(skip)]
    pub sha256: BTreeMap<String, FileSum>,
}

/// Size and SHA-256 of one file, as Release lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSum {
    pub size: u64,
    pub sha256: String,
}

impl Fetcher {
    pub fn new(mirror: Mirror, options: &FetchOptions) -> Result<Fetcher, Error> {
        let cache_dir = match &options.cache_dir {
            Some(d) => d.clone(),
            None => dirs::cache_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("cascade"),
        };
        let client = match mirror {
            // The blocking client's timeout bounds the wait for the answer
            // and then each read of the body (see `get_http`): a stall
            // timeout, as apt's, not a deadline for the whole download.
            Mirror::Url(_) => Some(
                reqwest::blocking::Client::builder()
                    .user_agent(concat!("cascade/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(options.policy.timeout)
                    .timeout(options.policy.timeout)
                    .build()
                    .map_err(|e| Error::Network {
                        url: "(client setup)".into(),
                        message: e.to_string(),
                    })?,
            ),
            Mirror::Dir(_) => None,
        };
        Ok(Fetcher {
            mirror,
            cache_dir,
            allow_expired: options.allow_expired,
            policy: options.policy.clone(),
            client,
        })
    }

    pub fn mirror(&self) -> &Mirror {
        &self.mirror
    }

    /// Where this fetcher caches what it fetched.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Reads `dists/SUITE/Release` (from InRelease or with Release.gpg when
    /// the signature is checked, see [`Policy`]) and checks `Valid-Until`
    /// against now.
    pub fn release(&self, suite: &str) -> Result<Release, Error> {
        let rel = format!("dists/{suite}/Release");
        let name = self.mirror.describe(&rel);
        let bytes = self.signed_release(suite, &name)?;
        let text = String::from_utf8_lossy(&bytes);
        parse_release(&text, &name, SystemTime::now(), self.allow_expired)
    }

    /// The Release file's bytes, verified as [`Policy`] says.
    fn signed_release(&self, suite: &str, name: &str) -> Result<Vec<u8>, Error> {
        use super::verify::{self, Signed};
        let dir = format!("dists/{suite}");
        let keyring = &self.policy.keyring;
        let check = self.policy.verify_signature;
        // Offline, a signature file the cache lacks (a cache from before
        // signatures were checked) must not stop the cached Release.
        let offline = std::cell::Cell::new(false);
        let signature = |rel: &str| match self.get(rel) {
            Err(Error::Network { url, message }) => {
                tracing::warn!("cannot check the signature: {url}: {message}");
                offline.set(true);
                Ok(None)
            }
            other => other,
        };
        if check && let Some(inline) = signature(&format!("{dir}/InRelease"))? {
            let inrelease = self.mirror.describe(&format!("{dir}/InRelease"));
            if let Signed::Good(text) = verify::inline(keyring, &inline, &inrelease)? {
                return Ok(text);
            }
        }
        let bytes = self
            .get(&format!("{dir}/Release"))?
            .ok_or_else(|| Error::NotFound {
                what: format!("suite `{suite}`"),
                url: name.to_string(),
                how: self.mirror.not_found(),
            })?;
        if !check {
            return Ok(bytes);
        }
        match signature(&format!("{dir}/Release.gpg"))? {
            Some(sig) => {
                if let Signed::Unchecked = verify::detached(keyring, &sig, &bytes, name)? {
                    tracing::warn!(
                        "{name}: gpgv or {} missing, signature not checked",
                        keyring.display()
                    );
                }
            }
            // A local snapshot is the user's own copy; a mirror over the
            // network that signs nothing is not to be trusted.
            None if matches!(self.mirror, Mirror::Url(_))
                && keyring.is_file()
                && !offline.get() =>
            {
                return Err(Error::Unsigned {
                    file: name.to_string(),
                });
            }
            None => tracing::info!("{name}: not signed; its indices are checked against it only"),
        }
        Ok(bytes)
    }

    /// Reads an index (`dists/sid/main/source/Sources`), trying `.xz`, then
    /// `.gz`, then the plain file, and returns its decompressed text.
    pub fn index(&self, release: &Release, rel_base: &str) -> Result<String, Error> {
        self.with_index(release, rel_base, |text| Ok(text.to_string()))
    }

    /// Like [`Self::index`], but hands the text to `parse`; a freshly
    /// decompressed text is written to the cache by a second thread while
    /// `parse` runs. The compressed bytes are checked against `release`'s
    /// SHA256 line for them first.
    pub fn with_index<T>(
        &self,
        release: &Release,
        rel_base: &str,
        parse: impl FnOnce(&str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let (bytes, ext, name, cache) = match self.find_index(release, rel_base)? {
            Found::Text(text) => return parse(&text),
            Found::Bytes {
                bytes,
                ext,
                name,
                cache,
            } => (bytes, ext, name, cache),
        };
        let text = decompress(&bytes, ext, &name)?;
        drop(bytes);
        let Some((prefix, path)) = cache else {
            return parse(&text);
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                if let Err(e) = write_text_cache(&path, &prefix, &text) {
                    tracing::warn!("cannot write the cache {}: {e}", path.display());
                }
            });
            parse(&text)
        })
    }

    /// Like [`Self::with_index`], but the text is handed to `parse` in
    /// pieces of whole paragraphs, with the number of lines before each
    /// ([`super::chunks`]: the whole text never exists at once), and a
    /// freshly decompressed text is not written to the text cache: for
    /// callers that keep the parse in a parsed cache of their own (the
    /// frontier), whose warm runs never read the text. Writing its 130 MB
    /// was a tenth of a cold `frontier --all`; a later [`Self::index`]
    /// decompresses once and writes it then.
    pub fn with_index_chunks(
        &self,
        release: &Release,
        rel_base: &str,
        mut parse: impl FnMut(&str, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.find_index(release, rel_base)? {
            Found::Text(text) => parse(&text, 0),
            Found::Bytes {
                bytes, ext, name, ..
            } => super::chunks::for_each_chunk(&bytes, ext, &name, super::chunks::CHUNK, parse),
        }
    }

    /// The first of `rel_base`'s `.xz`, `.gz` and plain files the mirror
    /// has, checked against `release`: the text an earlier run cached for
    /// it, else its bytes.
    fn find_index(&self, release: &Release, rel_base: &str) -> Result<Found, Error> {
        for ext in [".xz", ".gz", ""] {
            let rel = format!("{rel_base}{ext}");
            let Some(bytes) = self.get(&rel)? else {
                continue;
            };
            let name = self.mirror.describe(&rel);
            let below_suite = rel.splitn(3, '/').nth(2).unwrap_or(&rel);
            super::verify::check_index(&release.sha256, below_suite, &bytes, &name)?;
            let cache = (!ext.is_empty()).then(|| self.text_cache_path(&bytes, &name));
            if let Some((_, path)) = &cache
                && let Ok(text) = std::fs::read(path)
                && let Ok(text) = String::from_utf8(text)
            {
                return Ok(Found::Text(text));
            }
            return Ok(Found::Bytes {
                bytes,
                ext,
                name,
                cache,
            });
        }
        Err(Error::NotFound {
            what: "index".into(),
            url: self.mirror.describe(&format!("{rel_base}{{.xz,.gz,}}")),
            how: self.mirror.not_found(),
        })
    }

    /// The parsed-index cache of this fetcher's archive, under the cache
    /// directory (`archive::cache::for_archive`).
    pub fn parsed_cache(&self) -> super::cache::ParsedCache {
        let address = match &self.mirror {
            Mirror::Url(u) => u.clone(),
            Mirror::Dir(d) => std::path::absolute(d)
                .unwrap_or_else(|_| d.clone())
                .display()
                .to_string(),
        };
        super::cache::for_archive(&self.cache_dir, &address)
    }

    /// An index's key in the parsed cache: the SHA-256 `release` lists for
    /// its first variant (`.xz`, `.gz`, plain: the same content, by
    /// Release's word). `None` when Release lists none.
    pub fn index_key(&self, release: &Release, rel_base: &str) -> Option<String> {
        let below_suite = rel_base.splitn(3, '/').nth(2).unwrap_or(rel_base);
        [".xz", ".gz", ""]
            .iter()
            .find_map(|ext| release.sha256.get(&format!("{below_suite}{ext}")))
            .map(|s| s.sha256.clone())
    }

    /// Like [`Self::index`] but `Ok(None)` when no variant exists.
    pub fn optional_index(
        &self,
        release: &Release,
        rel_base: &str,
    ) -> Result<Option<String>, Error> {
        match self.index(release, rel_base) {
            Ok(t) => Ok(Some(t)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes of one file; `Ok(None)` when the mirror says it doesn't exist.
    pub(super) fn get(&self, rel: &str) -> Result<Option<Vec<u8>>, Error> {
        match (&self.mirror, &self.client) {
            (Mirror::Dir(d), _) => {
                let path = d.join(rel);
                match std::fs::read(&path) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(Error::Io(crate::fsio::IoError::new(path, source))),
                }
            }
            (Mirror::Url(base), Some(client)) => self.get_http(client, base, rel),
            (Mirror::Url(_), None) => unreachable!("a URL mirror always has a client"),
        }
    }

    fn get_http(
        &self,
        client: &reqwest::blocking::Client,
        base: &str,
        rel: &str,
    ) -> Result<Option<Vec<u8>>, Error> {
        let url = format!("{base}/{rel}");
        let cached = self.cache_path(&url);
        // Appended, not `with_extension`: the name is full of dots.
        let sidecar = |ext: &str| {
            let mut p = cached.clone().into_os_string();
            p.push(ext);
            PathBuf::from(p)
        };
        let meta_path = sidecar(".cascade-meta");
        let gone_path = sidecar(".cascade-404");
        let meta = std::fs::read_to_string(&meta_path).unwrap_or_default();
        let have_cache = cached.is_file();
        let mut req = client.get(&url);
        if have_cache {
            for line in meta.lines() {
                if let Some(v) = line.strip_prefix("etag: ") {
                    req = req.header(reqwest::header::IF_NONE_MATCH, v);
                } else if let Some(v) = line.strip_prefix("last-modified: ") {
                    req = req.header(reqwest::header::IF_MODIFIED_SINCE, v);
                }
            }
        }
        let read_cache = || {
            std::fs::read(&cached)
                .map_err(|source| Error::Io(crate::fsio::IoError::new(cached.clone(), source)))
        };
        let resp = match self.send(req, &url) {
            Ok(r) => r,
            // Offline, but the last answer was "no such file": keep it.
            Err(_) if gone_path.is_file() => return Ok(None),
            Err(e) if have_cache => {
                tracing::warn!(
                    "cannot reach {url} ({e}); using the cached copy {}",
                    cached.display()
                );
                return read_cache().map(Some);
            }
            Err(e) => {
                return Err(Error::Network {
                    url,
                    message: format!("{} (offline? no cached copy either)", describe(&e)),
                });
            }
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && have_cache {
            return read_cache().map(Some);
        }
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            let _ = std::fs::create_dir_all(self.cache_dir.join("http"));
            let _ = std::fs::write(&gone_path, "");
            return Ok(None);
        }
        let _ = std::fs::remove_file(&gone_path);
        if !status.is_success() {
            return Err(Error::Http {
                url,
                status: status.as_u16(),
            });
        }
        let header = |h| {
            resp.headers()
                .get(h)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(reqwest::header::ETAG);
        let modified = header(reqwest::header::LAST_MODIFIED);
        // `Read` waits at most the timeout for each chunk; `bytes()` would
        // give the whole body that long.
        let mut body = Vec::new();
        let mut resp = resp;
        resp.read_to_end(&mut body).map_err(|e| Error::Network {
            url: url.clone(),
            message: if e.kind() == std::io::ErrorKind::TimedOut {
                "timed out: the download stalled (CASCADE_HTTP_TIMEOUT sets how long to wait)"
                    .into()
            } else {
                e.to_string()
            },
        })?;
        // A cache that can't be written only costs a download next time.
        if let Err(e) = store(&cached, &meta_path, &body, etag, modified) {
            tracing::warn!("cannot write the cache {}: {e}", cached.display());
        }
        Ok(Some(body))
    }

    /// Sends `req`, again after a timeout or a 5xx
    /// answer, up to `retries` more times with a doubling pause (1 s, 2 s,
    /// 4 s …), as apt's `Acquire::Retries` does.
    fn send(
        &self,
        req: reqwest::blocking::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::blocking::Response, reqwest::Error> {
        let mut pause = Duration::from_secs(1);
        for _ in 0..self.policy.retries {
            let Some(attempt) = req.try_clone() else {
                break;
            };
            match attempt.send() {
                Ok(r) if !r.status().is_server_error() => return Ok(r),
                Ok(r) => tracing::warn!("{url}: HTTP {}; trying again in {pause:?}", r.status()),
                // Refused or unresolvable: offline, where the cache answers
                // at once; waiting would not help.
                Err(e) if e.is_timeout() => {
                    tracing::warn!("{url}: {}; trying again in {pause:?}", describe(&e));
                }
                Err(e) => return Err(e),
            }
            std::thread::sleep(pause);
            pause *= 2;
        }
        req.send()
    }

    /// Where the decompressed text of `bytes` is cached: xz decoding is most
    /// of the time it takes to read sid, so the text of an earlier run is
    /// reused when the compressed bytes are the same (keyed by their
    /// SHA-256). The cache keeps one text per index (same prefix).
    fn text_cache_path(&self, bytes: &[u8], name: &str) -> (String, PathBuf) {
        use sha2::Digest;
        let hash = hex::encode(&sha2::Sha256::digest(bytes)[..12]);
        let prefix = format!("{}.", sanitize(name));
        let path = self.cache_dir.join("text").join(format!("{prefix}{hash}"));
        (prefix, path)
    }

    fn cache_path(&self, url: &str) -> PathBuf {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        self.cache_dir.join("http").join(sanitize(rest))
    }
}

/// A network error in a few words: reqwest's own text hides a timeout
/// behind "error sending request".
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out (no answer within the stall timeout; CASCADE_HTTP_TIMEOUT sets it)".into()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }
}

/// A file name standing for a path or URL.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// An index [`Fetcher::find_index`] found.
enum Found {
    /// Its decompressed text, from the text cache.
    Text(String),
    /// Its file's bytes: `ext` says how to decompress them, `name` names
    /// the file in errors, `cache` is where its text is cached (prefix,
    /// path; none for a plain file).
    Bytes {
        bytes: Vec<u8>,
        ext: &'static str,
        name: String,
        cache: Option<(String, PathBuf)>,
    },
}

/// Writes a decompressed text to the cache, replacing older texts of the same index.
fn write_text_cache(path: &Path, prefix: &str, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    for old in std::fs::read_dir(dir)?.flatten() {
        if old.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(old.path());
        }
    }
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), text.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn store(
    path: &Path,
    meta_path: &Path,
    body: &[u8],
    etag: Option<String>,
    modified: Option<String>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut meta = String::new();
    if let Some(e) = etag {
        meta.push_str(&format!("etag: {e}\n"));
    }
    if let Some(m) = modified {
        meta.push_str(&format!("last-modified: {m}\n"));
    }
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::fs::write(tmp.path(), body)?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::write(meta_path, meta)
}

/// Decompresses by extension; `name` names the file in errors.
pub fn decompress(bytes: &[u8], ext: &str, name: &str) -> Result<String, Error> {
    let corrupt = |format: &str, e: &dyn std::fmt::Display| Error::Corrupt {
        file: name.to_string(),
        message: format!("{format}: {e}"),
    };
    let mut out = Vec::with_capacity(bytes.len() * 7);
    match ext {
        ".xz" => unxz(bytes, &mut out).map_err(|e| corrupt("xz", &e))?,
        ".gz" => {
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut out)
                .map_err(|e| corrupt("gzip", &e))?;
        }
        _ => out.extend_from_slice(bytes),
    }
    String::from_utf8(out).map_err(|e| corrupt("text", &e))
}

/// Decodes xz straight into `out`'s spare capacity (see `chunks::fill_xz`).
fn unxz(input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    use xz2::stream::{CONCATENATED, Stream};
    let mut stream =
        Stream::new_stream_decoder(u64::MAX, CONCATENATED).map_err(|e| e.to_string())?;
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1 << 20));
        }
        if super::chunks::fill_xz(&mut stream, input, out)? {
            return Ok(());
        }
    }
}

/// Parses a Release file and checks `Valid-Until` against `now`.
pub fn parse_release(
    text: &str,
    name: &str,
    now: SystemTime,
    allow_expired: bool,
) -> Result<Release, Error> {
    let para = crate::control::deb822::paragraphs(text)
        .next()
        .transpose()
        .map_err(|e| Error::Paragraph {
            file: name.to_string(),
            line: e.line,
            message: e.message,
        })?
        .ok_or_else(|| Error::Paragraph {
            file: name.to_string(),
            line: 1,
            message: "empty Release file".into(),
        })?;
    let get = |f: &str| para.get(f).map(str::to_string);
    let valid_until = get("Valid-Until");
    let mut expired = false;
    if let Some(v) = &valid_until {
        // Release files say `UTC` where RFC 7231 (httpdate) says `GMT`.
        let when =
            httpdate::parse_http_date(&v.replace("UTC", "GMT")).map_err(|_| Error::Paragraph {
                file: name.to_string(),
                line: para.field("Valid-Until").map_or(1, |f| f.line),
                message: format!("Valid-Until: cannot read the date `{v}`"),
            })?;
        if when < now {
            if !allow_expired {
                return Err(Error::Expired {
                    file: name.to_string(),
                    valid_until: v.clone(),
                });
            }
            expired = true;
        }
    }
    Ok(Release {
        suite: get("Suite"),
        codename: get("Codename"),
        date: get("Date"),
        valid_until,
        architectures: para
            .get("Architectures")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        expired,
        all_in_arch_indices: para
            .get("No-Support-for-Architecture-all")
            .is_some_and(|v| v.split_whitespace().any(|w| w == "Packages")),
        sha256: para
            .get("SHA256")
            .map(super::verify::parse_sha256)
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const RELEASE: &str = "Origin: Debian\nSuite: unstable\nCodename: sid\n\
        Date: Fri, 30 Oct 2026 08:08:01 UTC\nValid-Until: Fri, 06 Nov 2026 08:08:01 UTC\n\
        Architectures: all amd64 riscv64\nMD5Sum:\n abc 12 main/x\n";

    fn at(s: &str) -> SystemTime {
        httpdate::parse_http_date(s).unwrap()
    }

    #[test]
    fn valid_until() {
        let before = at("Sat, 31 Oct 2026 00:00:00 GMT");
        let r = parse_release(RELEASE, "R", before, false).unwrap();
        assert_eq!(r.codename.as_deref(), Some("sid"));
        assert_eq!(r.architectures, ["all", "amd64", "riscv64"]);
        assert!(!r.expired);
        assert!(!r.all_in_arch_indices);
        let with = RELEASE.replace(
            "Origin",
            "No-Support-for-Architecture-all: Packages\nOrigin",
        );
        assert!(
            parse_release(&with, "R", before, false)
                .unwrap()
                .all_in_arch_indices
        );
        let after = at("Sat, 07 Nov 2026 00:00:00 GMT") + Duration::from_secs(1);
        let e = parse_release(RELEASE, "dists/sid/Release", after, false).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("dists/sid/Release"), "{msg}");
        assert!(msg.contains("Fri, 06 Nov 2026 08:08:01 UTC"), "{msg}");
        assert!(msg.contains("--allow-expired"), "{msg}");
        assert!(parse_release(RELEASE, "R", after, true).unwrap().expired);
    }

    #[test]
    fn mirror_kinds() {
        assert_eq!(Mirror::parse("file:///srv/m"), Mirror::Dir("/srv/m".into()));
        assert_eq!(Mirror::parse("../m"), Mirror::Dir("../m".into()));
        assert_eq!(
            Mirror::parse("http://deb.debian.org/debian/"),
            Mirror::Url("http://deb.debian.org/debian".into())
        );
    }

    #[test]
    fn corrupt_xz_names_the_file() {
        let e = decompress(
            b"\xfd7zXZ\0garbage",
            ".xz",
            "dists/sid/main/source/Sources.xz",
        )
        .unwrap_err();
        assert!(e.to_string().contains("dists/sid/main/source/Sources.xz"));
        assert_eq!(decompress(b"plain", "", "x").unwrap(), "plain");
    }
}
