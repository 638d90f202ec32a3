//! The `sync_msg` stream over the simulator: every message once, the cursor saved after each
//! finished page (so a restart resumes after the last finished page), the file-backed store,
//! and 95007 ending the stream distinctly.

mod common;

use std::time::Duration;

use common::client_on_manual_clock;
use futures_util::StreamExt;
use wecom_kf::Client;
use wecom_kf::kf::message::{Message, MessageContent};
use wecom_kf::kf::sync::{CursorStore, FileCursorStore, MemoryCursorStore};
use wecom_kf::simulator::TokenIssue;

fn text(message: &Message) -> String {
    match &message.content {
        MessageContent::Text { content, .. } => content.clone(),
        other => panic!("{other:?}"),
    }
}

/// Takes up to `n` messages from a fresh stream, then drops it.
async fn take(client: &Client, open_kfid: &str, store: &dyn CursorStore, n: usize) -> Vec<String> {
    let stream = client.kf().message().sync_stream(open_kfid, None, store);
    futures_util::pin_mut!(stream);
    let mut seen = Vec::new();
    while seen.len() < n {
        match stream.next().await {
            Some(message) => seen.push(text(&message.unwrap())),
            None => break,
        }
    }
    seen
}

#[tokio::test]
async fn each_message_comes_once_and_the_cursor_moves_on() {
    let (sim, _clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    let open_kfid = sim.seed_account("售后客服", "m");
    for i in 1..=3 {
        sim.customer_says(&open_kfid, "wmALICE", &format!("m{i}"));
    }
    let store = MemoryCursorStore::new();
    assert_eq!(
        take(&client, &open_kfid, &store, 100).await,
        ["m1", "m2", "m3"]
    );
    assert!(store.load(&open_kfid).await.unwrap().is_some(), "saved");
    assert!(
        take(&client, &open_kfid, &store, 100).await.is_empty(),
        "nothing new"
    );
    sim.customer_says(&open_kfid, "wmALICE", "m4");
    assert_eq!(take(&client, &open_kfid, &store, 100).await, ["m4"]);
}

/// Two pages (1000 + 2): the first page's cursor is saved once the caller moves past it; a
/// restart in the middle of the second page resumes at the second page.
#[tokio::test]
async fn a_restart_resumes_after_the_last_finished_page() {
    let (sim, _clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    let open_kfid = sim.seed_account("售后客服", "m");
    for i in 1..=1002 {
        sim.customer_says(&open_kfid, "wmALICE", &format!("m{i}"));
    }
    let store = MemoryCursorStore::new();
    let first_run = take(&client, &open_kfid, &store, 1001).await;
    assert_eq!(first_run.len(), 1001);
    assert_eq!(first_run[1000], "m1001");
    // Restarted: the interrupted second page comes again, whole; the first does not.
    let second_run = take(&client, &open_kfid, &store, 100).await;
    assert_eq!(second_run, ["m1001", "m1002"]);
    assert!(take(&client, &open_kfid, &store, 100).await.is_empty());
    // Two pages, the second again, and one empty page: every page read once per run.
    assert_eq!(sim.counters().calls("kf/sync_msg"), 4);
}

#[tokio::test]
async fn cursors_survive_in_files() {
    let (sim, _clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    let open_kfid = sim.seed_account("售后客服", "m");
    sim.customer_says(&open_kfid, "wmALICE", "hello");
    let dir = std::env::temp_dir().join(format!("wecom-kf-cursors-{}", std::process::id()));
    let store = FileCursorStore::new(&dir).unwrap();
    assert_eq!(take(&client, &open_kfid, &store, 10).await, ["hello"]);
    // A new process would build a new store over the same directory.
    let reopened = FileCursorStore::new(&dir).unwrap();
    assert_eq!(
        reopened.load(&open_kfid).await.unwrap(),
        store.load(&open_kfid).await.unwrap()
    );
    assert!(take(&client, &open_kfid, &reopened, 10).await.is_empty());
    assert_eq!(reopened.load("wkother").await.unwrap(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_expired_token_ends_the_stream_distinctly_and_keeps_the_cursor() {
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    let open_kfid = sim.seed_account("售后客服", "m");
    sim.customer_says(&open_kfid, "wmALICE", "hello");
    let token = sim.sync_token(&open_kfid);
    clock.advance(Duration::from_secs(601));
    let store = MemoryCursorStore::new();
    let stream = client
        .kf()
        .message()
        .sync_stream(&open_kfid, Some(&token), &store);
    futures_util::pin_mut!(stream);
    let first = stream.next().await.unwrap();
    assert!(
        matches!(&first, Err(e) if e.is_sync_token_expired()),
        "{first:?}"
    );
    assert!(stream.next().await.is_none(), "the stream ends");
    assert_eq!(store.load(&open_kfid).await.unwrap(), None);
    // Without the token, the same messages come.
    assert_eq!(take(&client, &open_kfid, &store, 10).await, ["hello"]);
}
