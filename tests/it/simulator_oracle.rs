//! The simulator as an oracle of the documented session rules (audit F1, F2, F8, F9, F21 and
//! the menu limits): the full table of `service_state/trans` moves, what a customer's message
//! and an API reply do to a session, when `send_msg` is refused, and which message types each
//! event code allows. Driven through the SDK client where the SDK can say it, over plain HTTP
//! where the SDK would refuse to send (or its shape is being changed).

use serde_json::{Value, json};
use wecom_kf::kf::message::{Outgoing, SendMessage, SendOnEvent};
use wecom_kf::kf::service_state::{GetServiceState, ServiceState, TransferServiceState};
use wecom_kf::kf::servicer::AddServicers;
use wecom_kf::simulator::Simulator;
use wecom_kf::{Client, Error};

const SERVICER: &str = "zhangsan";

/// A simulator with an account whose servicer is [`SERVICER`].
async fn started() -> (Simulator, Client, String) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "media-1");
    sim.seed_member(SERVICER);
    client
        .kf()
        .servicer()
        .add(AddServicers::new(&open_kfid).userids([SERVICER]))
        .await
        .unwrap();
    (sim, client, open_kfid)
}

fn code(err: &Error) -> Option<i64> {
    err.api().map(|a| a.code())
}

fn request(open_kfid: &str, customer: &str, to: ServiceState) -> TransferServiceState {
    let request = TransferServiceState::new(open_kfid, customer, to);
    if to == ServiceState::Servicer {
        request.servicer_userid(SERVICER)
    } else {
        request
    }
}

async fn transfer(
    client: &Client,
    open_kfid: &str,
    customer: &str,
    to: ServiceState,
) -> Result<Option<String>, Error> {
    client
        .kf()
        .service_state()
        .transfer(request(open_kfid, customer, to))
        .await
        .map(|r| r.msg_code)
}

async fn state_of(
    client: &Client,
    open_kfid: &str,
    customer: &str,
) -> (ServiceState, Option<String>) {
    let info = client
        .kf()
        .service_state()
        .get(GetServiceState::new(open_kfid, customer))
        .await
        .unwrap();
    (info.service_state, info.servicer_userid)
}

/// The ways a session reaches a state: `"4 never"` is a customer who never wrote, `"4 ended"`
/// one whose session a servicer ended.
#[derive(Debug, Clone, Copy)]
enum Start {
    Untreated,
    Bot,
    Queued,
    Servicer,
    NeverSeen,
    Ended,
}

impl Start {
    fn state(self) -> ServiceState {
        match self {
            Self::Untreated => ServiceState::Untreated,
            Self::Bot => ServiceState::Bot,
            Self::Queued => ServiceState::Queued,
            Self::Servicer => ServiceState::Servicer,
            Self::NeverSeen | Self::Ended => ServiceState::Ended,
        }
    }
}

/// Puts `customer`'s session in `from`, through the API.
async fn reach(sim: &Simulator, client: &Client, open_kfid: &str, customer: &str, from: Start) {
    if matches!(from, Start::NeverSeen) {
        return;
    }
    sim.customer_says(open_kfid, customer, "你好");
    let path: &[ServiceState] = match from {
        Start::NeverSeen | Start::Untreated => &[],
        Start::Bot => &[ServiceState::Bot],
        Start::Queued => &[ServiceState::Queued],
        Start::Servicer => &[ServiceState::Servicer],
        Start::Ended => &[ServiceState::Servicer, ServiceState::Ended],
    };
    for &to in path {
        transfer(client, open_kfid, customer, to).await.unwrap();
    }
    assert_eq!(
        state_of(client, open_kfid, customer).await.0,
        from.state(),
        "{from:?}"
    );
}

/// Every from-state × to-state the SDK can ask for, with the answer the docs give: the state
/// table (doc 94669) allows 0 → 1, 2, 3; 1 → 2, 3; 2 → 3; 3 → 3, 4; every other move is
/// 95016 and leaves the session as it was. 0/1/2 → 4 is refused: an open point (F21), kept
/// strict. (A move to 0 the SDK refuses before sending; the simulator's answer to it is
/// checked over HTTP below.)
#[tokio::test]
async fn the_full_table_of_session_moves() {
    use ServiceState::{Bot, Ended, Queued, Servicer};
    let (sim, client, open_kfid) = started().await;
    let allowed = |from: Start, to: ServiceState| {
        matches!(
            (from, to),
            (Start::Untreated, Bot | Queued | Servicer)
                | (Start::Bot, Queued | Servicer)
                | (Start::Queued, Servicer)
                | (Start::Servicer, Servicer | Ended)
        )
    };
    let froms = [
        Start::Untreated,
        Start::Bot,
        Start::Queued,
        Start::Servicer,
        Start::NeverSeen,
        Start::Ended,
    ];
    let mut rows = 0;
    for from in froms {
        for to in [Bot, Queued, Servicer, Ended] {
            rows += 1;
            let customer = format!("wmTABLE{rows:02}");
            reach(&sim, &client, &open_kfid, &customer, from).await;
            let answer = transfer(&client, &open_kfid, &customer, to).await;
            let now = state_of(&client, &open_kfid, &customer).await;
            if allowed(from, to) {
                assert!(answer.is_ok(), "{from:?} -> {to:?}: {answer:?}");
                let servicer = (to == Servicer).then(|| SERVICER.to_owned());
                assert_eq!(now, (to, servicer), "{from:?} -> {to:?}");
            } else {
                let err = answer.expect_err(&format!("{from:?} -> {to:?} must be refused"));
                assert_eq!(code(&err), Some(95016), "{from:?} -> {to:?}: {err}");
                assert_eq!(now.0, from.state(), "{from:?} -> {to:?} changed nothing");
            }
        }
    }
    assert_eq!(rows, 24);
}

/// A plain HTTP client for what the SDK will not send.
struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(sim: &Simulator) -> Self {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = sim.base_url();
        let v: Value = http
            .get(format!("{base}/cgi-bin/gettoken"))
            .query(&[("corpid", sim.corp_id()), ("corpsecret", sim.corp_secret())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = v["access_token"].as_str().unwrap().to_owned();
        Self { http, base, token }
    }

    async fn post(&self, path: &str, body: Value) -> i64 {
        let v: Value = self
            .http
            .post(format!("{}/cgi-bin/{path}", self.base))
            .query(&[("access_token", self.token.as_str())])
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["errcode"].as_i64().unwrap()
    }
}

#[tokio::test]
async fn a_move_to_untreated_is_95016_from_every_state() {
    let (sim, client, open_kfid) = started().await;
    let raw = Raw::new(&sim).await;
    for (i, from) in [
        Start::Untreated,
        Start::Bot,
        Start::Queued,
        Start::Servicer,
        Start::Ended,
    ]
    .into_iter()
    .enumerate()
    {
        let customer = format!("wmZERO{i}");
        reach(&sim, &client, &open_kfid, &customer, from).await;
        let body = json!({"open_kfid": open_kfid, "external_userid": customer, "service_state": 0});
        assert_eq!(
            raw.post("kf/service_state/trans", body).await,
            95016,
            "{from:?} -> 0"
        );
    }
}

/// F1: "客户重新发信咨询后会话状态变为“未处理”" is said of state 4 only. A customer writing
/// to a session in 1, 2 or 3 leaves its state, servicer and codes alone.
#[tokio::test]
async fn a_customer_message_restarts_only_an_ended_session() {
    let (sim, client, open_kfid) = started().await;
    for (from, customer) in [
        (Start::Bot, "wmF1BOT"),
        (Start::Queued, "wmF1QUEUE"),
        (Start::Servicer, "wmF1HUMAN"),
    ] {
        reach(&sim, &client, &open_kfid, customer, from).await;
        let before = state_of(&client, &open_kfid, customer).await;
        sim.customer_says(&open_kfid, customer, "还在吗");
        assert_eq!(
            state_of(&client, &open_kfid, customer).await,
            before,
            "{from:?}"
        );
    }
    // The bot must not answer a customer a servicer holds: WeCom says 95018.
    let err = client
        .kf()
        .message()
        .send(SendMessage::new(
            &open_kfid,
            "wmF1HUMAN",
            Outgoing::text("bot here"),
        ))
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(95018));
    // The servicer's code was handed out once: a message does not reset it.
    let again = transfer(&client, &open_kfid, "wmF1HUMAN", ServiceState::Servicer)
        .await
        .unwrap();
    assert_eq!(
        again, None,
        "3 -> 3 after a customer message issues no new code"
    );
    // And the session ended, then written to, starts over in 0.
    reach(&sim, &client, &open_kfid, "wmF1END", Start::Ended).await;
    sim.customer_says(&open_kfid, "wmF1END", "又来了");
    assert_eq!(
        state_of(&client, &open_kfid, "wmF1END").await,
        (ServiceState::Untreated, None)
    );
}

/// F2: "通过API发消息…会将客户分配给智能助手" (doc 95489): a reply moves 0 to 1, so the bot's
/// own trans(→1) is then 95016.
#[tokio::test]
async fn an_api_reply_hands_the_session_to_the_bot() {
    let (sim, client, open_kfid) = started().await;
    sim.customer_says(&open_kfid, "wmF2", "你好");
    client
        .kf()
        .message()
        .send(SendMessage::new(&open_kfid, "wmF2", Outgoing::text("您好")))
        .await
        .unwrap();
    assert_eq!(
        state_of(&client, &open_kfid, "wmF2").await.0,
        ServiceState::Bot
    );
    let err = transfer(&client, &open_kfid, "wmF2", ServiceState::Bot)
        .await
        .unwrap_err();
    assert_eq!(code(&err), Some(95016), "1 -> 1 is not a move");
    // A second reply in state 1 is fine and keeps it there.
    client
        .kf()
        .message()
        .send(SendMessage::new(
            &open_kfid,
            "wmF2",
            Outgoing::text("还有问题吗"),
        ))
        .await
        .unwrap();
    assert_eq!(
        state_of(&client, &open_kfid, "wmF2").await.0,
        ServiceState::Bot
    );
}

/// `send_msg` writes only to sessions in 0 or 1: 95018 in 2, 3 and 4 (a customer who wrote
/// within 48 hours in each case, so the window is not what refuses).
#[tokio::test]
async fn send_msg_is_95018_in_states_2_3_and_4() {
    let (sim, client, open_kfid) = started().await;
    for (from, customer) in [
        (Start::Queued, "wmS2"),
        (Start::Servicer, "wmS3"),
        (Start::Ended, "wmS4"),
    ] {
        reach(&sim, &client, &open_kfid, customer, from).await;
        let err = client
            .kf()
            .message()
            .send(SendMessage::new(&open_kfid, customer, Outgoing::text("x")))
            .await
            .unwrap_err();
        assert_eq!(code(&err), Some(95018), "{from:?}");
    }
    assert!(sim.sent_messages(&open_kfid).is_empty());
}

/// F9: "进入接待池" and "从接待池接入会话" are separate codes (doc 95122); F8: both allow text
/// only, while welcome and closing codes allow text and menus.
#[tokio::test]
async fn queue_and_servicer_codes_are_separate_and_text_only() {
    let (sim, client, open_kfid) = started().await;
    let raw = Raw::new(&sim).await;
    let menu = json!({"head_content": "请选择", "list": [{"type": "click", "click": {"id": "1", "content": "退货"}}]});
    let on_event = |code: &str, msgtype: &str| {
        let mut body = json!({"code": code, "msgtype": msgtype});
        body[msgtype] = if msgtype == "text" {
            json!({"content": "您好"})
        } else {
            menu.clone()
        };
        body
    };
    sim.customer_says(&open_kfid, "wmF9", "你好");
    let queue_code = transfer(&client, &open_kfid, "wmF9", ServiceState::Queued)
        .await
        .unwrap()
        .expect("a 进入接待池 code");
    assert_eq!(
        raw.post("kf/send_msg_on_event", on_event(&queue_code, "msgmenu"))
            .await,
        40058
    );
    assert_eq!(
        raw.post("kf/send_msg_on_event", on_event(&queue_code, "text"))
            .await,
        0
    );
    let servicer_code = transfer(&client, &open_kfid, "wmF9", ServiceState::Servicer)
        .await
        .unwrap()
        .expect("a 从接待池接入会话 code on 2 -> 3");
    assert_ne!(servicer_code, queue_code);
    assert_eq!(
        raw.post("kf/send_msg_on_event", on_event(&servicer_code, "msgmenu"))
            .await,
        40058
    );
    client
        .kf()
        .message()
        .send_on_event(SendOnEvent::new(
            &servicer_code,
            Outgoing::text("人工客服为您服务"),
        ))
        .await
        .unwrap();
    let closing = transfer(&client, &open_kfid, "wmF9", ServiceState::Ended)
        .await
        .unwrap()
        .expect("a 结束会话 code");
    assert_eq!(
        raw.post("kf/send_msg_on_event", on_event(&closing, "msgmenu"))
            .await,
        0,
        "menus on a closing code"
    );
}

/// Menu items as doc 94677 gives them: a click `id` is optional and at most 128 bytes, a text
/// item 1–256 bytes (40058 otherwise; the docs give no code).
#[tokio::test]
async fn menu_items_follow_the_documented_limits() {
    let (sim, _client, open_kfid) = started().await;
    let raw = Raw::new(&sim).await;
    let send = |n: usize, item: Value| {
        let customer = format!("wmMENU{n}");
        sim.customer_says(&open_kfid, &customer, "你好");
        json!({"touser": customer, "open_kfid": open_kfid, "msgtype": "msgmenu",
               "msgmenu": {"list": [item]}})
    };
    let click = |id: Option<String>| match id {
        Some(id) => json!({"type": "click", "click": {"id": id, "content": "退货"}}),
        None => json!({"type": "click", "click": {"content": "退货"}}),
    };
    let text = |content: String| json!({"type": "text", "text": {"content": content}});
    let cases = [
        (click(None), 0),
        (click(Some("i".repeat(128))), 0),
        (click(Some("i".repeat(129))), 40058),
        (click(Some(String::new())), 40058),
        (text("t".repeat(256)), 0),
        (text("t".repeat(257)), 40058),
        (text(String::new()), 40058),
    ];
    for (n, (item, expected)) in cases.into_iter().enumerate() {
        assert_eq!(
            raw.post("kf/send_msg", send(n, item.clone())).await,
            expected,
            "{item}"
        );
    }
}

/// F14, kept strict: "最大查询跨度为31天" read as 31 days counted inclusively, so
/// `end - start` = 30 days is answered and 31 days refused (40058).
#[tokio::test]
async fn a_statistics_range_spans_at_most_31_calendar_days() {
    let (sim, _client, open_kfid) = started().await;
    let raw = Raw::new(&sim).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // 00:00 China time, 40 days ago.
    let start = (now + 8 * 3600) / 86_400 * 86_400 - 8 * 3600 - 40 * 86_400;
    let range = |days: i64| json!({"open_kfid": open_kfid, "start_time": start, "end_time": start + days * 86_400});
    assert_eq!(raw.post("kf/get_corp_statistic", range(30)).await, 0);
    assert_eq!(raw.post("kf/get_corp_statistic", range(31)).await, 40058);
}
