//! An index decompressed and handed on a few MB at a time, each piece
//! ending at a paragraph boundary.
//!
//! Why: sid's Sources and an arch's Packages are 130 MB of text together;
//! decompressing each whole before parsing it made the kernel zero (and
//! the allocator hold) that much fresh memory, a good part of a cold
//! `frontier --all`'s system time and of its peak memory. Here one buffer
//! of [`CHUNK`] bytes is reused: what is decoded up to the last blank line
//! goes to the parser, the paragraph after it is carried over to the front
//! of the buffer and the decoder fills the rest. A paragraph longer than
//! the buffer grows it.

use std::io::Read;

use super::Error;

/// The decoded bytes a chunk aims at (it ends at the last blank line in them).
pub const CHUNK: usize = 4 << 20;

/// Where the decoded bytes come from.
enum Source<'a> {
    /// xz, decoded straight into the buffer's spare capacity (`XzDecoder`
    /// would decode into a buffer of its own and copy).
    Xz {
        stream: xz2::stream::Stream,
        input: &'a [u8],
    },
    /// gzip, or the plain bytes.
    Read(Box<dyn Read + 'a>),
}

impl Source<'_> {
    /// Appends decoded bytes to `buf` up to its capacity; true at the end.
    fn fill(&mut self, buf: &mut Vec<u8>) -> Result<bool, (&'static str, String)> {
        match self {
            Source::Xz { stream, input } => fill_xz(stream, input, buf).map_err(|e| ("xz", e)),
            Source::Read(r) => fill_read(r, buf).map_err(|e| ("gzip", e.to_string())),
        }
    }
}

/// Decodes `input` into `buf`'s spare capacity until it is full (false)
/// or the stream ends (true); `stream` keeps the place in `input`.
pub(super) fn fill_xz(
    stream: &mut xz2::stream::Stream,
    input: &[u8],
    buf: &mut Vec<u8>,
) -> Result<bool, String> {
    use xz2::stream::{Action, Status};
    while buf.len() < buf.capacity() {
        let consumed = stream.total_in() as usize;
        let before = (consumed, stream.total_out());
        let status = stream
            .process_vec(&input[consumed..], buf, Action::Finish)
            .map_err(|e| e.to_string())?;
        if let Status::StreamEnd = status {
            return Ok(true);
        }
        if (stream.total_in() as usize, stream.total_out()) == before {
            return Err("unexpected end of data".into());
        }
    }
    Ok(false)
}

fn fill_read(r: &mut dyn Read, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let start = buf.len();
    buf.resize(buf.capacity(), 0);
    let mut len = start;
    let end = loop {
        if len == buf.len() {
            break false;
        }
        match r.read(&mut buf[len..]) {
            Ok(0) => break true,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    };
    buf.truncate(len);
    Ok(end)
}

/// Decompresses `bytes` by extension (`.xz`, `.gz`, or plain for anything
/// else) and hands `parse` the text in pieces of about `chunk` bytes, each
/// made of whole paragraphs (a piece ends just after a blank line, or at
/// the end of the text), with the number of lines before it. `name` names
/// the file in errors, which are [`super::fetch::decompress`]'s.
pub fn for_each_chunk(
    bytes: &[u8],
    ext: &str,
    name: &str,
    chunk: usize,
    mut parse: impl FnMut(&str, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    let corrupt = |format: &str, message: String| Error::Corrupt {
        file: name.to_string(),
        message: format!("{format}: {message}"),
    };
    let mut source = match ext {
        ".xz" => {
            use xz2::stream::{CONCATENATED, Stream};
            let stream = Stream::new_stream_decoder(u64::MAX, CONCATENATED)
                .map_err(|e| corrupt("xz", e.to_string()))?;
            Source::Xz {
                stream,
                input: bytes,
            }
        }
        ".gz" => Source::Read(Box::new(flate2::read::MultiGzDecoder::new(bytes))),
        _ => Source::Read(Box::new(bytes)),
    };
    let mut buf = Vec::with_capacity(chunk.max(1));
    // Lines and bytes handed on before the buffer's start.
    let (mut lines, mut offset) = (0, 0);
    loop {
        let end = source.fill(&mut buf).map_err(|(f, e)| corrupt(f, e))?;
        let cut = if end {
            buf.len()
        } else {
            match last_blank_end(&buf) {
                Some(cut) => cut,
                // One paragraph fills the buffer: make room for the rest.
                None => {
                    buf.reserve(buf.capacity());
                    continue;
                }
            }
        };
        let text = std::str::from_utf8(&buf[..cut])
            .map_err(|e| corrupt("text", utf8_message(&e, offset, end && cut == buf.len())))?;
        parse(text, lines)?;
        if end {
            return Ok(());
        }
        lines += memchr::memchr_iter(b'\n', &buf[..cut]).count();
        offset += cut;
        buf.drain(..cut);
    }
}

/// `String::from_utf8`'s message for the whole text: the offset counts
/// from its start, not the chunk's.
fn utf8_message(e: &std::str::Utf8Error, offset: usize, at_end: bool) -> String {
    let at = offset + e.valid_up_to();
    match e.error_len() {
        Some(n) => format!("invalid utf-8 sequence of {n} bytes from index {at}"),
        None if at_end => format!("incomplete utf-8 byte sequence from index {at}"),
        // A chunk ends after a newline, never inside a character.
        None => format!("invalid utf-8 sequence from index {at}"),
    }
}

/// Where the last blank line (empty, or only spaces, tabs and a carriage
/// return: lines the deb822 parser takes as blank) of `buf`'s complete
/// lines ends, just after its newline. Text up to there is whole
/// paragraphs; `buf` starts at the start of a line.
fn last_blank_end(buf: &[u8]) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', buf)?;
    loop {
        let start = memchr::memrchr(b'\n', &buf[..end]).map_or(0, |i| i + 1);
        if buf[start..end]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
        {
            return Some(end + 1);
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pieces `text` is handed on in, `chunk` bytes at a time, with the
    /// line counts before them.
    fn pieces(text: &[u8], ext: &str, chunk: usize) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for_each_chunk(text, ext, "t", chunk, |t, line| {
            out.push((t.to_string(), line));
            Ok(())
        })
        .unwrap();
        out
    }

    fn xz(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = xz2::read::XzEncoder::new(text, 6);
        enc.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_paragraph_across_the_chunk_boundary_is_carried_over() {
        // The first 16 bytes end inside the second paragraph's first line.
        let text = "A: 1\nB: 2\n\nC: 3\nD: 4\n\nE: 5\n";
        let got = pieces(text.as_bytes(), "", 16);
        assert_eq!(
            got,
            [
                ("A: 1\nB: 2\n\n".to_string(), 0),
                ("C: 3\nD: 4\n\n".to_string(), 3),
                ("E: 5\n".to_string(), 6),
            ]
        );
        // xz decodes into pieces of whole paragraphs too (the last two may
        // come as one: the stream can end as it fills the buffer).
        check_pieces(text, &pieces(&xz(text.as_bytes()), ".xz", 16));
    }

    /// The pieces put back together are the text; each but the last ends
    /// with a blank line; each comes with the lines before it.
    fn check_pieces(text: &str, got: &[(String, usize)]) {
        let joined: String = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(joined, text);
        let mut lines = 0;
        for (i, (t, line)) in got.iter().enumerate() {
            assert_eq!(*line, lines, "piece {i}");
            let last_line = t
                .strip_suffix('\n')
                .map(|t| t.rsplit('\n').next().unwrap_or(""));
            let blank = last_line.is_some_and(|l| l.trim_matches([' ', '\t', '\r']).is_empty());
            assert!(i + 1 == got.len() || blank, "piece {i}: {t:?}");
            lines += t.matches('\n').count();
        }
    }

    #[test]
    fn a_line_across_the_boundary_stays_whole() {
        // 8 bytes end in the middle of `Build-Depends: …`, longer than the
        // buffer: it grows until the paragraph's blank line is in it.
        let text = "A: 1\n\nBuild-Depends: x, y\n z\n\nC: 3\n\nD: 4\n\nE: 5";
        let got = pieces(text.as_bytes(), "", 8);
        check_pieces(text, &got);
        assert_eq!(got[0], ("A: 1\n\n".to_string(), 0));
        assert!(
            got[1].0.starts_with("Build-Depends: x, y\n z\n\n"),
            "{got:?}"
        );
        assert_eq!(got[1].1, 2);
        let many = "Package: p\nDepends: a,\n b\n\n".repeat(100) + "Package: last";
        for chunk in [1, 7, 13, 64, 1000] {
            check_pieces(&many, &pieces(many.as_bytes(), "", chunk));
            check_pieces(&many, &pieces(&xz(many.as_bytes()), ".xz", chunk));
        }
    }

    #[test]
    fn crlf_and_blank_lines_of_spaces_are_boundaries() {
        let text = "A: 1\r\n\r\nB: 2\r\n \t\r\nC: 3\r\n";
        let got = pieces(text.as_bytes(), "", 10);
        assert_eq!(
            got,
            [
                ("A: 1\r\n\r\n".to_string(), 0),
                ("B: 2\r\n \t\r\n".to_string(), 2),
                ("C: 3\r\n".to_string(), 4),
            ]
        );
    }

    #[test]
    fn a_boundary_between_cr_and_lf_waits_for_the_line_end() {
        // 7 bytes: "A: 1\r\n\r" — the blank line's `\n` is not read yet, so
        // there is no boundary: the buffer grows to 14 and has one.
        let text = "A: 1\r\n\r\nB: 2\r\n\r\nC: 3";
        let got = pieces(text.as_bytes(), "", 7);
        check_pieces(text, &got);
        assert_eq!(got[0], ("A: 1\r\n\r\n".to_string(), 0));
        assert_eq!(got[1], ("B: 2\r\n\r\nC: 3".to_string(), 2));
    }

    #[test]
    fn gzip_pieces_match_the_plain_text() {
        use std::io::Write;
        let text = "A: 1\n\nB: 2\n\nC: 3\n".repeat(50);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(pieces(&gz, ".gz", 64), pieces(text.as_bytes(), "", 64));
    }

    #[test]
    fn bad_utf8_is_named_at_its_offset_in_the_whole_text() {
        let mut text = b"A: 1\n\nB: 2\n\nC: ".to_vec();
        text.push(0xff);
        let e = for_each_chunk(&text, "", "dists/sid/x", 8, |_, _| Ok(())).unwrap_err();
        let whole = String::from_utf8(text.clone()).unwrap_err();
        assert!(e.to_string().contains(&format!("text: {whole}")), "{e}");
        assert!(e.to_string().contains("dists/sid/x"), "{e}");
    }

    #[test]
    fn truncated_xz_is_an_error() {
        let mut data = xz(&b"A: 1\n\n".repeat(1000));
        data.truncate(data.len() / 2);
        let e = for_each_chunk(&data, ".xz", "dists/sid/x.xz", 64, |_, _| Ok(())).unwrap_err();
        assert!(e.to_string().contains("dists/sid/x.xz"), "{e}");
        assert!(e.to_string().contains("xz"), "{e}");
    }
}
