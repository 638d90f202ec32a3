//! One Redis connection as the Redis-backed stores use it (feature `redis`): reconnecting,
//! every command bounded by a timeout, errors reduced to words that quote nothing sent.

use std::future::Future;
use std::time::Duration;

use redis::RedisResult;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Error, Result};

/// The bound on each command unless a store is told otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// A lazily connecting, reconnecting connection (redis' `ConnectionManager`). Cloning shares it.
#[derive(Clone)]
pub(crate) struct RedisConnection {
    conn: ConnectionManager,
    /// `host:port/db`, without credentials: safe for `Debug` and logs.
    endpoint: String,
    timeout: Duration,
}

impl RedisConnection {
    /// Sets up a connection to `url` without waiting for the server: only a malformed URL fails.
    fn open(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::Config(format!("invalid Redis URL: {:?}", e.kind())))?;
        let info = client.get_connection_info();
        let endpoint = format!("{}/{}", info.addr(), info.redis_settings().db());
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEFAULT_TIMEOUT))
            .set_response_timeout(Some(DEFAULT_TIMEOUT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            Error::Config(format!(
                "cannot set up the Redis connection: {:?}",
                e.kind()
            ))
        })?;
        Ok(Self {
            conn,
            endpoint,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// [`open`](Self::open), then a `PING`: a server that does not answer yet is no error, only
    /// a warning that says what that means for the store (`unreachable_means`).
    pub(crate) async fn connect(url: &str, unreachable_means: &str) -> Result<Self> {
        let redis = Self::open(url)?;
        let ping = redis
            .run("PING", |mut conn| async move {
                redis::cmd("PING").query_async::<String>(&mut conn).await
            })
            .await;
        if let Err(error) = ping {
            tracing::warn!(endpoint = %redis.endpoint, %error, "{unreachable_means}");
        }
        Ok(redis)
    }

    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Runs `op` within the timeout. A connection error is tried once more: the first error
    /// makes the connection manager reconnect, so the second try reaches a server that has
    /// come back instead of failing on the connection that broke while it was away.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        what: &str,
        mut op: F,
    ) -> std::result::Result<T, String>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let attempt = async {
            match op(self.conn.clone()).await {
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                    op(self.conn.clone()).await
                }
                done => done,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            // The kind only: a Redis error's text may quote what it was sent.
            Ok(Err(e)) => Err(format!(
                "Redis {what} failed ({:?}{})",
                e.kind(),
                if e.is_connection_refusal() {
                    ", connection refused"
                } else {
                    ""
                }
            )),
            Err(_) => Err(format!("Redis {what} timed out after {:?}", self.timeout)),
        }
    }
}
