//! The README's first command, `cargo run --example quickstart`, as a test: its simulator flow
//! runs here and the server's counters are checked exactly.

#[path = "../../examples/quickstart.rs"]
#[allow(dead_code)]
mod quickstart;

use wecom_kf::simulator::Simulator;

#[tokio::test]
async fn the_quickstart_flow_runs_on_the_simulator_with_exact_counts() {
    let sim = Simulator::start().await.unwrap();
    let mut out = Vec::new();
    let counters = quickstart::run_on_simulator(&sim, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();

    // One token at the start, one after the server expired it; none for the retries.
    assert_eq!(counters.gettoken_calls(), 2, "{text}");
    // Two adds, then the dropped one: each sent once, each took effect once.
    assert_eq!(counters.calls("kf/account/add"), 3);
    assert_eq!(counters.effects("kf/account/add"), 3);
    assert_eq!(counters.calls("kf/account/update"), 1);
    // The two demo accounts and the one created by the dropped add.
    assert_eq!(counters.effects("kf/account/del"), 3);
    // 1 list, list_all (2 pages), 42001 + replay, 502 + retry, -1 + retry, list_all (2 pages).
    assert_eq!(counters.calls("kf/account/list"), 11);
    assert_eq!(counters.effects("kf/account/list"), 8);
    // Only the seeded accounts remain: nothing duplicated, nothing left behind.
    let left = sim.accounts();
    assert_eq!(left.len(), 150);
    assert!(left.iter().all(|a| a.name.starts_with("seeded ")));

    for line in [
        "refused before sending: `name`",
        "the list was answered after 2 attempts",
        "HTTP 502 on a list: retried (a read is safe to replay), answered after 2 attempts",
        "errcode -1 (system busy) on a list: retried, answered after 2 attempts",
        "OutcomeUnknown after 1 attempt (not replayed); listing found 1 such account",
        "gettoken calls: 2",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}
