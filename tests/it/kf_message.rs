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

fn page(json: &str) -> Vec<MessageContent> {
    let page: wecom_kf::kf::message::SyncMessagesResponse = serde_json::from_str(json).unwrap();
    page.msg_list.into_iter().map(|m| m.content).collect()
}

#[test]
fn a_menu_decodes_with_every_item_type() {
    use wecom_kf::kf::message::ReceivedMenuItem;
    let contents = page(include_str!("fixtures/kf_sync_msg_msgmenu.json"));
    let [MessageContent::Menu(menu)] = contents.as_slice() else {
        panic!("{contents:?}")
    };
    assert_eq!(
        menu.head_content.as_deref(),
        Some("您对本次服务是否满意呢? ")
    );
    assert_eq!(menu.tail_content.as_deref(), Some("欢迎再次光临"));
    assert!(matches!(
        &menu.list[..],
        [
            ReceivedMenuItem::Click { id: Some(id), content: yes },
            ReceivedMenuItem::Click { id: None, content: no },
            ReceivedMenuItem::View { url, .. },
            ReceivedMenuItem::MiniProgram { appid, pagepath, .. },
            ReceivedMenuItem::Text { content: plain, no_newline: true },
        ] if id == "101" && yes == "满意" && no == "不满意" && url == "https://work.weixin.qq.com"
            && appid == "wx123123123123123" && pagepath.starts_with("pages/index") && plain == "纯文本"
    ));
}

#[test]
fn a_channels_shop_product_decodes_in_both_spellings() {
    let contents = page(include_str!(
        "fixtures/kf_sync_msg_channels_shop_product.json"
    ));
    let [
        MessageContent::ChannelsShopProduct(img),
        MessageContent::ChannelsShopProduct(image),
    ] = contents.as_slice()
    else {
        panic!("{contents:?}")
    };
    // SKIT / WxJava: head_img, shop_head_img, a numeric price.
    assert_eq!(img.product_id, "10000042");
    assert_eq!(
        img.head_image.as_deref(),
        Some("https://example.com/product.jpg")
    );
    assert_eq!(
        img.shop_head_image.as_deref(),
        Some("https://example.com/shop.jpg")
    );
    assert_eq!(img.sales_price, "1990");
    assert_eq!(
        (img.title.as_str(), img.shop_nickname.as_str()),
        ("商品标题", "店铺名称")
    );
    // go-workwx / wxkefu-rs: head_image, shop_head_image, a string price.
    assert_eq!(
        image.head_image.as_deref(),
        Some("https://example.com/product2.jpg")
    );
    assert_eq!(
        image.shop_head_image.as_deref(),
        Some("https://example.com/shop.jpg")
    );
    assert_eq!(image.sales_price, "2990");
}

#[test]
fn a_channels_shop_order_decodes() {
    let contents = page(include_str!(
        "fixtures/kf_sync_msg_channels_shop_order.json"
    ));
    let [MessageContent::ChannelsShopOrder(order)] = contents.as_slice() else {
        panic!("{contents:?}")
    };
    assert_eq!(order.order_id, "3705115058471208928");
    assert_eq!(order.product_titles, "商品标题1,商品标题2");
    assert_eq!(order.price_wording, "¥29.90");
    assert_eq!(order.state, "待发货");
    assert_eq!(order.image_url, "https://example.com/order.jpg");
    assert_eq!(order.shop_nickname, "店铺名称");
}

#[test]
fn merged_records_decode_and_their_contents_read_as_messages() {
    let contents = page(include_str!("fixtures/kf_sync_msg_merged_msg.json"));
    let [MessageContent::MergedMsg(merged)] = contents.as_slice() else {
        panic!("{contents:?}")
    };
    assert_eq!(merged.title, "群聊的聊天记录");
    let [first, second] = merged.item.as_slice() else {
        panic!("{merged:?}")
    };
    assert_eq!(
        (
            first.send_time,
            first.msgtype.as_str(),
            first.sender_name.as_str()
        ),
        (1615478500, "text", "张三")
    );
    assert_eq!(
        first.content(),
        MessageContent::Text {
            content: "你好".into(),
            menu_id: None
        }
    );
    assert!(matches!(
        second.content(),
        MessageContent::Image { media_id } if media_id.starts_with("2iSLeVyq")
    ));
}

#[test]
fn a_channels_card_decodes_with_either_peers_fields() {
    let contents = page(include_str!("fixtures/kf_sync_msg_channels.json"));
    let [
        MessageContent::Channels(post),
        MessageContent::Channels(live),
    ] = contents.as_slice()
    else {
        panic!("{contents:?}")
    };
    assert_eq!(post.sub_type, Some(1));
    assert_eq!(
        (post.nickname.as_str(), post.title.as_str()),
        ("视频号名称", "视频号动态标题")
    );
    assert_eq!(post.url, None);
    assert_eq!(live.sub_type, None);
    assert_eq!(live.title, "直播标题");
    assert_eq!(live.desc.as_deref(), Some("直播描述"));
    assert_eq!(
        live.cover_url.as_deref(),
        Some("https://example.com/cover.jpg")
    );
    assert_eq!(live.url.as_deref(), Some("https://example.com/live"));
    assert_eq!(live.find_username.as_deref(), Some("sphABCDEF"));
}

#[test]
fn meetings_schedules_and_notes_are_typed_with_their_payload_kept() {
    let contents = page(include_str!(
        "fixtures/kf_sync_msg_meeting_schedule_note.json"
    ));
    assert!(matches!(
        contents.as_slice(),
        [
            MessageContent::Meeting { payload: serde_json::Value::Null, .. },
            MessageContent::Schedule { payload: serde_json::Value::Null, .. },
            MessageContent::Note { payload: note, .. },
        ] if *note == serde_json::json!({})
    ));
}

#[test]
fn the_reject_switch_event_decodes() {
    let contents = page(include_str!(
        "fixtures/kf_sync_msg_reject_customer_msg.json"
    ));
    let [MessageContent::Event(event)] = contents.as_slice() else {
        panic!("{contents:?}")
    };
    assert_eq!(
        *event,
        Event::RejectCustomerMsgSwitchChange {
            servicer_userid: "zhangsan".into(),
            open_kfid: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q".into(),
            external_userid: "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw".into(),
            reject_switch: 1,
        }
    );
}
