//! [`RedisCursorStore`]: `sync_msg` cursors in Redis (feature `redis`), for bots on machines
//! without a lasting disk, or whose accounts move between replicas.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::CursorStore;
use crate::error::{Error, Result};
use crate::redis_conn::RedisConnection;

/// Key prefix unless [`RedisCursorStore::prefix`] says otherwise.
pub const DEFAULT_CURSOR_PREFIX: &str = "wecom-kf:cursor:";

/// Cursors in Redis: one string per account at `{prefix}{open_kfid}`, with no expiry.
///
/// One consumer per account at a time: two pulls of one account that load the same cursor
/// hand out the same page, and the one that saves last sets the cursor. Replicas that share
/// this store should each own a set of accounts (or take a lock per account around a pull).
///
/// A cursor lasts as long as the Redis server keeps its data: with persistence off (RDB/AOF), a
/// Redis restart forgets every cursor and the next sync starts from the oldest message WeCom
/// still holds. Unlike the token store, a cursor store that fails is an error
/// ([`Error::Storage`]), because going on without it would hand out messages twice.
///
/// ```no_run
/// use wecom_kf::kf::message::RedisCursorStore;
///
/// # async fn demo(client: wecom_kf::Client, open_kfid: String, token: String)
/// # -> Result<(), wecom_kf::Error> {
/// let cursors = RedisCursorStore::connect("redis://127.0.0.1:6379")
///     .await?
///     .prefix("my-bot:cursor:");
/// let messages = client.kf().message().sync_stream(&open_kfid, Some(&token), &cursors);
/// # let _ = messages; Ok(()) }
/// ```
///
/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisCursorStore {
    redis: RedisConnection,
    prefix: String,
}

impl RedisCursorStore {
    /// A store on the Redis server at `url` (`redis://[:password@]host:port[/db]`).
    ///
    /// Fails only on a malformed URL; a server that is down now makes `load` and `save` fail
    /// until it answers.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self {
            redis: RedisConnection::connect(
                url,
                "Redis cursor store not reachable yet; syncs fail until it is",
            )
            .await?,
            prefix: DEFAULT_CURSOR_PREFIX.to_owned(),
        })
    }

    /// The prefix of every key (default [`DEFAULT_CURSOR_PREFIX`]), to share one Redis between
    /// bots, corps or environments.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on each Redis command (default 500 ms); past it, `load` or `save` fails.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.redis.set_timeout(timeout);
        self
    }

    fn key(&self, open_kfid: &str) -> String {
        format!("{}{open_kfid}", self.prefix)
    }
}

impl fmt::Debug for RedisCursorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCursorStore")
            .field("endpoint", &self.redis.endpoint())
            .field("prefix", &self.prefix)
            .field("timeout", &self.redis.timeout())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl CursorStore for RedisCursorStore {
    async fn load(&self, open_kfid: &str) -> Result<Option<String>> {
        let key = self.key(open_kfid);
        self.redis
            .run("GET", |mut conn| {
                let key = &key;
                async move { redis::cmd("GET").arg(key).query_async(&mut conn).await }
            })
            .await
            .map_err(|e| Error::Storage(format!("cannot read a cursor: {e}")))
    }

    async fn save(&self, open_kfid: &str, cursor: &str) -> Result<()> {
        let key = self.key(open_kfid);
        self.redis
            .run("SET", |mut conn| {
                let key = &key;
                async move {
                    redis::cmd("SET")
                        .arg(key)
                        .arg(cursor)
                        .query_async::<()>(&mut conn)
                        .await
                }
            })
            .await
            .map_err(|e| Error::Storage(format!("cannot save a cursor: {e}")))
    }
}
