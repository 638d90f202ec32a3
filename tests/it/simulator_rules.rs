//! The simulator's own rules, each checked over HTTP with a plain reqwest client (so that it can
//! send what the SDK would refuse to send). How the SDK copes with each fault is in
//! `replay_rules.rs`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::account::{AddAccount, ListAccounts};
use wecom_kf::simulator::{Fault, Simulator, TokenIssue};

/// A plain HTTP client for talking to the simulator directly.
#[derive(Clone)]
struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    fn new(sim: &Simulator) -> Self {
        Self {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: sim.base_url(),
        }
    }

    async fn gettoken(&self, corpid: Option<&str>, secret: Option<&str>) -> Value {
        let mut query = vec![];
        query.extend(corpid.map(|c| ("corpid", c)));
        query.extend(secret.map(|s| ("corpsecret", s)));
        let url = format!("{}/cgi-bin/gettoken", self.base);
        let r = self.http.get(url).query(&query).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn token(&self, sim: &Simulator) -> String {
        let v = self
            .gettoken(Some(sim.corp_id()), Some(sim.corp_secret()))
            .await;
        v["access_token"].as_str().unwrap().to_owned()
    }

    async fn send(&self, path: &str, token: Option<&str>, body: &str) -> reqwest::Response {
        let mut url = format!("{}/cgi-bin/{path}", self.base);
        if let Some(t) = token {
            url.push_str(&format!("?access_token={t}"));
        }
        self.http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        self.send(path, token, &body.to_string())
            .await
            .json()
            .await
            .unwrap()
    }
}

fn code(v: &Value) -> i64 {
    v["errcode"].as_i64().unwrap()
}

/// A simulator whose token expiry follows a manual clock.
async fn on_manual_clock() -> (Simulator, ManualClock) {
    let clock = ManualClock::new();
    let sim = Simulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    (sim, clock)
}

async fn started() -> (Simulator, Raw, String) {
    let sim = Simulator::start().await.unwrap();
    let raw = Raw::new(&sim);
    let token = raw.token(&sim).await;
    (sim, raw, token)
}

// ---- gettoken ------------------------------------------------------------------------------

#[tokio::test]
async fn gettoken_checks_the_corp_id_and_secret() {
    let sim = Simulator::start().await.unwrap();
    let raw = Raw::new(&sim);
    let (id, secret) = (sim.corp_id(), sim.corp_secret());
    assert_eq!(code(&raw.gettoken(None, Some(secret)).await), 41002);
    assert_eq!(
        code(&raw.gettoken(Some("wwother"), Some(secret)).await),
        40013
    );
    assert_eq!(code(&raw.gettoken(Some(id), None).await), 41004);
    assert_eq!(code(&raw.gettoken(Some(id), Some("wrong")).await), 40001);
    let ok = raw.gettoken(Some(id), Some(secret)).await;
    assert_eq!(code(&ok), 0);
    assert_eq!(ok["errmsg"], "ok");
    assert_eq!(ok["expires_in"], 7200);
    assert!(!ok["access_token"].as_str().unwrap().is_empty());
    let counters = sim.counters();
    assert_eq!(counters.gettoken_calls(), 5);
    assert_eq!(
        counters.effects("gettoken"),
        1,
        "only the good call issued a token"
    );
}

#[tokio::test]
async fn gettoken_reuses_a_valid_token_and_counts_down_its_lifetime() {
    let (sim, clock) = on_manual_clock().await;
    let raw = Raw::new(&sim);
    let first = raw
        .gettoken(Some(sim.corp_id()), Some(sim.corp_secret()))
        .await;
    clock.advance(Duration::from_secs(1000));
    let second = raw
        .gettoken(Some(sim.corp_id()), Some(sim.corp_secret()))
        .await;
    assert_eq!(first["access_token"], second["access_token"]);
    assert_eq!(second["expires_in"], 6200);
    clock.advance(Duration::from_secs(6200));
    let third = raw
        .gettoken(Some(sim.corp_id()), Some(sim.corp_secret()))
        .await;
    assert_ne!(
        third["access_token"], first["access_token"],
        "expired: a new one"
    );
    assert_eq!(third["expires_in"], 7200);
}

#[tokio::test]
async fn gettoken_can_issue_a_fresh_token_each_call_with_the_configured_ttl() {
    let sim = Simulator::builder()
        .token_issue(TokenIssue::FreshEachCall)
        .token_ttl(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let raw = Raw::new(&sim);
    let a = raw.token(&sim).await;
    let b = raw.token(&sim).await;
    assert_ne!(a, b);
    for t in [&a, &b] {
        let v = raw.post("kf/account/list", Some(t), json!({})).await;
        assert_eq!(code(&v), 0, "older tokens stay valid");
    }
    sim.set_token_ttl(Duration::from_secs(30));
    let v = raw
        .gettoken(Some(sim.corp_id()), Some(sim.corp_secret()))
        .await;
    assert_eq!(v["expires_in"], 30);
}

// ---- the token check on every call -------------------------------------------------------

#[tokio::test]
async fn calls_need_a_known_unexpired_token() {
    let clock = ManualClock::new();
    let sim = Simulator::builder()
        .clock(clock.clone())
        .token_ttl(Duration::from_secs(600))
        .start()
        .await
        .unwrap();
    let raw = Raw::new(&sim);
    let token = raw.token(&sim).await;
    let list = "kf/account/list";
    assert_eq!(code(&raw.post(list, None, json!({})).await), 41001);
    assert_eq!(code(&raw.post(list, Some(""), json!({})).await), 41001);
    let unknown = raw.post(list, Some("never-issued"), json!({})).await;
    assert_eq!(code(&unknown), 40014);
    assert_eq!(code(&raw.post(list, Some(&token), json!({})).await), 0);
    clock.advance(Duration::from_secs(600));
    let expired = raw.post(list, Some(&token), json!({})).await;
    assert_eq!(code(&expired), 42001, "expired by time");
    assert_eq!(sim.counters().effects("kf/account/list"), 1);
}

#[tokio::test]
async fn tokens_can_be_expired_or_revoked_now() {
    let (sim, raw, token) = started().await;
    sim.expire_tokens();
    let v = raw.post("kf/account/list", Some(&token), json!({})).await;
    assert_eq!(code(&v), 42001);
    let fresh = raw.token(&sim).await;
    assert_ne!(fresh, token, "gettoken issues a new token after expiry");
    sim.revoke_tokens();
    let v = raw.post("kf/account/list", Some(&fresh), json!({})).await;
    assert_eq!(code(&v), 40014);
}

// ---- the shape of answers ------------------------------------------------------------------

#[tokio::test]
async fn answers_look_like_wecom_s() {
    let (_sim, raw, token) = started().await;
    let r = raw
        .send("kf/account/del", Some(&token), r#"{"open_kfid":"wkNONE"}"#)
        .await;
    assert_eq!(r.status(), 200, "errors come with HTTP 200");
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), 95004);
    let msg = v["errmsg"].as_str().unwrap();
    assert!(msg.starts_with("open_kfid not exist, hint: ["), "{msg}");
    assert!(msg.contains("from ip: 127.0.0.1"), "{msg}");
    assert!(
        msg.ends_with("more info at https://open.work.weixin.qq.com/devtool/query?e=95004"),
        "{msg}"
    );
}

#[tokio::test]
async fn malformed_bodies_wrong_types_and_wrong_methods_are_refused_not_crashed_on() {
    let (sim, raw, token) = started().await;
    for body in ["{", "", "[1,2]", "null", "\"x\"", "{\"name\":"] {
        let v: Value = raw
            .send("kf/account/add", Some(&token), body)
            .await
            .json()
            .await
            .unwrap();
        // 40058 "json不合法" (doc 90313); 47001 is not a WeCom code (audit F7).
        assert_eq!(code(&v), 40058, "body {body:?}");
    }
    for body in [
        json!({"name": 1, "media_id": "m"}),
        json!({"name": "n", "media_id": ["m"]}),
        json!({"name": "n"}),
    ] {
        let v = raw.post("kf/account/add", Some(&token), body.clone()).await;
        assert_eq!(code(&v), 40058, "body {body}");
    }
    let v = raw
        .post("kf/account/list", Some(&token), json!({"offset": "0"}))
        .await;
    assert_eq!(code(&v), 40058);
    let url = format!("{}/cgi-bin/kf/account/list?access_token={token}", raw.base);
    let v: Value = raw
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&v), 40058, "GET on a POST endpoint");
    let r = raw.send("kf/nothing/here", Some(&token), "{}").await;
    assert_eq!(r.status(), 404);
    let huge = format!(r#"{{"name":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let r = raw.send("kf/account/add", Some(&token), &huge).await;
    assert_eq!(r.status(), 413);
    assert!(sim.accounts().is_empty());
    assert_eq!(sim.counters().effects("kf/account/add"), 0);
}

// ---- accounts ------------------------------------------------------------------------------

#[tokio::test]
async fn add_checks_the_name_and_media_id_limits() {
    let (sim, raw, token) = started().await;
    let add = |name: String, media: String| {
        raw.post(
            "kf/account/add",
            Some(&token),
            json!({"name": name, "media_id": media}),
        )
    };
    let m = || "m".to_owned();
    assert_eq!(code(&add("客".repeat(17), m()).await), 95006);
    assert_eq!(code(&add(String::new(), m()).await), 95006);
    assert_eq!(code(&add("n".into(), "x".repeat(129)).await), 40007);
    assert_eq!(code(&add("n".into(), String::new()).await), 40007);
    let ok = add("客".repeat(16), "x".repeat(128)).await;
    assert_eq!(
        code(&ok),
        0,
        "16 characters (48 bytes) and 128 bytes are allowed"
    );
    let id = ok["open_kfid"].as_str().unwrap();
    assert!(id.starts_with("wk"));
    let accounts = sim.accounts();
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        (accounts[0].open_kfid.as_str(), accounts[0].name.as_str()),
        (id, "客".repeat(16).as_str())
    );
}

#[tokio::test]
async fn a_corp_holds_at_most_5000_accounts() {
    let (sim, raw, token) = started().await;
    for i in 0..4999 {
        sim.seed_account(&format!("a{i}"), "m");
    }
    let add = || {
        raw.post(
            "kf/account/add",
            Some(&token),
            json!({"name": "n", "media_id": "m"}),
        )
    };
    assert_eq!(code(&add().await), 0, "the 5000th");
    assert_eq!(code(&add().await), 95005, "the 5001st");
    assert_eq!(sim.accounts().len(), 5000);
}

#[tokio::test]
async fn the_account_limit_is_configurable() {
    let sim = Simulator::builder().max_accounts(1).start().await.unwrap();
    let accounts = sim.client_builder().build().unwrap();
    let accounts = accounts.kf().account();
    accounts.add(AddAccount::new("a", "m")).await.unwrap();
    let err = accounts.add(AddAccount::new("b", "m")).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some(95005));
}

#[tokio::test]
async fn del_and_update_need_a_valid_known_open_kfid() {
    let (sim, raw, token) = started().await;
    let id = sim.seed_account("a", "m");
    for path in ["kf/account/del", "kf/account/update"] {
        let with =
            |kfid: String| raw.post(path, Some(&token), json!({"open_kfid": kfid, "name": "x"}));
        assert_eq!(code(&with(String::new()).await), 95000, "{path}");
        assert_eq!(code(&with("w".repeat(65)).await), 95000, "{path}");
        assert_eq!(code(&with("wkUNKNOWN".into()).await), 95004, "{path}");
    }
    let update = |body: Value| raw.post("kf/account/update", Some(&token), body);
    assert_eq!(
        code(&update(json!({"open_kfid": id, "name": "客".repeat(17)})).await),
        95006
    );
    assert_eq!(
        code(&update(json!({"open_kfid": id, "name": "b", "media_id": "x".repeat(129)})).await),
        40007
    );
    assert_eq!(
        sim.accounts()[0].name,
        "a",
        "a refused update changes nothing"
    );
    let v = update(json!({"open_kfid": id, "name": "b", "media_id": "m2"})).await;
    assert_eq!(code(&v), 0);
    assert_eq!(
        (
            sim.accounts()[0].name.as_str(),
            sim.accounts()[0].media_id.as_str()
        ),
        ("b", "m2")
    );
    let del = || raw.post("kf/account/del", Some(&token), json!({"open_kfid": id}));
    // "客服账号数…且至少有一个" (95005, doc 90313): the last account stays (audit F15).
    assert_eq!(code(&del().await), 95005, "the last account is not deleted");
    assert_eq!(sim.accounts().len(), 1);
    let other = sim.seed_account("other", "m");
    assert_eq!(code(&del().await), 0);
    assert_eq!(
        code(&del().await),
        95004,
        "deleting twice: the second sees 95004"
    );
    assert_eq!(sim.accounts().len(), 1);
    assert_eq!(sim.accounts()[0].open_kfid, other);
}

#[tokio::test]
async fn list_pages_through_accounts_in_creation_order() {
    let (sim, raw, token) = started().await;
    let ids: Vec<String> = (0..250)
        .map(|i| sim.seed_account(&format!("a{i}"), "m"))
        .collect();
    let page = |body: Value| raw.post("kf/account/list", Some(&token), body);
    let ids_of = |v: &Value| -> Vec<String> {
        v["account_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["open_kfid"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = page(json!({})).await;
    assert_eq!(ids_of(&first), ids[..100], "default offset 0, limit 100");
    let a = &first["account_list"][0];
    assert_eq!(a["name"], "a0");
    assert_eq!(a["manage_privilege"], true);
    assert!(a["avatar"].as_str().unwrap().starts_with("https://"));
    assert_eq!(
        ids_of(&page(json!({"offset": 200, "limit": 100})).await),
        ids[200..]
    );
    assert_eq!(
        ids_of(&page(json!({"offset": 10, "limit": 1})).await),
        ids[10..11]
    );
    assert!(ids_of(&page(json!({"offset": 300})).await).is_empty());
    assert_eq!(code(&page(json!({"limit": 0})).await), 40058);
    assert_eq!(code(&page(json!({"limit": 101})).await), 40058);

    let client = sim.client_builder().build().unwrap();
    let all = client.kf().account().list_all().await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.open_kfid.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        sim.counters().calls("kf/account/list"),
        6 + 3,
        "list_all: 3 pages"
    );
}

// ---- faults --------------------------------------------------------------------------------

#[tokio::test]
async fn http_status_and_errcode_faults_take_no_effect() {
    let (sim, raw, token) = started().await;
    let add = json!({"name": "n", "media_id": "m"});
    for status in [500, 502, 503] {
        sim.inject("kf/account/add", Fault::HttpStatus(status), 1);
        let r = raw
            .send("kf/account/add", Some(&token), &add.to_string())
            .await;
        assert_eq!(r.status(), status);
        assert!(r.text().await.unwrap().contains(&status.to_string()));
    }
    for errcode in [-1, 45009] {
        sim.inject("/cgi-bin/kf/account/add", Fault::Errcode(errcode), 1);
        let v = raw.post("kf/account/add", Some(&token), add.clone()).await;
        assert_eq!(code(&v), errcode);
        assert!(v["errmsg"].as_str().unwrap().contains("hint: ["));
    }
    assert_eq!(sim.counters().effects("kf/account/add"), 0);
    assert!(sim.accounts().is_empty());
    let v = raw.post("kf/account/add", Some(&token), add).await;
    assert_eq!(code(&v), 0, "faults are used up");
    assert_eq!(sim.counters().calls("kf/account/add"), 6);
}

#[tokio::test]
async fn faults_play_in_order_per_path_for_their_count() {
    let (sim, raw, token) = started().await;
    sim.inject("kf/account/list", Fault::Errcode(-1), 2);
    sim.inject("kf/account/list", Fault::Errcode(45009), 1);
    assert_eq!(sim.pending_faults("kf/account/list"), 3);
    let list = || raw.post("kf/account/list", Some(&token), json!({}));
    let del = raw
        .post("kf/account/del", Some(&token), json!({"open_kfid": "wkX"}))
        .await;
    assert_eq!(code(&del), 95004, "other paths are unaffected");
    let mut seen = vec![];
    for _ in 0..4 {
        seen.push(code(&list().await));
    }
    assert_eq!(seen, [-1, -1, 45009, 0]);
    sim.inject("kf/account/list", Fault::Errcode(-1), 5);
    sim.clear_faults();
    assert_eq!(code(&list().await), 0);
}

#[tokio::test]
async fn a_delayed_call_is_answered_after_the_delay_and_takes_effect() {
    let (sim, raw, token) = started().await;
    sim.inject(
        "kf/account/add",
        Fault::Delay(Duration::from_millis(200)),
        1,
    );
    let started = Instant::now();
    let v = raw
        .post(
            "kf/account/add",
            Some(&token),
            json!({"name": "n", "media_id": "m"}),
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(code(&v), 0);
    assert_eq!(sim.accounts().len(), 1);
}

#[tokio::test]
async fn a_held_call_is_counted_on_arrival_and_takes_effect_when_released() {
    let (sim, raw, token) = started().await;
    sim.inject("kf/account/add", Fault::Hold, 2);
    let add = |name: &'static str| {
        let (raw, token) = (raw.clone(), token.clone());
        tokio::spawn(async move {
            raw.post(
                "kf/account/add",
                Some(&token),
                json!({"name": name, "media_id": "m"}),
            )
            .await
        })
    };
    let first = add("one");
    sim.wait_for_calls("kf/account/add", 1).await;
    assert_eq!(sim.counters().effects("kf/account/add"), 0, "held");
    sim.release("/cgi-bin/kf/account/add");
    assert_eq!(code(&first.await.unwrap()), 0);
    assert_eq!(sim.counters().effects("kf/account/add"), 1);

    // A release that comes before the call lets it through when it arrives.
    sim.release("kf/account/add");
    assert_eq!(code(&add("two").await.unwrap()), 0);
    assert_eq!(sim.accounts().len(), 2);
}

#[tokio::test]
async fn dropped_connections_before_and_after_the_effect() {
    let (sim, raw, token) = started().await;
    let add = json!({"name": "n", "media_id": "m"}).to_string();
    let url = format!("{}/cgi-bin/kf/account/add?access_token={token}", raw.base);
    let send = || raw.http.post(&url).body(add.clone()).send();

    sim.inject("kf/account/add", Fault::DropBeforeAnswer, 1);
    let err = send().await.unwrap_err();
    assert!(!err.is_status(), "no answer at all: {err}");
    assert_eq!(sim.counters().effects("kf/account/add"), 0);
    assert!(sim.accounts().is_empty(), "dropped before executing");

    sim.inject("kf/account/add", Fault::DropAfterEffect, 1);
    send().await.unwrap_err();
    assert_eq!(sim.counters().effects("kf/account/add"), 1);
    assert_eq!(sim.accounts().len(), 1, "executed, then dropped");
    assert_eq!(sim.counters().calls("kf/account/add"), 2);
}

// ---- servicers and contact links --------------------------------------------------------

#[tokio::test]
async fn servicer_and_contact_link_bodies_are_checked_like_wecom() {
    let (sim, raw, token) = started().await;
    let open_kfid = sim.seed_account("n", "m");
    sim.seed_member("a");
    let t = Some(token.as_str());
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    for body in [
        json!({"open_kfid": open_kfid}),
        json!({"open_kfid": open_kfid, "userid_list": [], "department_id_list": []}),
        json!({"open_kfid": open_kfid, "userid_list": hundred_and_one}),
        json!({"open_kfid": open_kfid, "userid_list": "a"}),
        json!({"open_kfid": open_kfid, "department_id_list": ["2"]}),
        json!({"userid_list": ["a"]}),
    ] {
        assert_eq!(
            code(&raw.post("kf/servicer/add", t, body.clone()).await),
            40058,
            "{body}"
        );
    }
    let unknown = json!({"open_kfid": "wkunknown", "userid_list": ["a"]});
    assert_eq!(code(&raw.post("kf/servicer/del", t, unknown).await), 95004);
    // list is a GET: a POST is refused, a GET without a known open_kfid too.
    let posted = json!({"open_kfid": open_kfid});
    assert_eq!(code(&raw.post("kf/servicer/list", t, posted).await), 40058);
    let url = format!("{}/cgi-bin/kf/servicer/list", sim.base_url());
    let get = |query: Vec<(&'static str, String)>| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .query(&query)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let none = get(vec![("access_token", token.clone())]).await;
    assert_eq!(code(&none), 95000);
    let listed = get(vec![
        ("access_token", token.clone()),
        ("open_kfid", open_kfid.clone()),
    ])
    .await;
    assert_eq!(code(&listed), 0);
    assert_eq!(listed["servicer_list"], json!([]));

    // "[0-9a-zA-Z_-]*" (doc 94665): an empty scene is no scene, and is allowed.
    let empty = json!({"open_kfid": open_kfid, "scene": ""});
    let plain = raw.post("kf/add_contact_way", t, empty).await;
    assert_eq!(code(&plain), 0);
    assert!(!plain["url"].as_str().unwrap().contains("enc_scene"));
    for scene in ["has space", "场景", &"s".repeat(33)] {
        let body = json!({"open_kfid": open_kfid, "scene": scene});
        assert_eq!(
            code(&raw.post("kf/add_contact_way", t, body).await),
            40058,
            "{scene:?}"
        );
    }
    let no_account = json!({"open_kfid": "wkunknown"});
    assert_eq!(
        code(&raw.post("kf/add_contact_way", t, no_account).await),
        95004
    );
    let way = raw
        .post(
            "kf/add_contact_way",
            t,
            json!({"open_kfid": open_kfid, "scene": "a-1_B"}),
        )
        .await;
    assert_eq!(code(&way), 0);
    assert!(way["url"].as_str().unwrap().contains("?enc_scene="));
    let counters = sim.counters();
    assert_eq!(counters.effects("kf/servicer/add"), 0);
    assert_eq!(counters.effects("kf/add_contact_way"), 2);
}

#[tokio::test]
async fn service_state_bodies_are_checked_like_wecom() {
    let (sim, raw, token) = started().await;
    let open_kfid = sim.seed_account("n", "m");
    sim.seed_session(&open_kfid, "wm1");
    let t = Some(token.as_str());
    for body in [
        json!({"open_kfid": open_kfid, "external_userid": "wm1"}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "service_state": "1"}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "service_state": 5}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "service_state": 3}),
        json!({"open_kfid": open_kfid, "service_state": 1}),
    ] {
        let v = raw.post("kf/service_state/trans", t, body.clone()).await;
        assert_eq!(code(&v), 40058, "{body}");
    }
    let get = raw
        .post(
            "kf/service_state/get",
            t,
            json!({"open_kfid": open_kfid, "external_userid": "wm1"}),
        )
        .await;
    assert_eq!((code(&get), get["service_state"].as_i64()), (0, Some(0)));
    assert_eq!(sim.counters().effects("kf/service_state/trans"), 0);
}

#[tokio::test]
async fn customer_bodies_are_checked_like_wecom() {
    let (sim, raw, token) = started().await;
    let open_kfid = sim.seed_account("n", "m");
    sim.configure_upgrade_service(["zhangsan"], ["wr1"]);
    let t = Some(token.as_str());
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("wm{i}")).collect();
    for body in [
        json!({}),
        json!({"external_userid_list": []}),
        json!({"external_userid_list": hundred_and_one}),
        json!({"external_userid_list": "wm1"}),
    ] {
        let v = raw.post("kf/customer/batchget", t, body.clone()).await;
        assert_eq!(code(&v), 40058, "{body}");
    }
    for body in [
        json!({"open_kfid": open_kfid, "external_userid": "wm1"}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "type": 3}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "type": 1}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "type": 1, "member": "zhangsan"}),
        json!({"open_kfid": open_kfid, "external_userid": "wm1", "type": 2, "groupchat": {}}),
        json!({"open_kfid": open_kfid, "type": 1, "member": {"userid": "zhangsan"}}),
    ] {
        let v = raw
            .post("kf/customer/upgrade_service", t, body.clone())
            .await;
        assert_eq!(code(&v), 40058, "{body}");
    }
    let ok = json!({"open_kfid": open_kfid, "external_userid": "wm1", "type": 1, "member": {"userid": "zhangsan"}});
    assert_eq!(
        code(&raw.post("kf/customer/upgrade_service", t, ok).await),
        0
    );
    // The GET endpoints refuse a POST.
    for path in [
        "kf/customer/get_upgrade_service_config",
        "kf/get_corp_qualification",
    ] {
        assert_eq!(code(&raw.post(path, t, json!({})).await), 40058, "{path}");
    }
    assert_eq!(sim.counters().effects("kf/customer/upgrade_service"), 1);
}

#[tokio::test]
async fn knowledge_bodies_are_checked_like_wecom() {
    let (sim, raw, token) = started().await;
    let t = Some(token.as_str());
    let group = raw
        .post("kf/knowledge/add_group", t, json!({"name": "g"}))
        .await;
    let group_id = group["group_id"].as_str().unwrap().to_owned();
    let answer = json!({"text": {"content": "a"}});
    for body in [
        json!({"group_id": group_id, "answers": [answer]}),
        json!({"group_id": group_id, "question": {"text": {"content": "q"}}}),
        json!({"group_id": group_id, "question": {"text": {"content": "q"}}, "answers": []}),
        json!({"group_id": group_id, "question": {"text": {"content": "q"}}, "answers": [answer, answer]}),
        json!({"group_id": group_id, "question": {"text": {"content": 1}}, "answers": [answer]}),
        json!({"question": {"text": {"content": "q"}}, "answers": [answer]}),
    ] {
        let v = raw.post("kf/knowledge/add_intent", t, body.clone()).await;
        assert_eq!(code(&v), 40058, "{body}");
    }
    for body in [json!({}), json!({"name": ""}), json!({"name": 7})] {
        let v = raw.post("kf/knowledge/add_group", t, body.clone()).await;
        assert_eq!(code(&v), 40058, "{body}");
    }
    let bad_cursor = json!({"cursor": "not-a-number"});
    assert_eq!(
        code(&raw.post("kf/knowledge/list_group", t, bad_cursor).await),
        40058
    );
    assert_eq!(sim.counters().effects("kf/knowledge/add_intent"), 0);
    assert_eq!(sim.counters().effects("kf/knowledge/add_group"), 1);
}

#[tokio::test]
async fn media_uploads_are_checked_like_wecom() {
    let (sim, _raw, token) = started().await;
    let http = reqwest::Client::new();
    let upload = |kind: &'static str, bytes: Vec<u8>| {
        let url = format!("{}/cgi-bin/media/upload", sim.base_url());
        let (http, token) = (http.clone(), token.clone());
        async move {
            let part = reqwest::multipart::Part::bytes(bytes).file_name("f.bin");
            let form = reqwest::multipart::Form::new().part("media", part);
            http.post(url)
                .query(&[("access_token", token.as_str()), ("type", kind)])
                .multipart(form)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // 40005 不合法的type参数 (doc 90313), not 40004 (a file that breaks the rules): audit F6.
    assert_eq!(code(&upload("sticker", vec![1; 10]).await), 40005);
    assert_eq!(code(&upload("file", vec![1; 5]).await), 44001);
    assert_eq!(
        code(&upload("voice", vec![1; 2 * 1024 * 1024 + 1]).await),
        45001
    );
    assert_eq!(code(&upload("file", vec![1; 6]).await), 0);
    // Not multipart at all.
    let url = format!("{}/cgi-bin/media/upload", sim.base_url());
    let plain: Value = http
        .post(url)
        .query(&[("access_token", token.as_str()), ("type", "file")])
        .body("just bytes")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(code(&plain), 40058);
    assert_eq!(sim.counters().effects("media/upload"), 1);
}

// ---- time ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_shared_manual_clock_moves_the_client_and_the_server_together() {
    let (sim, clock, client) = crate::common::client_on_manual_clock(TokenIssue::default()).await;
    let accounts = client.kf().account();
    accounts.list(ListAccounts::new()).await.unwrap();
    let first = client.access_token().await.unwrap();
    clock.advance(Duration::from_secs(7200));
    accounts.list(ListAccounts::new()).await.unwrap();
    // The server hands out a new token only if its own clock moved too.
    let second = client.access_token().await.unwrap();
    assert_ne!(first.as_str(), second.as_str(), "the server's clock moved");
    let counters = sim.counters();
    assert_eq!(
        counters.gettoken_calls(),
        2,
        "the client saw the expiry coming"
    );
    assert_eq!(
        counters.calls("kf/account/list"),
        2,
        "no call was sent with the expired token"
    );
}

#[tokio::test]
async fn counters_reset_and_print() {
    let (sim, raw, token) = started().await;
    raw.post("kf/account/list", Some(&token), json!({})).await;
    let text = sim.counters().to_string();
    assert_eq!(
        text,
        "gettoken calls: 1\nkf/account/list: 1 received, 1 took effect"
    );
    sim.reset_counters();
    assert_eq!(sim.counters(), Default::default());
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let sim = Simulator::start().await.unwrap();
    let addr = sim.addr();
    sim.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

// ---- callbacks -----------------------------------------------------------------------------

const BOT_TOKEN: &str = "BotToken";
const BOT_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

#[tokio::test]
async fn callbacks_are_signed_with_a_fresh_nonce_each_time() {
    use wecom_kf::callback::{CallbackCrypto, CallbackEvent};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let sim = Simulator::start().await.unwrap();
    let open_kfid = sim.seed_account("回声客服", "m");
    let bot = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/callback"))
        .respond_with(ResponseTemplate::new(200).set_body_string("success"))
        .mount(&bot)
        .await;
    sim.set_callback(format!("{}/callback", bot.uri()), BOT_TOKEN, BOT_AES_KEY)
        .unwrap();
    assert_eq!(sim.notify(&open_kfid).await.unwrap(), 200);
    assert_eq!(sim.notify(&open_kfid).await.unwrap(), 200);

    let crypto = CallbackCrypto::new(BOT_TOKEN, BOT_AES_KEY, sim.corp_id()).unwrap();
    let mut nonces = Vec::new();
    for request in bot.received_requests().await.unwrap() {
        let query: std::collections::HashMap<String, String> =
            request.url.query_pairs().into_owned().collect();
        let xml = crypto
            .decrypt(
                &query["msg_signature"],
                &query["timestamp"],
                &query["nonce"],
                &request.body,
            )
            .unwrap();
        match CallbackEvent::parse(&xml).unwrap() {
            CallbackEvent::KfMsgOrEvent { open_kfid: id, .. } => {
                assert_eq!(id.as_deref(), Some(open_kfid.as_str()));
            }
            other => panic!("{other:?}"),
        }
        nonces.push(query["nonce"].clone());
    }
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1]);
}

/// WeCom waits 5 seconds for a bot's answer; so does the simulator.
#[tokio::test]
async fn a_bot_that_never_answers_is_given_up_on_after_five_seconds() {
    let sim = Simulator::start().await.unwrap();
    let open_kfid = sim.seed_account("回声客服", "m");
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    sim.set_callback(url, BOT_TOKEN, BOT_AES_KEY).unwrap();
    let started = Instant::now();
    let delivered = sim.notify(&open_kfid).await;
    assert!(delivered.is_err(), "{delivered:?}");
    assert!(started.elapsed() >= Duration::from_secs(5));
    hold.abort();
}

/// Numbers at the edges (a cursor past the end, a TTL of "for ever", faults "for ever") are
/// answered or counted, never a crash.
#[tokio::test]
async fn extreme_numbers_are_answered_not_crashed_on() {
    let sim = Simulator::builder()
        .token_ttl(Duration::MAX)
        .start()
        .await
        .unwrap();
    let raw = Raw::new(&sim);
    let token = raw.token(&sim).await;
    let open_kfid = sim.seed_account("售后客服", "m");

    let groups = raw
        .post(
            "kf/knowledge/list_group",
            Some(&token),
            json!({"cursor": u64::MAX.to_string()}),
        )
        .await;
    assert_eq!(code(&groups), 0, "{groups}");
    assert_eq!(groups["group_list"], json!([]));

    // A sync_msg cursor the simulator never issued.
    let unissued = raw
        .post(
            "kf/sync_msg",
            Some(&token),
            json!({"open_kfid": open_kfid, "cursor": format!("simcur{}", u64::MAX)}),
        )
        .await;
    assert_eq!(code(&unissued), 40058, "{unissued}");

    sim.inject("kf/account/list", Fault::Errcode(-1), u32::MAX);
    sim.inject("kf/account/list", Fault::Errcode(-1), 1);
    assert_eq!(sim.pending_faults("kf/account/list"), u32::MAX);
}
