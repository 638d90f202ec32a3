//! Redis going away and coming back, as the logs tell it: one WARN per incident, one INFO when
//! it answers again, calls served throughout.

use std::time::Duration;

use tracing_subscriber::fmt::format::FmtSpan;
use wecom_kf::Client;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::simulator::Simulator;
use wecom_kf::token::RedisTokenStore;

use crate::capture::capture;
use crate::common::own_redis::OwnRedis;
use crate::common::{fresh_prefix, redis_url};

#[tokio::test]
async fn calls_go_on_while_redis_is_down_and_redis_is_used_again_when_it_returns() {
    if redis_url().is_none() {
        return;
    }
    let (captured, _guard) = capture(FmtSpan::NONE);

    let redis = OwnRedis::start_on_free_port().expect("redis-server on PATH (.ci/run installs it)");
    let url = redis.url();
    let sim = Simulator::start().await.unwrap();
    // One store (one connection) shared by replicas that come and go, each with a provider of
    // its own: what Redis holds is what a new replica finds.
    let shared = RedisTokenStore::connect(&url)
        .await
        .unwrap()
        .prefix(fresh_prefix("down"))
        .timeout(Duration::from_millis(300));
    let replica = || {
        sim.client_builder()
            .token_store(shared.clone())
            .build()
            .unwrap()
    };
    let list = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .kf()
                .account()
                .list(ListAccounts::new())
                .await
                .unwrap()
        }
    };
    let gettokens = || sim.counters().gettoken_calls();
    list(&replica()).await;
    assert_eq!(gettokens(), 1);
    list(&replica()).await;
    assert_eq!(
        gettokens(),
        1,
        "the second replica took the token from Redis"
    );

    let port = redis.stop();
    let survivor = replica();
    list(&survivor).await;
    assert_eq!(
        gettokens(),
        2,
        "Redis down: fetched locally, the call served"
    );
    // Two more incidents of a refused token while Redis stays down: served, logged once.
    for expected in [3, 4] {
        sim.expire_tokens();
        list(&survivor).await;
        assert_eq!(gettokens(), expected);
    }
    assert_eq!(captured.lines_with("WARN", "token store unavailable"), 1);

    let _redis = OwnRedis::start(port).expect("redis-server restarts"); // back, and empty
    sim.expire_tokens();
    list(&survivor).await;
    assert_eq!(gettokens(), 5, "fetched under the lease and stored");
    assert_eq!(
        captured.lines_with("INFO", "token store reachable again"),
        1
    );
    list(&replica()).await;
    assert_eq!(gettokens(), 5, "a new replica takes it from Redis again");
}

/// The rate budgets' store going away and coming back: calls go on within the local share,
/// one WARN for the outage, one INFO when Redis answers again.
#[tokio::test]
async fn budgets_run_on_their_share_while_redis_is_down_logged_once() {
    use wecom_kf::budget::{RateBudgets, RedisBudgetStore};
    use wecom_kf::clock::ManualClock;
    if redis_url().is_none() {
        return;
    }
    let (captured, _guard) = capture(FmtSpan::NONE);
    let redis = OwnRedis::start_on_free_port().expect("redis-server on PATH (.ci/run installs it)");
    let sim = Simulator::start().await.unwrap();
    let store = RedisBudgetStore::connect(&redis.url())
        .await
        .unwrap()
        .prefix(fresh_prefix("budget-down"))
        .timeout(Duration::from_millis(300));
    let budgets = RateBudgets::builder()
        .corp(20, 1_000)
        .shared(store)
        .fallback_share(0.5)
        // Ask the store again on every call: the test needs no wait for its return.
        .store_retry(Duration::ZERO)
        .max_wait(Duration::ZERO)
        .clock(ManualClock::new())
        .build();
    let client = sim.client_builder().rate_budgets(budgets).build().unwrap();
    let list = || async {
        client
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .map(|_| ())
    };
    for _ in 0..4 {
        list().await.unwrap();
    }
    let port = redis.stop();
    // Down: this process keeps to half the budget, on its own counts (4 already).
    for _ in 0..6 {
        list().await.unwrap();
    }
    assert!(list().await.unwrap_err().is_rate_limited());
    assert_eq!(
        captured.lines_with("WARN", "rate budget store failed"),
        1,
        "{}",
        captured.text()
    );
    let _redis = OwnRedis::start(port).expect("redis-server restarts"); // back, and empty
    list().await.unwrap();
    assert_eq!(
        captured.lines_with("INFO", "rate budget store answers again"),
        1
    );
}
