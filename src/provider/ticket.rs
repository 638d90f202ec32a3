//! The suite_ticket: pushed by WeCom every 10 minutes, valid 30 minutes from its push
//! (doc 90628). A [`SuiteTicketStore`] keeps the newest per suite.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::token::StoreError;

/// How long a suite_ticket is good for, from its push's `TimeStamp` (doc 90628). A store
/// never serves one older than this.
pub const SUITE_TICKET_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The longest ticket WeCom sends (doc 90628: "不超过512字节").
const MAX_TICKET_BYTES: usize = 512;

/// A suite_ticket as pushed: the suite, the ticket, and the push's `TimeStamp` (unix seconds).
/// `Debug` never shows the ticket.
#[derive(Clone)]
pub struct SuiteTicket {
    suite_id: String,
    ticket: SecretString,
    timestamp: u64,
}

impl SuiteTicket {
    /// A ticket for `suite_id` pushed at `timestamp` (the push's `TimeStamp`, unix seconds).
    /// Refused ([`Error::InvalidInput`]) if the suite id or ticket is empty, or the ticket is
    /// longer than 512 bytes.
    pub fn new(
        suite_id: impl Into<String>,
        ticket: impl Into<String>,
        timestamp: u64,
    ) -> Result<Self> {
        let suite_id = suite_id.into();
        let ticket = ticket.into();
        if suite_id.trim().is_empty() {
            return Err(Error::invalid("SuiteId", "is empty"));
        }
        if ticket.trim().is_empty() {
            return Err(Error::invalid("SuiteTicket", "is empty"));
        }
        if ticket.len() > MAX_TICKET_BYTES {
            return Err(Error::invalid("SuiteTicket", "is longer than 512 bytes"));
        }
        Ok(Self {
            suite_id,
            ticket: SecretString::from(ticket),
            timestamp,
        })
    }

    /// The suite it is for.
    pub fn suite_id(&self) -> &str {
        &self.suite_id
    }

    /// The push's `TimeStamp`, unix seconds.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The ticket itself: a credential, never log it.
    pub fn expose_ticket(&self) -> &str {
        self.ticket.expose_secret()
    }

    /// Whether it is still within its 30 minutes at `now`.
    pub fn is_fresh_at(&self, now: SystemTime) -> bool {
        let pushed = SystemTime::UNIX_EPOCH + Duration::from_secs(self.timestamp);
        match now.duration_since(pushed) {
            Ok(age) => age < SUITE_TICKET_LIFETIME,
            // Pushed "in the future" by our clock: a skewed clock, not a stale ticket.
            Err(_) => true,
        }
    }
}

impl fmt::Debug for SuiteTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteTicket")
            .field("suite_id", &self.suite_id)
            .field("ticket", &"***")
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// Keeps the newest suite_ticket of each suite, keyed by suite id.
///
/// [`put`](Self::put) keeps a ticket only if it is newer (by `TimeStamp`) than the one held, so
/// that pushes handled out of order never put an older ticket back. [`get`](Self::get) may
/// answer a ticket past its 30 minutes; [`current`] checks. A durable store (Redis, your
/// database) keeps the ticket across restarts.
#[async_trait]
pub trait SuiteTicketStore: fmt::Debug + Send + Sync + 'static {
    /// The newest ticket held for `suite_id`, if any.
    async fn get(&self, suite_id: &str) -> Result<Option<SuiteTicket>, StoreError>;

    /// Keeps `ticket` unless the store holds one for its suite with a `TimeStamp` as new or
    /// newer (an equal one is a duplicate delivery). True if kept.
    async fn put(&self, ticket: &SuiteTicket) -> Result<bool, StoreError>;
}

/// The ticket to use for `suite_id` at `now`: the store's newest, if within its 30 minutes.
/// Otherwise (or if the store fails) [`Error::SuiteTicketUnavailable`] saying what is missing.
pub async fn current(
    store: &dyn SuiteTicketStore,
    suite_id: &str,
    now: SystemTime,
) -> Result<SuiteTicket> {
    let unavailable = |reason: String| Error::SuiteTicketUnavailable {
        suite_id: suite_id.to_owned(),
        reason,
    };
    match store.get(suite_id).await {
        Ok(Some(ticket)) if ticket.is_fresh_at(now) => Ok(ticket),
        Ok(Some(ticket)) => Err(unavailable(format!(
            "the newest stored ticket (TimeStamp {}) is past its 30 minutes; \
             is the command callback storing WeCom's pushes?",
            ticket.timestamp
        ))),
        Ok(None) => Err(unavailable(
            "none stored yet; WeCom pushes one every 10 minutes to the command callback \
             (or trigger a push from the provider console)"
                .into(),
        )),
        Err(error) => Err(unavailable(format!("the ticket store failed: {error}"))),
    }
}

/// A [`SuiteTicketStore`] in this process's memory: lost on restart, not shared.
#[derive(Default)]
pub struct MemorySuiteTicketStore {
    tickets: Mutex<HashMap<String, SuiteTicket>>,
}

impl MemorySuiteTicketStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemorySuiteTicketStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suites = self.tickets.lock().map_or(0, |t| t.len());
        f.debug_struct("MemorySuiteTicketStore")
            .field("suites", &suites)
            .finish()
    }
}

#[async_trait]
impl SuiteTicketStore for MemorySuiteTicketStore {
    async fn get(&self, suite_id: &str) -> Result<Option<SuiteTicket>, StoreError> {
        let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        Ok(tickets.get(suite_id).cloned())
    }

    async fn put(&self, ticket: &SuiteTicket) -> Result<bool, StoreError> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        match tickets.get(&ticket.suite_id) {
            Some(held) if held.timestamp >= ticket.timestamp => Ok(false),
            _ => {
                tickets.insert(ticket.suite_id.clone(), ticket.clone());
                Ok(true)
            }
        }
    }
}

#[cfg(feature = "redis")]
pub use redis_store::RedisSuiteTicketStore;

#[cfg(feature = "redis")]
mod redis_store {
    use super::*;
    use crate::redis_conn::RedisConnection;
    use redis::Script;

    /// Keeps the ticket only if newer, atomically: KEYS[1] the suite's hash; ARGV the
    /// TimeStamp, the ticket, the key's lifetime in seconds. A key of another type (written
    /// by someone else) is replaced.
    const PUT_IF_NEWER: &str = r#"
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'hash' then
  local held = tonumber(redis.call('HGET', KEYS[1], 'ts'))
  if held and held >= tonumber(ARGV[1]) then return 0 end
elseif t ~= 'none' then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'ts', ARGV[1], 'ticket', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"#;

    /// A [`SuiteTicketStore`] in Redis (feature `redis`): survives restarts, shared by every
    /// replica. One hash per suite, `{prefix}suite_ticket:{suite_id}`, with the ticket and its
    /// `TimeStamp`, expiring 30 minutes after it was written; an older push never overwrites
    /// a newer one (a script compares the two atomically).
    #[derive(Clone)]
    pub struct RedisSuiteTicketStore {
        redis: RedisConnection,
        prefix: String,
        put_if_newer: Script,
    }

    impl fmt::Debug for RedisSuiteTicketStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedisSuiteTicketStore")
                .field("endpoint", &self.redis.endpoint())
                .field("prefix", &self.prefix)
                .finish()
        }
    }

    impl RedisSuiteTicketStore {
        /// A store at `url` (`redis://host:port/db`) under the prefix `wecom-kf:`. Only a
        /// malformed URL fails; a server that does not answer yet is a warning.
        pub async fn connect(url: &str) -> Result<Self> {
            Self::connect_with_prefix(url, "wecom-kf:").await
        }

        /// A store at `url` whose keys start with `prefix`.
        pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self> {
            let redis = RedisConnection::connect(
                url,
                "Redis unreachable for now: suite tickets cannot be stored or read until it answers",
            )
            .await?;
            Ok(Self {
                redis,
                prefix: prefix.to_owned(),
                put_if_newer: Script::new(PUT_IF_NEWER),
            })
        }

        fn key(&self, suite_id: &str) -> String {
            format!("{}suite_ticket:{suite_id}", self.prefix)
        }
    }

    #[async_trait]
    impl SuiteTicketStore for RedisSuiteTicketStore {
        async fn get(&self, suite_id: &str) -> Result<Option<SuiteTicket>, StoreError> {
            let key = self.key(suite_id);
            let fields: Vec<Option<String>> = self
                .redis
                .run("suite ticket read", |mut conn| {
                    let key = key.clone();
                    async move {
                        redis::cmd("HMGET")
                            .arg(&key)
                            .arg("ts")
                            .arg("ticket")
                            .query_async(&mut conn)
                            .await
                    }
                })
                .await
                .map_err(StoreError::new)?;
            let (Some(Some(ts)), Some(Some(ticket))) = (fields.first(), fields.get(1)) else {
                return Ok(None);
            };
            let timestamp = ts.parse::<u64>().map_err(|_| {
                StoreError::new("a stored suite ticket has an unreadable TimeStamp")
            })?;
            SuiteTicket::new(suite_id, ticket.clone(), timestamp)
                .map(Some)
                .map_err(|_| StoreError::new("a stored suite ticket is not a usable ticket"))
        }

        async fn put(&self, ticket: &SuiteTicket) -> Result<bool, StoreError> {
            let key = self.key(&ticket.suite_id);
            let lifetime = SUITE_TICKET_LIFETIME.as_secs();
            let kept: i64 = self
                .redis
                .run("suite ticket write", |mut conn| {
                    let mut invocation = self.put_if_newer.key(&key);
                    invocation
                        .arg(ticket.timestamp)
                        .arg(ticket.expose_ticket())
                        .arg(lifetime);
                    async move { invocation.invoke_async(&mut conn).await }
                })
                .await
                .map_err(StoreError::new)?;
            Ok(kept == 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_older_push_never_overwrites_a_newer_one() {
        let store = MemorySuiteTicketStore::new();
        let newer = SuiteTicket::new("s", "NEW", 2000).unwrap();
        let older = SuiteTicket::new("s", "OLD", 1000).unwrap();
        assert!(store.put(&newer).await.unwrap());
        assert!(!store.put(&older).await.unwrap());
        assert_eq!(
            store.get("s").await.unwrap().unwrap().expose_ticket(),
            "NEW"
        );
    }

    #[tokio::test]
    async fn a_stale_or_missing_ticket_is_a_typed_error() {
        let store = MemorySuiteTicketStore::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let err = current(&store, "s", t0).await.unwrap_err();
        assert!(matches!(err, Error::SuiteTicketUnavailable { .. }), "{err}");
        store
            .put(&SuiteTicket::new("s", "T", 1_000_000).unwrap())
            .await
            .unwrap();
        assert!(
            current(
                &store,
                "s",
                t0 + SUITE_TICKET_LIFETIME - Duration::from_secs(1)
            )
            .await
            .is_ok()
        );
        let err = current(&store, "s", t0 + SUITE_TICKET_LIFETIME)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("past its 30 minutes"), "{err}");
        assert!(!format!("{err:?}{:?}", store.get("s").await).contains("\"T\""));
    }
}
