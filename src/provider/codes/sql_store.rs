//! [`SqlPermanentCodeStore`]: permanent codes in a SQL database (feature `sql`), on sqlx's
//! `Any` driver: SQLite (bundled), and PostgreSQL with the feature `sql-postgres`.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::{
    AUTH_CODE_LIFETIME, AuthCode, PendingAuthCode, PermanentCode, PermanentCodeStore, live_pending,
    to_millis,
};
use crate::error::{Error, Result};

// One dialect for both databases: `$n` placeholders (SQLite reads `$1` as parameter 1),
// `INSERT … ON CONFLICT … DO UPDATE/NOTHING` (SQLite ≥ 3.24, PostgreSQL ≥ 9.5), TEXT and
// BIGINT columns, times as milliseconds since the Unix epoch.
const CREATE_CODES: &str = "CREATE TABLE IF NOT EXISTS wecom_kf_permanent_codes (
    suite_id TEXT NOT NULL,
    auth_corpid TEXT NOT NULL,
    permanent_code TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (suite_id, auth_corpid))";
const CREATE_PENDING: &str = "CREATE TABLE IF NOT EXISTS wecom_kf_pending_auth_codes (
    suite_id TEXT NOT NULL,
    auth_code TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (suite_id, auth_code))";
const GET: &str = "SELECT permanent_code FROM wecom_kf_permanent_codes
    WHERE suite_id = $1 AND auth_corpid = $2";
const UPSERT: &str = "INSERT INTO wecom_kf_permanent_codes
    (suite_id, auth_corpid, permanent_code, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (suite_id, auth_corpid)
    DO UPDATE SET permanent_code = excluded.permanent_code, updated_at = excluded.updated_at";
const LOCK_ROW: &str = "UPDATE wecom_kf_permanent_codes SET updated_at = updated_at
    WHERE suite_id = $1 AND auth_corpid = $2";
const DELETE: &str =
    "DELETE FROM wecom_kf_permanent_codes WHERE suite_id = $1 AND auth_corpid = $2";
const CORPS: &str = "SELECT auth_corpid FROM wecom_kf_permanent_codes WHERE suite_id = $1
    ORDER BY auth_corpid";
const PRUNE_PENDING: &str =
    "DELETE FROM wecom_kf_pending_auth_codes WHERE suite_id = $1 AND received_at <= $2";
const PUT_PENDING: &str = "INSERT INTO wecom_kf_pending_auth_codes
    (suite_id, auth_code, received_at) VALUES ($1, $2, $3)
    ON CONFLICT (suite_id, auth_code) DO NOTHING";
const PENDING: &str =
    "SELECT auth_code, received_at FROM wecom_kf_pending_auth_codes WHERE suite_id = $1";
const DELETE_PENDING: &str =
    "DELETE FROM wecom_kf_pending_auth_codes WHERE suite_id = $1 AND auth_code = $2";

/// Permanent codes in a SQL database: the durable store, for the data a provider cannot lose.
///
/// The same code and SQL serve SQLite (feature `sql`, bundled: nothing to install) and
/// PostgreSQL (feature `sql-postgres`), through sqlx's `Any` driver; the URL picks the
/// database. What differs between the two is only what the database itself does: SQLite is
/// one file for one machine (use `sqlite://path/codes.db?mode=rwc` to create it), PostgreSQL is
/// shared by every replica.
///
/// Create the tables once with [`migrate`](Self::migrate) (idempotent: `CREATE TABLE IF NOT
/// EXISTS`), or with your own migrations from this schema:
///
/// ```sql
/// CREATE TABLE wecom_kf_permanent_codes (
///     suite_id TEXT NOT NULL, auth_corpid TEXT NOT NULL, permanent_code TEXT NOT NULL,
///     updated_at BIGINT NOT NULL,  -- ms since the Unix epoch
///     PRIMARY KEY (suite_id, auth_corpid));
/// CREATE TABLE wecom_kf_pending_auth_codes (
///     suite_id TEXT NOT NULL, auth_code TEXT NOT NULL,
///     received_at BIGINT NOT NULL,  -- ms since the Unix epoch
///     PRIMARY KEY (suite_id, auth_code));
/// ```
///
/// On SQLite, sqlx leaves SQLite's defaults (rollback journal, `synchronous=FULL`), so a
/// committed write survives a crash or power loss; a `?mode=…` or pragma of your own may trade
/// that away.
///
/// Concurrent [`rotate`](PermanentCodeStore::rotate)s of one corp queue on the database's lock
/// (SQLite: the write lock; PostgreSQL: the row's lock), so each answers the code it really
/// replaced; two first rotations of a corp with no code both answer `None`.
///
/// Each write is committed when it returns; [`complete`](PermanentCodeStore::complete) and
/// [`rotate`](PermanentCodeStore::rotate) are one transaction each. Errors are
/// [`Error::Storage`] naming the operation and the database's complaint, never a code.
///
/// ```no_run
/// use wecom_kf::provider::codes::{PermanentCode, PermanentCodeStore, SqlPermanentCodeStore};
///
/// # async fn demo() -> Result<(), wecom_kf::Error> {
/// let store = SqlPermanentCodeStore::connect("sqlite://codes.db?mode=rwc").await?;
/// store.migrate().await?;
/// store.put("wwsuite", "wwcorp", &PermanentCode::new("from get_permanent_code")).await?;
/// # Ok(()) }
/// ```
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct SqlPermanentCodeStore {
    pool: AnyPool,
    backend: String,
}

impl SqlPermanentCodeStore {
    /// A store on the database at `url`: `sqlite://path?mode=rwc`, `sqlite::memory:` (one
    /// connection, gone with the store: for tests), or `postgres://user@host/db` (feature
    /// `sql-postgres`). Connects now, so an unreachable database is an error here.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = if memory {
            // Each SQLite connection to memory is a database of its own: keep exactly one,
            // forever.
            AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            AnyPoolOptions::new().max_connections(5)
        };
        let pool = options.connect(url).await.map_err(failed("connect"))?;
        Ok(Self::with_backend(pool, url))
    }

    /// A store on a pool you set up (call `sqlx::any::install_default_drivers()` before
    /// connecting it).
    pub fn from_pool(pool: AnyPool) -> Self {
        Self {
            pool,
            backend: "pool".to_owned(),
        }
    }

    fn with_backend(pool: AnyPool, url: &str) -> Self {
        // The scheme only: the rest of a URL may hold a password.
        let backend = url.split(':').next().unwrap_or_default().to_owned();
        Self { pool, backend }
    }

    /// Creates the two tables if they do not exist (safe to call at every start).
    pub async fn migrate(&self) -> Result<()> {
        for ddl in [CREATE_CODES, CREATE_PENDING] {
            sqlx::query(ddl)
                .execute(&self.pool)
                .await
                .map_err(failed("create the tables"))?;
        }
        Ok(())
    }

    /// The pool, for the application's own queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

impl fmt::Debug for SqlPermanentCodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlPermanentCodeStore")
            .field("backend", &self.backend)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// An [`Error::Storage`] for a failed `what`, with the database's words but no value sent.
fn failed(what: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| {
        Error::Storage(format!(
            "permanent code store: cannot {what}: {}",
            describe(&e)
        ))
    }
}

fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("database error {code}: {}", db.message()),
            None => format!("database error: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("I/O error ({:?})", io.kind()),
        sqlx::Error::PoolTimedOut => "no connection free within the pool's timeout".to_owned(),
        sqlx::Error::PoolClosed => "the pool is closed".to_owned(),
        sqlx::Error::Configuration(_) => "bad database URL or options".to_owned(),
        sqlx::Error::Tls(_) => "TLS failed".to_owned(),
        sqlx::Error::Protocol(_) => "the database spoke out of protocol".to_owned(),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            "a stored value of the wrong type".to_owned()
        }
        _ => "database failure".to_owned(),
    }
}

fn now_millis() -> i64 {
    to_millis(SystemTime::now())
}

#[async_trait]
impl PermanentCodeStore for SqlPermanentCodeStore {
    async fn get(&self, suite_id: &str, auth_corpid: &str) -> Result<Option<PermanentCode>> {
        let code: Option<String> = sqlx::query_scalar(GET)
            .bind(suite_id)
            .bind(auth_corpid)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed("read a code"))?;
        Ok(code.map(PermanentCode::new))
    }

    async fn put(&self, suite_id: &str, auth_corpid: &str, code: &PermanentCode) -> Result<()> {
        sqlx::query(UPSERT)
            .bind(suite_id)
            .bind(auth_corpid)
            .bind(code.expose())
            .bind(now_millis())
            .execute(&self.pool)
            .await
            .map_err(failed("store a code"))?;
        Ok(())
    }

    async fn delete(&self, suite_id: &str, auth_corpid: &str) -> Result<bool> {
        let done = sqlx::query(DELETE)
            .bind(suite_id)
            .bind(auth_corpid)
            .execute(&self.pool)
            .await
            .map_err(failed("delete a code"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn rotate(
        &self,
        suite_id: &str,
        auth_corpid: &str,
        new: &PermanentCode,
    ) -> Result<Option<PermanentCode>> {
        let mut tx = self.pool.begin().await.map_err(failed("rotate a code"))?;
        // A write first: it takes SQLite's write lock (a read first could deadlock on the
        // upgrade, SQLITE_BUSY at once) and PostgreSQL's row lock, so concurrent rotations
        // queue and each answers the code it really replaced.
        sqlx::query(LOCK_ROW)
            .bind(suite_id)
            .bind(auth_corpid)
            .execute(&mut *tx)
            .await
            .map_err(failed("rotate a code"))?;
        let old: Option<String> = sqlx::query_scalar(GET)
            .bind(suite_id)
            .bind(auth_corpid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(failed("rotate a code"))?;
        sqlx::query(UPSERT)
            .bind(suite_id)
            .bind(auth_corpid)
            .bind(new.expose())
            .bind(now_millis())
            .execute(&mut *tx)
            .await
            .map_err(failed("rotate a code"))?;
        tx.commit().await.map_err(failed("rotate a code"))?;
        Ok(old.map(PermanentCode::new))
    }

    async fn corps(&self, suite_id: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(CORPS)
            .bind(suite_id)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("list the corps"))
    }

    async fn put_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        received_at: SystemTime,
    ) -> Result<bool> {
        let received_ms = to_millis(received_at);
        let life_ms = to_millis(std::time::UNIX_EPOCH + AUTH_CODE_LIFETIME);
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(failed("keep an auth code"))?;
        sqlx::query(PRUNE_PENDING)
            .bind(suite_id)
            .bind(received_ms.saturating_sub(life_ms))
            .execute(&mut *tx)
            .await
            .map_err(failed("keep an auth code"))?;
        let added = sqlx::query(PUT_PENDING)
            .bind(suite_id)
            .bind(auth_code.expose())
            .bind(received_ms)
            .execute(&mut *tx)
            .await
            .map_err(failed("keep an auth code"))?
            .rows_affected();
        tx.commit().await.map_err(failed("keep an auth code"))?;
        Ok(added == 1)
    }

    async fn pending_auth_codes(
        &self,
        suite_id: &str,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthCode>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(PENDING)
            .bind(suite_id)
            .fetch_all(&self.pool)
            .await
            .map_err(failed("list the pending auth codes"))?;
        Ok(live_pending(suite_id, rows, now))
    }

    async fn complete(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        auth_corpid: &str,
        code: &PermanentCode,
    ) -> Result<()> {
        let what = "complete an installation";
        let mut tx = self.pool.begin().await.map_err(failed(what))?;
        sqlx::query(UPSERT)
            .bind(suite_id)
            .bind(auth_corpid)
            .bind(code.expose())
            .bind(now_millis())
            .execute(&mut *tx)
            .await
            .map_err(failed(what))?;
        sqlx::query(DELETE_PENDING)
            .bind(suite_id)
            .bind(auth_code.expose())
            .execute(&mut *tx)
            .await
            .map_err(failed(what))?;
        tx.commit().await.map_err(failed(what))
    }

    async fn discard_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
    ) -> Result<bool> {
        let done = sqlx::query(DELETE_PENDING)
            .bind(suite_id)
            .bind(auth_code.expose())
            .execute(&self.pool)
            .await
            .map_err(failed("drop an auth code"))?;
        Ok(done.rows_affected() > 0)
    }
}
