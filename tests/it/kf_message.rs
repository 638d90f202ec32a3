//! `kf/sync_msg` on the simulator: pulling by cursor and page, the callback token's 10 minutes
//! (95007, reported distinctly), the 3-day window, each validation rule, the errcodes, typed
//! events, and the read replayed after a dropped answer.

use std::time::Duration;

use crate::common::client_on_manual_clock;
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::message::{Event, MessageContent, Origin, SyncMessages};
use wecom_kf::simulator::{Fault, Simulator, TokenIssue};
use wecom_kf::{Client, Error};

async fn started() -> (Simulator, Client, String, ManualClock) {
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    let open_kfid = sim.seed_account("售后客服", "media-1");
    (sim, client, open_kfid, clock)
}

fn texts(page: &wecom_kf::kf::message::SyncMessagesResponse) -> Vec<String> {
    page.msg_list
        .iter()
        .filter_map(|m| match &m.content {
            MessageContent::Text { content, .. } => Some(content.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn messages_are_pulled_by_cursor_and_page() {
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    for i in 1..=5 {
        sim.customer_says(&open_kfid, "wmALICE", &format!("m{i}"));
    }
    let first = messages
        .sync(SyncMessages::new(&open_kfid).limit(2))
        .await
        .unwrap();
    assert_eq!(texts(&first), ["m1", "m2"]);
    assert!(first.has_more);
    let m = &first.msg_list[0];
    assert_eq!(m.external_userid.as_deref(), Some("wmALICE"));
    assert_eq!(m.origin, Origin::Customer);
    let second = messages
        .sync(
            SyncMessages::new(&open_kfid)
                .limit(2)
                .cursor(&first.next_cursor),
        )
        .await
        .unwrap();
    assert_eq!(texts(&second), ["m3", "m4"]);
    let third = messages
        .sync(SyncMessages::new(&open_kfid).cursor(&second.next_cursor))
        .await
        .unwrap();
    assert_eq!(texts(&third), ["m5"]);
    assert!(!third.has_more);
    // Nothing new: an empty page, and the cursor stays where it was.
    let idle = messages
        .sync(SyncMessages::new(&open_kfid).cursor(&third.next_cursor))
        .await
        .unwrap();
    assert!(idle.msg_list.is_empty() && !idle.has_more);
    assert_eq!(idle.next_cursor, third.next_cursor);
    // Another account's log is its own.
    let other = sim.seed_account("其他", "m");
    assert!(
        messages
            .sync(SyncMessages::new(&other))
            .await
            .unwrap()
            .msg_list
            .is_empty()
    );
}

#[tokio::test]
async fn an_expired_callback_token_is_reported_distinctly() {
    let (sim, client, open_kfid, clock) = started().await;
    let messages = client.kf().message();
    sim.customer_says(&open_kfid, "wmALICE", "hello");
    let token = sim.sync_token(&open_kfid);
    let page = messages
        .sync(SyncMessages::new(&open_kfid).token(&token))
        .await
        .unwrap();
    assert_eq!(texts(&page), ["hello"]);

    sim.customer_says(&open_kfid, "wmALICE", "again");
    clock.advance(Duration::from_secs(601));
    let err = messages
        .sync(
            SyncMessages::new(&open_kfid)
                .token(&token)
                .cursor(&page.next_cursor),
        )
        .await
        .unwrap_err();
    assert!(err.is_sync_token_expired(), "{err}");
    assert!(err.to_string().contains("10 minutes"), "{err}");
    // Resume without the token, from the same cursor: nothing lost.
    let resumed = messages
        .sync(SyncMessages::new(&open_kfid).cursor(&page.next_cursor))
        .await
        .unwrap();
    assert_eq!(texts(&resumed), ["again"]);

    let never_issued = messages
        .sync(SyncMessages::new(&open_kfid).token("ENCforged"))
        .await
        .unwrap_err();
    assert!(never_issued.is_sync_token_expired());
    let other = sim.seed_account("其他", "m");
    let wrong_account = messages
        .sync(SyncMessages::new(&other).token(sim.sync_token(&open_kfid)))
        .await
        .unwrap_err();
    assert!(wrong_account.is_sync_token_expired());
}

#[tokio::test]
async fn only_the_last_three_days_come_back_and_events_are_typed() {
    let (sim, client, open_kfid, clock) = started().await;
    sim.customer_says(&open_kfid, "wmALICE", "old");
    clock.advance(Duration::from_secs(3 * 86_400 + 1));
    sim.customer_enters(&open_kfid, "wmBOB", "spring_sale");
    sim.customer_says(&open_kfid, "wmBOB", "new");
    let page = client
        .kf()
        .message()
        .sync(SyncMessages::new(&open_kfid))
        .await
        .unwrap();
    assert_eq!(texts(&page), ["new"]);
    match &page.msg_list[0].content {
        MessageContent::Event(Event::EnterSession {
            external_userid,
            scene,
            welcome_code,
            ..
        }) => {
            assert_eq!(
                (external_userid.as_str(), scene.as_str()),
                ("wmBOB", "spring_sale")
            );
            assert!(welcome_code.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(page.msg_list[0].origin, Origin::System);
}

#[tokio::test]
async fn each_rule_is_checked_before_sending() {
    let (sim, client, open_kfid, _clock) = started().await;
    let messages = client.kf().message();
    let cases = [
        (SyncMessages::new(""), "open_kfid"),
        (SyncMessages::new("k".repeat(65)), "open_kfid"),
        (
            SyncMessages::new(&open_kfid).cursor("c".repeat(65)),
            "cursor",
        ),
        (SyncMessages::new(&open_kfid).token(""), "token"),
        (
            SyncMessages::new(&open_kfid).token("t".repeat(129)),
            "token",
        ),
        (SyncMessages::new(&open_kfid).limit(0), "limit"),
        (SyncMessages::new(&open_kfid).limit(1001), "limit"),
    ];
    for (request, field) in cases {
        match messages.sync(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(sim.counters().calls("kf/sync_msg"), 0);
    messages
        .sync(SyncMessages::new(&open_kfid).limit(1000))
        .await
        .unwrap();
    let err = messages
        .sync(SyncMessages::new("wkunknown"))
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some(95004));
}

#[tokio::test]
async fn a_dropped_page_is_pulled_again() {
    let (sim, client, open_kfid, _clock) = started().await;
    sim.customer_says(&open_kfid, "wmALICE", "hello");
    sim.inject("kf/sync_msg", Fault::DropBeforeAnswer, 1);
    let page = client
        .kf()
        .message()
        .sync(SyncMessages::new(&open_kfid))
        .await
        .unwrap();
    assert_eq!(texts(&page), ["hello"]);
    assert_eq!(sim.counters().calls("kf/sync_msg"), 2);
}

#[test]
fn the_official_example_decodes_with_its_placeholder_type_kept() {
    use wecom_kf::kf::message::SyncMessagesResponse;
    let page: SyncMessagesResponse =
        serde_json::from_str(include_str!("fixtures/kf_sync_msg.json")).unwrap();
    assert!(page.has_more);
    assert_eq!(page.next_cursor, "4gw7MepFLfgF2VC5npN");
    assert_eq!(page.msg_list.len(), 3);
    let first = &page.msg_list[0];
    assert_eq!(first.servicer_userid.as_deref(), Some("Zhangsan"));
    assert!(
        matches!(&first.content, MessageContent::Other { msgtype, .. } if msgtype == "MSG_TYPE")
    );
    assert!(matches!(
        &page.msg_list[1].content,
        MessageContent::Event(Event::UserRecallMsg { recall_msgid, .. }) if recall_msgid == "RECALL_MSGID"
    ));
    assert!(matches!(
        &page.msg_list[2].content,
        MessageContent::Event(Event::ServicerRecallMsg { servicer_userid, .. }) if servicer_userid == "SERVICER_USERID"
    ));
}
