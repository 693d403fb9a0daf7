//! The one error type of the crate and its single conversion to Python exceptions.
//!
//! Every variant names the Python builtin it becomes, so callers' `except ValueError` (and so on) keep working
//! exactly as with the Python reference.

use std::fmt;
use std::path::PathBuf;

/// An error of one of the 12 functions, named after the Python exception it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkyError {
    /// `ValueError(message)`.
    Value(String),
    /// `OSError(errno, strerror[, filename])`: Python picks the subclass (`FileNotFoundError`, ...) from errno.
    Os { errno: i32, filename: Option<PathBuf> },
    /// `OSError(message)` without an errno (e.g. "No free ports available.").
    OsMessage(String),
    /// `AssertionError(message)`: SkyPilot's preconditions, raised explicitly.
    Assertion(String),
    /// `RuntimeError(f"{context}: {str(oserror)}")`, chained from that `OSError` (read_last_n_lines). Only
    /// errors of `open()` name the file; Python's seek and read errors carry no file name.
    WrappedOs { context: String, errno: i32, filename: Option<PathBuf> },
    /// `RuntimeError(f"{context}: {NOT_SEEKABLE}")`, chained from `io.UnsupportedOperation(NOT_SEEKABLE)`: what
    /// Python's `f.seek` raises for a file that opens but cannot seek (a pipe, a FIFO, a terminal).
    WrappedNotSeekable { context: String },
    /// `ValueError(prefix + text + suffix)` where `text` is Python text that may hold lone surrogates, kept as
    /// WTF-8 (what Python's `encode('utf-8', 'surrogatepass')` gives), so the message shows it as Python does.
    ValueWithText { prefix: String, text: Vec<u8>, suffix: String },
    /// `MemoryError()`: an allocation sized by an argument or a file failed (Python's has no message).
    Memory,
    /// `OverflowError(message)`.
    Overflow(String),
    /// `TypeError(message)`.
    Type(String),
    /// `UnicodeDecodeError(encoding, input, start, end, reason)`.
    UnicodeDecode { encoding: &'static str, input: Vec<u8>, start: usize, end: usize, reason: &'static str },
}

impl From<std::collections::TryReserveError> for SkyError {
    fn from(_: std::collections::TryReserveError) -> Self {
        SkyError::Memory
    }
}

/// A copy of `bytes` whose allocation may fail (`MemoryError`) instead of aborting the process.
pub fn try_copy(bytes: &[u8]) -> Result<Vec<u8>, SkyError> {
    let mut copy = Vec::new();
    copy.try_reserve_exact(bytes.len())?;
    copy.extend_from_slice(bytes);
    Ok(copy)
}

impl SkyError {
    /// An `OSError` from an `io::Error`, keeping the errno so Python picks the right subclass.
    /// A path with a NUL byte never reaches the OS: Python raises `ValueError('embedded null byte')` there,
    /// where Rust reports `InvalidInput` without an errno.
    pub fn from_io(error: &std::io::Error, filename: Option<PathBuf>) -> Self {
        let nul_in_path =
            filename.as_ref().is_some_and(|name| name.as_os_str().as_encoded_bytes().contains(&0));
        if nul_in_path && error.raw_os_error().is_none() && error.kind() == std::io::ErrorKind::InvalidInput {
            return SkyError::Value("embedded null byte".to_string());
        }
        SkyError::Os { errno: io_errno(error), filename }
    }
}

/// The text of Python's `io.UnsupportedOperation` when a buffered file cannot seek.
pub const NOT_SEEKABLE: &str = "File or stream is not seekable.";

/// The errno of an I/O error; `EIO` for the rare errors that carry none.
pub fn io_errno(error: &std::io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

/// The C library's text for an errno, as Python's `os.strerror` gives it.
pub fn strerror(errno: i32) -> String {
    let mut buffer = [0 as libc::c_char; 256];
    // SAFETY: the buffer is valid for its length; the XSI strerror_r writes a NUL-terminated string into it.
    let status = unsafe { libc::strerror_r(errno, buffer.as_mut_ptr(), buffer.len()) };
    if status != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: strerror_r succeeded, so the buffer holds a NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) };
    text.to_string_lossy().into_owned()
}

/// `str(OSError(errno, strerror, filename))` with Rust's `{:?}` standing in for Python's `repr` of the name.
fn os_error_text(errno: i32, filename: Option<&PathBuf>) -> String {
    match filename {
        Some(name) => format!("[Errno {errno}] {}: {:?}", strerror(errno), name.to_string_lossy()),
        None => format!("[Errno {errno}] {}", strerror(errno)),
    }
}

impl fmt::Display for SkyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkyError::Value(message)
            | SkyError::OsMessage(message)
            | SkyError::Assertion(message)
            | SkyError::Overflow(message)
            | SkyError::Type(message) => f.write_str(message),
            SkyError::Os { errno, filename } => f.write_str(&os_error_text(*errno, filename.as_ref())),
            SkyError::WrappedOs { context, errno, filename } => {
                write!(f, "{context}: {}", os_error_text(*errno, filename.as_ref()))
            }
            SkyError::WrappedNotSeekable { context } => write!(f, "{context}: {NOT_SEEKABLE}"),
            SkyError::ValueWithText { prefix, text, suffix } => {
                write!(f, "{prefix}{}{suffix}", String::from_utf8_lossy(text))
            }
            SkyError::Memory => f.write_str("out of memory"),
            SkyError::UnicodeDecode { encoding, input, start, end, reason } => {
                if end.saturating_sub(*start) == 1 {
                    let byte = input.get(*start).copied().unwrap_or_default();
                    write!(
                        f,
                        "'{encoding}' codec can't decode byte 0x{byte:02x} in position {start}: {reason}"
                    )
                } else {
                    write!(
                        f,
                        "'{encoding}' codec can't decode bytes in position {start}-{}: {reason}",
                        end.saturating_sub(1)
                    )
                }
            }
        }
    }
}

impl std::error::Error for SkyError {}

#[cfg(feature = "python")]
pub(crate) mod python {
    use super::{strerror, SkyError, NOT_SEEKABLE};
    use pyo3::exceptions::{
        PyAssertionError, PyMemoryError, PyOSError, PyOverflowError, PyRuntimeError, PyTypeError,
        PyUnicodeDecodeError, PyValueError,
    };
    use pyo3::prelude::*;
    use pyo3::types::{PyBytes, PyString};
    use std::ffi::CString;

    fn os_error(errno: i32, filename: Option<&std::path::Path>) -> PyErr {
        let strerror = strerror(errno);
        match filename {
            // An OsStr becomes a str the way os.fsdecode does, so odd bytes survive as surrogates.
            Some(name) => PyOSError::new_err((errno, strerror, name.as_os_str().to_os_string())),
            None => PyOSError::new_err((errno, strerror)),
        }
    }

    /// `RuntimeError(f"{context}: {str(oserror)}")` chained from that `OSError`: the message embeds Python's
    /// own text of the cause, its repr of the file name included. `context` is a Python str, so callers can
    /// pass text Rust cannot hold (lone surrogates).
    pub(crate) fn runtime_error_from_os(
        context: &Bound<'_, PyAny>,
        errno: i32,
        filename: Option<&std::path::Path>,
    ) -> PyErr {
        runtime_error_caused_by(context, os_error(errno, filename))
    }

    /// `RuntimeError(f"{context}: {NOT_SEEKABLE}")` chained from `io.UnsupportedOperation(NOT_SEEKABLE)`.
    pub(crate) fn runtime_error_not_seekable(context: &Bound<'_, PyAny>) -> PyErr {
        let unsupported = context.py().import("io").and_then(|io| io.getattr("UnsupportedOperation"));
        match unsupported.and_then(|class| class.call1((NOT_SEEKABLE,))) {
            Ok(cause) => runtime_error_caused_by(context, PyErr::from_value(cause)),
            Err(error) => error,
        }
    }

    fn runtime_error_caused_by(context: &Bound<'_, PyAny>, cause: PyErr) -> PyErr {
        let py = context.py();
        let message = cause.value(py).str().and_then(|cause_text| context.add(": ")?.add(cause_text));
        let wrapped = match message {
            Ok(message) => PyRuntimeError::new_err(message.unbind()),
            Err(error) => return error,
        };
        wrapped.set_cause(py, Some(cause));
        wrapped
    }

    /// WTF-8 bytes back into the Python str they came from, lone surrogates included.
    pub(crate) fn python_text<'py>(py: Python<'py>, wtf8: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        PyBytes::new(py, wtf8).call_method1("decode", ("utf-8", "surrogatepass"))
    }

    impl From<SkyError> for PyErr {
        fn from(error: SkyError) -> PyErr {
            match error {
                SkyError::Value(message) => PyValueError::new_err(message),
                SkyError::OsMessage(message) => PyOSError::new_err(message),
                SkyError::Assertion(message) => PyAssertionError::new_err(message),
                SkyError::Overflow(message) => PyOverflowError::new_err(message),
                SkyError::Type(message) => PyTypeError::new_err(message),
                SkyError::Os { errno, filename } => os_error(errno, filename.as_deref()),
                SkyError::WrappedOs { context, errno, filename } => Python::attach(|py| {
                    let context = PyString::new(py, &context).into_any();
                    runtime_error_from_os(&context, errno, filename.as_deref())
                }),
                SkyError::WrappedNotSeekable { context } => {
                    Python::attach(|py| runtime_error_not_seekable(&PyString::new(py, &context).into_any()))
                }
                SkyError::ValueWithText { prefix, text, suffix } => {
                    Python::attach(|py| match python_text(py, &text) {
                        Ok(text) => {
                            let message = PyString::new(py, &prefix).add(text).and_then(|m| m.add(suffix));
                            message.map_or_else(|error| error, |m| PyValueError::new_err(m.unbind()))
                        }
                        Err(error) => error,
                    })
                }
                SkyError::Memory => PyMemoryError::new_err(()),
                SkyError::UnicodeDecode { encoding, input, start, end, reason } => Python::attach(|py| {
                    let encoding = CString::new(encoding).unwrap_or_default();
                    let reason = CString::new(reason).unwrap_or_default();
                    match PyUnicodeDecodeError::new(py, &encoding, &input, start..end, &reason) {
                        Ok(exception) => PyErr::from_value(exception.into_any()),
                        Err(error) => error,
                    }
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_in_a_path_is_a_value_error_as_in_python() {
        let opened = std::fs::File::open("data\0").map(drop);
        let error = opened.err().map(|e| SkyError::from_io(&e, Some("data\0".into())));
        assert_eq!(error, Some(SkyError::Value("embedded null byte".into())));
    }

    #[test]
    fn strerror_matches_the_c_library_text() {
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
        assert_eq!(strerror(libc::EISDIR), "Is a directory");
    }

    #[test]
    fn wrapped_os_error_reads_like_python() {
        let error = SkyError::WrappedOs {
            context: "Failed to read last 3 lines from files".to_string(),
            errno: libc::EISDIR,
            filename: Some(PathBuf::from("files")),
        };
        assert_eq!(
            error.to_string(),
            "Failed to read last 3 lines from files: [Errno 21] Is a directory: \"files\""
        );
    }

    #[test]
    fn wrapped_seek_error_names_no_file_as_in_python() {
        let error = SkyError::WrappedOs {
            context: "Failed to read last 1 lines from /dev/stdin".to_string(),
            errno: libc::ESPIPE,
            filename: None,
        };
        assert_eq!(error.to_string(), "Failed to read last 1 lines from /dev/stdin: [Errno 29] Illegal seek");
    }

    #[test]
    fn a_failed_reservation_is_a_memory_error() {
        let mut buffer: Vec<u8> = Vec::new();
        let error = buffer.try_reserve_exact(usize::MAX).map_err(SkyError::from);
        assert_eq!(error, Err(SkyError::Memory));
        assert_eq!(try_copy(b"abc"), Ok(b"abc".to_vec()));
    }

    #[test]
    fn decode_error_names_the_byte_or_the_range() {
        let single = SkyError::UnicodeDecode {
            encoding: "utf-8",
            input: vec![0xff],
            start: 0,
            end: 1,
            reason: "invalid start byte",
        };
        assert_eq!(
            single.to_string(),
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
        );
        let range = SkyError::UnicodeDecode {
            encoding: "utf-8",
            input: vec![0xe2, 0x82],
            start: 0,
            end: 2,
            reason: "unexpected end of data",
        };
        assert_eq!(
            range.to_string(),
            "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data"
        );
    }
}
