//! Bench 7: a token lookup that finds the token in Redis (this process's memory cache does not
//! hold it) against one that finds it in memory, with a bare Redis `HMGET` round trip for
//! scale. Runs a redis-server of its own on a free port; without `redis-server` on PATH it says
//! so and skips.

mod support;

#[allow(dead_code)] // the bench never stops its server early
#[path = "../tests/it/common/own_redis.rs"]
mod own_redis;

use std::time::{Duration, Instant};

use criterion::Criterion;
use own_redis::OwnRedis;
use support::{CannedServer, ServerConfig, median, micros, report_untargeted};
use tokio::runtime::Runtime;
use wecom_kf::TokenProvider;
use wecom_kf::token::{Credential, RedisTokenStore};

struct Setup {
    _server: CannedServer,
    provider: TokenProvider,
    credential: Credential,
    raw: redis::aio::MultiplexedConnection,
    key: String,
}

async fn setup(redis_url: &str) -> Setup {
    let server = CannedServer::start(ServerConfig::default()).await;
    const PREFIX: &str = "wecom-kf-bench:";
    let store = RedisTokenStore::connect(redis_url)
        .await
        .expect("store")
        .prefix(PREFIX);
    let provider = TokenProvider::builder()
        .http_client(support::http_client(false))
        .token_store(store)
        .build()
        .expect("provider");
    let credential = Credential::with_api_base("wwbench", "bench-secret", &server.base_url())
        .expect("credential");
    provider.token(&credential).await.expect("first token");
    let raw = redis::Client::open(redis_url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let key = format!("{PREFIX}{}", credential.store_key());
    Setup {
        _server: server,
        provider,
        credential,
        raw,
        key,
    }
}

/// Memory missed: the provider drops its copy, so the lookup goes to Redis and adopts what it
/// finds there.
async fn via_redis(s: &Setup) {
    s.provider.invalidate(&s.credential).await;
    let token = s.provider.token(&s.credential).await.expect("token");
    std::hint::black_box(token.as_str());
}

async fn in_memory(s: &Setup) {
    let token = s.provider.token(&s.credential).await.expect("token");
    std::hint::black_box(token.as_str());
}

async fn raw_hmget(s: &Setup) {
    let mut conn = s.raw.clone();
    let fields: (Option<String>, Option<u64>, Option<u64>) = redis::cmd("HMGET")
        .arg(&s.key)
        .arg(&["token", "obtained", "expires"])
        .query_async(&mut conn)
        .await
        .expect("HMGET");
    assert!(fields.0.is_some());
}

/// Median time per call of `f`, over `rounds` batches of `batch` calls.
fn per_call<F, Fut>(rt: &Runtime, rounds: usize, batch: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(rounds);
    rt.block_on(async {
        for _ in 0..rounds {
            let start = Instant::now();
            for _ in 0..batch {
                f().await;
            }
            times.push(start.elapsed().as_secs_f64() / batch as f64);
        }
    });
    median(&mut times)
}

fn main() {
    let redis = match OwnRedis::start_on_free_port() {
        Ok(redis) => redis,
        Err(e) => {
            println!("SUMMARY 7 token lookup via Redis: skipped, no redis-server to start ({e})");
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let s = rt.block_on(setup(&redis.url()));
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = c.benchmark_group("token_lookup");
    group.bench_function("memory", |b| b.to_async(&rt).iter(|| in_memory(&s)));
    group.bench_function("redis", |b| b.to_async(&rt).iter(|| via_redis(&s)));
    group.bench_function("raw_hmget", |b| b.to_async(&rt).iter(|| raw_hmget(&s)));
    group.finish();
    c.final_summary();
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let before = s.provider.fetch_count();
    let redis_t = per_call(&rt, 40, 250, || via_redis(&s));
    assert_eq!(
        s.provider.fetch_count(),
        before,
        "every lookup was served by Redis, none by gettoken"
    );
    let memory_t = per_call(&rt, 40, 5_000, || in_memory(&s));
    let hmget_t = per_call(&rt, 40, 250, || raw_hmget(&s));
    report_untargeted(
        "7 token lookup via Redis (memory missed) vs in memory",
        &micros(redis_t),
        &micros(memory_t),
        redis_t / memory_t,
    );
    report_untargeted(
        "7 token lookup via Redis vs a bare HMGET round trip",
        &micros(redis_t),
        &micros(hmget_t),
        redis_t / hmget_t,
    );
    drop(redis);
}
