//! Adapters for `read_last_n_lines`, `hash_file` and `find_free_port`.

use super::arguments::{
    clamped_i64, is_plain_i64, named_path, not_an_integer, stat_path, OptionalArg, StatPath,
};
use crate::errors::python::{runtime_error_from_os, runtime_error_not_seekable};
use crate::errors::SkyError;
use crate::io_utils::{self, DecodeErrors, Encoding, FileDigest, HASH_ALGORITHMS, NAME_TYPE_ERROR};
use pyo3::exceptions::{PyAssertionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFrozenSet, PyInt, PyList, PyString};

/// SkyPilot's default `chunk_size`.
const DEFAULT_CHUNK_BYTES: i64 = 8192;

/// The last `n` lines of a file (spec 2.1). Rust decodes utf-8, latin-1 and ascii (any alias) with
/// `errors` strict, replace or ignore; anything else raises `ValueError` before the file is read.
#[pyfunction]
#[pyo3(
    signature = (file_path, n, chunk_size = OptionalArg::Omitted, encoding = "utf-8", errors = "replace"),
    text_signature = "(file_path, n, chunk_size=8192, encoding='utf-8', errors='replace')"
)]
pub fn read_last_n_lines<'py>(
    py: Python<'py>,
    file_path: &Bound<'py, PyAny>,
    n: &Bound<'py, PyAny>,
    chunk_size: OptionalArg<'py>,
    encoding: &str,
    errors: &str,
) -> PyResult<Bound<'py, PyList>> {
    // The preconditions format the arguments as Python does (bools and huge ints included).
    let line_count = clamped_i64(n)?;
    if line_count < 0 {
        return Err(SkyError::Assertion(format!("n must be non-negative. Got {}", n.str()?)).into());
    }
    let chunk_bytes = match &chunk_size {
        OptionalArg::Omitted => DEFAULT_CHUNK_BYTES,
        OptionalArg::Given(value) => clamped_i64(value)?,
    };
    if let (OptionalArg::Given(value), true) = (&chunk_size, chunk_bytes <= 0) {
        return Err(SkyError::Assertion(format!("chunk_size must be positive. Got {}", value.str()?)).into());
    }
    let decoding = Encoding::from_python_name(encoding).ok_or_else(|| {
        PyValueError::new_err(format!("sky_rs does not decode {encoding:?}; use the fallback"))
    })?;
    let decode_errors = DecodeErrors::from_python_name(errors).ok_or_else(|| {
        PyValueError::new_err(format!("sky_rs does not support errors={errors:?}; use the fallback"))
    })?;
    let file = match stat_path(file_path)? {
        StatPath::Usable(file) => file,
        // os.path.exists is False for a path the file system encoding cannot carry.
        StatPath::Unencodable(_) => return Err(file_not_found(file_path)),
    };
    let remap = |error: SkyError| {
        if is_plain_i64(n) && !has_lone_surrogates(file_path) {
            return error.into();
        }
        python_texts_in_message(error, n, file_path)
    };
    let mut tail = py.detach(|| io_utils::read_last_lines(&file, line_count, chunk_bytes)).map_err(remap)?;
    // One window at a time, read without the GIL, its lines straight to Python strs: no copy of the lines
    // in Rust, and no buffer the size of the tail.
    // The list is made once, at its length, from the strs (no growing by appends).
    let mut lines: Vec<Bound<'py, PyString>> = Vec::new();
    loop {
        // A tail the scan already holds needs no read (and no release of the GIL for one).
        if !tail.is_read() {
            py.detach(|| tail.fill()).map_err(remap)?;
        }
        tail.drain_lines(|line, is_last| {
            let text = io_utils::line_text(line, is_last, decoding, decode_errors)?;
            lines.try_reserve(1).map_err(|_| PyErr::from(SkyError::Memory))?;
            lines.push(PyString::from_bytes(py, text.as_bytes())?);
            Ok::<(), PyErr>(())
        })?;
        if tail.is_read() {
            break;
        }
    }
    PyList::new(py, lines)
}

/// `AssertionError(f"File not found: {file_path}")` with Python's str of the path.
fn file_not_found(file_path: &Bound<'_, PyAny>) -> PyErr {
    let message =
        file_path.str().and_then(|shown| PyString::new(file_path.py(), "File not found: ").add(shown));
    match message {
        Ok(message) => PyAssertionError::new_err(message.unbind()),
        Err(error) => error,
    }
}

/// Whether `str(value)` holds text Rust strings cannot (lone surrogates, e.g. from undecodable file names).
fn has_lone_surrogates(value: &Bound<'_, PyAny>) -> bool {
    value.str().is_ok_and(|text| text.to_str().is_err())
}

/// The error with `n` and the path as Python prints them (bools, ints beyond i64, lone surrogates).
fn python_texts_in_message(error: SkyError, n: &Bound<'_, PyAny>, file_path: &Bound<'_, PyAny>) -> PyErr {
    let rebuilt = match error {
        SkyError::Assertion(_) => Ok(file_not_found(file_path)),
        SkyError::WrappedOs { errno, filename, .. } => read_error_context(n, file_path)
            .map(|context| runtime_error_from_os(&context, errno, filename.as_deref())),
        SkyError::WrappedNotSeekable { .. } => {
            read_error_context(n, file_path).map(|context| runtime_error_not_seekable(&context))
        }
        other => Ok(other.into()),
    };
    rebuilt.unwrap_or_else(|conversion_error| conversion_error)
}

/// `f"Failed to read last {n} lines from {file_path}"` with Python's str of both.
fn read_error_context<'py>(
    n: &Bound<'py, PyAny>,
    file_path: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    PyString::new(n.py(), "Failed to read last ").add(n.str()?)?.add(" lines from ")?.add(file_path.str()?)
}

/// What `hash_file` returns: the finished digest with hashlib's accessors.
#[pyclass(frozen, module = "sky_rs", name = "HashResult")]
pub struct HashResult {
    digest: FileDigest,
}

#[pymethods]
impl HashResult {
    /// The digest as lower-case hex.
    fn hexdigest(&self) -> String {
        self.digest.hexdigest()
    }

    /// The digest bytes.
    fn digest<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.digest.digest)
    }

    /// hashlib's canonical name of the algorithm.
    #[getter]
    fn name(&self) -> &'static str {
        self.digest.name
    }

    /// The digest length in bytes.
    #[getter]
    fn digest_size(&self) -> usize {
        self.digest.digest.len()
    }

    fn __repr__(&self) -> String {
        format!("<sky_rs.HashResult {} {}>", self.digest.name, self.digest.hexdigest())
    }
}

/// The digest of a file's bytes (spec 2.2); algorithms in `SUPPORTED_HASH_ALGORITHMS`, spelled as hashlib
/// accepts them. The GIL is released while the file is opened and read.
#[pyfunction]
pub fn hash_file(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    hash_alg: &Bound<'_, PyAny>,
) -> PyResult<HashResult> {
    let fs_path = named_path(path)?.path;
    // hashlib takes only a str it can encode (no lone surrogates); anything else is its TypeError.
    let name = hash_alg.cast::<PyString>().ok().and_then(|name| name.to_str().ok()).map(str::to_owned);
    let Some(name) = name else {
        // Python opens the file first, so an OSError (a directory's IsADirectoryError too) wins.
        py.detach(|| io_utils::open_for_hashing(&fs_path).map(drop))?;
        return Err(PyTypeError::new_err(NAME_TYPE_ERROR));
    };
    let digest = py.detach(|| io_utils::hash_file(&fs_path, &name))?;
    Ok(HashResult { digest })
}

/// The lower-case names `hash_file` implements with this system's OpenSSL, as a frozenset; the fallback
/// wrapper sends any other name to Python.
pub fn supported_hash_algorithms(py: Python<'_>) -> PyResult<Bound<'_, PyFrozenSet>> {
    let available = HASH_ALGORITHMS.iter().filter(|algorithm| algorithm.is_available());
    let names: Vec<&str> = available.map(|algorithm| algorithm.name).collect();
    PyFrozenSet::new(py, &names)
}

/// The first port from `start_port` that binds on 0.0.0.0 (spec 2.3).
#[pyfunction]
pub fn find_free_port(py: Python<'_>, start_port: &Bound<'_, PyAny>) -> PyResult<i64> {
    if !start_port.is_instance_of::<PyInt>() {
        return Err(not_an_integer(start_port));
    }
    // Beyond i64 the range is empty (positive) or the first bind overflows (negative); clamping keeps both.
    let start = clamped_i64(start_port)?;
    Ok(py.detach(|| io_utils::find_free_port(start))?)
}
