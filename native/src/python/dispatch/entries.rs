//! The 12 entry points: the common exact argument types go to the Rust adapter, anything else (and every
//! call while the fast path is off) to the routing function. Each test here is a subset of the fallback's
//! rules for Rust (harness/functions/fallback.py), so a shape taken here is one the rules send to Rust.

use super::Routed;
use crate::io_utils::{DecodeErrors, HASH_ALGORITHMS};
use crate::python::arguments::OptionalArg;
use crate::python::{io, process, strings, system};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use pyo3::PyTypeInfo;

fn is_exact_str(value: &Bound<'_, PyAny>) -> bool {
    value.is_exact_instance_of::<PyString>()
}

fn is_exact_int(value: &Bound<'_, PyAny>) -> bool {
    value.is_exact_instance_of::<PyInt>()
}

/// An optional argument left out, or given with exactly the type `T`.
fn omitted_or<T: PyTypeInfo>(argument: &OptionalArg<'_>) -> bool {
    argument.given().is_none_or(|value| value.is_exact_instance_of::<T>())
}

/// A `cloud_str` of None or exactly a `str`.
fn is_cloud_str(cloud_str: Option<&Bound<'_, PyAny>>) -> bool {
    cloud_str.is_none_or(|cloud| cloud.is_none() || is_exact_str(cloud))
}

/// The text of an argument that is exactly a `str` (and valid UTF-8).
fn exact_text<'a>(value: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    value.cast_exact::<PyString>().ok()?.to_str().ok()
}

#[pyfunction]
#[pyo3(
    signature = (file_path, n, chunk_size = OptionalArg::Omitted, encoding = OptionalArg::Omitted,
                 errors = OptionalArg::Omitted),
    text_signature = "(file_path, n, chunk_size=8192, encoding='utf-8', errors='replace')"
)]
pub fn read_last_n_lines<'py>(
    py: Python<'py>,
    file_path: &Bound<'py, PyAny>,
    n: &Bound<'py, PyAny>,
    chunk_size: OptionalArg<'py>,
    encoding: OptionalArg<'py>,
    errors: OptionalArg<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let fast = Routed::ReadLastNLines.enter()
        && is_exact_str(file_path)
        && is_exact_int(n)
        && omitted_or::<PyInt>(&chunk_size)
        && encoding.given().is_none_or(|value| exact_text(value) == Some("utf-8"));
    // A handler Rust has, by the adapter's own test of the name.
    let decode_errors = match errors.given() {
        None => Some("replace"),
        Some(value) => exact_text(value).filter(|name| DecodeErrors::from_python_name(name).is_some()),
    };
    if let (true, Some(decode_errors)) = (fast, decode_errors) {
        return Ok(io::read_last_n_lines(py, file_path, n, chunk_size, "utf-8", decode_errors)?.into_any());
    }
    let optional =
        [("chunk_size", chunk_size.given()), ("encoding", encoding.given()), ("errors", errors.given())];
    Routed::ReadLastNLines.route(py, &[file_path, n], &optional)
}

#[pyfunction]
pub fn hash_file<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    hash_alg: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // hashlib's canonical names only: other spellings Rust takes ('SHA256') are the routing function's.
    let canonical =
        |name: &str| HASH_ALGORITHMS.iter().any(|known| known.name == name && known.is_available());
    let rust_hashes = exact_text(hash_alg).is_some_and(canonical);
    if Routed::HashFile.enter() && is_exact_str(path) && rust_hashes {
        return Ok(Bound::new(py, io::hash_file(py, path, hash_alg)?)?.into_any());
    }
    Routed::HashFile.route(py, &[path, hash_alg], &[])
}

#[pyfunction]
pub fn find_free_port<'py>(py: Python<'py>, start_port: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if Routed::FindFreePort.enter() && is_exact_int(start_port) {
        return Ok(io::find_free_port(py, start_port)?.into_pyobject(py)?.into_any());
    }
    Routed::FindFreePort.route(py, &[start_port], &[])
}

#[pyfunction]
pub fn base36_encode<'py>(py: Python<'py>, hex_str: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if Routed::Base36Encode.enter() && is_exact_str(hex_str) {
        return Ok(strings::base36_encode(py, hex_str)?.into_any());
    }
    Routed::Base36Encode.route(py, &[hex_str], &[])
}

#[pyfunction]
#[pyo3(signature = (num, precision = OptionalArg::Omitted), text_signature = "(num, precision=1)")]
pub fn format_float<'py>(
    num: &Bound<'py, PyAny>,
    precision: OptionalArg<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let number = num.is_exact_instance_of::<PyFloat>() || is_exact_int(num);
    if Routed::FormatFloat.enter() && number && omitted_or::<PyInt>(&precision) {
        return Ok(strings::format_float(num, precision)?.into_any());
    }
    Routed::FormatFloat.route(num.py(), &[num], &[("precision", precision.given())])
}

#[pyfunction]
#[pyo3(
    signature = (s, max_length = OptionalArg::Omitted, truncate_middle = OptionalArg::Omitted),
    text_signature = "(s, max_length=35, truncate_middle=False)"
)]
pub fn truncate_long_string<'py>(
    s: &Bound<'py, PyAny>,
    max_length: OptionalArg<'py>,
    truncate_middle: OptionalArg<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let fast = Routed::TruncateLongString.enter()
        && is_exact_str(s)
        && omitted_or::<PyInt>(&max_length)
        && omitted_or::<PyBool>(&truncate_middle);
    if fast {
        return strings::truncate_long_string(s, max_length, truncate_middle.given());
    }
    let optional = [("max_length", max_length.given()), ("truncate_middle", truncate_middle.given())];
    Routed::TruncateLongString.route(s.py(), &[s], &optional)
}

#[pyfunction]
pub fn get_cpu_count(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    if Routed::GetCpuCount.enter() {
        return Ok(system::get_cpu_count(py)?.into_pyobject(py)?.into_any());
    }
    Routed::GetCpuCount.route(py, &[], &[])
}

#[pyfunction]
pub fn get_mem_size_gb(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    if Routed::GetMemSizeGb.enter() {
        return Ok(system::get_mem_size_gb(py)?.into_pyobject(py)?.into_any());
    }
    Routed::GetMemSizeGb.route(py, &[], &[])
}

#[pyfunction]
#[pyo3(signature = (cloud_str = None))]
pub fn get_parallel_threads<'py>(
    py: Python<'py>,
    cloud_str: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if Routed::GetParallelThreads.enter() && is_cloud_str(cloud_str) {
        return Ok(process::get_parallel_threads(cloud_str)?.into_pyobject(py)?.into_any());
    }
    Routed::GetParallelThreads.route(py, &[], &[("cloud_str", cloud_str)])
}

/// A `dict` (exactly) of `str` to `str` (exactly).
fn is_plain_str_dict(mounts: &Bound<'_, PyAny>) -> bool {
    let Ok(mounts) = mounts.cast_exact::<PyDict>() else {
        return false;
    };
    mounts.iter().all(|(key, value)| is_exact_str(&key) && is_exact_str(&value))
}

#[pyfunction]
#[pyo3(signature = (common_file_mounts, cloud_str = None))]
pub fn get_max_workers_for_file_mounts<'py>(
    py: Python<'py>,
    common_file_mounts: &Bound<'py, PyAny>,
    cloud_str: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let fast = Routed::GetMaxWorkersForFileMounts.enter() && is_cloud_str(cloud_str);
    if fast && is_plain_str_dict(common_file_mounts) {
        let workers = process::get_max_workers_for_file_mounts(py, common_file_mounts, cloud_str)?;
        return Ok(workers.into_pyobject(py)?.into_any());
    }
    Routed::GetMaxWorkersForFileMounts.route(py, &[common_file_mounts], &[("cloud_str", cloud_str)])
}

#[pyfunction]
pub fn is_process_alive<'py>(py: Python<'py>, pid: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if Routed::IsProcessAlive.enter() && is_exact_int(pid) {
        let alive = process::is_process_alive(py, pid)?;
        return Ok(PyBool::new(py, alive).to_owned().into_any());
    }
    Routed::IsProcessAlive.route(py, &[pid], &[])
}

#[pyfunction]
pub fn estimate_fd_for_directory<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    if Routed::EstimateFdForDirectory.enter() && is_exact_str(path) {
        return Ok(process::estimate_fd_for_directory(py, path)?.into_pyobject(py)?.into_any());
    }
    Routed::EstimateFdForDirectory.route(py, &[path], &[])
}
