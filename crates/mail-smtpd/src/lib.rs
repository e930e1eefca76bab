//! A sans-IO SMTP server session engine (RFC 5321).

#![forbid(unsafe_code)]
