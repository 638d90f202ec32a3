//! What another program may leave in Redis under the store's keys: a lease without a TTL,
//! values of the wrong type, a hash without its fields. None of it stops sharing: it is read
//! as none, reported at its key, and written over.

use std::time::Duration;

use wecom_kf::kf::account::ListAccounts;
use wecom_kf::simulator::Simulator;
use wecom_kf::token::{Credential, RedisTokenStore, StoreKey, TokenStore};

use crate::common::{fresh_prefix, redis_url};

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The simulator, a store on it under a fresh prefix, and the names Redis knows its keys by.
struct Setup {
    sim: Simulator,
    store: RedisTokenStore,
    key: StoreKey,
    token_key: String,
    lease_key: String,
}

async fn setup(url: &str, test: &str) -> Setup {
    let sim = Simulator::start().await.unwrap();
    let prefix = fresh_prefix(test);
    let store = RedisTokenStore::connect(url)
        .await
        .unwrap()
        .prefix(&prefix)
        .lease_ttl(Duration::from_secs(10));
    let credential =
        Credential::with_api_base(sim.corp_id(), sim.corp_secret(), &sim.base_url()).unwrap();
    let key = credential.store_key();
    let token_key = format!("{prefix}{key}");
    let lease_key = format!("{token_key}:lease");
    Setup {
        sim,
        store,
        key,
        token_key,
        lease_key,
    }
}

impl Setup {
    /// One call through a client on the store; then what Redis holds as the token.
    async fn call_and_read(&self, redis: &mut redis::aio::MultiplexedConnection) -> Option<String> {
        let client = self
            .sim
            .client_builder()
            .token_store(self.store.clone())
            .build()
            .unwrap();
        client
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap();
        let stored: Option<String> = redis::cmd("HGET")
            .arg(&self.token_key)
            .arg("token")
            .query_async(redis)
            .await
            .unwrap();
        assert_eq!(
            stored.as_deref(),
            Some(client.access_token().await.unwrap().as_str())
        );
        stored
    }
}

/// A lease key without a TTL (written by another program) made every load in every replica
/// wait 20 s, for ever, and no token was stored.
#[tokio::test]
async fn a_lease_without_a_ttl_is_taken_over() {
    let Some(url) = redis_url() else { return };
    let mut redis = raw(&url).await;
    for stale in ["someone-else", "42-abc-0@1000"] {
        let s = setup(&url, "lease-no-ttl").await;
        let _: () = redis::cmd("SET")
            .arg(&s.lease_key)
            .arg(stale)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert!(
            s.call_and_read(&mut redis).await.is_some(),
            "{stale}: stored"
        );
        let held: Option<String> = redis::cmd("GET")
            .arg(&s.lease_key)
            .query_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(held, None, "{stale}: the lease was released after use");
        assert_eq!(s.sim.counters().gettoken_calls(), 1, "{stale}");
    }
}

/// A live lease (another replica's, with its TTL) is still respected; a lease taken now by this
/// store is too.
#[tokio::test]
async fn a_live_lease_is_respected() {
    let Some(url) = redis_url() else { return };
    let mut redis = raw(&url).await;
    let s = setup(&url, "lease-live").await;
    let _: () = redis::cmd("SET")
        .arg(&s.lease_key)
        .arg("other-replica")
        .arg("PX")
        .arg(5_000)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(s.store.try_lease(&s.key).await.unwrap().is_none());
    let _: () = redis::cmd("DEL")
        .arg(&s.lease_key)
        .query_async(&mut redis)
        .await
        .unwrap();
    let lease = s.store.try_lease(&s.key).await.unwrap().expect("free");
    assert!(
        s.store.try_lease(&s.key).await.unwrap().is_none(),
        "taken now: alive"
    );
    s.store.release(&s.key, &lease).await.unwrap();
    assert!(
        s.store.try_lease(&s.key).await.unwrap().is_some(),
        "released"
    );
}

/// Values of the wrong type turned sharing off for good, with a warning that blamed "store
/// unavailable": now they read as none and the next write replaces them.
#[tokio::test]
async fn bad_data_under_the_token_key_is_written_over() {
    let Some(url) = redis_url() else { return };
    let mut redis = raw(&url).await;
    let bad: [&[&str]; 4] = [
        &["SET", "", "a string"],
        &["RPUSH", "", "a", "list"],
        &[
            "HSET", "", "token", "T", "obtained", "soon", "expires", "later",
        ],
        &["HSET", "", "something", "else"],
    ];
    for command in bad {
        let s = setup(&url, "bad-data").await;
        let mut cmd = redis::cmd(command[0]);
        cmd.arg(&s.token_key);
        for arg in &command[2..] {
            cmd.arg(*arg);
        }
        let _: () = cmd.query_async(&mut redis).await.unwrap();
        assert!(
            s.store.get(&s.key).await.unwrap().is_none(),
            "{command:?}: read as none, not as an outage"
        );
        s.call_and_read(&mut redis).await;
        assert_eq!(s.sim.counters().gettoken_calls(), 1, "{command:?}");
        // Sharing is on: the repaired token serves the next replica without a gettoken.
        let stored = s.store.get(&s.key).await.unwrap().expect("repaired");
        assert!(!stored.value.is_empty(), "{command:?}");
    }
}
