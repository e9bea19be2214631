//! `port`: lossless rewriting of debian/control for a porting run — widen the
//! `Architecture` fields (and, when asked, the architecture restrictions of
//! the build-dependencies) so that a source is tried on an architecture its
//! packaging does not list yet; and the patch that records the change.
//!
//! Pure: text in, text out. Every byte outside the edited words stays as it
//! was (comments, field order, continuation lines, whitespace).
//!
//! deb822-lossless finds the paragraphs, fields and value lines (so comment
//! lines and field names are never touched); the edits themselves are splices
//! into the original text at those positions. Rebuilding a field through
//! debian-control's `Relation::set_architectures` or `Paragraph::set` would
//! re-serialise it (spacing inside brackets, continuation indentation), which
//! is exactly what a patch for the packaging team must not do.

use std::ops::Range;
use std::path::{Path, PathBuf};

use deb822_lossless::Deb822;

use crate::control::arch_matches;

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}:{line}: not a valid debian/control file: {message}")]
    Parse {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

/// What to widen.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Also widen architecture restrictions in Build-Depends, -Arch, -Indep.
    pub build_depends: bool,
}

/// One edit, as a maintainer would read it in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// `Source: rocr-runtime` or `Package: libhsa-runtime64-1`.
    pub paragraph: String,
    pub field: String,
    pub before: String,
    pub after: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: `{}` → `{}`",
            self.paragraph, self.field, self.before, self.after
        )
    }
}

/// The rewritten control file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ported {
    pub text: String,
    pub changes: Vec<Change>,
}

impl Ported {
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

const RELATION_FIELDS: &[&str] = &["Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep"];

/// Widens debian/control (`text`, read from `file`, named only in errors) to
/// include `arch`:
/// - an `Architecture` field (of the source or a binary) that lists
///   architectures but not `arch` gains it, after the last arch-specific one;
///   fields matching it already (`any`, `linux-any`, `any-riscv64`) and
///   `all`-only ones stay;
/// - with [`Options::build_depends`], in the source's build-dependencies a
///   positive restriction `[amd64 arm64]` gains `arch`, a negated one loses
///   the terms excluding `arch` (`[!riscv64 !s390x]` → `[!s390x]`), and
///   brackets left empty go, with the space before them.
pub fn widen(file: &Path, text: &str, arch: &str, options: Options) -> Result<Ported, Error> {
    let parsed = Deb822::parse(text);
    if let Some(e) = parsed.positioned_errors().first() {
        let offset = usize::from(e.range.start()).min(text.len());
        return Err(Error::Parse {
            file: file.to_path_buf(),
            line: text[..offset].matches('\n').count() + 1,
            message: e.message.clone(),
        });
    }
    if let Some(e) = parsed.errors().first() {
        return Err(Error::Parse {
            file: file.to_path_buf(),
            line: 1,
            message: e.clone(),
        });
    }
    let doc = parsed.tree();

    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut changes = Vec::new();
    for para in doc.paragraphs() {
        let label = match (para.get("Source"), para.get("Package")) {
            (Some(s), _) => format!("Source: {s}"),
            (None, Some(p)) => format!("Package: {p}"),
            (None, None) => continue,
        };
        let is_source = para.contains_key("Source");
        for entry in para.entries() {
            let Some(key) = entry.key() else { continue };
            let lines: Vec<Range<usize>> = entry
                .value_line_ranges()
                .into_iter()
                .map(|r| usize::from(r.start())..usize::from(r.end()))
                .collect();
            if key.eq_ignore_ascii_case("Architecture") {
                if let Some(at) = widen_arch_field(text, &lines, arch) {
                    let before = field_words(text, &lines);
                    let mut words: Vec<&str> = before.split(' ').collect();
                    let last = words.iter().rposition(|w| *w != "all").unwrap_or(0);
                    words.insert(last + 1, arch);
                    changes.push(Change {
                        paragraph: label.clone(),
                        field: key.clone(),
                        after: words.join(" "),
                        before,
                    });
                    edits.push((at..at, format!(" {arch}")));
                }
            } else if is_source
                && options.build_depends
                && RELATION_FIELDS.iter().any(|f| key.eq_ignore_ascii_case(f))
            {
                for line in &lines {
                    for (range, replacement) in widen_restrictions(&text[line.clone()], arch) {
                        let abs = line.start + range.start..line.start + range.end;
                        let (before, after) = relation_around(text, line, &abs, &replacement);
                        changes.push(Change {
                            paragraph: label.clone(),
                            field: key.clone(),
                            before,
                            after,
                        });
                        edits.push((abs, replacement));
                    }
                }
            }
        }
    }

    let mut out = text.to_string();
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    for (range, replacement) in edits {
        out.replace_range(range, &replacement);
    }
    Ok(Ported { text: out, changes })
}

/// The unified diff from `old` to `new` of the file at `path` (e.g.
/// `debian/control`), with `a/` and `b/` prefixes as `patch -p1` and quilt
/// expect. Empty when nothing changed.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// A patch file for the packaging team: a mail-style header saying what the
/// porting run changed and why, then the unified diff of `path`;
/// `git apply` and `patch -p1` accept it. Empty when nothing changed.
pub fn patch(path: &str, arch: &str, original: &str, ported: &Ported) -> String {
    let diff = unified_diff(path, original, &ported.text);
    if diff.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "Subject: Try building on {arch}\n\n\
         A porting run of cascade widened the architecture lists to include {arch}:\n\n"
    );
    for c in &ported.changes {
        out.push_str(&format!(" * {c}\n"));
    }
    out.push_str("---\n");
    out.push_str(&diff);
    out
}

/// Words of a field value, space-joined, for messages.
fn field_words(text: &str, lines: &[Range<usize>]) -> String {
    lines
        .iter()
        .flat_map(|r| text[r.clone()].split_whitespace())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where to insert ` arch` in an Architecture field, if it needs it.
fn widen_arch_field(text: &str, lines: &[Range<usize>], arch: &str) -> Option<usize> {
    let mut last_specific_end = None;
    for r in lines {
        for (start, word) in words(&text[r.clone()]) {
            if arch_matches(arch, word) {
                return None;
            }
            if word != "all" {
                last_specific_end = Some(r.start + start + word.len());
            }
        }
    }
    // `all` only: nothing arch-specific to widen.
    last_specific_end
}

/// Whitespace-separated words with their byte offsets.
fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split_whitespace()
        .map(move |w| (w.as_ptr() as usize - s.as_ptr() as usize, w))
}

/// Edits (relative to `line`) widening each `[...]` restriction on one value
/// line of a relation field. A restriction spanning lines is left alone.
fn widen_restrictions(line: &str, arch: &str) -> Vec<(Range<usize>, String)> {
    let mut edits = Vec::new();
    let mut pos = 0;
    while let Some(open) = line[pos..].find('[').map(|i| pos + i) {
        let Some(close) = line[open..].find(']').map(|i| open + i) else {
            break;
        };
        pos = close + 1;
        let inner = &line[open + 1..close];
        let terms: Vec<(usize, &str)> = words(inner).collect();
        if terms.is_empty() {
            continue;
        }
        let negated = terms.iter().filter(|(_, t)| t.starts_with('!')).count();
        if negated == 0 {
            if terms.iter().any(|(_, t)| arch_matches(arch, t)) {
                continue;
            }
            let (start, last) = terms[terms.len() - 1];
            let at = open + 1 + start + last.len();
            edits.push((at..at, format!(" {arch}")));
        } else if negated == terms.len() {
            let kept: Vec<&str> = terms
                .iter()
                .map(|(_, t)| *t)
                .filter(|t| !arch_matches(arch, &t[1..]))
                .collect();
            if kept.len() == terms.len() {
                continue;
            }
            if kept.is_empty() {
                // Drop the brackets and the blank before them.
                let start = line[..open].trim_end_matches([' ', '\t']).len();
                edits.push((start..close + 1, String::new()));
            } else {
                edits.push((open + 1..close, kept.join(" ")));
            }
        }
        // Mixed `[amd64 !riscv64]` is invalid in Debian: left for a human.
    }
    edits
}

/// The relation around an edit on one line, before and after, for messages:
/// from the comma before to the comma after.
fn relation_around(
    text: &str,
    line: &Range<usize>,
    edit: &Range<usize>,
    replacement: &str,
) -> (String, String) {
    let l = &text[line.clone()];
    let (s, e) = (edit.start - line.start, edit.end - line.start);
    let from = l[..s].rfind([',', ':']).map_or(0, |i| i + 1);
    let to = l[e..].find(',').map_or(l.len(), |i| e + i);
    let before = l[from..to].trim().to_string();
    let after = format!("{}{}{}", &l[from..s], replacement, &l[e..to])
        .trim()
        .to_string();
    (before, after)
}

#[cfg(test)]
mod tests;
