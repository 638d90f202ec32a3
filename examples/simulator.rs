//! The embedded WeCom simulator as a standalone server, for programs in any language.
//!
//! ```sh
//! cargo run --example simulator -- --port 8080 [--corp-id ID] [--corp-secret SECRET] [--token-ttl SECONDS]
//! ```
//!
//! Point your program's WeCom base URL at the printed address (`http://127.0.0.1:8080`, so that
//! `gettoken` is `http://127.0.0.1:8080/cgi-bin/gettoken`); `--port 0` picks a free port. Tests
//! drive it over the JSON control plane under `/__sim/` (seed, play a customer, faults, token
//! expiry, state and counters, reset, and for service providers suite_tickets, installs and
//! removals; see the README), meant for 127.0.0.1 only. It pushes each suite's suite_ticket
//! every 10 minutes to the command URL a test sets. Stop it with Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use wecom_kf::simulator::{DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, Simulator};

const USAGE: &str =
    "usage: simulator [--port N] [--corp-id ID] [--corp-secret SECRET] [--token-ttl SECONDS]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Simulator::builder();
    let mut port: u16 = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--corp-id" => builder = builder.corp_id(value()?),
            "--corp-secret" => builder = builder.corp_secret(value()?),
            "--token-ttl" => {
                let secs: u64 = value()?.parse().map_err(|e| format!("--token-ttl: {e}"))?;
                builder = builder.token_ttl(Duration::from_secs(secs));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    // WeCom's suite_ticket pushes, every 10 minutes per suite, to the command URL a test sets
    // with POST /__sim/provider/command_callback.
    let sim = builder
        .suite_ticket_schedule(Duration::from_secs(10))
        .addr(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .start()
        .await?;
    println!("WeCom simulator listening on {}", sim.base_url());
    println!("  corp id:     {}", sim.corp_id());
    println!("  corp secret: {}", sim.corp_secret());
    println!(
        "  try: curl '{}/cgi-bin/gettoken?corpid={}&corpsecret={}'",
        sim.base_url(),
        sim.corp_id(),
        sim.corp_secret()
    );
    println!(
        "  control:     curl '{}/__sim/state' (tests only: no token needed)",
        sim.base_url()
    );
    println!(
        "  provider:    suite {DEFAULT_SUITE_ID} (secret {DEFAULT_SUITE_SECRET}), provider corp {} (secret {});",
        sim.provider_corp_id(),
        sim.provider_secret()
    );
    println!(
        "               suite_tickets go every 10 minutes to the command URL set with POST /__sim/provider/command_callback"
    );
    tokio::signal::ctrl_c().await?;
    println!("\n{}", sim.counters());
    Ok(())
}
