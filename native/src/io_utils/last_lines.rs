//! `read_last_n_lines` (spec section 2.1): SkyPilot's backward scan, holding only the bytes of the lines it
//! returns. Every buffer sized by an argument or by the file is reserved fallibly, so running out of memory
//! is `MemoryError`, as in Python, never an abort.

use super::open_regular;
use super::text_codecs::{decode, push_fallibly, DecodeErrors, Encoding};
use crate::errors::{io_errno, SkyError};
use std::borrow::Cow;
use std::fs::File;
use std::io::{ErrorKind, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// The backward scan's first window is `chunk_size` bytes within these bounds: no more than Python's chunk of
/// the default size for a few lines, and not one system call per byte for a tiny `chunk_size`; each next
/// window doubles up to `TAIL_WINDOW_BYTES`, so many lines cost few calls. Which window is used does not
/// change the result (spec 2.1, "does not depend on chunk_size").
const MIN_SCAN_WINDOW_BYTES: u64 = 4096;
const MAX_SCAN_WINDOW_BYTES: u64 = 8192;

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

/// Reads exactly `buffer.len()` bytes at `offset` with `pread` (fewer only at EOF): no seek, no file position.
fn read_fully_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Where the last `n` lines start, and the bytes from there to the end when the first window read holds
/// them all (the usual case for a few lines: nothing is read twice). Scans back from `file_size` as
/// SkyPilot's scan does in chunks, stopping as soon as it has seen the newline it needs (one more than `n`
/// when the data ends with a newline). The window starts at `chunk_size` (within the scan bounds) and doubles
/// up to a tail window, so many lines cost few system calls and memory stays one window.
fn tail_start(
    file: &File,
    file_size: u64,
    n: u64,
    chunk_size: u64,
) -> Result<(u64, Option<Vec<u8>>), TailError> {
    let mut window_bytes = chunk_size.clamp(MIN_SCAN_WINDOW_BYTES, MAX_SCAN_WINDOW_BYTES).min(file_size);
    let mut window = try_buffer(window_bytes)?;
    let mut position = file_size;
    let mut newlines_needed: Option<u64> = None;
    let mut newlines_seen: u64 = 0;
    while position > 0 {
        let read_bytes = window_bytes.min(position);
        position -= read_bytes;
        let read = &mut window[..usize::try_from(read_bytes).unwrap_or(usize::MAX)];
        let filled = read_fully_at(file, read, position)?;
        let chunk = &read[..filled];
        let needed = *newlines_needed.get_or_insert(if chunk.last() == Some(&b'\n') { n + 1 } else { n });
        let first_window = position + read_bytes == file_size && filled == read.len();
        for newline in memchr::memrchr_iter(b'\n', chunk) {
            newlines_seen += 1;
            if newlines_seen == needed {
                let start = position + newline as u64 + 1;
                return Ok((start, first_window.then(|| keep_from(window, newline + 1, filled))));
            }
        }
        if position == 0 && first_window {
            return Ok((0, Some(keep_from(window, 0, filled))));
        }
        if window_bytes < TAIL_WINDOW_BYTES as u64 {
            window_bytes = (window_bytes * 2).min(TAIL_WINDOW_BYTES as u64);
            window = try_buffer(window_bytes)?;
        }
    }
    Ok((0, None))
}

/// `window[from..filled]`, in the window's own allocation.
fn keep_from(mut window: Vec<u8>, from: usize, filled: usize) -> Vec<u8> {
    window.truncate(filled);
    window.drain(..from);
    window
}

/// The tail is read forward in windows of this size once its start is known: below glibc's initial mmap
/// threshold (128 KiB), so the buffer comes from the heap rather than a fresh mapping, and memory stays one
/// window plus the longest line whatever the tail; large enough that the system calls are few. (The page
/// faults per call measured on 1MB-n10000 did not go with the file-sized buffer: they come from the `str`s.)
const TAIL_WINDOW_BYTES: usize = 64 * 1024;

/// The last `n` lines of a file, read forward from where they start one window at a time: memory is one
/// window plus the longest line, whatever the size of the tail. `fill` reads (no Python needed, so the
/// adapter can release the GIL), `drain_lines` hands out the complete lines read so far.
#[derive(Debug)]
pub struct TailLines {
    file: Option<File>,
    /// Where the next window is read from (`pread`: the file position is never moved).
    offset: u64,
    /// Bytes of the tail not read yet (the file as it was measured; a file that shrinks ends it early).
    unread_bytes: u64,
    /// Bytes read and not yet handed out: a partial line carried over, then the last window.
    pending: Vec<u8>,
    context: ReadContext,
}

/// What a read error's message names.
#[derive(Debug, Clone)]
struct ReadContext {
    n: i64,
    shown_as: String,
}

impl ReadContext {
    /// `opened`: the path an open error names (read errors name none, as in Python).
    fn failure(&self, error: TailError, opened: Option<&std::path::Path>) -> SkyError {
        let context = || format!("Failed to read last {} lines from {}", self.n, self.shown_as);
        let wrapped = |error: std::io::Error, filename: Option<PathBuf>| SkyError::WrappedOs {
            context: context(),
            errno: io_errno(&error),
            filename,
        };
        match error {
            TailError::NotSeekable => SkyError::WrappedNotSeekable { context: context() },
            TailError::Open(error) => wrapped(error, opened.map(std::path::Path::to_path_buf)),
            TailError::Read(error) => wrapped(error, None),
            TailError::Memory => SkyError::Memory,
        }
    }
}

impl TailLines {
    /// Whether every byte of the tail has been read.
    pub fn is_read(&self) -> bool {
        self.unread_bytes == 0
    }

    /// Reads the next window of the tail (nothing once it is all read).
    pub fn fill(&mut self) -> Result<(), SkyError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        // The carried partial line and the new bytes share one window, so the buffer keeps its size; a line
        // that (nearly) fills a window doubles it, so a long line costs amortised linear copying.
        let kept = self.pending.len();
        let room = match TAIL_WINDOW_BYTES.checked_sub(kept) {
            Some(free) if free >= MIN_SCAN_WINDOW_BYTES as usize => free,
            _ => kept.max(TAIL_WINDOW_BYTES),
        };
        let window = usize::try_from(self.unread_bytes).unwrap_or(usize::MAX).min(room);
        if self.pending.try_reserve_exact(window).is_err() {
            return Err(SkyError::Memory);
        }
        self.pending.resize(kept + window, 0);
        let filled = read_fully_at(file, &mut self.pending[kept..], self.offset)
            .map_err(|error| self.context.failure(TailError::Read(error), None))?;
        self.pending.truncate(kept + filled);
        self.offset += filled as u64;
        // A short read is the end of the file: the tail ends there, as Python's read() does.
        self.unread_bytes = if filled < window { 0 } else { self.unread_bytes - filled as u64 };
        if self.unread_bytes == 0 {
            self.file = None;
        }
        Ok(())
    }

    /// Hands each complete line read so far to `emit`: its bytes, with the `\n` unless it is the last, and
    /// whether it is the last. A trailing newline ends the last line; it does not start another. A line whose
    /// `\n` ends the bytes read waits for the next window, which tells whether it is the last. The bytes are
    /// handed out mutable: they are dropped once handed out, so `line_text` may rewrite them in place.
    pub fn drain_lines<E>(
        &mut self,
        mut emit: impl FnMut(&mut [u8], bool) -> Result<(), E>,
    ) -> Result<(), E> {
        let at_end = self.is_read();
        let mut start = 0;
        while let Some(offset) = memchr::memchr(b'\n', &self.pending[start..]) {
            let newline = start + offset;
            let ends_the_bytes = newline + 1 == self.pending.len();
            if ends_the_bytes && !at_end {
                break;
            }
            if ends_the_bytes {
                emit(&mut self.pending[start..newline], true)?;
            } else {
                emit(&mut self.pending[start..=newline], false)?;
            }
            start = newline + 1;
        }
        if at_end && start < self.pending.len() {
            let end = self.pending.len();
            emit(&mut self.pending[start..end], true)?;
            start = end;
        }
        self.pending.drain(..start);
        Ok(())
    }
}

/// A line as SkyPilot returns it (spec 2.1 step 7): decoded, every trailing `\r` removed, `'\n'` added unless
/// it is the last. `line` holds its bytes with their `\n` unless it is the last (as `drain_lines` gives it);
/// the result borrows them wherever the text is its bytes: ASCII in any of the three codecs, or valid UTF-8
/// in UTF-8. A CRLF line is made so in place (its `\n` written over its first trailing `\r`), so Windows
/// line ends cost no copy either.
pub fn line_text(
    line: &mut [u8],
    is_last: bool,
    encoding: Encoding,
    errors: DecodeErrors,
) -> Result<Cow<'_, str>, SkyError> {
    let body_bytes = line.len() - usize::from(!is_last);
    let kept = body_bytes - line[..body_bytes].iter().rev().take_while(|&&b| b == b'\r').count();
    let plain = if encoding == Encoding::Utf8 {
        std::str::from_utf8(&line[..kept]).is_ok()
    } else {
        line[..kept].is_ascii()
    };
    if plain {
        let text_bytes = if is_last {
            kept
        } else {
            line[kept] = b'\n';
            kept + 1
        };
        let text = &line[..text_bytes];
        // SAFETY: `line[..kept]` was just checked to be valid UTF-8 (ASCII, for the other two codecs), and
        // what follows it in `text` is at most the one ASCII byte `\n`: the whole is valid UTF-8. Checking it
        // again would double the cost of the check on every line.
        return Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(text) }));
    }
    // An invalid line is decoded whole, '\r's included, so a strict error names the same bytes as Python's;
    // the '\r's are cut after decoding, where they are still the text's last characters.
    let mut text = decode(&line[..body_bytes], encoding, errors)?;
    text.truncate(text.trim_end_matches('\r').len());
    if !is_last {
        push_fallibly(&mut text, "\n")?;
    }
    Ok(Cow::Owned(text))
}

/// Where the tail of an opened file starts, how many of its bytes are still to read, and those already read.
struct TailFound {
    file: File,
    start: u64,
    unread_bytes: u64,
    held: Vec<u8>,
}

/// Opens the file and finds where its last `n` lines start. A regular file's size is its `fstat` size (the
/// open already checked it is no directory); anything else is measured by a seek to its end, which fails
/// where Python's buffered reader calls the file not seekable.
fn open_tail(file: &NamedPath, n: u64, chunk_size: u64) -> Result<TailFound, TailError> {
    let (mut handle, metadata) = open_regular(&file.path).map_err(TailError::Open)?;
    let file_size = if metadata.is_file() {
        metadata.len()
    } else {
        handle.seek(SeekFrom::End(0)).map_err(|_| TailError::NotSeekable)?
    };
    let (start, held) = tail_start(&handle, file_size, n, chunk_size)?;
    let held = held.unwrap_or_default();
    let unread_bytes = file_size - start - held.len() as u64;
    Ok(TailFound { file: handle, start: start + held.len() as u64, unread_bytes, held })
}

/// The precondition checks of `read_last_n_lines` and the scan for where its lines start (spec 2.1 steps
/// 1-4): `AssertionError`s first, then read failures as `RuntimeError` chained from the `OSError`. The
/// `os.path.exists` check is a `stat` only where the open fails (or `n` is 0): a file that opens exists.
pub fn read_last_lines(file: &NamedPath, n: i64, chunk_size: i64) -> Result<TailLines, SkyError> {
    if n < 0 {
        return Err(SkyError::Assertion(format!("n must be non-negative. Got {n}")));
    }
    if chunk_size <= 0 {
        return Err(SkyError::Assertion(format!("chunk_size must be positive. Got {chunk_size}")));
    }
    // os.path.exists: false for any stat failure, a broken symlink included.
    let not_found = || SkyError::Assertion(format!("File not found: {}", file.shown_as));
    let context = ReadContext { n, shown_as: file.shown_as.clone() };
    if n == 0 {
        std::fs::metadata(&file.path).map_err(|_| not_found())?;
        return Ok(TailLines { file: None, offset: 0, unread_bytes: 0, pending: Vec::new(), context });
    }
    match open_tail(file, n.unsigned_abs(), chunk_size.unsigned_abs()) {
        Ok(found) => {
            let handle = (found.unread_bytes > 0).then_some(found.file);
            let (offset, unread_bytes, pending) = (found.start, found.unread_bytes, found.held);
            Ok(TailLines { file: handle, offset, unread_bytes, pending, context })
        }
        Err(TailError::Open(_)) if std::fs::metadata(&file.path).is_err() => Err(not_found()),
        Err(error) => Err(context.failure(error, Some(&file.path))),
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
    let mut tail = read_last_lines(file, n, chunk_size)?;
    let mut lines = Vec::new();
    loop {
        tail.fill()?;
        tail.drain_lines(|line, is_last| {
            let text = line_text(line, is_last, encoding, errors)?;
            lines.try_reserve(1)?;
            lines.push(text.into_owned());
            Ok::<(), SkyError>(())
        })?;
        if tail.is_read() {
            return Ok(lines);
        }
    }
}

#[cfg(test)]
#[path = "last_lines_tests.rs"]
mod tests;
