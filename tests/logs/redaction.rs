//! Every `tracing` event emitted while the SDK works — ours, reqwest-retry's and any other
//! dependency's that logs through `tracing`, at TRACE — is free of the corp secret and the access
//! token, through successes, retries, refreshes and failures.

use crate::capture::capture;
use crate::common::closed_port_base;

use std::time::Duration;

use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use wecom_kf::kf::account::{AddAccount, ListAccounts};
use wecom_kf::{Client, RetryConfig};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "CORP-SECRET-XYZ";
const TOKEN_1: &str = "TOKEN-ONE-111";
const TOKEN_2: &str = "TOKEN-TWO-222";

fn token_reply(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}),
    )
}

// current_thread runtime: every task runs on this thread, under the thread-local subscriber.
#[tokio::test]
async fn nothing_logged_carries_a_secret() {
    let (captured, _guard) = capture(FmtSpan::NONE);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(token_reply(TOKEN_1))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(token_reply(TOKEN_2))
        .mount(&server)
        .await;
    // TOKEN_1 is rejected (refresh path), then -1 once (retry path), then ok.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .and(query_param("access_token", TOKEN_1))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 42001, "errmsg": "access_token expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": -1, "errmsg": "busy"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "account_list": []})),
        )
        .mount(&server)
        .await;
    // add times out: an OutcomeUnknown whose cause came through the transport.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/add"))
        .respond_with(ResponseTemplate::new(502).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;

    let fast = RetryConfig::default().backoff(Duration::from_millis(1), Duration::from_millis(5));
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret(SECRET)
        .base_url(server.uri())
        .timeout(Duration::from_millis(300))
        .retry(fast.clone())
        .build()
        .unwrap();
    let accounts = client.kf().account();
    accounts.list(ListAccounts::new()).await.unwrap();
    let add = accounts.add(AddAccount::new("a", "m")).await.unwrap_err();
    assert!(
        matches!(add, wecom_kf::Error::OutcomeUnknown { .. }),
        "{add:?}"
    );

    // A refused port: the gettoken URL (with the secret) is in reqwest's error.
    let base = closed_port_base();
    let refused = Client::builder()
        .corp_id("ww1")
        .corp_secret(SECRET)
        .base_url(base)
        .retry(fast)
        .build()
        .unwrap();
    let err = refused
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    tracing::error!(error = %err, debug = ?err, "reported by the test");

    let logs = captured.text();
    assert!(
        logs.contains("attempt answered"),
        "the capture must see the SDK's own events:\n{logs}"
    );
    assert!(
        logs.contains("Retry attempt"),
        "and reqwest-retry's:\n{logs}"
    );
    for secret in [SECRET, TOKEN_1, TOKEN_2] {
        assert!(!logs.contains(secret), "{secret} leaked into logs:\n{logs}");
    }
}

/// One DEBUG span per attempt, named by endpoint, carrying what the attempt came to; a retry
/// is a span of its own, and the token layer's refresh and replay belong to the attempt they
/// repair.
#[tokio::test]
async fn each_attempt_is_a_span_that_names_its_endpoint_and_outcome() {
    use wecom_kf::simulator::{Fault, Simulator};

    let (captured, _guard) = capture(FmtSpan::CLOSE);

    let sim = Simulator::start().await.unwrap();
    let client = sim
        .client_builder()
        .retry(RetryConfig::default().backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .build()
        .unwrap();
    client.access_token().await.unwrap();
    // Attempt 1: busy (-1), retried. Attempt 2: the token has expired (42001); the token layer
    // fetches a new one and replays within the same attempt.
    sim.expire_tokens();
    sim.inject("kf/account/list", Fault::Errcode(-1), 1);
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();

    let logs = captured.text();
    let closed = |endpoint: &str| -> Vec<String> {
        let head = format!("wecom_attempt{{endpoint=\"/cgi-bin/{endpoint}\"");
        logs.lines()
            .filter(|l| {
                l.contains(" close ") && l.rsplit("}:").nth(1).is_some_and(|s| s.contains(&head))
            })
            .map(str::to_owned)
            .collect()
    };
    let list = closed("kf/account/list");
    assert_eq!(list.len(), 2, "two attempts on list:\n{logs}");
    assert!(
        list[0].contains("errcode=-1") && list[0].contains("retry=true"),
        "{}",
        list[0]
    );
    assert!(
        list[1].contains("status=200") && list[1].contains("errcode=0"),
        "{}",
        list[1]
    );
    assert_eq!(
        closed("gettoken").len(),
        2,
        "the first token, and the one fetched after 42001"
    );
    // That second gettoken is a span inside the attempt it repaired.
    assert!(
        logs.contains("wecom_attempt{endpoint=\"/cgi-bin/kf/account/list\" method=POST otel.kind=\"client\" otel.name=\"/cgi-bin/kf/account/list\"}:wecom_attempt{endpoint=\"/cgi-bin/gettoken\""),
        "{logs}"
    );
    let token = client.access_token().await.unwrap();
    assert!(!logs.contains(token.as_str()), "{logs}");
    assert!(!logs.contains(wecom_kf::simulator::DEFAULT_CORP_SECRET));
}
