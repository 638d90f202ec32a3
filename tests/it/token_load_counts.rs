//! The counts behind benches 4 and 5, kept true by CI: a herd of first calls costs one
//! `gettoken`, and each rollover under load costs one more, with no call replayed.

use std::time::Duration;

use crate::common::client_on_manual_clock;
use tokio::task::JoinSet;
use wecom_kf::Client;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::simulator::{Simulator, TokenIssue};

const HERD: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_first_calls_cost_one_gettoken() {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let mut callers = JoinSet::new();
    for _ in 0..HERD {
        let client = client.clone();
        callers.spawn(async move { client.access_token().await });
    }
    let mut values = std::collections::HashSet::new();
    while let Some(token) = callers.join_next().await {
        values.insert(token.unwrap().unwrap().as_str().to_owned());
    }
    assert_eq!(values.len(), 1, "every caller got the same token");
    assert_eq!(sim.counters().gettoken_calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_herd_of_api_calls_on_a_cold_client_costs_one_gettoken() {
    // 500 rather than 10,000: each call in flight holds a socket on both ends.
    const CALLS: usize = 500;
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let mut callers = JoinSet::new();
    for _ in 0..CALLS {
        let client = client.clone();
        callers.spawn(async move { client.kf().account().list(ListAccounts::new()).await });
    }
    while let Some(page) = callers.join_next().await {
        page.unwrap().unwrap();
    }
    let counters = sim.counters();
    assert_eq!(counters.gettoken_calls(), 1);
    assert_eq!(counters.effects("kf/account/list"), CALLS as u64);
}

/// Five rollovers on a manual clock. Each time the clock enters the refresh-ahead window a
/// burst of calls runs on the old token while one background `gettoken` fetches the next.
#[tokio::test]
async fn each_rollover_under_load_costs_one_gettoken_and_no_replay() {
    const BURST: usize = 50;
    const ROLLOVERS: u64 = 5;
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::FreshEachCall).await;
    let burst = |client: &Client| {
        let mut calls = JoinSet::new();
        for _ in 0..BURST {
            let client = client.clone();
            calls.spawn(async move { client.kf().account().list(ListAccounts::new()).await });
        }
        calls
    };
    let mut token = client.access_token().await.unwrap();
    for rollover in 1..=ROLLOVERS {
        // A 7200 s token is refreshed from 600 s before expiry and used until 300 s before.
        clock.advance(Duration::from_secs(6_700));
        let lists_before = sim.counters().calls("kf/account/list");
        let mut calls = burst(&client);
        while let Some(page) = calls.join_next().await {
            page.unwrap().unwrap();
        }
        // Every call was answered on its first attempt: none found its token refused.
        assert_eq!(
            sim.counters().calls("kf/account/list") - lists_before,
            BURST as u64
        );
        // The refresh has been answered; wait for the provider to store its token. The
        // timeout only turns a missing refresh into a failure instead of a hang.
        let stored = async {
            sim.wait_for_effects("gettoken", rollover + 1).await;
            loop {
                let current = client.access_token().await.unwrap();
                if current.as_str() != token.as_str() {
                    break current;
                }
                tokio::task::yield_now().await;
            }
        };
        let fresh = tokio::time::timeout(Duration::from_secs(30), stored)
            .await
            .expect("a background refresh in the refresh-ahead window");
        assert_eq!(sim.counters().gettoken_calls(), rollover + 1);
        token = fresh;
    }
    assert_eq!(sim.counters().gettoken_calls(), ROLLOVERS + 1);
}

/// WeCom is observed to hand back a valid token unchanged (its `expires_in` counting down)
/// until it expires: the simulator's default. The early refresh then brings the same token
/// back; the provider keeps it to its end instead of asking again and again as the end nears.
#[tokio::test]
async fn a_token_handed_back_unchanged_is_used_to_its_end() {
    const STEP: Duration = Duration::from_secs(10);
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::ReuseWhileValid).await;
    let list = || async {
        client
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap()
    };
    let mut token = client.access_token().await.unwrap();
    let mut calls = 0;
    for rollover in 1..=2u64 {
        // 600 s before expiry: one early refresh, in the background; WeCom hands the same
        // token back. Wait until the provider stored it (same value, a later time of issue).
        clock.advance(Duration::from_secs(6_600));
        list().await;
        calls += 1;
        let stored = async {
            sim.wait_for_effects("gettoken", 2 * rollover).await;
            loop {
                let now = client.access_token().await.unwrap();
                if now.obtained_at() != token.obtained_at() {
                    break now;
                }
                tokio::task::yield_now().await;
            }
        };
        let reissued = tokio::time::timeout(Duration::from_secs(30), stored)
            .await
            .expect("the early refresh's answer is stored");
        assert_eq!(reissued.as_str(), token.as_str(), "WeCom handed it back");
        // Used to its end with no further gettoken, however close the end comes.
        for _ in 0..59 {
            clock.advance(STEP);
            list().await;
            calls += 1;
        }
        assert_eq!(sim.counters().gettoken_calls(), 2 * rollover);
        // At its end, the next call fetches its successor.
        clock.advance(STEP);
        list().await;
        calls += 1;
        assert_eq!(sim.counters().gettoken_calls(), 2 * rollover + 1);
        let next = client.access_token().await.unwrap();
        assert_ne!(next.as_str(), token.as_str());
        token = next;
    }
    // No call carried an expired token: none was refused and replayed.
    let counters = sim.counters();
    assert_eq!(counters.calls("kf/account/list"), calls);
    assert_eq!(counters.effects("kf/account/list"), calls);
}
