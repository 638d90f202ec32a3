//! The simulator's control plane under `/__sim/`, driven over plain HTTP (reqwest, not the
//! SDK) as a program in another language would: seed, play a customer, read the state and
//! counters, script faults that the SDK's calls then hit, expire tokens, set a callback,
//! reset; every bad request answered with its status and a JSON error, the server serving on
//! afterwards; the Rust API and the routes showing the same state; and the README's curl
//! lines played against a simulator.

use serde_json::{Value, json};
use wecom_kf::kf::account::{AddAccount, ListAccounts};
use wecom_kf::kf::message::{Outgoing, SendMessage, SyncMessages};
use wecom_kf::kf::service_state::{ServiceState, TransferServiceState};
use wecom_kf::kf::servicer::AddServicers;
use wecom_kf::simulator::{SimState, Simulator};
use wecom_kf::{Client, Error};

/// A plain HTTP client for the control routes of one simulator.
struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    fn of(sim: &Simulator) -> Self {
        Self {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: sim.base_url(),
        }
    }

    /// Sends a request, returns its status and its body as JSON (the control plane always
    /// answers JSON).
    async fn send(&self, method: &str, route: &str, body: Option<&str>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{route}", self.base));
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, value)
    }

    /// A POST that must succeed; its answer.
    async fn post(&self, route: &str, body: Value) -> Value {
        let (status, value) = self.send("POST", route, Some(&body.to_string())).await;
        assert_eq!(status, 200, "{route}: {value}");
        value
    }

    async fn state(&self) -> Value {
        let (status, value) = self.send("GET", "/__sim/state", None).await;
        assert_eq!(status, 200, "{value}");
        value
    }
}

async fn started() -> (Simulator, Control, Client) {
    let sim = Simulator::start().await.unwrap();
    let control = Control::of(&sim);
    let client = sim
        .client_builder()
        .retry(crate::common::fast_retry())
        .build()
        .unwrap();
    (sim, control, client)
}

#[tokio::test]
async fn seed_play_a_customer_and_read_the_state_over_http() {
    let (sim, control, client) = started().await;
    let seeded = control
        .post(
            "/__sim/seed",
            json!({
                "members": ["zhangsan"],
                "customers": [{"external_userid": "wmALICE", "nickname": "Alice"}],
                "accounts": [
                    {"name": "售后客服", "media_id": "MEDIA_1"},
                    {"name": "咨询客服", "media_id": "MEDIA_2"},
                ],
            }),
        )
        .await;
    let open_kfids: Vec<String> = serde_json::from_value(seeded["open_kfids"].clone()).unwrap();
    assert_eq!(open_kfids.len(), 2);
    let kf = &open_kfids[0];

    let said = control
        .post(
            "/__sim/customer/message",
            json!({"open_kfid": kf, "external_userid": "wmALICE", "text": "你好"}),
        )
        .await;
    let msgid = said["msgid"].as_str().unwrap().to_owned();
    assert!(said.get("callback").is_none(), "no callback is set: {said}");
    let entered = control
        .post(
            "/__sim/customer/enter",
            json!({"open_kfid": kf, "external_userid": "wmBOB", "scene": "spring"}),
        )
        .await;
    assert!(entered["msgid"].is_string(), "{entered}");

    // Nothing reached WeCom's side yet: control calls are not counted.
    let state = control.state().await;
    assert_eq!(
        state["counters"],
        json!({"gettoken": 0, "calls": {}, "effects": {}})
    );
    assert_eq!(state["accounts"][0]["open_kfid"], json!(kf));
    assert_eq!(state["accounts"][1]["name"], json!("咨询客服"));
    assert_eq!(
        state["sessions"],
        json!([{"open_kfid": kf, "external_userid": "wmALICE", "state": 0, "servicer_userid": null}])
    );

    // The SDK sees what was played and seeded.
    let page = client
        .kf()
        .message()
        .sync(SyncMessages::new(kf))
        .await
        .unwrap();
    assert_eq!(page.msg_list[0].msgid, msgid);
    assert_eq!(page.msg_list.len(), 2);
    let sent = client
        .kf()
        .message()
        .send(SendMessage::new(kf, "wmALICE", Outgoing::text("在的")))
        .await
        .unwrap();
    client
        .kf()
        .servicer()
        .add(AddServicers::new(kf).userids(["zhangsan"]))
        .await
        .unwrap();
    client
        .kf()
        .service_state()
        .transfer(
            TransferServiceState::new(kf, "wmALICE", ServiceState::Servicer)
                .servicer_userid("zhangsan"),
        )
        .await
        .unwrap();

    let state = control.state().await;
    assert_eq!(
        state["sent_messages"],
        json!([{"open_kfid": kf, "touser": "wmALICE", "msgid": sent.msgid, "msgtype": "text"}])
    );
    assert_eq!(state["sessions"][0]["state"], json!(3));
    assert_eq!(state["sessions"][0]["servicer_userid"], json!("zhangsan"));
    let counters = &state["counters"];
    assert_eq!(counters["gettoken"], json!(1));
    for path in [
        "kf/sync_msg",
        "kf/send_msg",
        "kf/servicer/add",
        "kf/service_state/trans",
    ] {
        assert_eq!(counters["calls"][path], json!(1), "{path}: {counters}");
        assert_eq!(counters["effects"][path], json!(1), "{path}: {counters}");
    }
    assert_eq!(
        counters["calls"].as_object().unwrap().len(),
        5,
        "{counters}"
    );
    // The seeded customer is found.
    let found = client
        .kf()
        .customer()
        .batch_get(wecom_kf::kf::customer::BatchGetCustomers::new(["wmALICE"]))
        .await
        .unwrap();
    assert_eq!(found.customer_list[0].nickname, "Alice");
    drop(sim);
}

/// The two faces show one state: the Rust snapshot and the route's answer are equal, and an
/// operation done on either face shows on the other.
#[tokio::test]
async fn the_rust_api_and_the_routes_show_the_same_state() {
    let (sim, control, client) = started().await;
    let kf = sim.seed_account("Rust 这边", "m");
    control
        .post(
            "/__sim/customer/message",
            json!({"open_kfid": kf, "external_userid": "wmX", "text": "hi"}),
        )
        .await;
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    let over_http: SimState = serde_json::from_value(control.state().await).unwrap();
    assert_eq!(over_http, sim.state());
    assert_eq!(over_http.accounts[0].open_kfid, kf);
    assert_eq!(over_http.sessions[0].external_userid, "wmX");
    assert_eq!(over_http.counters.calls["kf/account/list"], 1);
    assert_eq!(sim.counters().calls("kf/account/list"), 1);

    control
        .post(
            "/__sim/faults",
            json!({"path": "kf/account/list", "fault": "drop_before_answer", "times": 2}),
        )
        .await;
    assert_eq!(sim.pending_faults("kf/account/list"), 2);
    sim.reset();
    assert_eq!(
        control.state().await,
        serde_json::to_value(SimState::default()).unwrap()
    );
}

#[tokio::test]
async fn faults_scripted_over_http_hit_the_sdks_calls() {
    let (_sim, control, client) = started().await;
    let accounts = client.kf().account();

    // A 502 on a read: the SDK retries it.
    let queued = control
        .post(
            "/__sim/faults",
            json!({"path": "kf/account/list", "fault": {"http_status": 502}, "times": 1}),
        )
        .await;
    assert_eq!(queued, json!({"pending": 1}));
    accounts.list(ListAccounts::new()).await.unwrap();

    // 45009 is never retried; `times` defaults to 1, a /cgi-bin/ prefix is accepted.
    control
        .post(
            "/__sim/faults",
            json!({"path": "/cgi-bin/kf/account/list", "fault": {"errcode": 45009}}),
        )
        .await;
    let err = accounts.list(ListAccounts::new()).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some(45009), "{err}");

    // Executed, then dropped: the SDK cannot know, and does not replay the add.
    control
        .post(
            "/__sim/faults",
            json!({"path": "kf/account/add", "fault": "drop_after_effect"}),
        )
        .await;
    let lost = accounts.add(AddAccount::new("咨询客服", "MEDIA")).await;
    assert!(
        matches!(lost, Err(Error::OutcomeUnknown { .. })),
        "{lost:?}"
    );

    // A hold lands when released over HTTP.
    control
        .post(
            "/__sim/faults",
            json!({"path": "kf/account/list", "fault": "hold"}),
        )
        .await;
    let held = tokio::spawn({
        let client = client.clone();
        async move { client.kf().account().list(ListAccounts::new()).await }
    });
    control
        .post("/__sim/release", json!({"path": "kf/account/list"}))
        .await;
    let page = held.await.unwrap().unwrap();
    assert_eq!(page.account_list.len(), 1);

    let state = control.state().await;
    assert_eq!(state["accounts"].as_array().unwrap().len(), 1);
    let counters = &state["counters"];
    assert_eq!(counters["calls"]["kf/account/list"], json!(4), "{counters}");
    assert_eq!(
        counters["effects"]["kf/account/list"],
        json!(2),
        "{counters}"
    );
    assert_eq!(counters["calls"]["kf/account/add"], json!(1), "{counters}");
    assert_eq!(
        counters["effects"]["kf/account/add"],
        json!(1),
        "{counters}"
    );
}

#[tokio::test]
async fn tokens_expired_or_revoked_over_http_make_the_sdk_refresh() {
    let (_sim, control, client) = started().await;
    let accounts = client.kf().account();
    accounts.list(ListAccounts::new()).await.unwrap();
    assert_eq!(
        control.post("/__sim/tokens/expire", json!({})).await,
        json!({"ok": true})
    );
    accounts.list(ListAccounts::new()).await.unwrap();
    // A body is not needed where a route takes no parameters.
    let (status, _) = control.send("POST", "/__sim/tokens/revoke", None).await;
    assert_eq!(status, 200);
    accounts.list(ListAccounts::new()).await.unwrap();

    let counters = &control.state().await["counters"];
    assert_eq!(counters["gettoken"], json!(3), "{counters}");
    // 1 + (42001, then the answer) + (40014, then the answer).
    assert_eq!(counters["calls"]["kf/account/list"], json!(5), "{counters}");
    assert_eq!(
        counters["effects"]["kf/account/list"],
        json!(3),
        "{counters}"
    );
}

#[tokio::test]
async fn a_reset_forgets_the_corp_but_keeps_the_clients_token_working() {
    let (_sim, control, client) = started().await;
    let seeded = control
        .post(
            "/__sim/seed",
            json!({"accounts": [{"name": "旧", "media_id": "m"}], "members": ["lisi"]}),
        )
        .await;
    let old = seeded["open_kfids"][0].as_str().unwrap().to_owned();
    control
        .post(
            "/__sim/customer/message",
            json!({"open_kfid": old, "external_userid": "wmA", "text": "x"}),
        )
        .await;
    control
        .post(
            "/__sim/faults",
            json!({"path": "kf/account/list", "fault": {"http_status": 503}, "times": 5}),
        )
        .await;
    client
        .kf()
        .account()
        .add(AddAccount::new("新", "m"))
        .await
        .unwrap();

    assert_eq!(
        control.post("/__sim/reset", json!({})).await,
        json!({"ok": true})
    );
    assert_eq!(
        control.state().await,
        json!({
            "accounts": [], "sessions": [], "sent_messages": [],
            "counters": {"gettoken": 0, "calls": {}, "effects": {}},
            "callback_url": null,
        })
    );
    // No fault left; the cached token still works (no gettoken); the old account is gone
    // and a new one gets a new id.
    let page = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert!(page.account_list.is_empty());
    let fresh = control
        .post(
            "/__sim/seed",
            json!({"accounts": [{"name": "新", "media_id": "m"}]}),
        )
        .await;
    assert_ne!(fresh["open_kfids"][0], json!(old));
    let counters = &control.state().await["counters"];
    assert_eq!(counters["gettoken"], json!(0), "{counters}");
    assert_eq!(counters["calls"]["kf/account/list"], json!(1), "{counters}");
    // The directory is empty again.
    let added = client
        .kf()
        .servicer()
        .add(AddServicers::new(fresh["open_kfids"][0].as_str().unwrap()).userids(["lisi"]))
        .await
        .unwrap();
    assert_eq!(added.result_list[0].errcode, 60111);
}

const BOT_TOKEN: &str = "BotToken";
const BOT_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

#[tokio::test]
async fn a_callback_set_over_http_is_called_for_a_customers_message() {
    use wecom_kf::callback::{CallbackCrypto, CallbackEvent};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let (sim, control, _client) = started().await;
    let bot = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/callback"))
        .respond_with(ResponseTemplate::new(200).set_body_string("success"))
        .mount(&bot)
        .await;
    let seeded = control
        .post(
            "/__sim/seed",
            json!({"accounts": [{"name": "回声", "media_id": "m"}]}),
        )
        .await;
    let kf = seeded["open_kfids"][0].as_str().unwrap().to_owned();
    let url = format!("{}/callback", bot.uri());
    control
        .post(
            "/__sim/callback",
            json!({"url": url, "token": BOT_TOKEN, "encoding_aes_key": BOT_AES_KEY}),
        )
        .await;
    assert_eq!(control.state().await["callback_url"], json!(url));

    let said = control
        .post(
            "/__sim/customer/message",
            json!({"open_kfid": kf, "external_userid": "wmALICE", "text": "在吗"}),
        )
        .await;
    assert_eq!(said["callback"], json!({"status": 200}), "{said}");
    let entered = control
        .post(
            "/__sim/customer/enter",
            json!({"open_kfid": kf, "external_userid": "wmBOB"}),
        )
        .await;
    assert_eq!(entered["callback"], json!({"status": 200}), "{entered}");

    let requests = bot.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let crypto = CallbackCrypto::new(BOT_TOKEN, BOT_AES_KEY, sim.corp_id()).unwrap();
    let query: std::collections::HashMap<String, String> =
        requests[0].url.query_pairs().into_owned().collect();
    let xml = crypto
        .decrypt(
            &query["msg_signature"],
            &query["timestamp"],
            &query["nonce"],
            &requests[0].body,
        )
        .unwrap();
    match CallbackEvent::parse(&xml).unwrap() {
        CallbackEvent::KfMsgOrEvent { open_kfid, .. } => {
            assert_eq!(open_kfid.as_deref(), Some(kf.as_str()));
        }
        other => panic!("{other:?}"),
    }

    // A callback that cannot be reached is reported, not an error of the control call.
    let closed = crate::common::closed_port_base();
    control
        .post(
            "/__sim/callback",
            json!({"url": format!("{closed}/callback"), "token": BOT_TOKEN, "encoding_aes_key": BOT_AES_KEY}),
        )
        .await;
    let said = control
        .post(
            "/__sim/customer/message",
            json!({"open_kfid": kf, "external_userid": "wmALICE", "text": "在吗"}),
        )
        .await;
    assert!(said["callback"]["error"].is_string(), "{said}");
    assert!(said["msgid"].is_string(), "{said}");
    crate::common::drop_server(bot).await;
}

/// Each bad request gets its status and a JSON `{"error": ...}`; none is counted, none
/// changes anything, and the server goes on serving both planes.
#[tokio::test]
async fn bad_control_requests_get_a_json_error_and_the_server_keeps_serving() {
    let (sim, control, client) = started().await;
    let kf = sim.seed_account("客服", "m");
    let message =
        |kf: &str| json!({"open_kfid": kf, "external_userid": "wmA", "text": "x"}).to_string();
    let big = format!(r#"{{"members": ["{}"]}}"#, "a".repeat(1024 * 1024));
    let cases: Vec<(&str, &str, Option<String>, u16, &str)> = vec![
        (
            "GET",
            "/__sim/nope",
            None,
            404,
            "no control route /__sim/nope",
        ),
        ("GET", "/__sim", None, 404, "the routes: POST /__sim/reset"),
        ("GET", "/__sim/", None, 404, "no control route"),
        ("GET", "/__sim/reset", None, 405, "takes POST, not GET"),
        ("POST", "/__sim/state", None, 405, "takes GET, not POST"),
        ("DELETE", "/__sim/faults", None, 405, "takes POST"),
        (
            "POST",
            "/__sim/seed",
            Some("{not json".into()),
            400,
            "bad request body",
        ),
        (
            "POST",
            "/__sim/seed",
            Some("[1, 2]".into()),
            400,
            "bad request body",
        ),
        (
            "POST",
            "/__sim/seed",
            Some(r#"{"member": ["a"]}"#.into()),
            400,
            "unknown field `member`",
        ),
        (
            "POST",
            "/__sim/seed",
            Some(r#"{"customers": [{"nickname": "x"}]}"#.into()),
            400,
            "missing field `external_userid`",
        ),
        (
            "POST",
            "/__sim/seed",
            Some(big),
            413,
            "at most 1048576 bytes",
        ),
        (
            "POST",
            "/__sim/customer/message",
            None,
            400,
            "bad request body",
        ),
        (
            "POST",
            "/__sim/customer/message",
            Some(r#"{"open_kfid": "x"}"#.into()),
            400,
            "missing field",
        ),
        (
            "POST",
            "/__sim/customer/message",
            Some(message("wkUNKNOWN")),
            400,
            "unknown account \"wkUNKNOWN\"",
        ),
        (
            "POST",
            "/__sim/customer/enter",
            Some(r#"{"open_kfid": "wkNONE", "external_userid": "wmA"}"#.into()),
            400,
            "unknown account",
        ),
        (
            "POST",
            "/__sim/customer/message",
            Some(r#"{"open_kfid": 5, "external_userid": "wmA", "text": "x"}"#.into()),
            400,
            "invalid type",
        ),
        (
            "POST",
            "/__sim/faults",
            Some(r#"{"path": "kf/account/list", "fault": "explode"}"#.into()),
            400,
            "unknown variant `explode`",
        ),
        (
            "POST",
            "/__sim/faults",
            Some(r#"{"path": "kf/account/list", "fault": {"http_status": 42}}"#.into()),
            400,
            "42 is not an HTTP status",
        ),
        (
            "POST",
            "/__sim/faults",
            Some(r#"{"path": "kf/account/list", "fault": {"delay_ms": -1}}"#.into()),
            400,
            "bad request body",
        ),
        (
            "POST",
            "/__sim/faults",
            Some(r#"{"path": "kf/account/lsit", "fault": "hold"}"#.into()),
            400,
            "unknown path \"kf/account/lsit\"",
        ),
        (
            "POST",
            "/__sim/faults",
            Some(r#"{"fault": "hold"}"#.into()),
            400,
            "missing field `path`",
        ),
        (
            "POST",
            "/__sim/faults",
            Some(r#"{"path": "kf/account/list", "fault": "hold", "times": -1}"#.into()),
            400,
            "bad request body",
        ),
        (
            "POST",
            "/__sim/release",
            Some(r#"{"path": "nowhere"}"#.into()),
            400,
            "unknown path",
        ),
        (
            "POST",
            "/__sim/callback",
            Some(
                r#"{"url": "http://127.0.0.1:9/", "token": "t", "encoding_aes_key": "short"}"#
                    .into(),
            ),
            400,
            "callback settings",
        ),
        (
            "POST",
            "/__sim/callback",
            Some(r#"{"url": "http://127.0.0.1:9/"}"#.into()),
            400,
            "missing field `token`",
        ),
    ];
    for (method, route, body, status, error) in cases {
        let (got, value) = control.send(method, route, body.as_deref()).await;
        assert_eq!(got, status, "{method} {route}: {value}");
        let text = value["error"].as_str().unwrap_or_else(|| panic!("{value}"));
        assert!(
            text.contains(error),
            "{method} {route}: {text:?} lacks {error:?}"
        );
    }
    // The 405 says which method to use.
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/__sim/reset", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");

    // Nothing changed, nothing was counted, and both planes still answer.
    let state = sim.state();
    assert_eq!(state.accounts.len(), 1);
    assert!(state.sessions.is_empty());
    assert_eq!(sim.pending_faults("kf/account/list"), 0);
    assert!(state.callback_url.is_none());
    assert!(sim.counters().calls.is_empty(), "{}", sim.counters());
    control
        .post(
            "/__sim/customer/message",
            serde_json::from_str(&message(&kf)).unwrap(),
        )
        .await;
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert_eq!(sim.counters().effects("kf/account/list"), 1);
}

/// The README's curl lines for the control plane, played in order against a simulator
/// (`OPEN_KFID` replaced by the id the seed line printed): each route and body they show is
/// one the simulator takes.
#[tokio::test]
async fn the_readmes_curl_lines_are_routes_the_simulator_takes() {
    let (sim, control, _client) = started().await;
    let readme = include_str!("../../README.md");
    let section = readme
        .split("<!-- control-plane-curl -->")
        .nth(1)
        .expect("the README marks its control plane curl lines");
    let mut open_kfid = None;
    let mut played = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("curl ")) {
        let (method, route, body) = parse_curl(line);
        let body = body.map(|b| b.replace("OPEN_KFID", open_kfid.as_deref().unwrap_or("")));
        let (status, value) = control.send(&method, &route, body.as_deref()).await;
        assert_eq!(status, 200, "{line}: {value}");
        if let Some(id) = value["open_kfids"][0].as_str() {
            open_kfid = Some(id.to_owned());
        }
        played.push(route);
    }
    for route in [
        "/__sim/reset",
        "/__sim/state",
        "/__sim/seed",
        "/__sim/customer/message",
        "/__sim/customer/enter",
        "/__sim/callback",
        "/__sim/faults",
        "/__sim/tokens/expire",
    ] {
        assert!(
            played.iter().any(|r| r == route),
            "the README shows no {route}"
        );
    }
    drop(sim);
}

/// `curl [-s] [-X METHOD] http://127.0.0.1:8080/ROUTE [-d 'BODY']` as (method, route, body).
fn parse_curl(line: &str) -> (String, String, Option<String>) {
    let (head, body) = match line.split_once(" -d '") {
        Some((head, rest)) => (
            head,
            Some(rest.trim_end().trim_end_matches('\'').to_owned()),
        ),
        None => (line, None),
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    let method = words
        .iter()
        .position(|w| *w == "-X")
        .map(|i| words[i + 1].to_owned())
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    let url = words
        .iter()
        .find(|w| w.contains("/__sim/"))
        .unwrap_or_else(|| panic!("no /__sim/ URL in {line}"));
    let route = url
        .trim_matches('\'')
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("the README's lines use http://127.0.0.1:8080: {line}"))
        .to_owned();
    (method, route, body)
}

/// `examples/simulator.rs` serves the control plane: started with `--port 0`, it prints its
/// address, takes a seed and shows it in the state. `cargo test` builds the example next to
/// this binary; run alone (`cargo test --test it`), the example is not built and this test
/// says so and passes.
#[tokio::test]
async fn the_standalone_example_serves_the_control_plane() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| {
            profile
                .join("examples")
                .join(format!("simulator{}", std::env::consts::EXE_SUFFIX))
        })
        .unwrap();
    if !example.exists() {
        eprintln!(
            "{} not built (run the whole `cargo test`)",
            example.display()
        );
        return;
    }
    let mut child = tokio::process::Command::new(&example)
        .args(["--port", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Kept open until the end: the example goes on printing.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    let base = first
        .strip_prefix("WeCom simulator listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let control = Control {
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        base,
    };
    let seeded = control
        .post(
            "/__sim/seed",
            json!({"accounts": [{"name": "独立", "media_id": "m"}]}),
        )
        .await;
    let state = control.state().await;
    assert_eq!(state["accounts"][0]["open_kfid"], seeded["open_kfids"][0]);
    let (status, value) = control.send("GET", "/__sim/nope", None).await;
    assert_eq!(status, 404, "{value}");
    child.kill().await.unwrap();
    drop(lines);
}
