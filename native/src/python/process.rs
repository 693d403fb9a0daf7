//! Adapters for `get_parallel_threads`, `get_max_workers_for_file_mounts`, `is_process_alive`,
//! `estimate_fd_for_directory`, their hooks and `_noop`.

use super::arguments::{stat_path, StatPath};
use crate::io_utils::NamedPath;
use crate::process_utils::{self, HOST_PROC_ROOT, MIN_FD_PER_RSYNC, RLIM_INFINITY};
use crate::system_utils::online_cpu_count;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString};

/// `cloud_str and cloud_str.lower() == 'kubernetes'`; a truthy non-str goes through Python (whose
/// `.lower()` usually raises `AttributeError`, as in SkyPilot).
fn is_kubernetes(cloud_str: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    let Some(cloud) = cloud_str else {
        return Ok(false);
    };
    if !cloud.is_truthy()? {
        return Ok(false);
    }
    if let Ok(text) = cloud.cast::<PyString>() {
        // Checked before any copy: lower-casing never shortens, so a longer str never matches.
        if text.len()? > "kubernetes".len() {
            return Ok(false);
        }
        return Ok(process_utils::is_kubernetes(&text.to_string_lossy()));
    }
    cloud.call_method0("lower")?.eq("kubernetes")
}

fn host_online_cpus() -> Option<i128> {
    online_cpu_count().map(i128::from)
}

/// max(4, online CPUs - 1), times 4 for Kubernetes (spec 2.9).
#[pyfunction]
#[pyo3(signature = (cloud_str = None))]
pub fn get_parallel_threads(cloud_str: Option<&Bound<'_, PyAny>>) -> PyResult<i128> {
    Ok(process_utils::get_parallel_threads_with(is_kubernetes(cloud_str)?, host_online_cpus()))
}

/// `get_parallel_threads` with `os.cpu_count()` injected (None counts as 1).
#[pyfunction]
#[pyo3(signature = (cloud_str, online_cpus))]
pub fn _get_parallel_threads_with(
    cloud_str: Option<&Bound<'_, PyAny>>,
    online_cpus: Option<i128>,
) -> PyResult<i128> {
    Ok(process_utils::get_parallel_threads_with(is_kubernetes(cloud_str)?, online_cpus))
}

/// `estimate_fd_for_directory` of one source: 0 for a path `os.path.isdir` cannot even ask about.
fn estimate_fd(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<i64> {
    match stat_path(path)? {
        StatPath::Usable(directory) => {
            Ok(py.detach(|| process_utils::estimate_fd_for_directory(&directory.path))?)
        }
        StatPath::Unencodable(_) => Ok(0),
    }
}

fn max_workers(
    py: Python<'_>,
    common_file_mounts: &Bound<'_, PyAny>,
    cloud_str: Option<&Bound<'_, PyAny>>,
    nofile_soft_limit: i128,
    online_cpus: Option<i128>,
) -> PyResult<i128> {
    let thread_cap = process_utils::get_parallel_threads_with(is_kubernetes(cloud_str)?, online_cpus);
    if nofile_soft_limit == RLIM_INFINITY {
        return Ok(thread_cap);
    }
    // Source by source, as SkyPilot's loop: the first failing source raises, and nothing is collected.
    let mut fd_per_rsync = MIN_FD_PER_RSYNC;
    for source in common_file_mounts.call_method0("values")?.try_iter()? {
        fd_per_rsync = fd_per_rsync.max(i128::from(estimate_fd(py, &source?)?));
    }
    Ok(process_utils::workers_for(fd_per_rsync, thread_cap, nofile_soft_limit))
}

/// Parallel rsync workers the descriptor limit allows, capped by the thread count (spec 2.11).
#[pyfunction]
#[pyo3(signature = (common_file_mounts, cloud_str = None))]
pub fn get_max_workers_for_file_mounts(
    py: Python<'_>,
    common_file_mounts: &Bound<'_, PyAny>,
    cloud_str: Option<&Bound<'_, PyAny>>,
) -> PyResult<i128> {
    let soft_limit = process_utils::nofile_soft_limit()?;
    max_workers(py, common_file_mounts, cloud_str, soft_limit, host_online_cpus())
}

/// `get_max_workers_for_file_mounts` with the NOFILE soft limit (-1 = unlimited) and the CPU count injected.
#[pyfunction]
#[pyo3(signature = (common_file_mounts, cloud_str, nofile_soft_limit, online_cpus))]
pub fn _get_max_workers_for_file_mounts_with(
    py: Python<'_>,
    common_file_mounts: &Bound<'_, PyAny>,
    cloud_str: Option<&Bound<'_, PyAny>>,
    nofile_soft_limit: i128,
    online_cpus: Option<i128>,
) -> PyResult<i128> {
    max_workers(py, common_file_mounts, cloud_str, nofile_soft_limit, online_cpus)
}

/// A pid for `kill()`: None for pid <= 0 (never alive); beyond a C int, `OverflowError` worded as `os.kill`
/// words it (its pid converter reads a C long first, then narrows to pid_t).
fn checked_pid(pid: &Bound<'_, PyAny>) -> PyResult<Option<i32>> {
    if !pid.is_instance_of::<PyInt>() {
        return Err(super::arguments::not_an_integer(pid));
    }
    // An exact int is read once: its sign is its value's. A subclass (bool, or one that overrides `<=`)
    // is compared through Python first, as the reference's `pid <= 0` does.
    let exact = pid.is_exact_instance_of::<PyInt>();
    let value = if exact { pid.extract::<i64>().ok() } else { None };
    if value.map_or_else(|| pid.le(0), |value| Ok(value <= 0))? {
        return Ok(None);
    }
    let Some(value) = value.or_else(|| pid.extract::<i64>().ok()) else {
        return Err(PyOverflowError::new_err("Python int too large to convert to C long"));
    };
    i32::try_from(value)
        .map(Some)
        .map_err(|_| PyOverflowError::new_err("signed integer is greater than maximum"))
}

/// `is_process_alive` with `/proc` injected; a root `os.listdir` cannot take raises its error only once the
/// signal says the pid exists, as in Python (the status read before it swallows the error). `kill(pid, 0)`
/// does not block, so it runs with the GIL held (giving it up and taking it back costs more than the call);
/// only a live pid's `/proc` read lets other threads run.
fn process_alive(
    py: Python<'_>,
    pid: &Bound<'_, PyAny>,
    proc_root: impl FnOnce() -> StatPath,
) -> PyResult<bool> {
    let Some(pid) = checked_pid(pid)? else {
        return Ok(false);
    };
    if !process_utils::signal_reaches(pid)? {
        return Ok(false);
    }
    match proc_root() {
        StatPath::Usable(root) => Ok(py.detach(|| process_utils::is_thread_group_leader(pid, &root.path))?),
        StatPath::Unencodable(error) => Err(error),
    }
}

/// `psutil.pid_exists` semantics on Linux (spec Decision 3): zombies alive, thread ids and pid <= 0 not.
#[pyfunction]
pub fn is_process_alive(py: Python<'_>, pid: &Bound<'_, PyAny>) -> PyResult<bool> {
    process_alive(py, pid, || StatPath::Usable(NamedPath::from(HOST_PROC_ROOT)))
}

/// `is_process_alive` with `/proc` injected.
#[pyfunction]
pub fn _is_process_alive_at(
    py: Python<'_>,
    pid: &Bound<'_, PyAny>,
    proc_root: &Bound<'_, PyAny>,
) -> PyResult<bool> {
    let proc_root = stat_path(proc_root)?;
    process_alive(py, pid, || proc_root)
}

/// `5 * len(os.listdir(path))` if `os.path.isdir(path)`, else 0 (spec 2.12).
#[pyfunction]
pub fn estimate_fd_for_directory(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<i64> {
    estimate_fd(py, path)
}

/// Does nothing: the cost of a call into the module.
#[pyfunction]
pub fn _noop() {}
