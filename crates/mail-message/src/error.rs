//! What can go wrong in this crate. Nothing a mail holds is an error here: every
//! message, however broken, gets a [`Verdict`](crate::Verdict). Errors are for settings.

/// Everything that can go wrong in this crate, with whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Config: a setting of the `[intake]` section is not usable.
    #[error("invalid setting {setting} = {value:?}: {expected}")]
    InvalidSetting {
        /// The setting, as named in the configuration.
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
}
