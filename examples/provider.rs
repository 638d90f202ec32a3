//! A small SaaS that runs WeChat Customer Service for the corps that install its suite
//! (第三方应用): `cargo run --example provider`.
//!
//! It runs on the embedded WeCom simulator, which plays WeCom for service providers: it
//! pushes suite_tickets and install commands to the SaaS's command URL (指令回调), answers the
//! `service/*` endpoints, and serves kf for every authorised corp. Step by step, one line each:
//!
//! 1. The SaaS starts with empty stores. Corp A installs at once: its `create_auth` arrives
//!    before any suite_ticket, so the auth code cannot be exchanged yet. It is kept.
//! 2. The suite_ticket arrives (late): it is stored, and the install left pending completes.
//! 3. Corp B installs: its auth code is exchanged for its permanent code at once.
//! 4. In each corp the SaaS adds a kf account; a customer writes, and the bot answers
//!    through that corp's client (`provider.corp(..)`).
//! 5. Corp B cancels: its code, client and token go, and its calls are refused typed.
//! 6. The simulator's counters: one suite token for both corps, one corp token each.
//!
//! The command URL answers `success` at once (WeCom waits 1000 ms at most) and does the work
//! afterwards, as a real deployment must. A real one serves the same handler at a public URL,
//! with stores that survive a restart (Redis or SQL) instead of the memory ones used here.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use wecom_kf::callback::{CallbackCrypto, CommandDedupe};
use wecom_kf::kf::account::AddAccount;
use wecom_kf::kf::message::{MemoryCursorStore, MessageContent, Origin, Outgoing, SendMessage};
use wecom_kf::provider::codes::MemoryPermanentCodeStore;
use wecom_kf::provider::{Lifecycle, LifecycleOutcome, MemorySuiteTicketStore, Provider};
use wecom_kf::simulator::{Counters, DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, Simulator};
use wecom_kf::{Client, Error};

type DemoResult<T> = Result<T, Box<dyn StdError>>;

/// The suite's command-callback settings (its Token and EncodingAESKey in the provider console).
const COMMAND_TOKEN: &str = "saas-command-token";
const COMMAND_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";

/// The two corps that install the suite.
const CORP_A: &str = "wwcorpalpha000001";
const CORP_B: &str = "wwcorpbeta0000002";

#[tokio::main]
async fn main() -> DemoResult<()> {
    let sim = Simulator::start().await?;
    println!(
        "The embedded WeCom simulator plays WeCom at {}",
        sim.base_url()
    );
    run_on_simulator(&sim, &mut std::io::stdout()).await?;
    Ok(())
}

/// The SaaS's command URL: what it holds to act on each command.
struct CommandUrl {
    crypto: CallbackCrypto,
    lifecycle: Lifecycle,
    /// Each command's outcomes, in order, for the demo to print.
    done: mpsc::UnboundedSender<Handled>,
}

/// What the SaaS did with one command: its outcome, or what stopped it, and the installs a
/// stored ticket let complete.
struct Handled {
    outcome: Result<LifecycleOutcome, Error>,
    resumed: Vec<LifecycleOutcome>,
}

/// `POST /command`: verify and decrypt, answer `success` at once, then act.
async fn command(
    State(url): State<Arc<CommandUrl>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let param = |name: &str| query.get(name).map_or("", String::as_str);
    let Ok(event) = url.crypto.decrypt_command(
        param("msg_signature"),
        param("timestamp"),
        param("nonce"),
        &body,
    ) else {
        return (StatusCode::FORBIDDEN, "");
    };
    let url = url.clone();
    tokio::spawn(async move {
        let outcome = url.lifecycle.handle(&event).await;
        // A new ticket may unblock installs that were waiting for one.
        let resumed = match &outcome {
            Ok(LifecycleOutcome::TicketStored { kept: true, .. }) => {
                url.lifecycle.resume_pending().await.unwrap_or_default()
            }
            _ => Vec::new(),
        };
        let _ = url.done.send(Handled { outcome, resumed });
    });
    (StatusCode::OK, "success")
}

/// The demo on a simulator, one line per step written to `out`. Returns the server's counters.
pub async fn run_on_simulator(sim: &Simulator, out: &mut impl Write) -> DemoResult<Counters> {
    let provider = Provider::builder()
        .suite(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET)
        .ticket_store(Arc::new(MemorySuiteTicketStore::new()))
        .code_store(Arc::new(MemoryPermanentCodeStore::new()))
        .base_url(sim.base_url())
        .build()?;
    let (done, mut handled) = mpsc::unbounded_channel();
    let deliveries = Arc::new(CommandDedupe::new(10_000, Duration::from_secs(3600)));
    let state = Arc::new(CommandUrl {
        crypto: CallbackCrypto::new(COMMAND_TOKEN, COMMAND_AES_KEY, DEFAULT_SUITE_ID)?,
        lifecycle: provider.lifecycle(deliveries),
        done,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let command_url = format!("http://{}/command", listener.local_addr()?);
    let app = Router::new()
        .route("/command", post(command))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    sim.set_command_callback(
        DEFAULT_SUITE_ID,
        &command_url,
        COMMAND_TOKEN,
        COMMAND_AES_KEY,
    )?;
    writeln!(out, "the SaaS serves its command URL at {command_url}")?;

    // 1. An install before any suite_ticket.
    let install = sim
        .install_corp(DEFAULT_SUITE_ID, CORP_A, Some("signup-a"))
        .ok_or("unknown suite")?;
    sim.deliver_command(&install).await?;
    let first = handled.recv().await.ok_or("the command URL stopped")?;
    match first.outcome {
        Err(Error::SuiteTicketUnavailable { reason, .. }) => writeln!(
            out,
            "{CORP_A} installed before any suite_ticket: {reason}; its auth code is kept"
        )?,
        other => return Err(format!("expected a missing ticket, got {other:?}").into()),
    }

    // 2. The ticket arrives late (WeCom's schedule: every 10 minutes).
    for (ticket, delivery) in sim.push_due_suite_tickets().await {
        delivery.ok_or("no command URL")??;
        let handled = handled.recv().await.ok_or("the command URL stopped")?;
        writeln!(
            out,
            "suite_ticket of {} arrived: {}",
            ticket.suite_id,
            describe(&handled.outcome?)
        )?;
        for outcome in &handled.resumed {
            writeln!(
                out,
                "  the install left pending went on: {}",
                describe(outcome)
            )?;
        }
    }

    // 3. A second corp installs; the ticket is there now.
    let install = sim
        .install_corp(DEFAULT_SUITE_ID, CORP_B, Some("signup-b"))
        .ok_or("unknown suite")?;
    sim.deliver_command(&install).await?;
    let handled_b = handled.recv().await.ok_or("the command URL stopped")?;
    writeln!(out, "{CORP_B} installed: {}", describe(&handled_b.outcome?))?;
    // WeCom delivers the same command again (its retry): acknowledged, nothing done twice.
    sim.deliver_command(&install).await?;
    let again = handled.recv().await.ok_or("the command URL stopped")?;
    writeln!(
        out,
        "the same create_auth again: {}",
        describe(&again.outcome?)
    )?;

    // 4. Each corp gets a kf account, and the bot answers its customer.
    for (corp, customer) in [(CORP_A, "wmcustomer-a"), (CORP_B, "wmcustomer-b")] {
        let client = provider.corp(corp).await?;
        let account = client
            .kf()
            .account()
            .add(AddAccount::new("在线客服", "MEDIA_AVATAR"))
            .await?;
        sim.customer_says(&account.open_kfid, customer, "你好");
        let answered = answer_customers(&client, &account.open_kfid).await?;
        let replies = sim.sent_messages(&account.open_kfid);
        let reply = replies
            .last()
            .map(|m| m.payload["content"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        writeln!(
            out,
            "{corp}: added kf account {}; a customer wrote 你好, the bot answered {answered}: {reply}",
            account.open_kfid
        )?;
    }

    // 5. Corp B removes the suite.
    let cancel = sim
        .uninstall_corp(DEFAULT_SUITE_ID, CORP_B)
        .ok_or("corp B was not authorised")?;
    sim.deliver_command(&cancel).await?;
    let cancelled = handled.recv().await.ok_or("the command URL stopped")?;
    writeln!(out, "{CORP_B} cancelled: {}", describe(&cancelled.outcome?))?;
    match provider.corp(CORP_B).await {
        Err(e @ Error::NotAuthorised { .. }) => writeln!(out, "  its calls now: {e}")?,
        other => return Err(format!("expected NotAuthorised, got {other:?}").into()),
    }
    provider.corp(CORP_A).await?;
    writeln!(out, "  {CORP_A} is still served")?;

    // 6. What the server saw.
    let counters = sim.counters();
    writeln!(
        out,
        "server counters: get_suite_token {}, v2/get_permanent_code {}, get_corp_token {}, \
         kf/account/add {}, kf/sync_msg {}, kf/send_msg {}; command deliveries: \
         suite_ticket {}, create_auth {}, cancel_auth {}",
        counters.calls("service/get_suite_token"),
        counters.calls("service/v2/get_permanent_code"),
        counters.calls("service/get_corp_token"),
        counters.calls("kf/account/add"),
        counters.calls("kf/sync_msg"),
        counters.calls("kf/send_msg"),
        sim.command_deliveries("suite_ticket"),
        sim.command_deliveries("create_auth"),
        sim.command_deliveries("cancel_auth"),
    )?;
    Ok(counters)
}

/// One line for an outcome (outcomes hold ids only: nothing secret to hide).
fn describe(outcome: &LifecycleOutcome) -> String {
    match outcome {
        LifecycleOutcome::TicketStored { kept, .. } => {
            format!(
                "stored{}",
                if *kept {
                    ""
                } else {
                    " (an older one: not kept)"
                }
            )
        }
        LifecycleOutcome::Installed {
            auth_corpid,
            state,
            warmed,
        } => format!(
            "{auth_corpid} authorised (state {}), permanent code stored{}",
            state.as_deref().unwrap_or("-"),
            if *warmed { ", corp token fetched" } else { "" }
        ),
        LifecycleOutcome::Duplicate { info_type } => format!("a repeat of {info_type}, ignored"),
        LifecycleOutcome::Cancelled { had_code, .. } => format!(
            "permanent code {}, client and token dropped",
            if *had_code { "deleted" } else { "already gone" }
        ),
        other => format!("{other:?}"),
    }
}

/// The bot: pulls the account's new messages and answers each customer text. Returns how
/// many it answered.
async fn answer_customers(client: &Client, open_kfid: &str) -> DemoResult<usize> {
    let cursors = MemoryCursorStore::new();
    let messages = client.kf().message().sync_stream(open_kfid, None, &cursors);
    futures_util::pin_mut!(messages);
    let mut answered = 0;
    while let Some(message) = messages.next().await {
        let message = message?;
        let (Origin::Customer, Some(customer), MessageContent::Text { content, .. }) =
            (message.origin, &message.external_userid, &message.content)
        else {
            continue;
        };
        let reply = SendMessage::new(
            open_kfid,
            customer,
            Outgoing::text(format!("您好！您说：{content}")),
        );
        client.kf().message().send(reply).await?;
        answered += 1;
    }
    Ok(answered)
}
