//! Tokens and `sync_msg` cursors shared through a real Redis (feature `redis`). Every test needs
//! `WECOM_TEST_REDIS_URL` (`.ci/run` sets it and starts Redis); without it each test says so and
//! returns. Each test uses keys of its own, so runs never see each other's tokens.
#![cfg(feature = "redis")]

use std::time::Duration;

use crate::common::own_redis::OwnRedis;
use crate::common::{fresh_prefix, redis_url};
use futures_util::StreamExt;
use tokio::task::JoinSet;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::kf::message::{CursorStore, MessageContent, RedisCursorStore};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::token::{Credential, RedisTokenStore, TokenStore};
use wecom_kf::{Client, Error};

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

    // What Redis holds: one key, named by corp id and fingerprint (never the secret), the token
    // with its times, and a Redis TTL that ends with the token.
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    let credential =
        Credential::with_api_base(sim.corp_id(), sim.corp_secret(), &sim.base_url()).unwrap();
    assert_eq!(keys, [format!("{prefix}{}", credential.store_key())]);
    assert!(keys[0].contains(sim.corp_id()) && !keys[0].contains(sim.corp_secret()));
    let (token, ttl_ms): (String, i64) = redis::pipe()
        .cmd("HGET")
        .arg(&keys[0])
        .arg("token")
        .cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(token, clients[0].access_token().await.unwrap().as_str());
    assert!(ttl_ms > 7_000_000 && ttl_ms <= 7_200_000, "PTTL {ttl_ms}");
}

#[tokio::test]
async fn the_store_never_shows_the_redis_password() {
    // A closed port: connecting is lazy, so this succeeds and only warns.
    let store = RedisTokenStore::connect("redis://:hunter2@127.0.0.1:1/3")
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(shown.contains("127.0.0.1:1"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
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

/// A caller cancelled mid-refresh (a request timeout, a task aborted) gives its lease back at
/// once: with a 60 s lease, the others are served long before it would lapse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_cancelled_while_holding_the_lease_gives_it_back() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("aborted");
    let sim = Simulator::start().await.unwrap();
    // The first gettoken hangs: its caller takes the lease, starts fetching, and is aborted.
    sim.inject("gettoken", Fault::Hold, 1);
    let lease_ttl = Duration::from_secs(60);
    let doomed = sim
        .client_builder()
        .token_store(store(&url, &prefix).await.lease_ttl(lease_ttl))
        .build()
        .unwrap();
    let refresh = tokio::spawn(async move { doomed.access_token().await });
    sim.wait_for_calls("gettoken", 1).await;
    refresh.abort();
    assert!(refresh.await.unwrap_err().is_cancelled());

    let survivor = sim
        .client_builder()
        .token_store(store(&url, &prefix).await.lease_ttl(lease_ttl))
        .build()
        .unwrap();
    let mut calls = JoinSet::new();
    burst(&survivor, 20, &mut calls);
    // A bound only to turn a wait for the lease's 60 s into a failure, not a measurement.
    tokio::time::timeout(Duration::from_secs(30), join(calls))
        .await
        .expect("the survivor waited for the abandoned lease");
    assert_eq!(survivor.token_provider().fetch_count(), 1);
    assert_eq!(sim.counters().effects("gettoken"), 1, "the survivor's");
}

/// What a replica process needs, passed from the parent test in one variable.
const REPLICA_SPEC: &str = "WECOM_TEST_REPLICA";
const REPLICA_CALLS: usize = 20;

/// Runs only as a child process of `separate_os_processes_share_one_gettoken` (the variable
/// tells it what to do); in a normal run it returns at once. One replica: its own provider and
/// Redis connection, concurrent calls.
#[test]
fn replica_process() {
    let Ok(spec) = std::env::var(REPLICA_SPEC) else {
        return;
    };
    let [base, corp, secret, redis, prefix]: [&str; 5] =
        spec.split('\n').collect::<Vec<_>>().try_into().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = RedisTokenStore::connect(redis)
            .await
            .unwrap()
            .prefix(prefix);
        let client = Client::builder()
            .corp_id(corp)
            .corp_secret(secret)
            .base_url(base)
            .token_store(store)
            .build()
            .unwrap();
        let mut calls = JoinSet::new();
        burst(&client, REPLICA_CALLS, &mut calls);
        join(calls).await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_os_processes_share_one_gettoken() {
    const REPLICAS: usize = 4;
    let Some(url) = redis_url() else { return };
    let sim = Simulator::start().await.unwrap();
    let base = sim.base_url();
    let prefix = fresh_prefix("processes");
    let spec = [
        base.as_str(),
        sim.corp_id(),
        sim.corp_secret(),
        url.as_str(),
        prefix.as_str(),
    ]
    .join("\n");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..REPLICAS)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "redis_store::replica_process",
                    "--test-threads",
                    "1",
                ])
                .env(REPLICA_SPEC, &spec)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Waiting on processes blocks; the simulator keeps serving on the runtime meanwhile.
    let statuses = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|mut child| child.wait().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
    let counters = sim.counters();
    assert_eq!(counters.gettoken_calls(), 1);
    assert_eq!(
        counters.effects("kf/account/list"),
        (REPLICAS * REPLICA_CALLS) as u64
    );
}

/// The texts of every message a fresh `sync_msg` stream hands out with `store`.
async fn sync_all(client: &Client, open_kfid: &str, store: &dyn CursorStore) -> Vec<String> {
    let stream = client.kf().message().sync_stream(open_kfid, None, store);
    futures_util::pin_mut!(stream);
    let mut texts = Vec::new();
    while let Some(message) = stream.next().await {
        match message.unwrap().content {
            MessageContent::Text { content, .. } => texts.push(content),
            other => panic!("{other:?}"),
        }
    }
    texts
}

#[tokio::test]
async fn sync_cursors_kept_in_redis_survive_a_restart() {
    let Some(url) = redis_url() else { return };
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "m");
    for i in 1..=3 {
        sim.customer_says(&open_kfid, "wmALICE", &format!("m{i}"));
    }
    let prefix = fresh_prefix("cursor");
    let first = RedisCursorStore::connect(&url)
        .await
        .unwrap()
        .prefix(&prefix);
    assert_eq!(first.load(&open_kfid).await.unwrap(), None);
    assert_eq!(
        sync_all(&client, &open_kfid, &first).await,
        ["m1", "m2", "m3"]
    );

    // What Redis holds under the documented key is the cursor the store reports.
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let held: Option<String> = redis::cmd("GET")
        .arg(format!("{prefix}{open_kfid}"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(held.is_some());
    assert_eq!(held, first.load(&open_kfid).await.unwrap());

    // A restarted bot (a new connection) resumes after what it already handled.
    drop(first);
    sim.customer_says(&open_kfid, "wmALICE", "m4");
    let restarted = RedisCursorStore::connect(&url)
        .await
        .unwrap()
        .prefix(&prefix);
    assert_eq!(sync_all(&client, &open_kfid, &restarted).await, ["m4"]);
    assert!(sync_all(&client, &open_kfid, &restarted).await.is_empty());
    assert_eq!(restarted.load("wkother").await.unwrap(), None);
}

/// Without its cursor the stream cannot know where to start: it ends with `Error::Storage`
/// before asking WeCom for anything, so no message is handed out twice.
#[tokio::test]
async fn an_unreachable_cursor_store_ends_the_stream_before_any_sync() {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "m");
    sim.customer_says(&open_kfid, "wmALICE", "hello");
    // A closed port: connecting is lazy, so this succeeds and only warns.
    let store = RedisCursorStore::connect("redis://:hunter2@127.0.0.1:1")
        .await
        .unwrap()
        .timeout(Duration::from_millis(300));
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2"), "{shown}");

    let stream = client.kf().message().sync_stream(&open_kfid, None, &store);
    futures_util::pin_mut!(stream);
    let first = stream.next().await.unwrap();
    assert!(matches!(&first, Err(Error::Storage(_))), "{first:?}");
    assert!(!format!("{first:?}").contains("hunter2"));
    assert!(stream.next().await.is_none(), "the stream ends");
    assert_eq!(sim.counters().calls("kf/sync_msg"), 0);
}

/// A store's `timeout` is the bound on each command, whatever it is: a server that stalls for
/// a second is waited for under a 10 s bound, and given up on under a 200 ms one.
#[tokio::test]
async fn the_configured_timeout_is_the_bound_on_each_command() {
    if redis_url().is_none() {
        return;
    }
    // A server of the test's own: pausing it must not stall the other tests.
    let redis = OwnRedis::start_on_free_port().expect("redis-server on PATH (.ci/run installs it)");
    let url = redis.url();
    let patient = RedisCursorStore::connect(&url)
        .await
        .unwrap()
        .timeout(Duration::from_secs(10));
    let hasty = RedisCursorStore::connect(&url)
        .await
        .unwrap()
        .timeout(Duration::from_millis(200));
    patient.save("wkA", "c1").await.unwrap();
    assert_eq!(hasty.load("wkA").await.unwrap().as_deref(), Some("c1"));

    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg(&["PAUSE", "1000", "ALL"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let (waited, gave_up) = tokio::join!(patient.load("wkA"), hasty.load("wkA"));
    assert_eq!(waited.unwrap().as_deref(), Some("c1"));
    assert!(matches!(&gave_up, Err(Error::Storage(_))), "{gave_up:?}");
}
