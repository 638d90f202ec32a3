//! The account lifecycle, end to end.
//!
//! `cargo run --example quickstart`
//!
//! - With `WECOM_CORP_ID` and `WECOM_CORP_SECRET` set, it talks to WeCom and only **lists** the
//!   accounts (read-only). Pass `--mutate` to also add, rename and delete a test account; that
//!   needs an avatar `media_id` in `WECOM_MEDIA_ID`.
//! - Without them, it starts a small in-process fake WeCom on 127.0.0.1 and walks the whole
//!   lifecycle, including an expired token that the SDK refreshes by itself. (The full embedded
//!   simulator, with fault injection, is tracked in issue 3.)

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wecom_kf::kf::account::{AddAccount, DeleteAccount, ListAccounts, UpdateAccount};
use wecom_kf::{Client, Error};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let real = std::env::var("WECOM_CORP_ID").is_ok() && std::env::var("WECOM_CORP_SECRET").is_ok();
    if real {
        return run_against_wecom().await;
    }
    let fake = FakeWeCom::start().await;
    println!(
        "No WECOM_CORP_ID/WECOM_CORP_SECRET set: using a local fake WeCom at {}",
        fake.server.uri()
    );
    let client = Client::builder()
        .corp_id("ww-demo")
        .corp_secret("demo-secret")
        .base_url(fake.server.uri())
        .build()?;
    let accounts = client.kf().account();

    let a = accounts.add(AddAccount::new("咨询客服", "MEDIA_A")).await?;
    println!("added account {}", a.open_kfid);
    let b = accounts.add(AddAccount::new("售前客服", "MEDIA_B")).await?;
    println!("added account {}", b.open_kfid);

    let page = accounts.list(ListAccounts::new().limit(100)).await?;
    println!(
        "listed {} accounts on the first page",
        page.account_list.len()
    );

    accounts
        .update(UpdateAccount::new(&a.open_kfid).name("售后客服"))
        .await?;
    println!("renamed {} to 售后客服", a.open_kfid);

    fake.state.expire_tokens();
    let all = accounts.list_all().await?;
    println!(
        "token expired on the server; the SDK refreshed it and listed all {} accounts: {}",
        all.len(),
        all.iter()
            .map(|x| x.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    match accounts
        .add(AddAccount::new(
            "这个名字超过了十六个字符的限制啊啊",
            "MEDIA_C",
        ))
        .await
    {
        Err(Error::InvalidInput { field, reason }) => {
            println!("rejected before sending: `{field}` {reason}")
        }
        other => println!("unexpected: {other:?}"),
    }

    accounts.delete(DeleteAccount::new(&a.open_kfid)).await?;
    accounts.delete(DeleteAccount::new(&b.open_kfid)).await?;
    println!(
        "deleted both accounts; {} left",
        accounts.list_all().await?.len()
    );

    println!(
        "gettoken calls: {}",
        fake.state.gettoken_calls.load(Ordering::SeqCst)
    );
    println!("API calls: {}", fake.state.api_calls.load(Ordering::SeqCst));
    Ok(())
}

async fn run_against_wecom() -> Result<(), Error> {
    let client = Client::from_env()?;
    let accounts = client.kf().account();
    let all = accounts.list_all().await?;
    println!("{} accounts:", all.len());
    for a in &all {
        println!("  {} {}", a.open_kfid, a.name);
    }
    if std::env::args().any(|a| a == "--mutate") {
        let media_id = std::env::var("WECOM_MEDIA_ID").map_err(|_| {
            Error::Config("--mutate needs WECOM_MEDIA_ID (an avatar media_id)".into())
        })?;
        let created = accounts
            .add(AddAccount::new("wecom-kf test", media_id))
            .await?;
        println!("added {}", created.open_kfid);
        accounts
            .update(UpdateAccount::new(&created.open_kfid).name("wecom-kf test 2"))
            .await?;
        accounts
            .delete(DeleteAccount::new(&created.open_kfid))
            .await?;
        println!("renamed and deleted {}", created.open_kfid);
    }
    Ok(())
}

/// A tiny stateful stand-in for WeCom: gettoken and the four account endpoints.
struct FakeWeCom {
    server: MockServer,
    state: std::sync::Arc<State>,
}

#[derive(Default)]
struct State {
    token_generation: AtomicUsize,
    expired_below: AtomicUsize,
    gettoken_calls: AtomicUsize,
    api_calls: AtomicUsize,
    next_id: AtomicUsize,
    accounts: Mutex<BTreeMap<String, String>>,
}

impl State {
    fn expire_tokens(&self) {
        let current = self.token_generation.load(Ordering::SeqCst);
        self.expired_below.store(current + 1, Ordering::SeqCst);
    }
}

impl FakeWeCom {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let state = std::sync::Arc::new(State::default());
        Mock::given(method("GET"))
            .and(path("/cgi-bin/gettoken"))
            .respond_with(GetToken(state.clone()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(Accounts(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }
}

struct GetToken(std::sync::Arc<State>);

impl Respond for GetToken {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.gettoken_calls.fetch_add(1, Ordering::SeqCst);
        let n = self.0.token_generation.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "errcode": 0, "errmsg": "ok", "access_token": format!("TOKEN-{n}"), "expires_in": 7200
        }))
    }
}

struct Accounts(std::sync::Arc<State>);

impl Respond for Accounts {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let s = &self.0;
        s.api_calls.fetch_add(1, Ordering::SeqCst);
        let reply = |v: serde_json::Value| ResponseTemplate::new(200).set_body_json(v);
        let token = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "access_token")
            .and_then(|(_, v)| {
                v.strip_prefix("TOKEN-")
                    .and_then(|n| n.parse::<usize>().ok())
            });
        match token {
            None => {
                return reply(
                    serde_json::json!({"errcode": 41001, "errmsg": "access_token missing"}),
                );
            }
            Some(n) if n < s.expired_below.load(Ordering::SeqCst) => {
                return reply(
                    serde_json::json!({"errcode": 42001, "errmsg": "access_token expired"}),
                );
            }
            Some(_) => {}
        }
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
        let field = |k: &str| {
            body.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut accounts = s.accounts.lock().unwrap_or_else(|e| e.into_inner());
        match req.url.path() {
            "/cgi-bin/kf/account/add" => {
                let id = format!("wkDEMO{}", s.next_id.fetch_add(1, Ordering::SeqCst));
                accounts.insert(id.clone(), field("name"));
                reply(serde_json::json!({"errcode": 0, "errmsg": "ok", "open_kfid": id}))
            }
            "/cgi-bin/kf/account/update" | "/cgi-bin/kf/account/del" => {
                let id = field("open_kfid");
                if !accounts.contains_key(&id) {
                    return reply(
                        serde_json::json!({"errcode": 95004, "errmsg": "open_kfid not exist"}),
                    );
                }
                if req.url.path().ends_with("del") {
                    accounts.remove(&id);
                } else if let Some(name) = body.get("name").and_then(|v| v.as_str()) {
                    accounts.insert(id, name.to_owned());
                }
                reply(serde_json::json!({"errcode": 0, "errmsg": "ok"}))
            }
            "/cgi-bin/kf/account/list" => {
                let offset = body.get("offset").and_then(|v| v.as_u64()).unwrap_or(0) as usize;
                let limit = body.get("limit").and_then(|v| v.as_u64()).unwrap_or(100) as usize;
                let list: Vec<_> = accounts
                    .iter()
                    .skip(offset)
                    .take(limit)
                    .map(|(id, name)| serde_json::json!({"open_kfid": id, "name": name, "avatar": "", "manage_privilege": true}))
                    .collect();
                reply(serde_json::json!({"errcode": 0, "errmsg": "ok", "account_list": list}))
            }
            _ => ResponseTemplate::new(404),
        }
    }
}
