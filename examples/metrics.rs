//! The SDK's metrics in Prometheus: `cargo run --example metrics --features metrics`.
//!
//! It installs `metrics-exporter-prometheus` as the global recorder, runs a short flow on the
//! embedded WeCom simulator (accounts added, listed and deleted; a message pulled; an expired
//! token replayed; a 502 and a -1 retried; a 45009, an errcode the SDK does not name, and a
//! connection dropped after an `add` took effect), serves `GET /metrics` on 127.0.0.1, scrapes
//! it once, prints what it got and exits.
//!
//! In a service, keep the router (or use the exporter's own listener) and call
//! [`PrometheusHandle::run_upkeep`] now and then (every few seconds) so histograms stay small.

use std::error::Error as StdError;
use std::io::Write;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use wecom_kf::Error;
use wecom_kf::kf::account::{AddAccount, DeleteAccount, ListAccounts};
use wecom_kf::kf::message::SyncMessages;
use wecom_kf::simulator::{Counters, Fault, Simulator};

type DemoResult<T> = Result<T, Box<dyn StdError>>;

/// The customer who writes in the demo: an `external_userid`, which no label may carry.
pub const CUSTOMER: &str = "wmDemoCustomer0000000000000001";
/// A path that is not in the SDK's endpoint table, called with `get_json`: its label is `other`.
pub const UNKNOWN_PATH: &str = "/cgi-bin/not/in/the/table";

#[tokio::main]
async fn main() -> DemoResult<()> {
    let handle = install_prometheus()?;
    let sim = Simulator::start().await?;
    println!("the embedded WeCom simulator is at {}", sim.base_url());
    let ran = run_on_simulator(&sim, &mut std::io::stdout()).await?;
    let (addr, server) = serve(handle).await?;
    let scrape = scrape(addr).await?;
    server.abort();
    println!("GET http://{addr}/metrics answered:\n{scrape}");
    println!("{}", ran.counters);
    Ok(())
}

/// The global Prometheus recorder, with buckets for the `_seconds` histograms (without them
/// the exporter renders summaries).
pub fn install_prometheus() -> DemoResult<PrometheusHandle> {
    let buckets = [
        0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0, 3600.0, 7200.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)?
        .install_recorder()?;
    // The help text and unit of every series, for the scrape's `# HELP` lines.
    wecom_kf::describe_metrics();
    Ok(handle)
}

/// Serves `GET /metrics` (the handle's rendering) on a free port of 127.0.0.1.
pub async fn serve(
    handle: PrometheusHandle,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/metrics", get(move || std::future::ready(handle.render())));
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("the metrics server stopped: {e}");
        }
    });
    Ok((addr, server))
}

/// One scrape of `GET /metrics` at `addr`.
pub async fn scrape(addr: SocketAddr) -> DemoResult<String> {
    let answer = reqwest::get(format!("http://{addr}/metrics")).await?;
    Ok(answer.error_for_status()?.text().await?)
}

/// What the flow leaves behind: the simulator's counters, the account whose messages were
/// pulled, and every value that must never appear in a metric.
pub struct Ran {
    /// The simulator's counters after the flow.
    pub counters: Counters,
    /// The account that was synced.
    pub open_kfid: String,
    /// The corp id, its secret, the access tokens used, the sync token, the customer.
    pub secrets: Vec<String>,
}

/// The flow, one line per step written to `out`.
pub async fn run_on_simulator(sim: &Simulator, out: &mut impl Write) -> DemoResult<Ran> {
    let client = sim.client_builder().build()?;
    let accounts = client.kf().account();
    let mut secrets = vec![sim.corp_id().to_owned(), sim.corp_secret().to_owned()];

    // WeCom keeps at least one account: this one stays.
    sim.seed_account("seeded", "MEDIA_S");
    let a = accounts.add(AddAccount::new("咨询客服", "MEDIA_A")).await?;
    let b = accounts.add(AddAccount::new("售前客服", "MEDIA_B")).await?;
    let page = accounts.list(ListAccounts::new()).await?;
    writeln!(
        out,
        "added {} and {}; listed {}",
        a.open_kfid,
        b.open_kfid,
        page.account_list.len()
    )?;
    secrets.push(client.access_token().await?.as_str().to_owned());

    // A customer writes twice; the bot pulls the page (sync lag, messages synced).
    sim.customer_says(&a.open_kfid, CUSTOMER, "你好");
    sim.customer_says(&a.open_kfid, CUSTOMER, "在吗");
    let token = sim.sync_token(&a.open_kfid);
    secrets.extend([token.clone(), CUSTOMER.to_owned()]);
    let synced = client
        .kf()
        .message()
        .sync(SyncMessages::new(&a.open_kfid).token(&token))
        .await?;
    writeln!(out, "pulled {} messages", synced.msg_list.len())?;

    // An expired token: refreshed and the list replayed (one replay, one more gettoken).
    sim.expire_tokens();
    accounts.list(ListAccounts::new()).await?;
    secrets.push(client.access_token().await?.as_str().to_owned());
    writeln!(out, "token expired on the server: refreshed and replayed")?;
    // A gateway's 502 and WeCom's -1: each retried once.
    sim.inject("kf/account/list", Fault::HttpStatus(502), 1);
    accounts.list(ListAccounts::new()).await?;
    sim.inject("kf/account/list", Fault::Errcode(-1), 1);
    accounts.list(ListAccounts::new()).await?;
    writeln!(out, "a 502 and a -1 on a list: each retried")?;
    // 45009 is never retried; an errcode the SDK does not name is labelled `other`.
    sim.inject("kf/account/list", Fault::Errcode(45009), 1);
    expect_api(accounts.list(ListAccounts::new()).await, 45009)?;
    sim.inject("kf/account/list", Fault::Errcode(777_777), 1);
    expect_api(accounts.list(ListAccounts::new()).await, 777_777)?;
    writeln!(out, "45009 and 777777 on a list: final, not retried")?;
    // The connection drops after an add took effect: OutcomeUnknown, not replayed.
    sim.inject("kf/account/add", Fault::DropAfterEffect, 1);
    match accounts.add(AddAccount::new("临时客服", "MEDIA_D")).await {
        Err(Error::OutcomeUnknown { .. }) => writeln!(out, "an add's answer was lost")?,
        other => return Err(format!("expected OutcomeUnknown, got {other:?}").into()),
    }
    // A path the SDK does not know: its label is `other`, whatever the caller wrote.
    let unknown: Result<serde_json::Value, Error> = client.get_json(UNKNOWN_PATH, &[]).await;
    writeln!(out, "get_json on an unknown path: {}", outcome(&unknown))?;

    for account in sim.accounts().iter().filter(|x| x.name != "seeded") {
        accounts
            .delete(DeleteAccount::new(&account.open_kfid))
            .await?;
    }
    writeln!(out, "deleted the accounts it added")?;
    Ok(Ran {
        counters: sim.counters(),
        open_kfid: a.open_kfid,
        secrets,
    })
}

fn expect_api<T: std::fmt::Debug>(result: Result<T, Error>, code: i64) -> DemoResult<()> {
    match result {
        Err(Error::Api(e)) if e.code() == code => Ok(()),
        other => Err(format!("expected errcode {code}, got {other:?}").into()),
    }
}

fn outcome<T>(result: &Result<T, Error>) -> String {
    match result {
        Ok(_) => "answered".into(),
        Err(e) => format!("{e}"),
    }
}
