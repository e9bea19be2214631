//! debian/changelog edits that come out byte-identical to what
//! `dch --newversion V --distribution D "TEXT"` (devscripts) writes.
//!
//! The changelog is parsed with the `debian-changelog` crate, which checks
//! it and gives the top entry's fields (with line numbers for errors). The
//! edit itself is a splice of text, because that is how dch works: it copies
//! everything below the new lines verbatim, and its own rules (bullet wrapping
//! by a Perl format, `[ Name ]` markers when another maintainer adds to an
//! UNRELEASED entry, the urgency it keeps) are easier to mirror exactly on
//! text than through a syntax tree that renders some tokens its own way.

use std::path::{Path, PathBuf};

use debian_changelog::ChangeLog;
use debversion::Version;

/// Who signs the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
}

/// The top entry of a changelog, as far as a bump cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Top {
    pub package: String,
    pub version: Version,
    pub distribution: String,
    /// 1-based line of the entry's header.
    pub line: usize,
}

impl Top {
    /// Whether the entry is still open (dch then updates it instead of
    /// adding a new one).
    pub fn is_unreleased(&self) -> bool {
        self.distribution == "UNRELEASED"
    }
}

/// What to write.
#[derive(Clone, Debug)]
pub struct NewEntry<'a> {
    pub version: &'a Version,
    /// `experimental`, `unstable`, …
    pub distribution: &'a str,
    /// Bullet texts, without the `* ` (e.g. "New upstream version 7.2.4").
    pub changes: &'a [String],
    pub maintainer: &'a Maintainer,
    /// Seconds since the epoch (SOURCE_DATE_EPOCH or now); written in UTC.
    pub timestamp: u64,
}

/// The date line format of dch (`%a, %d %b %Y %T %z`), in UTC.
pub fn format_date(timestamp: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(timestamp);
    // httpdate writes the same fixed-width English day and month names as
    // strftime in the C locale; only the zone differs.
    let http = httpdate::fmt_http_date(t);
    match http.strip_suffix(" GMT") {
        Some(base) => format!("{base} +0000"),
        None => http,
    }
}

/// Parses the changelog and returns its top entry.
pub fn top(text: &str, path: &Path) -> Result<Top, Error> {
    let parsed = ChangeLog::parse(text);
    if let Some((msg, offset)) = parsed.errors_with_offsets().first() {
        return Err(Error::Syntax {
            path: path.to_owned(),
            line: line_of_offset(text, usize::from(*offset)),
            message: msg.clone(),
        });
    }
    let cl = parsed.tree();
    let header_line = header_line_index(text).ok_or_else(|| Error::Syntax {
        path: path.to_owned(),
        line: 1,
        message: "no entry header (`package (version) distribution; urgency=...`)".into(),
    })?;
    let bad = |message: &str| Error::Syntax {
        path: path.to_owned(),
        line: header_line + 1,
        message: message.to_owned(),
    };
    let entry = cl.iter().next().ok_or_else(|| bad("no entry"))?;
    let package = entry.package().ok_or_else(|| bad("no package name"))?;
    let version = match entry.try_version() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(bad(&format!("bad version: {e}"))),
        None => return Err(bad("no version")),
    };
    let distribution = entry
        .distributions()
        .and_then(|d| d.first().cloned())
        .ok_or_else(|| bad("no distribution"))?;
    if trailer_line_index(text, header_line).is_none() {
        return Err(bad("the top entry has no ` -- Name <email>  date` line"));
    }
    Ok(Top {
        package,
        version,
        distribution,
        line: header_line + 1,
    })
}

/// The changelog with the new entry, exactly as dch would write it.
///
/// A released top entry gets a new entry above it. An UNRELEASED top entry
/// is updated in place, like dch does: version and distribution replaced,
/// urgency kept, the new lines appended (under `[ Name ]` markers when
/// someone else wrote the entry), the trailer re-signed.
pub fn add_entry(text: &str, path: &Path, new: &NewEntry) -> Result<String, Error> {
    let top = top(text, path)?;
    if top.is_unreleased() {
        return Ok(merge_unreleased(text, &top, new));
    }
    let mut out = format!(
        "{} ({}) {}; urgency=medium\n\n",
        top.package, new.version, new.distribution
    );
    for change in new.changes {
        out.push_str(&format_bullet(change));
    }
    out.push_str(&signature(new));
    out.push('\n');
    out.push_str(text);
    Ok(out)
}

fn signature(new: &NewEntry) -> String {
    format!(
        "\n -- {} <{}>  {}\n",
        new.maintainer.name,
        new.maintainer.email,
        format_date(new.timestamp)
    )
}

/// dch's merge path (`--newversion` on an UNRELEASED entry), line for line.
fn merge_unreleased(text: &str, top: &Top, new: &NewEntry) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header = top.line - 1;
    // `top` checked there is one.
    let trailer = trailer_line_index(text, header).unwrap_or(lines.len());

    // dch's $CHANGES: everything before the first trailer, minus one newline.
    let mut changes: String = lines[..trailer].concat();
    if changes.ends_with('\n') {
        changes.pop();
    }
    let last_maint = lines.get(trailer).and_then(|l| trailer_name(l));
    let last_marker = changes.lines().skip(1).filter_map(marker_name).last();
    let me = new.maintainer.name.as_str();
    let multimaint = match (&last_marker, &last_maint) {
        (Some(marker), _) => marker != me,
        (None, Some(last)) => last != me,
        (None, None) => false,
    };
    if multimaint && last_marker.is_none() {
        // dch: s/^(  .+)$/  [ $lastmaint ]\n$1/m on the first such line.
        let mut rebuilt = String::new();
        let mut done = false;
        for line in changes.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            if !done && body.len() > 2 && body.starts_with("  ") {
                rebuilt.push_str(&format!(
                    "  [ {} ]\n",
                    last_maint.as_deref().unwrap_or_default()
                ));
                done = true;
            }
            rebuilt.push_str(line);
        }
        changes = rebuilt;
    }
    // The header: `pkg (ver) dists; urgency=X` → new version and
    // distribution, the urgency and anything after it kept.
    if let Some(pos) = changes.find("urgency=") {
        let head_end = changes.find('\n').unwrap_or(changes.len());
        if pos < head_end {
            changes.replace_range(
                ..pos,
                &format!("{} ({}) {}; ", top.package, new.version, new.distribution),
            );
        }
    }

    let mut out = changes;
    if multimaint {
        out.push_str(&format!("\n  [ {me} ]\n"));
    }
    for change in new.changes {
        out.push_str(&format_bullet(change));
    }
    out.push_str(&signature(new));
    // dch skips what lies between the old trailer and the next header and
    // writes one blank line instead.
    if let Some(next) = (trailer + 1..lines.len()).find(|&i| is_header(lines[i])) {
        out.push('\n');
        out.push_str(&lines[next..].concat());
    }
    out
}

/// One `  * TEXT` bullet wrapped the way dch's Perl format does it:
/// a 68-column `^<<<` field, continuation lines indented by four spaces,
/// breaks after whitespace or `-`, trailing spaces dropped.
pub fn format_bullet(text: &str) -> String {
    const WIDTH: usize = 68;
    // dch pads with one space per extra UTF-8 byte (a workaround for Perl
    // formats counting bytes); the padding moves break points, so keep it.
    let pad = text.len() - text.chars().count();
    let mut rest: Vec<char> = text.chars().chain(std::iter::repeat_n(' ', pad)).collect();
    let mut out = String::new();
    let mut first = true;
    loop {
        if !first && rest.is_empty() {
            break;
        }
        let (take, skip_to) = perl_chop(&rest, WIDTH);
        let piece: String = rest[..take].iter().collect();
        let prefix = if first { "  * " } else { "    " };
        out.push_str(format!("{prefix}{piece}").trim_end_matches(' '));
        out.push('\n');
        let mut next = skip_to;
        while next < rest.len() && rest[next].is_whitespace() {
            next += 1;
        }
        rest.drain(..next);
        first = false;
    }
    out
}

/// Perl's FF_CHECKCHOP: how many chars fit in the field and where the
/// remainder starts.
fn perl_chop(s: &[char], width: usize) -> (usize, usize) {
    let mut chop: Option<(usize, usize)> = None;
    let mut size = 0;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c.is_whitespace() {
            chop = Some((size, i));
            if size == width {
                break;
            }
        } else {
            if size == width {
                break;
            }
            if c == '-' {
                chop = Some((size + 1, i + 1));
            }
        }
        i += 1;
        size += 1;
    }
    match chop {
        Some(c) if i != s.len() => c,
        _ => (size, i),
    }
}

/// dch's header regex: `^\w[-+0-9a-z.]* \([^() \t]+\)(\s+[-+0-9a-z.]+)+;\s+urgency=\w+`.
fn is_header(line: &str) -> bool {
    let line = line.trim_end_matches('\n');
    let Some((name, rest)) = line.split_once(" (") else {
        return false;
    };
    let mut name_chars = name.chars();
    let starts_ok = name_chars
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    if !starts_ok || !name_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.'))
    {
        return false;
    }
    let Some((version, rest)) = rest.split_once(')') else {
        return false;
    };
    if version.is_empty() || version.contains([' ', '\t', '(']) {
        return false;
    }
    let Some((dists, meta)) = rest.split_once(';') else {
        return false;
    };
    if !dists.starts_with(char::is_whitespace) || dists.trim().is_empty() {
        return false;
    }
    meta.trim_start()
        .to_ascii_lowercase()
        .starts_with("urgency=")
}

fn header_line_index(text: &str) -> Option<usize> {
    text.lines().position(is_header)
}

fn trailer_line_index(text: &str, header: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(header + 1)
        .find(|(_, l)| l.starts_with(" --"))
        .map(|(i, _)| i)
}

/// The name in a trailer, as dch's `/^ --\s+([^<]+)\s+/` captures it.
fn trailer_name(line: &str) -> Option<String> {
    let rest = line.strip_prefix(" --")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let name_part = rest.split('<').next()?;
    let name = name_part.trim_end();
    // The greedy `[^<]+` must be followed by whitespace.
    if name.is_empty() || name.len() == name_part.len() {
        return None;
    }
    Some(name.to_owned())
}

/// `  [ Name ]` → `Name`, as dch's `^\s+\[\s+([^\]]+)\s+]\s*$` reads it.
fn marker_name(line: &str) -> Option<String> {
    if !line.starts_with(char::is_whitespace) {
        return None;
    }
    let inner = line.trim().strip_prefix('[')?.strip_suffix(']')?;
    if !inner.starts_with(char::is_whitespace) || !inner.ends_with(char::is_whitespace) {
        return None;
    }
    let name = inner.trim();
    (!name.is_empty() && !name.contains(']')).then(|| name.to_owned())
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_dch_dates() {
        assert_eq!(format_date(1767225600), "Thu, 01 Jan 2026 00:00:00 +0000");
        assert_eq!(format_date(1762816132), "Mon, 10 Nov 2025 23:08:52 +0000");
    }

    #[test]
    fn short_bullets_stay_on_one_line() {
        assert_eq!(
            format_bullet("New upstream version 7.2.4"),
            "  * New upstream version 7.2.4\n"
        );
    }

    #[test]
    fn long_bullets_wrap_like_perl_formats() {
        let text = "Rebuild against the new ROCm stack; this line is long enough to wrap twice because it goes on and on about nothing";
        let out = format_bullet(text);
        for l in out.lines() {
            assert!(l.len() <= 72, "{l:?}");
        }
        assert!(out.starts_with("  * Rebuild"));
        assert!(out.lines().nth(1).unwrap().starts_with("    "));
    }

    #[test]
    fn header_regex() {
        assert!(is_header("rocblas (6.4.4-4) unstable; urgency=medium\n"));
        assert!(is_header(
            "rocm-llvm (1:7.0.2+dfsg-3) experimental; urgency=low"
        ));
        assert!(!is_header("  * rocblas (6.4.4-4) unstable; urgency=medium"));
        assert!(!is_header(" -- A <a@b>  date"));
    }

    #[test]
    fn names() {
        assert_eq!(
            trailer_name(" -- Test User <t@e.org>  Thu, 01 Jan 2026").as_deref(),
            Some("Test User")
        );
        assert_eq!(
            marker_name("  [ Helmut Grohne ]").as_deref(),
            Some("Helmut Grohne")
        );
        assert_eq!(marker_name("  * [ not a marker"), None);
    }

    #[test]
    fn bad_changelog_names_file_and_line() {
        let text = "pkg (1.0-1) unstable; urgency=medium\n\n  * x\n\n -- A <a@b.c>  Thu, 01 Jan 2026 00:00:00 +0000\n\nthis is junk\n";
        let err = top(text, Path::new("debian/changelog")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("debian/changelog:"), "{msg}");
        let empty = top("", Path::new("x/changelog")).unwrap_err().to_string();
        assert!(empty.starts_with("x/changelog:1:"), "{empty}");
    }
}
