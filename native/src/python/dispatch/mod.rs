//! `sky_rs.dispatch`: the entry points `harness.functions.fallback` hands to callers. Each takes the same
//! arguments as its function; when the arguments have the common exact types (a `str`, an `int`, a `float`...)
//! it runs the Rust adapter at once, else it calls the Python routing function bound to it, which applies the
//! full rules (Python for shapes Rust does not take). The decision costs a few type tests and a counter, not
//! a Python frame: a Python wrapper cost 66-139 ns per call, which ate the gain of the fastest functions.
//!
//! Per function this module keeps the number of calls (every call, whichever side served it) and whether the
//! fast path is on. The fallback turns it off while Python is forced, or when `sky_rs`'s function is
//! missing or replaced, so every call then goes through its routing function.

mod entries;

pub use entries::{
    base36_encode, estimate_fd_for_directory, find_free_port, format_float, get_cpu_count,
    get_max_workers_for_file_mounts, get_mem_size_gb, get_parallel_threads, hash_file, is_process_alive,
    read_last_n_lines, truncate_long_string,
};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// The functions this module dispatches, in `ROUTED_NAMES` order.
#[derive(Clone, Copy)]
pub enum Routed {
    ReadLastNLines,
    HashFile,
    FindFreePort,
    Base36Encode,
    FormatFloat,
    TruncateLongString,
    GetCpuCount,
    GetMemSizeGb,
    GetParallelThreads,
    IsProcessAlive,
    GetMaxWorkersForFileMounts,
    EstimateFdForDirectory,
}

const ROUTED_COUNT: usize = 12;

/// The Python names of the `Routed` functions, in order.
pub const ROUTED_NAMES: [&str; ROUTED_COUNT] = [
    "read_last_n_lines",
    "hash_file",
    "find_free_port",
    "base36_encode",
    "format_float",
    "truncate_long_string",
    "get_cpu_count",
    "get_mem_size_gb",
    "get_parallel_threads",
    "is_process_alive",
    "get_max_workers_for_file_mounts",
    "estimate_fd_for_directory",
];

static CALLS: [AtomicU64; ROUTED_COUNT] = [const { AtomicU64::new(0) }; ROUTED_COUNT];
// Off until `bind` turns it on: before the fallback binds its routing functions nothing runs fast.
static FAST: [AtomicBool; ROUTED_COUNT] = [const { AtomicBool::new(false) }; ROUTED_COUNT];
// Locked only on the slow path, and never while Python code runs (the routing function is cloned out).
static ROUTES: [Mutex<Option<Py<PyAny>>>; ROUTED_COUNT] = [const { Mutex::new(None) }; ROUTED_COUNT];

impl Routed {
    fn index(self) -> usize {
        self as usize
    }

    /// Counts the call and says whether its fast path is on. Relaxed is enough: the counts only need to be
    /// exact, and the flag is written by `bind` under the GIL, which orders it before any later call.
    pub fn enter(self) -> bool {
        CALLS[self.index()].fetch_add(1, Ordering::Relaxed);
        FAST[self.index()].load(Ordering::Relaxed)
    }

    /// The routing function with the positional arguments, and the optional ones the caller gave as
    /// keywords (an omitted one stays omitted, so the routing function sees its own default).
    pub fn route<'py>(
        self,
        py: Python<'py>,
        positional: &[&Bound<'py, PyAny>],
        optional: &[(&str, Option<&Bound<'py, PyAny>>)],
    ) -> PyResult<Bound<'py, PyAny>> {
        let route = ROUTES[self.index()].lock().ok().and_then(|slot| slot.as_ref().map(|r| r.clone_ref(py)));
        let Some(route) = route else {
            let name = ROUTED_NAMES[self.index()];
            return Err(PyRuntimeError::new_err(format!(
                "sky_rs.dispatch.{name} has no routing function: harness.functions.fallback binds it"
            )));
        };
        let keywords = PyDict::new(py);
        for (name, value) in optional {
            if let Some(value) = value {
                keywords.set_item(name, value)?;
            }
        }
        route.bind(py).call(PyTuple::new(py, positional)?, Some(&keywords))
    }
}

fn routed_index(name: &str) -> PyResult<usize> {
    ROUTED_NAMES
        .iter()
        .position(|known| *known == name)
        .ok_or_else(|| PyValueError::new_err(format!("sky_rs.dispatch routes no function named {name:?}")))
}

/// Binds `name`'s routing function (called for every shape the fast path does not take) and turns its fast
/// path on or off.
#[pyfunction]
pub fn bind(name: &str, route: &Bound<'_, PyAny>, fast: bool) -> PyResult<()> {
    let index = routed_index(name)?;
    if !route.is_callable() {
        return Err(PyTypeError::new_err("the routing function must be callable"));
    }
    let mut slot = ROUTES[index].lock().map_err(|_| PyRuntimeError::new_err("routing table poisoned"))?;
    *slot = Some(route.clone().unbind());
    FAST[index].store(fast, Ordering::Relaxed);
    Ok(())
}

/// Calls of `name` since the last `reset_calls`, whichever side served them.
#[pyfunction]
pub fn calls(name: &str) -> PyResult<u64> {
    Ok(CALLS[routed_index(name)?].load(Ordering::Relaxed))
}

/// Sets every call count to 0.
#[pyfunction]
pub fn reset_calls() {
    CALLS.iter().for_each(|count| count.store(0, Ordering::Relaxed));
}
