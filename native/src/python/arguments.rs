//! Conversions of Python arguments that several adapters share.

use crate::io_utils::NamedPath;
use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};
use std::path::PathBuf;

/// A path argument as `open()` and `os.path` take it: `str` or `os.PathLike[str]`, shown in messages as
/// `str(path)`. Bytes paths raise `TypeError` (the fallback wrapper sends them to Python).
pub fn named_path(path: &Bound<'_, PyAny>) -> PyResult<NamedPath> {
    if let Ok(text) = path.cast::<PyString>() {
        if let Ok(utf8) = text.to_str() {
            return Ok(NamedPath::from(utf8));
        }
    }
    let fspath = path.py().import("os")?.getattr("fspath")?.call1((path,))?;
    if fspath.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("sky_rs takes str or os.PathLike[str] paths, not bytes"));
    }
    // PyO3 encodes a str holding surrogates back to the original bytes, as os.fsencode does.
    let fs_path: PathBuf = fspath.extract()?;
    let shown_as = path.str()?.to_string_lossy().into_owned();
    Ok(NamedPath { path: fs_path, shown_as })
}

/// A path argument of a function that asks `os.path.exists` or `os.path.isdir` first.
pub enum StatPath {
    Usable(NamedPath),
    /// A str with lone surrogates the file system encoding cannot carry (`'\ud800'`): `os.stat` raises the
    /// `UnicodeEncodeError` held here, which `os.path.exists` and `isdir` answer with False.
    Unencodable(PyErr),
}

/// The path as `os.stat` would take it, or the encoding error `os.path.exists` would swallow.
pub fn stat_path(path: &Bound<'_, PyAny>) -> PyResult<StatPath> {
    match named_path(path) {
        Ok(named) => Ok(StatPath::Usable(named)),
        Err(error) if error.is_instance_of::<PyUnicodeEncodeError>(path.py()) => {
            Ok(StatPath::Unencodable(error))
        }
        Err(error) => Err(error),
    }
}

/// `TypeError` for a non-int where Python needs an integer, worded like Python's own.
pub fn not_an_integer(value: &Bound<'_, PyAny>) -> PyErr {
    let type_name = value.get_type().name().map(|name| name.to_string()).unwrap_or_default();
    PyTypeError::new_err(format!("'{type_name}' object cannot be interpreted as an integer"))
}

/// A Python int (bools included) clamped to i64: beyond the range, the sign decides the bound, which keeps
/// every comparison the callers make exact.
pub fn clamped_i64(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if !value.is_instance_of::<PyInt>() {
        return Err(not_an_integer(value));
    }
    match value.extract::<i64>() {
        Ok(small) => Ok(small),
        Err(_) => Ok(if value.gt(0)? { i64::MAX } else { i64::MIN }),
    }
}

/// Whether a Python int is exactly representable as i64 and not a bool (so Rust formats it as Python does).
pub fn is_plain_i64(value: &Bound<'_, PyAny>) -> bool {
    value.is_exact_instance_of::<PyInt>() && value.extract::<i64>().is_ok()
}

/// An argument with a Python default that Rust cannot spell (so an explicit `None` stays distinct from
/// leaving the argument out).
pub enum OptionalArg<'py> {
    Omitted,
    Given(Bound<'py, PyAny>),
}

impl<'py> OptionalArg<'py> {
    /// The value given, None when the argument was left out.
    pub fn given(&self) -> Option<&Bound<'py, PyAny>> {
        match self {
            OptionalArg::Omitted => None,
            OptionalArg::Given(value) => Some(value),
        }
    }
}

impl<'py> FromPyObject<'_, 'py> for OptionalArg<'py> {
    type Error = PyErr;

    fn extract(value: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        Ok(OptionalArg::Given(value.to_owned()))
    }
}
