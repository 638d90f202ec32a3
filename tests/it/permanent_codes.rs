//! The permanent code store (issue 14): one behaviour suite run against every backend (memory,
//! SQLite through the `sql` feature, Redis when `WECOM_TEST_REDIS_URL` is set, PostgreSQL when
//! `WECOM_TEST_POSTGRES_URL` is set and the feature `sql-postgres` is on), then durability: a
//! SQLite file reopened, two Redis stores on one server. Times are passed in, never slept for.
#![cfg(all(feature = "redis", feature = "sql"))]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{fresh_prefix, redis_url};
use wecom_kf::provider::codes::{
    AUTH_CODE_LIFETIME, AuthCode, MemoryPermanentCodeStore, PermanentCode, PermanentCodeStore,
    RedisPermanentCodeStore, SqlPermanentCodeStore,
};

const SECRETS: [&str; 6] = [
    "PC-ALPHA-secret",
    "PC-BETA-secret",
    "PC-GAMMA-secret",
    "PC-NEW-secret",
    "AC-ONE-secret",
    "AC-TWO-secret",
];

/// A time on a whole millisecond (the durable stores keep milliseconds).
fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_790_000_000_000)
}

fn pc(s: &str) -> PermanentCode {
    PermanentCode::new(s)
}

fn assert_no_secret(rendered: &str) {
    for secret in SECRETS {
        assert!(!rendered.contains(secret), "{secret} leaked in {rendered}");
    }
}

/// The behaviour every store must have. `tag` keeps suite ids apart between runs on a shared
/// server.
async fn behaviour(store: &dyn PermanentCodeStore, tag: &str) {
    let suite_a = format!("wwsuiteA{tag}");
    let suite_b = format!("wwsuiteB{tag}");
    let (a, b) = (suite_a.as_str(), suite_b.as_str());

    // put / get
    assert_eq!(store.get(a, "wwcorp1").await.unwrap(), None);
    store
        .put(a, "wwcorp1", &pc("PC-ALPHA-secret"))
        .await
        .unwrap();
    assert_eq!(
        store.get(a, "wwcorp1").await.unwrap(),
        Some(pc("PC-ALPHA-secret"))
    );
    // Two suites, one corp: separate entries.
    assert_eq!(store.get(b, "wwcorp1").await.unwrap(), None);
    store
        .put(b, "wwcorp1", &pc("PC-BETA-secret"))
        .await
        .unwrap();
    store
        .put(a, "wwcorp2", &pc("PC-GAMMA-secret"))
        .await
        .unwrap();
    assert_eq!(
        store.get(a, "wwcorp1").await.unwrap().unwrap().expose(),
        "PC-ALPHA-secret"
    );
    assert_eq!(
        store.get(b, "wwcorp1").await.unwrap().unwrap().expose(),
        "PC-BETA-secret"
    );
    assert_eq!(store.corps(a).await.unwrap(), ["wwcorp1", "wwcorp2"]);
    assert_eq!(store.corps(b).await.unwrap(), ["wwcorp1"]);

    // rotate answers the code it replaced; on an unknown corp it still stores.
    let old = store
        .rotate(a, "wwcorp1", &pc("PC-NEW-secret"))
        .await
        .unwrap();
    assert_eq!(old, Some(pc("PC-ALPHA-secret")));
    assert_eq!(
        store.get(a, "wwcorp1").await.unwrap(),
        Some(pc("PC-NEW-secret"))
    );
    assert_eq!(
        store.get(b, "wwcorp1").await.unwrap(),
        Some(pc("PC-BETA-secret")),
        "rotating under one suite left the other alone"
    );
    assert_eq!(
        store
            .rotate(a, "wwcorp3", &pc("PC-NEW-secret"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.corps(a).await.unwrap().len(), 3);

    // delete (cancel_auth), under one suite only.
    assert!(store.delete(a, "wwcorp1").await.unwrap());
    assert!(!store.delete(a, "wwcorp1").await.unwrap());
    assert_eq!(store.get(a, "wwcorp1").await.unwrap(), None);
    assert_eq!(
        store.get(b, "wwcorp1").await.unwrap(),
        Some(pc("PC-BETA-secret"))
    );
    assert_eq!(store.corps(a).await.unwrap(), ["wwcorp2", "wwcorp3"]);

    // Pending auth codes live 10 minutes from their receipt.
    let (one, two) = (
        AuthCode::new("AC-ONE-secret"),
        AuthCode::new("AC-TWO-secret"),
    );
    assert!(store.put_pending_auth_code(a, &one, t0()).await.unwrap());
    let later = t0() + Duration::from_secs(60);
    assert!(store.put_pending_auth_code(a, &two, later).await.unwrap());
    // A retried delivery keeps the first receipt time, and says it added nothing.
    assert!(
        !store
            .put_pending_auth_code(a, &one, t0() + Duration::from_secs(120))
            .await
            .unwrap()
    );
    assert!(store.pending_auth_codes(b, t0()).await.unwrap().is_empty());
    let pending = store.pending_auth_codes(a, t0()).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].auth_code, one);
    assert_eq!(pending[0].received_at, t0());
    assert_eq!(pending[0].suite_id, a);
    assert_eq!(pending[1].auth_code, two);
    assert_eq!(pending[1].received_at, later);
    let just_before = t0() + AUTH_CODE_LIFETIME - Duration::from_millis(1);
    assert_eq!(
        store
            .pending_auth_codes(a, just_before)
            .await
            .unwrap()
            .len(),
        2
    );
    let expired_one = store
        .pending_auth_codes(a, t0() + AUTH_CODE_LIFETIME)
        .await
        .unwrap();
    assert_eq!(expired_one.len(), 1);
    assert_eq!(expired_one[0].auth_code, two);
    assert!(
        store
            .pending_auth_codes(a, later + AUTH_CODE_LIFETIME)
            .await
            .unwrap()
            .is_empty()
    );
    assert_no_secret(&format!("{pending:?}"));

    // complete() stores the code and clears the pending auth code.
    store
        .complete(a, &two, "wwcorp9", &pc("PC-GAMMA-secret"))
        .await
        .unwrap();
    assert_eq!(
        store.get(a, "wwcorp9").await.unwrap(),
        Some(pc("PC-GAMMA-secret"))
    );
    let left = store.pending_auth_codes(a, t0()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].auth_code, one);
    // A refused auth code is dropped; a second drop finds nothing.
    assert!(store.discard_pending_auth_code(a, &one).await.unwrap());
    assert!(!store.discard_pending_auth_code(a, &one).await.unwrap());
    assert!(store.pending_auth_codes(a, t0()).await.unwrap().is_empty());

    // A new auth code prunes those expired by its receipt.
    store.put_pending_auth_code(a, &one, t0()).await.unwrap();
    store
        .put_pending_auth_code(a, &two, t0() + AUTH_CODE_LIFETIME)
        .await
        .unwrap();
    let pending = store.pending_auth_codes(a, UNIX_EPOCH).await.unwrap();
    assert_eq!(pending.len(), 1, "the expired auth code was pruned");
    assert_eq!(pending[0].auth_code, two);

    // Nothing the store renders holds a code.
    assert_no_secret(&format!("{store:?}"));
}

/// Concurrent rotations of one corp queue: each answers the code it replaced, so the answers
/// and the final code are the first code and every new one, each exactly once.
async fn rotations_chain(store: Arc<dyn PermanentCodeStore>) {
    store
        .put("wwchain", "wwcorp", &pc("PC-ALPHA-secret"))
        .await
        .unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&store);
        set.spawn(async move {
            store
                .rotate("wwchain", "wwcorp", &pc(&format!("PC-{i}")))
                .await
                .unwrap()
                .unwrap()
                .expose()
                .to_owned()
        });
    }
    let mut seen = Vec::new();
    while let Some(old) = set.join_next().await {
        seen.push(old.unwrap());
    }
    seen.push(
        store
            .get("wwchain", "wwcorp")
            .await
            .unwrap()
            .unwrap()
            .expose()
            .to_owned(),
    );
    seen.sort();
    let mut expected: Vec<String> = (0..8).map(|i| format!("PC-{i}")).collect();
    expected.push("PC-ALPHA-secret".to_owned());
    expected.sort();
    assert_eq!(seen, expected);
}

fn sqlite_file(name: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "wecom-kf-{name}-{}-{nanos:x}.db",
        std::process::id()
    ))
}

fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[tokio::test]
async fn memory_store_behaves() {
    behaviour(&MemoryPermanentCodeStore::new(), "").await;
}

#[tokio::test]
async fn sqlite_memory_store_behaves() {
    let store = SqlPermanentCodeStore::connect("sqlite::memory:")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    behaviour(&store, "").await;
}

#[tokio::test]
async fn sqlite_file_store_behaves_and_survives_a_reopen() {
    let path = sqlite_file("codes");
    let url = sqlite_url(&path);
    {
        let store = SqlPermanentCodeStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        behaviour(&store, "").await;
        store
            .put("wwdurable", "wwcorp", &pc("PC-ALPHA-secret"))
            .await
            .unwrap();
        store
            .put_pending_auth_code("wwdurable", &AuthCode::new("AC-ONE-secret"), t0())
            .await
            .unwrap();
        store.pool().close().await;
    }
    // A new process, so to speak: the same file, migrate() again (idempotent).
    let reopened = SqlPermanentCodeStore::connect(&url).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(
        reopened.get("wwdurable", "wwcorp").await.unwrap(),
        Some(pc("PC-ALPHA-secret"))
    );
    let pending = reopened
        .pending_auth_codes("wwdurable", t0())
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].auth_code.expose(), "AC-ONE-secret");
    reopened.pool().close().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_queue_on_every_backend() {
    rotations_chain(Arc::new(MemoryPermanentCodeStore::new())).await;
    let path = sqlite_file("chain");
    let sqlite = SqlPermanentCodeStore::connect(&sqlite_url(&path))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    rotations_chain(Arc::new(sqlite.clone())).await;
    sqlite.pool().close().await;
    let _ = std::fs::remove_file(&path);
    if let Some(url) = redis_url() {
        let redis = RedisPermanentCodeStore::connect(&url)
            .await
            .unwrap()
            .prefix(fresh_prefix("chain"));
        rotations_chain(Arc::new(redis)).await;
    }
}

#[tokio::test]
async fn sql_errors_name_no_code() {
    // Tables never created: every operation fails with a storage error holding no code.
    let store = SqlPermanentCodeStore::connect("sqlite::memory:")
        .await
        .unwrap();
    let err = store
        .put("wwsuite", "wwcorp", &pc("PC-ALPHA-secret"))
        .await
        .unwrap_err();
    assert!(matches!(err, wecom_kf::Error::Storage(_)), "{err:?}");
    assert!(err.to_string().contains("store a code"), "{err}");
    assert_no_secret(&format!("{err} {err:?} {store:?}"));
    let err = store
        .complete(
            "wwsuite",
            &AuthCode::new("AC-ONE-secret"),
            "wwcorp",
            &pc("PC-BETA-secret"),
        )
        .await
        .unwrap_err();
    assert_no_secret(&format!("{err} {err:?}"));
    // A database that cannot be opened is an error at connect.
    let err = SqlPermanentCodeStore::connect("sqlite:///nonexistent-dir/x/codes.db")
        .await
        .unwrap_err();
    assert!(matches!(err, wecom_kf::Error::Storage(_)), "{err:?}");
}

#[tokio::test]
async fn redis_store_behaves_and_two_instances_share_codes() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("codes");
    let store = RedisPermanentCodeStore::connect(&url)
        .await
        .unwrap()
        .prefix(&prefix);
    behaviour(&store, "").await;

    // Another replica (its own connection) sees what the first stored, and its changes.
    let other = RedisPermanentCodeStore::connect(&url)
        .await
        .unwrap()
        .prefix(&prefix);
    store
        .put("wwshared", "wwcorp", &pc("PC-ALPHA-secret"))
        .await
        .unwrap();
    store
        .put_pending_auth_code("wwshared", &AuthCode::new("AC-ONE-secret"), t0())
        .await
        .unwrap();
    assert_eq!(
        other.get("wwshared", "wwcorp").await.unwrap(),
        Some(pc("PC-ALPHA-secret"))
    );
    assert_eq!(other.corps("wwshared").await.unwrap(), ["wwcorp"]);
    other
        .complete(
            "wwshared",
            &AuthCode::new("AC-ONE-secret"),
            "wwcorp2",
            &pc("PC-BETA-secret"),
        )
        .await
        .unwrap();
    assert!(
        store
            .pending_auth_codes("wwshared", t0())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get("wwshared", "wwcorp2").await.unwrap(),
        Some(pc("PC-BETA-secret"))
    );
    assert!(other.delete("wwshared", "wwcorp").await.unwrap());
    assert_eq!(store.get("wwshared", "wwcorp").await.unwrap(), None);
    assert_no_secret(&format!("{store:?} {other:?}"));
}

#[tokio::test]
async fn redis_bad_data_is_a_storage_error_naming_no_code() {
    let Some(url) = redis_url() else { return };
    let prefix = fresh_prefix("codes-bad");
    let store = RedisPermanentCodeStore::connect(&url)
        .await
        .unwrap()
        .prefix(&prefix);
    // Another program left a string where the hash of codes belongs.
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}wwsuite:codes"))
        .arg("not a hash")
        .query_async(&mut redis)
        .await
        .unwrap();
    let err = store
        .put("wwsuite", "wwcorp", &pc("PC-ALPHA-secret"))
        .await
        .unwrap_err();
    assert!(matches!(err, wecom_kf::Error::Storage(_)), "{err:?}");
    assert_no_secret(&format!("{err} {err:?}"));
    store
        .put_pending_auth_code("wwsuite", &AuthCode::new("AC-ONE-secret"), t0())
        .await
        .unwrap();
    let err = store
        .complete(
            "wwsuite",
            &AuthCode::new("AC-ONE-secret"),
            "wwcorp",
            &pc("PC-BETA-secret"),
        )
        .await
        .unwrap_err();
    assert_no_secret(&format!("{err} {err:?}"));
    // The code could not be stored, so the auth code is still there to exchange again.
    let pending = store.pending_auth_codes("wwsuite", t0()).await.unwrap();
    assert_eq!(pending.len(), 1, "a failed complete() kept the auth code");
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}wwsuite:codes"))
        .query_async(&mut redis)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_errors_name_no_code() {
    // Nothing listens there: a storage error that names the operation, not the code.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", closed.local_addr().unwrap());
    drop(closed);
    let store = RedisPermanentCodeStore::connect(&url)
        .await
        .unwrap()
        .timeout(Duration::from_millis(200));
    let err = store
        .rotate("wwsuite", "wwcorp", &pc("PC-NEW-secret"))
        .await
        .unwrap_err();
    assert!(matches!(err, wecom_kf::Error::Storage(_)), "{err:?}");
    assert!(err.to_string().contains("rotate a code"), "{err}");
    assert_no_secret(&format!("{err} {err:?} {store:?}"));
}

#[cfg(feature = "sql-postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_behaves() {
    let Ok(url) = std::env::var("WECOM_TEST_POSTGRES_URL") else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: set WECOM_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1/test) to run the PostgreSQL store test\n",
        );
        return;
    };
    let store = SqlPermanentCodeStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tag = format!("{}x{nanos:x}", std::process::id());
    behaviour(&store, &tag).await;
    rotations_chain(Arc::new(store.clone())).await;
    assert!(store.delete("wwchain", "wwcorp").await.unwrap());
    // Leave the shared database as it was.
    for suite in [format!("wwsuiteA{tag}"), format!("wwsuiteB{tag}")] {
        for corp in store.corps(&suite).await.unwrap() {
            assert!(store.delete(&suite, &corp).await.unwrap());
        }
        for pending in store.pending_auth_codes(&suite, UNIX_EPOCH).await.unwrap() {
            store
                .discard_pending_auth_code(&suite, &pending.auth_code)
                .await
                .unwrap();
        }
    }
}
