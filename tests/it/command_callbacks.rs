//! A provider's command callbacks (指令回调, feature `callback`): one sample per `InfoType`
//! (fixtures shaped as the docs and peers show them), sealed with the crate's own crypto (the
//! receive id is the suite id) and opened through the public API; another suite's callback
//! refused; duplicate deliveries recognised; secrets absent from `Debug`.
#![cfg(feature = "callback")]

use std::time::Duration;

use wecom_kf::callback::{CallbackCrypto, CallbackError, CommandDedupe, CommandEvent, DeliveryLog};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// The fixtures' suite id (and the 代开发 template id of the reset sample).
const SUITE: &str = "ww4asffe99e54c0fxxxx";
const TEMPLATE: &str = "dk4asffe99e54c0fxxxx";
/// The fixtures' `TimeStamp`, used as the envelope's timestamp too.
const TS: &str = "1403610513";

const SUITE_TICKET: &str = include_str!("fixtures/cmd_suite_ticket.xml");
const CREATE_AUTH: &str = include_str!("fixtures/cmd_create_auth.xml");
const CHANGE_AUTH: &str = include_str!("fixtures/cmd_change_auth.xml");
const CANCEL_AUTH: &str = include_str!("fixtures/cmd_cancel_auth.xml");
const RESET_PERMANENT_CODE: &str = include_str!("fixtures/cmd_reset_permanent_code.xml");
const CHANGE_CONTACT: &str = include_str!("fixtures/cmd_change_contact.xml");
const LICENSE_PAY_SUCCESS: &str = include_str!("fixtures/cmd_license_pay_success.xml");

/// The suite's callback settings (the fixtures' timestamps are from 2014).
fn suite(suite_id: &str) -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, KEY, suite_id)
        .unwrap()
        .without_replay_window()
}

/// What WeCom would POST: `xml` sealed by `sender` (whose receive id goes in the envelope),
/// the signature and the body.
fn delivery(sender: &CallbackCrypto, xml: &str) -> (String, Vec<u8>) {
    let sealed = sender.seal(xml, TS, "nonce1").unwrap();
    let body = format!(
        "<xml><ToUserName><![CDATA[{SUITE}]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>",
        sealed.encrypt
    );
    (sealed.msg_signature, body.into_bytes())
}

/// `xml` sealed by `sender` and opened by `receiver`, as a command callback.
fn through(
    sender: &CallbackCrypto,
    receiver: &CallbackCrypto,
    xml: &str,
) -> Result<CommandEvent, CallbackError> {
    let (signature, body) = delivery(sender, xml);
    receiver.decrypt_command(&signature, TS, "nonce1", &body)
}

fn round_trip(suite_id: &str, xml: &str) -> CommandEvent {
    let crypto = suite(suite_id);
    through(&crypto, &crypto, xml).unwrap()
}

#[test]
fn every_info_type_decrypts_into_its_kind() {
    assert_eq!(
        round_trip(SUITE, SUITE_TICKET),
        CommandEvent::SuiteTicket {
            suite_id: SUITE.into(),
            suite_ticket: "asdfasfdasdfasdf".into(),
            timestamp: 1_403_610_513,
        }
    );
    assert_eq!(
        round_trip(SUITE, CREATE_AUTH),
        CommandEvent::CreateAuth {
            suite_id: SUITE.into(),
            auth_code: "AUTHCODE".into(),
            timestamp: 1_403_610_513,
            state: Some("123".into()),
        }
    );
    assert_eq!(
        round_trip(SUITE, CHANGE_AUTH),
        CommandEvent::ChangeAuth {
            suite_id: SUITE.into(),
            auth_corp_id: "wxf8b4f85f3a794e77".into(),
            timestamp: 1_403_610_513,
            state: Some("abc".into()),
        }
    );
    assert_eq!(
        round_trip(SUITE, CANCEL_AUTH),
        CommandEvent::CancelAuth {
            suite_id: SUITE.into(),
            auth_corp_id: "wxf8b4f85f3a794e77".into(),
            timestamp: 1_403_610_513,
        }
    );
    assert_eq!(
        round_trip(TEMPLATE, RESET_PERMANENT_CODE),
        CommandEvent::ResetPermanentCode {
            suite_id: TEMPLATE.into(),
            auth_code: "AUTHCODE".into(),
            timestamp: 1_403_610_513,
        }
    );
    let kinds: Vec<_> = [
        (SUITE, SUITE_TICKET),
        (SUITE, CREATE_AUTH),
        (SUITE, CHANGE_AUTH),
        (SUITE, CANCEL_AUTH),
        (TEMPLATE, RESET_PERMANENT_CODE),
    ]
    .into_iter()
    .map(|(suite_id, xml)| {
        let event = round_trip(suite_id, xml);
        assert_eq!(event.suite_id(), Some(suite_id));
        event.info_type().to_owned()
    })
    .collect();
    assert_eq!(
        kinds,
        [
            "suite_ticket",
            "create_auth",
            "change_auth",
            "cancel_auth",
            "reset_permanent_code"
        ]
    );
}

#[test]
fn an_unknown_info_type_is_kept_raw() {
    let event = round_trip(SUITE, CHANGE_CONTACT);
    assert_eq!(
        event,
        CommandEvent::Other {
            info_type: "change_contact".into(),
            xml: CHANGE_CONTACT.into(),
        }
    );
    assert_eq!(event.info_type(), "change_contact");
    assert_eq!(event.suite_id(), None);
    // A licence notice: no SuiteId (a ServiceCorpId instead), fields the SDK does not type.
    // It came in the suite's envelope, so it is taken, raw.
    let licence = round_trip(SUITE, LICENSE_PAY_SUCCESS);
    assert_eq!(
        licence,
        CommandEvent::Other {
            info_type: "license_pay_success".into(),
            xml: LICENSE_PAY_SUCCESS.into(),
        }
    );
    // No State: None; an empty one too.
    let no_state = CREATE_AUTH.replace("<State><![CDATA[123]]></State>", "<State/>");
    assert!(matches!(
        CommandEvent::parse(&no_state).unwrap(),
        CommandEvent::CreateAuth { state: None, .. }
    ));
}

#[test]
fn another_suites_callback_is_refused_like_any_other_receiver() {
    let ours = suite(SUITE);
    let theirs = suite("wwanothersuite000001");
    // Sealed for another suite (its id in the envelope): refused by the envelope check.
    assert_eq!(
        through(&theirs, &ours, SUITE_TICKET),
        Err(CallbackError::WrongReceiver)
    );
    // Sealed for us, but naming another suite inside: refused the same way.
    let other_inside = SUITE_TICKET.replace(SUITE, "wwanothersuite000001");
    assert_eq!(
        through(&ours, &ours, &other_inside),
        Err(CallbackError::WrongReceiver)
    );
    // A typed callback without a SuiteId is refused as malformed (answered alike all the same).
    let none_inside = CANCEL_AUTH.replace(&format!("<SuiteId><![CDATA[{SUITE}]]></SuiteId>"), "");
    assert!(matches!(
        through(&ours, &ours, &none_inside),
        Err(CallbackError::Xml(_))
    ));
    // An untyped one for another suite is refused too.
    let contact_elsewhere = CHANGE_CONTACT.replace(SUITE, "wwanothersuite000001");
    assert_eq!(
        through(&ours, &ours, &contact_elsewhere),
        Err(CallbackError::WrongReceiver)
    );
    assert_eq!(
        CommandEvent::parse_for_suite(&other_inside, SUITE),
        Err(CallbackError::WrongReceiver)
    );
    // The signature is checked first: a tampered body is refused before anything is read.
    let (signature, mut body) = delivery(&ours, SUITE_TICKET);
    let marker = b"<Encrypt><![CDATA[";
    let at = body
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap()
        + marker.len()
        + 5;
    body[at] = if body[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        ours.decrypt_command(&signature, TS, "nonce1", &body),
        Err(CallbackError::BadSignature)
    );
}

#[test]
fn a_typed_callback_without_its_payload_is_refused() {
    let crypto = suite(SUITE);
    for broken in [
        SUITE_TICKET.replace("<![CDATA[asdfasfdasdfasdf]]>", ""),
        CREATE_AUTH.replace("<AuthCode><![CDATA[AUTHCODE]]></AuthCode>", ""),
        CHANGE_AUTH.replace(
            "<AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId>",
            "",
        ),
        CANCEL_AUTH.replace("1403610513", "soon"),
        SUITE_TICKET.replace("<InfoType> <![CDATA[suite_ticket]]></InfoType>", ""),
    ] {
        assert!(
            matches!(
                through(&crypto, &crypto, &broken),
                Err(CallbackError::Xml(_))
            ),
            "{broken}"
        );
    }
    assert!(matches!(
        CommandEvent::parse("<xml><SuiteId>ww1</SuiteId"),
        Err(CallbackError::Xml(_))
    ));
}

#[test]
fn duplicate_deliveries_are_recognised() {
    let crypto = suite(SUITE);
    let dedupe = CommandDedupe::new(100, Duration::from_secs(3600));
    // WeCom delivers the same callback again: sealed anew (fresh random prefix), same XML.
    let first = through(&crypto, &crypto, CREATE_AUTH).unwrap();
    let again = through(&crypto, &crypto, CREATE_AUTH).unwrap();
    assert!(dedupe.first_time(&first));
    assert!(!dedupe.first_time(&again));
    assert!(!dedupe.first_time(&first));
    // Forgotten (its work failed), the next delivery is the first again.
    dedupe.forget(&again);
    assert!(dedupe.first_time(&first));
    assert!(!dedupe.first_time(&again));
    // Distinct callbacks, even in the same second for the same suite, are not duplicates.
    let next_code = CREATE_AUTH.replace("AUTHCODE", "AUTHCODE2");
    assert!(dedupe.first_time(&CommandEvent::parse(&next_code).unwrap()));
    let next_ticket = SUITE_TICKET.replace("asdfasfdasdfasdf", "qwerqwerqwer");
    assert!(dedupe.first_time(&CommandEvent::parse(SUITE_TICKET).unwrap()));
    assert!(dedupe.first_time(&CommandEvent::parse(&next_ticket).unwrap()));
    assert!(dedupe.first_time(&CommandEvent::parse(CHANGE_AUTH).unwrap()));
    assert!(dedupe.first_time(&CommandEvent::parse(CANCEL_AUTH).unwrap()));
    let other_corp = CANCEL_AUTH.replace("wxf8b4f85f3a794e77", "wxanothercorp");
    assert!(dedupe.first_time(&CommandEvent::parse(&other_corp).unwrap()));
    assert!(dedupe.first_time(&CommandEvent::parse(CHANGE_CONTACT).unwrap()));
    assert!(!dedupe.first_time(&CommandEvent::parse(CHANGE_CONTACT).unwrap()));
    // Another suite's identical push is its own delivery.
    let other_suite = SUITE_TICKET.replace(SUITE, "wwanothersuite000001");
    assert!(dedupe.first_time(&CommandEvent::parse(&other_suite).unwrap()));

    // The key to share between replicas: stable, hex, and free of the secrets.
    let key = first.delivery_key();
    assert_eq!(key, again.delivery_key());
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!key.contains("AUTHCODE"));
    assert_ne!(key, CommandEvent::parse(&next_code).unwrap().delivery_key());
}

#[test]
fn a_delivery_is_new_again_after_the_ttl() {
    let clock = wecom_kf::clock::ManualClock::new();
    let ttl = Duration::from_secs(3600);
    let dedupe = CommandDedupe::with_clock(100, ttl, clock.clone());
    let event = CommandEvent::parse(SUITE_TICKET).unwrap();
    assert!(dedupe.first_time(&event));
    clock.advance(ttl - Duration::from_secs(1));
    assert!(!dedupe.first_time(&event), "within the TTL: a retry");
    clock.advance(Duration::from_secs(1));
    assert!(dedupe.first_time(&event), "after the TTL: new again");
    assert!(!dedupe.first_time(&event));
}

#[test]
fn concurrent_deliveries_pass_once() {
    let dedupe = CommandDedupe::new(1000, Duration::from_secs(3600));
    // Many rounds of eight threads let go at once on one new delivery each.
    for round in 0..50 {
        let event =
            CommandEvent::parse(&CREATE_AUTH.replace("AUTHCODE", &format!("CODE{round}"))).unwrap();
        let start = std::sync::Barrier::new(8);
        let passed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        usize::from(dedupe.first_time(&event))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(passed, 1, "round {round}");
    }
}

#[test]
fn debug_hides_the_ticket_and_the_auth_code() {
    let rendered = [
        round_trip(SUITE, SUITE_TICKET),
        round_trip(SUITE, CREATE_AUTH),
        round_trip(TEMPLATE, RESET_PERMANENT_CODE),
        CommandEvent::parse(
            &CHANGE_CONTACT.replace("<UserID>", "<AuthCode>SECRETCODE</AuthCode><UserID>"),
        )
        .unwrap(),
    ]
    .iter()
    .map(|e| format!("{e:?} {e:#?}"))
    .collect::<Vec<_>>()
    .join("\n");
    for secret in ["asdfasfdasdfasdf", "AUTHCODE", "SECRETCODE"] {
        assert!(!rendered.contains(secret), "{secret} in {rendered}");
    }
    assert!(rendered.contains("suite_ticket: ***"), "{rendered}");
    assert!(rendered.contains("auth_code: ***"), "{rendered}");
    // What is not secret is shown.
    assert!(
        rendered.contains(SUITE) && rendered.contains("zhangsan"),
        "{rendered}"
    );
    let dedupe = CommandDedupe::new(10, Duration::from_secs(60));
    assert!(format!("{dedupe:?}").starts_with("CommandDedupe"));
}

#[tokio::test]
async fn the_in_process_dedupe_is_a_delivery_log() {
    let log: Box<dyn DeliveryLog> = Box::new(CommandDedupe::new(100, Duration::from_secs(3600)));
    let event = CommandEvent::parse(CANCEL_AUTH).unwrap();
    assert!(log.first_delivery(&event).await.unwrap());
    assert!(!log.first_delivery(&event).await.unwrap());
}

/// Two replicas on one Redis: a delivery passes on one of them only, whichever gets it.
#[cfg(feature = "redis")]
#[tokio::test]
async fn replicas_sharing_redis_pass_a_delivery_once() {
    use wecom_kf::callback::RedisDeliveryLog;
    let Some(url) = crate::common::redis_url() else {
        return;
    };
    let prefix = crate::common::fresh_prefix("delivery");
    let replica = |url: String, prefix: String| async move {
        RedisDeliveryLog::connect(&url, Duration::from_secs(60))
            .await
            .unwrap()
            .prefix(prefix)
    };
    let a = replica(url.clone(), prefix.clone()).await;
    let b = replica(url.clone(), prefix.clone()).await;
    let crypto = suite(SUITE);
    let first = through(&crypto, &crypto, CREATE_AUTH).unwrap();
    let again = through(&crypto, &crypto, CREATE_AUTH).unwrap();
    let (x, y) = tokio::join!(a.first_delivery(&first), b.first_delivery(&again));
    assert_eq!(
        u8::from(x.unwrap()) + u8::from(y.unwrap()),
        1,
        "one replica acts"
    );
    assert!(!a.first_delivery(&first).await.unwrap());
    // A delivery whose work failed is forgotten on every replica: the next is the first.
    a.forget_delivery(&first).await.unwrap();
    assert!(b.first_delivery(&again).await.unwrap());
    assert!(!a.first_delivery(&first).await.unwrap());
    let next = CommandEvent::parse(&CREATE_AUTH.replace("AUTHCODE", "AUTHCODE2")).unwrap();
    assert!(b.first_delivery(&next).await.unwrap());
    // Another prefix (another environment) keeps its own log.
    let elsewhere = replica(url, format!("{prefix}other:")).await;
    assert!(elsewhere.first_delivery(&first).await.unwrap());
    // Debug shows where, not what.
    let shown = format!("{a:?}");
    assert!(shown.contains("RedisDeliveryLog") && !shown.contains("AUTHCODE"));
}
