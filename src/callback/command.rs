//! Command callbacks (指令回调): parsing, the suite check and deduplication. Documented in
//! the parent module.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::{CallbackCrypto, CallbackError, Hidden, redacted_xml, top_level_fields};
use crate::clock::{Clock, SystemClock};

/// A command callback (指令回调), decrypted and parsed. Field names follow WeCom's elements
/// (`SuiteId`, `InfoType`, `TimeStamp`, `SuiteTicket`, `AuthCode`, `AuthCorpId`, `State`).
/// For a 代开发 template the `suite_id` is the template id (`dk…`).
///
/// `Debug` hides the suite ticket and the auth code, and in [`Other`](Self::Other)'s XML the
/// text of token-, code-, ticket- and secret-like elements.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandEvent {
    /// `suite_ticket`: pushed every 10 minutes, valid 30 minutes; keep the newest per suite
    /// (by `timestamp`), for `service/get_suite_token`.
    SuiteTicket {
        /// `SuiteId`.
        suite_id: String,
        /// `SuiteTicket` (secret).
        suite_ticket: String,
        /// `TimeStamp`, unix seconds.
        timestamp: u64,
    },
    /// `create_auth`: a corp installed the app. Exchange `auth_code` (single use, valid 10
    /// minutes) for the permanent code with `service/v2/get_permanent_code`. Not sent when
    /// the install starts from the provider's own site (the redirect carries the code).
    CreateAuth {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCode` (secret).
        auth_code: String,
        /// `TimeStamp`, unix seconds.
        timestamp: u64,
        /// `State`, the `state` of the install link (absent or empty: `None`).
        state: Option<String>,
    },
    /// `change_auth`: a corp changed what it authorised; read the auth info again
    /// (`service/get_auth_info`).
    ChangeAuth {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCorpId`, the corp.
        auth_corp_id: String,
        /// `TimeStamp`, unix seconds.
        timestamp: u64,
        /// `State` (absent or empty: `None`).
        state: Option<String>,
    },
    /// `cancel_auth`: a corp removed the app; delete its permanent code, tokens and data.
    CancelAuth {
        /// `SuiteId`.
        suite_id: String,
        /// `AuthCorpId`, the corp.
        auth_corp_id: String,
        /// `TimeStamp`, unix seconds.
        timestamp: u64,
    },
    /// `reset_permanent_code` (代开发): the corp's secret was reset; exchange `auth_code` for
    /// the new permanent code, which replaces the old one.
    ResetPermanentCode {
        /// `SuiteId` (the template id).
        suite_id: String,
        /// `AuthCode` (secret).
        auth_code: String,
        /// `TimeStamp`, unix seconds.
        timestamp: u64,
    },
    /// Any other `InfoType` (`change_contact`, `share_agent_change`, licence notices, …),
    /// kept whole.
    Other {
        /// `InfoType`.
        info_type: String,
        /// The decrypted XML, whole.
        xml: String,
    },
}

impl fmt::Debug for CommandEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SuiteTicket {
                suite_id,
                suite_ticket,
                timestamp,
            } => f
                .debug_struct("SuiteTicket")
                .field("suite_id", suite_id)
                .field("suite_ticket", &Hidden(suite_ticket))
                .field("timestamp", timestamp)
                .finish(),
            Self::CreateAuth {
                suite_id,
                auth_code,
                timestamp,
                state,
            } => f
                .debug_struct("CreateAuth")
                .field("suite_id", suite_id)
                .field("auth_code", &Hidden(auth_code))
                .field("timestamp", timestamp)
                .field("state", state)
                .finish(),
            Self::ChangeAuth {
                suite_id,
                auth_corp_id,
                timestamp,
                state,
            } => f
                .debug_struct("ChangeAuth")
                .field("suite_id", suite_id)
                .field("auth_corp_id", auth_corp_id)
                .field("timestamp", timestamp)
                .field("state", state)
                .finish(),
            Self::CancelAuth {
                suite_id,
                auth_corp_id,
                timestamp,
            } => f
                .debug_struct("CancelAuth")
                .field("suite_id", suite_id)
                .field("auth_corp_id", auth_corp_id)
                .field("timestamp", timestamp)
                .finish(),
            Self::ResetPermanentCode {
                suite_id,
                auth_code,
                timestamp,
            } => f
                .debug_struct("ResetPermanentCode")
                .field("suite_id", suite_id)
                .field("auth_code", &Hidden(auth_code))
                .field("timestamp", timestamp)
                .finish(),
            Self::Other { info_type, xml } => {
                let shown = redacted_xml(xml)
                    .unwrap_or_else(|| format!("<{} bytes, not shown>", xml.len()));
                f.debug_struct("Other")
                    .field("info_type", info_type)
                    .field("xml", &shown)
                    .finish()
            }
        }
    }
}

/// The text of the first `name` element, if any.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
}

/// The text of `name`, which a typed callback must carry, not empty.
fn required(fields: &[(String, String)], name: &str) -> Result<String, CallbackError> {
    match field(fields, name) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(CallbackError::Xml(
            "a command callback lacks a field its InfoType requires",
        )),
    }
}

impl CommandEvent {
    /// Parses a decrypted command callback. Every one must carry an `InfoType`; the typed
    /// kinds also a `SuiteId`, a numeric `TimeStamp` and their payload (`SuiteTicket`,
    /// `AuthCode` or `AuthCorpId`). One without is refused ([`CallbackError::Xml`]): an empty
    /// ticket or code must not reach a store. An unknown `InfoType` is [`Other`](Self::Other),
    /// never an error, with or without a `SuiteId` (licence notices such as
    /// `license_pay_success` carry a `ServiceCorpId` instead).
    ///
    /// This does not check which suite it is for: [`CallbackCrypto::decrypt_command`] does, or
    /// [`parse_for_suite`](Self::parse_for_suite).
    pub fn parse(xml: &str) -> Result<Self, CallbackError> {
        let fields = top_level_fields(xml.as_bytes())?;
        Self::from_fields(&fields, xml)
    }

    /// [`parse`](Self::parse), and a callback that names another suite in its `SuiteId` is
    /// refused with [`CallbackError::WrongReceiver`], as one for another receiver is. (The
    /// envelope's receive id, which [`CallbackCrypto::decrypt_command`] checks first, is the
    /// proof of the addressee; this checks that the content agrees.)
    pub fn parse_for_suite(xml: &str, suite_id: &str) -> Result<Self, CallbackError> {
        let fields = top_level_fields(xml.as_bytes())?;
        match field(&fields, "SuiteId") {
            Some(named) if named != suite_id => Err(CallbackError::WrongReceiver),
            _ => Self::from_fields(&fields, xml),
        }
    }

    fn from_fields(fields: &[(String, String)], xml: &str) -> Result<Self, CallbackError> {
        let info_type = required(fields, "InfoType")?;
        let suite_id = || required(fields, "SuiteId");
        let timestamp = || {
            field(fields, "TimeStamp")
                .and_then(|t| t.parse::<u64>().ok())
                .ok_or(CallbackError::Xml(
                    "a command callback's TimeStamp is missing or not a number",
                ))
        };
        let state = || {
            field(fields, "State")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(match info_type.as_str() {
            "suite_ticket" => Self::SuiteTicket {
                suite_id: suite_id()?,
                suite_ticket: required(fields, "SuiteTicket")?,
                timestamp: timestamp()?,
            },
            "create_auth" => Self::CreateAuth {
                suite_id: suite_id()?,
                auth_code: required(fields, "AuthCode")?,
                timestamp: timestamp()?,
                state: state(),
            },
            "change_auth" => Self::ChangeAuth {
                suite_id: suite_id()?,
                auth_corp_id: required(fields, "AuthCorpId")?,
                timestamp: timestamp()?,
                state: state(),
            },
            "cancel_auth" => Self::CancelAuth {
                suite_id: suite_id()?,
                auth_corp_id: required(fields, "AuthCorpId")?,
                timestamp: timestamp()?,
            },
            "reset_permanent_code" => Self::ResetPermanentCode {
                suite_id: suite_id()?,
                auth_code: required(fields, "AuthCode")?,
                timestamp: timestamp()?,
            },
            _ => Self::Other {
                info_type,
                xml: xml.to_owned(),
            },
        })
    }

    /// `InfoType`, as WeCom spells it (`suite_ticket`, `create_auth`, …).
    pub fn info_type(&self) -> &str {
        match self {
            Self::SuiteTicket { .. } => "suite_ticket",
            Self::CreateAuth { .. } => "create_auth",
            Self::ChangeAuth { .. } => "change_auth",
            Self::CancelAuth { .. } => "cancel_auth",
            Self::ResetPermanentCode { .. } => "reset_permanent_code",
            Self::Other { info_type, .. } => info_type,
        }
    }

    /// The suite it is for (`SuiteId`); `None` for [`Other`](Self::Other), whose XML holds it.
    pub fn suite_id(&self) -> Option<&str> {
        match self {
            Self::SuiteTicket { suite_id, .. }
            | Self::CreateAuth { suite_id, .. }
            | Self::ChangeAuth { suite_id, .. }
            | Self::CancelAuth { suite_id, .. }
            | Self::ResetPermanentCode { suite_id, .. } => Some(suite_id),
            Self::Other { .. } => None,
        }
    }

    /// What tells one delivery from another, so that WeCom delivering a callback again (it
    /// retries one it thinks failed) is recognised: 64 hex characters of SHA-256 over the
    /// `InfoType`, `SuiteId`, `TimeStamp` and the payload (ticket, auth code, corp id and
    /// state) — or over the whole XML for [`Other`](Self::Other). A ticket or an auth code
    /// is new in every push, so no two of those share a key (unlike keys built from a
    /// timestamp and sender alone); two `change_auth` or `cancel_auth` for one corp within
    /// one second do, and doing their work once (re-reading the auth info, deleting the data)
    /// covers both. No secret can be read back from the key, so it may be stored and logged.
    ///
    /// Use it with a store the replicas share to dedupe across them (e.g. Redis
    /// `SET <prefix><key> 1 NX EX <ttl>`: first time if it was set).
    pub fn delivery_key(&self) -> String {
        crate::hex::hex(&self.delivery_digest())
    }

    /// The SHA-256 behind [`delivery_key`](Self::delivery_key).
    fn delivery_digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        let mut part = |s: &str| {
            // Length-prefixed, so that no two sequences of parts run together the same way.
            hash.update(u64::try_from(s.len()).unwrap_or(u64::MAX).to_be_bytes());
            hash.update(s.as_bytes());
        };
        part(self.info_type());
        match self {
            Self::SuiteTicket {
                suite_id,
                suite_ticket,
                timestamp,
            } => {
                part(suite_id);
                part(&timestamp.to_string());
                part(suite_ticket);
            }
            Self::CreateAuth {
                suite_id,
                auth_code,
                timestamp,
                state,
            } => {
                part(suite_id);
                part(&timestamp.to_string());
                part(auth_code);
                part(state.as_deref().unwrap_or_default());
            }
            Self::ChangeAuth {
                suite_id,
                auth_corp_id,
                timestamp,
                state,
            } => {
                part(suite_id);
                part(&timestamp.to_string());
                part(auth_corp_id);
                part(state.as_deref().unwrap_or_default());
            }
            Self::CancelAuth {
                suite_id,
                auth_corp_id,
                timestamp,
            } => {
                part(suite_id);
                part(&timestamp.to_string());
                part(auth_corp_id);
            }
            Self::ResetPermanentCode {
                suite_id,
                auth_code,
                timestamp,
            } => {
                part(suite_id);
                part(&timestamp.to_string());
                part(auth_code);
            }
            Self::Other { xml, .. } => part(xml),
        }
        hash.finalize().into()
    }
}

impl CallbackCrypto {
    /// A command callback (`POST` on the suite's command-callback URL): checked and decrypted
    /// as [`decrypt`](Self::decrypt) does — this `CallbackCrypto`'s receive id must be the
    /// suite id — then parsed ([`CommandEvent::parse_for_suite`]): refused with
    /// [`CallbackError::WrongReceiver`] if its `SuiteId` names another suite. Answer
    /// `success` at once and act after.
    ///
    /// A provider's handler: verify, decrypt, parse, answer `success` at once, then act.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use wecom_kf::callback::{CallbackCrypto, CallbackError, CommandDedupe, CommandEvent};
    ///
    /// /// What the provider does with each callback, after the answer (stand-ins here for the
    /// /// ticket store and the permanent-code exchange).
    /// async fn act(event: CommandEvent) {
    ///     match event {
    ///         CommandEvent::SuiteTicket { suite_id, suite_ticket, timestamp, .. } => {
    ///             // Keep the newest ticket per suite (compare `timestamp`: an older push
    ///             // must not overwrite a newer one).
    ///             # let _ = (suite_id, suite_ticket, timestamp);
    ///         }
    ///         CommandEvent::CreateAuth { suite_id, auth_code, .. } => {
    ///             // Exchange the auth code (single use, 10 minutes) for the permanent code
    ///             // with `service/v2/get_permanent_code`, and store that durably.
    ///             # let _ = (suite_id, auth_code);
    ///         }
    ///         CommandEvent::CancelAuth { suite_id, auth_corp_id, .. } => {
    ///             // Drop the corp's permanent code, its tokens and its data.
    ///             # let _ = (suite_id, auth_corp_id);
    ///         }
    ///         _ => {}
    ///     }
    /// }
    ///
    /// /// `POST` on the command-callback URL: the query's `msg_signature`, `timestamp` and
    /// /// `nonce`, and the body. `Ok` is the body to answer with; on `Err`, answer like every
    /// /// other refused callback (e.g. 403, no body) and log the reason.
    /// fn on_command(
    ///     crypto: &CallbackCrypto, // the suite's Token and EncodingAESKey, receive id = suite id
    ///     dedupe: &Arc<CommandDedupe>,
    ///     msg_signature: &str,
    ///     timestamp: &str,
    ///     nonce: &str,
    ///     body: &[u8],
    /// ) -> Result<&'static str, CallbackError> {
    ///     let event = crypto.decrypt_command(msg_signature, timestamp, nonce, body)?;
    ///     if dedupe.first_time(&event) {
    ///         // WeCom wants the answer within 1000 ms: the work runs after it.
    ///         tokio::spawn(act(event));
    ///     }
    ///     Ok("success")
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), CallbackError> {
    /// let crypto = CallbackCrypto::new(
    ///     "QDG6eK",
    ///     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    ///     "wwsuite0001", // the suite id
    /// )?;
    /// let dedupe = Arc::new(CommandDedupe::new(10_000, Duration::from_secs(3600)));
    /// # let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    /// # let xml = format!("<xml><SuiteId><![CDATA[wwsuite0001]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>{now}</TimeStamp><SuiteTicket><![CDATA[T1]]></SuiteTicket></xml>");
    /// # let sealed = crypto.seal(&xml, &now, "n1")?;
    /// # let body = format!("<xml><ToUserName><![CDATA[wwsuite0001]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>", sealed.encrypt);
    /// // A suite_ticket push, and WeCom delivering it again:
    /// assert_eq!(on_command(&crypto, &dedupe, &sealed.msg_signature, &now, "n1", body.as_bytes())?, "success");
    /// assert_eq!(on_command(&crypto, &dedupe, &sealed.msg_signature, &now, "n1", body.as_bytes())?, "success");
    /// # Ok(()) }
    /// ```
    pub fn decrypt_command(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
    ) -> Result<CommandEvent, CallbackError> {
        let xml = self.decrypt(msg_signature, timestamp, nonce, body)?;
        CommandEvent::parse_for_suite(&xml, &self.receive_id)
    }
}

/// Remembers the command callbacks seen in the last while, so that a delivery WeCom makes
/// again does nothing twice: `if dedupe.first_time(&event) { … }`. Bounded in entries and
/// in time (a moka cache); keyed by [`CommandEvent::delivery_key`]. Size it above the
/// deliveries expected within the TTL: when it is full, moka's admission policy decides what
/// is kept, and a delivery not kept passes again.
///
/// - It remembers within one process only. Behind a load balancer a retry may reach another
///   replica: to dedupe across replicas, use a [`DeliveryLog`] they share instead
///   ([`RedisDeliveryLog`] with the `redis` feature, or your own on
///   [`CommandEvent::delivery_key`]).
/// - Mark first, then answer `success`, then work: a failure in the work afterwards is not
///   retried by WeCom (it got its answer), so keep what must not be lost (the `create_auth`
///   auth code) until the work is done.
/// - The handlers can stay idempotent besides: a ticket store that keeps the newest ticket by
///   `TimeStamp` takes a repeated push without harm.
#[derive(Clone)]
pub struct CommandDedupe {
    /// When each delivery was first seen, by the dedupe's clock.
    seen: moka::sync::Cache<[u8; 32], SystemTime>,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CommandDedupe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandDedupe")
            .field("entries", &self.seen.entry_count())
            .finish()
    }
}

impl CommandDedupe {
    /// Remembers up to `capacity` deliveries, each for `ttl` (WeCom retries within minutes;
    /// an hour is ample).
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self::with_clock(capacity, ttl, SystemClock)
    }

    /// The same, with the TTL measured by `clock` (tests pass a
    /// [`ManualClock`](crate::clock::ManualClock)). moka still drops entries after `ttl` of
    /// real time, to bound memory; the clock alone decides what counts as seen.
    pub fn with_clock(capacity: u64, ttl: Duration, clock: impl Clock) -> Self {
        Self {
            seen: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            ttl,
            clock: Arc::new(clock),
        }
    }

    /// Whether this is the first time `event` is seen (within the TTL and the capacity):
    /// `true` once, then `false` for every delivery of it again, even concurrent ones (moka
    /// serialises the computation per key).
    pub fn first_time(&self, event: &CommandEvent) -> bool {
        let now = self.clock.now();
        let result = self
            .seen
            .entry(event.delivery_digest())
            .and_compute_with(|seen| match seen {
                Some(entry)
                    if entry
                        .value()
                        .checked_add(self.ttl)
                        .is_some_and(|end| now < end) =>
                {
                    moka::ops::compute::Op::Nop
                }
                _ => moka::ops::compute::Op::Put(now),
            });
        !matches!(result, moka::ops::compute::CompResult::Unchanged(_))
    }

    /// Forgets `event`'s delivery: the next one is a first time again (for work that failed
    /// after [`first_time`](Self::first_time) said yes, so that doing it again is not refused
    /// as a repeat).
    pub fn forget(&self, event: &CommandEvent) {
        self.seen.invalidate(&event.delivery_digest());
    }
}

/// Where deliveries are remembered, behind one interface: [`CommandDedupe`] (this process),
/// [`RedisDeliveryLog`] (shared by replicas, feature `redis`), or your own (a unique key in a
/// database, keyed by [`CommandEvent::delivery_key`]).
///
/// ```
/// use std::time::Duration;
/// use wecom_kf::callback::{CommandDedupe, CommandEvent, DeliveryLog};
///
/// # async fn demo(event: CommandEvent) -> wecom_kf::Result<()> {
/// let log: Box<dyn DeliveryLog> = Box::new(CommandDedupe::new(10_000, Duration::from_secs(3600)));
/// if log.first_delivery(&event).await? {
///     // act on it
/// }
/// # Ok(()) }
/// ```
#[async_trait]
pub trait DeliveryLog: fmt::Debug + Send + Sync {
    /// Records `event`'s delivery: `Ok(true)` the first time, `Ok(false)` for a delivery of
    /// it again, even a concurrent one. An `Err` ([`Error::Storage`](crate::Error::Storage))
    /// says nothing about whether it is new: refusing the callback then lets WeCom deliver it
    /// again later; acting on it risks acting twice.
    async fn first_delivery(&self, event: &CommandEvent) -> crate::Result<bool>;

    /// Forgets `event`'s delivery, so that the next delivery of it is the first again: the
    /// work it started failed, and a retry must redo it rather than be taken for a repeat.
    async fn forget_delivery(&self, event: &CommandEvent) -> crate::Result<()>;
}

#[async_trait]
impl DeliveryLog for CommandDedupe {
    async fn first_delivery(&self, event: &CommandEvent) -> crate::Result<bool> {
        Ok(self.first_time(event))
    }

    async fn forget_delivery(&self, event: &CommandEvent) -> crate::Result<()> {
        self.forget(event);
        Ok(())
    }
}

#[cfg(feature = "redis")]
pub use redis_log::{DEFAULT_DELIVERY_PREFIX, RedisDeliveryLog};

#[cfg(feature = "redis")]
mod redis_log {
    use std::fmt;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::{CommandEvent, DeliveryLog};
    use crate::error::{Error, Result};
    use crate::redis_conn::RedisConnection;

    /// Key prefix unless [`RedisDeliveryLog::prefix`] says otherwise.
    pub const DEFAULT_DELIVERY_PREFIX: &str = "wecom-kf:delivery:";

    /// Deliveries remembered in Redis (feature `redis`), so that replicas behind one
    /// command-callback URL dedupe together: `SET {prefix}{delivery_key} 1 NX PX {ttl}`, the
    /// first to set it is the first delivery. The key holds no secret
    /// ([`CommandEvent::delivery_key`]).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use wecom_kf::callback::{DeliveryLog, RedisDeliveryLog};
    ///
    /// # async fn demo() -> wecom_kf::Result<()> {
    /// let deliveries = RedisDeliveryLog::connect("redis://127.0.0.1:6379", Duration::from_secs(3600))
    ///     .await?
    ///     .prefix("my-saas:delivery:");
    /// # let _ = deliveries; Ok(()) }
    /// ```
    ///
    /// Cloning is cheap and shares the connection.
    #[derive(Clone)]
    pub struct RedisDeliveryLog {
        redis: RedisConnection,
        prefix: String,
        ttl: Duration,
    }

    impl RedisDeliveryLog {
        /// A log on the Redis server at `url` (`redis://[:password@]host:port[/db]`), each
        /// delivery remembered for `ttl` (at least a millisecond). Fails only on a malformed
        /// URL; a server that is down makes [`first_delivery`](DeliveryLog::first_delivery)
        /// fail until it answers.
        pub async fn connect(url: &str, ttl: Duration) -> Result<Self> {
            Ok(Self {
                redis: RedisConnection::connect(
                    url,
                    "Redis delivery log not reachable yet; dedupe fails until it is",
                )
                .await?,
                prefix: DEFAULT_DELIVERY_PREFIX.to_owned(),
                ttl,
            })
        }

        /// The prefix of every key (default [`DEFAULT_DELIVERY_PREFIX`]).
        #[must_use]
        pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
            self.prefix = prefix.into();
            self
        }

        /// The bound on each Redis command (default 500 ms).
        #[must_use]
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.redis.set_timeout(timeout);
            self
        }
    }

    impl fmt::Debug for RedisDeliveryLog {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("RedisDeliveryLog")
                .field("endpoint", &self.redis.endpoint())
                .field("prefix", &self.prefix)
                .field("ttl", &self.ttl)
                .finish_non_exhaustive()
        }
    }

    #[async_trait]
    impl DeliveryLog for RedisDeliveryLog {
        async fn first_delivery(&self, event: &CommandEvent) -> Result<bool> {
            let key = format!("{}{}", self.prefix, event.delivery_key());
            let ttl_ms = u64::try_from(self.ttl.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let set: Option<String> = self
                .redis
                .run("SET NX", |mut conn| {
                    let key = &key;
                    async move {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(1)
                            .arg("NX")
                            .arg("PX")
                            .arg(ttl_ms)
                            .query_async(&mut conn)
                            .await
                    }
                })
                .await
                .map_err(|e| Error::Storage(format!("cannot record a delivery: {e}")))?;
            Ok(set.is_some())
        }

        async fn forget_delivery(&self, event: &CommandEvent) -> Result<()> {
            let key = format!("{}{}", self.prefix, event.delivery_key());
            let _: u64 = self
                .redis
                .run("DEL", |mut conn| {
                    let key = &key;
                    async move { redis::cmd("DEL").arg(key).query_async(&mut conn).await }
                })
                .await
                .map_err(|e| Error::Storage(format!("cannot forget a delivery: {e}")))?;
            Ok(())
        }
    }
}
