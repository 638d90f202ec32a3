//! Bench 3: the middleware stack alone. The SDK's `list` runs over a fake transport that
//! answers canned JSON without touching the network (token lookup, injection, classification,
//! retry bookkeeping, request building and decoding all included). The baseline is a bare
//! reqwest-middleware client over the same fake transport that builds the same URL with the
//! token per call and decodes the same struct; the difference is the stack's own cost.

mod support;

use std::alloc::System;
use std::time::{Duration, Instant};

use criterion::Criterion;
use reqwest_middleware::{ClientBuilder as StackBuilder, ClientWithMiddleware};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::{
    CannedServer, FakeTransport, RawTarget, ServerConfig, median, micros, report,
    report_untargeted, sdk_list,
};
use wecom_kf::Client;
use wecom_kf::kf::account::ListAccountsResponse;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

async fn bare_call(client: &ClientWithMiddleware, target: &RawTarget) {
    let response = client
        .post(target.list_url())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .expect("bare send");
    let page: ListAccountsResponse = response.json().await.expect("bare decode");
    assert_eq!(page.account_list.len(), 3);
}

fn main() {
    // One thread: the stack's own cost, with no cross-thread wakeups in the way.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The token is fetched once from a local server; the measured calls never leave the process.
    let server = rt.block_on(CannedServer::start(ServerConfig::default()));
    let sdk = Client::builder()
        .corp_id("wwbench")
        .corp_secret("bench-secret")
        .base_url(server.base_url())
        .bench_transport(FakeTransport)
        .build()
        .expect("client");
    let token = rt.block_on(sdk.access_token()).expect("token");
    let bare = StackBuilder::new(reqwest::Client::new())
        .with(FakeTransport)
        .build();
    let target = RawTarget {
        base: server.base_url(),
        token: token.as_str().to_owned(),
    };
    rt.block_on(sdk_list(&sdk));
    // For profilers (callgrind, dhat): only N calls of one side, nothing else. Compare two runs
    // with different N to cancel the set-up's cost.
    if let Ok(n) = std::env::var("WECOM_BENCH_PROFILE_CALLS") {
        let n: usize = n.parse().expect("a number of calls");
        let bare_side = std::env::var("WECOM_BENCH_PROFILE_SIDE").is_ok_and(|s| s == "baseline");
        rt.block_on(async {
            for _ in 0..n {
                if bare_side {
                    bare_call(&bare, &target).await;
                } else {
                    sdk_list(&sdk).await;
                }
            }
        });
        return;
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("stack");
    group.bench_function("sdk_over_fake_transport", |b| {
        b.to_async(&rt).iter(|| sdk_list(&sdk))
    });
    group.bench_function("bare_reqwest_middleware", |b| {
        b.to_async(&rt).iter(|| bare_call(&bare, &target))
    });
    group.finish();
    c.final_summary();

    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    const ROUNDS: usize = 30;
    const CALLS: usize = 5_000;
    let (mut sdk_times, mut bare_times) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..ROUNDS {
            for sdk_first in [round % 2 == 0, round % 2 != 0] {
                let start = Instant::now();
                for _ in 0..CALLS {
                    if sdk_first {
                        sdk_list(&sdk).await;
                    } else {
                        bare_call(&bare, &target).await;
                    }
                }
                let per_call = start.elapsed().as_secs_f64() / CALLS as f64;
                if sdk_first {
                    &mut sdk_times
                } else {
                    &mut bare_times
                }
                .push(per_call);
            }
        }
    });
    let (sdk_t, bare_t) = (median(&mut sdk_times), median(&mut bare_times));
    // Both sides build a request, pass it through reqwest-middleware and decode the same JSON;
    // what the SDK adds on top of that is its stack: the difference is the figure with a target.
    let stack_cost = sdk_t - bare_t;
    report(
        "3 stack per call (fake transport)",
        &micros(sdk_t),
        &micros(bare_t),
        sdk_t / bare_t,
        &format!("stack cost sdk - baseline = {} <= 2 µs", micros(stack_cost)),
        stack_cost <= 2e-6,
    );

    let allocations = |f: &dyn Fn()| {
        let region = Region::new(GLOBAL);
        f();
        let stats = region.change();
        (
            stats.allocations as f64 / CALLS as f64,
            stats.bytes_allocated as f64 / CALLS as f64,
        )
    };
    let (sdk_allocs, sdk_bytes) = allocations(&|| {
        rt.block_on(async {
            for _ in 0..CALLS {
                sdk_list(&sdk).await;
            }
        })
    });
    let (bare_allocs, bare_bytes) = allocations(&|| {
        rt.block_on(async {
            for _ in 0..CALLS {
                bare_call(&bare, &target).await;
            }
        })
    });
    report_untargeted(
        "3 allocations per call",
        &format!("{sdk_allocs:.1} ({sdk_bytes:.0} bytes)"),
        &format!("{bare_allocs:.1} ({bare_bytes:.0} bytes)"),
        sdk_allocs / bare_allocs,
    );
}
