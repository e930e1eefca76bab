//! What the `user`, `job` and `outbox` commands share: the store options and config
//! sections, opening the store, the clock, and JSON for the queue's records.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use fax_queue::{Delivery, RetryPolicy, Store, Timestamp, User};
use serde_json::{Value, json};

use crate::config::Config;

/// Where the store is, for every queue command.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// faxgate's configuration file; its [store], [retry], [scheduler] and [[line]]
    /// sections apply here (see config/faxgate.example.toml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The data directory: the SQLite database faxgate.db and the blobs. Default
    /// ./faxgate-data (the one `faxgate serve` uses on embedded defaults).
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL (postgres://...) or SQLite (sqlite://FILE) URL, instead of the
    /// data directory's database.
    #[arg(long, value_name = "URL", global = true)]
    pub database_url: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The validated queue settings.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// The data directory (database and blobs).
    pub data_dir: PathBuf,
    /// A database URL replacing the data directory's SQLite file.
    pub database_url: Option<String>,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// How long a worker's claim holds without renewal.
    pub lease: Duration,
}

/// The default data directory, relative to where faxgate runs: the same for the daemon
/// and every command, so `faxgate user add` on defaults adds the user `faxgate serve`
/// on defaults sees. Installed servers set `[store] data_dir`.
pub const DEFAULT_DATA_DIR: &str = "faxgate-data";

/// The queue's settings from the configuration file's `[store]`, `[retry]` and
/// `[scheduler]` sections (already range-checked by `Config::parse`).
pub fn settings_from(config: &Config) -> anyhow::Result<QueueSettings> {
    Ok(QueueSettings {
        data_dir: config
            .store
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        database_url: config
            .store
            .database_url
            .clone()
            .filter(|url| !url.is_empty()),
        retry: config.retry.validate().context("[retry]")?,
        lease: Duration::from_secs(config.scheduler.lease_seconds),
    })
}

impl StoreArgs {
    /// The settings: the config file (or the defaults) with the options on top.
    pub fn settings(&self) -> anyhow::Result<QueueSettings> {
        let config = self.config()?;
        let mut settings =
            settings_from(&config).with_context(|| format!("in {}", self.config_name()))?;
        if let Some(dir) = &self.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            settings.database_url = Some(url.clone());
        }
        Ok(settings)
    }

    /// The whole configuration file, or the defaults without one.
    pub fn config(&self) -> anyhow::Result<Config> {
        Config::load(self.config.as_deref())
    }

    fn config_name(&self) -> String {
        self.config.as_ref().map_or_else(
            || "the built-in settings".to_owned(),
            |p| p.display().to_string(),
        )
    }
}

impl QueueSettings {
    /// Opens (creating and migrating on first start) the configured store.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let store = match &self.database_url {
            Some(url) => Store::open(url)
                .await
                .with_context(|| format!("opening the database {}", redact(url)))?,
            None => Store::open_data_dir(&self.data_dir)
                .await
                .with_context(|| format!("opening the store in {}", self.data_dir.display()))?,
        };
        Ok(store.with_retry_policy(self.retry.clone()))
    }

    /// Where blobs are kept.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Runs an async command body on a runtime of its own.
pub fn block_on<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}

/// The current time, for the store (which never reads the clock itself).
pub fn now() -> Timestamp {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// Who is making an administrative change, for the audit log.
pub fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

/// A time as RFC 3339 UTC text (`2024-05-01T12:00:00Z`).
pub fn time_text(time: Timestamp) -> String {
    let seconds = time.0.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// A user as JSON (the PIN only as whether there is one).
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.0,
        "display_name": user.display_name,
        "emails": user.emails.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "permissions": user.permissions.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "max_destination": user.max_destination.as_str(),
        "fax_id": user.fax_id.as_str(),
        "locale": user.locale.as_str(),
        "pin": user.pin.is_some(),
        "created_at": time_text(user.created_at),
    })
}

/// A delivery as JSON.
pub fn delivery_json(delivery: &Delivery) -> Value {
    json!({
        "id": delivery.id.0,
        "request": delivery.request.0,
        "destination": delivery.destination,
        "state": delivery.state.as_str(),
        "priority": delivery.priority,
        "next_attempt_at": time_text(delivery.next_attempt_at),
        "dials": delivery.dials,
        "tries": delivery.tries,
        "attempts": delivery.attempts,
        "resume_page": delivery.resume_page,
        "total_pages": delivery.total_pages,
        "result": delivery.result,
        "t30_status": delivery.result_code,
        "finished_at": delivery.finished_at.map(time_text),
        "worker": delivery.lease_owner,
        "cancel_requested": delivery.cancel_requested,
    })
}

/// Prints a value as pretty JSON.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads a PIN from the first line of standard input (so it stays out of the process
/// list and the shell history).
pub fn read_pin_from_stdin() -> anyhow::Result<fax_queue::Pin> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the PIN from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).parse()?)
}

/// 16 random bytes for a PIN hash's salt.
pub fn random_salt() -> anyhow::Result<[u8; 16]> {
    use std::io::Read;
    let mut salt = [0u8; 16];
    std::fs::File::open(Path::new("/dev/urandom"))
        .and_then(|mut urandom| urandom.read_exact(&mut salt))
        .context("reading /dev/urandom for a PIN salt")?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_a_config_file() {
        let settings = settings_from(&Config::default()).expect("defaults");
        assert_eq!(settings.retry, RetryPolicy::default());
        assert_eq!(settings.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(settings.lease, Duration::from_secs(60));
        assert!(settings.database_url.is_none());
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(time_text(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            time_text(Timestamp(1_709_251_199_000)),
            "2024-02-29T23:59:59Z"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://fax:secret@db/fax"),
            "postgres://fax:***@db/fax"
        );
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }
}
