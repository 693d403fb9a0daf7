//! Floors of the functions that read files and directories: the bytes and entries their semantics need.

use super::libcrypto::Digest;
use super::syscalls::{close, count_directory_entries, open, pread, read, size_and_is_dir};
use std::ffi::CStr;

/// First backward read of the tail: small for a few lines; each further read doubles, up to the cap, so a
/// deep tail takes few calls (never more than the port's 8 KiB steps).
const FIRST_TAIL_READ_BYTES: usize = 8 * 1024;
const MAX_TAIL_READ_BYTES: usize = 1024 * 1024;
/// hashlib's block size in SkyPilot's hash loop.
const HASH_READ_BYTES: usize = 256 * 1024;
/// One getdents64 buffer: a 100,000-entry directory in a handful of calls.
pub const DIRENT_BUFFER_BYTES: usize = 1024 * 1024;

/// Reads the bytes from the end of the file back to the start of its last `n` lines into `tail`
/// (reused across calls). Returns false on a read error.
fn read_tail(fd: libc::c_int, size_bytes: u64, n: usize, tail: &mut Vec<u8>) -> bool {
    tail.clear();
    let mut position = size_bytes;
    let mut read_bytes = FIRST_TAIL_READ_BYTES;
    let mut newlines = 0usize;
    while position > 0 && newlines <= n {
        let chunk = read_bytes.min(usize::try_from(position).unwrap_or(usize::MAX));
        position -= chunk as u64;
        // Prepend: shift what is held right, read the new chunk in front of it.
        let held = tail.len();
        tail.resize(held + chunk, 0);
        tail.copy_within(0..held, chunk);
        if pread(fd, &mut tail[..chunk], position) != Some(chunk) {
            return false;
        }
        newlines += memchr::memchr_iter(b'\n', &tail[..chunk]).count();
        read_bytes = (read_bytes * 2).min(MAX_TAIL_READ_BYTES);
    }
    true
}

/// The last `n` lines as string slices: their bytes validated (or replaced) as UTF-8, trailing `\r` cut.
/// Returns the number of lines and their total length, so nothing is optimised away.
fn last_lines(tail: &[u8], n: usize) -> (usize, usize) {
    let body = tail.strip_suffix(b"\n").unwrap_or(tail);
    let start = memchr::memrchr_iter(b'\n', body).nth(n.saturating_sub(1)).map_or(0, |newline| newline + 1);
    let selected = &body[start..];
    // The fast check first: String::from_utf8_lossy walks byte by byte even over valid text.
    let text = match std::str::from_utf8(selected) {
        Ok(valid) => std::borrow::Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(selected),
    };
    let mut lines = 0;
    let mut characters = 0;
    for line in text.split('\n') {
        lines += 1;
        characters += line.trim_end_matches('\r').len();
    }
    (lines, characters)
}

/// `read_last_n_lines(path, n)`: open, fstat (the size; a directory fails), the backward reads, close.
pub fn read_last_n_lines(path: &CStr, n: usize, tail: &mut Vec<u8>) -> (usize, usize) {
    let Some(fd) = open(path, libc::O_RDONLY) else { return (0, 0) };
    let read_ok = match size_and_is_dir(fd) {
        Some((size_bytes, false)) => read_tail(fd, size_bytes, n, tail),
        _ => false,
    };
    close(fd);
    if !read_ok || tail.is_empty() || n == 0 {
        return (0, 0);
    }
    last_lines(tail, n)
}

/// `hash_file(path, algorithm).digest()`: open, reads of 256 KiB to the end, the digest, close.
pub fn hash_file(path: &CStr, digest: &mut Digest, block: &mut [u8], out: &mut [u8; 64]) -> usize {
    let Some(fd) = open(path, libc::O_RDONLY) else { return 0 };
    digest.start();
    while let Some(count) = read(fd, block).filter(|&count| count > 0) {
        digest.update(&block[..count]);
    }
    close(fd);
    digest.finish(out)
}

pub fn hash_block() -> Vec<u8> {
    vec![0; HASH_READ_BYTES]
}

/// `len(os.listdir(path))` if `os.path.isdir(path)`, else 0: one open that is the directory test too, the
/// getdents64 calls, close.
pub fn directory_entries(path: &CStr, buffer: &mut [u8]) -> u64 {
    let Some(fd) = open(path, libc::O_RDONLY | libc::O_DIRECTORY) else { return 0 };
    let entries = count_directory_entries(fd, buffer).unwrap_or(0);
    close(fd);
    entries
}
