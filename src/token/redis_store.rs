//! [`RedisTokenStore`]: the shared token store on Redis (feature `redis`).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};

use super::store::{Lease, SharedToken, StoreError, StoreKey, TokenStore};
use crate::clock::unix_millis;
use crate::error::Result;
use crate::redis_conn::RedisConnection;

/// Stores the token unless Redis holds one obtained later; expires with it.
const PUT_IF_NEWER: &str = r"
local held = redis.call('HGET', KEYS[1], 'obtained')
if held and tonumber(held) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'obtained', ARGV[2], 'expires', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1";

/// Compare-and-delete: removes the token only if it is still the refused one.
const INVALIDATE_IF: &str = r"
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// Releases the lease only for its owner.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// Tokens shared through Redis, so that one `gettoken` serves every process and machine.
///
/// - Keys: `{prefix}{corp_id}:{fingerprint}` (a hash: token, obtained and expiry times in ms
///   since the epoch, with a Redis TTL to match), and `…:lease` for the refresh lease. The
///   fingerprint is SHA-256-based; the secret never reaches Redis.
/// - The lease is `SET NX PX` with a value unique to its holder, released by a
///   compare-and-delete script; it lapses after [`lease_ttl`](Self::lease_ttl) if its holder dies.
/// - A refused token is deleted only if Redis still holds that token (a script).
/// - Every command is bounded by [`timeout`](Self::timeout). When Redis is down or slow, the
///   provider fetches tokens on its own, logs a warning once, and uses Redis again when it
///   answers. The connection reconnects by itself (redis' `ConnectionManager`).
///
/// ```no_run
/// use wecom_kf::Client;
/// use wecom_kf::token::RedisTokenStore;
///
/// # async fn demo() -> Result<(), wecom_kf::Error> {
/// let client = Client::builder()
///     .corp_id("ww0123456789")
///     .corp_secret("kf-secret")
///     .token_store(RedisTokenStore::connect("redis://127.0.0.1:6379").await?)
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
///
/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisTokenStore {
    redis: RedisConnection,
    prefix: String,
    lease_ttl: Duration,
    scripts: Scripts,
}

#[derive(Clone)]
struct Scripts {
    put_if_newer: Script,
    invalidate_if: Script,
    release: Script,
}

/// Key prefix unless [`RedisTokenStore::prefix`] says otherwise.
pub const DEFAULT_PREFIX: &str = "wecom-kf:token:";
const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
const MAX_LEASE_TTL: Duration = Duration::from_secs(600);

impl RedisTokenStore {
    /// A store on the Redis server at `url` (`redis://[:password@]host:port[/db]`).
    ///
    /// Fails only on a malformed URL: a server that is down now is not an error (the
    /// provider fetches on its own until it answers); it is logged as a warning.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self {
            redis: RedisConnection::connect(
                url,
                "Redis token store not reachable yet; tokens are fetched locally until it is",
            )
            .await?,
            prefix: DEFAULT_PREFIX.to_owned(),
            lease_ttl: DEFAULT_LEASE_TTL,
            scripts: Scripts {
                put_if_newer: Script::new(PUT_IF_NEWER),
                invalidate_if: Script::new(INVALIDATE_IF),
                release: Script::new(RELEASE),
            },
        })
    }

    /// The prefix of every key (default
    /// [`REDIS_DEFAULT_PREFIX`](crate::token::REDIS_DEFAULT_PREFIX)), to share one Redis
    /// between applications or environments.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a refresh lease lasts if its holder dies without releasing it (default 10 s;
    /// kept within 1 ms to 10 minutes). A holder that is cancelled gives it back at once.
    /// Others wait at most twice this long before fetching on their own.
    #[must_use]
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.clamp(Duration::from_millis(1), MAX_LEASE_TTL);
        self
    }

    /// The bound on each Redis command (default 500 ms); past it, the store counts as down.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.redis.set_timeout(timeout);
        self
    }

    fn token_key(&self, key: &StoreKey) -> String {
        format!("{}{key}", self.prefix)
    }

    fn lease_key(&self, key: &StoreKey) -> String {
        format!("{}{key}:lease", self.prefix)
    }

    async fn run<T, F, Fut>(&self, what: &str, op: F) -> std::result::Result<T, StoreError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.redis.run(what, op).await.map_err(StoreError::new)
    }
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("endpoint", &self.redis.endpoint())
            .field("prefix", &self.prefix)
            .field("lease_ttl", &self.lease_ttl)
            .field("timeout", &self.redis.timeout())
            .finish_non_exhaustive()
    }
}

fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A value no other lease holder has: process, time, and a counter.
fn lease_owner() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[async_trait]
impl TokenStore for RedisTokenStore {
    async fn get(&self, key: &StoreKey) -> std::result::Result<Option<SharedToken>, StoreError> {
        let token_key = self.token_key(key);
        let (token, obtained, expires): (Option<String>, Option<u64>, Option<u64>) = self
            .run("HMGET", |mut conn| {
                let token_key = &token_key;
                async move {
                    redis::cmd("HMGET")
                        .arg(token_key)
                        .arg(&["token", "obtained", "expires"])
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(match (token, obtained, expires) {
            (Some(value), Some(obtained), Some(expires)) => Some(SharedToken::new(
                value,
                from_millis(obtained),
                from_millis(expires),
            )),
            _ => None,
        })
    }

    async fn put(
        &self,
        key: &StoreKey,
        token: &SharedToken,
    ) -> std::result::Result<(), StoreError> {
        let ttl = token
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .max(Duration::from_millis(1));
        let token_key = self.token_key(key);
        let _: i64 = self
            .run("put", |mut conn| {
                let mut call = self.scripts.put_if_newer.key(&token_key);
                call.arg(&token.value)
                    .arg(unix_millis(token.obtained_at))
                    .arg(unix_millis(token.expires_at))
                    .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
                async move { call.invoke_async(&mut conn).await }
            })
            .await?;
        Ok(())
    }

    async fn invalidate_if(
        &self,
        key: &StoreKey,
        value: &str,
    ) -> std::result::Result<bool, StoreError> {
        let token_key = self.token_key(key);
        let removed: i64 = self
            .run("invalidate", |mut conn| {
                let mut call = self.scripts.invalidate_if.key(&token_key);
                call.arg(value);
                async move { call.invoke_async(&mut conn).await }
            })
            .await?;
        Ok(removed > 0)
    }

    async fn try_lease(&self, key: &StoreKey) -> std::result::Result<Option<Lease>, StoreError> {
        let owner = lease_owner();
        let lease_key = self.lease_key(key);
        let ttl_ms = u64::try_from(self.lease_ttl.as_millis()).unwrap_or(u64::MAX);
        let taken: Option<String> = self
            .run("SET NX", |mut conn| {
                let (lease_key, owner) = (&lease_key, &owner);
                async move {
                    redis::cmd("SET")
                        .arg(lease_key)
                        .arg(owner)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_ms)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(taken.map(|_| Lease::new(owner)))
    }

    async fn release(&self, key: &StoreKey, lease: &Lease) -> std::result::Result<(), StoreError> {
        let lease_key = self.lease_key(key);
        let _: i64 = self
            .run("release", |mut conn| {
                let mut call = self.scripts.release.key(&lease_key);
                call.arg(lease.owner());
                async move { call.invoke_async(&mut conn).await }
            })
            .await?;
        Ok(())
    }

    fn lease_lifetime(&self) -> Duration {
        self.lease_ttl
    }
}
