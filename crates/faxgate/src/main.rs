//! faxgate: fax server and email-to-fax gateway.
fn main() {}
