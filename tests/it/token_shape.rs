//! A token that would break every request it rides on never enters: not from `gettoken`, not
//! from a shared store (where it is reported and replaced), and a URL the server finds too
//! long is treated as a refused token.

use std::time::{Duration, SystemTime};

use serde_json::json;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::simulator::Simulator;
use wecom_kf::token::{Credential, RedisTokenStore, SharedToken, TokenStore};
use wecom_kf::{Client, Error};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{count, fast_retry, fresh_prefix, minting, redis_url};

fn client_on(base: &str) -> Client {
    Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(base)
        .retry(fast_retry())
        .build()
        .unwrap()
}

/// A 16 KB token got HTTP 414 on every call and was never replaced.
#[tokio::test]
async fn gettoken_cannot_hand_out_a_token_that_breaks_urls() {
    for bad in ["T".repeat(16 * 1024), "T1 T2&x=y".to_owned()] {
        let server = MockServer::start().await;
        Mock::given(path("/cgi-bin/gettoken"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"errcode": 0, "access_token": bad, "expires_in": 7200})),
            )
            .mount(&server)
            .await;
        let client = client_on(&server.uri());
        for _ in 0..2 {
            let error = client.access_token().await.unwrap_err();
            assert!(
                matches!(&error, Error::Decode { reason, .. } if reason.contains("access_token")),
                "{error}"
            );
        }
        assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2, "never cached");
    }
}

/// The same value in Redis broke every replica, new ones too, with zero `gettoken` calls,
/// until a person deleted the key.
#[tokio::test]
async fn a_store_value_that_cannot_be_a_token_is_replaced() {
    let Some(url) = redis_url() else { return };
    let sim = Simulator::start().await.unwrap();
    let store = RedisTokenStore::connect(&url)
        .await
        .unwrap()
        .prefix(fresh_prefix("shape"));
    let credential =
        Credential::with_api_base(sim.corp_id(), sim.corp_secret(), &sim.base_url()).unwrap();
    let key = credential.store_key();
    let now = SystemTime::now();
    let bad = "T".repeat(16 * 1024);
    store
        .put(
            &key,
            &SharedToken::new(&bad, now, now + Duration::from_secs(7200)),
        )
        .await
        .unwrap();
    let client = sim
        .client_builder()
        .token_store(store.clone())
        .build()
        .unwrap();
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    let counters = sim.counters();
    assert_eq!(
        counters.gettoken_calls(),
        1,
        "fetched instead of the bad value"
    );
    assert_eq!(
        counters.calls("kf/account/list"),
        1,
        "no call went out on the bad value"
    );
    let stored = store
        .get(&key)
        .await
        .unwrap()
        .expect("a token is stored again");
    assert_eq!(stored.value, client.access_token().await.unwrap().as_str());
    assert_ne!(stored.value, bad);
}

/// A server that finds the URL too long (a proxy with a short limit, say) has refused that
/// token: it is replaced once and the call replayed.
#[tokio::test]
async fn http_414_replaces_the_token_once() {
    const LIST: &str = "/cgi-bin/kf/account/list";
    let server = MockServer::start().await;
    Mock::given(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .and(query_param("access_token", "T1"))
        .respond_with(ResponseTemplate::new(414))
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
    let client = client_on(&server.uri());
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert_eq!(count(&server, "/cgi-bin/gettoken").await, 2);
    assert_eq!(count(&server, LIST).await, 2);
}
