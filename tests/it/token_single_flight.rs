//! Token caching: one gettoken however many callers wait, keyed per credential, fresh by the
//! provider's clock, refreshed ahead in the background, and failures never cached.

use crate::common::{count, drop_server, minting};
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::{Client, RetryConfig, TokenProvider};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "account_list": []})),
        )
        .mount(&server)
        .await;
    server
}

/// The access_token of every list request, in arrival order.
async fn tokens_sent(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| r.url.path() == "/cgi-bin/kf/account/list")
        .map(|r| {
            let tokens: Vec<String> = r
                .url
                .query_pairs()
                .filter(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
                .collect();
            assert_eq!(tokens.len(), 1, "exactly one access_token per request");
            tokens.into_iter().next().unwrap()
        })
        .collect()
}

fn client(server: &MockServer, provider: Option<TokenProvider>) -> Client {
    let mut b = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(server.uri());
    if let Some(p) = provider {
        b = b.token_provider(p);
    }
    b.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_herd_of_200_costs_one_gettoken() {
    let server = server().await;
    let client = client(&server, None);
    let calls = (0..200).map(|_| {
        let c = client.clone();
        async move { c.kf().account().list(ListAccounts::new()).await }
    });
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 1);
    let tokens = tokens_sent(&server).await;
    assert_eq!(tokens.len(), 200);
    assert!(tokens.iter().all(|t| t == "T1"));
    drop_server(server).await;
}

#[tokio::test]
async fn cache_is_keyed_by_corp_and_secret() {
    let server = MockServer::start().await;
    for secret in ["secret-a", "secret-b"] {
        Mock::given(method("GET"))
            .and(path("/cgi-bin/gettoken"))
            .and(query_param("corpsecret", secret))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"errcode": 0, "access_token": format!("tok-{secret}"), "expires_in": 7200}),
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    let provider = TokenProvider::new().unwrap();
    let make = |secret: &str| {
        Client::builder()
            .corp_id("ww1")
            .corp_secret(secret)
            .base_url(server.uri())
            .token_provider(provider.clone())
            .build()
            .unwrap()
    };
    let (a, a_again, b) = (make("secret-a"), make("secret-a"), make("secret-b"));
    assert_eq!(a.access_token().await.unwrap().as_str(), "tok-secret-a");
    assert_eq!(
        a_again.access_token().await.unwrap().as_str(),
        "tok-secret-a"
    );
    assert_eq!(b.access_token().await.unwrap().as_str(), "tok-secret-b");
    assert_eq!(
        provider.fetch_count(),
        2,
        "same credential shares, another secret does not"
    );
    server.verify().await;
}

#[tokio::test]
async fn freshness_follows_the_providers_clock() {
    let server = server().await;
    let clock = ManualClock::new();
    let provider = TokenProvider::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = client(&server, Some(provider));
    let list = || client.kf().account().list(ListAccounts::new());

    list().await.unwrap();
    clock.advance(Duration::from_secs(6000));
    list().await.unwrap();
    assert_eq!(
        count(&server, "/cgi-bin/gettoken").await,
        1,
        "still fresh at 6000 s"
    );

    // Past 7200 - 300 s: stale, so the next call waits for a new token and uses it.
    clock.advance(Duration::from_secs(900));
    list().await.unwrap();
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2);
    assert_eq!(tokens_sent(&server).await, ["T1", "T1", "T2"]);
}

#[tokio::test]
async fn refresh_ahead_runs_in_the_background_while_the_old_token_serves() {
    let server = server().await;
    let clock = ManualClock::new();
    let provider = TokenProvider::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = client(&server, Some(provider.clone()));
    let list = || client.kf().account().list(ListAccounts::new());

    list().await.unwrap();
    // Inside the refresh-ahead window (6600..6900 s): served at once with T1.
    clock.advance(Duration::from_secs(6700));
    list().await.unwrap();
    assert_eq!(tokens_sent(&server).await, ["T1", "T1"]);

    // The background refresh lands; wait for it with a bounded poll, not a fixed sleep.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while client.access_token().await.unwrap().as_str() != "T2" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "background refresh never landed"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    list().await.unwrap();
    assert_eq!(tokens_sent(&server).await, ["T1", "T1", "T2"]);
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2);
    assert_eq!(provider.fetch_count(), 2, "exactly one background refresh");
}

#[tokio::test]
async fn access_token_is_public_but_never_printed() {
    let server = server().await;
    let client = client(&server, None);
    let token = client.access_token().await.unwrap();
    assert_eq!(token.as_str(), "T1");
    assert!(!format!("{token} {token:?} {token:#?}").contains("T1"));
    assert_eq!(token.lifetime(), Duration::from_secs(7200));
}

#[tokio::test]
async fn a_failed_gettoken_is_not_cached() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(&server)
        .await;
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(server.uri())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let err = client.access_token().await.unwrap_err();
    assert!(
        matches!(err, wecom_kf::Error::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(client.access_token().await.unwrap().as_str(), "T1");
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2);
}

#[tokio::test]
async fn gettoken_is_retried_on_transient_failures() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": -1, "errmsg": "busy"})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(&server)
        .await;
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(server.uri())
        .retry(RetryConfig::default().backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .build()
        .unwrap();
    assert_eq!(client.access_token().await.unwrap().as_str(), "T1");
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 3);
}
