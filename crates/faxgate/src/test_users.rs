//! Users for the unit tests: a sender who may fax by mail anywhere, as most tests need.

use fax_queue::{DestinationKind, FaxId, Locale, NewUser};

/// A user named `display_name` at `email` with the email-to-fax permission, no
/// destination limit and no PIN; `fax_id` gives them an inbox.
pub(crate) fn mail_sender(
    display_name: &str,
    email: &str,
    locale: Locale,
    fax_id: Option<&str>,
) -> NewUser {
    NewUser {
        display_name: display_name.into(),
        emails: vec![email.parse().expect("address")],
        permissions: "email".parse().expect("permissions"),
        max_destination: DestinationKind::International,
        fax_id: fax_id.map(|id| id.parse::<FaxId>().expect("fax ID")),
        locale,
        pin: None,
    }
}
