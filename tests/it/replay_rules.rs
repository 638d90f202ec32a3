//! The replay rule: a call is replayed only when WeCom cannot have executed it, or when
//! replaying it is harmless. Counts are taken on the server: wiremock for one-off answers, the
//! simulator for dropped connections and calls that take effect.

use crate::common::{closed_port_base, count, errcode, fast_retry};
use std::time::Duration;

use serde_json::json;
use wecom_kf::kf::account::{AddAccount, ListAccounts};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error, RetryConfig, TransportErrorKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIST: &str = "/cgi-bin/kf/account/list";
const ADD: &str = "/cgi-bin/kf/account/add";

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"errcode": 0, "open_kfid": "wk1", "account_list": []}))
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "access_token": "TOK", "expires_in": 7200})),
        )
        .mount(&server)
        .await;
    server
}

/// `first` answers the first `n` calls to `p`, then `ok()`.
async fn script(server: &MockServer, p: &str, first: ResponseTemplate, n: u64) {
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(first)
        .up_to_n_times(n)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(ok())
        .mount(server)
        .await;
}

fn client(server: &MockServer, retry: RetryConfig) -> Client {
    Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(server.uri())
        .timeout(Duration::from_millis(300))
        .retry(retry)
        .build()
        .unwrap()
}

async fn list(client: &Client) -> Result<(), Error> {
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .map(drop)
}

async fn add(client: &Client) -> Result<(), Error> {
    client
        .kf()
        .account()
        .add(AddAccount::new("n", "m"))
        .await
        .map(drop)
}

#[tokio::test]
async fn busy_twice_then_ok_takes_three_attempts() {
    let server = server().await;
    script(&server, LIST, errcode(-1), 2).await;
    list(&client(&server, fast_retry())).await.unwrap();
    assert_eq!(count(&server, LIST).await, 3);
}

#[tokio::test]
async fn other_transient_answers_are_retried_on_reads() {
    for first in [
        errcode(6000),
        errcode(45033),
        ResponseTemplate::new(429),
        ResponseTemplate::new(502),
        ResponseTemplate::new(503),
    ] {
        let server = server().await;
        script(&server, LIST, first, 1).await;
        list(&client(&server, fast_retry())).await.unwrap();
        assert_eq!(count(&server, LIST).await, 2);
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = server().await;
    script(&server, LIST, errcode(-1), 100).await;
    let err = list(&client(&server, fast_retry())).await.unwrap_err();
    assert_eq!(err.api().unwrap().code(), -1);
    assert!(err.is_transient());
    assert_eq!(count(&server, LIST).await, 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn no_retries_when_disabled() {
    let server = server().await;
    script(&server, LIST, errcode(-1), 100).await;
    assert!(
        list(&client(&server, RetryConfig::disabled()))
            .await
            .is_err()
    );
    assert_eq!(count(&server, LIST).await, 1);
}

#[tokio::test]
async fn rate_limit_is_never_retried() {
    let server = server().await;
    script(&server, LIST, errcode(45009), 100).await;
    let err = list(&client(&server, fast_retry())).await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(count(&server, LIST).await, 1);
}

#[tokio::test]
async fn a_timed_out_read_is_retried() {
    let server = server().await;
    script(&server, LIST, ok().set_delay(Duration::from_secs(2)), 1).await;
    list(&client(&server, fast_retry())).await.unwrap();
    assert_eq!(count(&server, LIST).await, 2);
}

#[tokio::test]
async fn gateway_error_on_add_is_outcome_unknown_and_not_replayed() {
    let server = server().await;
    script(&server, ADD, ResponseTemplate::new(502), 1).await;
    let err = add(&client(&server, fast_retry())).await.unwrap_err();
    assert!(
        matches!(&err, Error::OutcomeUnknown { cause, .. }
            if matches!(**cause, Error::HttpStatus { status: 502, .. })),
        "{err:?}"
    );
    assert_eq!(count(&server, ADD).await, 1);
}

#[tokio::test]
async fn timeout_on_add_is_outcome_unknown_and_not_replayed() {
    let server = server().await;
    script(&server, ADD, ok().set_delay(Duration::from_secs(2)), 1).await;
    let err = add(&client(&server, fast_retry())).await.unwrap_err();
    assert!(
        matches!(&err, Error::OutcomeUnknown { cause, .. }
            if matches!(&**cause, Error::Transport(t) if t.kind() == TransportErrorKind::Timeout)),
        "{err:?}"
    );
    assert_eq!(count(&server, ADD).await, 1);
}

#[tokio::test]
async fn busy_answer_on_add_is_returned_as_is() {
    let server = server().await;
    script(&server, ADD, errcode(-1), 1).await;
    let err = add(&client(&server, fast_retry())).await.unwrap_err();
    assert_eq!(err.api().map(|e| e.code()), Some(-1), "{err:?}");
    assert_eq!(count(&server, ADD).await, 1);
}

/// A simulator client with fast retries.
async fn simulated() -> (Simulator, Client) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().retry(fast_retry()).build().unwrap();
    (sim, client)
}

#[tokio::test]
async fn dropped_connection_on_add_is_outcome_unknown_and_not_replayed() {
    let (sim, client) = simulated().await;
    for fault in [Fault::DropBeforeAnswer, Fault::DropAfterEffect] {
        sim.reset_counters();
        sim.inject("kf/account/add", fault.clone(), 1);
        let err = add(&client).await.unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{fault:?}: {err:?}"
        );
        assert_eq!(sim.counters().calls(ADD), 1, "{fault:?}: not replayed");
    }
    assert_eq!(
        sim.accounts().len(),
        1,
        "the executed add exists once: no duplicate"
    );
}

#[tokio::test]
async fn dropped_connection_on_list_is_retried_within_the_bound() {
    let (sim, client) = simulated().await;
    sim.inject(LIST, Fault::DropAfterEffect, 2);
    list(&client).await.unwrap();
    assert_eq!(sim.counters().calls(LIST), 3, "2 drops, then the answer");

    sim.reset_counters();
    sim.inject(LIST, Fault::DropBeforeAnswer, 10);
    let err = list(&client).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportErrorKind::ConnectionDropped),
        "{err:?}"
    );
    assert_eq!(sim.counters().calls(LIST), 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn reads_are_retried_through_every_transient_fault() {
    let (sim, client) = simulated().await;
    for fault in [
        Fault::HttpStatus(500),
        Fault::HttpStatus(502),
        Fault::HttpStatus(503),
        Fault::Errcode(-1),
        Fault::Errcode(45033),
        Fault::DropBeforeAnswer,
        Fault::DropAfterEffect,
    ] {
        sim.reset_counters();
        sim.inject(LIST, fault.clone(), 1);
        list(&client).await.unwrap();
        assert_eq!(sim.counters().calls(LIST), 2, "{fault:?}");
    }
}

#[tokio::test]
async fn an_add_that_outlives_the_timeout_is_outcome_unknown_yet_lands_once() {
    let sim = Simulator::start().await.unwrap();
    let client = sim
        .client_builder()
        .retry(fast_retry())
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    client.access_token().await.unwrap();
    // Held until released: only the client's timeout can end the wait.
    sim.inject(ADD, Fault::Hold, 1);
    let err = add(&client).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().effects(ADD), 0);
    sim.release(ADD);
    sim.wait_for_effects(ADD, 1).await;
    assert_eq!(sim.counters().calls(ADD), 1, "not replayed");
    assert_eq!(
        sim.accounts().len(),
        1,
        "it happened; the caller just never heard"
    );
}

/// The token is at hand (a store holds it), so the refused connection is the add's own.
#[tokio::test]
async fn a_refused_connection_on_add_is_reported_as_nothing_sent() {
    let base = closed_port_base();
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(base)
        .retry(fast_retry())
        .token_store(crate::common::PresetToken("T-PRESET"))
        .build()
        .unwrap();
    let err = add(&client).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.kind() == TransportErrorKind::Connect
            && t.nothing_sent()
            && t.endpoint() == "/cgi-bin/kf/account/add"),
        "not OutcomeUnknown: nothing was sent: {err:?}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = server().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LIST))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    let err = list(&client(&server, fast_retry())).await.unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 307, .. }),
        "{err:?}"
    );
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the token never travels to the redirect target"
    );
}
