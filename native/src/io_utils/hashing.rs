//! `hash_file` (spec 2.2): the digest of a file's bytes, with hashlib's algorithm names.
//!
//! The hashing is done where hashlib does it, so Rust is never slower than Python on the hashing itself:
//! MD5, SHA-1, SHA-2 and SHA-3 by the system's OpenSSL (the same libcrypto and assembly hashlib calls),
//! BLAKE2 by RustCrypto's `blake2` (hashlib uses CPython's own BLAKE2 there, not OpenSSL; RustCrypto's is
//! faster than both on this machine, see the README).

use super::open_regular;
use crate::errors::SkyError;
use openssl::md::{Md, MdRef};
use openssl::md_ctx::MdCtx;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::sync::OnceLock;

/// Bytes asked of each `read`. SkyPilot reads 256 KiB blocks; 16 KiB to 1 MiB hash a 256 MiB file equally
/// fast here, and 64 KiB stays below glibc's mmap threshold (128 KiB), so the buffer comes from heap memory
/// the process already holds rather than from pages mapped afresh (and counted as new RSS) for every call.
pub const READ_BLOCK_BYTES: usize = 64 * 1024;

/// hashlib's error for a name that is not text it can pass to OpenSSL (not a `str`, a NUL, a lone surrogate).
pub const NAME_TYPE_ERROR: &str = "name must be a string";

/// Which implementation computes an algorithm.
#[derive(Debug, Clone, Copy)]
enum Engine {
    /// The system OpenSSL's implementation, fetched by this name.
    OpenSsl(&'static str),
    Blake2b,
    Blake2s,
}

/// A hash algorithm `hash_file` computes in Rust.
pub struct HashAlgorithm {
    /// hashlib's canonical (lower-case) name, what `.name` reports.
    pub name: &'static str,
    /// Spellings hashlib accepts only exactly as written (its own underscore names).
    exact_names: &'static [&'static str],
    /// OpenSSL names, which hashlib.new resolves in any letter case.
    openssl_names: &'static [&'static str],
    engine: Engine,
    /// The OpenSSL digest, fetched once (as hashlib caches it); `None` when OpenSSL does not provide it.
    fetched: OnceLock<Option<Md>>,
}

const fn algorithm(
    name: &'static str,
    exact_names: &'static [&'static str],
    openssl_names: &'static [&'static str],
    engine: Engine,
) -> HashAlgorithm {
    HashAlgorithm { name, exact_names, openssl_names, engine, fetched: OnceLock::new() }
}

/// The algorithms implemented here. The accepted spellings were read off hashlib (Python 3.11, OpenSSL 3)
/// by trying every letter case of every alias.
pub static HASH_ALGORITHMS: [HashAlgorithm; 14] = [
    algorithm("md5", &[], &["md5", "ssl3-md5"], Engine::OpenSsl("MD5")),
    algorithm("sha1", &[], &["sha1", "sha-1", "ssl3-sha1"], Engine::OpenSsl("SHA1")),
    algorithm("sha224", &[], &["sha224", "sha-224", "sha2-224"], Engine::OpenSsl("SHA2-224")),
    algorithm("sha256", &[], &["sha256", "sha-256", "sha2-256"], Engine::OpenSsl("SHA2-256")),
    algorithm("sha384", &[], &["sha384", "sha-384", "sha2-384"], Engine::OpenSsl("SHA2-384")),
    algorithm("sha512", &[], &["sha512", "sha-512", "sha2-512"], Engine::OpenSsl("SHA2-512")),
    algorithm(
        "sha512_224",
        &["sha512_224", "SHA512_224"],
        &["sha512-224", "sha-512/224", "sha2-512/224"],
        Engine::OpenSsl("SHA2-512/224"),
    ),
    algorithm(
        "sha512_256",
        &["sha512_256", "SHA512_256"],
        &["sha512-256", "sha-512/256", "sha2-512/256"],
        Engine::OpenSsl("SHA2-512/256"),
    ),
    algorithm("sha3_224", &["sha3_224"], &["sha3-224"], Engine::OpenSsl("SHA3-224")),
    algorithm("sha3_256", &["sha3_256"], &["sha3-256"], Engine::OpenSsl("SHA3-256")),
    algorithm("sha3_384", &["sha3_384"], &["sha3-384"], Engine::OpenSsl("SHA3-384")),
    algorithm("sha3_512", &["sha3_512"], &["sha3-512"], Engine::OpenSsl("SHA3-512")),
    algorithm("blake2b", &["blake2b"], &["blake2b512"], Engine::Blake2b),
    algorithm("blake2s", &["blake2s"], &["blake2s256"], Engine::Blake2s),
];

impl HashAlgorithm {
    /// What `hashlib.new(name)` resolves to, if we implement it: so `'SHA256'` works, while `'SHA3_256'`,
    /// `'Sha512_224'` and `'BLAKE2B'` fail, as in hashlib.
    pub fn from_hashlib_name(name: &str) -> Option<&'static Self> {
        HASH_ALGORITHMS.iter().find(|algorithm| {
            algorithm.exact_names.contains(&name)
                || algorithm.openssl_names.iter().any(|alias| alias.eq_ignore_ascii_case(name))
        })
    }

    /// Whether this build can compute the algorithm: the built-in ones always, OpenSSL's when the system
    /// OpenSSL provides them (a FIPS configuration may not offer MD5, for example).
    pub fn is_available(&self) -> bool {
        match self.engine {
            Engine::OpenSsl(fetch_name) => self.openssl_digest(fetch_name).is_some(),
            Engine::Blake2b | Engine::Blake2s => true,
        }
    }

    fn openssl_digest(&self, fetch_name: &str) -> Option<&MdRef> {
        self.fetched.get_or_init(|| Md::fetch(None, fetch_name, None).ok()).as_deref()
    }

    fn new_hasher(&self) -> Result<StreamHasher, SkyError> {
        match self.engine {
            Engine::OpenSsl(fetch_name) => {
                let digest = self.openssl_digest(fetch_name).ok_or_else(|| unsupported(self.name))?;
                let mut context = MdCtx::new().map_err(|error| openssl_error(self.name, &error))?;
                context.digest_init(digest).map_err(|error| openssl_error(self.name, &error))?;
                Ok(StreamHasher::OpenSsl { context, digest_bytes: digest.size() })
            }
            Engine::Blake2b => Ok(StreamHasher::Blake2b(Box::default())),
            Engine::Blake2s => Ok(StreamHasher::Blake2s(Box::default())),
        }
    }
}

fn unsupported(hash_alg: &str) -> SkyError {
    SkyError::Value(format!("unsupported hash type {hash_alg}"))
}

/// hashlib turns an OpenSSL failure into `ValueError` with OpenSSL's reason; so do we.
fn openssl_error(name: &str, error: &openssl::error::ErrorStack) -> SkyError {
    SkyError::Value(format!("{name}: OpenSSL failed: {error}"))
}

/// One digest being computed, by whichever engine implements its algorithm.
enum StreamHasher {
    OpenSsl { context: MdCtx, digest_bytes: usize },
    Blake2b(Box<blake2::Blake2b512>),
    Blake2s(Box<blake2::Blake2s256>),
}

impl StreamHasher {
    fn update(&mut self, bytes: &[u8], name: &str) -> Result<(), SkyError> {
        match self {
            StreamHasher::OpenSsl { context, .. } => {
                context.digest_update(bytes).map_err(|error| openssl_error(name, &error))
            }
            StreamHasher::Blake2b(hasher) => {
                blake2::Digest::update(hasher.as_mut(), bytes);
                Ok(())
            }
            StreamHasher::Blake2s(hasher) => {
                blake2::Digest::update(hasher.as_mut(), bytes);
                Ok(())
            }
        }
    }

    fn finish(self, name: &str) -> Result<Vec<u8>, SkyError> {
        match self {
            StreamHasher::OpenSsl { mut context, digest_bytes } => {
                let mut digest = vec![0u8; digest_bytes];
                let written =
                    context.digest_final(&mut digest).map_err(|error| openssl_error(name, &error))?;
                digest.truncate(written);
                Ok(digest)
            }
            StreamHasher::Blake2b(hasher) => Ok(blake2::Digest::finalize(*hasher).to_vec()),
            StreamHasher::Blake2s(hasher) => Ok(blake2::Digest::finalize(*hasher).to_vec()),
        }
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
        const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(self.digest.len() * 2);
        for byte in &self.digest {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
    }
}

/// Opens a file to hash as Python's `open(path, 'rb')` does: a directory fails with `IsADirectoryError`,
/// a FIFO waits for a writer, a device opens. Its size comes with it, from the `fstat` of that check.
pub fn open_for_hashing(path: &Path) -> Result<(File, u64), SkyError> {
    open_regular(path)
        .map(|(file, metadata)| (file, metadata.len()))
        .map_err(|error| SkyError::from_io(&error, Some(path.to_path_buf())))
}

/// The read buffer: no bigger than a small file needs (one byte over its size, so its end shows in the
/// first read), at most `READ_BLOCK_BYTES`. A size of 0 is also what /proc files, pipes and devices report,
/// so those get the full block, not one byte per `read`.
fn read_buffer_bytes(file_bytes: u64) -> usize {
    match file_bytes {
        0 => READ_BLOCK_BYTES,
        _ => usize::try_from(file_bytes.saturating_add(1))
            .map_or(READ_BLOCK_BYTES, |b| b.min(READ_BLOCK_BYTES)),
    }
}

/// The digest of an open file's bytes from its current position to its end (read to its end even if it
/// grows meanwhile). `file_bytes`, its size as `fstat` gave it, only sizes the read buffer.
pub fn hash_open_file(
    mut file: File,
    file_bytes: u64,
    algorithm: &HashAlgorithm,
) -> Result<FileDigest, SkyError> {
    let mut hasher = algorithm.new_hasher()?;
    let mut block = vec![0u8; read_buffer_bytes(file_bytes)];
    loop {
        match file.read(&mut block) {
            Ok(0) => break,
            Ok(count) => hasher.update(&block[..count], algorithm.name)?,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(SkyError::from_io(&error, None)),
        }
    }
    Ok(FileDigest { name: algorithm.name, digest: hasher.finish(algorithm.name)? })
}

/// The digest of a file's bytes (spec 2.2). The file is opened before the algorithm is looked up, so a
/// missing file wins over a bad name, as in Python.
pub fn hash_file(path: &Path, hash_alg: &str) -> Result<FileDigest, SkyError> {
    let (file, file_bytes) = open_for_hashing(path)?;
    if hash_alg.contains('\0') {
        return Err(SkyError::Type(NAME_TYPE_ERROR.to_string()));
    }
    let algorithm = HashAlgorithm::from_hashlib_name(hash_alg).ok_or_else(|| unsupported(hash_alg))?;
    if !algorithm.is_available() {
        return Err(unsupported(hash_alg));
    }
    hash_open_file(file, file_bytes, algorithm)
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

    /// Known answers for "abc" (FIPS 180-4, FIPS 202, RFC 7693, RFC 1321), for every algorithm we list.
    #[test]
    fn every_algorithm_gives_its_known_answer() {
        let file = file_with(b"abc");
        let known: [(&str, &str); 14] = [
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
            ("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("sha384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
            ("sha512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
            ("sha512_224", "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa"),
            ("sha512_256", "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"),
            ("sha3_224", "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"),
            ("sha3_256", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"),
            ("sha3_384", "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25"),
            ("sha3_512", "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0"),
            ("blake2b", "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"),
            ("blake2s", "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"),
        ];
        assert_eq!(known.map(|(name, _)| name), HASH_ALGORITHMS.each_ref().map(|algorithm| algorithm.name));
        for (name, hexdigest) in known {
            let digest = hash_file(file.path(), name).expect(name);
            assert_eq!((digest.name, digest.hexdigest().as_str()), (name, hexdigest));
            assert_eq!(digest.digest.len() * 2, hexdigest.len(), "{name}");
        }
    }

    #[test]
    fn files_longer_than_one_read_block_hash_whole() {
        // Sizes around the read block, so the loop's second read and a short last read are exercised.
        for size_bytes in
            [READ_BLOCK_BYTES - 1, READ_BLOCK_BYTES, READ_BLOCK_BYTES + 1, 3 * READ_BLOCK_BYTES + 7]
        {
            let bytes: Vec<u8> = (0..size_bytes).map(|index| (index * 31 % 251) as u8).collect();
            let file = file_with(&bytes);
            let whole = {
                let mut hasher = HASH_ALGORITHMS[3].new_hasher().expect("sha256");
                hasher.update(&bytes, "sha256").expect("update");
                hasher.finish("sha256").expect("finish")
            };
            assert_eq!(hash_file(file.path(), "sha256").map(|d| d.digest), Ok(whole), "{size_bytes}");
        }
    }

    #[test]
    fn odd_paths_answer_as_python_open_does() {
        let directory = tempfile::tempdir().expect("temp dir");
        let in_directory = hash_file(directory.path(), "md5");
        assert!(matches!(in_directory, Err(SkyError::Os { errno: libc::EISDIR, .. })), "{in_directory:?}");
        // The directory wins over a bad name, as Python's open comes first.
        assert!(matches!(hash_file(directory.path(), "nope"), Err(SkyError::Os { errno: libc::EISDIR, .. })));
        assert_eq!(
            hash_file(Path::new("/dev/null"), "md5").map(|d| d.hexdigest()).as_deref(),
            Ok("d41d8cd98f00b204e9800998ecf8427e")
        );
        let file = file_with(b"abc");
        assert_eq!(hash_file(file.path(), "md5\0"), Err(SkyError::Type(NAME_TYPE_ERROR.into())));
    }

    #[test]
    fn a_file_reporting_size_zero_is_read_in_full_blocks() {
        // /proc files report st_size 0 but have content.
        let (_, status_bytes) = open_for_hashing(Path::new("/proc/self/status")).expect("/proc/self/status");
        assert_eq!(read_buffer_bytes(status_bytes), READ_BLOCK_BYTES);
        let small = file_with(b"abc");
        let (_, small_bytes) = open_for_hashing(small.path()).expect("small file");
        assert_eq!(read_buffer_bytes(small_bytes), 4);
        assert_eq!(read_buffer_bytes(u64::MAX), READ_BLOCK_BYTES);
    }
}
