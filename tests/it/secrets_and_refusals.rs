//! Secrets kept out of `Debug` and errors: a proxy password in the base URL, callback sync
//! tokens, welcome codes and msg codes (issue 12, item 9). Callbacks: settings that cannot
//! check anything are refused, an echostr has a size cap like the body's, and the bot example
//! answers every refused callback alike, keeping the reason for its own log (issue 12,
//! item 10).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use aes::Aes256;
use base64::Engine;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use sha1::{Digest, Sha1};
use wecom_kf::callback::{
    CallbackCrypto, CallbackError, CallbackEvent, MAX_BODY_BYTES, MAX_ECHOSTR_BYTES,
};
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::kf::message::{
    Event, MessageContent, Outgoing, SendOnEvent, SyncMessages, SyncMessagesResponse,
};
use wecom_kf::kf::service_state::TransferServiceStateResponse;
use wecom_kf::token::Credential;
use wecom_kf::{Client, RetryConfig};

use crate::kf_bot_e2e::kf_bot;

const PASSWORD: &str = "SECRETPW";
const PROXY_BASE: &str = "https://user:SECRETPW@proxy.local/wecom";

fn assert_hidden(shown: &str, secret: &str) {
    assert!(!shown.contains(secret), "{secret} shown in: {shown}");
}

#[test]
fn a_proxy_password_in_the_base_url_is_not_in_debug() {
    let builder = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(PROXY_BASE);
    let shown = format!("{builder:?} {builder:#?}");
    assert_hidden(&shown, PASSWORD);
    assert!(
        shown.contains("proxy.local"),
        "the host stays visible: {shown}"
    );

    let client = builder.build().unwrap();
    assert_hidden(&format!("{client:?} {client:#?}"), PASSWORD);
    let credential = Credential::with_api_base("ww1", "s1", PROXY_BASE).unwrap();
    let shown = format!("{credential:?} {credential:#?}");
    assert_hidden(&shown, PASSWORD);
    assert!(
        shown.contains("https://user:***@proxy.local/wecom/"),
        "{shown}"
    );
    // The accessor still gives the URL whole: it is what the requests go to.
    assert_eq!(credential.api_base().password(), Some(PASSWORD));

    // A base URL that does not parse is hidden whole if it may hold a password.
    let unparsed = Client::builder().base_url("https://user:SECRETPW@proxy.local:99999/wecom");
    assert_hidden(&format!("{unparsed:?}"), PASSWORD);
}

#[tokio::test]
async fn a_proxy_password_in_the_base_url_is_not_in_errors() {
    for bad in [
        "https://user:SECRETPW@proxy.local:99999/wecom",
        "https://user:SECRETPW@proxy.local/wecom?x=1",
        "https://user:SECRETPW@proxy.local/wecom#x",
        "ftp://user:SECRETPW@proxy.local/wecom",
    ] {
        let error = Client::builder()
            .corp_id("ww1")
            .corp_secret("s1")
            .base_url(bad)
            .build()
            .unwrap_err();
        assert_hidden(&format!("{error} {error:?}"), PASSWORD);
        let error = Credential::with_api_base("ww1", "s1", bad).unwrap_err();
        assert_hidden(&format!("{error} {error:?}"), PASSWORD);
    }
    // A transport failure (nothing listens on port 1): reqwest's error names the URL.
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url("http://user:SECRETPW@127.0.0.1:1/wecom")
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let error = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert_hidden(&format!("{error} {error:?}"), PASSWORD);
}

const SYNC_TOKEN: &str = "ENCSYNCTOKEN42";
const WELCOME_CODE: &str = "WELCOMECODE42";
const MSG_CODE: &str = "MSGCODE42";

#[test]
fn a_callback_sync_token_is_not_in_debug() {
    let xml = format!(
        "<xml><ToUserName><![CDATA[ww1]]></ToUserName><CreateTime>1348831860</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>\
         <Token><![CDATA[{SYNC_TOKEN}]]></Token><OpenKfId><![CDATA[wk1]]></OpenKfId></xml>"
    );
    let event = CallbackEvent::parse(&xml).unwrap();
    let shown = format!("{event:?} {event:#?}");
    assert_hidden(&shown, SYNC_TOKEN);
    assert!(shown.contains("token") && shown.contains("wk1"), "{shown}");
    // The value is still there for sync_msg.
    let CallbackEvent::KfMsgOrEvent { token, .. } = &event else {
        panic!("{event:?}")
    };
    assert_eq!(token, SYNC_TOKEN);

    // An event the SDK does not type keeps its XML whole, which may carry a token or a code.
    let other = format!(
        "<xml><MsgType>event</MsgType><Event>some_new_event</Event><Token>{SYNC_TOKEN}</Token>\
         <WelcomeCode>{WELCOME_CODE}</WelcomeCode><OpenKfId>wk1</OpenKfId></xml>"
    );
    let event = CallbackEvent::parse(&other).unwrap();
    let shown = format!("{event:?} {event:#?}");
    assert_hidden(&shown, SYNC_TOKEN);
    assert_hidden(&shown, WELCOME_CODE);
    assert!(shown.contains("some_new_event"), "{shown}");
    assert!(matches!(&event, CallbackEvent::Other { xml, .. } if *xml == other));

    // The request that carries the token to sync_msg.
    let request = SyncMessages::new("wk1").token(SYNC_TOKEN).cursor("c1");
    let shown = format!("{request:?} {request:#?}");
    assert_hidden(&shown, SYNC_TOKEN);
    assert!(shown.contains("token") && shown.contains("c1"), "{shown}");
}

#[test]
fn welcome_codes_and_msg_codes_are_not_in_debug() {
    let page: SyncMessagesResponse = serde_json::from_value(serde_json::json!({
    "next_cursor": "c2", "has_more": 0, "msg_list": [
        {"msgid": "1", "send_time": 1, "origin": 4, "msgtype": "event", "event": {
            "event_type": "enter_session", "open_kfid": "wk1", "external_userid": "wm1",
            "scene": "s", "scene_param": "p", "welcome_code": WELCOME_CODE}},
        {"msgid": "2", "send_time": 2, "origin": 4, "msgtype": "event", "event": {
            "event_type": "session_status_change", "open_kfid": "wk1",
            "external_userid": "wm1", "change_type": 3, "msg_code": MSG_CODE}},
        {"msgid": "3", "send_time": 3, "origin": 4, "msgtype": "event", "event": {
            "event_type": "some_new_event", "open_kfid": "wk1",
            "nested": {"welcome_code": WELCOME_CODE}, "msg_code": MSG_CODE}},
        {"msgid": "4", "send_time": 4, "origin": 3, "msgtype": "some_new_type",
            "some_new_type": {"token": SYNC_TOKEN, "list": [{"code": MSG_CODE}]}}
    ]}))
    .unwrap();
    let shown = format!("{page:?} {page:#?}");
    for secret in [WELCOME_CODE, MSG_CODE, SYNC_TOKEN] {
        assert_hidden(&shown, secret);
    }
    for visible in [
        "welcome_code",
        "msg_code",
        "wm1",
        "some_new_event",
        "some_new_type",
    ] {
        assert!(shown.contains(visible), "{visible} missing from: {shown}");
    }
    // Decoding is unchanged: the codes are there for send_msg_on_event.
    let contents: Vec<&MessageContent> = page.msg_list.iter().map(|m| &m.content).collect();
    assert!(matches!(
        contents[0],
        MessageContent::Event(Event::EnterSession { welcome_code: Some(c), .. }) if c == WELCOME_CODE
    ));
    assert!(matches!(
        contents[1],
        MessageContent::Event(Event::SessionStatusChange { msg_code: Some(c), .. }) if c == MSG_CODE
    ));
    assert!(matches!(
        contents[2],
        MessageContent::Event(Event::Other { raw, .. }) if raw["nested"]["welcome_code"] == WELCOME_CODE
    ));
    assert!(matches!(
        contents[3],
        MessageContent::Other { payload, .. } if payload["token"] == SYNC_TOKEN
    ));

    let moved: TransferServiceStateResponse =
        serde_json::from_value(serde_json::json!({"errcode": 0, "msg_code": MSG_CODE})).unwrap();
    let shown = format!("{moved:?} {moved:#?}");
    assert_hidden(&shown, MSG_CODE);
    assert!(shown.contains("msg_code"), "{shown}");
    assert_eq!(moved.msg_code.as_deref(), Some(MSG_CODE));

    // The request that spends the code.
    let send = SendOnEvent::new(WELCOME_CODE, Outgoing::text("welcome"));
    let shown = format!("{send:?} {send:#?}");
    assert_hidden(&shown, WELCOME_CODE);
    assert!(
        shown.contains("code") && shown.contains("welcome"),
        "{shown}"
    );
    assert_eq!(
        serde_json::to_value(&send).unwrap()["code"],
        WELCOME_CODE,
        "the wire keeps the code"
    );
}

const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";

#[test]
fn settings_that_check_nothing_are_refused() {
    for token in ["", " ", "\t\r\n "] {
        assert!(
            matches!(
                CallbackCrypto::new(token, AES_KEY, CORP),
                Err(CallbackError::Config(_))
            ),
            "token {token:?}"
        );
    }
    for receive_id in ["", "  "] {
        assert!(
            matches!(
                CallbackCrypto::new(TOKEN, AES_KEY, receive_id),
                Err(CallbackError::Config(_))
            ),
            "receive id {receive_id:?}"
        );
    }
    assert!(CallbackCrypto::new(TOKEN, AES_KEY, CORP).is_ok());
}

#[test]
fn an_oversized_echostr_is_refused_unread() {
    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, CORP)
        .unwrap()
        .without_replay_window();
    // Genuine and correctly signed, only too large: refused before it is decoded.
    let big = crypto
        .seal(&"7".repeat(MAX_ECHOSTR_BYTES), "1700000000", "n")
        .unwrap();
    assert!(big.encrypt.len() > MAX_ECHOSTR_BYTES);
    assert_eq!(
        crypto.verify_url(&big.msg_signature, "1700000000", "n", &big.encrypt),
        Err(CallbackError::TooLarge)
    );
    // Under the cap, the same verifies.
    let fits = crypto.seal(&"7".repeat(2_000), "1700000000", "n").unwrap();
    assert!(fits.encrypt.len() <= MAX_ECHOSTR_BYTES);
    assert_eq!(
        crypto
            .verify_url(&fits.msg_signature, "1700000000", "n", &fits.encrypt)
            .map(|echo| echo.len()),
        Ok(2_000)
    );
}

fn sign(timestamp: &str, nonce: &str, encrypted: &str) -> String {
    let mut parts = [TOKEN, timestamp, nonce, encrypted];
    parts.sort_unstable();
    Sha1::digest(parts.concat().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `plain` encrypted as is (the caller frames and pads it), as base64.
fn raw_encrypt(plain: &[u8]) -> String {
    let key = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{AES_KEY}="))
    .unwrap();
    let mut buf = plain.to_vec();
    let n = buf.len();
    let sealed = cbc::Encryptor::<Aes256>::new_from_slices(&key, &key[..16])
        .unwrap()
        .encrypt_padded::<NoPadding>(&mut buf, n)
        .unwrap()
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

/// 16 random bytes ‖ length ‖ message ‖ receive id, padded to 32-byte blocks.
fn framed(length: u32, message: &[u8], receive_id: &[u8]) -> Vec<u8> {
    let mut plain = vec![9u8; 16];
    plain.extend(length.to_be_bytes());
    plain.extend(message);
    plain.extend(receive_id);
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    plain
}

fn envelope(encrypted: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
}

/// What the tracing events of one test say (the bot logs its refusals at debug level).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// An answer as the sender sees it: status, headers (but the date) and body.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn seen(response: reqwest::Response) -> Seen {
    let status = response.status().as_u16();
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != reqwest::header::DATE)
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    headers.sort();
    let body = response.bytes().await.unwrap().to_vec();
    Seen {
        status,
        headers,
        body,
    }
}

/// The bot example answers a bad signature, bad base64, bad padding, a bad length, bad XML, a
/// stale timestamp, an oversized body, a wrong receive id and missing parameters, on `POST`
/// and on `GET`, with one and the same answer; the reasons are in its log, without secrets.
/// Runs on one thread, so the bot's tasks log into this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn the_bot_answers_every_refused_callback_alike() {
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let now = 1_700_000_000u64;
    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, CORP)
        .unwrap()
        .clock(ManualClock::at(UNIX_EPOCH + Duration::from_secs(now)));
    // Never called: no callback here reaches a pull.
    let client = Client::builder()
        .corp_id(CORP)
        .corp_secret("s1")
        .base_url("http://127.0.0.1:1/")
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let bot = kf_bot::Bot::new(
        client,
        crypto.clone(),
        Arc::new(wecom_kf::kf::message::MemoryCursorStore::new()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    let server = tokio::spawn(kf_bot::serve(listener, bot.clone()));
    let http = reqwest::Client::new();

    let ts = now.to_string();
    let post = |query: Vec<(&'static str, String)>, body: String| {
        http.post(&url).query(&query).body(body).send()
    };
    let signed = |ts: &str, encrypted: &str| {
        vec![
            ("msg_signature", sign(ts, "n", encrypted)),
            ("timestamp", ts.to_owned()),
            ("nonce", "n".to_owned()),
        ]
    };
    let crafted = |plain: Vec<u8>| {
        let encrypted = raw_encrypt(&plain);
        (signed(&ts, &encrypted), envelope(&encrypted))
    };
    let mut zero_pad = framed(2, b"hi", CORP.as_bytes());
    *zero_pad.last_mut().unwrap() = 0;
    let mut uneven_pad = framed(2, b"hi", CORP.as_bytes());
    let n = uneven_pad.len();
    uneven_pad[n - 2] ^= 1;
    let good = crypto
        .seal("<xml><MsgType>text</MsgType></xml>", &ts, "n")
        .unwrap();
    let stale_ts = (now - 1_000).to_string();
    let stale = crypto.seal("<xml/>", &stale_ts, "n").unwrap();

    let mut posts = vec![
        // A bad signature.
        (
            vec![
                ("msg_signature", "0".repeat(40)),
                ("timestamp", ts.clone()),
                ("nonce", "n".to_owned()),
            ],
            envelope(&good.encrypt),
        ),
        crafted(zero_pad),
        crafted(uneven_pad),
        crafted(framed(10_000, b"hi", CORP.as_bytes())),
        crafted(framed(2, &[0xff, 0xfe], CORP.as_bytes())),
        crafted(framed(2, b"hi", b"wwsomeoneelse")),
        (
            signed(&ts, "@@@not base64@@@"),
            envelope("@@@not base64@@@"),
        ),
        (signed(&stale_ts, &stale.encrypt), envelope(&stale.encrypt)),
        (signed(&ts, "x"), "<xml><Encrypt>x</Encrypt>".to_owned()),
        (signed(&ts, "x"), "a".repeat(MAX_BODY_BYTES + 1)),
        (signed(&ts, "x"), "a".repeat(4 * MAX_BODY_BYTES)),
        (vec![], envelope(&good.encrypt)),
        (vec![("timestamp", ts.clone())], envelope(&good.encrypt)),
    ];
    let mut answers = Vec::new();
    for (query, body) in posts.drain(..) {
        answers.push(seen(post(query, body).await.unwrap()).await);
    }
    let echo = crypto.seal("8253918204375", &ts, "n").unwrap();
    let big_echo = crypto
        .seal(&"7".repeat(MAX_ECHOSTR_BYTES), &ts, "n")
        .unwrap();
    let elsewhere = CallbackCrypto::new(TOKEN, AES_KEY, "wwsomeoneelse")
        .unwrap()
        .seal("8253918204375", &ts, "n")
        .unwrap();
    let get_with = |mut query: Vec<(&'static str, String)>, echostr: Option<&str>| {
        if let Some(echostr) = echostr {
            query.push(("echostr", echostr.to_owned()));
        }
        http.get(&url).query(&query).send()
    };
    let gets = [
        (
            vec![
                ("msg_signature", "0".repeat(40)),
                ("timestamp", ts.clone()),
                ("nonce", "n".to_owned()),
            ],
            Some(echo.encrypt.as_str()),
        ),
        (signed(&ts, &echo.encrypt), None),
        (
            signed(&ts, &big_echo.encrypt),
            Some(big_echo.encrypt.as_str()),
        ),
        (
            signed(&ts, &elsewhere.encrypt),
            Some(elsewhere.encrypt.as_str()),
        ),
        (signed(&ts, "@@@"), Some("@@@")),
        (vec![], Some(echo.encrypt.as_str())),
    ];
    for (query, echostr) in gets {
        answers.push(seen(get_with(query, echostr).await.unwrap()).await);
    }

    let first = &answers[0];
    assert_ne!(first.status, 200, "{first:?}");
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, first, "answer {i} differs from the first refusal");
    }

    // What is not refused still works: an event is acknowledged, the URL verifies.
    let ok = seen(
        post(signed(&ts, &good.encrypt), envelope(&good.encrypt))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((ok.status, ok.body.as_slice()), (200, &b"success"[..]));
    let ok = seen(
        get_with(signed(&ts, &echo.encrypt), Some(&echo.encrypt))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, &b"8253918204375"[..])
    );
    bot.idle().await;
    server.abort();

    // The reasons stay with the server.
    let logged = log.text();
    for reason in [
        "signature does not match",
        "padding is invalid",
        "length or encoding is invalid",
        "another receiver",
        "not valid base64",
        "replay window",
        "XML is malformed",
        "too large",
        "msg_signature",
        "echostr",
    ] {
        assert!(logged.contains(reason), "{reason:?} not logged: {logged}");
    }
    for secret in [TOKEN, AES_KEY, "8253918204375"] {
        assert_hidden(&logged, secret);
    }
}
