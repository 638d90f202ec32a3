//! The account operations against a wiremock server: what goes on the wire, what comes back.

use serde_json::json;
use wecom_kf::Client;
use wecom_kf::kf::account::{AddAccount, DeleteAccount, ListAccounts, UpdateAccount};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/gettoken"))
        .and(query_param("corpid", "ww1"))
        .and(query_param("corpsecret", "s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 0, "errmsg": "ok", "access_token": "TOK", "expires_in": 7200}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> Client {
    Client::builder()
        .corp_id("ww1")
        .corp_secret("s3cret")
        .base_url(server.uri())
        .build()
        .unwrap()
}

fn ok(extra: serde_json::Value) -> ResponseTemplate {
    let mut body = json!({"errcode": 0, "errmsg": "ok"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn api(p: &'static str, body: serde_json::Value, reply: ResponseTemplate) -> Mock {
    Mock::given(method("POST"))
        .and(path(p))
        .and(query_param("access_token", "TOK"))
        .and(body_json(body))
        .respond_with(reply)
        .expect(1)
}

#[tokio::test]
async fn each_operation_sends_the_documented_body_with_the_token() {
    let server = server_with_token().await;
    api(
        "/cgi-bin/kf/account/add",
        json!({"name": "咨询客服", "media_id": "MEDIA"}),
        ok(json!({"open_kfid": "wkNEW"})),
    )
    .mount(&server)
    .await;
    api(
        "/cgi-bin/kf/account/update",
        json!({"open_kfid": "wkNEW", "name": "售后客服"}),
        ok(json!({})),
    )
    .mount(&server)
    .await;
    api(
        "/cgi-bin/kf/account/list",
        json!({"offset": 0, "limit": 100}),
        ok(json!({"account_list": [
            {"open_kfid": "wkNEW", "name": "售后客服", "avatar": "https://a/x.png", "manage_privilege": false}
        ]})),
    )
    .mount(&server)
    .await;
    api(
        "/cgi-bin/kf/account/del",
        json!({"open_kfid": "wkNEW"}),
        ok(json!({})),
    )
    .mount(&server)
    .await;

    let client = client(&server);
    let accounts = client.kf().account();
    let created = accounts
        .add(AddAccount::new("咨询客服", "MEDIA"))
        .await
        .unwrap();
    assert_eq!(created.open_kfid, "wkNEW");
    accounts
        .update(UpdateAccount::new(&created.open_kfid).name("售后客服"))
        .await
        .unwrap();
    let page = accounts
        .list(ListAccounts::new().offset(0).limit(100))
        .await
        .unwrap();
    assert_eq!(page.account_list.len(), 1);
    let a = &page.account_list[0];
    assert_eq!(
        (a.open_kfid.as_str(), a.name.as_str(), a.avatar.as_str()),
        ("wkNEW", "售后客服", "https://a/x.png")
    );
    assert_eq!(a.manage_privilege, Some(false));
    accounts
        .delete(DeleteAccount::new(&created.open_kfid))
        .await
        .unwrap();
    server.verify().await;
}

fn paged_list(total: u64) -> impl Fn(&Request) -> ResponseTemplate {
    move |req: &Request| {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let offset = body["offset"].as_u64().unwrap();
        let limit = body["limit"].as_u64().unwrap();
        let list: Vec<_> = (offset..(offset + limit).min(total))
            .map(|i| json!({"open_kfid": format!("wk{i}"), "name": format!("n{i}")}))
            .collect();
        ok(json!({ "account_list": list }))
    }
}

#[tokio::test]
async fn list_all_walks_pages_until_a_short_one() {
    let server = server_with_token().await;
    // 250 accounts: pages of 100, 100, 50.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(paged_list(250))
        .expect(3)
        .mount(&server)
        .await;
    let all = client(&server).kf().account().list_all().await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(all[0].open_kfid, "wk0");
    assert_eq!(all[249].open_kfid, "wk249");
    server.verify().await;
}

#[tokio::test]
async fn list_all_with_an_exact_multiple_asks_for_one_empty_page() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(paged_list(100))
        .expect(2)
        .mount(&server)
        .await;
    let all = client(&server).kf().account().list_all().await.unwrap();
    assert_eq!(all.len(), 100);
    server.verify().await;
}

#[tokio::test]
async fn list_all_stops_when_the_server_ignores_offset() {
    let server = server_with_token().await;
    let full_page: Vec<_> = (0..100)
        .map(|i| json!({"open_kfid": format!("wk{i}")}))
        .collect();
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .respond_with(ok(json!({ "account_list": full_page })))
        .expect(2)
        .mount(&server)
        .await;
    let all = client(&server).kf().account().list_all().await.unwrap();
    assert_eq!(all.len(), 100, "the repeated page is not appended");
    server.verify().await;
}

#[tokio::test]
async fn api_errors_carry_code_message_hint_and_endpoint() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/del"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 95004,
            "errmsg": "open_kfid not exist, hint: [1700000000_1_abc], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=95004"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .kf()
        .account()
        .delete(DeleteAccount::new("wkGONE"))
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.code(), 95004);
    assert_eq!(api.hint(), Some("1700000000_1_abc"));
    assert_eq!(api.endpoint(), "/cgi-bin/kf/account/del");
    assert!(api.message().starts_with("open_kfid not exist"));
    assert!(!err.is_transient() && !err.is_token_rejected());
}

#[tokio::test]
async fn escape_hatch_reaches_any_endpoint_with_the_token() {
    let server = server_with_token().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/account/list"))
        .and(query_param("access_token", "TOK"))
        .and(body_json(json!({"limit": 10})))
        .respond_with(ok(json!({"account_list": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/kf/servicer/list"))
        .and(query_param("access_token", "TOK"))
        .and(query_param("open_kfid", "wk1"))
        .respond_with(ok(
            json!({"servicer_list": [{"userid": "u1", "status": 0}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let v: serde_json::Value = client
        .post_json("/cgi-bin/kf/account/list", &json!({"limit": 10}))
        .await
        .unwrap();
    assert_eq!(v["account_list"], json!([]));
    let s: serde_json::Value = client
        .get_json("/cgi-bin/kf/servicer/list", &[("open_kfid", "wk1")])
        .await
        .unwrap();
    assert_eq!(s["servicer_list"][0]["userid"], "u1");
    server.verify().await;
}

#[tokio::test]
async fn a_base_url_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/proxy/wecom/cgi-bin/gettoken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "access_token": "TOK", "expires_in": 7200})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/proxy/wecom/cgi-bin/kf/account/list"))
        .respond_with(ok(json!({"account_list": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s")
        .base_url(format!("{}/proxy/wecom", server.uri()))
        .build()
        .unwrap();
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn a_kf_errcode_is_explained_in_words() {
    use wecom_kf::errcode;
    use wecom_kf::simulator::{Fault, Simulator};
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    sim.inject(
        "kf/account/list",
        Fault::Errcode(errcode::KF_SEND_QUOTA_USED_UP),
        1,
    );
    let err = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.code(), 95001);
    let shown = err.to_string();
    assert!(shown.contains("errcode 95001"), "{shown}");
    assert!(shown.contains("the 5-message quota is used up"), "{shown}");
}
