//! The budgets' counts in Redis, shared by every replica (feature `redis`): one counter per
//! scope and window, checked and counted by one script per call, and the scopes WeCom closed.

use std::fmt;
use std::time::{Duration, SystemTime};

use redis::Script;

use super::counts::{Refused, ScopeKey, Slots};
use crate::clock::unix_millis;
use crate::error::Result;
use crate::rate_limit::{Refusal, Window};
use crate::redis_conn::RedisConnection;

/// Key prefix unless [`RedisBudgetStore::prefix`] says otherwise.
pub const DEFAULT_BUDGET_PREFIX: &str = "wecom-kf:budget:";

/// Checks every counter (KEYS[2..]) against its limit (ARGV[2..]) and the closed marker
/// (KEYS[1]) against the time (ARGV[1], ms); if all have room, counts one call in each
/// (expiring with its window: ARGV after the limits, ms). A key holding something else than
/// a count is bad data: deleted and counted from zero (the last element says how many).
/// Answers `{1, repaired}`, `{0, i, repaired}` for the first full counter i (1-based), or
/// `{0, 0, repaired, marker}` for a closed scope.
const ADMIT: &str = r"
local now = tonumber(ARGV[1])
local n = #KEYS - 1
local repaired = 0
local function read(key)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return nil end
  if kind == 'string' then
    local value = redis.call('GET', key)
    if tonumber(value) or string.match(value, '^%d+:%a+$') then return value end
  end
  redis.call('DEL', key)
  repaired = repaired + 1
  return nil
end
local closed = read(KEYS[1])
if closed then
  local untl = tonumber(string.match(closed, '^(%d+)'))
  if untl and untl > now then return {0, 0, repaired, closed} end
end
for i = 1, n do
  local count = tonumber(read(KEYS[i + 1]) or '0') or 0
  if count >= tonumber(ARGV[i + 1]) then return {0, i, repaired} end
end
for i = 1, n do
  if redis.call('INCR', KEYS[i + 1]) == 1 then
    redis.call('PEXPIRE', KEYS[i + 1], ARGV[n + i + 1])
  end
end
return {1, repaired}";

/// Closes a scope until ARGV[1] (ms) with the marker ARGV[2] unless it is closed longer
/// already; expires it then (ARGV[3], ms from now). Bad data in the key is replaced.
const CLOSE: &str = r"
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then
  local untl = tonumber(string.match(redis.call('GET', KEYS[1]), '^(%d+)'))
  if untl and untl >= tonumber(ARGV[1]) then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1";

/// Takes a place among the calls in flight of one scope (KEYS[1], a sorted set of holders
/// scored by when their lease ends) if fewer than ARGV[2] hold one at ARGV[1] ms: the holder
/// ARGV[3], leased until ARGV[4] ms; the set expires after ARGV[5] ms. Leases past their end
/// (a process that died holding one) are dropped first; foreign data in the key is replaced.
const ACQUIRE: &str = r"
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'zset' and kind ~= 'none' then redis.call('DEL', KEYS[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1";

/// How long a place among the calls in flight is held at most if its holder never gives it
/// back (a process that died mid-call): longer than any attempt's timeout.
pub const IN_FLIGHT_LEASE: Duration = Duration::from_secs(60);

/// The budgets' counts in Redis, shared by every replica that uses the same server and
/// prefix. Keys: `{prefix}{corp|ip}:{id}:{api}:{m|h}{window index}` (a count, expiring with
/// its window), `{prefix}closed:{corp}:{api}` (`{until ms}:{window}`) and, for APIs with a
/// concurrency cap, `{prefix}inflight:{corp}:{api}` (the calls in flight, each leased for a
/// minute at most). They hold corp ids and API paths, never a secret. The keys of one check are not in one hash slot: use a
/// single Redis server (or a prefix with a hash tag, `{wecom-kf}:`, on a cluster).
///
/// ```no_run
/// use wecom_kf::budget::{RateBudgets, RedisBudgetStore};
///
/// # async fn demo() -> wecom_kf::Result<()> {
/// let store = RedisBudgetStore::connect("redis://127.0.0.1:6379").await?;
/// let budgets = RateBudgets::builder()
///     .shared(store)
///     .fallback_share(0.25) // four replicas: a quarter each while Redis is down
///     .build();
/// # let _ = budgets; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBudgetStore {
    redis: RedisConnection,
    prefix: String,
    admit: Script,
    close: Script,
    acquire: Script,
}

impl fmt::Debug for RedisBudgetStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBudgetStore")
            .field("endpoint", &self.redis.endpoint())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A counter outlives its window by this much, so that clocks a little apart agree on it.
const SLACK: Duration = Duration::from_secs(60);

impl RedisBudgetStore {
    /// A store on the Redis server at `url` (`redis://[:password@]host:port[/db]`). Fails only
    /// on a malformed URL; while the server is down, the budgets run on each process's share.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self {
            redis: RedisConnection::connect(
                url,
                "Redis budget store not reachable yet; budgets run on this process's share until it is",
            )
            .await?,
            prefix: DEFAULT_BUDGET_PREFIX.to_owned(),
            admit: Script::new(ADMIT),
            close: Script::new(CLOSE),
            acquire: Script::new(ACQUIRE),
        })
    }

    /// The prefix of every key (default [`DEFAULT_BUDGET_PREFIX`]).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on each Redis command (default 500 ms): a call waits no longer for the
    /// store before it runs on this process's share.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.redis.set_timeout(timeout);
        self
    }

    fn closed_key(&self, corp: &ScopeKey) -> String {
        format!("{}closed:{}:{}", self.prefix, corp.id, corp.api)
    }

    /// One check for `slots` at `now`, counted in Redis if every slot has room. `Err` is the
    /// store's failure (the caller falls back); `Ok(Err)` a refusal.
    pub(crate) async fn admit(
        &self,
        slots: &Slots,
        now: SystemTime,
    ) -> std::result::Result<std::result::Result<(), Refused>, String> {
        let windows = [Window::Minute, Window::Hour];
        let mut invocation = self.admit.key(self.closed_key(&slots[0].key));
        let mut limits = Vec::with_capacity(4);
        let mut expiries = Vec::with_capacity(4);
        let mut which = Vec::with_capacity(4);
        for slot in slots {
            for window in windows {
                let letter = &window.as_str()[..1];
                invocation.key(format!(
                    "{}{}:{letter}{}",
                    self.prefix,
                    slot.key,
                    window.index(now)
                ));
                limits.push(match window {
                    Window::Hour => slot.limits.per_hour,
                    _ => slot.limits.per_minute,
                });
                let left = window.end(now).duration_since(now).unwrap_or_default() + SLACK;
                expiries.push(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
                which.push((slot.key.scope, window));
            }
        }
        invocation.arg(unix_millis(now));
        for limit in &limits {
            invocation.arg(*limit);
        }
        for expiry in &expiries {
            invocation.arg(*expiry);
        }
        let answer: Vec<redis::Value> = self
            .redis
            .run("budget check", |mut conn| {
                let invocation = &invocation;
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        let int = |i: usize| match answer.get(i) {
            Some(redis::Value::Int(n)) => Some(*n),
            _ => None,
        };
        let repaired = match int(0) {
            Some(1) => int(1),
            _ => int(2),
        };
        if repaired.is_some_and(|n| n > 0) {
            tracing::warn!(prefix = %self.prefix, "rate budget keys held something else than counts: replaced");
        }
        match (int(0), int(1)) {
            (Some(1), _) => Ok(Ok(())),
            (Some(0), Some(0)) => {
                let marker = match answer.get(3) {
                    Some(redis::Value::BulkString(bytes)) => {
                        String::from_utf8_lossy(bytes).into_owned()
                    }
                    _ => String::new(),
                };
                let (until, window) = parse_marker(&marker).ok_or_else(|| {
                    "the budget store answered an unreadable closed scope".to_owned()
                })?;
                Ok(Err((Refusal::Closed { window }, until)))
            }
            (Some(0), Some(i)) => {
                let index = usize::try_from(i - 1).unwrap_or(usize::MAX);
                let (&(scope, window), &limit) = which
                    .get(index)
                    .zip(limits.get(index))
                    .ok_or_else(|| "the budget store answered an unknown counter".to_owned())?;
                Ok(Err((
                    Refusal::Budget {
                        scope,
                        window,
                        limit,
                    },
                    window.end(now),
                )))
            }
            _ => Err("the budget store answered something unreadable".to_owned()),
        }
    }

    /// Closes the scope of `corp_key` until `until` for every replica.
    pub(crate) async fn close(
        &self,
        corp: &ScopeKey,
        now: SystemTime,
        until: SystemTime,
        window: Window,
    ) -> std::result::Result<(), String> {
        let until_ms = unix_millis(until);
        let left = until.duration_since(now).unwrap_or_default() + SLACK;
        let mut invocation = self.close.key(self.closed_key(corp));
        invocation
            .arg(until_ms)
            .arg(format!("{until_ms}:{}", window.as_str()))
            .arg(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
        let _: i64 = self
            .redis
            .run("close a scope", |mut conn| {
                let invocation = &invocation;
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        Ok(())
    }
}

impl RedisBudgetStore {
    fn in_flight_key(&self, corp: &ScopeKey) -> String {
        format!("{}inflight:{}:{}", self.prefix, corp.id, corp.api)
    }

    /// A place among `corp`'s calls in flight if fewer than `cap` hold one (every replica
    /// counted): `Ok(Some)` holds it until dropped, `Ok(None)` is a full scope, `Err` the
    /// store's failure.
    pub(crate) async fn acquire(
        &self,
        corp: &ScopeKey,
        cap: u32,
    ) -> std::result::Result<Option<InFlight>, String> {
        let key = self.in_flight_key(corp);
        let holder = uuid::Uuid::new_v4().simple().to_string();
        // Real time, not the budgets' clock: leases are about processes that died.
        let now = unix_millis(SystemTime::now());
        let lease = u64::try_from(IN_FLIGHT_LEASE.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.acquire.key(&key);
        invocation
            .arg(now)
            .arg(cap)
            .arg(&holder)
            .arg(now.saturating_add(lease))
            .arg(lease);
        let taken: i64 = self
            .redis
            .run("take a place in flight", |mut conn| {
                let invocation = &invocation;
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        Ok((taken == 1).then(|| InFlight {
            redis: self.redis.clone(),
            key,
            holder,
        }))
    }
}

/// A place among a scope's calls in flight, in Redis: given back by [`release`](Self::release)
/// once the call is answered, or when dropped unreleased (a cancelled call: in a task of its
/// own). If giving it back fails, its lease ends it within [`IN_FLIGHT_LEASE`].
pub(crate) struct InFlight {
    redis: RedisConnection,
    key: String,
    holder: String,
}

impl InFlight {
    /// Gives the place back now (the next call may take it at once).
    pub(crate) async fn release(mut self) {
        let (key, holder) = (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        give_back(&self.redis, &key, &holder).await;
    }
}

async fn give_back(redis: &RedisConnection, key: &str, holder: &str) {
    let given: std::result::Result<i64, String> = redis
        .run("give back a place in flight", |mut conn| async move {
            redis::cmd("ZREM")
                .arg(key)
                .arg(holder)
                .query_async(&mut conn)
                .await
        })
        .await;
    if let Err(error) = given {
        tracing::debug!(%error, "a place in flight is left to its lease");
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.key.is_empty() {
            return; // released
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (redis, key, holder) = (
            self.redis.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        runtime.spawn(async move { give_back(&redis, &key, &holder).await });
    }
}

/// `{until ms}:{window}`.
fn parse_marker(marker: &str) -> Option<(SystemTime, Window)> {
    let (ms, window) = marker.split_once(':')?;
    let until = std::time::UNIX_EPOCH + Duration::from_millis(ms.parse().ok()?);
    let window = match window {
        "minute" => Window::Minute,
        "hour" => Window::Hour,
        "day" => Window::Day,
        _ => return None,
    };
    Some((until, window))
}
