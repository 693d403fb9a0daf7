//! `read_last_n_lines` (spec section 2.1): SkyPilot's backward scan, holding only the bytes of the lines it
//! returns. Every buffer sized by an argument or by the file is reserved fallibly, so running out of memory
//! is `MemoryError`, as in Python, never an abort.

use super::open_regular;
use crate::errors::{io_errno, try_copy, SkyError};
use std::borrow::Cow;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::PathBuf;

/// The backward scan reads windows of `chunk_size` bytes within these bounds: never more than Python's
/// chunk of the default size holds in one piece, and not one system call per byte for a tiny `chunk_size`.
/// Which window is used does not change the result (spec 2.1, "does not depend on chunk_size").
const MIN_SCAN_WINDOW_BYTES: u64 = 4096;
const MAX_SCAN_WINDOW_BYTES: u64 = 8192;

/// The codecs `read_last_n_lines` decodes in Rust; the fallback wrapper sends any other to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Latin1,
    Ascii,
}

impl Encoding {
    /// The codec Python's `codecs.lookup(name)` finds, if it is one of ours: names are normalised as
    /// `encodings.normalize_encoding` does (lower case, runs of punctuation to `_`), then aliases resolved.
    pub fn from_python_name(name: &str) -> Option<Self> {
        let mut normalized = String::with_capacity(name.len().min(64));
        let mut pending_separator = false;
        for c in name.chars() {
            if c.is_alphanumeric() || c == '.' {
                if pending_separator && !normalized.is_empty() {
                    normalized.push('_');
                }
                // Python drops non-ASCII letters and digits here.
                if c.is_ascii() {
                    normalized.push(c.to_ascii_lowercase());
                }
                pending_separator = false;
            } else {
                pending_separator = true;
            }
        }
        Self::from_normalized(&normalized).or_else(|| Self::from_normalized(&normalized.replace('.', "_")))
    }

    fn from_normalized(name: &str) -> Option<Self> {
        match name {
            "utf_8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8_ucs2" | "utf8_ucs4" => Some(Encoding::Utf8),
            "latin_1" | "latin1" | "latin" | "l1" | "8859" | "cp819" | "csisolatin1" | "ibm819"
            | "iso8859" | "iso8859_1" | "iso_8859_1" | "iso_8859_1_1987" | "iso_ir_100" => {
                Some(Encoding::Latin1)
            }
            "ascii" | "646" | "ansi_x3.4_1968" | "ansi_x3_4_1968" | "ansi_x3.4_1986" | "cp367"
            | "csascii" | "ibm367" | "iso646_us" | "iso_646.irv_1991" | "iso_ir_6" | "us" | "us_ascii" => {
                Some(Encoding::Ascii)
            }
            _ => None,
        }
    }
}

/// The `errors=` handlers `read_last_n_lines` supports in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeErrors {
    Strict,
    Replace,
    Ignore,
}

impl DecodeErrors {
    /// Python's handler names are exact (case-sensitive).
    pub fn from_python_name(name: &str) -> Option<Self> {
        match name {
            "strict" => Some(DecodeErrors::Strict),
            "replace" => Some(DecodeErrors::Replace),
            "ignore" => Some(DecodeErrors::Ignore),
            _ => None,
        }
    }
}

/// Python's reason text for the first invalid UTF-8 sequence at `start`.
fn utf8_error_reason(bytes: &[u8], start: usize, error_length: Option<usize>) -> &'static str {
    match (error_length, bytes.get(start)) {
        (None, _) => "unexpected end of data",
        (Some(_), Some(0x80..=0xc1 | 0xf5..=0xff)) => "invalid start byte",
        (Some(_), _) => "invalid continuation byte",
    }
}

/// `text.push_str(piece)`, growing fallibly.
fn push_fallibly(text: &mut String, piece: &str) -> Result<(), SkyError> {
    text.try_reserve(piece.len())?;
    text.push_str(piece);
    Ok(())
}

fn decode_error(encoding: &'static str, bytes: &[u8], range: Range<usize>, reason: &'static str) -> SkyError {
    match try_copy(bytes) {
        Ok(input) => SkyError::UnicodeDecode { encoding, input, start: range.start, end: range.end, reason },
        Err(memory) => memory,
    }
}

fn decode_ascii(bytes: &[u8], errors: DecodeErrors) -> Result<String, SkyError> {
    let mut text = String::new();
    text.try_reserve(bytes.len())?;
    for (index, &byte) in bytes.iter().enumerate() {
        if byte.is_ascii() {
            text.push(char::from(byte));
        } else {
            match errors {
                DecodeErrors::Strict => {
                    return Err(decode_error("ascii", bytes, index..index + 1, "ordinal not in range(128)"))
                }
                // U+FFFD takes 3 bytes where the input byte took 1.
                DecodeErrors::Replace => push_fallibly(&mut text, "\u{fffd}")?,
                DecodeErrors::Ignore => {}
            }
        }
    }
    Ok(text)
}

fn decode_utf8(bytes: &[u8], errors: DecodeErrors) -> Result<String, SkyError> {
    if let Err(error) = std::str::from_utf8(bytes) {
        if errors == DecodeErrors::Strict {
            let start = error.valid_up_to();
            let end = error.error_len().map_or(bytes.len(), |length| start + length);
            return Err(decode_error(
                "utf-8",
                bytes,
                start..end,
                utf8_error_reason(bytes, start, error.error_len()),
            ));
        }
    }
    let mut text = String::new();
    text.try_reserve(bytes.len())?;
    for chunk in bytes.utf8_chunks() {
        push_fallibly(&mut text, chunk.valid())?;
        if !chunk.invalid().is_empty() && errors == DecodeErrors::Replace {
            push_fallibly(&mut text, "\u{fffd}")?;
        }
    }
    Ok(text)
}

/// `bytes.decode(encoding, errors)` for the supported codecs. Replacement follows Python (and Unicode's
/// "maximal subpart" practice, which Rust's `Utf8Chunks` also follows): one U+FFFD per invalid sequence.
pub fn decode(bytes: &[u8], encoding: Encoding, errors: DecodeErrors) -> Result<String, SkyError> {
    match encoding {
        Encoding::Latin1 => {
            let mut text = String::new();
            // Bytes from 0x80 take 2 bytes in UTF-8.
            text.try_reserve(bytes.len().saturating_mul(2))?;
            text.extend(bytes.iter().map(|&b| char::from(b)));
            Ok(text)
        }
        Encoding::Ascii => decode_ascii(bytes, errors),
        Encoding::Utf8 => decode_utf8(bytes, errors),
    }
}

/// A path as the caller named it: the file system path and the text SkyPilot's messages show (`str(path)`).
#[derive(Debug, Clone)]
pub struct NamedPath {
    pub path: PathBuf,
    pub shown_as: String,
}

impl From<&str> for NamedPath {
    fn from(path: &str) -> Self {
        NamedPath { path: PathBuf::from(path), shown_as: path.to_string() }
    }
}

/// Why the tail could not be read: Python's `open()` errors name the file, its seek and read errors do not.
enum TailError {
    Open(std::io::Error),
    /// The first seek failed: Python's buffered reader then calls the file not seekable.
    NotSeekable,
    Read(std::io::Error),
    Memory,
}

impl From<std::io::Error> for TailError {
    fn from(error: std::io::Error) -> Self {
        TailError::Read(error)
    }
}

impl From<std::collections::TryReserveError> for TailError {
    fn from(_: std::collections::TryReserveError) -> Self {
        TailError::Memory
    }
}

/// A zeroed buffer of `length` bytes, or `TailError::Memory`.
fn try_buffer(length: u64) -> Result<Vec<u8>, TailError> {
    let length = usize::try_from(length).map_err(|_| TailError::Memory)?;
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(length)?;
    buffer.resize(length, 0);
    Ok(buffer)
}

/// Reads exactly `buffer.len()` bytes at the current position (fewer only at EOF).
fn read_fully(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Where the last `n` lines start: just after the newline before the first of them, or 0. Scans back from
/// `file_size` in windows of one reused buffer, as SkyPilot's scan does in chunks, stopping as soon as it
/// has seen the newline it needs (one more than `n` when the data ends with a newline).
fn tail_start(file: &mut File, file_size: u64, n: u64, chunk_size: u64) -> Result<u64, TailError> {
    let window_bytes = chunk_size.clamp(MIN_SCAN_WINDOW_BYTES, MAX_SCAN_WINDOW_BYTES).min(file_size);
    let mut window = try_buffer(window_bytes)?;
    let mut position = file_size;
    let mut newlines_needed: Option<u64> = None;
    let mut newlines_seen: u64 = 0;
    while position > 0 {
        let read_bytes = window_bytes.min(position);
        position -= read_bytes;
        file.seek(SeekFrom::Start(position))?;
        let read = &mut window[..usize::try_from(read_bytes).unwrap_or(usize::MAX)];
        let filled = read_fully(file, read)?;
        let chunk = &read[..filled];
        let needed = *newlines_needed.get_or_insert(if chunk.last() == Some(&b'\n') { n + 1 } else { n });
        for newline in memchr::memrchr_iter(b'\n', chunk) {
            newlines_seen += 1;
            if newlines_seen == needed {
                return Ok(position + newline as u64 + 1);
            }
        }
    }
    Ok(0)
}

/// The bytes from the start of the last `n` lines to the end of the file.
fn read_tail(file: &mut File, n: u64, chunk_size: u64) -> Result<Vec<u8>, TailError> {
    let file_size = file.seek(SeekFrom::End(0)).map_err(|_| TailError::NotSeekable)?;
    let start = tail_start(file, file_size, n, chunk_size)?;
    let mut tail = try_buffer(file_size - start)?;
    file.seek(SeekFrom::Start(start))?;
    let filled = read_fully(file, &mut tail)?;
    tail.truncate(filled);
    Ok(tail)
}

/// The end of a file holding exactly its last `n` lines (or all of them), with the lines' places in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastLines {
    tail: Vec<u8>,
}

impl LastLines {
    /// The lines: their byte ranges in the tail (without the `\n`), and whether each is the last. A trailing
    /// newline ends the last line; it does not start another.
    pub fn pieces(&self) -> impl Iterator<Item = (Range<usize>, bool)> + '_ {
        let end = self.tail.len() - usize::from(self.tail.last() == Some(&b'\n'));
        let newlines = memchr::memchr_iter(b'\n', &self.tail[..end]);
        let starts = std::iter::once(0).chain(newlines.clone().map(|newline| newline + 1));
        let ends = newlines.chain(std::iter::once(end));
        let lines = if self.tail.is_empty() { 0 } else { usize::MAX };
        starts.zip(ends).take(lines).map(move |(start, stop)| (start..stop, stop == end))
    }

    /// A line as SkyPilot returns it (spec 2.1 step 7): decoded, every trailing `\r` removed, `'\n'` added
    /// unless it is the last. Borrowed from the tail where its bytes already read that way.
    pub fn line_text(
        &self,
        piece: Range<usize>,
        is_last: bool,
        encoding: Encoding,
        errors: DecodeErrors,
    ) -> Result<Cow<'_, str>, SkyError> {
        let bytes = &self.tail[piece.clone()];
        let kept = bytes.len() - bytes.iter().rev().take_while(|&&b| b == b'\r').count();
        if kept == bytes.len() {
            // ASCII reads the same in all three codecs, and valid UTF-8 needs no decoding in UTF-8: then the
            // bytes with their '\n' are the line.
            let with_newline = &self.tail[piece.start..piece.end + usize::from(!is_last)];
            if encoding == Encoding::Utf8 || with_newline.is_ascii() {
                if let Ok(text) = std::str::from_utf8(with_newline) {
                    return Ok(Cow::Borrowed(text));
                }
            }
        }
        // Stripping the '\r's before decoding is the same as after when the bytes decode as they are; an
        // invalid line is decoded whole, so a strict error names the same bytes as Python's.
        let plain =
            if encoding == Encoding::Utf8 { std::str::from_utf8(bytes).is_ok() } else { bytes.is_ascii() };
        let mut line = decode(if plain { &bytes[..kept] } else { bytes }, encoding, errors)?;
        line.truncate(line.trim_end_matches('\r').len());
        if !is_last {
            push_fallibly(&mut line, "\n")?;
        }
        Ok(Cow::Owned(line))
    }
}

/// The precondition checks and the read of `read_last_n_lines` (spec 2.1 steps 1-4): `AssertionError`s first,
/// then the tail holding the last `n` lines; read failures are `RuntimeError` chained from the `OSError`.
pub fn read_last_lines(file: &NamedPath, n: i64, chunk_size: i64) -> Result<LastLines, SkyError> {
    if n < 0 {
        return Err(SkyError::Assertion(format!("n must be non-negative. Got {n}")));
    }
    if chunk_size <= 0 {
        return Err(SkyError::Assertion(format!("chunk_size must be positive. Got {chunk_size}")));
    }
    // os.path.exists: false for any stat failure, a broken symlink included.
    if std::fs::metadata(&file.path).is_err() {
        return Err(SkyError::Assertion(format!("File not found: {}", file.shown_as)));
    }
    if n == 0 {
        return Ok(LastLines { tail: Vec::new() });
    }
    let tail = open_regular(&file.path)
        .map_err(TailError::Open)
        .and_then(|mut handle| read_tail(&mut handle, n.unsigned_abs(), chunk_size.unsigned_abs()));
    let context = || format!("Failed to read last {n} lines from {}", file.shown_as);
    let wrapped = |error: std::io::Error, filename: Option<PathBuf>| SkyError::WrappedOs {
        context: context(),
        errno: io_errno(&error),
        filename,
    };
    match tail {
        Ok(tail) => Ok(LastLines { tail }),
        Err(TailError::NotSeekable) => Err(SkyError::WrappedNotSeekable { context: context() }),
        Err(TailError::Open(error)) => Err(wrapped(error, Some(file.path.clone()))),
        Err(TailError::Read(error)) => Err(wrapped(error, None)),
        Err(TailError::Memory) => Err(SkyError::Memory),
    }
}

/// The last `n` lines of a file, `'\n'` on all but the last (spec 2.1). Only `\n` splits lines; each line is
/// decoded on its own and loses all trailing `\r`.
pub fn read_last_n_lines(
    file: &NamedPath,
    n: i64,
    chunk_size: i64,
    encoding: Encoding,
    errors: DecodeErrors,
) -> Result<Vec<String>, SkyError> {
    let last_lines = read_last_lines(file, n, chunk_size)?;
    let mut lines = Vec::new();
    for (piece, is_last) in last_lines.pieces() {
        let line = last_lines.line_text(piece, is_last, encoding, errors)?;
        lines.try_reserve(1)?;
        lines.push(line.into_owned());
    }
    Ok(lines)
}

#[cfg(test)]
#[path = "last_lines_tests.rs"]
mod tests;
