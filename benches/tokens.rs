//! Benches 4–6: tokens under load, against the canned server on 127.0.0.1.
//!
//! 4. Cold herd: 10,000 concurrent first calls on a new client cost exactly one `gettoken`
//!    (asserted), and take about as long as the same calls with the token fetched beforehand.
//! 5. Rollover: steady load across at least five rollovers of a 2 s token whose `gettoken`
//!    takes 200 ms. No call waits for `gettoken`; one `gettoken` per rollover (asserted).
//! 6. Many tenants: one provider holding tokens for 100,000 corps: bytes per cached token
//!    (a counting allocator) and lookup time, against a bare moka cache of the same strings.
//!
//! criterion measures the lookups; the `SUMMARY` lines (only with `--bench`, as `cargo bench`
//! passes) come from the runs below.

mod support;

use std::alloc::System;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::{CannedServer, ServerConfig, TOKEN_LEN, median, micros, quantile, report, sdk_list};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use wecom_kf::token::Credential;
use wecom_kf::{Client, RetryConfig, TokenProvider};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const HERD: usize = 10_000;
const TENANTS: usize = 100_000;
/// Fetches in flight while the provider fills: few, so that connection buffers (fixed costs,
/// on both the client's and the in-process server's side) weigh little in the per-token bytes.
const FILL_CONCURRENCY: usize = 8;

fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---- 4. Cold herd ----------------------------------------------------------------------

/// One herd on a new client (a new provider, so the token is cold unless `prefetch`). Returns
/// the time from the first spawn until the last call is served, and the `gettoken`s it cost.
async fn herd(server: &CannedServer, http: &reqwest::Client, prefetch: bool) -> (Duration, u64) {
    let client = Client::builder()
        .corp_id("wwherd")
        .corp_secret("herd-secret")
        .base_url(server.base_url())
        .http_client(http.clone())
        .build()
        .expect("client");
    let before = server.gettoken_calls();
    if prefetch {
        client.access_token().await.expect("prefetch");
    }
    let start = Instant::now();
    let mut calls = JoinSet::new();
    for _ in 0..HERD {
        let client = client.clone();
        calls.spawn(async move { sdk_list(&client).await });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("call task");
    }
    (start.elapsed(), server.gettoken_calls() - before)
}

fn cold_herd_summary(rt: &Runtime) {
    // HTTP/2: one connection carries the 10,000 calls (HTTP/1.1 would need 10,000 sockets).
    let server = rt.block_on(CannedServer::start(ServerConfig {
        http2: true,
        ..ServerConfig::default()
    }));
    let http = support::http_client(true);
    const ROUNDS: usize = 8;
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    rt.block_on(async {
        herd(&server, &http, true).await; // opens the connection for both sides
        for round in 0..ROUNDS {
            for cold_first in [round % 2 == 0, round % 2 != 0] {
                let (elapsed, gettokens) = herd(&server, &http, !cold_first).await;
                assert_eq!(
                    gettokens, 1,
                    "a herd of {HERD} first calls must cost exactly one gettoken"
                );
                if cold_first { &mut cold } else { &mut warm }.push(elapsed.as_secs_f64());
            }
        }
    });
    let (cold, warm) = (median(&mut cold), median(&mut warm));
    let ratio = cold / warm;
    report(
        &format!("4 cold herd, {HERD} concurrent first calls (1 gettoken each round, asserted)"),
        &format!("{:.1} ms", cold * 1e3),
        &format!("{:.1} ms with the token prefetched", warm * 1e3),
        ratio,
        "<= 1.1",
        ratio <= 1.1,
    );
}

// ---- 5. Rollover under load ------------------------------------------------------------

const ROLLOVER_TTL_SECS: u64 = 2;
const GETTOKEN_DELAY: Duration = Duration::from_millis(200);
const WORKERS: usize = 4;
/// Between one worker's calls: a steady load that leaves the machine headroom, so that the
/// slowest call measures waiting for a token rather than queueing for a core.
const PACE: Duration = Duration::from_millis(1);
const MIN_ROLLOVERS: usize = 5;

fn rollover_summary() {
    // The server runs on a runtime of its own, like a separate process.
    let server_rt = runtime(1);
    let server = server_rt.block_on(CannedServer::start(ServerConfig {
        gettoken_delay: GETTOKEN_DELAY,
        token_ttl_secs: ROLLOVER_TTL_SECS,
        record: true,
        ..ServerConfig::default()
    }));
    let rt = runtime(1);
    let client = Client::builder()
        .corp_id("wwroll")
        .corp_secret("roll-secret")
        .base_url(server.base_url())
        .http_client(support::http_client(false))
        .retry(RetryConfig::disabled())
        .build()
        .expect("client");
    // A token lives 2 s: the provider starts its refresh 0.8 s before expiry and stops using
    // it 0.4 s before, so the 200 ms gettoken lands with 0.2 s to spare. One rollover every
    // ~1.4 s; the load runs long enough for the minimum plus one.
    let load_for = Duration::from_millis(1_400 * (MIN_ROLLOVERS as u64 + 1) + 500);
    let calls: Vec<(Instant, Instant)> = rt.block_on(async {
        client.access_token().await.expect("first token");
        let until = Instant::now() + load_for;
        let mut workers = JoinSet::new();
        for _ in 0..WORKERS {
            let client = client.clone();
            workers.spawn(async move {
                let mut spans = Vec::new();
                let mut tick = tokio::time::interval(PACE);
                while Instant::now() < until {
                    tick.tick().await;
                    let start = Instant::now();
                    sdk_list(&client).await;
                    spans.push((start, Instant::now()));
                }
                spans
            });
        }
        let mut all = Vec::new();
        while let Some(spans) = workers.join_next().await {
            all.extend(spans.expect("worker"));
        }
        // Let a refresh still in flight land, then use its token once, so that every token
        // fetched is one that calls used.
        while server.gettoken_spans().len() < server.gettoken_calls() as usize {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sdk_list(&client).await;
        all
    });
    let spans = server.gettoken_spans();
    let gettokens = server.gettoken_calls() as usize;
    let rollovers = server.distinct_tokens_used().saturating_sub(1);
    assert!(
        rollovers >= MIN_ROLLOVERS,
        "only {rollovers} rollovers in {load_for:?}"
    );
    // The first gettoken happened before the load; every later one is a rollover.
    let refreshes = &spans[1..];
    let overlaps = |(start, end): &(Instant, Instant)| {
        refreshes.iter().any(|g| *start < g.end && *end > g.start)
    };
    let (during, steady): (Vec<_>, Vec<_>) = calls.iter().partition(|c| overlaps(c));
    let secs = |v: Vec<&(Instant, Instant)>| -> Vec<f64> {
        v.iter().map(|(s, e)| (*e - *s).as_secs_f64()).collect()
    };
    let (during, mut steady) = (secs(during), secs(steady));
    let slowest = during.iter().copied().fold(0.0, f64::max);
    let steady_slowest = steady.iter().copied().fold(0.0, f64::max);
    let p99 = quantile(&mut steady, 0.99);
    let ratio = slowest / p99;
    println!(
        "SUMMARY 5 rollover counts: {} calls, {rollovers} rollovers, {gettokens} gettokens \
         (target rollovers + 1 = {}: {}), {} calls overlapped a gettoken",
        calls.len(),
        rollovers + 1,
        if gettokens == rollovers + 1 {
            "met"
        } else {
            "NOT met"
        },
        during.len()
    );
    assert_eq!(gettokens, rollovers + 1, "one gettoken per rollover");
    // For reading the next line: how slow the slowest call was when no gettoken ran.
    println!(
        "SUMMARY 5 rollover, for comparison: slowest call outside gettokens {}",
        micros(steady_slowest)
    );
    report(
        "5 rollover, slowest call during a gettoken vs steady p99",
        &micros(slowest),
        &micros(p99),
        ratio,
        "<= 2",
        ratio <= 2.0,
    );
    drop(server);
}

// ---- 6. Many tenants -------------------------------------------------------------------

/// Net bytes still allocated after `f` ran.
fn retained_bytes(f: impl FnOnce()) -> f64 {
    let region = Region::new(GLOBAL);
    f();
    let stats = region.change();
    // stats_alloc already counts a realloc's growth in `bytes_allocated` (and its shrinking in
    // `bytes_deallocated`); `bytes_reallocated` is the same change again, so it stays out.
    stats.bytes_allocated as f64 - stats.bytes_deallocated as f64
}

fn tenant_corp_id(i: usize) -> String {
    format!("ww{i:016}")
}

struct Tenants {
    _server: CannedServer,
    provider: TokenProvider,
    credentials: Vec<Credential>,
    bare: moka::future::Cache<String, Arc<str>>,
    corp_ids: Vec<String>,
    /// A fixed pseudo-random visiting order, so that lookups do not walk memory in order.
    order: Vec<usize>,
}

fn tenants_setup(rt: &Runtime) -> (Tenants, f64, f64) {
    let server = rt.block_on(CannedServer::start(ServerConfig::default()));
    let base = server.base_url();
    let credentials: Vec<Credential> = (0..TENANTS)
        .map(|i| Credential::with_api_base(tenant_corp_id(i), "tenant-secret", &base))
        .collect::<Result<_, _>>()
        .expect("credentials");
    let provider = TokenProvider::builder()
        .http_client(support::http_client(false))
        .max_credentials(TENANTS as u64)
        .build()
        .expect("provider");
    let sdk_bytes = retained_bytes(|| {
        rt.block_on(async {
            for chunk in credentials.chunks(FILL_CONCURRENCY) {
                let mut fetches = JoinSet::new();
                for credential in chunk {
                    let (provider, credential) = (provider.clone(), credential.clone());
                    fetches.spawn(async move { provider.token(&credential).await });
                }
                while let Some(token) = fetches.join_next().await {
                    token.expect("task").expect("token");
                }
            }
        })
    });
    assert_eq!(
        server.gettoken_calls(),
        TENANTS as u64,
        "one gettoken per corp"
    );
    // The baseline: corp id → token string in a bare moka cache, same strings, same count.
    let corp_ids: Vec<String> = (0..TENANTS).map(tenant_corp_id).collect();
    let tokens: Vec<Arc<str>> = (0..TENANTS)
        .map(|i| Arc::from(format!("T{:0width$}", i + 1, width = TOKEN_LEN - 1)))
        .collect();
    let mut bare = None;
    let bare_bytes = retained_bytes(|| {
        let cache = moka::future::Cache::new(TENANTS as u64);
        rt.block_on(async {
            for (id, token) in corp_ids.iter().zip(&tokens) {
                cache.insert(id.clone(), token.clone()).await;
            }
        });
        bare = Some(cache);
    });
    // The token strings the baseline shares with `tokens` were allocated outside the region;
    // count them as the SDK's copies are counted.
    let bare_bytes = bare_bytes + (TENANTS * TOKEN_LEN) as f64;
    let mut order: Vec<usize> = (0..TENANTS).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let tenants = Tenants {
        _server: server,
        provider,
        credentials,
        bare: bare.expect("bare cache"),
        corp_ids,
        order,
    };
    (
        tenants,
        sdk_bytes / TENANTS as f64,
        bare_bytes / TENANTS as f64,
    )
}

/// How lookups pick their tenant.
#[derive(Clone, Copy, PartialEq)]
enum Pick {
    /// Every tenant in a fixed shuffled order: each lookup touches memory no recent one did.
    Spread,
    /// One tenant over and over: the lookup's own work, with its memory in the CPU's caches.
    Hot,
}

impl Tenants {
    fn pick(&self, pick: Pick, k: usize) -> usize {
        match pick {
            Pick::Spread => self.order[k % TENANTS],
            Pick::Hot => self.order[0],
        }
    }
}

async fn sdk_lookups(t: &Tenants, pick: Pick, from: usize, n: usize) {
    for k in 0..n {
        let i = t.pick(pick, from + k);
        let token = t.provider.token(&t.credentials[i]).await.expect("token");
        std::hint::black_box(token.as_str());
    }
}

async fn bare_lookups(t: &Tenants, pick: Pick, from: usize, n: usize) {
    for k in 0..n {
        let i = t.pick(pick, from + k);
        let token = t.bare.get(&t.corp_ids[i]).await.expect("cached");
        std::hint::black_box(&*token);
    }
}

fn tenants_summary(rt: &Runtime, t: &Tenants, sdk_bytes: f64, bare_bytes: f64) {
    report(
        &format!(
            "6 many tenants, bytes per cached token ({TENANTS} corps, {TOKEN_LEN}-byte tokens)"
        ),
        &format!("{sdk_bytes:.0} B"),
        &format!("{bare_bytes:.0} B in a bare moka cache"),
        sdk_bytes / bare_bytes,
        "sdk <= 512 B",
        sdk_bytes <= 512.0,
    );
    for pick in [Pick::Spread, Pick::Hot] {
        let (sdk, bare) = lookup_medians(rt, t, pick);
        let what = match pick {
            Pick::Spread => format!("6 many tenants, token lookup among {TENANTS} (each in turn)"),
            Pick::Hot => "6 many tenants, token lookup of one hot tenant among them".to_owned(),
        };
        report(
            &what,
            &micros(sdk),
            &format!("{} (bare moka get)", micros(bare)),
            sdk / bare,
            "sdk median <= 1 µs",
            sdk <= 1e-6,
        );
    }
}

/// Median time per lookup, SDK and bare moka, over alternating batches.
fn lookup_medians(rt: &Runtime, t: &Tenants, pick: Pick) -> (f64, f64) {
    const BATCH: usize = 1_000;
    const ROUNDS: usize = 100;
    let (mut sdk, mut bare) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..ROUNDS {
            let from = round * BATCH;
            for sdk_first in [round % 2 == 0, round % 2 != 0] {
                let start = Instant::now();
                if sdk_first {
                    sdk_lookups(t, pick, from, BATCH).await;
                } else {
                    bare_lookups(t, pick, from, BATCH).await;
                }
                let per = start.elapsed().as_secs_f64() / BATCH as f64;
                if sdk_first { &mut sdk } else { &mut bare }.push(per);
            }
        }
    });
    (median(&mut sdk), median(&mut bare))
}

fn main() {
    let summaries = std::env::args().any(|a| a == "--bench");
    let rt = runtime(2);
    let (tenants, sdk_bytes, bare_bytes) = tenants_setup(&rt);
    // For profilers: N provider lookups among the tenants (after the fill), nothing else.
    if let Ok(n) = std::env::var("WECOM_BENCH_PROFILE_LOOKUPS") {
        let n: usize = n.parse().expect("a number of lookups");
        rt.block_on(sdk_lookups(&tenants, Pick::Spread, 0, n));
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("tenants_lookup");
    let mut next = 0;
    group.bench_function("sdk_provider_token", |b| {
        b.to_async(&rt).iter(|| {
            next += 1;
            sdk_lookups(&tenants, Pick::Spread, next, 1)
        })
    });
    group.bench_function("bare_moka_get", |b| {
        b.to_async(&rt).iter(|| {
            next += 1;
            bare_lookups(&tenants, Pick::Spread, next, 1)
        })
    });
    group.finish();
    c.final_summary();
    if !summaries {
        return;
    }
    tenants_summary(&rt, &tenants, sdk_bytes, bare_bytes);
    drop(tenants);
    cold_herd_summary(&rt);
    rollover_summary();
}
