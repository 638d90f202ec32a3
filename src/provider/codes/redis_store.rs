//! [`RedisPermanentCodeStore`]: permanent codes in Redis (feature `redis`).

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use redis::Script;

use super::{
    AUTH_CODE_LIFETIME, AuthCode, PendingAuthCode, PermanentCode, PermanentCodeStore, live_pending,
    to_millis,
};
use crate::error::{Error, Result};
use crate::redis_conn::RedisConnection;

/// Key prefix unless [`RedisPermanentCodeStore::prefix`] says otherwise.
pub const DEFAULT_CODES_PREFIX: &str = "wecom-kf:provider:";

/// Replaces the corp's code and answers the one it replaced (nil if none).
const ROTATE: &str = r"
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return old";

/// Keeps the auth code `ARGV[1]` received at `ARGV[2]` ms unless it is already pending (a
/// retried callback), and prunes the codes expired by then (`ARGV[3]`: the lifetime in ms).
const PUT_PENDING: &str = r"
local now = tonumber(ARGV[2])
local life = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local at = tonumber(all[i + 1])
  if not at or at + life <= now then redis.call('HDEL', KEYS[1], all[i]) end
end
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])";

/// Stores the code, then clears the pending auth code. A script, not `MULTI`/`EXEC`: a
/// transaction runs its second command even when the first fails (a key of the wrong type), which
/// would drop the auth code without the permanent code; a script stops at the first error.
const COMPLETE: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
return 1";

/// Permanent codes in Redis, shared by every replica: a corp authorised on one is known to all.
///
/// - Keys: `{prefix}{suite_id}:codes`, a hash from auth_corpid to permanent code, and
///   `{prefix}{suite_id}:pending`, a hash from auth code to the time it was received (ms since
///   the epoch). No key expires; expired auth codes are pruned when a new one is kept.
/// - [`complete`](PermanentCodeStore::complete), `rotate` and keeping an auth code are Lua
///   scripts (atomic; `complete` stores the code before it clears the auth code, so a failure
///   never loses both).
/// - **Durability is Redis'**: a code is only as safe as the server's persistence. Run it with
///   AOF (`appendonly yes`, ideally `appendfsync always`) and replicas, or keep the codes in
///   the `sql` store; a Redis without persistence forgets every installation when it restarts.
/// - Every command is bounded by [`timeout`](Self::timeout); a failure is an
///   [`Error::Storage`] that names the operation, never a code.
///
/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisPermanentCodeStore {
    redis: RedisConnection,
    prefix: String,
    rotate: Script,
    put_pending: Script,
    complete: Script,
}

impl RedisPermanentCodeStore {
    /// A store on the Redis server at `url` (`redis://[:password@]host:port[/db]`).
    ///
    /// Fails only on a malformed URL; a server that is down now makes every operation fail
    /// until it answers.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self {
            redis: RedisConnection::connect(
                url,
                "Redis permanent code store not reachable yet; its operations fail until it is",
            )
            .await?,
            prefix: DEFAULT_CODES_PREFIX.to_owned(),
            rotate: Script::new(ROTATE),
            put_pending: Script::new(PUT_PENDING),
            complete: Script::new(COMPLETE),
        })
    }

    /// The prefix of every key (default [`DEFAULT_CODES_PREFIX`]), to share one Redis between
    /// applications or environments.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on each Redis command (default 500 ms); past it, the operation fails.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.redis.set_timeout(timeout);
        self
    }

    fn codes_key(&self, suite_id: &str) -> String {
        format!("{}{suite_id}:codes", self.prefix)
    }

    fn pending_key(&self, suite_id: &str) -> String {
        format!("{}{suite_id}:pending", self.prefix)
    }
}

impl fmt::Debug for RedisPermanentCodeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPermanentCodeStore")
            .field("endpoint", &self.redis.endpoint())
            .field("prefix", &self.prefix)
            .field("timeout", &self.redis.timeout())
            .finish_non_exhaustive()
    }
}

/// An [`Error::Storage`] for a failed `what` (the redis error text quotes no argument).
fn failed(what: &str) -> impl FnOnce(String) -> Error + '_ {
    move |e| Error::Storage(format!("permanent code store: cannot {what}: {e}"))
}

#[async_trait]
impl PermanentCodeStore for RedisPermanentCodeStore {
    async fn get(&self, suite_id: &str, auth_corpid: &str) -> Result<Option<PermanentCode>> {
        let key = self.codes_key(suite_id);
        let code: Option<String> = self
            .redis
            .run("HGET", |mut conn| {
                let key = &key;
                async move {
                    redis::cmd("HGET")
                        .arg(key)
                        .arg(auth_corpid)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await
            .map_err(failed("read a code"))?;
        Ok(code.map(PermanentCode::new))
    }

    async fn put(&self, suite_id: &str, auth_corpid: &str, code: &PermanentCode) -> Result<()> {
        let key = self.codes_key(suite_id);
        self.redis
            .run("HSET", |mut conn| {
                let key = &key;
                async move {
                    redis::cmd("HSET")
                        .arg(key)
                        .arg(auth_corpid)
                        .arg(code.expose())
                        .query_async::<()>(&mut conn)
                        .await
                }
            })
            .await
            .map_err(failed("store a code"))
    }

    async fn delete(&self, suite_id: &str, auth_corpid: &str) -> Result<bool> {
        let key = self.codes_key(suite_id);
        let removed: i64 = self
            .redis
            .run("HDEL", |mut conn| {
                let key = &key;
                async move {
                    redis::cmd("HDEL")
                        .arg(key)
                        .arg(auth_corpid)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await
            .map_err(failed("delete a code"))?;
        Ok(removed > 0)
    }

    async fn rotate(
        &self,
        suite_id: &str,
        auth_corpid: &str,
        new: &PermanentCode,
    ) -> Result<Option<PermanentCode>> {
        let key = self.codes_key(suite_id);
        let old: Option<String> = self
            .redis
            .run("rotate", |mut conn| {
                let mut call = self.rotate.key(&key);
                call.arg(auth_corpid).arg(new.expose());
                async move { call.invoke_async(&mut conn).await }
            })
            .await
            .map_err(failed("rotate a code"))?;
        Ok(old.map(PermanentCode::new))
    }

    async fn corps(&self, suite_id: &str) -> Result<Vec<String>> {
        let key = self.codes_key(suite_id);
        let mut corps: Vec<String> = self
            .redis
            .run("HKEYS", |mut conn| {
                let key = &key;
                async move { redis::cmd("HKEYS").arg(key).query_async(&mut conn).await }
            })
            .await
            .map_err(failed("list the corps"))?;
        corps.sort();
        Ok(corps)
    }

    async fn put_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        received_at: SystemTime,
    ) -> Result<bool> {
        let key = self.pending_key(suite_id);
        let life_ms = to_millis(std::time::UNIX_EPOCH + AUTH_CODE_LIFETIME);
        let added: i64 = self
            .redis
            .run("keep auth code", |mut conn| {
                let mut call = self.put_pending.key(&key);
                call.arg(auth_code.expose())
                    .arg(to_millis(received_at))
                    .arg(life_ms);
                async move { call.invoke_async(&mut conn).await }
            })
            .await
            .map_err(failed("keep an auth code"))?;
        Ok(added == 1)
    }

    async fn pending_auth_codes(
        &self,
        suite_id: &str,
        now: SystemTime,
    ) -> Result<Vec<PendingAuthCode>> {
        let key = self.pending_key(suite_id);
        let all: Vec<(String, String)> = self
            .redis
            .run("HGETALL", |mut conn| {
                let key = &key;
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut conn).await }
            })
            .await
            .map_err(failed("list the pending auth codes"))?;
        let mut rows = Vec::with_capacity(all.len());
        for (code, at) in all {
            match at.parse::<i64>() {
                Ok(ms) => rows.push((code, ms)),
                // The key's name holds no code; the value is left for the next prune.
                Err(_) => tracing::warn!(
                    key = %key,
                    "a pending auth code without a time in the permanent code store; skipped"
                ),
            }
        }
        Ok(live_pending(suite_id, rows, now))
    }

    async fn complete(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
        auth_corpid: &str,
        code: &PermanentCode,
    ) -> Result<()> {
        let codes = self.codes_key(suite_id);
        let pending = self.pending_key(suite_id);
        let _: i64 = self
            .redis
            .run("complete", |mut conn| {
                let mut call = self.complete.key(&codes);
                call.key(&pending)
                    .arg(auth_corpid)
                    .arg(code.expose())
                    .arg(auth_code.expose());
                async move { call.invoke_async(&mut conn).await }
            })
            .await
            .map_err(failed("complete an installation"))?;
        Ok(())
    }

    async fn discard_pending_auth_code(
        &self,
        suite_id: &str,
        auth_code: &AuthCode,
    ) -> Result<bool> {
        let key = self.pending_key(suite_id);
        let removed: i64 = self
            .redis
            .run("HDEL", |mut conn| {
                let key = &key;
                async move {
                    redis::cmd("HDEL")
                        .arg(key)
                        .arg(auth_code.expose())
                        .query_async(&mut conn)
                        .await
                }
            })
            .await
            .map_err(failed("drop an auth code"))?;
        Ok(removed > 0)
    }
}
