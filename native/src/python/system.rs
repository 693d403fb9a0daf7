//! Adapters for `get_cpu_count`, `get_mem_size_gb` and their `_at` hooks.

use super::arguments::{stat_path, StatPath};
use crate::system_utils::{self, EnvText, CPU_LIMIT_ENV, MEMORY_BYTES_LIMIT_ENV, MEMORY_GB_LIMIT_ENV};
use num_bigint::BigInt;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

/// `environ.get(name)` of a mapping: None when unset; its str as WTF-8, so lone surrogates (how
/// `os.environ` holds bytes that are not UTF-8) reach the error message as Python shows them.
fn environment_value(environ: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<EnvText>> {
    let value = environ.call_method1("get", (name,))?;
    if value.is_none() {
        return Ok(None);
    }
    let text = value.str()?;
    if let Ok(utf8) = text.to_str() {
        return Ok(Some(EnvText::from(utf8)));
    }
    let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
    Ok(Some(EnvText::from_wtf8(encoded.cast::<PyBytes>()?.as_bytes().to_vec())))
}

/// A cgroup root; None for one the file system encoding cannot carry (every read of it fails in Python).
fn cgroup_root(root: &Bound<'_, PyAny>) -> PyResult<Option<PathBuf>> {
    Ok(match stat_path(root)? {
        StatPath::Usable(named) => Some(named.path),
        StatPath::Unencodable(_) => None,
    })
}

/// CPUs this process may use (spec 2.7): the env override, else min(online, affinity, floor(cgroup quota)).
#[pyfunction]
pub fn get_cpu_count(py: Python<'_>) -> PyResult<BigInt> {
    Ok(py.detach(system_utils::get_cpu_count)?)
}

/// Memory in GiB (spec 2.8): the env overrides, else min(host total, cgroup limit).
#[pyfunction]
pub fn get_mem_size_gb(py: Python<'_>) -> PyResult<f64> {
    Ok(py.detach(system_utils::get_mem_size_gb)?)
}

/// `get_cpu_count` with the cgroup root, the environment, the online CPU count and the affinity size injected.
#[pyfunction]
pub fn _get_cpu_count_at(
    py: Python<'_>,
    cgroup_root: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyAny>,
    online_cpus: BigInt,
    affinity_cpus: Option<BigInt>,
) -> PyResult<BigInt> {
    let root = self::cgroup_root(cgroup_root)?;
    let cpu_limit = environment_value(environ, CPU_LIMIT_ENV)?;
    let count = py.detach(|| {
        system_utils::get_cpu_count_at(
            root.as_deref(),
            cpu_limit.as_ref(),
            &online_cpus,
            affinity_cpus.as_ref(),
        )
    });
    Ok(count?)
}

/// `get_mem_size_gb` with the cgroup root, the environment and the host memory (bytes) injected.
#[pyfunction]
pub fn _get_mem_size_gb_at(
    py: Python<'_>,
    cgroup_root: &Bound<'_, PyAny>,
    environ: &Bound<'_, PyAny>,
    host_total_bytes: BigInt,
) -> PyResult<f64> {
    let root = self::cgroup_root(cgroup_root)?;
    let gb_limit = environment_value(environ, MEMORY_GB_LIMIT_ENV)?;
    let bytes_limit = environment_value(environ, MEMORY_BYTES_LIMIT_ENV)?;
    let size = py.detach(|| {
        system_utils::get_mem_size_gb_at(
            root.as_deref(),
            gb_limit.as_ref(),
            bytes_limit.as_ref(),
            &host_total_bytes,
        )
    });
    Ok(size?)
}
