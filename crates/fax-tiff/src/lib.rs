//! TIFF Class F: multi-page fax TIFF read and write.
#![forbid(unsafe_code)]
