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
#[pyo3::pymodule]
mod sky_rs {
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
