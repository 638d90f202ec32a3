//! A rejected token (42001, 40014, 41001) is replaced once — compare-and-refresh — and the call
//! replayed once; bad credentials (40001, 40013) are final.

use crate::common::{count, drop_server, errcode, fast_retry, minting};
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use wecom_kf::kf::account::{AddAccount, ListAccounts};
use wecom_kf::simulator::Simulator;
use wecom_kf::{Client, Error};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const LIST: &str = "/cgi-bin/kf/account/list";

fn client(server: &MockServer) -> Client {
    Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(server.uri())
        .retry(fast_retry())
        .build()
        .unwrap()
}

async fn gettoken_minting(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(server)
        .await;
}

/// 200 concurrent calls all rejected with `code` on T1 → one refresh, all succeed on T2.
/// (41001 cannot come from the simulator, whose client always sends a token.)
async fn storm(code: i64) {
    let server = MockServer::start().await;
    gettoken_minting(&server).await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .and(query_param("access_token", "T1"))
        .respond_with(errcode(code))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .and(query_param("access_token", "T2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "account_list": []})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.access_token().await.unwrap().as_str(), "T1");
    let calls = (0..200).map(|_| {
        let c = client.clone();
        async move { c.kf().account().list(ListAccounts::new()).await }
    });
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "errcode {code}");
    assert_eq!(
        count(&server, "/cgi-bin/gettoken").await,
        2,
        "errcode {code}: 1 cold + 1 refresh"
    );
    // Every call ends with exactly one request on the fresh token; calls that started after
    // the refresh never saw T1 (how many did depends on scheduling, so it is only bounded).
    let requests = server.received_requests().await.unwrap();
    let on = |t: &str| {
        let sent_with = |r: &&Request| {
            r.url.path() == LIST
                && r.url
                    .query_pairs()
                    .any(|(k, v)| k == "access_token" && v == t)
        };
        requests.iter().filter(sent_with).count()
    };
    assert_eq!(on("T2"), 200, "errcode {code}");
    assert!(on("T1") >= 1 && on("T1") <= 200, "errcode {code}");
    assert_eq!(count(&server, LIST).await, on("T1") + on("T2"));
    drop_server(server).await;
}

/// 200 concurrent calls on a token the simulator has expired (42001) or revoked (40014):
/// one refresh, every call answered once.
async fn simulated_storm(revoke: bool) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().retry(fast_retry()).build().unwrap();
    client.access_token().await.unwrap();
    if revoke {
        sim.revoke_tokens();
    } else {
        sim.expire_tokens();
    }
    let calls = (0..200).map(|_| {
        let c = client.clone();
        async move { c.kf().account().list(ListAccounts::new()).await }
    });
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "revoke: {revoke}");
    let counters = sim.counters();
    assert_eq!(counters.gettoken_calls(), 2, "1 cold + 1 refresh");
    assert_eq!(counters.effects(LIST), 200, "each call answered once");
    // Calls that started after the refresh never saw the old token: only bounded.
    let rejected = counters.calls(LIST) - 200;
    assert!((1..=200).contains(&rejected), "{rejected} rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_42001_costs_one_extra_gettoken() {
    simulated_storm(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_40014_costs_one_extra_gettoken() {
    simulated_storm(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_41001_costs_one_extra_gettoken() {
    storm(41001).await;
}

#[tokio::test]
async fn fresh_token_also_rejected_is_an_error_after_one_replay() {
    let server = MockServer::start().await;
    gettoken_minting(&server).await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .respond_with(errcode(42001))
        .mount(&server)
        .await;
    let err = client(&server)
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert!(err.is_token_rejected(), "{err:?}");
    assert_eq!(err.api().unwrap().code(), 42001);
    assert_eq!(
        count(&server, LIST).await,
        2,
        "the call and one replay, no loop"
    );
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2);
}

#[tokio::test]
async fn a_non_idempotent_call_is_replayed_after_a_token_rejection() {
    let server = MockServer::start().await;
    gettoken_minting(&server).await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/add"))
        .and(query_param("access_token", "T1"))
        .respond_with(errcode(42001))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/add"))
        .and(query_param("access_token", "T2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "open_kfid": "wk1"})),
        )
        .mount(&server)
        .await;
    let created = client(&server)
        .kf()
        .account()
        .add(AddAccount::new("n", "m"))
        .await
        .unwrap();
    assert_eq!(created.open_kfid, "wk1");
    assert_eq!(count(&server, "/cgi-bin/kf/account/add").await, 2);
}

/// A bad credential from gettoken is final: one gettoken, no API call, no refresh loop, even
/// with retries on and 200 callers waiting.
async fn bad_credential(code: i64) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(errcode(code))
        .mount(&server)
        .await;
    let client = client(&server);
    let calls = (0..200).map(|_| {
        let c = client.clone();
        async move { c.kf().account().list(ListAccounts::new()).await }
    });
    for result in join_all(calls).await {
        let err = result.unwrap_err();
        assert!(matches!(&err, Error::Api(e) if e.code() == code), "{err:?}");
        assert!(err.is_configuration());
        assert_eq!(err.api().unwrap().endpoint(), "/cgi-bin/gettoken");
    }
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 1);
    assert_eq!(count(&server, LIST).await, 0);
    drop_server(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_secret_40001_is_final() {
    bad_credential(40001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_corp_id_40013_is_final() {
    bad_credential(40013).await;
}

#[tokio::test]
async fn errcode_40001_from_an_api_call_does_not_refresh() {
    let server = MockServer::start().await;
    gettoken_minting(&server).await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .respond_with(errcode(40001))
        .mount(&server)
        .await;
    let err = client(&server)
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().code(), 40001);
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 1);
    assert_eq!(count(&server, LIST).await, 1);
}

#[tokio::test]
async fn a_bad_secret_is_asked_again_only_after_the_cooldown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(errcode(40001))
        .mount(&server)
        .await;
    let clock = wecom_kf::clock::ManualClock::new();
    let provider = wecom_kf::TokenProvider::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("wrong")
        .base_url(server.uri())
        .token_provider(provider)
        .build()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            client
                .access_token()
                .await
                .unwrap_err()
                .api()
                .unwrap()
                .code(),
            40001
        );
    }
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 1);
    clock.advance(Duration::from_secs(9));
    assert!(client.access_token().await.is_err());
    assert_eq!(
        count(&server, "/cgi-bin/gettoken").await,
        1,
        "still within the 10 s cooldown"
    );
    clock.advance(Duration::from_secs(2));
    assert!(client.access_token().await.is_err());
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2);
}
