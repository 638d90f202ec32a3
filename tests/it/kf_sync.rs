//! The `sync_msg` stream over the simulator: every message once, the cursor saved after each
//! finished page (so a restart resumes after the last finished page), the file-backed store,
//! and 95007 ending the stream distinctly; against a one-off server, pages that lead nowhere
//! (an empty or unchanged `next_cursor`) keep the saved cursor and end the stream.

use std::time::Duration;

use crate::common::{client_on_manual_clock, minting};
use futures_util::StreamExt;
use wecom_kf::Client;
use wecom_kf::kf::message::{
    CursorStore, FileCursorStore, MemoryCursorStore, Message, MessageContent,
};
use wecom_kf::simulator::TokenIssue;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

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
    // One file per account, and no temporary file left behind.
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(".cursor"), "{files:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_expired_token_ends_the_stream_distinctly_and_keeps_the_cursor() {
    let (sim, clock, client) = client_on_manual_clock(TokenIssue::default()).await;
    let open_kfid = sim.seed_account("售后客服", "m");
    // A cursor saved before, which the failed pull must leave as it was.
    sim.customer_says(&open_kfid, "wmALICE", "earlier");
    let store = MemoryCursorStore::new();
    assert_eq!(take(&client, &open_kfid, &store, 10).await, ["earlier"]);
    let saved = store.load(&open_kfid).await.unwrap();
    assert!(saved.is_some());
    sim.customer_says(&open_kfid, "wmALICE", "hello");
    let token = sim.sync_token(&open_kfid);
    clock.advance(Duration::from_secs(601));
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
    assert_eq!(store.load(&open_kfid).await.unwrap(), saved);
    // Without the token, the same messages come.
    assert_eq!(take(&client, &open_kfid, &store, 10).await, ["hello"]);
}

/// A server whose every `sync_msg` page is `page`, and a client on it.
async fn answering(page: serde_json::Value) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/kf/sync_msg"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(server.uri())
        .build()
        .unwrap();
    (server, client)
}

/// The cursors each `sync_msg` request carried (`None`: no cursor field).
async fn cursors_sent(server: &MockServer) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/cgi-bin/kf/sync_msg")
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["cursor"].as_str().map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn a_page_without_a_next_cursor_keeps_the_saved_one() {
    let (server, client) =
        answering(serde_json::json!({"errcode": 0, "has_more": 0, "msg_list": []})).await;
    let store = MemoryCursorStore::new();
    store.save("wkA", "AFTER-1000").await.unwrap();
    assert!(take(&client, "wkA", &store, 10).await.is_empty());
    assert_eq!(
        store.load("wkA").await.unwrap().as_deref(),
        Some("AFTER-1000"),
        "an empty cursor would start over from the oldest message"
    );
    assert_eq!(cursors_sent(&server).await, [Some("AFTER-1000".to_owned())]);

    // A saved empty cursor is no cursor.
    store.save("wkB", "").await.unwrap();
    assert!(take(&client, "wkB", &store, 10).await.is_empty());
    assert_eq!(cursors_sent(&server).await[1], None);
}

#[tokio::test]
async fn more_pages_that_never_move_the_cursor_end_the_stream() {
    let (server, client) = answering(
        serde_json::json!({"errcode": 0, "has_more": 1, "next_cursor": "C1", "msg_list": []}),
    )
    .await;
    let store = MemoryCursorStore::new();
    // From no cursor to C1 (saved), then C1 again: the stream ends instead of looping.
    assert!(take(&client, "wkA", &store, 10).await.is_empty());
    assert_eq!(store.load("wkA").await.unwrap().as_deref(), Some("C1"));
    assert_eq!(cursors_sent(&server).await, [None, Some("C1".to_owned())]);
}
