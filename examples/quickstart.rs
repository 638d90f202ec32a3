//! The account lifecycle and the SDK's resilience, end to end.
//!
//! `cargo run --example quickstart`
//!
//! - Without `WECOM_CORP_ID`/`WECOM_CORP_SECRET`, it starts the embedded WeCom simulator
//!   (`wecom_kf::simulator`) and walks the account lifecycle, then shows on the same client what
//!   the SDK does when the token expires, a gateway answers 502, WeCom is busy (-1), and the
//!   connection drops after an `add` took effect. It ends with the simulator's counters.
//! - With them set (and optionally `WECOM_API_BASE`), it talks to WeCom and only **lists** the
//!   accounts. `-- --mutate` also adds, renames and deletes a test account; that needs an avatar
//!   `media_id` in `WECOM_MEDIA_ID`.

use std::error::Error as StdError;
use std::io::Write;

use wecom_kf::kf::account::{AddAccount, DeleteAccount, ListAccounts, UpdateAccount};
use wecom_kf::simulator::{Counters, Fault, Simulator};
use wecom_kf::{Client, Error};

type DemoResult<T> = Result<T, Box<dyn StdError>>;

#[tokio::main]
async fn main() -> DemoResult<()> {
    let real = std::env::var("WECOM_CORP_ID").is_ok() && std::env::var("WECOM_CORP_SECRET").is_ok();
    if real {
        return run_against_wecom().await;
    }
    let sim = Simulator::start().await?;
    println!(
        "No WECOM_CORP_ID/WECOM_CORP_SECRET set: using the embedded WeCom simulator at {}",
        sim.base_url()
    );
    run_on_simulator(&sim, &mut std::io::stdout()).await?;
    Ok(())
}

/// The demo on a simulator, one line per step written to `out`. Returns the server's counters.
pub async fn run_on_simulator(sim: &Simulator, out: &mut impl Write) -> DemoResult<Counters> {
    let client = sim.client_builder().build()?;
    let accounts = client.kf().account();

    // The lifecycle.
    let a = accounts.add(AddAccount::new("咨询客服", "MEDIA_A")).await?;
    writeln!(out, "added 咨询客服 as {}", a.open_kfid)?;
    let b = accounts.add(AddAccount::new("售前客服", "MEDIA_B")).await?;
    writeln!(out, "added 售前客服 as {}", b.open_kfid)?;
    let page = accounts.list(ListAccounts::new().limit(100)).await?;
    writeln!(out, "listed {} accounts", page.account_list.len())?;
    accounts
        .update(UpdateAccount::new(&a.open_kfid).name("售后客服"))
        .await?;
    writeln!(out, "renamed {} to 售后客服", a.open_kfid)?;
    for i in 0..150 {
        sim.seed_account(&format!("seeded {i}"), "MEDIA_S");
    }
    let all = accounts.list_all().await?;
    writeln!(
        out,
        "seeded 150 more on the server; list_all walked the pages (100 a page) and found {}",
        all.len()
    )?;
    match accounts
        .add(AddAccount::new(
            "这个名字超过了十六个字符的限制啊啊",
            "MEDIA_C",
        ))
        .await
    {
        Err(Error::InvalidInput { field, reason, .. }) => {
            writeln!(out, "refused before sending: `{field}` {reason}")?
        }
        other => return Err(format!("expected a validation error, got {other:?}").into()),
    }
    accounts.delete(DeleteAccount::new(&a.open_kfid)).await?;
    accounts.delete(DeleteAccount::new(&b.open_kfid)).await?;
    writeln!(out, "deleted {} and {}", a.open_kfid, b.open_kfid)?;

    // Resilience, on the same client. Each line reports what the server counted.
    let lists = || sim.counters().calls("kf/account/list");
    sim.expire_tokens();
    let sent = lists();
    accounts.list(ListAccounts::new()).await?;
    writeln!(
        out,
        "token expired on the server: the list was answered after {} attempts (42001, then with \
         a fresh token); gettoken calls so far: {}",
        lists() - sent,
        sim.counters().gettoken_calls()
    )?;
    sim.inject("kf/account/list", Fault::HttpStatus(502), 1);
    let sent = lists();
    accounts.list(ListAccounts::new()).await?;
    writeln!(
        out,
        "HTTP 502 on a list: retried (a read is safe to replay), answered after {} attempts",
        lists() - sent
    )?;
    sim.inject("kf/account/list", Fault::Errcode(-1), 1);
    let sent = lists();
    accounts.list(ListAccounts::new()).await?;
    writeln!(
        out,
        "errcode -1 (system busy) on a list: retried, answered after {} attempts",
        lists() - sent
    )?;
    let before = sim.accounts().len();
    let adds = sim.counters().calls("kf/account/add");
    sim.inject("kf/account/add", Fault::DropAfterEffect, 1);
    match accounts.add(AddAccount::new("临时客服", "MEDIA_D")).await {
        Err(Error::OutcomeUnknown { .. }) => {}
        other => return Err(format!("expected OutcomeUnknown, got {other:?}").into()),
    }
    // What a caller should do with OutcomeUnknown: look before trying again.
    let created: Vec<_> = accounts
        .list_all()
        .await?
        .into_iter()
        .filter(|x| x.name == "临时客服")
        .collect();
    writeln!(
        out,
        "connection dropped after an add took effect: OutcomeUnknown after {} attempt (not \
         replayed); listing found {} such account ({} accounts before, {} now)",
        sim.counters().calls("kf/account/add") - adds,
        created.len(),
        before,
        sim.accounts().len()
    )?;
    for account in &created {
        accounts
            .delete(DeleteAccount::new(&account.open_kfid))
            .await?;
    }

    let counters = sim.counters();
    writeln!(out, "{counters}")?;
    Ok(counters)
}

async fn run_against_wecom() -> DemoResult<()> {
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
