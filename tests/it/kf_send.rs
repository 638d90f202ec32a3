//! `kf/send_msg` on the simulator: every documented message type on the wire, WeCom's sending
//! rules (states 0/1, 5 messages, 48 hours), msgids, each validation rule, and a lost answer
//! reported as OutcomeUnknown without a second send.

use std::time::Duration;

use crate::common::client_on_manual_clock;
use serde_json::json;
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::message::{MenuItem, Outgoing, RecallMessage, SendMessage};
use wecom_kf::kf::service_state::{ServiceState, TransferServiceState};
use wecom_kf::simulator::{Fault, Simulator, TokenIssue};
use wecom_kf::{Client, Error, errcode};

const ALICE: &str = "wmALICE";

async fn started() -> (Simulator, Client, String, ManualClock) {
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::default()).await;
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
        let request = SendMessage::new(&open_kfid, ALICE, content);
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
            .send(SendMessage::new(
                &open_kfid,
                ALICE,
                Outgoing::text(format!("{i}")),
            ))
            .await
            .unwrap();
    }
    let err = messages
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("6")))
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(errcode::KF_SEND_QUOTA_USED_UP));
    assert!(err.to_string().contains("5-message quota"), "{err}");
    sim.customer_says(&open_kfid, ALICE, "还在吗");
    messages
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("在的")))
        .await
        .unwrap();
}

#[tokio::test]
async fn only_within_48_hours_and_in_states_0_or_1() {
    let (sim, client, open_kfid, clock) = started().await;
    let messages = client.kf().message();
    let send = |to: &str| SendMessage::new(&open_kfid, to, Outgoing::text("x"));
    let err = messages.send(send("wmSTRANGER")).await.unwrap_err();
    assert_eq!(code(&err), Some(errcode::KF_STATE_FORBIDS_SENDING));

    client
        .kf()
        .service_state()
        .transfer(TransferServiceState::new(
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
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("a")).with_msgid("order-42_reply"))
        .await
        .unwrap();
    assert_eq!(sent.msgid, "order-42_reply");
    let again = messages
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("b")).with_msgid("order-42_reply"))
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
    let cases: Vec<(SendMessage, &str)> = vec![
        (
            SendMessage::new("", ALICE, Outgoing::text("x")),
            "open_kfid",
        ),
        (
            SendMessage::new(&open_kfid, "", Outgoing::text("x")),
            "touser",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::text("x")).with_msgid("m".repeat(33)),
            "msgid",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::text("x")).with_msgid("has space"),
            "msgid",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::text("")),
            "text.content",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::text("字".repeat(683))),
            "text.content",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::image("")),
            "media_id",
        ),
        (
            SendMessage::new(
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
            SendMessage::new(
                &open_kfid,
                ALICE,
                Outgoing::Link {
                    title: String::new(),
                    desc: "d".into(),
                    url: "https://x".into(),
                    thumb_media_id: "m".into(),
                },
            ),
            "link.title",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::from(Outgoing::menu([]))),
            "msgmenu",
        ),
        (
            SendMessage::new(&open_kfid, ALICE, Outgoing::from(Outgoing::menu(eleven))),
            "msgmenu.list",
        ),
        (
            SendMessage::new(
                &open_kfid,
                ALICE,
                Outgoing::from(Outgoing::menu([MenuItem::click("i".repeat(129), "x")])),
            ),
            "msgmenu.click.id",
        ),
        (
            SendMessage::new(
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
    // The limits themselves pass: 2048 bytes of text, a 32-byte msgid, 10 menu items; and
    // what WeCom cuts rather than refuses (long link titles and descriptions), and a menu of
    // text alone.
    let ten: Vec<MenuItem> = (0..10)
        .map(|i| MenuItem::click(format!("{i}"), "x"))
        .collect();
    for request in [
        SendMessage::new(&open_kfid, ALICE, Outgoing::text("a".repeat(2048)))
            .with_msgid("m".repeat(32)),
        SendMessage::new(&open_kfid, ALICE, Outgoing::from(Outgoing::menu(ten))),
        SendMessage::new(
            &open_kfid,
            ALICE,
            Outgoing::Link {
                title: "t".repeat(200),
                desc: "d".repeat(600),
                url: "https://x".into(),
                thumb_media_id: "m".into(),
            },
        ),
        SendMessage::new(
            &open_kfid,
            ALICE,
            Outgoing::from(Outgoing::menu([]).head_content("请稍候")),
        ),
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
    let request = SendMessage::new(&open_kfid, ALICE, Outgoing::text("hello"));
    let msgid = request.msgid().to_owned();
    let err = client.kf().message().send(request).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/send_msg"), 1);
    let sent = sim.sent_messages(&open_kfid);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].msgid, msgid);
}

fn welcome_code(page: &wecom_kf::kf::message::SyncMessagesResponse) -> String {
    use wecom_kf::kf::message::{Event, MessageContent};
    page.msg_list
        .iter()
        .find_map(|m| match &m.content {
            MessageContent::Event(Event::EnterSession { welcome_code, .. }) => welcome_code.clone(),
            _ => None,
        })
        .expect("a welcome code")
}

#[tokio::test]
async fn an_event_code_sends_one_message_while_it_is_valid() {
    use wecom_kf::kf::message::{SendOnEvent, SyncMessages};
    let (sim, client, open_kfid, clock) = started().await;
    let messages = client.kf().message();
    sim.customer_enters(&open_kfid, "wmBOB", "spring");
    let page = messages.sync(SyncMessages::new(&open_kfid)).await.unwrap();
    let code = welcome_code(&page);

    let sent = messages
        .send_on_event(SendOnEvent::new(&code, Outgoing::text("欢迎")))
        .await
        .unwrap();
    let recorded = sim.sent_messages(&open_kfid);
    let welcome = recorded.iter().find(|m| m.msgid == sent.msgid).unwrap();
    assert!(welcome.on_event);
    assert_eq!(welcome.touser, "wmBOB");
    let reused = messages
        .send_on_event(SendOnEvent::new(&code, Outgoing::text("again")))
        .await
        .unwrap_err();
    assert!(reused.api().is_some(), "single use: {reused:?}");
    // A msgid the account has used is refused here too, and the code stays unused.
    sim.customer_enters(&open_kfid, "wmCAROL", "spring");
    let page = messages.sync(SyncMessages::new(&open_kfid)).await.unwrap();
    let carol_code = page
        .msg_list
        .iter()
        .find_map(|m| match &m.content {
            wecom_kf::kf::message::MessageContent::Event(
                wecom_kf::kf::message::Event::EnterSession {
                    external_userid,
                    welcome_code,
                    ..
                },
            ) if external_userid == "wmCAROL" => welcome_code.clone(),
            _ => None,
        })
        .unwrap();
    let duplicate = messages
        .send_on_event(SendOnEvent::new(&carol_code, Outgoing::text("hi")).with_msgid(&sent.msgid))
        .await
        .unwrap_err();
    assert!(
        duplicate
            .api()
            .is_some_and(|e| e.code() == 40058 && e.message().contains("msgid")),
        "{duplicate:?}"
    );
    messages
        .send_on_event(SendOnEvent::new(&carol_code, Outgoing::text("hi")))
        .await
        .unwrap();

    // A closing code lasts 20 seconds.
    let trans = client.kf().service_state();
    trans
        .transfer(TransferServiceState::new(
            &open_kfid,
            ALICE,
            ServiceState::Bot,
        ))
        .await
        .unwrap();
    let queued = trans
        .transfer(TransferServiceState::new(
            &open_kfid,
            ALICE,
            ServiceState::Queued,
        ))
        .await
        .unwrap();
    let reply_code = queued.msg_code.expect("a code on the move to the queue");
    sim.seed_member("zhangsan");
    client
        .kf()
        .servicer()
        .add(wecom_kf::kf::servicer::AddServicers::new(&open_kfid).userids(["zhangsan"]))
        .await
        .unwrap();
    trans
        .transfer(
            TransferServiceState::new(&open_kfid, ALICE, ServiceState::Servicer)
                .servicer_userid("zhangsan"),
        )
        .await
        .unwrap();
    let stale = messages
        .send_on_event(SendOnEvent::new(&reply_code, Outgoing::text("排队中")))
        .await
        .unwrap_err();
    assert!(
        stale.api().is_some(),
        "the session left the state that made the code"
    );
    let ended = trans
        .transfer(TransferServiceState::new(
            &open_kfid,
            ALICE,
            ServiceState::Ended,
        ))
        .await
        .unwrap();
    let closing = ended.msg_code.expect("a closing code");
    clock.advance(Duration::from_secs(21));
    let late = messages
        .send_on_event(SendOnEvent::new(&closing, Outgoing::text("再见")))
        .await
        .unwrap_err();
    assert!(late.api().is_some(), "expired after 20 s");
}

#[tokio::test]
async fn on_event_rules_and_a_lost_answer() {
    use wecom_kf::kf::message::SendOnEvent;
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    for (request, field) in [
        (SendOnEvent::new("", Outgoing::text("x")), "code"),
        (SendOnEvent::new("c", Outgoing::image("m")), "msgtype"),
        (SendOnEvent::new("c", Outgoing::text("")), "text.content"),
        (
            SendOnEvent::new("c", Outgoing::text("x")).with_msgid("bad id"),
            "msgid",
        ),
    ] {
        match messages.send_on_event(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(sim.counters().calls("kf/send_msg_on_event"), 0);
    let queued = client
        .kf()
        .service_state()
        .transfer(TransferServiceState::new(
            &open_kfid,
            ALICE,
            ServiceState::Queued,
        ))
        .await
        .unwrap();
    sim.inject("kf/send_msg_on_event", Fault::DropAfterEffect, 1);
    let err = messages
        .send_on_event(SendOnEvent::new(
            queued.msg_code.unwrap(),
            Outgoing::text("稍等"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/send_msg_on_event"), 1);
    assert_eq!(sim.sent_messages(&open_kfid).len(), 1);
}

#[tokio::test]
async fn a_message_can_be_recalled_within_two_minutes_once() {
    let (sim, client, open_kfid, clock) = started().await;
    let messages = client.kf().message();
    let first = messages
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("oops")))
        .await
        .unwrap();
    messages
        .recall(RecallMessage::new(&open_kfid, &first.msgid))
        .await
        .unwrap();
    assert!(sim.sent_messages(&open_kfid)[0].recalled);
    assert!(
        messages
            .recall(RecallMessage::new(&open_kfid, &first.msgid))
            .await
            .unwrap_err()
            .api()
            .is_some()
    );
    let second = messages
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("late")))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(121));
    assert!(
        messages
            .recall(RecallMessage::new(&open_kfid, &second.msgid))
            .await
            .unwrap_err()
            .api()
            .is_some()
    );
    for (kfid, msgid, field) in [("", "m", "open_kfid"), (open_kfid.as_str(), "", "msgid")] {
        match messages.recall(RecallMessage::new(kfid, msgid)).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let third = messages
        .send(SendMessage::new(&open_kfid, ALICE, Outgoing::text("third")))
        .await
        .unwrap();
    sim.inject("kf/recall_msg", Fault::DropAfterEffect, 1);
    let err = messages
        .recall(RecallMessage::new(&open_kfid, &third.msgid))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/recall_msg"), 4);
    assert!(sim.sent_messages(&open_kfid)[2].recalled);
}
