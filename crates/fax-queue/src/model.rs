//! The things the queue stores, as types that can only hold valid values.
//!
//! Everything here is parsed from text that came from a mail, a web form or the command
//! line, so every constructor checks its input and none panics.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A point in time: milliseconds since the Unix epoch, UTC.
///
/// The queue never reads the clock; the caller passes the current time in, which keeps
/// the retry policy deterministic and lets tests move time at will.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This time plus a duration, saturating instead of overflowing.
    pub fn plus(self, duration: std::time::Duration) -> Timestamp {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<Self, Error> {
                text.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map($name)
                    .ok_or_else(|| Error::Invalid {
                        what: stringify!($name),
                        value: text.to_owned(),
                    })
            }
        }
    };
}

id_type!(
    /// A user's row.
    UserId
);
id_type!(
    /// A fax request (one mail, web form or API call; one or more recipients).
    RequestId
);
id_type!(
    /// One recipient of a request: the unit that is dialled, retried and reported.
    DeliveryId
);
id_type!(
    /// One call made for a delivery.
    AttemptId
);

/// A user's fax ID: two capital letters and eight digits (`AF12345678`), issued by the
/// server. Faxes to this ID are delivered to the user's inbox.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaxId(String);

impl FaxId {
    /// The prefix of the fax IDs this server issues.
    pub const PREFIX: &'static str = "AF";

    /// The fax ID the server issues for the `serial`-th user (`AF00000042`); `None` once
    /// eight digits run out.
    pub fn issue(serial: i64) -> Option<FaxId> {
        (0..100_000_000)
            .contains(&serial)
            .then(|| FaxId(format!("{}{serial:08}", Self::PREFIX)))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for FaxId {
    type Err = Error;
    fn from_str(text: &str) -> Result<FaxId, Error> {
        let upper = text.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        let valid = bytes.len() == 10
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..].iter().all(u8::is_ascii_digit);
        if valid {
            Ok(FaxId(upper))
        } else {
            Err(Error::Invalid {
                what: "fax ID (two letters and eight digits)",
                value: text.to_owned(),
            })
        }
    }
}

impl fmt::Display for FaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address (`local@domain`), stored lower-case.
///
/// Lower-casing the local part is stricter than RFC 5321 allows, but mail systems treat
/// it case-insensitively in practice and a user must be found however the sender's
/// client spelled the address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EmailAddress {
    type Err = Error;
    fn from_str(text: &str) -> Result<EmailAddress, Error> {
        let address = text.trim().to_lowercase();
        let invalid = || Error::Invalid {
            what: "email address",
            value: text.to_owned(),
        };
        // RFC 5321's limit on a path; anything longer is refused by mail servers anyway.
        if address.len() > 254 || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = address.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.len() > 64 || local.contains(['<', '>', '@']) || !domain_ok {
            return Err(invalid());
        }
        Ok(EmailAddress(address))
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user may do: a set of [`Permission`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

/// One thing a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Send faxes by mailing the gateway.
    EmailToFax,
    /// Use the web interface.
    Web,
    /// Use the HTTP API.
    Api,
    /// Manage users and other people's jobs.
    Admin,
}

impl Permission {
    const ALL: [Permission; 4] = [
        Permission::EmailToFax,
        Permission::Web,
        Permission::Api,
        Permission::Admin,
    ];

    fn bit(self) -> u8 {
        match self {
            Permission::EmailToFax => 0x01,
            Permission::Web => 0x02,
            Permission::Api => 0x04,
            Permission::Admin => 0x08,
        }
    }

    /// The name used in the config, the command line and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Permission::EmailToFax => "email",
            Permission::Web => "web",
            Permission::Api => "api",
            Permission::Admin => "admin",
        }
    }
}

impl Permissions {
    /// No permission at all.
    pub const NONE: Permissions = Permissions(0);

    /// Whether the set holds `permission`.
    pub fn has(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// The set with `permission` added.
    pub fn with(self, permission: Permission) -> Permissions {
        Permissions(self.0 | permission.bit())
    }

    /// The permissions in the set, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.has(*p))
    }

    /// The stored form.
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// From the stored form; unknown bits are dropped.
    pub fn from_bits(bits: i64) -> Permissions {
        let known = Permission::ALL.iter().fold(0, |all, p| all | p.bit());
        Permissions(u8::try_from(bits & i64::from(known)).unwrap_or(0))
    }
}

impl FromStr for Permissions {
    type Err = Error;
    /// A comma-separated list of `email`, `web`, `api`, `admin`; empty or `none` for none.
    fn from_str(text: &str) -> Result<Permissions, Error> {
        let mut set = Permissions::NONE;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "none" {
                continue;
            }
            let permission = Permission::ALL
                .into_iter()
                .find(|p| p.name() == name)
                .ok_or_else(|| Error::Invalid {
                    what: "permission (email, web, api, admin)",
                    value: name.to_owned(),
                })?;
            set = set.with(permission);
        }
        Ok(set)
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Permission::name).collect();
        f.write_str(&names.join(","))
    }
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The name used in storage, the config, the command line and JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(text: &str) -> Result<$name, Error> {
                match text.trim() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Error::Invalid { what: $what, value: text.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// How far a user may fax, from nearest to farthest: each kind allows those before it.
    DestinationKind, "destination kind (internal, local, national, international)", {
        /// Fax IDs of this server's users and extensions of its phone system.
        Internal = "internal",
        /// Numbers in the local area.
        Local = "local",
        /// Numbers in the country.
        National = "national",
        /// Any number.
        International = "international",
    }
);

text_enum!(
    /// The language of the receipts and pages a user gets.
    Locale, "locale (zh, en)", {
        /// Chinese.
        Zh = "zh",
        /// English.
        En = "en",
    }
);

text_enum!(
    /// Where a fax request came from.
    Source, "request source (email, web, api, cli)", {
        /// A mail to the gateway.
        Email = "email",
        /// The web interface.
        Web = "web",
        /// The HTTP API.
        Api = "api",
        /// The command line.
        Cli = "cli",
    }
);

text_enum!(
    /// Where a delivery stands.
    DeliveryState, "delivery state (queued, active, sent, failed, cancelled)", {
        /// Waiting for its time to be dialled.
        Queued = "queued",
        /// Claimed by a worker, which holds a lease on it.
        Active = "active",
        /// Every page confirmed by the receiver.
        Sent = "sent",
        /// Given up; the result says why.
        Failed = "failed",
        /// Cancelled by the sender or an administrator.
        Cancelled = "cancelled",
    }
);

impl DeliveryState {
    /// Whether nothing more will happen to the delivery unless someone retries it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryState::Sent | DeliveryState::Failed | DeliveryState::Cancelled
        )
    }
}

/// A PIN: 4 to 12 digits. Only its hash is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A PIN must not end up in a log through a Debug print.
        f.write_str("Pin(..)")
    }
}

impl FromStr for Pin {
    type Err = Error;
    fn from_str(text: &str) -> Result<Pin, Error> {
        if (4..=12).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(text.to_owned()))
        } else {
            Err(Error::Invalid {
                what: "PIN (4 to 12 digits)",
                value: "(hidden)".to_owned(),
            })
        }
    }
}

/// A PIN hashed with Argon2id, as a PHC string (`$argon2id$v=19$...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl PinHash {
    /// Hashes `pin` with a salt the caller draws from a good random source (the library
    /// has none of its own: it never reads the system).
    pub fn new(pin: &Pin, salt: &[u8; 16]) -> Result<PinHash, Error> {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(salt).map_err(|e| Error::Hash(e.to_string()))?;
        let hash = argon2::Argon2::default()
            .hash_password(pin.0.as_bytes(), &salt)
            .map_err(|e| Error::Hash(e.to_string()))?;
        Ok(PinHash(hash.to_string()))
    }

    /// Whether `pin` matches. A stored hash that does not parse matches nothing.
    pub fn verify(&self, pin: &Pin) -> bool {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&self.0).is_ok_and(|hash| {
            argon2::Argon2::default()
                .verify_password(pin.0.as_bytes(), &hash)
                .is_ok()
        })
    }

    /// The PHC string, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// From the stored PHC string.
    pub fn from_stored(text: String) -> PinHash {
        PinHash(text)
    }
}

/// A user of the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The row.
    pub id: UserId,
    /// The name shown on receipts and cover pages.
    pub display_name: String,
    /// Mail from any of these addresses is this user's; the first is where receipts go.
    pub emails: Vec<EmailAddress>,
    /// What the user may do.
    pub permissions: Permissions,
    /// How far the user may fax.
    pub max_destination: DestinationKind,
    /// The user's own fax ID.
    pub fax_id: FaxId,
    /// The user's language.
    pub locale: Locale,
    /// The hashed PIN, if the user has one.
    pub pin: Option<PinHash>,
    /// When the user was added.
    pub created_at: Timestamp,
}

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// See [`User::display_name`].
    pub display_name: String,
    /// At least one address.
    pub emails: Vec<EmailAddress>,
    /// See [`User::permissions`].
    pub permissions: Permissions,
    /// See [`User::max_destination`].
    pub max_destination: DestinationKind,
    /// A fax ID to give the user; `None` to have the server issue one.
    pub fax_id: Option<FaxId>,
    /// See [`User::locale`].
    pub locale: Locale,
    /// See [`User::pin`].
    pub pin: Option<PinHash>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new list of addresses (replacing the old one).
    pub emails: Option<Vec<EmailAddress>>,
    /// New permissions.
    pub permissions: Option<Permissions>,
    /// A new destination limit.
    pub max_destination: Option<DestinationKind>,
    /// A new locale.
    pub locale: Option<Locale>,
    /// `Some(None)` removes the PIN, `Some(Some(hash))` sets it.
    pub pin: Option<Option<PinHash>>,
}

/// A reference to a blob: the SHA-256 of its content, in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobRef(String);

impl BlobRef {
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference of `content`.
    pub fn of(content: &[u8]) -> BlobRef {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(content);
        BlobRef(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl FromStr for BlobRef {
    type Err = Error;
    fn from_str(text: &str) -> Result<BlobRef, Error> {
        if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(BlobRef(text.to_owned()))
        } else {
            Err(Error::Invalid {
                what: "blob reference (SHA-256 in lower-case hex)",
                value: text.to_owned(),
            })
        }
    }
}

impl fmt::Display for BlobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A document attached to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file name the sender gave it (for receipts), if any.
    pub name: String,
    /// Its content.
    pub blob: BlobRef,
}

/// A fax request to enqueue: one document set, one or more recipients.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Where it came from.
    pub source: Source,
    /// The user who sent it, if known.
    pub user: Option<UserId>,
    /// The sender as they gave themselves (the mail's From, for instance).
    pub sender: String,
    /// The subject (of the mail, or given by the sender).
    pub subject: String,
    /// The documents, in the order they are faxed.
    pub documents: Vec<Document>,
    /// The mail as it arrived, if it came by mail.
    pub raw_mail: Option<BlobRef>,
    /// Recipients: one delivery each.
    pub destinations: Vec<String>,
    /// Higher goes first.
    pub priority: i64,
    /// Not before this time.
    pub send_at: Timestamp,
    /// How many pages the documents make, if already rendered.
    pub total_pages: Option<u32>,
}

/// One recipient of a request, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The row.
    pub id: DeliveryId,
    /// The request it belongs to.
    pub request: RequestId,
    /// The number or fax ID dialled.
    pub destination: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Higher goes first.
    pub priority: i64,
    /// When it may be dialled next.
    pub next_attempt_at: Timestamp,
    /// Calls made since the delivery was queued (or last retried by hand).
    pub dials: u32,
    /// Of those, calls that reached a fax machine and failed in the fax phase.
    pub tries: u32,
    /// Calls made in total, retries by hand included.
    pub attempts: u32,
    /// The first page not yet confirmed (0-based): where the next call starts.
    pub resume_page: u32,
    /// Pages in the document, once known.
    pub total_pages: Option<u32>,
    /// When the retry limits are counted from: enqueued, or retried by hand.
    pub window_start: Timestamp,
    /// The last result in words (why it failed, or "fax completed").
    pub result: Option<String>,
    /// The T.30 status code of the last call, if it reached the fax phase.
    pub result_code: Option<u32>,
    /// When it reached a final state.
    pub finished_at: Option<Timestamp>,
    /// The worker that holds it while active.
    pub lease_owner: Option<String>,
    /// Until when the worker's lease holds.
    pub lease_until: Option<Timestamp>,
    /// Cancel was asked while a call was running.
    pub cancel_requested: bool,
}

/// One call, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The row.
    pub id: AttemptId,
    /// The delivery called for.
    pub delivery: DeliveryId,
    /// The line the call went out on.
    pub line: String,
    /// The worker (node and process) that made it.
    pub worker: String,
    /// When the line was claimed.
    pub started_at: Timestamp,
    /// When the call ended; `None` while it runs.
    pub ended_at: Option<Timestamp>,
    /// Pages confirmed in this call.
    pub pages_sent: Option<u32>,
    /// Pages this call set out to send.
    pub pages_total: Option<u32>,
    /// The last modem rate, bits per second.
    pub bit_rate: Option<u32>,
    /// Whether error correction mode was used.
    pub ecm: Option<bool>,
    /// The far end's identifier (CSI).
    pub remote_ident: Option<String>,
    /// The T.30 status code (`fax_t30::Status::code`).
    pub t30_code: Option<u32>,
    /// The outcome class (`busy`, `no-answer`, ..., `interrupted`).
    pub outcome: Option<String>,
    /// The reason in words.
    pub reason: Option<String>,
}

/// A fax request, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The row.
    pub id: RequestId,
    /// The user who sent it, if known (and not removed since).
    pub user: Option<UserId>,
    /// Where it came from.
    pub source: Source,
    /// The sender as they gave themselves.
    pub sender: String,
    /// The subject.
    pub subject: String,
    /// The documents, in order.
    pub documents: Vec<Document>,
    /// The mail as it arrived.
    pub raw_mail: Option<BlobRef>,
    /// When it was enqueued.
    pub created_at: Timestamp,
}

/// A delivery with its request and every call made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    /// The delivery.
    pub delivery: Delivery,
    /// Its request.
    pub request: Request,
    /// Its calls, oldest first.
    pub attempts: Vec<Attempt>,
}

/// An entry of a user's outbox: a delivery of one of their requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The request.
    pub request: RequestId,
    /// The request's subject.
    pub subject: String,
    /// When the request was made.
    pub created_at: Timestamp,
    /// Where it came from.
    pub source: Source,
    /// The delivery and its result.
    pub delivery: Delivery,
}

/// An entry of a user's inbox: a fax delivered to their fax ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// When it arrived.
    pub received_at: Timestamp,
    /// Who sent it (a station identifier, or a user's address).
    pub sender: String,
    /// The fax as TIFF Class F.
    pub tiff: BlobRef,
    /// Its pages.
    pub pages: u32,
}

/// An entry of the audit log of administrative changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (an administrator's address, or `cli:USER` for the command line).
    pub actor: String,
    /// What (`user.add`, `user.set`, `user.remove`, `job.cancel`, `job.retry`).
    pub action: String,
    /// On what (a user's fax ID, a delivery's id).
    pub target: String,
    /// The change in words.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fax_ids_are_two_letters_and_eight_digits() {
        assert_eq!(
            FaxId::issue(42).map(|f| f.to_string()).as_deref(),
            Some("AF00000042")
        );
        assert!(FaxId::issue(100_000_000).is_none());
        assert!(FaxId::issue(-1).is_none());
        assert_eq!(
            "af12345678"
                .parse::<FaxId>()
                .map(|f| f.to_string())
                .ok()
                .as_deref(),
            Some("AF12345678")
        );
        for bad in ["AF1234567", "AF123456789", "A112345678", "AF1234567x", ""] {
            assert!(bad.parse::<FaxId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn email_addresses_are_lower_cased_and_checked() {
        let address: EmailAddress = " Li.Wei@Example.COM ".parse().expect("valid");
        assert_eq!(address.as_str(), "li.wei@example.com");
        for bad in [
            "",
            "nobody",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@exa mple.com",
            "a@-x.com",
            "a@x..com",
            "<a@b.c>",
        ] {
            assert!(bad.parse::<EmailAddress>().is_err(), "{bad}");
        }
        assert!("用户@例子.中国".parse::<EmailAddress>().is_ok());
    }

    #[test]
    fn permissions_round_trip_through_text_and_bits() {
        let set: Permissions = "web, email,admin".parse().expect("valid");
        assert_eq!(set.to_string(), "email,web,admin");
        assert_eq!(Permissions::from_bits(set.bits()), set);
        assert!("root".parse::<Permissions>().is_err());
        assert_eq!("none".parse::<Permissions>().ok(), Some(Permissions::NONE));
    }

    #[test]
    fn destination_kinds_are_ordered_nearest_first() {
        assert!(DestinationKind::Internal < DestinationKind::Local);
        assert!(DestinationKind::National < DestinationKind::International);
    }

    #[test]
    fn pin_hash_verifies_only_the_right_pin() {
        let pin: Pin = "4711".parse().expect("valid");
        let hash = PinHash::new(&pin, &[7; 16]).expect("hashes");
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify(&pin));
        assert!(!hash.verify(&"4712".parse().expect("valid")));
        assert!(!PinHash::from_stored("garbage".into()).verify(&pin));
        assert!("12a4".parse::<Pin>().is_err());
        assert!("123".parse::<Pin>().is_err());
        assert_eq!(format!("{pin:?}"), "Pin(..)");
    }

    #[test]
    fn blob_refs_are_sha256_hex() {
        let blob = BlobRef::of(b"abc");
        assert_eq!(
            blob.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!("../etc/passwd".parse::<BlobRef>().is_err());
        assert_eq!(blob.as_str().parse::<BlobRef>().ok(), Some(blob));
    }
}
