//! `read_last_n_lines`, `hash_file` (its own module, `hashing`) and `find_free_port` (spec sections 2.1-2.3).

use crate::errors::{io_errno, SkyError};
use socket2::{Domain, Socket, Type};
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

mod hashing;
pub use hashing::{
    hash_file, hash_open_file, open_for_hashing, FileDigest, HashAlgorithm, HASH_ALGORITHMS, NAME_TYPE_ERROR,
    READ_BLOCK_BYTES,
};

/// `find_free_port` tries ports below this bound (exclusive, as SkyPilot's `range(start, 65535)`).
pub const PORT_RANGE_END: i64 = 65535;

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
        let mut normalized = String::with_capacity(name.len());
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

/// `bytes.decode(encoding, errors)` for the supported codecs. Replacement follows Python (and Unicode's
/// "maximal subpart" practice, which Rust's `Utf8Chunks` also follows): one U+FFFD per invalid sequence.
pub fn decode(bytes: &[u8], encoding: Encoding, errors: DecodeErrors) -> Result<String, SkyError> {
    match encoding {
        Encoding::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        Encoding::Ascii => {
            let mut text = String::with_capacity(bytes.len());
            for (index, &byte) in bytes.iter().enumerate() {
                if byte.is_ascii() {
                    text.push(char::from(byte));
                } else {
                    match errors {
                        DecodeErrors::Strict => {
                            return Err(SkyError::UnicodeDecode {
                                encoding: "ascii",
                                input: bytes.to_vec(),
                                start: index,
                                end: index + 1,
                                reason: "ordinal not in range(128)",
                            })
                        }
                        DecodeErrors::Replace => text.push(char::REPLACEMENT_CHARACTER),
                        DecodeErrors::Ignore => {}
                    }
                }
            }
            Ok(text)
        }
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_string()),
            Err(error) if errors == DecodeErrors::Strict => {
                let start = error.valid_up_to();
                Err(SkyError::UnicodeDecode {
                    encoding: "utf-8",
                    input: bytes.to_vec(),
                    start,
                    end: error.error_len().map_or(bytes.len(), |length| start + length),
                    reason: utf8_error_reason(bytes, start, error.error_len()),
                })
            }
            Err(_) => {
                let mut text = String::with_capacity(bytes.len());
                for chunk in bytes.utf8_chunks() {
                    text.push_str(chunk.valid());
                    if !chunk.invalid().is_empty() && errors == DecodeErrors::Replace {
                        text.push(char::REPLACEMENT_CHARACTER);
                    }
                }
                Ok(text)
            }
        },
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

/// Opens a file for reading the way Python's `open(path, 'rb')` does: a directory fails with `EISDIR`.
fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    Ok(file)
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

/// The bytes at the end of the file that hold its last `n` lines: SkyPilot's backward scan in `chunk_size`
/// steps, stopping once more than `n` newlines are seen. Only the scanned tail is held in memory.
fn read_tail(file: &mut File, n: u64, chunk_size: u64) -> std::io::Result<Vec<u8>> {
    let file_size = file.seek(SeekFrom::End(0))?;
    let mut position = file_size;
    let mut newlines_seen: u64 = 0;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    while position > 0 && newlines_seen <= n {
        let read_size = chunk_size.min(position);
        position -= read_size;
        file.seek(SeekFrom::Start(position))?;
        let mut chunk = vec![0; usize::try_from(read_size).unwrap_or(usize::MAX)];
        let filled = read_fully(file, &mut chunk)?;
        chunk.truncate(filled);
        newlines_seen += memchr::memchr_iter(b'\n', &chunk).count() as u64;
        chunks.push(chunk);
    }
    chunks.reverse();
    Ok(chunks.concat())
}

/// `data.split(b'\n')`: the pieces between newlines, an empty one after a trailing newline.
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', data) {
        pieces.push(&data[start..newline]);
        start = newline + 1;
    }
    pieces.push(&data[start..]);
    pieces
}

/// The last `n` lines of a file, `'\n'` on all but the last (spec 2.1). Only `\n` splits lines; each line is
/// decoded on its own and loses all trailing `\r`. Preconditions raise `AssertionError`, read failures
/// `RuntimeError` chained from the `OSError`.
pub fn read_last_n_lines(
    file: &NamedPath,
    n: i64,
    chunk_size: i64,
    encoding: Encoding,
    errors: DecodeErrors,
) -> Result<Vec<String>, SkyError> {
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
        return Ok(Vec::new());
    }
    let n_lines = n.unsigned_abs();
    let tail = open_regular(&file.path)
        .and_then(|mut handle| read_tail(&mut handle, n_lines, chunk_size.unsigned_abs()))
        .map_err(|error| SkyError::WrappedOs {
            context: format!("Failed to read last {n} lines from {}", file.shown_as),
            errno: io_errno(&error),
            filename: file.path.clone(),
        })?;
    if tail.is_empty() {
        return Ok(Vec::new());
    }
    let mut pieces: Vec<&[u8]> = split_lines(&tail);
    // A trailing newline leaves an empty last piece that is not a line.
    if pieces.last().is_some_and(|piece| piece.is_empty()) {
        pieces.pop();
    }
    let first_selected = pieces.len().saturating_sub(usize::try_from(n_lines).unwrap_or(usize::MAX));
    let selected = &pieces[first_selected..];
    let mut lines = Vec::with_capacity(selected.len());
    for (index, piece) in selected.iter().enumerate() {
        let mut line = decode(piece, encoding, errors)?;
        line.truncate(line.trim_end_matches('\r').len());
        if index + 1 < selected.len() {
            line.push('\n');
        }
        lines.push(line);
    }
    Ok(lines)
}

/// The first port from `start_port` that binds on 0.0.0.0 without SO_REUSEADDR and without `listen()`
/// (spec 2.3). The port is not held afterwards.
pub fn find_free_port(start_port: i64) -> Result<i64, SkyError> {
    for port in start_port..PORT_RANGE_END {
        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|error| SkyError::from_io(&error, None))?;
        let Ok(port_number) = u16::try_from(port) else {
            return Err(SkyError::Overflow("bind(): port must be 0-65535.".to_string()));
        };
        if socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port_number).into()).is_ok() {
            return Ok(port);
        }
    }
    Err(SkyError::OsMessage("No free ports available.".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(bytes).expect("write");
        file
    }

    fn last_lines(bytes: &[u8], n: i64, errors: DecodeErrors) -> Result<Vec<String>, SkyError> {
        let file = file_with(bytes);
        let path = NamedPath::from(file.path().to_str().unwrap_or_default());
        read_last_n_lines(&path, n, 3, Encoding::Utf8, errors)
    }

    #[test]
    fn read_last_n_lines_spec_examples() {
        let five = b"line1\nline2\nline3\nline4\nline5\n";
        let cases: [(&[u8], i64, &[&str]); 10] = [
            (five, 2, &["line4\n", "line5"]),
            (five, 10, &["line1\n", "line2\n", "line3\n", "line4\n", "line5"]),
            (b"line1\nline2\nline3\nline4\nline5", 3, &["line3\n", "line4\n", "line5"]),
            (b"a\r\nb\r\nc\r\n", 2, &["b\n", "c"]),
            (b"a\r\r\nb\r", 3, &["a\n", "b"]),
            (b"a\rb\nc", 3, &["a\rb\n", "c"]),
            (b"\n", 1, &[""]),
            (b"\n\n\n", 2, &["\n", ""]),
            (b"", 3, &[]),
            (b"ok\n\xff\xfeabc\n\xe2\x82\n", 3, &["ok\n", "\u{fffd}\u{fffd}abc\n", "\u{fffd}"]),
        ];
        for (bytes, n, expected) in cases {
            assert_eq!(
                last_lines(bytes, n, DecodeErrors::Replace),
                Ok(expected.iter().map(|s| s.to_string()).collect())
            );
        }
        let invalid = b"ok\n\xff\xfeabc\n\xe2\x82\n";
        assert_eq!(
            last_lines(invalid, 2, DecodeErrors::Ignore),
            Ok(vec!["abc\n".to_string(), String::new()])
        );
        assert!(matches!(last_lines(invalid, 2, DecodeErrors::Strict), Err(SkyError::UnicodeDecode { .. })));
        assert_eq!(last_lines(five, 0, DecodeErrors::Replace), Ok(vec![]));
    }

    #[test]
    fn read_last_n_lines_preconditions_and_read_errors() {
        let missing = NamedPath::from("/nonexistent/file");
        let call = |path: &NamedPath, n, chunk| {
            read_last_n_lines(path, n, chunk, Encoding::Utf8, DecodeErrors::Replace)
        };
        assert_eq!(call(&missing, -1, 0), Err(SkyError::Assertion("n must be non-negative. Got -1".into())));
        assert_eq!(
            call(&missing, 1, 0),
            Err(SkyError::Assertion("chunk_size must be positive. Got 0".into()))
        );
        assert_eq!(
            call(&missing, 1, 1),
            Err(SkyError::Assertion("File not found: /nonexistent/file".into()))
        );
        let directory = tempfile::tempdir().expect("temp dir");
        let named = NamedPath { path: directory.path().to_path_buf(), shown_as: "files".into() };
        match call(&named, 3, 8192) {
            Err(SkyError::WrappedOs { context, errno, .. }) => {
                assert_eq!(context, "Failed to read last 3 lines from files");
                assert_eq!(errno, libc::EISDIR);
            }
            other => panic!("expected a wrapped EISDIR, got {other:?}"),
        }
    }

    #[test]
    fn decoding_matches_python_codecs() {
        assert_eq!(decode(b"caf\xe9", Encoding::Latin1, DecodeErrors::Strict), Ok("café".to_string()));
        assert_eq!(decode(b"caf\xe9", Encoding::Utf8, DecodeErrors::Replace), Ok("caf\u{fffd}".to_string()));
        assert_eq!(decode(b"a\x80b", Encoding::Ascii, DecodeErrors::Replace), Ok("a\u{fffd}b".to_string()));
        // Surrogate encodings are three invalid sequences, as in Python.
        assert_eq!(decode(b"\xed\xa0\x80", Encoding::Utf8, DecodeErrors::Replace), Ok("\u{fffd}".repeat(3)));
        let strict = decode(b"ab\xe2\x82", Encoding::Utf8, DecodeErrors::Strict);
        assert_eq!(
            strict.map_err(|e| e.to_string()),
            Err("'utf-8' codec can't decode bytes in position 2-3: unexpected end of data".to_string())
        );
        assert_eq!(Encoding::from_python_name("UTF-8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::from_python_name(" Latin-1 "), Some(Encoding::Latin1));
        assert_eq!(Encoding::from_python_name("US-ASCII"), Some(Encoding::Ascii));
        assert_eq!(Encoding::from_python_name("utf-16"), None);
        assert_eq!(DecodeErrors::from_python_name("Replace"), None);
    }

    #[test]
    fn find_free_port_edges() {
        assert_eq!(find_free_port(0), Ok(0));
        assert_eq!(find_free_port(65535), Err(SkyError::OsMessage("No free ports available.".into())));
        assert_eq!(find_free_port(70000), Err(SkyError::OsMessage("No free ports available.".into())));
        assert_eq!(find_free_port(-5), Err(SkyError::Overflow("bind(): port must be 0-65535.".into())));
        let held = std::net::TcpListener::bind("0.0.0.0:0").expect("listener");
        let held_port = i64::from(held.local_addr().expect("address").port());
        if held_port < PORT_RANGE_END - 1 {
            assert!(find_free_port(held_port).is_ok_and(|port| port > held_port));
        }
    }
}
