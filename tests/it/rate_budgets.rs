//! Rate budgets on the simulator (and a real Redis where set), on a manual clock: a budget
//! admits its calls and then waits or refuses, 45009 closes exactly its scope for exactly its
//! window, processes sharing Redis share one budget, and Redis down degrades to local shares.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wecom_kf::budget::{ApiBudget, RateBudgets, Refusal, Scope, Window};
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::account::{AddAccount, ListAccounts};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error, RetryConfig};

use crate::common::{fresh_prefix, redis_url};

const LIST: &str = "kf/account/list";

/// The start of an hour (and so of a minute): windows are easy to read.
fn hour_start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

async fn on_clock() -> (Simulator, ManualClock) {
    let clock = ManualClock::at(hour_start());
    let sim = Simulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    (sim, clock)
}

fn client(sim: &Simulator, clock: &ManualClock, budgets: RateBudgets) -> Client {
    sim.client_builder()
        .clock(clock.clone())
        .retry(RetryConfig::disabled())
        .rate_budgets(budgets)
        .build()
        .unwrap()
}

async fn list(client: &Client) -> wecom_kf::Result<()> {
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .map(|_| ())
}

/// Another API than [`LIST`], with a budget of its own.
async fn add(client: &Client, name: &str) {
    client
        .kf()
        .account()
        .add(AddAccount::new(name, "MEDIA"))
        .await
        .unwrap();
}

fn refusal(result: wecom_kf::Result<()>) -> (Refusal, Option<SystemTime>) {
    match result {
        Err(Error::RateLimited {
            refusal, frees_at, ..
        }) => (refusal, frees_at),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_budget_of_60_a_minute_admits_60_then_refuses_until_the_next_minute() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .corp(60, 1_000)
        .max_wait(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    clock.advance(Duration::from_secs(20));
    for _ in 0..60 {
        list(&client).await.unwrap();
    }
    let (why, frees_at) = refusal(list(&client).await);
    assert_eq!(
        why,
        Refusal::Budget {
            scope: Scope::Corp,
            window: Window::Minute,
            limit: 60
        }
    );
    assert_eq!(frees_at, Some(hour_start() + Duration::from_secs(60)));
    // Nothing was sent for the refused call.
    assert_eq!(sim.counters().calls(LIST), 60);
    // Another API has a budget of its own.
    add(&client, "售前").await;
    // The next minute has room again.
    clock.advance(Duration::from_secs(40));
    list(&client).await.unwrap();
    assert_eq!(sim.counters().calls(LIST), 61);
}

#[tokio::test]
async fn a_call_over_the_budget_waits_for_the_next_minute_when_allowed_to() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .corp(2, 1_000)
        .max_wait(Duration::from_secs(60))
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    list(&client).await.unwrap();
    list(&client).await.unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { list(&client).await }
    });
    // It waits (nothing sent), and wakes when the manual clock reaches the next minute, not
    // after real time.
    clock.sleepers(1).await;
    assert_eq!(sim.counters().calls(LIST), 2);
    assert!(!waiting.is_finished());
    clock.advance(Duration::from_secs(60));
    waiting.await.unwrap().unwrap();
    assert_eq!(sim.counters().calls(LIST), 3);
}

#[tokio::test]
async fn a_wait_longer_than_allowed_fails_at_once_and_says_when_room_comes() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .corp(1, 1_000)
        .max_wait(Duration::from_secs(30))
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    clock.advance(Duration::from_secs(10));
    list(&client).await.unwrap();
    // 50 s to the next minute, 30 s allowed: refused without waiting.
    let error = list(&client).await.unwrap_err();
    assert!(error.is_rate_limited());
    let shown = error.to_string();
    assert!(
        shown.contains("kf/account/list") && shown.contains("nothing was sent"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_hour_budget_binds_across_minutes() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .corp(3, 5)
        .max_wait(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    for _ in 0..3 {
        list(&client).await.unwrap();
    }
    clock.advance(Duration::from_secs(60));
    list(&client).await.unwrap();
    list(&client).await.unwrap();
    let (why, frees_at) = refusal(list(&client).await);
    assert!(matches!(
        why,
        Refusal::Budget {
            window: Window::Hour,
            limit: 5,
            ..
        }
    ));
    assert_eq!(frees_at, Some(hour_start() + Duration::from_secs(3600)));
    assert_eq!(sim.counters().calls(LIST), 5);
}

#[tokio::test]
async fn a_45009_closes_exactly_its_scope_for_exactly_its_window() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .max_wait(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    clock.advance(Duration::from_secs(15));
    sim.inject(LIST, Fault::Errcode(45009), 1);
    let banned = list(&client).await.unwrap_err();
    assert!(banned.is_rate_limited());
    assert!(matches!(banned, Error::Api(_)), "{banned:?}");
    // The scope is closed: refused without reaching WeCom, until the minute ends.
    clock.advance(Duration::from_secs(44));
    let (why, frees_at) = refusal(list(&client).await);
    assert_eq!(
        why,
        Refusal::Closed {
            window: Window::Minute
        }
    );
    assert_eq!(frees_at, Some(hour_start() + Duration::from_secs(60)));
    assert_eq!(sim.counters().calls(LIST), 1);
    // Outside the scope, calls go on.
    add(&client, "售后").await;
    // At the minute's end it opens again.
    clock.advance(Duration::from_secs(1));
    list(&client).await.unwrap();
    assert_eq!(sim.counters().calls(LIST), 2);
    // Banned again within the hour: WeCom's ban outlived the minute, so the hour it is.
    sim.inject(LIST, Fault::Errcode(45009), 1);
    list(&client).await.unwrap_err();
    let (why, frees_at) = refusal(list(&client).await);
    assert_eq!(
        why,
        Refusal::Closed {
            window: Window::Hour
        }
    );
    assert_eq!(frees_at, Some(hour_start() + Duration::from_secs(3600)));
}

#[tokio::test]
async fn a_concurrency_cap_holds_calls_beyond_it() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .api(LIST, ApiBudget::new().concurrency(1))
        .max_wait(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    sim.inject(LIST, Fault::Hold, 1);
    let held = tokio::spawn({
        let client = client.clone();
        async move { list(&client).await }
    });
    sim.wait_for_calls(LIST, 1).await;
    let (why, frees_at) = refusal(list(&client).await);
    assert_eq!(why, Refusal::Concurrency { limit: 1 });
    assert_eq!(frees_at, None);
    sim.release(LIST);
    held.await.unwrap().unwrap();
    list(&client).await.unwrap();
    assert_eq!(sim.counters().calls(LIST), 2);
}

#[tokio::test]
async fn the_ip_budget_is_shared_by_every_client_behind_the_egress() {
    let (sim, clock) = on_clock().await;
    let budgets = RateBudgets::builder()
        .ip(4, 1_000)
        .egress("nat-1")
        .max_wait(Duration::ZERO)
        .clock(clock.clone())
        .build();
    // Two clients behind one egress: one IP budget.
    let first = client(&sim, &clock, budgets.clone());
    let second = client(&sim, &clock, budgets.clone());
    for _ in 0..2 {
        list(&first).await.unwrap();
        list(&second).await.unwrap();
    }
    let (why, _) = refusal(list(&second).await);
    assert_eq!(
        why,
        Refusal::Budget {
            scope: Scope::Ip,
            window: Window::Minute,
            limit: 4
        }
    );
    // Another egress has its own.
    let elsewhere = RateBudgets::builder()
        .ip(4, 1_000)
        .egress("nat-2")
        .clock(clock.clone())
        .build();
    list(&client(&sim, &clock, elsewhere)).await.unwrap();
}

#[tokio::test]
async fn debug_and_limits_show_the_configured_numbers() {
    let budgets = RateBudgets::builder()
        .provider_ip()
        .api(
            "kf/sync_msg",
            ApiBudget::new().corp(100, 1_000).concurrency(5),
        )
        .build();
    let shown = format!("{budgets:?}");
    assert!(
        shown.contains("40000") && shown.contains("kf/sync_msg"),
        "{shown}"
    );
    assert_eq!(budgets.limits(Scope::Corp, "kf/sync_msg").per_minute, 100);
    assert_eq!(budgets.limits(Scope::Corp, LIST).per_minute, 10_000);
    assert_eq!(budgets.limits(Scope::Ip, LIST).per_hour, 1_200_000);
}

#[cfg(feature = "redis")]
mod shared {
    use super::*;
    use wecom_kf::budget::RedisBudgetStore;

    async fn store(url: &str, prefix: &str) -> RedisBudgetStore {
        RedisBudgetStore::connect(url)
            .await
            .unwrap()
            .prefix(prefix.to_owned())
    }

    fn shared_budgets(clock: &ManualClock, store: RedisBudgetStore, limit: u64) -> RateBudgets {
        RateBudgets::builder()
            .corp(limit, 10 * limit)
            .shared(store)
            .max_wait(Duration::ZERO)
            .clock(clock.clone())
            .build()
    }

    #[tokio::test]
    async fn three_processes_on_one_redis_share_one_budget() {
        let Some(url) = redis_url() else { return };
        let prefix = fresh_prefix("budget-share");
        let (sim, clock) = on_clock().await;
        // Three "processes": three budgets, three clients, one Redis.
        let mut clients = Vec::new();
        for _ in 0..3 {
            let budgets = shared_budgets(&clock, store(&url, &prefix).await, 30);
            clients.push(client(&sim, &clock, budgets));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for client in clients {
            tasks.spawn(async move {
                let mut admitted = 0;
                for _ in 0..20 {
                    match list(&client).await {
                        Ok(()) => admitted += 1,
                        Err(Error::RateLimited { .. }) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
                admitted
            });
        }
        let admitted: u64 = tasks.join_all().await.into_iter().sum();
        assert_eq!(admitted, 30, "together, exactly the budget");
        assert_eq!(sim.counters().calls(LIST), 30);
    }

    /// What a worker process needs to call on the parent's simulator and Redis.
    const WORKER_ENV: &str = "WECOM_KF_BUDGET_WORKER";

    /// Run as a child process by the test below (the test binary running this one test):
    /// 20 calls against the shared budget, then prints how many were let through. Without the
    /// variable (a normal test run) it does nothing.
    #[tokio::test]
    async fn budget_worker_process() {
        let Ok(spec) = std::env::var(WORKER_ENV) else {
            return;
        };
        let mut parts = spec.split(' ');
        let (base, corp, secret, url, prefix) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let clock = ManualClock::at(hour_start());
        let budgets = shared_budgets(&clock, store(url, prefix).await, 30);
        let client = Client::builder()
            .corp_id(corp)
            .corp_secret(secret)
            .base_url(base)
            .clock(clock)
            .retry(RetryConfig::disabled())
            .rate_budgets(budgets)
            .build()
            .unwrap();
        let mut admitted = 0;
        for _ in 0..20 {
            match list(&client).await {
                Ok(()) => admitted += 1,
                Err(Error::RateLimited { .. }) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        println!("WORKER-ADMITTED {admitted}");
    }

    #[tokio::test]
    async fn three_separate_processes_on_one_redis_stay_within_one_budget() {
        let Some(url) = redis_url() else { return };
        if std::env::var(WORKER_ENV).is_ok() {
            return;
        }
        let prefix = fresh_prefix("budget-processes");
        let (sim, _clock) = on_clock().await;
        let spec = format!(
            "{} {} {} {url} {prefix}",
            sim.base_url(),
            sim.corp_id(),
            sim.corp_secret()
        );
        let exe = std::env::current_exe().unwrap();
        let mut children = Vec::new();
        for _ in 0..3 {
            children.push(
                tokio::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "rate_budgets::shared::budget_worker_process",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env(WORKER_ENV, &spec)
                    .output(),
            );
        }
        let mut admitted = 0;
        for child in children {
            let output = child.await.unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            // The harness prints the test's name on the same line, before the count.
            let line: String = stdout
                .split("WORKER-ADMITTED ")
                .nth(1)
                .unwrap_or_else(|| panic!("no count from the worker: {stdout}"))
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            admitted += line.trim().parse::<u64>().unwrap();
        }
        assert_eq!(admitted, 30, "three processes together: exactly the budget");
        assert_eq!(sim.counters().calls(LIST), 30);
    }

    #[tokio::test]
    async fn a_45009_seen_by_one_replica_closes_the_scope_for_all() {
        let Some(url) = redis_url() else { return };
        let prefix = fresh_prefix("budget-close");
        let (sim, clock) = on_clock().await;
        let a = client(
            &sim,
            &clock,
            shared_budgets(&clock, store(&url, &prefix).await, 100),
        );
        let b = client(
            &sim,
            &clock,
            shared_budgets(&clock, store(&url, &prefix).await, 100),
        );
        sim.inject(LIST, Fault::Errcode(45009), 1);
        list(&a).await.unwrap_err();
        let (why, _) = refusal(list(&b).await);
        assert_eq!(
            why,
            Refusal::Closed {
                window: Window::Minute
            }
        );
        assert_eq!(sim.counters().calls(LIST), 1);
        clock.advance(Duration::from_secs(60));
        list(&b).await.unwrap();
    }

    #[tokio::test]
    async fn redis_keys_holding_foreign_data_are_replaced() {
        let Some(url) = redis_url() else { return };
        let prefix = fresh_prefix("budget-bad");
        let (sim, clock) = on_clock().await;
        let redis = redis::Client::open(url.as_str()).unwrap();
        let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
        let minute = 1_800_000_000u64 / 60;
        let key = format!("{prefix}corp:{}:{LIST}:m{minute}", sim.corp_id());
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("x")
            .arg("y")
            .query_async(&mut conn)
            .await
            .unwrap();
        let client = client(
            &sim,
            &clock,
            shared_budgets(&clock, store(&url, &prefix).await, 2),
        );
        list(&client).await.unwrap();
        list(&client).await.unwrap();
        refusal(list(&client).await);
        let count: String = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, "2");
    }
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_down_degrades_to_the_local_share() {
    use wecom_kf::budget::RedisBudgetStore;
    let (sim, clock) = on_clock().await;
    // Nothing listens on port 1.
    let store = RedisBudgetStore::connect("redis://127.0.0.1:1")
        .await
        .unwrap()
        .timeout(Duration::from_millis(200));
    let budgets = RateBudgets::builder()
        .corp(60, 1_000)
        .shared(store)
        .fallback_share(0.5)
        .max_wait(Duration::ZERO)
        .clock(clock.clone())
        .build();
    let client = client(&sim, &clock, budgets);
    for _ in 0..30 {
        list(&client).await.unwrap();
    }
    let (why, _) = refusal(list(&client).await);
    assert_eq!(
        why,
        Refusal::Budget {
            scope: Scope::Corp,
            window: Window::Minute,
            limit: 30
        }
    );
    assert_eq!(sim.counters().calls(LIST), 30);
}

#[cfg(feature = "redis")]
mod shared_concurrency {
    use super::*;
    use wecom_kf::budget::RedisBudgetStore;

    async fn capped(url: &str, prefix: &str, clock: &ManualClock) -> RateBudgets {
        RateBudgets::builder()
            .api(LIST, ApiBudget::new().concurrency(1))
            .shared(
                RedisBudgetStore::connect(url)
                    .await
                    .unwrap()
                    .prefix(prefix.to_owned()),
            )
            .max_wait(Duration::ZERO)
            .clock(clock.clone())
            .build()
    }

    /// Two replicas, a cap of one call in flight: while one's call is held, the other's is
    /// refused; once it is answered, the place is free again for either.
    #[tokio::test]
    async fn a_concurrency_cap_holds_across_replicas() {
        let Some(url) = redis_url() else { return };
        let prefix = fresh_prefix("budget-inflight");
        let (sim, clock) = on_clock().await;
        let a = client(&sim, &clock, capped(&url, &prefix, &clock).await);
        let b = client(&sim, &clock, capped(&url, &prefix, &clock).await);
        sim.inject(LIST, Fault::Hold, 1);
        let held = tokio::spawn({
            let a = a.clone();
            async move { list(&a).await }
        });
        sim.wait_for_calls(LIST, 1).await;
        let (why, _) = refusal(list(&b).await);
        assert_eq!(why, Refusal::Concurrency { limit: 1 });
        sim.release(LIST);
        held.await.unwrap().unwrap();
        list(&b).await.unwrap();
        list(&a).await.unwrap();
        assert_eq!(sim.counters().calls(LIST), 3);
    }

    /// A process that died holding a place does not hold it past its lease.
    #[tokio::test]
    async fn a_place_left_by_a_dead_process_ends_with_its_lease() {
        let Some(url) = redis_url() else { return };
        let prefix = fresh_prefix("budget-lease");
        let (sim, clock) = on_clock().await;
        let redis = redis::Client::open(url.as_str()).unwrap();
        let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
        let key = format!("{prefix}inflight:{}:{LIST}", sim.corp_id());
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        // A live holder: the place is taken.
        let _: () = redis::cmd("ZADD")
            .arg(&key)
            .arg(now_ms + 60_000)
            .arg("alive")
            .query_async(&mut conn)
            .await
            .unwrap();
        let c = client(&sim, &clock, capped(&url, &prefix, &clock).await);
        refusal(list(&c).await);
        // Its lease ended (the process died long ago): the place is free.
        let _: () = redis::cmd("ZADD")
            .arg(&key)
            .arg(now_ms - 1)
            .arg("alive")
            .query_async(&mut conn)
            .await
            .unwrap();
        list(&c).await.unwrap();
        // Given back once answered: nobody holds it.
        let holders: u64 = redis::cmd("ZCARD")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(holders, 0);
    }

    /// A call the window refuses gives back the place it took among the fleet's calls in
    /// flight before the refusal is answered.
    #[tokio::test]
    async fn a_call_refused_by_its_window_leaves_no_place_taken() {
        let Some(url) = redis_url() else { return };
        let prefix = fresh_prefix("budget-place-back");
        let (sim, clock) = on_clock().await;
        let budgets = RateBudgets::builder()
            .corp(1, 100)
            .api(LIST, ApiBudget::new().concurrency(1))
            .shared(
                RedisBudgetStore::connect(&url)
                    .await
                    .unwrap()
                    .prefix(prefix.clone()),
            )
            .max_wait(Duration::ZERO)
            .clock(clock.clone())
            .build();
        let c = client(&sim, &clock, budgets);
        list(&c).await.unwrap();
        let (why, _) = refusal(list(&c).await);
        assert!(matches!(why, Refusal::Budget { .. }), "{why:?}");
        let redis = redis::Client::open(url.as_str()).unwrap();
        let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
        let holders: u64 = redis::cmd("ZCARD")
            .arg(format!("{prefix}inflight:{}:{LIST}", sim.corp_id()))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(holders, 0);
    }
}
