//! sky_rs: a Rust port of 12 SkyPilot utility functions, with SkyPilot 0.14.1's behaviour (see
//! `../shared/spec/functions.md`). The pure logic lives in the topic modules and is tested without Python;
//! `python/` holds the thin PyO3 adapters, and this file only exports them.

pub mod errors;
pub mod io_utils;
pub mod numeric_text;
pub mod process_utils;
pub mod string_utils;
pub mod system_utils;

#[cfg(feature = "python")]
mod python;

#[cfg(feature = "python")]
#[pyo3::pymodule]
mod sky_rs {
    #[pymodule_export]
    use crate::python::io::{find_free_port, hash_file, read_last_n_lines, HashResult};
    #[pymodule_export]
    use crate::python::process::{
        _get_max_workers_for_file_mounts_with, _get_parallel_threads_with, _is_process_alive_at, _noop,
        estimate_fd_for_directory, get_max_workers_for_file_mounts, get_parallel_threads, is_process_alive,
    };
    #[pymodule_export]
    use crate::python::result_floor::_build_result_objects;
    #[pymodule_export]
    use crate::python::strings::{base36_encode, format_float, truncate_long_string};
    #[pymodule_export]
    use crate::python::system::{_get_cpu_count_at, _get_mem_size_gb_at, get_cpu_count, get_mem_size_gb};

    use pyo3::prelude::*;

    /// The entry points `harness.functions.fallback` hands to callers (python/dispatch).
    #[pymodule]
    mod dispatch {
        #[pymodule_export]
        use crate::python::dispatch::{
            base36_encode, bind, calls, estimate_fd_for_directory, find_free_port, format_float,
            get_cpu_count, get_max_workers_for_file_mounts, get_mem_size_gb, get_parallel_threads, hash_file,
            is_process_alive, read_last_n_lines, reset_calls, truncate_long_string,
        };
    }

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))?;
        module.add("__source_digest__", env!("SKY_RS_SOURCE_DIGEST"))?;
        let names = crate::python::io::supported_hash_algorithms(module.py())?;
        module.add("SUPPORTED_HASH_ALGORITHMS", names)
    }
}
