//! Helpers shared by the integration tests. Each test file uses a subset.
#![allow(dead_code)]

pub mod hostile;
pub mod own_redis;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use wecom_kf::clock::ManualClock;
use wecom_kf::simulator::{Simulator, TokenIssue};
use wecom_kf::{Client, RetryConfig, TokenProvider};
use wiremock::{MockServer, Request, ResponseTemplate};

/// Retries as by default, with millisecond backoff so tests stay fast.
pub fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .max_retries(3)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
}

/// A 200 answer carrying `errcode`.
pub fn errcode(code: i64) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"errcode": code, "errmsg": format!("error {code}, hint: [h]")}))
}

/// A gettoken responder that mints T1, T2, … one per call, valid 7200 s.
pub fn minting() -> impl Fn(&Request) -> ResponseTemplate {
    let n = AtomicUsize::new(0);
    move |_: &Request| {
        let i = n.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 0, "errmsg": "ok", "access_token": format!("T{i}"), "expires_in": 7200}),
        )
    }
}

/// How many requests to path `p` reached `server`.
pub async fn count(server: &MockServer, p: &str) -> usize {
    let requests = server.received_requests().await.unwrap();
    requests.iter().filter(|r| r.url.path() == p).count()
}

/// A base URL on which nothing listens (connections are refused).
pub fn closed_port_base() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    base
}

/// Drops a wiremock server with a fresh tokio coop budget. Its `Drop` runs
/// `futures::executor::block_on(verify())` on this task; after polling hundreds of concurrent
/// calls the task's budget is spent, tokio's RwLock inside `verify` keeps answering `Pending`,
/// and that foreign `block_on` spins forever. Yielding first resets the budget.
pub async fn drop_server(server: MockServer) {
    tokio::task::yield_now().await;
    drop(server);
}

/// A simulator issuing tokens as `issue` says, and a client on it, whose token freshness and
/// expiry both follow one manual clock.
pub async fn client_on_manual_clock(issue: TokenIssue) -> (Simulator, ManualClock, Client) {
    let clock = ManualClock::new();
    let sim = Simulator::builder()
        .clock(clock.clone())
        .token_issue(issue)
        .start()
        .await
        .unwrap();
    let provider = TokenProvider::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = sim
        .client_builder()
        .token_provider(provider)
        .build()
        .unwrap();
    (sim, clock, client)
}

/// A token store that already holds a valid token `value` for every credential: a client on
/// it never needs `gettoken`, so its first request is the API call itself.
#[derive(Debug)]
pub struct PresetToken(pub &'static str);

#[async_trait::async_trait]
impl wecom_kf::token::TokenStore for PresetToken {
    async fn get(
        &self,
        _: &wecom_kf::token::StoreKey,
    ) -> Result<Option<wecom_kf::token::SharedToken>, wecom_kf::token::StoreError> {
        let now = std::time::SystemTime::now();
        Ok(Some(wecom_kf::token::SharedToken::new(
            self.0,
            now,
            now + Duration::from_secs(7200),
        )))
    }
    async fn put(
        &self,
        _: &wecom_kf::token::StoreKey,
        _: &wecom_kf::token::SharedToken,
    ) -> Result<(), wecom_kf::token::StoreError> {
        Ok(())
    }
    async fn invalidate_if(
        &self,
        _: &wecom_kf::token::StoreKey,
        _: &str,
    ) -> Result<bool, wecom_kf::token::StoreError> {
        Ok(false)
    }
    async fn try_lease(
        &self,
        _: &wecom_kf::token::StoreKey,
    ) -> Result<Option<wecom_kf::token::Lease>, wecom_kf::token::StoreError> {
        Ok(None)
    }
    async fn release(
        &self,
        _: &wecom_kf::token::StoreKey,
        _: &wecom_kf::token::Lease,
    ) -> Result<(), wecom_kf::token::StoreError> {
        Ok(())
    }
    fn lease_lifetime(&self) -> Duration {
        Duration::from_secs(10)
    }
}

/// The Redis to test against, or `None` (with a message) when the tests should not run.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("WECOM_TEST_REDIS_URL").ok();
    if url.is_none() {
        // Straight to stderr: the harness hides what `eprintln!` prints in a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: set WECOM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis token-store tests\n",
        );
    }
    url
}

/// A key prefix no other test or run uses.
pub fn fresh_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("wecom-kf-test:{test}:{}:{nanos:x}:", std::process::id())
}

/// A token source that always hands out `FIXED`: a client on it needs no `gettoken`, so a
/// hostile server sees only the call under test.
#[derive(Debug)]
pub struct FixedToken;

#[async_trait::async_trait]
impl wecom_kf::token::TokenSource for FixedToken {
    async fn fetch(
        &self,
        _: &wecom_kf::token::Credential,
    ) -> wecom_kf::Result<wecom_kf::token::FetchedToken> {
        wecom_kf::token::FetchedToken::new("FIXED", Duration::from_secs(7200))
    }
}

/// A client on `base` whose token comes from [`FixedToken`], with fast retries.
pub fn fixed_token_client(base: &str) -> wecom_kf::ClientBuilder {
    let provider = TokenProvider::builder().source(FixedToken).build().unwrap();
    Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(base)
        .retry(fast_retry())
        .token_provider(provider)
}
