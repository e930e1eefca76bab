//! Helpers shared by the integration tests. Each test binary compiles this module on its
//! own and uses only part of it, hence the `dead_code` allowances in the submodules.

pub mod pages;
pub mod parallel;
pub mod scratch;
pub mod spandsp;
