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
    client: redis::Client,
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
        let conn = manager(&client, DEFAULT_TIMEOUT)?;
        Ok(Self {
            client,
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

    /// Bounds every command by `timeout`: the connection is set up again (lazily) so that its
    /// own connect and response timeouts follow, not only the bound around each command.
    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        match manager(&self.client, timeout) {
            Ok(conn) => {
                self.conn = conn;
                self.timeout = timeout;
            }
            // Cannot happen for a client that was set up once; keep the working connection.
            Err(error) => {
                tracing::warn!(endpoint = %self.endpoint, %error, "Redis timeout left unchanged");
            }
        }
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

/// A lazily connecting manager whose connect and response timeouts are `timeout`.
fn manager(client: &redis::Client, timeout: Duration) -> Result<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1);
    ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(|e| {
        Error::Config(format!(
            "cannot set up the Redis connection: {:?}",
            e.kind()
        ))
    })
}
