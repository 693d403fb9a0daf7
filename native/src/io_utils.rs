//! `read_last_n_lines`, `hash_file` and `find_free_port` (spec sections 2.1-2.3).

use crate::errors::{io_errno, SkyError};
use digest::DynDigest;
use socket2::{Domain, Socket, Type};
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

/// SkyPilot's `hash_file` block size (2**18 bytes).
pub const HASH_BLOCK_BYTES: usize = 1 << 18;
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

/// A hash algorithm `hash_file` computes in Rust.
#[derive(Debug, Clone, Copy)]
pub struct HashAlgorithm {
    /// hashlib's canonical (lower-case) name, what `.name` reports.
    pub name: &'static str,
    /// Spellings hashlib accepts only exactly as written (its own underscore names).
    exact_names: &'static [&'static str],
    /// OpenSSL names, which hashlib.new resolves in any letter case.
    openssl_names: &'static [&'static str],
    new_hasher: fn() -> Box<dyn DynDigest>,
}

fn boxed<D: DynDigest + Default + 'static>() -> Box<dyn DynDigest> {
    Box::new(D::default())
}

const fn algorithm(
    name: &'static str,
    exact_names: &'static [&'static str],
    openssl_names: &'static [&'static str],
    new_hasher: fn() -> Box<dyn DynDigest>,
) -> HashAlgorithm {
    HashAlgorithm { name, exact_names, openssl_names, new_hasher }
}

/// The algorithms implemented here; `SUPPORTED_HASH_ALGORITHMS` lists their names. The accepted spellings
/// were read off hashlib (Python 3.11, OpenSSL 3) by trying every letter case of every alias.
pub const HASH_ALGORITHMS: [HashAlgorithm; 14] = [
    algorithm("md5", &[], &["md5", "ssl3-md5"], boxed::<md5::Md5>),
    algorithm("sha1", &[], &["sha1", "sha-1", "ssl3-sha1"], boxed::<sha1::Sha1>),
    algorithm("sha224", &[], &["sha224", "sha-224", "sha2-224"], boxed::<sha2::Sha224>),
    algorithm("sha256", &[], &["sha256", "sha-256", "sha2-256"], boxed::<sha2::Sha256>),
    algorithm("sha384", &[], &["sha384", "sha-384", "sha2-384"], boxed::<sha2::Sha384>),
    algorithm("sha512", &[], &["sha512", "sha-512", "sha2-512"], boxed::<sha2::Sha512>),
    algorithm(
        "sha512_224",
        &["sha512_224", "SHA512_224"],
        &["sha512-224", "sha-512/224", "sha2-512/224"],
        boxed::<sha2::Sha512_224>,
    ),
    algorithm(
        "sha512_256",
        &["sha512_256", "SHA512_256"],
        &["sha512-256", "sha-512/256", "sha2-512/256"],
        boxed::<sha2::Sha512_256>,
    ),
    algorithm("sha3_224", &["sha3_224"], &["sha3-224"], boxed::<sha3::Sha3_224>),
    algorithm("sha3_256", &["sha3_256"], &["sha3-256"], boxed::<sha3::Sha3_256>),
    algorithm("sha3_384", &["sha3_384"], &["sha3-384"], boxed::<sha3::Sha3_384>),
    algorithm("sha3_512", &["sha3_512"], &["sha3-512"], boxed::<sha3::Sha3_512>),
    algorithm("blake2b", &["blake2b"], &["blake2b512"], boxed::<blake2::Blake2b512>),
    algorithm("blake2s", &["blake2s"], &["blake2s256"], boxed::<blake2::Blake2s256>),
];

impl HashAlgorithm {
    /// What `hashlib.new(name)` resolves to, if we implement it: so `'SHA256'` works, while `'SHA3_256'`,
    /// `'Sha512_224'` and `'BLAKE2B'` fail, as in hashlib.
    pub fn from_hashlib_name(name: &str) -> Option<Self> {
        HASH_ALGORITHMS.iter().copied().find(|algorithm| {
            algorithm.exact_names.contains(&name)
                || algorithm.openssl_names.iter().any(|alias| alias.eq_ignore_ascii_case(name))
        })
    }
}

/// The finished digest of a file, with hashlib's algorithm name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub name: &'static str,
    pub digest: Vec<u8>,
}

impl FileDigest {
    /// Lower-case hex, as hashlib's `hexdigest()`.
    pub fn hexdigest(&self) -> String {
        self.digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The digest of a file's bytes (spec 2.2). The file is opened before the algorithm is looked up, so a
/// missing file wins over a bad name; read in 256 KiB blocks.
pub fn hash_file(path: &Path, hash_alg: &str) -> Result<FileDigest, SkyError> {
    let mut file = open_regular(path).map_err(|error| SkyError::from_io(&error, Some(path.to_path_buf())))?;
    let algorithm = HashAlgorithm::from_hashlib_name(hash_alg)
        .ok_or_else(|| SkyError::Value(format!("unsupported hash type {hash_alg}")))?;
    let mut hasher = (algorithm.new_hasher)();
    // Blocks of 256 KiB as SkyPilot reads, but no bigger buffer than a small file needs (one byte over its
    // size, so its end shows in the first read); a file that grows meanwhile is still read to its end.
    let file_bytes = file.metadata().map(|meta| meta.len()).unwrap_or(u64::MAX);
    let block_bytes =
        usize::try_from(file_bytes.saturating_add(1)).map_or(HASH_BLOCK_BYTES, |b| b.min(HASH_BLOCK_BYTES));
    let mut block = vec![0u8; block_bytes];
    loop {
        match file.read(&mut block) {
            Ok(0) => break,
            Ok(count) => hasher.update(&block[..count]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(SkyError::from_io(&error, None)),
        }
    }
    Ok(FileDigest { name: algorithm.name, digest: hasher.finalize().into_vec() })
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
    fn hash_file_spec_examples() {
        let file = file_with(b"line1\nline2\nline3\nline4\nline5\n");
        let hex = |alg: &str| hash_file(file.path(), alg).map(|digest| digest.hexdigest());
        assert_eq!(hex("md5").as_deref(), Ok("6e138f7a4db066d60dbeef2ce34f3ed5"));
        assert_eq!(
            hex("SHA256").as_deref(),
            Ok("77165950de0a3f78fa118b964335e26deb3c895a7de50035bb5f8505a19f19cf")
        );
        assert_eq!(hex("sha1").as_deref(), Ok("01595d07cc3cc7681352a8ca4662e0f7496fe208"));
        assert_eq!(
            hex("sha512").as_deref(),
            Ok("340368e48e61b51898b605952ed832b927e298426449b1e990a7a7fa9637da5ad9fd230bae133cb8c7196ebc3f1e11ef45510d5872aec1aa0feb29464bb04d05")
        );
        assert_eq!(hex("nope"), Err(SkyError::Value("unsupported hash type nope".into())));
        assert_eq!(hex("SHA3_256"), Err(SkyError::Value("unsupported hash type SHA3_256".into())));
        assert_eq!(hash_file(file.path(), "Sha-512/256").map(|d| d.name), Ok("sha512_256"));
        assert_eq!(hash_file(file.path(), "SHA512_224").map(|d| d.name), Ok("sha512_224"));
        for rejected in ["Sha512_224", "BLAKE2B", "Sha3_256"] {
            assert!(matches!(hash_file(file.path(), rejected), Err(SkyError::Value(_))), "{rejected}");
        }
        let empty = file_with(b"");
        assert_eq!(
            hash_file(empty.path(), "md5").map(|d| d.hexdigest()).as_deref(),
            Ok("d41d8cd98f00b204e9800998ecf8427e")
        );
        let missing = hash_file(Path::new("/nonexistent/file"), "nope");
        assert!(matches!(missing, Err(SkyError::Os { errno: libc::ENOENT, .. })));
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
