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

// The scripts check a key's type before they touch it: a value another program wrote (a string
// where a hash belongs, a hash without its fields) is bad data to report and write over, not a
// reason to stop sharing tokens.

/// The token and its two times, `{}` for none, or `{'bad', why}` for a value that is not one.
const GET: &str = r"
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return {} end
if kind ~= 'hash' then return {'bad', 'a ' .. kind .. ', not the hash this store writes'} end
local v = redis.call('HMGET', KEYS[1], 'token', 'obtained', 'expires')
if not v[1] or not tonumber(v[2]) or not tonumber(v[3]) then
  return {'bad', 'a hash without a token and its two times'}
end
return {'ok', v[1], v[2], v[3]}";

/// Stores the token unless Redis holds one obtained later; expires with it. Bad data under the
/// key is replaced.
const PUT_IF_NEWER: &str = r"
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then redis.call('DEL', KEYS[1]) end
local held = tonumber(redis.call('HGET', KEYS[1], 'obtained'))
if held and held > tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'obtained', ARGV[2], 'expires', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1";

/// Compare-and-delete: removes the token only if it is still the refused one.
const INVALIDATE_IF: &str = r"
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// Takes the lease for `ARGV[1]` for `ARGV[2]` ms. The value records when, by Redis' clock
/// (`owner@ms`), so that a lease older than its lifetime is dead whatever its TTL says (a lease
/// key without a TTL made every replica wait, forever). Returns `{}` if a live lease is held,
/// `{value}` when taken, `{value, why}` when taken over a dead one.
const TAKE_LEASE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local value = ARGV[1] .. '@' .. now
local why = nil
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then
  local taken = tonumber(string.match(redis.call('GET', KEYS[1]), '@(%d+)$'))
  local left = redis.call('PTTL', KEYS[1])
  if taken and now - taken < ttl then return {} end
  if not taken and left >= 0 and left <= ttl then return {} end
  why = taken and 'a lease older than its lifetime' or 'a lease without a time or a bounded TTL'
elseif kind ~= 'none' then
  why = 'a ' .. kind .. ' where a lease belongs'
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], value, 'PX', ttl)
if why then return {value, why} end
return {value}";

/// Releases the lease only for its owner.
const RELEASE: &str = r"
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// Tokens shared through Redis, so that one `gettoken` serves every process and machine.
///
/// - Keys: `{prefix}{corp_id}:{fingerprint}` (a hash: token, obtained and expiry times in ms
///   since the epoch, with a Redis TTL to match), and `…:lease` for the refresh lease. The
///   fingerprint is SHA-256-based; the secret never reaches Redis.
/// - The lease is a key with a value unique to its holder and the time it was taken, set by a
///   script and released by a compare-and-delete script; it lapses after
///   [`lease_ttl`](Self::lease_ttl) if its holder dies, and a lease older than that is taken
///   over whatever its Redis TTL says.
/// - A value another program left under a key (the wrong type, missing fields) is reported as
///   bad data at that key, read as none, and written over.
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
    get: Script,
    put_if_newer: Script,
    invalidate_if: Script,
    take_lease: Script,
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
                get: Script::new(GET),
                put_if_newer: Script::new(PUT_IF_NEWER),
                invalidate_if: Script::new(INVALIDATE_IF),
                take_lease: Script::new(TAKE_LEASE),
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

impl RedisTokenStore {
    /// Reports bad data at `key` (its name holds no secret) and reads it as none: the next
    /// write replaces it.
    fn bad_data<T>(&self, key: &str, why: &str) -> Option<T> {
        tracing::warn!(
            key,
            problem = why,
            "bad data in the token store; it is written over with the next token"
        );
        None
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
        let found: Vec<String> = self
            .run("get", |mut conn| {
                let call = self.scripts.get.key(&token_key);
                async move { call.invoke_async(&mut conn).await }
            })
            .await?;
        let times =
            |obtained: &str, expires: &str| Some((obtained.parse().ok()?, expires.parse().ok()?));
        match found.as_slice() {
            [] => Ok(None),
            [ok, token, obtained, expires] if ok == "ok" => match times(obtained, expires) {
                Some((obtained, expires)) => Ok(Some(SharedToken::new(
                    token.clone(),
                    from_millis(obtained),
                    from_millis(expires),
                ))),
                None => Ok(self.bad_data(&token_key, "times that are not whole milliseconds")),
            },
            [_, why] => Ok(self.bad_data(&token_key, why)),
            _ => Ok(self.bad_data(&token_key, "an answer this store does not write")),
        }
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
        let taken: Vec<String> = self
            .run("lease", |mut conn| {
                let mut call = self.scripts.take_lease.key(&lease_key);
                call.arg(&owner).arg(ttl_ms);
                async move { call.invoke_async(&mut conn).await }
            })
            .await?;
        let mut taken = taken.into_iter();
        let lease = taken.next().map(Lease::new);
        if let Some(why) = taken.next() {
            tracing::warn!(key = %lease_key, problem = %why, "took over a dead lease in the token store");
        }
        Ok(lease)
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
