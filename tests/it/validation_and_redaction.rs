//! Bad input is refused before anything is sent; bad answers are decode errors; no error, in
//! any rendering, carries the corp secret or a token.

use crate::common::closed_port_base;

use std::time::Duration;

use serde_json::json;
use wecom_kf::kf::account::{AddAccount, DeleteAccount, ListAccounts, UpdateAccount};
use wecom_kf::{Client, Error, RetryConfig};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "CORP-SECRET-XYZ";
const TOKEN: &str = "TOKEN-ABC-123";

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "access_token": TOKEN, "expires_in": 7200})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "open_kfid": "wk1", "account_list": []})),
        )
        .mount(&server)
        .await;
    server
}

fn client(base: &str) -> Client {
    Client::builder()
        .corp_id("ww1")
        .corp_secret(SECRET)
        .base_url(base)
        .timeout(Duration::from_millis(300))
        .retry(RetryConfig::default().backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn field_of(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match result {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn each_rule_fails_before_sending_anything() {
    let server = server().await;
    let client = client(&server.uri());
    let accounts = client.kf().account();
    let long_name: String = "客".repeat(17);
    let long_media = "m".repeat(129);
    let long_kfid = "k".repeat(65);

    assert_eq!(
        field_of(accounts.add(AddAccount::new("", "m")).await),
        "name"
    );
    assert_eq!(
        field_of(accounts.add(AddAccount::new(&long_name, "m")).await),
        "name"
    );
    assert_eq!(
        field_of(accounts.add(AddAccount::new("n", "")).await),
        "media_id"
    );
    assert_eq!(
        field_of(accounts.add(AddAccount::new("n", &long_media)).await),
        "media_id"
    );
    assert_eq!(
        field_of(accounts.delete(DeleteAccount::new("")).await),
        "open_kfid"
    );
    assert_eq!(
        field_of(accounts.delete(DeleteAccount::new(&long_kfid)).await),
        "open_kfid"
    );
    assert_eq!(
        field_of(
            accounts
                .update(UpdateAccount::new("wk1").name(&long_name))
                .await
        ),
        "name"
    );
    assert_eq!(
        field_of(
            accounts
                .update(UpdateAccount::new("wk1").media_id(""))
                .await
        ),
        "media_id"
    );
    assert_eq!(
        field_of(accounts.list(ListAccounts::new().limit(0)).await),
        "limit"
    );
    assert_eq!(
        field_of(accounts.list(ListAccounts::new().limit(101)).await),
        "limit"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "not even gettoken"
    );

    // The limits themselves are accepted: 16 characters (48 bytes), 128 bytes, 64 bytes, 1..=100.
    let name16: String = "客".repeat(16);
    accounts
        .add(AddAccount::new(&name16, "m".repeat(128)))
        .await
        .unwrap();
    accounts
        .delete(DeleteAccount::new("k".repeat(64)))
        .await
        .unwrap();
    accounts.list(ListAccounts::new().limit(1)).await.unwrap();
    accounts.list(ListAccounts::new().limit(100)).await.unwrap();
}

#[test]
fn builder_errors_are_configuration_errors() {
    let cases = [
        Client::builder().corp_secret("s").build(),
        Client::builder().corp_id("ww1").build(),
        Client::builder()
            .corp_id("ww1")
            .corp_secret("s")
            .base_url("ftp://x")
            .build(),
        Client::builder().corp_id("ww1").corp_secret("").build(),
    ];
    for result in cases {
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::Config(_)) && err.is_configuration(),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn bodies_that_are_not_the_expected_json_are_decode_errors() {
    for (body, wanted) in [
        ("<html>oops</html>", "oops"),
        (
            r#"{"errcode":0,"account_list":[{"open_kfid":"#,
            "account_list",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/cgi-bin/gettoken"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": TOKEN, "expires_in": 7200})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let err = client(&server.uri())
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap_err();
        match &err {
            Error::Decode {
                status, excerpt, ..
            } => {
                assert_eq!(*status, 200);
                assert!(excerpt.contains(wanted), "{excerpt}");
            }
            other => panic!("expected Decode, got {other:?}"),
        }
    }
}

fn assert_clean(what: &str, err: &dyn std::fmt::Debug, display: &dyn std::fmt::Display) {
    for rendered in [
        format!("{display}"),
        format!("{display:#}"),
        format!("{err:?}"),
        format!("{err:#?}"),
    ] {
        assert!(
            !rendered.contains(SECRET) && !rendered.contains(TOKEN),
            "{what} leaked: {rendered}"
        );
    }
}

#[tokio::test]
async fn no_error_kind_carries_a_secret() {
    // gettoken answers 200 with a body that echoes the token but cannot be decoded.
    let echo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"access_token":"{TOKEN}","expires_in":"soon","corpsecret":"{SECRET}"}}"#
        )))
        .mount(&echo)
        .await;
    let err = client(&echo.uri()).access_token().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_clean("decode", &err, &err);

    // A non-2xx answer whose body echoes the query string.
    let gateway = server().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/add"))
        .respond_with(ResponseTemplate::new(502).set_body_string(format!(
            "bad gateway for /x?access_token={TOKEN}&corpsecret={SECRET}"
        )))
        .with_priority(1)
        .mount(&gateway)
        .await;
    let c = client(&gateway.uri());
    let err = c
        .kf()
        .account()
        .add(AddAccount::new("n", "m"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_clean("outcome unknown (502)", &err, &err);

    // A timeout after retries: reqwest's error carries the URL with the token.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .with_priority(1)
        .mount(&gateway)
        .await;
    let err = c
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_clean("timeout", &err, &err);

    // An API error.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/del"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 45009, "errmsg": format!("limit, access_token={TOKEN}")}),
        ))
        .with_priority(1)
        .mount(&gateway)
        .await;
    let err = c
        .kf()
        .account()
        .delete(DeleteAccount::new("wk1"))
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_clean("api", &err, &err);

    // A refused connection during gettoken: the URL there carries the corp secret.
    let base = closed_port_base();
    let refused = client(&base);
    let err = refused
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_clean("connect", &err, &err);

    // The client, its provider, its builder and the token itself.
    let token = c.access_token().await.unwrap();
    assert_clean("token", &token, &token);
    for rendered in [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{:?}", c.token_provider()),
        format!("{:?}", c.credential()),
        format!("{:?}", Client::builder().corp_secret(SECRET)),
    ] {
        assert!(
            !rendered.contains(SECRET) && !rendered.contains(TOKEN),
            "{rendered}"
        );
    }
}
