//! The store: one schema and one set of queries over SQLite or PostgreSQL.
//!
//! SQLite (one file, WAL) is the embedded default for a single node; PostgreSQL lets
//! several nodes share one queue. Both run the same migration and the same statements,
//! written in the SQL they share; the few places where they must differ (auto-numbered
//! keys, row locks, taking SQLite's write lock up front) are spelled out where they
//! occur.
//!
//! Claims: a worker claims due deliveries for a line under a lease, which it renews
//! while the call runs. Claims for one line lock that line's row, so the line's channel
//! limit holds across nodes; on PostgreSQL the candidate rows are taken with
//! `FOR UPDATE SKIP LOCKED`, on SQLite the whole claim is one writer transaction. A
//! delivery whose lease expired (its worker died) is taken back before any new claim,
//! its open attempt marked interrupted and the retry policy asked what next: a call is
//! never made for a delivery while another worker's lease on it holds.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::Error;
use crate::model::*;
use crate::retry::{CallOutcome, Decision, OutcomeClass, RetryPolicy, RetryState, decide};

/// The schema's versions in order. Versions are applied by number, each once, so a
/// version registered later than a higher one still runs.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_queue.sql")),
    (2, include_str!("../migrations/0002_mail_intake.sql")),
    (3, include_str!("../migrations/0003_claim_path.sql")),
    (4, include_str!("../migrations/0004_outgoing_mail.sql")),
];

/// How long a SQLite connection waits for another connection's lock before failing
/// with "database is locked" (milliseconds, as the pragma takes it).
const SQLITE_BUSY_TIMEOUT_PRAGMA: &str = "PRAGMA busy_timeout = 30000";

/// Puts a SQLite file into WAL mode unless it is already: persistent in the file, so
/// readers no longer block the writer and a commit is one append to the log. Only the
/// first open of a new file changes the mode; every later open just reads it.
///
/// Durability: `synchronous` stays at SQLite's default (FULL), so each commit is
/// synced to disk before it returns. A queued job or a recorded attempt then survives
/// not only the daemon being killed (which WAL alone covers) but a power cut too, at
/// the price of one sync per commit.
async fn ensure_wal(pool: &AnyPool) -> Result<(), Error> {
    let mut conn = pool.acquire().await?;
    // A connection learns the file's mode when it first reads it; asked before that,
    // `PRAGMA journal_mode` reports the default. Reading the schema settles it.
    sqlx::query("SELECT COUNT(*) FROM sqlite_master")
        .fetch_one(&mut *conn)
        .await?;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if !mode.eq_ignore_ascii_case("wal") {
        sqlx::query("PRAGMA journal_mode = WAL")
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite: one file, one writer at a time.
    Sqlite,
    /// PostgreSQL: a shared server.
    Postgres,
}

/// How a user is named on the command line: an id, an email address or a fax ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// The row id.
    Id(UserId),
    /// One of the user's addresses.
    Email(EmailAddress),
    /// The user's fax ID.
    FaxId(FaxId),
}

impl std::str::FromStr for UserKey {
    type Err = Error;
    fn from_str(text: &str) -> Result<UserKey, Error> {
        if text.contains('@') {
            return text.parse().map(UserKey::Email);
        }
        if let Ok(fax_id) = text.parse() {
            return Ok(UserKey::FaxId(fax_id));
        }
        text.parse().map(UserKey::Id).map_err(|_| Error::Invalid {
            what: "user (an id, an email address or a fax ID)",
            value: text.to_owned(),
        })
    }
}

impl std::fmt::Display for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserKey::Id(id) => write!(f, "{id}"),
            UserKey::Email(email) => write!(f, "{email}"),
            UserKey::FaxId(fax_id) => write!(f, "{fax_id}"),
        }
    }
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Only of this user's requests.
    pub user: Option<UserId>,
    /// At most this many, newest first (0: no limit).
    pub limit: u32,
}

/// A delivery claimed by a worker for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The delivery as it was when claimed.
    pub delivery: Delivery,
    /// The attempt row of this call.
    pub attempt: AttemptId,
    /// The worker holding the claim.
    pub worker: String,
    /// The line it was claimed for.
    pub line: String,
    /// Until when the lease holds unless renewed.
    pub lease_until: Timestamp,
}

/// The answer to a lease renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The new end of the lease.
    pub until: Timestamp,
    /// Someone asked to cancel: hang up.
    pub cancel_requested: bool,
}

/// What the line driver reports at the end of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    /// How it ended and how many pages were confirmed.
    pub outcome: CallOutcome,
    /// Pages this call set out to send.
    pub pages_total: Option<u32>,
    /// The last modem rate.
    pub bit_rate: Option<u32>,
    /// Whether error correction mode was used.
    pub ecm: Option<bool>,
    /// The far end's identifier.
    pub remote_ident: Option<String>,
    /// The T.30 status code, if the call reached the fax phase.
    pub t30_code: Option<u32>,
    /// The reason in words.
    pub reason: String,
}

/// The job store.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    policy: RetryPolicy,
}

const DELIVERY_COLUMNS: &str = "id, request_id, destination, state, priority, next_attempt_at, \
    dials, tries, attempts, resume_page, total_pages, window_start, result, result_code, \
    finished_at, lease_owner, lease_until, cancel_requested";

const ATTEMPT_COLUMNS: &str = "id, delivery_id, line, worker, started_at, ended_at, pages_sent, \
    pages_total, bit_rate, ecm, remote_ident, t30_code, outcome, reason";

const USER_COLUMNS: &str =
    "id, display_name, permissions, max_destination, fax_id, locale, pin_hash, created_at";

impl Store {
    /// Opens the SQLite store `faxgate.db` in `data_dir` (creating both if missing) and
    /// brings its schema up to date.
    pub async fn open_data_dir(data_dir: &std::path::Path) -> Result<Store, Error> {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
            context: format!("creating {}", data_dir.display()),
            source,
        })?;
        let file = data_dir.join("faxgate.db");
        let path = file.to_str().ok_or_else(|| Error::Invalid {
            what: "data directory (a path in UTF-8)",
            value: data_dir.display().to_string(),
        })?;
        Store::open(&format!("sqlite://{path}?mode=rwc")).await
    }

    /// Opens the store at `url` (`sqlite://FILE?mode=rwc` or `postgres://...`) and brings
    /// its schema up to date.
    pub async fn open(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config(format!(
                "database URL must start with sqlite: or postgres: (got {:?})",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                // One writer at a time anyway; readers share the WAL.
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // The driver's default wait for another connection's write
                        // lock is 5 s, and a lock held longer fails the call outright
                        // with "database is locked" (the daemon's lease renewal
                        // included). On a loaded machine a writer can hold the lock
                        // that long without being stuck: starved of CPU between its
                        // statements, or in a commit's disk sync behind other
                        // processes' writes. Wait far longer, so that only a writer
                        // that really hangs makes others give up.
                        sqlx::query(SQLITE_BUSY_TIMEOUT_PRAGMA)
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        if backend == Backend::Sqlite {
            ensure_wal(&pool).await?;
        }
        let store = Store {
            pool,
            backend,
            policy: RetryPolicy::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The same store with another retry policy.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Store {
        self.policy = policy;
        self
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that may write. SQLite takes its write lock at the start, so two
    /// writers queue on the busy timeout instead of one failing when it upgrades from
    /// reading.
    pub(crate) async fn write_tx(&self) -> Result<Transaction<'static, Any>, Error> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Row locks for read-modify-write; SQLite's writer transaction already excludes
    /// every other writer.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// The schema statements for this backend, `{id}` spelled out.
    fn migration_statements(&self, sql: &str) -> Vec<String> {
        let id = match self.backend {
            Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        let without_comments: String = sql
            .lines()
            .filter(|line| !line.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        without_comments
            .split(';')
            .map(str::trim)
            .filter(|statement| !statement.is_empty())
            .map(|statement| statement.replace("{id}", id))
            .collect()
    }

    /// Brings the schema up to date. Every process that opens the store runs this,
    /// command-line readers included, so the common case (nothing to do) is settled
    /// by a plain read: on SQLite a write transaction here would make each
    /// `faxgate job list` queue behind (and hold up) the daemon's writers.
    async fn migrate(&self) -> Result<(), Error> {
        if self.schema_is_current().await? {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        if self.backend == Backend::Postgres {
            // Two nodes starting at once must not both create the tables; the lock ends
            // with the transaction. The key is arbitrary but fixed ("fax-queue").
            sqlx::query("SELECT pg_advisory_xact_lock(7306618390529016421)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for statement in self.migration_statements(sql) {
                sqlx::query(&statement).execute(&mut *tx).await?;
            }
            // Migrations run at start, before any clock the caller could pass matters.
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)")
                .bind(*version)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(newest) = applied.iter().max()
            && MIGRATIONS.iter().all(|(version, _)| version < newest)
        {
            return Err(Error::Corrupt(format!(
                "schema version {newest} is newer than this program knows"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether every known schema version is applied and none newer is, read without
    /// taking a write lock. A store that has no version table yet is not current.
    async fn schema_is_current(&self) -> Result<bool, Error> {
        let table = match self.backend {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = 'schema_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        };
        let tables: i64 = sqlx::query(table).fetch_one(&self.pool).await?.try_get(0)?;
        if tables == 0 {
            return Ok(false);
        }
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        // Anything else (a version missing, or one this program does not know) goes
        // through the locked path, which applies or refuses it.
        Ok(applied.len() == MIGRATIONS.len()
            && MIGRATIONS
                .iter()
                .all(|(version, _)| applied.contains(version)))
    }

    /// The schema as the database reports it: `table.column` per line, sorted, with a
    /// portable type name. The two backends must agree.
    pub async fn schema_summary(&self) -> Result<Vec<String>, Error> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name, p.name, p.type, \
                 CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 1 ELSE 0 END FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
                 AND m.name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT table_name::TEXT, column_name::TEXT, data_type::TEXT, \
                 CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END \
                 FROM information_schema.columns WHERE table_schema = current_schema()"
            }
        };
        let mut summary = Vec::new();
        for row in sqlx::query(sql).fetch_all(&self.pool).await? {
            let table: String = row.try_get(0)?;
            let column: String = row.try_get(1)?;
            let data_type: String = row.try_get(2)?;
            let not_null: i64 = row.try_get(3)?;
            let data_type = match data_type.to_ascii_lowercase().as_str() {
                "integer" | "bigint" => "integer",
                "text" => "text",
                other => return Err(Error::Corrupt(format!("unexpected column type {other}"))),
            };
            summary.push(format!(
                "{table}.{column} {data_type}{}",
                if not_null != 0 { " not null" } else { "" }
            ));
        }
        summary.sort();
        Ok(summary)
    }

    /// Ends an administrator's change to a delivery: records it in the audit log (with
    /// the state it changed from), commits, and returns the delivery as it now is.
    async fn finish_admin_change(
        mut tx: Transaction<'static, Any>,
        actor: &str,
        action: &str,
        id: DeliveryId,
        previous: DeliveryState,
        now: Timestamp,
    ) -> Result<Delivery, Error> {
        Self::audit(
            &mut tx,
            actor,
            action,
            &id.to_string(),
            previous.as_str(),
            now,
        )
        .await?;
        let delivery = load_delivery(&mut tx, id, "").await?;
        tx.commit().await?;
        Ok(delivery)
    }

    async fn audit(
        tx: &mut Transaction<'static, Any>,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(now.0)
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    // ---- users ----

    /// Adds a user and records it in the audit log. The server issues the fax ID
    /// (`AF` and the user's number) unless one is given.
    pub async fn add_user(
        &self,
        new: &NewUser,
        actor: &str,
        now: Timestamp,
    ) -> Result<User, Error> {
        if new.emails.is_empty() {
            return Err(Error::Invalid {
                what: "user (at least one email address)",
                value: new.display_name.clone(),
            });
        }
        let mut tx = self.write_tx().await?;
        for email in &new.emails {
            ensure_email_free(&mut tx, email, None).await?;
        }
        if let Some(fax_id) = &new.fax_id {
            ensure_fax_id_free(&mut tx, fax_id).await?;
        }
        let id: i64 = sqlx::query(
            "INSERT INTO users (display_name, permissions, max_destination, fax_id, locale, \
             pin_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(&new.display_name)
        .bind(new.permissions.bits())
        .bind(new.max_destination.as_str())
        .bind(new.fax_id.as_ref().map(|f| f.as_str().to_owned()))
        .bind(new.locale.as_str())
        .bind(new.pin.as_ref().map(|p| p.as_str().to_owned()))
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let fax_id = match &new.fax_id {
            Some(fax_id) => fax_id.clone(),
            None => {
                let issued = FaxId::issue(id)
                    .ok_or_else(|| Error::Conflict("fax IDs exhausted".to_owned()))?;
                // An operator may have handed this one out by hand before.
                ensure_fax_id_free(&mut tx, &issued).await?;
                sqlx::query("UPDATE users SET fax_id = $1 WHERE id = $2")
                    .bind(issued.as_str())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                issued
            }
        };
        insert_emails(&mut tx, UserId(id), &new.emails).await?;
        let emails: Vec<&str> = new.emails.iter().map(EmailAddress::as_str).collect();
        Self::audit(
            &mut tx,
            actor,
            "user.add",
            fax_id.as_str(),
            &format!(
                "name={:?} emails={} permissions={} max_destination={} locale={} pin={}",
                new.display_name,
                emails.join(","),
                new.permissions,
                new.max_destination,
                new.locale,
                if new.pin.is_some() { "set" } else { "none" }
            ),
            now,
        )
        .await?;
        let user = load_user(&mut tx, UserId(id)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Finds a user by id, address or fax ID.
    pub async fn user(&self, key: &UserKey) -> Result<User, Error> {
        let mut conn = self.pool.acquire().await?;
        let id = match key {
            UserKey::Id(id) => Some(*id),
            UserKey::Email(email) => {
                sqlx::query("SELECT user_id FROM user_emails WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|row| row.try_get::<i64, _>(0).map(UserId))
                    .transpose()?
            }
            UserKey::FaxId(fax_id) => sqlx::query("SELECT id FROM users WHERE fax_id = $1")
                .bind(fax_id.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| row.try_get::<i64, _>(0).map(UserId))
                .transpose()?,
        };
        let not_found = || Error::NotFound {
            what: "user",
            key: key.to_string(),
        };
        let id = id.ok_or_else(not_found)?;
        match load_user(&mut conn, id).await {
            Err(Error::NotFound { .. }) => Err(not_found()),
            other => other,
        }
    }

    /// Every user, by id.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&mut *conn)
            .await?;
        let email_rows =
            sqlx::query("SELECT user_id, email FROM user_emails ORDER BY user_id, position")
                .fetch_all(&mut *conn)
                .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut user = user_from_row(row, Vec::new())?;
            for email_row in &email_rows {
                if email_row.try_get::<i64, _>(0)? == user.id.0 {
                    user.emails
                        .push(parse_stored(email_row.try_get::<String, _>(1)?)?);
                }
            }
            users.push(user);
        }
        Ok(users)
    }

    /// Changes a user and records what changed in the audit log.
    pub async fn update_user(
        &self,
        id: UserId,
        changes: &UserChanges,
        actor: &str,
        now: Timestamp,
    ) -> Result<User, Error> {
        let mut tx = self.write_tx().await?;
        let before = load_user(&mut tx, id).await?;
        let mut details = Vec::new();
        if let Some(name) = &changes.display_name {
            sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
                .bind(name)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            details.push(format!("name={name:?}"));
        }
        if let Some(permissions) = changes.permissions {
            sqlx::query("UPDATE users SET permissions = $1 WHERE id = $2")
                .bind(permissions.bits())
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            details.push(format!("permissions={permissions}"));
        }
        if let Some(kind) = changes.max_destination {
            sqlx::query("UPDATE users SET max_destination = $1 WHERE id = $2")
                .bind(kind.as_str())
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            details.push(format!("max_destination={kind}"));
        }
        if let Some(locale) = changes.locale {
            sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
                .bind(locale.as_str())
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            details.push(format!("locale={locale}"));
        }
        if let Some(pin) = &changes.pin {
            sqlx::query("UPDATE users SET pin_hash = $1 WHERE id = $2")
                .bind(pin.as_ref().map(|p| p.as_str().to_owned()))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            details.push(format!(
                "pin={}",
                if pin.is_some() { "set" } else { "removed" }
            ));
        }
        if let Some(emails) = &changes.emails {
            if emails.is_empty() {
                return Err(Error::Invalid {
                    what: "user (at least one email address)",
                    value: before.display_name,
                });
            }
            for email in emails {
                ensure_email_free(&mut tx, email, Some(id)).await?;
            }
            sqlx::query("DELETE FROM user_emails WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            insert_emails(&mut tx, id, emails).await?;
            let list: Vec<&str> = emails.iter().map(EmailAddress::as_str).collect();
            details.push(format!("emails={}", list.join(",")));
        }
        sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        Self::audit(
            &mut tx,
            actor,
            "user.set",
            before.fax_id.as_str(),
            &details.join(" "),
            now,
        )
        .await?;
        let user = load_user(&mut tx, id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Removes a user (their requests stay, without an owner) and records it.
    pub async fn remove_user(
        &self,
        id: UserId,
        actor: &str,
        now: Timestamp,
    ) -> Result<User, Error> {
        let mut tx = self.write_tx().await?;
        let user = load_user(&mut tx, id).await?;
        // Explicit rather than by cascade: SQLite only cascades with foreign keys on.
        sqlx::query("DELETE FROM user_emails WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM inbox WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE requests SET user_id = NULL WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        Self::audit(
            &mut tx,
            actor,
            "user.remove",
            user.fax_id.as_str(),
            &format!("name={:?}", user.display_name),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The audit log, newest first (at most `limit`, 0 for all).
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, Error> {
        let rows = sqlx::query(
            "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit_value(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: Timestamp(row.try_get(0)?),
                    actor: row.try_get(1)?,
                    action: row.try_get(2)?,
                    target: row.try_get(3)?,
                    detail: row.try_get(4)?,
                })
            })
            .collect()
    }

    // ---- requests and deliveries ----

    /// Stores a request with one delivery per destination, all or nothing.
    pub async fn enqueue(
        &self,
        request: &NewRequest,
        now: Timestamp,
    ) -> Result<(RequestId, Vec<DeliveryId>), Error> {
        if request.destinations.is_empty() {
            return Err(Error::Invalid {
                what: "request (at least one destination)",
                value: request.subject.clone(),
            });
        }
        let mut tx = self.write_tx().await?;
        let (request_id, deliveries) = insert_request(&mut tx, request, now).await?;
        tx.commit().await?;
        Ok((request_id, deliveries))
    }

    /// One delivery.
    pub async fn delivery(&self, id: DeliveryId) -> Result<Delivery, Error> {
        let mut conn = self.pool.acquire().await?;
        load_delivery(&mut conn, id, "").await
    }

    /// One delivery with its request and calls.
    pub async fn delivery_detail(&self, id: DeliveryId) -> Result<DeliveryDetail, Error> {
        let mut conn = self.pool.acquire().await?;
        let delivery = load_delivery(&mut conn, id, "").await?;
        let row = sqlx::query(
            "SELECT id, user_id, source, sender, subject, raw_mail_blob, created_at \
             FROM requests WHERE id = $1",
        )
        .bind(delivery.request.0)
        .fetch_one(&mut *conn)
        .await?;
        let documents = sqlx::query(
            "SELECT name, blob FROM request_documents WHERE request_id = $1 ORDER BY position",
        )
        .bind(delivery.request.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|doc| {
            Ok(Document {
                name: doc.try_get(0)?,
                blob: parse_stored(doc.try_get::<String, _>(1)?)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
        let request = Request {
            id: RequestId(row.try_get(0)?),
            user: row.try_get::<Option<i64>, _>(1)?.map(UserId),
            source: parse_stored(row.try_get::<String, _>(2)?)?,
            sender: row.try_get(3)?,
            subject: row.try_get(4)?,
            documents,
            raw_mail: row
                .try_get::<Option<String>, _>(5)?
                .map(parse_stored)
                .transpose()?,
            created_at: Timestamp(row.try_get(6)?),
        };
        let attempts = sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = $1 ORDER BY id"
        ))
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(attempt_from_row)
        .collect::<Result<Vec<_>, Error>>()?;
        Ok(DeliveryDetail {
            delivery,
            request,
            attempts,
        })
    }

    /// Deliveries, newest first.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM deliveries d WHERE ($1 IS NULL OR d.state = $1) \
             AND ($2 IS NULL OR d.request_id IN (SELECT id FROM requests WHERE user_id = $2)) \
             ORDER BY d.id DESC LIMIT $3",
            prefixed("d", DELIVERY_COLUMNS)
        ))
        .bind(filter.state.map(|s| s.as_str().to_owned()))
        .bind(filter.user.map(|u| u.0))
        .bind(limit_value(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// What a user sent, with results, newest first.
    pub async fn outbox(&self, user: UserId, limit: u32) -> Result<Vec<OutboxEntry>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {}, r.subject, r.created_at, r.source FROM deliveries d \
             JOIN requests r ON r.id = d.request_id WHERE r.user_id = $1 \
             ORDER BY d.id DESC LIMIT $2",
            prefixed("d", DELIVERY_COLUMNS)
        ))
        .bind(user.0)
        .bind(limit_value(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let delivery = delivery_from_row(row)?;
                Ok(OutboxEntry {
                    request: delivery.request,
                    subject: row.try_get("subject")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    source: parse_stored(row.try_get::<String, _>("source")?)?,
                    delivery,
                })
            })
            .collect()
    }

    /// Files a fax in a user's inbox (delivered to their fax ID, or received).
    pub async fn add_to_inbox(
        &self,
        user: UserId,
        entry: &InboxEntry,
        delivery: Option<DeliveryId>,
    ) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        insert_inbox(&mut tx, user, entry, delivery).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's inbox, newest first.
    pub async fn inbox(&self, user: UserId, limit: u32) -> Result<Vec<InboxEntry>, Error> {
        let rows = sqlx::query(
            "SELECT received_at, sender, tiff_blob, pages FROM inbox WHERE user_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(user.0)
        .bind(limit_value(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(InboxEntry {
                    received_at: Timestamp(row.try_get(0)?),
                    sender: row.try_get(1)?,
                    tiff: parse_stored(row.try_get::<String, _>(2)?)?,
                    pages: to_u32(row.try_get(3)?)?,
                })
            })
            .collect()
    }

    // ---- the scheduler's side ----

    /// Claims up to the line's free channels of due deliveries, best first (priority,
    /// then the longest waiting), each under a lease until `now + lease`. Expired leases
    /// are taken back first.
    pub async fn claim(
        &self,
        line: &str,
        channels: u32,
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Vec<Claim>, Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO lines (name, last_claim_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(line)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        // Locks the line's row until commit: claims for one line take turns, so the
        // count of busy channels below stays true while we add to it.
        sqlx::query("UPDATE lines SET last_claim_at = $2 WHERE name = $1")
            .bind(line)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        self.recover_in(&mut tx, now).await?;
        let busy: i64 = sqlx::query(
            "SELECT COUNT(*) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
             WHERE a.line = $1 AND a.ended_at IS NULL AND d.state = 'active'",
        )
        .bind(line)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let free = i64::from(channels).saturating_sub(busy);
        if free <= 0 {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let skip_locked = match self.backend {
            Backend::Sqlite => "",
            // Another node's claim in progress holds those rows: take the next ones
            // instead of waiting for it.
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let ids: Vec<i64> = sqlx::query(&format!(
            "SELECT id FROM deliveries WHERE state = 'queued' AND next_attempt_at <= $1 \
             ORDER BY priority DESC, next_attempt_at, id LIMIT $2{skip_locked}"
        ))
        .bind(now.0)
        .bind(free)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        let lease_until = now.plus(lease);
        let mut claims = Vec::with_capacity(ids.len());
        for id in ids {
            let taken = sqlx::query(
                "UPDATE deliveries SET state = 'active', lease_owner = $1, lease_until = $2, \
                 dials = dials + 1, attempts = attempts + 1 WHERE id = $3 AND state = 'queued'",
            )
            .bind(worker)
            .bind(lease_until.0)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken != 1 {
                continue;
            }
            let attempt: i64 = sqlx::query(
                "INSERT INTO attempts (delivery_id, line, worker, started_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(id)
            .bind(line)
            .bind(worker)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
            claims.push(Claim {
                delivery: load_delivery(&mut tx, DeliveryId(id), "").await?,
                attempt: AttemptId(attempt),
                worker: worker.to_owned(),
                line: line.to_owned(),
                lease_until,
            });
        }
        tx.commit().await?;
        Ok(claims)
    }

    /// Extends a claim's lease to `now + lease`, recording the pages confirmed so far
    /// (where a call interrupted from here on would resume). Fails with
    /// [`Error::LeaseLost`] if the claim is no longer this worker's: the call must stop.
    pub async fn renew(
        &self,
        claim: &Claim,
        lease: Duration,
        pages_confirmed: Option<u32>,
        now: Timestamp,
    ) -> Result<Lease, Error> {
        let mut tx = self.write_tx().await?;
        let until = now.plus(lease);
        let row = sqlx::query(
            "UPDATE deliveries SET lease_until = $1 WHERE id = $2 AND state = 'active' \
             AND lease_owner = $3 RETURNING cancel_requested",
        )
        .bind(until.0)
        .bind(claim.delivery.id.0)
        .bind(&claim.worker)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::LeaseLost(claim.delivery.id))?;
        let cancel_requested = row.try_get::<i64, _>(0)? != 0;
        if let Some(pages) = pages_confirmed {
            sqlx::query("UPDATE attempts SET pages_sent = $1 WHERE id = $2 AND ended_at IS NULL")
                .bind(i64::from(pages))
                .bind(claim.attempt.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Lease {
            until,
            cancel_requested,
        })
    }

    /// Gives a claim back without a call having been made (shutting down before
    /// dialling): the delivery is due again at once and the call is not counted.
    pub async fn release(&self, claim: &Claim, now: Timestamp) -> Result<(), Error> {
        let mut tx = self.write_tx().await?;
        let released = sqlx::query(
            "UPDATE deliveries SET state = 'queued', lease_owner = NULL, lease_until = NULL, \
             dials = dials - 1, attempts = attempts - 1, next_attempt_at = $1 \
             WHERE id = $2 AND state = 'active' AND lease_owner = $3",
        )
        .bind(now.0)
        .bind(claim.delivery.id.0)
        .bind(&claim.worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if released != 1 {
            return Err(Error::LeaseLost(claim.delivery.id));
        }
        sqlx::query("DELETE FROM attempts WHERE id = $1")
            .bind(claim.attempt.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the end of a call and applies the retry policy's decision, in one
    /// transaction. Fails with [`Error::LeaseLost`] if the delivery was taken back
    /// meanwhile (then nothing is recorded: the attempt is already marked interrupted).
    pub async fn finish(
        &self,
        claim: &Claim,
        report: &AttemptReport,
        now: Timestamp,
    ) -> Result<Decision, Error> {
        let mut tx = self.write_tx().await?;
        let decision = self.finish_in(&mut tx, claim, report, now).await?;
        tx.commit().await?;
        Ok(decision)
    }

    /// Files the fax in `user`'s inbox, records the delivery as done and queues `mail`
    /// (the fax mailed to its owner), in one transaction: a crash in between can
    /// neither lose the fax, nor file it twice, nor file it without mailing it or mail
    /// it twice. `mail` is `None` for an owner with no address to mail: then the fax
    /// is only filed.
    pub async fn finish_to_inbox(
        &self,
        claim: &Claim,
        user: UserId,
        entry: &InboxEntry,
        mail: Option<&crate::outgoing::NewOutgoing<'_>>,
        report: &AttemptReport,
        now: Timestamp,
    ) -> Result<Decision, Error> {
        let mut tx = self.write_tx().await?;
        let decision = self.finish_in(&mut tx, claim, report, now).await?;
        insert_inbox(&mut tx, user, entry, Some(claim.delivery.id)).await?;
        if let Some(mail) = mail {
            crate::outgoing::insert_outgoing(
                &mut tx,
                mail,
                Some(claim.delivery.request),
                None,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(decision)
    }

    async fn finish_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        claim: &Claim,
        report: &AttemptReport,
        now: Timestamp,
    ) -> Result<Decision, Error> {
        let delivery = load_delivery(tx, claim.delivery.id, self.for_update()).await?;
        if delivery.state != DeliveryState::Active
            || delivery.lease_owner.as_deref() != Some(claim.worker.as_str())
        {
            return Err(Error::LeaseLost(claim.delivery.id));
        }
        let ended = sqlx::query(
            "UPDATE attempts SET ended_at = $1, pages_sent = $2, pages_total = $3, \
             bit_rate = $4, ecm = $5, remote_ident = $6, t30_code = $7, outcome = $8, \
             reason = $9 WHERE id = $10 AND ended_at IS NULL",
        )
        .bind(now.0)
        .bind(i64::from(report.outcome.pages_confirmed))
        .bind(report.pages_total.map(i64::from))
        .bind(report.bit_rate.map(i64::from))
        .bind(report.ecm.map(i64::from))
        .bind(report.remote_ident.clone())
        .bind(report.t30_code.map(i64::from))
        .bind(report.outcome.class.as_str())
        .bind(&report.reason)
        .bind(claim.attempt.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if ended != 1 {
            return Err(Error::LeaseLost(claim.delivery.id));
        }
        self.apply_outcome(
            tx,
            &delivery,
            &report.outcome,
            report.t30_code,
            &report.reason,
            now,
        )
        .await
    }

    /// The request's documents as rendered fax pages, if a worker rendered them already:
    /// the TIFF blob and its page count.
    pub async fn rendered(&self, request: RequestId) -> Result<Option<(BlobRef, u32)>, Error> {
        let row = sqlx::query("SELECT rendered_blob, rendered_pages FROM requests WHERE id = $1")
            .bind(request.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "request",
                key: request.to_string(),
            })?;
        let blob: Option<String> = row.try_get(0)?;
        let pages: Option<i64> = row.try_get(1)?;
        match (blob, pages) {
            (Some(blob), Some(pages)) => Ok(Some((parse_stored(blob)?, to_u32(pages)?))),
            _ => Ok(None),
        }
    }

    /// Records the request's rendered fax (a TIFF blob of `pages` pages) and sets the
    /// page count of its unfinished deliveries, which the retry policy needs to know a
    /// fax is complete. If another worker recorded one first, theirs stays and is
    /// returned, so every recipient gets the same pages.
    pub async fn set_rendered(
        &self,
        request: RequestId,
        blob: &BlobRef,
        pages: u32,
    ) -> Result<(BlobRef, u32), Error> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE requests SET rendered_blob = $1, rendered_pages = $2 \
             WHERE id = $3 AND rendered_blob IS NULL",
        )
        .bind(blob.as_str())
        .bind(i64::from(pages))
        .bind(request.0)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT rendered_blob, rendered_pages FROM requests WHERE id = $1")
            .bind(request.0)
            .fetch_one(&mut *tx)
            .await?;
        let stored: BlobRef = parse_stored(row.try_get::<String, _>(0)?)?;
        let stored_pages = to_u32(row.try_get::<i64, _>(1)?)?;
        sqlx::query(
            "UPDATE deliveries SET total_pages = $1 WHERE request_id = $2 \
             AND state IN ('queued', 'active')",
        )
        .bind(i64::from(stored_pages))
        .bind(request.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((stored, stored_pages))
    }

    /// Takes back every delivery whose lease expired before `now`: its open attempt is
    /// marked interrupted and the retry policy decides what next. Run at start and
    /// before every claim. Returns the deliveries taken back.
    pub async fn recover_expired(&self, now: Timestamp) -> Result<Vec<DeliveryId>, Error> {
        let mut tx = self.write_tx().await?;
        let recovered = self.recover_in(&mut tx, now).await?;
        tx.commit().await?;
        Ok(recovered)
    }

    async fn recover_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        now: Timestamp,
    ) -> Result<Vec<DeliveryId>, Error> {
        let skip_locked = match self.backend {
            Backend::Sqlite => "",
            // A node finishing its call right now holds the row: it is not dead.
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let expired = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'active' \
             AND lease_until < $1 ORDER BY id{skip_locked}"
        ))
        .bind(now.0)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>, Error>>()?;
        let mut recovered = Vec::with_capacity(expired.len());
        for delivery in expired {
            let reason = "the worker stopped during the call (its lease expired)";
            let open = sqlx::query(
                "SELECT pages_sent FROM attempts WHERE delivery_id = $1 AND ended_at IS NULL",
            )
            .bind(delivery.id.0)
            .fetch_optional(&mut **tx)
            .await?;
            let pages_confirmed = match open {
                Some(row) => to_u32(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))?,
                None => 0,
            };
            sqlx::query(
                "UPDATE attempts SET ended_at = $1, outcome = 'interrupted', reason = $2 \
                 WHERE delivery_id = $3 AND ended_at IS NULL",
            )
            .bind(now.0)
            .bind(reason)
            .bind(delivery.id.0)
            .execute(&mut **tx)
            .await?;
            let outcome = CallOutcome {
                class: OutcomeClass::Interrupted,
                pages_confirmed,
            };
            self.apply_outcome(tx, &delivery, &outcome, None, reason, now)
                .await?;
            recovered.push(delivery.id);
        }
        Ok(recovered)
    }

    async fn apply_outcome(
        &self,
        tx: &mut Transaction<'static, Any>,
        delivery: &Delivery,
        outcome: &CallOutcome,
        t30_code: Option<u32>,
        reason: &str,
        now: Timestamp,
    ) -> Result<Decision, Error> {
        let failed_fax = outcome.class.reached_fax() && outcome.class != OutcomeClass::Sent;
        let state = RetryState {
            dials: delivery.dials,
            tries: delivery.tries + u32::from(failed_fax),
            resume_page: delivery.resume_page,
            total_pages: delivery.total_pages,
            window_start: delivery.window_start,
        };
        let decision = decide(&self.policy, &state, outcome, now);
        let confirmed = delivery.resume_page.saturating_add(outcome.pages_confirmed);
        let (new_state, next_at, resume_page, result, finished) = match &decision {
            Decision::Done => (
                DeliveryState::Sent,
                now,
                delivery.total_pages.unwrap_or(confirmed),
                reason.to_owned(),
                Some(now),
            ),
            Decision::RetryAt { .. } if delivery.cancel_requested => (
                DeliveryState::Cancelled,
                now,
                confirmed,
                format!("cancelled during the call ({reason})"),
                Some(now),
            ),
            Decision::RetryAt { at, resume_page } => (
                DeliveryState::Queued,
                *at,
                *resume_page,
                reason.to_owned(),
                None,
            ),
            Decision::GiveUp { reason: why } => (
                DeliveryState::Failed,
                now,
                confirmed,
                format!("{reason}; {why}"),
                Some(now),
            ),
        };
        sqlx::query(
            "UPDATE deliveries SET state = $1, next_attempt_at = $2, resume_page = $3, \
             result = $4, result_code = $5, finished_at = $6, tries = $7, \
             lease_owner = NULL, lease_until = NULL WHERE id = $8",
        )
        .bind(new_state.as_str())
        .bind(next_at.0)
        .bind(i64::from(resume_page))
        .bind(result)
        .bind(t30_code.map(i64::from))
        .bind(finished.map(|t| t.0))
        .bind(i64::from(state.tries))
        .bind(delivery.id.0)
        .execute(&mut **tx)
        .await?;
        Ok(decision)
    }

    /// Cancels a delivery: a queued one at once, a running one when its call ends (the
    /// worker learns it at its next renewal). Recorded in the audit log.
    pub async fn cancel(
        &self,
        id: DeliveryId,
        actor: &str,
        now: Timestamp,
    ) -> Result<Delivery, Error> {
        let mut tx = self.write_tx().await?;
        let delivery = load_delivery(&mut tx, id, self.for_update()).await?;
        match delivery.state {
            DeliveryState::Queued => {
                sqlx::query(
                    "UPDATE deliveries SET state = 'cancelled', finished_at = $1, result = $2 \
                     WHERE id = $3",
                )
                .bind(now.0)
                .bind(format!("cancelled by {actor}"))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            }
            DeliveryState::Active => {
                sqlx::query("UPDATE deliveries SET cancel_requested = 1 WHERE id = $1")
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
            }
            state => {
                return Err(Error::Conflict(format!(
                    "delivery {id} is {state}: nothing to cancel"
                )));
            }
        }
        Self::finish_admin_change(tx, actor, "job.cancel", id, delivery.state, now).await
    }

    /// Queues a failed or cancelled delivery again with fresh limits, from the first
    /// unconfirmed page, or makes a waiting one due now. Recorded in the audit log.
    pub async fn retry(
        &self,
        id: DeliveryId,
        actor: &str,
        now: Timestamp,
    ) -> Result<Delivery, Error> {
        let mut tx = self.write_tx().await?;
        let delivery = load_delivery(&mut tx, id, self.for_update()).await?;
        match delivery.state {
            DeliveryState::Failed | DeliveryState::Cancelled | DeliveryState::Queued => {
                sqlx::query(
                    "UPDATE deliveries SET state = 'queued', next_attempt_at = $1, dials = 0, \
                     tries = 0, window_start = $1, finished_at = NULL, cancel_requested = 0 \
                     WHERE id = $2",
                )
                .bind(now.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            }
            state => {
                return Err(Error::Conflict(format!(
                    "delivery {id} is {state}: nothing to retry"
                )));
            }
        }
        Self::finish_admin_change(tx, actor, "job.retry", id, delivery.state, now).await
    }

    /// The earliest time a queued delivery becomes due, if any is queued.
    pub async fn next_due(&self) -> Result<Option<Timestamp>, Error> {
        let row = sqlx::query("SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'queued'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.map(Timestamp))
    }
}

async fn insert_inbox(
    tx: &mut Transaction<'static, Any>,
    user: UserId,
    entry: &InboxEntry,
    delivery: Option<DeliveryId>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO inbox (user_id, delivery_id, sender, tiff_blob, pages, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.0)
    .bind(delivery.map(|d| d.0))
    .bind(&entry.sender)
    .bind(entry.tiff.as_str())
    .bind(i64::from(entry.pages))
    .bind(entry.received_at.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a request and one delivery per destination inside the caller's
/// transaction (`enqueue`, and the mail intake, which records the message in the same
/// transaction).
pub(crate) async fn insert_request(
    tx: &mut Transaction<'static, Any>,
    request: &NewRequest,
    now: Timestamp,
) -> Result<(RequestId, Vec<DeliveryId>), Error> {
    let request_id: i64 = sqlx::query(
        "INSERT INTO requests (user_id, source, sender, subject, raw_mail_blob, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(request.user.map(|u| u.0))
    .bind(request.source.as_str())
    .bind(&request.sender)
    .bind(&request.subject)
    .bind(request.raw_mail.as_ref().map(|b| b.as_str().to_owned()))
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?
    .try_get(0)?;
    for (position, document) in request.documents.iter().enumerate() {
        sqlx::query(
            "INSERT INTO request_documents (request_id, position, name, blob) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(request_id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&document.name)
        .bind(document.blob.as_str())
        .execute(&mut **tx)
        .await?;
    }
    let mut deliveries = Vec::with_capacity(request.destinations.len());
    for destination in &request.destinations {
        let id: i64 = sqlx::query(
            "INSERT INTO deliveries (request_id, destination, state, priority, \
             next_attempt_at, dials, tries, attempts, resume_page, total_pages, \
             window_start, cancel_requested) \
             VALUES ($1, $2, 'queued', $3, $4, 0, 0, 0, 0, $5, $6, 0) RETURNING id",
        )
        .bind(request_id)
        .bind(destination)
        .bind(request.priority)
        .bind(request.send_at.max(now).0)
        .bind(request.total_pages.map(i64::from))
        .bind(now.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        deliveries.push(DeliveryId(id));
    }
    Ok((RequestId(request_id), deliveries))
}

fn limit_value(limit: u32) -> i64 {
    if limit == 0 {
        i64::MAX
    } else {
        i64::from(limit)
    }
}

fn prefixed(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|column| format!("{table}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_u32(value: i64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::Corrupt(format!("count out of range: {value}")))
}

fn opt_u32(value: Option<i64>) -> Result<Option<u32>, Error> {
    value.map(to_u32).transpose()
}

/// Parses a value the store wrote itself; failing means the row was damaged.
fn parse_stored<T: std::str::FromStr<Err = Error>>(text: String) -> Result<T, Error> {
    text.parse()
        .map_err(|error| Error::Corrupt(format!("{error}")))
}

fn delivery_from_row(row: &AnyRow) -> Result<Delivery, Error> {
    Ok(Delivery {
        id: DeliveryId(row.try_get("id")?),
        request: RequestId(row.try_get("request_id")?),
        destination: row.try_get("destination")?,
        state: parse_stored(row.try_get::<String, _>("state")?)?,
        priority: row.try_get("priority")?,
        next_attempt_at: Timestamp(row.try_get("next_attempt_at")?),
        dials: to_u32(row.try_get("dials")?)?,
        tries: to_u32(row.try_get("tries")?)?,
        attempts: to_u32(row.try_get("attempts")?)?,
        resume_page: to_u32(row.try_get("resume_page")?)?,
        total_pages: opt_u32(row.try_get("total_pages")?)?,
        window_start: Timestamp(row.try_get("window_start")?),
        result: row.try_get("result")?,
        result_code: opt_u32(row.try_get("result_code")?)?,
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get::<Option<i64>, _>("lease_until")?.map(Timestamp),
        cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<Attempt, Error> {
    Ok(Attempt {
        id: AttemptId(row.try_get("id")?),
        delivery: DeliveryId(row.try_get("delivery_id")?),
        line: row.try_get("line")?,
        worker: row.try_get("worker")?,
        started_at: Timestamp(row.try_get("started_at")?),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(Timestamp),
        pages_sent: opt_u32(row.try_get("pages_sent")?)?,
        pages_total: opt_u32(row.try_get("pages_total")?)?,
        bit_rate: opt_u32(row.try_get("bit_rate")?)?,
        ecm: row.try_get::<Option<i64>, _>("ecm")?.map(|flag| flag != 0),
        remote_ident: row.try_get("remote_ident")?,
        t30_code: opt_u32(row.try_get("t30_code")?)?,
        outcome: row.try_get("outcome")?,
        reason: row.try_get("reason")?,
    })
}

fn user_from_row(row: &AnyRow, emails: Vec<EmailAddress>) -> Result<User, Error> {
    let fax_id: Option<String> = row.try_get("fax_id")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        emails,
        permissions: Permissions::from_bits(row.try_get("permissions")?),
        max_destination: parse_stored(row.try_get::<String, _>("max_destination")?)?,
        fax_id: parse_stored(fax_id.unwrap_or_default())?,
        locale: parse_stored(row.try_get::<String, _>("locale")?)?,
        pin: row
            .try_get::<Option<String>, _>("pin_hash")?
            .map(PinHash::from_stored),
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

async fn load_delivery(
    conn: &mut sqlx::AnyConnection,
    id: DeliveryId,
    lock: &str,
) -> Result<Delivery, Error> {
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1{lock}"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotFound {
        what: "delivery",
        key: id.to_string(),
    })?;
    delivery_from_row(&row)
}

async fn load_user(conn: &mut sqlx::AnyConnection, id: UserId) -> Result<User, Error> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "user",
            key: id.to_string(),
        })?;
    let emails = sqlx::query("SELECT email FROM user_emails WHERE user_id = $1 ORDER BY position")
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| parse_stored(row.try_get::<String, _>(0)?))
        .collect::<Result<Vec<_>, Error>>()?;
    user_from_row(&row, emails)
}

async fn ensure_email_free(
    conn: &mut sqlx::AnyConnection,
    email: &EmailAddress,
    owner: Option<UserId>,
) -> Result<(), Error> {
    let holder = sqlx::query("SELECT user_id FROM user_emails WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?;
    match holder {
        Some(holder) if Some(UserId(holder)) != owner => Err(Error::Conflict(format!(
            "{email} already belongs to user {holder}"
        ))),
        _ => Ok(()),
    }
}

async fn ensure_fax_id_free(conn: &mut sqlx::AnyConnection, fax_id: &FaxId) -> Result<(), Error> {
    let taken = sqlx::query("SELECT id FROM users WHERE fax_id = $1")
        .bind(fax_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(Error::Conflict(format!("fax ID {fax_id} is already taken")));
    }
    Ok(())
}

async fn insert_emails(
    conn: &mut sqlx::AnyConnection,
    user: UserId,
    emails: &[EmailAddress],
) -> Result<(), Error> {
    for (position, email) in emails.iter().enumerate() {
        sqlx::query("INSERT INTO user_emails (email, user_id, position) VALUES ($1, $2, $3)")
            .bind(email.as_str())
            .bind(user.0)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
