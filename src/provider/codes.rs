//! Permanent codes (永久授权码) of the corps that authorised a suite, and the `create_auth`
//! auth codes not yet exchanged for one.
//!
//! A permanent code is a service provider's most precious data: lose it and the corp must
//! reinstall the app. The lifecycle the [`PermanentCodeStore`] serves:
//!
//! 1. `create_auth` arrives with an auth code (single use, valid [`AUTH_CODE_LIFETIME`]):
//!    [`put_pending_auth_code`](PermanentCodeStore::put_pending_auth_code), answer `success`
//!    (within 1000 ms), then exchange it with `service/v2/get_permanent_code`.
//! 2. The exchange answers the corp id and its permanent code:
//!    [`complete`](PermanentCodeStore::complete) stores the code and clears the pending auth code
//!    (atomically where the backend allows), before the install is reported done.
//! 3. After a crash between 1 and 2, [`pending_auth_codes`](PermanentCodeStore::pending_auth_codes)
//!    lists the auth codes still worth exchanging.
//! 4. `cancel_auth`: [`delete`](PermanentCodeStore::delete). `reset_permanent_code` (代开发: the
//!    permanent code is the app's secret): [`rotate`](PermanentCodeStore::rotate).
//!
//! Implementations: [`MemoryPermanentCodeStore`] (one process, lost on exit: tests and demos),
//! `RedisPermanentCodeStore` (feature `redis`), `SqlPermanentCodeStore` (feature `sql`: SQLite,
//! and PostgreSQL with `sql-postgres`). Every store keeps codes in clear text: protect the
//! database as you protect the suite secret.
//!
//! Codes never appear in `Debug`, `Display`, errors or logs: [`PermanentCode`] and [`AuthCode`]
//! print `***`; read one with `expose()`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sql")]
mod sql_store;

#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_CODES_PREFIX, RedisPermanentCodeStore};
#[cfg(feature = "sql")]
pub use sql_store::SqlPermanentCodeStore;

/// How long a `create_auth` auth code can be exchanged after WeCom issued it: 10 minutes.
pub const AUTH_CODE_LIFETIME: Duration = Duration::from_secs(600);

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps the value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The value itself: send it to WeCom or write it to a store, nowhere else.
            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }

            /// The value as a `secrecy` secret (a 代开发 app's permanent code is its `corpsecret`).
            pub fn into_secret(self) -> SecretString {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose() == other.expose()
            }
        }

        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

secret_newtype!(
    /// A corp's permanent code (永久授权码) for one suite: with the suite token it gets the corp's
    /// access token (`service/get_corp_token`); for a 代开发 app it *is* the app's secret.
    /// `Debug` prints `PermanentCode(***)`; there is no `Display`.
    PermanentCode
);

secret_newtype!(
    /// The auth code (临时授权码) of a `create_auth` callback or an install redirect: single use,
    /// valid [`AUTH_CODE_LIFETIME`], exchanged for a [`PermanentCode`]. `Debug` prints
    /// `AuthCode(***)`; there is no `Display`.
    AuthCode
);

/// An auth code kept until it is exchanged: its suite, the code, and when it was received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingAuthCode {
    /// The suite (or 代开发 template) the code was issued for.
    pub suite_id: String,
    /// The auth code.
    pub auth_code: AuthCode,
    /// When the callback carrying it arrived (the first delivery, if WeCom sent it twice).
    pub received_at: SystemTime,
}

impl PendingAuthCode {
    /// A pending auth code.
    pub fn new(suite_id: impl Into<String>, auth_code: AuthCode, received_at: SystemTime) -> Self {
        Self {
            suite_id: suite_id.into(),
            auth_code,
            received_at,
        }
    }

    /// When it can no longer be exchanged: `received_at` + [`AUTH_CODE_LIFETIME`].
    pub fn expires_at(&self) -> SystemTime {
        self.received_at + AUTH_CODE_LIFETIME
    }

    /// Whether it can still be exchanged at `now`.
    pub fn is_live_at(&self, now: SystemTime) -> bool {
        now < self.expires_at()
    }
}

/// The permanent codes of the corps that authorised each suite, keyed by (suite_id,
/// auth_corpid), and the auth codes not yet exchanged. Two suites never share an entry, even for
/// the same corp.
///
/// Every write is durable when it returns `Ok` (as durable as the backend is): report an
/// install as done only after [`put`](Self::put) or [`complete`](Self::complete) succeeded.
/// A store that fails answers [`Error::Storage`], whose text never holds a code.
#[async_trait]
pub trait PermanentCodeStore: fmt::Debug + Send + Sync + 'static {
    /// The permanent code of `auth_corpid` for `suite_id`, if the corp authorised the suite.
    async fn get(&self, suite_id: &str, auth_corpid: &str) -> Result<Option<PermanentCode>>;

    /// Stores (or replaces) the permanent code of `auth_corpid` for `suite_id`.
    async fn put(&self, suite_id: &str, auth_corpid: &str, code: &PermanentCode) -> Result<()>;

    /// Forgets the corp (`cancel_auth`). True if there was a code to forget.
    async fn delete(&self, suite_id: &str, auth_corpid: &str) -> Result<bool>;

    /// Replaces the corp's code with `new` (`reset_permanent_code`: a 代开发 app's new secret)
    /// and answers the code it replaced, if any, so that what was derived from the old one (its
    /// tokens) can be dropped. `new` is stored even if the corp had no code.
    async fn rotate(
        &self,
        suite_id: &str,
        auth_corpid: &str,
        new: &PermanentCode,
    ) -> Result<Option<PermanentCode>>;

    /// The corps that authorised `suite_id`, sorted (for a tenant registry that warms up).
    async fn corps(&self, suite_id: &str) -> Result<Vec<String>>;

    /// Keeps a `create_auth` auth code until it is exchanged: `true` if it was not pending
    /// already. A second delivery of the same code keeps the first `received_at` (a retry does
    /// not make the code live longer). Codes expired by `received_at` are pruned.
    async fn put_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        received_at: SystemTime,
    ) -> Result<bool>;

    /// The auth codes of `suite_id` that are still live at `now` (received less than
    /// [`AUTH_CODE_LIFETIME`] before it), oldest first: after a restart, exchange them.
    async fn pending_auth_codes(
        &self,
        suite_id: &str,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthCode>>;

    /// The exchange succeeded: stores `code` for `auth_corpid` and clears `auth_code` from the
    /// pending ones, atomically where the backend allows (Redis: a script; SQL: a
    /// transaction; memory: one lock). If it fails, the auth code is still pending.
    async fn complete(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        auth_corpid: &str,
        code: &PermanentCode,
    ) -> Result<()>;

    /// Drops a pending auth code without a permanent code (WeCom refused it: used or
    /// expired). True if it was pending.
    async fn discard_pending_auth_code(&self, suite_id: &str, auth_code: &AuthCode)
    -> Result<bool>;
}

#[derive(Default)]
struct Memory {
    /// suite_id -> auth_corpid -> code (sorted, so `corps` needs no sort).
    codes: HashMap<String, BTreeMap<String, PermanentCode>>,
    /// suite_id -> auth code -> received_at.
    pending: HashMap<String, HashMap<String, (AuthCode, SystemTime)>>,
}

/// Permanent codes in this process's memory: lost when it exits, so for tests, demos and
/// programs that keep the codes elsewhere. Cloning is not offered; share it in an `Arc`.
#[derive(Default)]
pub struct MemoryPermanentCodeStore {
    inner: Mutex<Memory>,
}

impl MemoryPermanentCodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> Result<T> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| Error::Storage("permanent code store poisoned".into()))?;
        Ok(f(&mut inner))
    }
}

impl fmt::Debug for MemoryPermanentCodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.with(|m| {
            (
                m.codes.values().map(BTreeMap::len).sum::<usize>(),
                m.pending.values().map(HashMap::len).sum::<usize>(),
            )
        });
        let mut s = f.debug_struct("MemoryPermanentCodeStore");
        if let Ok((codes, pending)) = counts {
            s.field("codes", &codes)
                .field("pending_auth_codes", &pending);
        }
        s.finish_non_exhaustive()
    }
}

#[async_trait]
impl PermanentCodeStore for MemoryPermanentCodeStore {
    async fn get(&self, suite_id: &str, auth_corpid: &str) -> Result<Option<PermanentCode>> {
        self.with(|m| m.codes.get(suite_id)?.get(auth_corpid).cloned())
    }

    async fn put(&self, suite_id: &str, auth_corpid: &str, code: &PermanentCode) -> Result<()> {
        self.with(|m| {
            m.codes
                .entry(suite_id.to_owned())
                .or_default()
                .insert(auth_corpid.to_owned(), code.clone());
        })
    }

    async fn delete(&self, suite_id: &str, auth_corpid: &str) -> Result<bool> {
        self.with(|m| {
            let Some(corps) = m.codes.get_mut(suite_id) else {
                return false;
            };
            let removed = corps.remove(auth_corpid).is_some();
            if corps.is_empty() {
                m.codes.remove(suite_id);
            }
            removed
        })
    }

    async fn rotate(
        &self,
        suite_id: &str,
        auth_corpid: &str,
        new: &PermanentCode,
    ) -> Result<Option<PermanentCode>> {
        self.with(|m| {
            m.codes
                .entry(suite_id.to_owned())
                .or_default()
                .insert(auth_corpid.to_owned(), new.clone())
        })
    }

    async fn corps(&self, suite_id: &str) -> Result<Vec<String>> {
        self.with(|m| {
            m.codes
                .get(suite_id)
                .map(|corps| corps.keys().cloned().collect())
                .unwrap_or_default()
        })
    }

    async fn put_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        received_at: SystemTime,
    ) -> Result<bool> {
        self.with(|m| {
            let pending = m.pending.entry(suite_id.to_owned()).or_default();
            pending.retain(|_, (_, at)| *at + AUTH_CODE_LIFETIME > received_at);
            match pending.entry(auth_code.expose().to_owned()) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert((auth_code.clone(), received_at));
                    true
                }
            }
        })
    }

    async fn pending_auth_codes(
        &self,
        suite_id: &str,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthCode>> {
        self.with(|m| {
            let mut live: Vec<PendingAuthCode> = m
                .pending
                .get(suite_id)
                .into_iter()
                .flat_map(HashMap::values)
                .map(|(code, at)| PendingAuthCode::new(suite_id, code.clone(), *at))
                .filter(|p| p.is_live_at(now))
                .collect();
            live.sort_by(|a, b| {
                (a.received_at, a.auth_code.expose()).cmp(&(b.received_at, b.auth_code.expose()))
            });
            live
        })
    }

    async fn complete(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        auth_corpid: &str,
        code: &PermanentCode,
    ) -> Result<()> {
        self.with(|m| {
            m.codes
                .entry(suite_id.to_owned())
                .or_default()
                .insert(auth_corpid.to_owned(), code.clone());
            if let Some(pending) = m.pending.get_mut(suite_id) {
                pending.remove(auth_code.expose());
            }
        })
    }

    async fn discard_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
    ) -> Result<bool> {
        self.with(|m| {
            m.pending
                .get_mut(suite_id)
                .is_some_and(|pending| pending.remove(auth_code.expose()).is_some())
        })
    }
}

/// Milliseconds since the Unix epoch, as the durable stores keep times (before the epoch: 0).
#[cfg(any(feature = "redis", feature = "sql"))]
fn to_millis(time: SystemTime) -> i64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `ms` milliseconds after the Unix epoch (negative: the epoch).
#[cfg(any(feature = "redis", feature = "sql"))]
fn from_millis(ms: i64) -> SystemTime {
    std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The live ones of `(code, received_at ms)` pairs, oldest first.
#[cfg(any(feature = "redis", feature = "sql"))]
fn live_pending(
    suite_id: &str,
    rows: impl IntoIterator<Item = (String, i64)>,
    now: SystemTime,
) -> Vec<PendingAuthCode> {
    let mut live: Vec<PendingAuthCode> = rows
        .into_iter()
        .map(|(code, ms)| PendingAuthCode::new(suite_id, AuthCode::new(code), from_millis(ms)))
        .filter(|p| p.is_live_at(now))
        .collect();
    live.sort_by(|a, b| {
        (a.received_at, a.auth_code.expose()).cmp(&(b.received_at, b.auth_code.expose()))
    });
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_print_no_secret() {
        let code = PermanentCode::new("pc-secret-value");
        let auth = AuthCode::from("ac-secret-value");
        assert_eq!(format!("{code:?}"), "PermanentCode(***)");
        assert_eq!(format!("{auth:?}"), "AuthCode(***)");
        assert_eq!(code.expose(), "pc-secret-value");
        let pending = PendingAuthCode::new("ww-suite", auth, SystemTime::UNIX_EPOCH);
        assert!(!format!("{pending:?}").contains("secret-value"));
        assert!(pending.is_live_at(SystemTime::UNIX_EPOCH + Duration::from_secs(599)));
        assert!(!pending.is_live_at(SystemTime::UNIX_EPOCH + AUTH_CODE_LIFETIME));
    }
}
