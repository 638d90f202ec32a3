//! `kf/send_msg` on the simulator: every documented message type on the wire, WeCom's sending
//! rules (states 0/1, 5 messages, 48 hours), msgids, each validation rule, and a lost answer
//! reported as OutcomeUnknown without a second send.

use std::time::Duration;

use serde_json::json;
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::send::{MenuItem, Outgoing, SendMsg};
use wecom_kf::kf::service_state::{ServiceState, TransServiceState};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error, TokenProvider, errcode};

const ALICE: &str = "wmALICE";

async fn started() -> (Simulator, Client, String, ManualClock) {
    let clock = ManualClock::new();
    let sim = Simulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let provider = TokenProvider::builder()
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = sim
        .client_builder()
        .token_provider(provider)
        .build()
        .unwrap();
    let open_kfid = sim.seed_account("售后客服", "media-1");
    sim.customer_says(&open_kfid, ALICE, "你好");
    (sim, client, open_kfid, clock)
}

fn code(err: &Error) -> Option<i64> {
    err.api().map(|a| a.code())
}

#[tokio::test]
async fn every_message_type_goes_out_as_documented() {
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    let contents = vec![
        Outgoing::text("您好"),
        Outgoing::image("media-img"),
        Outgoing::Link {
            title: "t".into(),
            desc: "d".into(),
            url: "https://example.com".into(),
            thumb_media_id: "media-thumb".into(),
        },
        Outgoing::MiniProgram {
            appid: "wx123".into(),
            title: "t".into(),
            thumb_media_id: "media-thumb".into(),
            pagepath: "pages/index".into(),
        },
        Outgoing::from(
            Outgoing::menu([
                MenuItem::click("101", "查订单"),
                MenuItem::view("https://example.com", "官网"),
            ])
            .head_content("请选择")
            .tail_content("谢谢"),
        ),
    ];
    let mut ids = Vec::new();
    for content in contents {
        let request = SendMsg::new(&open_kfid, ALICE, content);
        let msgid = request.msgid().to_owned();
        let sent = messages.send(request).await.unwrap();
        assert_eq!(sent.msgid, msgid, "the msgid sent comes back");
        ids.push(msgid);
    }
    let sent = sim.sent_messages(&open_kfid);
    let types: Vec<_> = sent.iter().map(|m| m.msgtype.as_str()).collect();
    assert_eq!(types, ["text", "image", "link", "miniprogram", "msgmenu"]);
    assert!(sent.iter().all(|m| m.touser == ALICE));
    assert_eq!(sent[0].payload, json!({"content": "您好"}));
    assert_eq!(
        sent[4].payload["list"][0],
        json!({"type": "click", "click": {"id": "101", "content": "查订单"}})
    );
    assert_eq!(
        sent.iter().map(|m| m.msgid.clone()).collect::<Vec<_>>(),
        ids
    );
}

#[tokio::test]
async fn five_messages_then_wait_for_the_customer() {
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    for i in 0..5 {
        messages
            .send(SendMsg::new(
                &open_kfid,
                ALICE,
                Outgoing::text(format!("{i}")),
            ))
            .await
            .unwrap();
    }
    let err = messages
        .send(SendMsg::new(&open_kfid, ALICE, Outgoing::text("6")))
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(errcode::KF_SEND_QUOTA_USED_UP));
    assert!(err.to_string().contains("5-message quota"), "{err}");
    sim.customer_says(&open_kfid, ALICE, "还在吗");
    messages
        .send(SendMsg::new(&open_kfid, ALICE, Outgoing::text("在的")))
        .await
        .unwrap();
}

#[tokio::test]
async fn only_within_48_hours_and_in_states_0_or_1() {
    let (sim, client, open_kfid, clock) = started().await;
    let messages = client.kf().message();
    let send = |to: &str| SendMsg::new(&open_kfid, to, Outgoing::text("x"));
    let err = messages.send(send("wmSTRANGER")).await.unwrap_err();
    assert_eq!(code(&err), Some(errcode::KF_STATE_FORBIDS_SENDING));

    client
        .kf()
        .service_state()
        .trans(TransServiceState::new(
            &open_kfid,
            ALICE,
            ServiceState::Queued,
        ))
        .await
        .unwrap();
    let err = messages.send(send(ALICE)).await.unwrap_err();
    assert_eq!(code(&err), Some(errcode::KF_STATE_FORBIDS_SENDING));

    sim.customer_says(&open_kfid, "wmBOB", "hi");
    clock.advance(Duration::from_secs(48 * 3_600 + 1));
    let err = messages.send(send("wmBOB")).await.unwrap_err();
    assert_eq!(code(&err), Some(errcode::KF_SEND_WINDOW_CLOSED));
}

#[tokio::test]
async fn a_chosen_msgid_is_kept_and_must_be_unique() {
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    let sent = messages
        .send(SendMsg::new(&open_kfid, ALICE, Outgoing::text("a")).with_msgid("order-42_reply"))
        .await
        .unwrap();
    assert_eq!(sent.msgid, "order-42_reply");
    let again = messages
        .send(SendMsg::new(&open_kfid, ALICE, Outgoing::text("b")).with_msgid("order-42_reply"))
        .await
        .unwrap_err();
    assert!(again.api().is_some(), "{again:?}");
    assert_eq!(sim.sent_messages(&open_kfid).len(), 1);
}

#[tokio::test]
async fn each_rule_is_checked_before_sending() {
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    let eleven: Vec<MenuItem> = (0..11)
        .map(|i| MenuItem::click(format!("{i}"), "x"))
        .collect();
    let cases: Vec<(SendMsg, &str)> = vec![
        (SendMsg::new("", ALICE, Outgoing::text("x")), "open_kfid"),
        (SendMsg::new(&open_kfid, "", Outgoing::text("x")), "touser"),
        (
            SendMsg::new(&open_kfid, ALICE, Outgoing::text("x")).with_msgid("m".repeat(33)),
            "msgid",
        ),
        (
            SendMsg::new(&open_kfid, ALICE, Outgoing::text("x")).with_msgid("has space"),
            "msgid",
        ),
        (
            SendMsg::new(&open_kfid, ALICE, Outgoing::text("")),
            "text.content",
        ),
        (
            SendMsg::new(&open_kfid, ALICE, Outgoing::text("字".repeat(683))),
            "text.content",
        ),
        (
            SendMsg::new(&open_kfid, ALICE, Outgoing::image("")),
            "media_id",
        ),
        (
            SendMsg::new(
                &open_kfid,
                ALICE,
                Outgoing::Link {
                    title: "t".into(),
                    desc: "d".into(),
                    url: "ftp://x".into(),
                    thumb_media_id: "m".into(),
                },
            ),
            "link.url",
        ),
        (
            SendMsg::new(
                &open_kfid,
                ALICE,
                Outgoing::Link {
                    title: "t".repeat(129),
                    desc: "d".into(),
                    url: "https://x".into(),
                    thumb_media_id: "m".into(),
                },
            ),
            "link.title",
        ),
        (
            SendMsg::new(&open_kfid, ALICE, Outgoing::from(Outgoing::menu(eleven))),
            "msgmenu.list",
        ),
        (
            SendMsg::new(
                &open_kfid,
                ALICE,
                Outgoing::from(Outgoing::menu([MenuItem::click("i".repeat(65), "x")])),
            ),
            "msgmenu.click.id",
        ),
        (
            SendMsg::new(
                &open_kfid,
                ALICE,
                Outgoing::Location {
                    latitude: 91.0,
                    longitude: 0.0,
                    name: "n".into(),
                    address: "a".into(),
                },
            ),
            "location.latitude",
        ),
    ];
    for (request, field) in cases {
        match messages.send(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(sim.counters().calls("kf/send_msg"), 0);
    // The limits themselves pass: 2048 bytes of text, a 32-byte msgid, 10 menu items.
    let ten: Vec<MenuItem> = (0..10)
        .map(|i| MenuItem::click(format!("{i}"), "x"))
        .collect();
    for request in [
        SendMsg::new(&open_kfid, ALICE, Outgoing::text("a".repeat(2048)))
            .with_msgid("m".repeat(32)),
        SendMsg::new(&open_kfid, ALICE, Outgoing::from(Outgoing::menu(ten))),
    ] {
        messages.send(request).await.unwrap();
    }
}

/// Not replayed: a lost answer is OutcomeUnknown, the message was sent once, and the msgid
/// read before sending finds it.
#[tokio::test]
async fn a_lost_answer_is_outcome_unknown_and_not_sent_twice() {
    let (sim, client, open_kfid, _clock) = started().await;
    sim.inject("kf/send_msg", Fault::DropAfterEffect, 1);
    let request = SendMsg::new(&open_kfid, ALICE, Outgoing::text("hello"));
    let msgid = request.msgid().to_owned();
    let err = client.kf().message().send(request).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/send_msg"), 1);
    let sent = sim.sent_messages(&open_kfid);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].msgid, msgid);
}
