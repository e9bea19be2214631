//! A borrowing deb822 paragraph splitter.
//!
//! Hand-written rather than `deb822-lossless` (which builds a lossless syntax
//! tree per paragraph: far too slow for the 120 000 paragraphs of sid's
//! Sources and Packages) or `deb822-fast` (which allocates a vector per
//! multi-line field and reports no line numbers). This one allocates one
//! small vector per paragraph, borrows every value from the input, and keeps
//! line numbers so errors can name them.

/// One field: its name, its raw value (continuation lines included, outer
/// whitespace trimmed) and the line it starts on (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub line: usize,
}

/// A paragraph: its fields in order and the line of its first field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph<'a> {
    pub line: usize,
    pub fields: Vec<Field<'a>>,
}

impl<'a> Paragraph<'a> {
    /// The value of a field (names compare case-insensitively, as deb822 says).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.field(name).map(|f| f.value)
    }

    pub fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// A syntax error: the 1-based line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Iterates over the paragraphs of `text`. Comment lines (`#` in column 1,
/// allowed in debian/control) are skipped. After an error the iterator ends.
pub fn paragraphs(text: &str) -> Paragraphs<'_> {
    paragraphs_after(text, 0)
}

/// Like [`paragraphs`], for a piece of a longer text that `lines_before`
/// lines precede: line numbers count from the longer text's start.
pub fn paragraphs_after(text: &str, lines_before: usize) -> Paragraphs<'_> {
    Paragraphs {
        text,
        pos: 0,
        line: lines_before,
        done: false,
    }
}

pub struct Paragraphs<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    done: bool,
}

impl<'a> Paragraphs<'a> {
    /// The next line (without its newline) and its start offset.
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text.as_bytes()[start..];
        let end = memchr::memchr(b'\n', rest).map_or(self.text.len(), |i| start + i);
        self.pos = end + 1;
        self.line += 1;
        Some((start, &self.text[start..end]))
    }
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Result<Paragraph<'a>, SyntaxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut para = Paragraph {
            line: 0,
            fields: Vec::with_capacity(24),
        };
        self.next_into(&mut para).map(|r| r.map(|()| para))
    }
}

impl<'a> Paragraphs<'a> {
    /// Like `next`, but reads into `para`, reusing its field vector: the
    /// index parsers call this 120 000 times on sid.
    pub fn next_into(&mut self, para: &mut Paragraph<'a>) -> Option<Result<(), SyntaxError>> {
        if self.done {
            return None;
        }
        para.line = 0;
        para.fields.clear();
        // Offsets of the value of the field being read: start, end.
        let mut current: Option<(usize, usize)> = None;
        let close = |para: &mut Paragraph<'a>, current: Option<(usize, usize)>, text: &'a str| {
            if let (Some((s, e)), Some(f)) = (current, para.fields.last_mut()) {
                f.value = text[s..e].trim();
            }
        };
        let para = &mut *para;
        while let Some((start, line)) = self.next_line() {
            if line.starts_with('#') {
                continue;
            }
            if line.trim().is_empty() {
                if para.fields.is_empty() {
                    continue;
                }
                break;
            }
            let first = line.as_bytes()[0];
            if first == b' ' || first == b'\t' {
                match current.as_mut() {
                    Some((_, end)) => *end = start + line.len(),
                    None => {
                        self.done = true;
                        return Some(Err(SyntaxError {
                            line: self.line,
                            message: "continuation line outside a field".into(),
                        }));
                    }
                }
                continue;
            }
            let Some(colon) = memchr::memchr(b':', line.as_bytes()) else {
                self.done = true;
                return Some(Err(SyntaxError {
                    line: self.line,
                    message: format!("expected `Field: value`, found `{}`", truncate(line)),
                }));
            };
            close(para, current, self.text);
            if para.fields.is_empty() {
                para.line = self.line;
            }
            let name = &line[..colon];
            if name.contains(char::is_whitespace) || name.is_empty() {
                self.done = true;
                return Some(Err(SyntaxError {
                    line: self.line,
                    message: format!("malformed field name `{}`", truncate(name)),
                }));
            }
            para.fields.push(Field {
                name,
                value: "",
                line: self.line,
            });
            current = Some((start + colon + 1, start + line.len()));
        }
        close(para, current, self.text);
        if para.fields.is_empty() {
            self.done = true;
            return None;
        }
        Some(Ok(()))
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paragraphs_and_continuations() {
        let text = "# comment\nSource: a\nBuild-Depends: x,\n y [amd64],\n\tz\n\n\n\nPackage: b\nDescription: d\n more\n";
        let ps: Vec<_> = paragraphs(text).collect::<Result<_, _>>().unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].line, 2);
        assert_eq!(ps[0].get("source"), Some("a"));
        assert_eq!(ps[0].get("Build-Depends"), Some("x,\n y [amd64],\n\tz"));
        assert_eq!(ps[1].line, 9);
        assert_eq!(ps[1].field("Description").unwrap().line, 10);
        assert_eq!(ps[1].get("Description"), Some("d\n more"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = paragraphs("A: b\nnot a field\n")
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(e.line, 2);
        let e = paragraphs("\n continuation\n").next().unwrap().unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn no_trailing_newline_and_empty_value() {
        let ps: Vec<_> = paragraphs("A:\nB: c").collect::<Result<_, _>>().unwrap();
        assert_eq!(ps[0].get("A"), Some(""));
        assert_eq!(ps[0].get("B"), Some("c"));
    }
}
