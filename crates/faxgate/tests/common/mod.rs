//! Helpers shared by the integration tests. Each test binary compiles this module on its
//! own and uses only part of it, hence the `dead_code` allowances in the submodules.

pub mod cli;
pub mod daemon;
pub mod mail;
#[path = "../../../mail-net/tests/support/mail_servers.rs"]
pub mod mail_servers;
pub mod pages;
pub mod parallel;
#[path = "../../../fax-queue/tests/support/postgres.rs"]
pub mod postgres;
pub mod scratch;
pub mod spandsp;
