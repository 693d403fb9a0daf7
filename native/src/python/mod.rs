//! Thin PyO3 adapters: convert Python arguments, call the pure Rust functions (releasing the GIL around file
//! and directory I/O), and let `SkyError` become the Python exception at the edge.

pub mod arguments;
pub mod dispatch;
pub mod io;
pub mod process;
pub mod result_floor;
pub mod strings;
pub mod system;
