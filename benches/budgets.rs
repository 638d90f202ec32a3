//! Bench 9: what a rate budget check adds to a call. The SDK's `list` over the fake transport
//! of bench 3 (nothing leaves the process), with budgets and without, alternating in short
//! rounds: the difference is the check's cost. In memory the target is ≤ 1 µs. With a
//! `RedisBudgetStore` (a redis-server of its own on a free port; skipped without one) the
//! check is one script call per attempt: the bench counts Redis's `EVALSHA`s (`INFO
//! commandstats`) to assert exactly one per call, and reports the added time against a bare
//! round trip of a one-line script. And the memory of the counts: bytes retained per corp
//! scope after checks for 100,000 corps (a counting allocator), against a bare moka cache of
//! corp id -> count.

mod support;

#[allow(dead_code)] // the bench never stops its server early
#[path = "../tests/it/common/own_redis.rs"]
mod own_redis;

use std::alloc::System;
use std::time::{Duration, Instant};

use criterion::Criterion;
use own_redis::OwnRedis;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::{CannedServer, FakeTransport, ServerConfig, median, micros, report, sdk_list};
use tokio::runtime::Runtime;
use wecom_kf::Client;
use wecom_kf::budget::{RateBudgets, RedisBudgetStore};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Corps whose scopes the memory figure fills.
const SCOPES: usize = 100_000;

/// Net bytes still allocated after `f` ran.
fn retained_bytes(f: impl FnOnce()) -> f64 {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    stats.bytes_allocated as f64 - stats.bytes_deallocated as f64
}

/// Bytes per corp scope of `RateBudgets`' counts, and of a bare moka cache of corp id -> count.
fn scope_bytes(rt: &Runtime) -> (f64, f64) {
    let corps: Vec<String> = (0..SCOPES).map(|i| format!("ww{i:016}")).collect();
    let budgets = roomy().max_scopes(SCOPES as u64).build();
    rt.block_on(budgets.bench_admit("wwwarmup", "kf/account/list"))
        .expect("admitted");
    let sdk = retained_bytes(|| {
        rt.block_on(async {
            for corp in &corps {
                budgets
                    .bench_admit(corp, "kf/account/list")
                    .await
                    .expect("admitted");
            }
        })
    });
    let mut kept = None;
    let bare = retained_bytes(|| {
        let cache = moka::sync::Cache::new(SCOPES as u64);
        for corp in &corps {
            cache.insert(corp.clone(), 1_u64);
        }
        cache.run_pending_tasks();
        kept = Some(cache);
    });
    std::hint::black_box((&budgets, &kept));
    (sdk / SCOPES as f64, bare / SCOPES as f64)
}

/// Budgets no call here comes near: the check runs in full, and always admits.
fn roomy() -> wecom_kf::budget::RateBudgetsBuilder {
    RateBudgets::builder()
        .corp(u64::MAX / 4, u64::MAX / 4)
        .ip(u64::MAX / 4, u64::MAX / 4)
}

fn client(server: &CannedServer, budgets: Option<RateBudgets>) -> Client {
    let builder = Client::builder()
        .corp_id("wwbench")
        .corp_secret("bench-secret")
        .base_url(server.base_url())
        .bench_transport(FakeTransport);
    match budgets {
        Some(budgets) => builder.rate_budgets(budgets),
        None => builder,
    }
    .build()
    .expect("client")
}

/// Median seconds per call of `with` and of `without`, alternating rounds.
fn per_call(
    rt: &Runtime,
    rounds: usize,
    calls: usize,
    with: &Client,
    without: &Client,
) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds {
            for budgeted in [round % 2 == 0, round % 2 != 0] {
                let client = if budgeted { with } else { without };
                let start = Instant::now();
                for _ in 0..calls {
                    sdk_list(client).await;
                }
                let per = start.elapsed().as_secs_f64() / calls as f64;
                if budgeted { &mut a } else { &mut b }.push(per);
            }
        }
    });
    (median(&mut a), median(&mut b))
}

async fn evalsha_calls(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let summaries = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(CannedServer::start(ServerConfig::default()));
    let plain = client(&server, None);
    let in_memory = client(&server, Some(roomy().build()));
    rt.block_on(sdk_list(&plain));
    rt.block_on(sdk_list(&in_memory));

    let redis = OwnRedis::start_on_free_port().ok();
    let shared = redis.as_ref().map(|redis| {
        let store = rt
            .block_on(RedisBudgetStore::connect(&redis.url()))
            .expect("store");
        let client = client(&server, Some(roomy().shared(store).build()));
        rt.block_on(sdk_list(&client));
        client
    });

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("budgets");
    group.bench_function("no_budgets", |b| b.to_async(&rt).iter(|| sdk_list(&plain)));
    group.bench_function("budgets_in_memory", |b| {
        b.to_async(&rt).iter(|| sdk_list(&in_memory))
    });
    if let Some(shared) = &shared {
        group.bench_function("budgets_in_redis", |b| {
            b.to_async(&rt).iter(|| sdk_list(shared))
        });
    }
    group.finish();
    c.final_summary();
    if !summaries {
        return;
    }

    let (with, without) = per_call(&rt, 30, 5_000, &in_memory, &plain);
    let cost = with - without;
    report(
        "9 rate budget check in memory, per call (fake transport)",
        &micros(with),
        &format!("{} without budgets", micros(without)),
        with / without,
        &format!("check cost sdk - baseline = {} <= 1 µs", micros(cost)),
        cost <= 1e-6,
    );

    // Allocations a call, with and without budgets (the scopes already known).
    let allocations = |client: &Client| {
        const CALLS: usize = 5_000;
        let region = Region::new(GLOBAL);
        rt.block_on(async {
            for _ in 0..CALLS {
                sdk_list(client).await;
            }
        });
        region.change().allocations as f64 / CALLS as f64
    };
    let (with_allocs, without_allocs) = (allocations(&in_memory), allocations(&plain));
    support::report_untargeted(
        "9 rate budget check in memory, allocations per call",
        &format!("{with_allocs:.1}"),
        &format!("{without_allocs:.1} without budgets"),
        with_allocs / without_allocs,
    );

    let (sdk_bytes, bare_bytes) = scope_bytes(&rt);
    support::report_untargeted(
        &format!("9 rate budget counts, bytes per corp scope ({SCOPES} corps, one API)"),
        &format!("{sdk_bytes:.0} B"),
        &format!("{bare_bytes:.0} B in a bare moka cache of corp id -> count"),
        sdk_bytes / bare_bytes,
    );

    let (Some(redis), Some(shared)) = (redis, shared) else {
        println!("SUMMARY 9 rate budget check via Redis: skipped, no redis-server to start");
        return;
    };
    let mut raw = rt
        .block_on(
            redis::Client::open(redis.url())
                .expect("redis url")
                .get_multiplexed_async_connection(),
        )
        .expect("redis connection");
    const CALLS: usize = 200;
    let before = rt.block_on(evalsha_calls(&mut raw));
    rt.block_on(async {
        for _ in 0..CALLS {
            sdk_list(&shared).await;
        }
    });
    let scripts = rt.block_on(evalsha_calls(&mut raw)) - before;
    println!(
        "SUMMARY 9 rate budget check via Redis, round trips: {CALLS} calls, {scripts} script calls (target 1 a call: {})",
        if scripts == CALLS as u64 {
            "met"
        } else {
            "NOT met"
        }
    );
    let (with, without) = per_call(&rt, 20, 250, &shared, &plain);
    // The bare round trip: a one-line script, as a budget check is one script call.
    let script = redis::Script::new("return 1");
    let mut times = Vec::new();
    rt.block_on(async {
        for _ in 0..20 {
            let start = Instant::now();
            for _ in 0..250 {
                let _: i64 = script.invoke_async(&mut raw).await.expect("script");
            }
            times.push(start.elapsed().as_secs_f64() / 250.0);
        }
    });
    let round_trip = median(&mut times);
    support::report_untargeted(
        "9 rate budget check via Redis, time it adds to a call vs a bare one-line script round trip",
        &micros(with - without),
        &micros(round_trip),
        (with - without) / round_trip,
    );
}
