//! Answers no real WeCom gives: bodies past any sane size, errcodes that are not integers,
//! files from endpoints that answer JSON, replies that are not HTTP. Each is refused with a
//! typed error, read no further than the cap, and never retried.

use std::time::Duration;

use serde_json::json;
use wecom_kf::kf::account::{DeleteAccount, ListAccounts};
use wecom_kf::media::DownloadMedia;
use wecom_kf::{Client, Error, TransportErrorKind};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::hostile::{Answer, Hostile};
use crate::common::{fast_retry, fixed_token_client};

const MIB: u64 = 1024 * 1024;

/// One connection (no retry), and the client hung up long before the server ran out: what
/// it got out is the socket buffers, not the gigabyte.
fn read_once_and_no_further(server: &Hostile) {
    assert_eq!(server.connections(), 1, "not retried");
    let written = server.written();
    assert!(written < 64 * MIB, "{written} bytes written");
}

fn kind(error: &Error) -> Option<TransportErrorKind> {
    match error {
        Error::Transport(t) => Some(t.kind()),
        Error::OutcomeUnknown { cause, .. } => kind(cause),
        _ => None,
    }
}

/// A 1 GiB `gettoken` answer was read whole on each of 4 attempts (peak RSS 1.15 GB).
#[tokio::test]
async fn a_gettoken_answer_declaring_a_gigabyte_is_refused_unread_once() {
    let server = Hostile::start(Answer::Declared(1 << 30)).await;
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(&server.base)
        .retry(fast_retry())
        .build()
        .unwrap();
    let error = client.access_token().await.unwrap_err();
    assert_eq!(
        kind(&error),
        Some(TransportErrorKind::ResponseTooLarge),
        "{error}"
    );
    read_once_and_no_further(&server);
}

/// An endless chunked body reached 2.07 GB before the 10 s timeout.
#[tokio::test]
async fn an_endless_body_ends_at_the_cap() {
    let server = Hostile::start(Answer::EndlessChunks).await;
    let client = fixed_token_client(&server.base)
        .max_response_bytes(MIB as usize)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let error = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert_eq!(
        kind(&error),
        Some(TransportErrorKind::ResponseTooLarge),
        "{error}"
    );
    assert!(error.to_string().contains("1048576-byte cap"), "{error}");
    read_once_and_no_further(&server);
}

/// Over the cap, a call that is not idempotent may have happened: its outcome is unknown.
#[tokio::test]
async fn a_write_answered_past_the_cap_has_an_unknown_outcome() {
    let server = Hostile::start(Answer::EndlessChunks).await;
    let client = fixed_token_client(&server.base)
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    let error = client
        .post_json::<_, serde_json::Value>("/cgi-bin/anything", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error}");
    assert_eq!(kind(&error), Some(TransportErrorKind::ResponseTooLarge));
    assert_eq!(server.connections(), 1);
}

/// A reply that is not HTTP is not a dropped connection: asking again brings the same.
#[tokio::test]
async fn a_reply_that_is_not_http_is_not_retried() {
    let server = Hostile::start(Answer::NotHttp).await;
    let client = fixed_token_client(&server.base).build().unwrap();
    let error = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert_eq!(
        kind(&error),
        Some(TransportErrorKind::InvalidResponse),
        "{error}"
    );
    assert_eq!(server.connections(), 1, "not retried");
}

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/del"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

/// `"errcode": "95004"` made `delete` return `Ok(())`.
#[tokio::test]
async fn an_errcode_that_is_not_an_integer_is_a_decode_error() {
    for body in [json!({"errcode": "95004"}), json!({"errcode": 42001.0})] {
        let server = answering(ResponseTemplate::new(200).set_body_json(&body)).await;
        let client = fixed_token_client(&server.uri()).build().unwrap();
        let result = client
            .kf()
            .account()
            .delete(DeleteAccount::new("wk1"))
            .await;
        assert!(
            matches!(&result, Err(Error::Decode { reason, .. }) if reason.contains("errcode")),
            "{body}: {result:?}"
        );
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "{body}");
    }
}

/// Any `Content-Disposition` header turned the errcode check off.
#[tokio::test]
async fn only_media_get_may_answer_a_file() {
    let refused = ResponseTemplate::new(200)
        .insert_header("Content-Disposition", "attachment; filename=\"a.json\"")
        .set_body_json(json!({"errcode": 95004, "errmsg": "open_kfid not exist"}));
    let server = answering(refused).await;
    let client = fixed_token_client(&server.uri()).build().unwrap();
    let result = client
        .kf()
        .account()
        .delete(DeleteAccount::new("wk1"))
        .await;
    assert!(
        matches!(&result, Err(Error::Api(e)) if e.code() == 95004),
        "{result:?}"
    );
}

/// `media/get` took 512 MiB: a file is read up to its own cap.
#[tokio::test]
async fn a_file_past_its_cap_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/cgi-bin/media/get"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Disposition", "attachment; filename=\"big.bin\"")
                .set_body_bytes(vec![7u8; 2 * MIB as usize]),
        )
        .mount(&server)
        .await;
    let small = fixed_token_client(&server.uri())
        .max_file_bytes(MIB as usize)
        .build()
        .unwrap();
    let error = small
        .media()
        .download(DownloadMedia::new("m1"))
        .await
        .unwrap_err();
    assert_eq!(
        kind(&error),
        Some(TransportErrorKind::ResponseTooLarge),
        "{error}"
    );
    let default = fixed_token_client(&server.uri()).build().unwrap();
    let file = default
        .media()
        .download(DownloadMedia::new("m1"))
        .await
        .unwrap();
    assert_eq!(file.bytes.len(), 2 * MIB as usize, "within the default cap");
}

/// `list_all` never stopped on a server that keeps answering full pages (23,246 pages, 410 MB
/// in 15 s): it stops at what WeCom can hold.
#[tokio::test]
async fn list_all_stops_at_what_wecom_can_hold() {
    let server = MockServer::start().await;
    let pages = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(path("/cgi-bin/kf/account/list"))
        .respond_with(move |_: &wiremock::Request| {
            let page = pages.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let accounts: Vec<_> = (0..100)
                .map(|i| json!({"open_kfid": format!("wk{page}-{i}"), "name": "n", "avatar": ""}))
                .collect();
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "account_list": accounts}))
        })
        .mount(&server)
        .await;
    let client = fixed_token_client(&server.uri()).build().unwrap();
    let all = client.kf().account().list_all().await.unwrap();
    assert_eq!(all.len(), wecom_kf::kf::account::ACCOUNTS_MAX);
    assert_eq!(server.received_requests().await.unwrap().len(), 50);
}

/// A server that ignores `offset` and answers new-looking pages of old accounts: the walk
/// stops at the first full page with nothing new, and lists each account once.
#[tokio::test]
async fn list_all_stops_at_a_page_with_nothing_new() {
    let server = MockServer::start().await;
    let pages = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(path("/cgi-bin/kf/account/list"))
        .respond_with(move |_: &wiremock::Request| {
            // Page n: accounts 50n .. 50n+99 for n < 2, then the first hundred again, shuffled.
            let page = pages.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let start = if page < 2 { page * 50 } else { 0 };
            let accounts: Vec<_> = (start..start + 100)
                .rev()
                .map(|i| json!({"open_kfid": format!("wk{i}"), "name": "n", "avatar": ""}))
                .collect();
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "account_list": accounts}))
        })
        .mount(&server)
        .await;
    let client = fixed_token_client(&server.uri()).build().unwrap();
    let all = client.kf().account().list_all().await.unwrap();
    assert_eq!(all.len(), 150, "accounts 0..150, each once");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// `post_json("http://other/collect")` sent the token to another host.
#[tokio::test]
async fn post_json_never_leaves_the_api_base() {
    let api = MockServer::start().await;
    let other = MockServer::start().await;
    let client = fixed_token_client(&format!("{}/wecom", api.uri()))
        .build()
        .unwrap();
    for escape in [format!("{}/collect", other.uri()), "../collect".to_owned()] {
        let result = client
            .post_json::<_, serde_json::Value>(&escape, &json!({}))
            .await;
        assert!(
            matches!(result, Err(Error::InvalidInput { .. })),
            "{escape}: {result:?}"
        );
    }
    assert!(other.received_requests().await.unwrap().is_empty());
    assert!(api.received_requests().await.unwrap().is_empty());
}

/// The secret came back verbatim when a server echoed it percent-encoded, as `corpsecret: X`,
/// `secret=X` or `access_token: T`; a 10 MB errmsg made a 10 MB `Display`.
#[tokio::test]
async fn errors_never_repeat_what_a_server_echoes() {
    const SECRET: &str = "Sü/+&=\"q-9";
    let encoded: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    let echo = format!(
        "corpsecret: {SECRET}; secret={encoded}; {}; access_token: FIXED",
        serde_json::to_string(SECRET).unwrap()
    );
    let server = MockServer::start().await;
    Mock::given(path("/cgi-bin/gettoken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 40001, "errmsg": echo})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/cgi-bin/kf/account/list"))
        .respond_with(ResponseTemplate::new(500).set_body_string(echo.clone()))
        .mount(&server)
        .await;
    Mock::given(path("/cgi-bin/kf/account/del"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 95004, "errmsg": format!("{echo} {}", "x".repeat(10_000_000))}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/cgi-bin/kf/account/update"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("not json: {echo}")))
        .mount(&server)
        .await;
    let own = Client::builder()
        .corp_id("ww1")
        .corp_secret(SECRET)
        .base_url(server.uri())
        .retry(wecom_kf::RetryConfig::disabled())
        .build()
        .unwrap();
    let fixed = fixed_token_client(&server.uri())
        .retry(wecom_kf::RetryConfig::disabled())
        .max_response_bytes(16 * MIB as usize)
        .build()
        .unwrap();
    let errors = [
        own.access_token().await.unwrap_err(),
        fixed
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap_err(),
        fixed
            .kf()
            .account()
            .delete(DeleteAccount::new("wk"))
            .await
            .unwrap_err(),
        fixed
            .kf()
            .account()
            .update(wecom_kf::kf::account::UpdateAccount::new("wk").name("n"))
            .await
            .unwrap_err(),
    ];
    let quoted = serde_json::to_string(SECRET).unwrap();
    // The first call carried the secret; the others carried the token FIXED.
    for (i, error) in errors.iter().enumerate() {
        let leaks = if i == 0 {
            [SECRET, encoded.as_str(), quoted.trim_matches('"')]
        } else {
            ["FIXED"; 3]
        };
        for text in [error.to_string(), format!("{error:?}")] {
            for leak in leaks {
                assert!(
                    !text.contains(leak),
                    "{leak} in {}",
                    &text[..text.len().min(300)]
                );
            }
            assert!(text.len() < 4_000, "{} bytes of error text", text.len());
        }
    }
}

/// `Retry-After` on 429/503 is honoured within the retry budget: the retry waits at least as
/// long as asked.
#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(path("/cgi-bin/kf/account/list"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/cgi-bin/kf/account/list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "account_list": []})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    // Backoff of milliseconds: only the server's second can make the retry wait that long.
    let client = fixed_token_client(&server.uri()).build().unwrap();
    let started = std::time::Instant::now();
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A wait past the budget is not waited for: the answer is returned as it is, at once.
#[tokio::test]
async fn a_retry_after_past_the_budget_ends_the_retries() {
    for asked in [
        "3600".to_owned(),
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(86_400)),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/cgi-bin/kf/account/list"))
            .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", asked.as_str()))
            .mount(&server)
            .await;
        let client = fixed_token_client(&server.uri()).build().unwrap();
        let error = client
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::HttpStatus { status: 503, .. }),
            "{asked}: {error}"
        );
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "{asked}"
        );
    }
}
