//! Tokens shared through a real Redis (feature `redis`). Every test needs
//! `WECOM_TEST_REDIS_URL` (`.ci/run` sets it and starts Redis); without it each test says so and
//! returns. Each test uses keys of its own, so runs never see each other's tokens.
#![cfg(feature = "redis")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;
use wecom_kf::Client;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::simulator::Simulator;
use wecom_kf::token::{Credential, RedisTokenStore, TokenStore};

/// The Redis to test against, or `None` (with a message) when the tests should not run.
fn redis_url() -> Option<String> {
    let url = std::env::var("WECOM_TEST_REDIS_URL").ok();
    if url.is_none() {
        eprintln!(
            "skipped: set WECOM_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis token-store tests"
        );
    }
    url
}

/// A key prefix no other test or run uses.
fn fresh_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("wecom-kf-test:{test}:{}:{nanos:x}:", std::process::id())
}

async fn store(url: &str, prefix: &str) -> RedisTokenStore {
    RedisTokenStore::connect(url).await.unwrap().prefix(prefix)
}

/// `calls` concurrent list calls on `client`; all must succeed.
fn burst(client: &Client, calls: usize, set: &mut JoinSet<()>) {
    for _ in 0..calls {
        let client = client.clone();
        set.spawn(async move {
            client
                .kf()
                .account()
                .list(ListAccounts::new())
                .await
                .unwrap();
        });
    }
}

async fn join(mut set: JoinSet<()>) {
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_providers_on_a_cold_store_cost_one_gettoken() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("cold");
    let sim = Simulator::start().await.unwrap();
    // Separate providers and separate connections, as separate processes would have.
    let mut clients = Vec::new();
    for _ in 0..5 {
        let store = store(&url, &prefix).await;
        clients.push(sim.client_builder().token_store(store).build().unwrap());
    }
    let mut calls = JoinSet::new();
    for client in &clients {
        burst(client, 40, &mut calls);
    }
    join(calls).await;
    let counters = sim.counters();
    assert_eq!(counters.gettoken_calls(), 1);
    assert_eq!(counters.effects("kf/account/list"), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_42001_from_many_clients_costs_one_extra_gettoken() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("storm");
    let sim = Simulator::start().await.unwrap();
    let mut clients = Vec::new();
    for _ in 0..4 {
        let store = store(&url, &prefix).await;
        clients.push(sim.client_builder().token_store(store).build().unwrap());
    }
    for client in &clients {
        client.access_token().await.unwrap();
    }
    assert_eq!(sim.counters().gettoken_calls(), 1);
    // Every client's cached token is now refused with 42001: each removes it from Redis only
    // if Redis still holds it, and one lease holder fetches the next.
    sim.expire_tokens();
    let mut calls = JoinSet::new();
    for client in &clients {
        burst(client, 50, &mut calls);
    }
    join(calls).await;
    let counters = sim.counters();
    assert_eq!(counters.gettoken_calls(), 2);
    assert_eq!(counters.effects("kf/account/list"), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_whose_holder_died_lapses_and_another_client_fetches() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("lease");
    let sim = Simulator::start().await.unwrap();
    let credential =
        Credential::with_api_base(sim.corp_id(), sim.corp_secret(), &sim.base_url()).unwrap();
    // A process takes the lease to refresh, then dies without giving it back.
    let crashed = store(&url, &prefix)
        .await
        .lease_ttl(Duration::from_millis(300));
    let lease = crashed.try_lease(&credential.store_key()).await.unwrap();
    assert!(lease.is_some(), "the lease was free");
    drop(lease);
    let survivor = store(&url, &prefix)
        .await
        .lease_ttl(Duration::from_millis(300));
    let client = sim
        .client_builder()
        .token_store(survivor.clone())
        .build()
        .unwrap();
    let mut calls = JoinSet::new();
    burst(&client, 20, &mut calls);
    join(calls).await;
    assert_eq!(sim.counters().gettoken_calls(), 1);
    // The survivor stored the token it fetched and gave its own lease back.
    let shared = survivor.get(&credential.store_key()).await.unwrap();
    assert_eq!(
        shared.map(|t| t.value),
        Some(client.access_token().await.unwrap().as_str().to_owned())
    );
    assert!(
        survivor
            .try_lease(&credential.store_key())
            .await
            .unwrap()
            .is_some(),
        "the lease is free again"
    );
}
