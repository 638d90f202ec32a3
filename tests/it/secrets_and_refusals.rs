//! Secrets kept out of `Debug` and errors: a proxy password in the base URL, callback sync
//! tokens, welcome codes and msg codes (issue 12, item 9). Callbacks: settings that cannot
//! check anything are refused, and an echostr has a size cap like the body's (issue 12,
//! item 10).

use wecom_kf::callback::{CallbackCrypto, CallbackError, CallbackEvent, MAX_ECHOSTR_BYTES};
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::kf::message::{
    Event, MessageContent, Outgoing, SendOnEvent, SyncMessages, SyncMessagesResponse,
};
use wecom_kf::kf::service_state::TransferServiceStateResponse;
use wecom_kf::token::Credential;
use wecom_kf::{Client, RetryConfig};

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
