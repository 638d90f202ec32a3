//! Benches 1 and 2: the SDK's cost per call over raw reqwest, sequentially and with 64 calls in
//! flight, against a canned-JSON server on 127.0.0.1 (warm token, keep-alive). The baseline
//! is raw reqwest: it builds the same URL with the token per call, posts the same JSON body
//! and decodes the same struct.
//!
//! criterion prints its own estimates per variant; the `SUMMARY` lines come from rounds in
//! which the SDK and the baseline alternate, so that drift in the machine hits both alike.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use support::{CannedServer, RawTarget, ServerConfig, median, micros, raw_list, report, sdk_list};
use tokio::runtime::Runtime;
use wecom_kf::Client;

const IN_FLIGHT: usize = 64;
const CALLS_PER_WORKER: usize = 50;

struct Setup {
    _server: CannedServer,
    sdk: Client,
    raw: reqwest::Client,
    target: Arc<RawTarget>,
}

async fn setup() -> Setup {
    let server = CannedServer::start(ServerConfig::default()).await;
    let sdk = Client::builder()
        .corp_id("wwbench")
        .corp_secret("bench-secret")
        .base_url(server.base_url())
        .http_client(support::http_client(false))
        .build()
        .expect("client");
    let token = sdk.access_token().await.expect("token");
    let target = Arc::new(RawTarget {
        base: server.base_url(),
        token: token.as_str().to_owned(),
    });
    let raw = support::http_client(false);
    // Warm both pools.
    sdk_list(&sdk).await;
    raw_list(&raw, &target).await;
    Setup {
        _server: server,
        sdk,
        raw,
        target,
    }
}

async fn raw_call(http: &reqwest::Client, target: &RawTarget) {
    assert_eq!(raw_list(http, target).await.account_list.len(), 3);
}

/// 64 workers, each making [`CALLS_PER_WORKER`] calls back to back; returns the elapsed time.
async fn in_flight(setup: &Setup, sdk: bool) -> Duration {
    let start = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (client, raw, url) = (setup.sdk.clone(), setup.raw.clone(), setup.target.clone());
            tokio::spawn(async move {
                for _ in 0..CALLS_PER_WORKER {
                    if sdk {
                        sdk_list(&client).await;
                    } else {
                        raw_call(&raw, &url).await;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    start.elapsed()
}

fn criterion_benches(c: &mut Criterion, rt: &Runtime, setup: &Setup) {
    let mut group = c.benchmark_group("sequential");
    group.bench_function("sdk", |b| b.to_async(rt).iter(|| sdk_list(&setup.sdk)));
    group.bench_function("raw_reqwest", |b| {
        b.to_async(rt).iter(|| raw_call(&setup.raw, &setup.target))
    });
    group.finish();

    let mut group = c.benchmark_group("in_flight_64");
    group.throughput(Throughput::Elements((IN_FLIGHT * CALLS_PER_WORKER) as u64));
    group.sample_size(20);
    group.bench_function("sdk", |b| b.to_async(rt).iter(|| in_flight(setup, true)));
    group.bench_function("raw_reqwest", |b| {
        b.to_async(rt).iter(|| in_flight(setup, false))
    });
    group.finish();
}

/// Bench 1's summary: per-call time, SDK vs raw, in alternating rounds.
async fn sequential_summary(setup: &Setup) {
    const ROUNDS: usize = 40;
    const CALLS: usize = 250;
    let (mut sdk, mut raw) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for sdk_first in [round % 2 == 0, round % 2 != 0] {
            let start = Instant::now();
            for _ in 0..CALLS {
                if sdk_first {
                    sdk_list(&setup.sdk).await;
                } else {
                    raw_call(&setup.raw, &setup.target).await;
                }
            }
            let per_call = start.elapsed().as_secs_f64() / CALLS as f64;
            if sdk_first { &mut sdk } else { &mut raw }.push(per_call);
        }
    }
    let (sdk, raw) = (median(&mut sdk), median(&mut raw));
    let ratio = sdk / raw;
    report(
        "1 sequential per-call median",
        &micros(sdk),
        &micros(raw),
        ratio,
        "<= 1.05",
        ratio <= 1.05,
    );
}

/// Bench 2's summary: calls per second with 64 in flight, SDK vs raw, in alternating rounds.
async fn throughput_summary(setup: &Setup) {
    const ROUNDS: usize = 12;
    let calls = (IN_FLIGHT * CALLS_PER_WORKER) as f64;
    let (mut sdk, mut raw) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for sdk_first in [round % 2 == 0, round % 2 != 0] {
            let rate = calls / in_flight(setup, sdk_first).await.as_secs_f64();
            if sdk_first { &mut sdk } else { &mut raw }.push(rate);
        }
    }
    let (sdk, raw) = (median(&mut sdk), median(&mut raw));
    let ratio = sdk / raw;
    report(
        "2 throughput, 64 in flight",
        &format!("{sdk:.0} calls/s"),
        &format!("{raw:.0} calls/s"),
        ratio,
        ">= 0.95",
        ratio >= 0.95,
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let setup = rt.block_on(setup());
    // For profilers (callgrind): N sequential calls of one side, nothing else. Compare two runs
    // with different N to cancel the set-up's cost.
    if let Ok(n) = std::env::var("WECOM_BENCH_PROFILE_CALLS") {
        let n: usize = n.parse().expect("a number of calls");
        let raw_side = std::env::var("WECOM_BENCH_PROFILE_SIDE").is_ok_and(|s| s == "baseline");
        rt.block_on(async {
            for _ in 0..n {
                if raw_side {
                    raw_call(&setup.raw, &setup.target).await;
                } else {
                    sdk_list(&setup.sdk).await;
                }
            }
        });
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    criterion_benches(&mut c, &rt, &setup);
    c.final_summary();
    // `cargo bench` passes --bench; `cargo test --benches` does not, and only smoke-runs.
    if std::env::args().any(|a| a == "--bench") {
        rt.block_on(sequential_summary(&setup));
        rt.block_on(throughput_summary(&setup));
    }
}
