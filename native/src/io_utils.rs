//! `read_last_n_lines`, `hash_file` and `find_free_port` (spec sections 2.1-2.3).

mod last_lines;

pub use last_lines::{
    decode, read_last_lines, read_last_n_lines, DecodeErrors, Encoding, LastLines, NamedPath,
};

use crate::errors::SkyError;
use digest::DynDigest;
use socket2::{Domain, Socket, Type};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

/// SkyPilot's `hash_file` block size (2**18 bytes).
pub const HASH_BLOCK_BYTES: usize = 1 << 18;
/// `find_free_port` tries ports below this bound (exclusive, as SkyPilot's `range(start, 65535)`).
pub const PORT_RANGE_END: i64 = 65535;

/// Opens a file for reading the way Python's `open(path, 'rb')` does: a directory fails with `EISDIR`.
fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    Ok(file)
}

/// The whole content of a file, read as Python's `f.read()` does: None for any I/O error (callers treat the
/// file as unreadable), `MemoryError` when it does not fit in memory.
pub fn read_file(path: &Path) -> Result<Option<Vec<u8>>, SkyError> {
    let Ok(mut file) = File::open(path) else {
        return Ok(None);
    };
    let mut content = Vec::new();
    let mut block = [0u8; 8192];
    loop {
        match file.read(&mut block) {
            Ok(0) => return Ok(Some(content)),
            Ok(count) => {
                content.try_reserve(count)?;
                content.extend_from_slice(&block[..count]);
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Ok(None),
        }
    }
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
