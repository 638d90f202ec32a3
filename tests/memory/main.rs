//! What the SDK allocates while a hostile server answers, counted by an instrumented global
//! allocator. In a binary of its own, one test at a time, so that nothing else allocates
//! during a measurement: the bytes allocated while a call runs bound its peak memory.

#[path = "../it/common/mod.rs"]
mod common;

use std::alloc::System;
use std::time::Duration;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::{Error, TransportErrorKind};

use common::fixed_token_client;
use common::hostile::{Answer, Hostile};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const MIB: usize = 1024 * 1024;

/// An endless body (it reached 2.07 GB before the timeout) is dropped at the cap: the call
/// allocates less than twice the cap in all (the body and the connection's buffers), however
/// long the server would go on. (Without the cap: 2.17 GB in half a second.)
#[tokio::test(flavor = "current_thread")]
async fn an_endless_body_costs_less_than_twice_the_cap() {
    let cap = 4 * MIB;
    let server = Hostile::start(Answer::EndlessChunks).await;
    let client = fixed_token_client(&server.base)
        .max_response_bytes(cap)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // Warm up what is allocated once (the token, the connection pool, the URL cache).
    let _ = client.access_token().await.unwrap();
    let region = Region::new(GLOBAL);
    let result = client.kf().account().list(ListAccounts::new()).await;
    let stats = region.change();
    let Err(Error::Transport(error)) = result else {
        panic!("an endless body was not refused: {:?}", result.map(|_| ()));
    };
    assert_eq!(error.kind(), TransportErrorKind::ResponseTooLarge);
    let allocated = stats.bytes_allocated + stats.bytes_reallocated.max(0) as usize;
    println!(
        "cap {cap} B: {allocated} B allocated during the call, {} B written by the server",
        server.written()
    );
    assert!(
        allocated < 2 * cap,
        "{allocated} B allocated for a {cap} B cap"
    );
}
