//! sky_rs: placeholder until the crate lands.
#[cfg(feature = "python")]
use pyo3::prelude::*;

#[cfg(feature = "python")]
#[pymodule]
mod sky_rs {
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
