//! Bench 8: the tenant registry (`wecom_kf::provider::Provider`), 100,000 authorised corps.
//!
//! Bytes retained per cached tenant (a counting allocator, as bench 6), in two steps: after
//! `provider.corp(..)` built each client from the permanent-code store, and after each
//! tenant's first call fetched its corp token (`service/get_corp_token`, on the one suite
//! token), against bare moka caches of the same corp ids, codes and tokens. The calls go to
//! the canned server on 127.0.0.1, which mints 64-byte tokens; the bench asserts it minted
//! exactly one suite token and one corp token per tenant. And the time of `provider.corp(..)`
//! for a cached tenant against a bare moka `get`.
//!
//! criterion measures the lookups; the `SUMMARY` lines (only with `--bench`, as `cargo bench`
//! passes) come from the fill below.

mod support;

use std::alloc::System;
use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use futures::StreamExt;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::{CannedServer, ServerConfig, TOKEN_LEN, micros, report};
use tokio::runtime::Runtime;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::provider::codes::{MemoryPermanentCodeStore, PermanentCode, PermanentCodeStore};
use wecom_kf::provider::{MemorySuiteTicketStore, Provider, SuiteTicket, SuiteTicketStore};

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
    /// Serves the tenants' token fetches and first calls.
    _server: CannedServer,
}

/// Bytes per tenant, the SDK's and its baseline's.
struct PerTenant {
    sdk: f64,
    bare: f64,
}

/// Tenants whose first calls open the connections before the measured ones (so the pools'
/// buffers are not counted as tenants' memory), and the first calls in flight.
const WARM_UP: usize = 8;

fn setup(rt: &Runtime) -> (Setup, PerTenant, PerTenant) {
    let corp_ids: Vec<String> = (0..TENANTS).map(corp_id).collect();
    let codes: Vec<Arc<str>> = (0..TENANTS).map(|i| Arc::from(code(i))).collect();
    let store = Arc::new(MemoryPermanentCodeStore::new());
    let tickets = Arc::new(MemorySuiteTicketStore::new());
    let server = rt.block_on(async {
        for (id, code) in corp_ids.iter().zip(&codes) {
            store
                .put(SUITE, id, &PermanentCode::new(code.to_string()))
                .await
                .expect("put");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let ticket = SuiteTicket::new(SUITE, "bench-ticket", now).expect("ticket");
        tickets.put(&ticket).await.expect("ticket stored");
        CannedServer::start(ServerConfig::default()).await
    });
    let provider = Provider::builder()
        .suite(SUITE, "bench-suite-secret")
        .ticket_store(tickets)
        .code_store(store)
        .base_url(server.base_url())
        .max_tenants(TENANTS as u64)
        .build()
        .expect("provider");
    let client_bytes = retained_bytes(|| {
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
    let first_calls = |ids: &[String]| {
        let provider = &provider;
        rt.block_on(async {
            futures::stream::iter(ids)
                .for_each_concurrent(WARM_UP, |id| async move {
                    let client = provider.corp(id).await.expect("tenant");
                    let page = client.kf().account().list(ListAccounts::new()).await;
                    std::hint::black_box(page.expect("first call"));
                })
                .await;
            provider.corp_tokens().run_pending_tasks().await;
        })
    };
    first_calls(&corp_ids[..WARM_UP]);
    let token_bytes = retained_bytes(|| first_calls(&corp_ids[WARM_UP..]));
    assert_eq!(
        server.gettoken_calls(),
        TENANTS as u64 + 1,
        "one suite token, and one corp token per tenant"
    );
    // The baselines: corp id -> code, and corp id -> token, in bare moka caches of the same
    // strings and counts.
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
    let bare_tokens = retained_bytes(|| {
        let cache = moka::future::Cache::new(TENANTS as u64);
        rt.block_on(async {
            for (i, id) in corp_ids.iter().enumerate() {
                let token: Arc<str> = Arc::from(format!("T{i:0width$}", width = TOKEN_LEN - 1));
                cache.insert(id.clone(), token).await;
            }
            cache.run_pending_tasks().await;
        });
        std::mem::forget(cache);
    });
    // The codes the baseline shares with `codes` were allocated outside the region; count
    // them as the SDK's own copies are counted.
    let bare_bytes = bare_bytes + (TENANTS * CODE_LEN) as f64;
    let per_tenant = |bytes: f64, n: usize| bytes / n as f64;
    let clients = PerTenant {
        sdk: per_tenant(client_bytes, TENANTS),
        bare: per_tenant(bare_bytes, TENANTS),
    };
    let with_tokens = PerTenant {
        sdk: clients.sdk + per_tenant(token_bytes, TENANTS - WARM_UP),
        bare: clients.bare + per_tenant(bare_tokens, TENANTS),
    };
    let setup = Setup {
        provider,
        bare: bare.expect("bare cache"),
        corp_ids,
        _server: server,
    };
    (setup, clients, with_tokens)
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
    let (s, clients, with_tokens) = setup(&rt);
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
    support::report_untargeted(
        &format!("8 tenant registry, bytes per cached tenant client ({TENANTS} corps)"),
        &format!("{:.0} B", clients.sdk),
        &format!(
            "{:.0} B in a bare moka cache of corp id -> code",
            clients.bare
        ),
        clients.sdk / clients.bare,
    );
    report(
        &format!(
            "8 tenant registry, bytes per cached tenant, client + its corp token ({TENANTS} corps, {TOKEN_LEN}-byte tokens)"
        ),
        &format!("{:.0} B", with_tokens.sdk),
        &format!(
            "{:.0} B in bare moka caches of corp id -> code and corp id -> token",
            with_tokens.bare
        ),
        with_tokens.sdk / with_tokens.bare,
        "sdk <= 1024 B",
        with_tokens.sdk <= 1024.0,
    );
    let (sdk, bare) = lookup_medians(&rt, &s);
    support::report_untargeted(
        &format!("8 tenant registry, provider.corp of a cached tenant among {TENANTS} (median)"),
        &micros(sdk),
        &format!("{} (bare moka get)", micros(bare)),
        sdk / bare,
    );
}
