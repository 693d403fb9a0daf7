//! `read_last_n_lines` (module `last_lines`, its codecs in `text_codecs`), `hash_file` (module `hashing`)
//! and `find_free_port` (spec sections 2.1-2.3).

mod hashing;
mod last_lines;
mod text_codecs;

pub use hashing::{
    hash_file, hash_open_file, open_for_hashing, FileDigest, HashAlgorithm, HASH_ALGORITHMS, NAME_TYPE_ERROR,
    READ_BLOCK_BYTES,
};
pub use last_lines::{line_text, read_last_lines, read_last_n_lines, NamedPath, TailLines};
pub use text_codecs::{decode, DecodeErrors, Encoding};

use crate::errors::SkyError;
use socket2::{Domain, Socket, Type};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

/// `find_free_port` tries ports below this bound (exclusive, as SkyPilot's `range(start, 65535)`).
pub const PORT_RANGE_END: i64 = 65535;

/// Opens a file for reading the way Python's `open(path, 'rb')` does: a directory fails with `EISDIR`.
/// Its metadata comes with it (the `fstat` that tells a directory).
fn open_regular(path: &Path) -> std::io::Result<(File, std::fs::Metadata)> {
    let file = File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    Ok((file, metadata))
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
