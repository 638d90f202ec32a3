//! `cargo run --example provider` as a test: the SaaS's flow runs here on a fresh simulator
//! and the server's counters are checked exactly.

#[path = "../../examples/provider.rs"]
#[allow(dead_code)]
mod provider_demo;

use wecom_kf::simulator::Simulator;

#[tokio::test]
async fn the_provider_demo_runs_on_the_simulator_with_exact_counts() {
    let sim = Simulator::start().await.unwrap();
    let mut out = Vec::new();
    let counters = provider_demo::run_on_simulator(&sim, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();

    // One suite token for both corps, fetched once the late ticket came.
    assert_eq!(counters.calls("service/get_suite_token"), 1, "{text}");
    // Corp A's exchange waited for the ticket (no call), then ran once; corp B's once; the
    // repeated create_auth exchanged nothing.
    assert_eq!(counters.calls("service/v2/get_permanent_code"), 2, "{text}");
    assert_eq!(counters.effects("service/v2/get_permanent_code"), 2);
    // One corp token per corp (the install's warm-up), reused by every kf call.
    assert_eq!(counters.calls("service/get_corp_token"), 2);
    assert_eq!(counters.gettoken_calls(), 0);
    assert_eq!(counters.effects("kf/account/add"), 2);
    assert_eq!(counters.effects("kf/send_msg"), 2);
    assert_eq!(sim.command_deliveries("create_auth"), 3);
    assert_eq!(sim.command_deliveries("suite_ticket"), 1);
    assert_eq!(sim.command_deliveries("cancel_auth"), 1);
    // Each step printed its line, in order.
    let steps = [
        "installed before any suite_ticket",
        "suite_ticket of",
        "the install left pending went on: wwcorpalpha000001 authorised",
        "wwcorpbeta0000002 installed: wwcorpbeta0000002 authorised",
        "the same create_auth again: a repeat",
        "wwcorpalpha000001: added kf account",
        "wwcorpbeta0000002: added kf account",
        "wwcorpbeta0000002 cancelled: permanent code deleted",
        "has not authorised suite",
        "wwcorpalpha000001 is still served",
        "server counters:",
    ];
    let mut rest = text.as_str();
    for step in steps {
        let at = rest
            .find(step)
            .unwrap_or_else(|| panic!("missing or out of order: {step}\n{text}"));
        rest = &rest[at + step.len()..];
    }
    assert_eq!(
        text.matches("the bot answered 1: 您好！您说：你好").count(),
        2
    );
    // No permanent code, auth code or suite secret in what the demo printed.
    assert!(!text.contains(wecom_kf::simulator::DEFAULT_SUITE_SECRET));
}
