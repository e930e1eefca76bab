//! Input interpretation and checks for the fuzz targets in `fuzz_targets/`.
//!
//! The modules here depend only on the crates under test, so the replay tests of those
//! crates include the same files by path and run saved inputs on stable Rust.

pub mod address;
pub mod mail;
pub mod render;
pub mod replay;
pub mod t30;
pub mod t38;
pub mod t4;
pub mod tiff;
