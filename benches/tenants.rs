//! Bench 8: the tenant registry (`wecom_kf::provider::Provider`), 100,000 authorised corps.
//!
//! Bytes retained per cached tenant client after `provider.corp(..)` built each one from the
//! permanent-code store (a counting allocator, as bench 6), against a bare moka cache of the
//! same corp ids and codes; and the time of `provider.corp(..)` for a cached tenant against a
//! bare moka `get`. Nothing is sent: building a tenant reads the store only (its token comes
//! with its first call; bench 6 measures a cached token). The token counts of a cold herd
//! across tenants (1 suite token + 1 corp token per tenant) are asserted on the simulator, in
//! `tests/it/provider_registry.rs`.
//!
//! criterion measures the lookups; the `SUMMARY` line (only with `--bench`, as `cargo bench`
//! passes) comes from the fill below.

mod support;

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::{micros, report};
use tokio::runtime::Runtime;
use wecom_kf::provider::codes::{MemoryPermanentCodeStore, PermanentCode, PermanentCodeStore};
use wecom_kf::provider::{MemorySuiteTicketStore, Provider};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TENANTS: usize = 100_000;
const SUITE: &str = "wwbenchsuite";
/// WeCom's permanent codes are about this long.
const CODE_LEN: usize = 43;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Net bytes still allocated after `f` ran.
fn retained_bytes(f: impl FnOnce()) -> f64 {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    // As in bench 6: a realloc's growth is already in `bytes_allocated`.
    stats.bytes_allocated as f64 - stats.bytes_deallocated as f64
}

fn corp_id(i: usize) -> String {
    format!("ww{i:016}")
}

fn code(i: usize) -> String {
    format!("P{:0width$}", i, width = CODE_LEN - 1)
}

struct Setup {
    provider: Provider,
    bare: moka::future::Cache<String, Arc<str>>,
    corp_ids: Vec<String>,
}

fn setup(rt: &Runtime) -> (Setup, f64, f64) {
    let corp_ids: Vec<String> = (0..TENANTS).map(corp_id).collect();
    let codes: Vec<Arc<str>> = (0..TENANTS).map(|i| Arc::from(code(i))).collect();
    let store = Arc::new(MemoryPermanentCodeStore::new());
    rt.block_on(async {
        for (id, code) in corp_ids.iter().zip(&codes) {
            store
                .put(SUITE, id, &PermanentCode::new(code.to_string()))
                .await
                .expect("put");
        }
    });
    let provider = Provider::builder()
        .suite(SUITE, "bench-suite-secret")
        .ticket_store(Arc::new(MemorySuiteTicketStore::new()))
        .code_store(store)
        // Never contacted: building a tenant sends nothing.
        .base_url("http://127.0.0.1:9")
        .max_tenants(TENANTS as u64)
        .build()
        .expect("provider");
    let sdk_bytes = retained_bytes(|| {
        rt.block_on(async {
            for id in &corp_ids {
                let client = provider.corp(id).await.expect("tenant");
                std::hint::black_box(&client);
            }
            provider.run_pending_tasks().await;
        })
    });
    assert_eq!(
        provider.cached_tenants(),
        TENANTS as u64,
        "every tenant cached"
    );
    // The baseline: corp id → code in a bare moka cache, same strings, same count.
    let mut bare = None;
    let bare_bytes = retained_bytes(|| {
        let cache = moka::future::Cache::new(TENANTS as u64);
        rt.block_on(async {
            for (id, code) in corp_ids.iter().zip(&codes) {
                cache.insert(id.clone(), code.clone()).await;
            }
            cache.run_pending_tasks().await;
        });
        bare = Some(cache);
    });
    // The codes the baseline shares with `codes` were allocated outside the region; count
    // them as the SDK's own copies are counted.
    let bare_bytes = bare_bytes + (TENANTS * CODE_LEN) as f64;
    let setup = Setup {
        provider,
        bare: bare.expect("bare cache"),
        corp_ids,
    };
    (
        setup,
        sdk_bytes / TENANTS as f64,
        bare_bytes / TENANTS as f64,
    )
}

/// Median seconds per lookup of cached tenants, SDK and bare moka, over alternating batches.
fn lookup_medians(rt: &Runtime, s: &Setup) -> (f64, f64) {
    const BATCH: usize = 1_000;
    const ROUNDS: usize = 50;
    let (mut sdk, mut bare) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..ROUNDS {
            for sdk_first in [round % 2 == 0, round % 2 != 0] {
                let start = std::time::Instant::now();
                for k in 0..BATCH {
                    let id = &s.corp_ids[(round * BATCH + k * 97) % TENANTS];
                    if sdk_first {
                        let client = s.provider.corp(id).await.expect("tenant");
                        std::hint::black_box(&client);
                    } else {
                        let code = s.bare.get(id).await.expect("cached");
                        std::hint::black_box(&code);
                    }
                }
                let per = start.elapsed().as_secs_f64() / BATCH as f64;
                if sdk_first { &mut sdk } else { &mut bare }.push(per);
            }
        }
    });
    (support::median(&mut sdk), support::median(&mut bare))
}

fn main() {
    let summaries = std::env::args().any(|a| a == "--bench");
    let rt = runtime();
    let (s, sdk_bytes, bare_bytes) = setup(&rt);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("registry_lookup");
    let mut next = 0;
    group.bench_function("sdk_provider_corp", |b| {
        b.to_async(&rt).iter(|| {
            next = (next + 7_919) % TENANTS;
            let (provider, id) = (&s.provider, &s.corp_ids[next]);
            async move { std::hint::black_box(provider.corp(id).await.expect("tenant")) }
        })
    });
    group.bench_function("bare_moka_get", |b| {
        b.to_async(&rt).iter(|| {
            next = (next + 7_919) % TENANTS;
            let (bare, id) = (&s.bare, &s.corp_ids[next]);
            async move { std::hint::black_box(bare.get(id).await.expect("cached")) }
        })
    });
    group.finish();
    c.final_summary();
    if !summaries {
        return;
    }
    report(
        &format!("8 tenant registry, bytes per cached tenant client ({TENANTS} corps)"),
        &format!("{sdk_bytes:.0} B"),
        &format!("{bare_bytes:.0} B in a bare moka cache of corp id -> code"),
        sdk_bytes / bare_bytes,
        "sdk <= 1024 B",
        sdk_bytes <= 1024.0,
    );
    let (sdk, bare) = lookup_medians(&rt, &s);
    support::report_untargeted(
        &format!("8 tenant registry, provider.corp of a cached tenant among {TENANTS} (median)"),
        &micros(sdk),
        &format!("{} (bare moka get)", micros(bare)),
        sdk / bare,
    );
}
