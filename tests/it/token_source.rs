//! Tokens from a source of the user's own (the seam the provider family's tokens come
//! through): cached and shared like `gettoken`'s, and replaced through the same source when
//! WeCom refuses one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use serde_json::json;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::token::{Credential, FetchedToken, TokenSource};
use wecom_kf::{Client, TokenProvider};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{count, errcode, fast_retry};

/// Hands out CUSTOM-1, CUSTOM-2, … and counts how often it was asked.
#[derive(Debug, Clone, Default)]
struct Numbered(Arc<AtomicU64>);

#[async_trait]
impl TokenSource for Numbered {
    async fn fetch(&self, _: &Credential) -> wecom_kf::Result<FetchedToken> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        FetchedToken::new(format!("CUSTOM-{n}"), Duration::from_secs(7200))
    }
}

fn client_on(server: &MockServer, source: &Numbered) -> Client {
    let provider = TokenProvider::builder()
        .source(source.clone())
        .build()
        .unwrap();
    Client::builder()
        .corp_id("ww1")
        .corp_secret("unused by this source")
        .base_url(server.uri())
        .retry(fast_retry())
        .token_provider(provider)
        .build()
        .unwrap()
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch_from_the_source() {
    let server = MockServer::start().await;
    let source = Numbered::default();
    let client = client_on(&server, &source);
    let tokens = join_all((0..50).map(|_| client.access_token())).await;
    assert!(
        tokens
            .iter()
            .all(|t| t.as_ref().unwrap().as_str() == "CUSTOM-1")
    );
    assert_eq!(source.0.load(Ordering::SeqCst), 1);
    assert_eq!(client.token_provider().fetch_count(), 1);
    assert_eq!(
        count(&server, "/cgi-bin/gettoken").await,
        0,
        "gettoken is not the source"
    );
}

#[tokio::test]
async fn a_refused_token_is_replaced_through_the_source_and_the_call_replayed() {
    const LIST: &str = "/cgi-bin/kf/account/list";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .and(query_param("access_token", "CUSTOM-1"))
        .respond_with(errcode(42001))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .and(query_param("access_token", "CUSTOM-2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "account_list": []})),
        )
        .mount(&server)
        .await;
    let source = Numbered::default();
    let client = client_on(&server, &source);
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert_eq!(
        source.0.load(Ordering::SeqCst),
        2,
        "cold fetch, then one refresh"
    );
    assert_eq!(
        count(&server, LIST).await,
        2,
        "the call, and its one replay"
    );
}
