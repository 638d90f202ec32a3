//! The bot of `examples/kf_bot.rs`, end to end on the simulator: three customer messages in
//! two callbacks, one reply to each, exactly once; the bot restarts between the callbacks and
//! resumes from its saved cursor; a callback WeCom delivers again adds no reply; callbacks that
//! come during a pull wait for it; a page handed out again after a crash gets no second reply;
//! failures that may pass are pulled again and nothing is lost; an expired callback token is
//! dropped; a callback with a bad signature is refused.

#[path = "../../examples/kf_bot.rs"]
#[allow(dead_code)]
pub(crate) mod kf_bot;

use std::sync::Arc;
use std::time::Duration;

use kf_bot::Bot;
use wecom_kf::callback::CallbackCrypto;
use wecom_kf::kf::message::FileCursorStore;
use wecom_kf::simulator::{Fault, Simulator};

const TOKEN: &str = "BotToken";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// The simulator with one account, and a bot serving it on a port of its own, its cursors in
/// a directory of its own.
struct Scene {
    sim: Simulator,
    open_kfid: String,
    bot: Arc<Bot>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    url: String,
    dir: std::path::PathBuf,
}

impl Scene {
    async fn new(test: &str) -> Self {
        let sim = Simulator::start().await.unwrap();
        let open_kfid = sim.seed_account("回声客服", "media-1");
        let dir = std::env::temp_dir().join(format!("wecom-kf-bot-{test}-{}", std::process::id()));
        let (bot, server, url) = start_bot(&sim, &dir).await;
        Self {
            sim,
            open_kfid,
            bot,
            server,
            url,
            dir,
        }
    }

    /// The bot process ends and a new one starts, with the cursors in `dir`.
    async fn restart(&mut self, dir: std::path::PathBuf) {
        self.server.abort();
        let _ = (&mut self.server).await;
        (self.bot, self.server, self.url) = start_bot(&self.sim, &dir).await;
        self.dir = dir;
    }

    /// The customer sends `texts`, WeCom calls the bot once, and the bot acknowledges.
    async fn customer_sends(&self, texts: &[&str]) {
        let status = self.sim.customer_sends(&self.open_kfid, "wmALICE", texts);
        assert_eq!(status.await.unwrap(), 200);
    }

    /// What the bot sent, in order.
    fn replies(&self) -> Vec<String> {
        self.sim
            .sent_messages(&self.open_kfid)
            .into_iter()
            .map(|m| m.payload["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn calls(&self, path: &str) -> u64 {
        self.sim.counters().calls(path)
    }

    async fn end(self) {
        self.server.abort();
        let _ = self.server.await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A bot instance on a port of its own, with cursors in `dir` (shared across restarts).
async fn start_bot(
    sim: &Simulator,
    dir: &std::path::Path,
) -> (
    Arc<Bot>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    String,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    sim.set_callback(&url, TOKEN, AES_KEY).unwrap();
    let bot = Bot::with_retry_pause(
        sim.client_builder().build().unwrap(),
        CallbackCrypto::new(TOKEN, AES_KEY, sim.corp_id()).unwrap(),
        Arc::new(FileCursorStore::new(dir).unwrap()),
        Duration::from_millis(1),
    );
    let server = tokio::spawn(kf_bot::serve(listener, bot.clone()));
    (bot, server, url)
}

#[tokio::test]
async fn three_messages_in_two_callbacks_get_one_reply_each_across_a_restart() {
    let mut scene = Scene::new("restart").await;
    // First bot: two messages, one callback.
    scene.customer_sends(&["one", "two"]).await;
    scene.bot.idle().await;
    assert_eq!(scene.replies(), ["echo: one", "echo: two"]);

    // Restart: a new process would have a new bot with the same cursor directory.
    let dir = scene.dir.clone();
    scene.restart(dir).await;
    scene.customer_sends(&["three"]).await;
    scene.bot.idle().await;
    assert_eq!(
        scene.replies(),
        ["echo: one", "echo: two", "echo: three"],
        "the first two were not answered again"
    );

    // WeCom delivers the same news again: nothing new, no reply.
    assert_eq!(scene.sim.notify(&scene.open_kfid).await.unwrap(), 200);
    scene.bot.idle().await;
    assert_eq!(scene.replies().len(), 3);
    assert_eq!(scene.sim.counters().effects("kf/send_msg"), 3);
    scene.end().await;
}

#[tokio::test]
async fn callbacks_during_a_pull_wait_for_it_and_nothing_is_pulled_twice() {
    let scene = Scene::new("overlap").await;
    // The first pull is held inside its sync_msg call.
    scene.sim.inject("kf/sync_msg", Fault::Hold, 1);
    scene.customer_sends(&["one", "two"]).await;
    scene.sim.wait_for_calls("kf/sync_msg", 1).await;
    // Two more callbacks meanwhile: acknowledged, and left for after the running pull.
    scene.customer_sends(&["three"]).await;
    assert_eq!(scene.sim.notify(&scene.open_kfid).await.unwrap(), 200);
    assert_eq!(
        scene.calls("kf/sync_msg"),
        1,
        "no second pull while one runs"
    );

    scene.sim.release("kf/sync_msg");
    scene.bot.idle().await;
    assert_eq!(scene.replies(), ["echo: one", "echo: two", "echo: three"]);
    assert_eq!(scene.calls("kf/send_msg"), 3, "no reply tried twice");
    // The held pull, then one more for both callbacks that came during it.
    assert_eq!(scene.calls("kf/sync_msg"), 2);
    scene.end().await;
}

/// A crash after the replies but before the cursor was saved: the next bot gets the same page
/// again. Its replies carry the same msgids, which WeCom refuses, so no customer hears twice.
#[tokio::test]
async fn a_page_handed_out_again_after_a_crash_gets_no_second_reply() {
    let mut scene = Scene::new("crash").await;
    scene.customer_sends(&["one", "two"]).await;
    scene.bot.idle().await;

    // The new bot has no cursor: it pulls "one" and "two" again, with "three".
    let _ = std::fs::remove_dir_all(&scene.dir);
    let fresh = scene.dir.with_extension("lost");
    scene.restart(fresh).await;
    scene.customer_sends(&["three"]).await;
    scene.bot.idle().await;
    assert_eq!(scene.replies(), ["echo: one", "echo: two", "echo: three"]);
    assert_eq!(scene.calls("kf/send_msg"), 5, "two replies refused");
    assert_eq!(scene.sim.counters().effects("kf/send_msg"), 3);
    scene.end().await;
}

#[tokio::test]
async fn a_busy_send_is_tried_again_from_the_same_page() {
    let scene = Scene::new("busy").await;
    scene.sim.inject("kf/send_msg", Fault::Errcode(-1), 2);
    scene.customer_sends(&["one", "two"]).await;
    scene.bot.idle().await;
    assert_eq!(scene.replies(), ["echo: one", "echo: two"]);
    // "one" failed twice, then both went out: three pulls of the same page.
    assert_eq!(scene.calls("kf/send_msg"), 4);
    assert_eq!(scene.calls("kf/sync_msg"), 3);
    scene.end().await;
}

#[tokio::test]
async fn what_keeps_failing_waits_for_the_next_callback_and_is_not_lost() {
    let scene = Scene::new("failing").await;
    scene.sim.inject("kf/send_msg", Fault::Errcode(-1), 100);
    scene.customer_sends(&["one"]).await;
    scene.bot.idle().await;
    assert!(scene.replies().is_empty());
    assert_eq!(scene.calls("kf/send_msg"), 5, "five pulls, then wait");

    scene.sim.clear_faults();
    scene.customer_sends(&["two"]).await;
    scene.bot.idle().await;
    assert_eq!(scene.replies(), ["echo: one", "echo: two"]);
    scene.end().await;
}

#[tokio::test]
async fn an_expired_callback_token_is_dropped_and_the_pull_goes_on() {
    let scene = Scene::new("expired").await;
    scene.sim.inject("kf/sync_msg", Fault::Errcode(95007), 1);
    scene.customer_sends(&["one"]).await;
    scene.bot.idle().await;
    assert_eq!(scene.replies(), ["echo: one"]);
    assert_eq!(scene.calls("kf/sync_msg"), 2);
    scene.end().await;
}

#[tokio::test]
async fn a_long_message_is_echoed_within_the_text_limit() {
    let scene = Scene::new("long").await;
    let long = "中".repeat(700); // 2100 bytes
    scene.customer_sends(&[&long]).await;
    scene.bot.idle().await;
    let replies = scene.replies();
    assert_eq!(replies.len(), 1, "sent, not refused for its length");
    assert!(replies[0].len() <= 2048 && replies[0].starts_with("echo: 中"));
    scene.end().await;
}

#[tokio::test]
async fn a_forged_callback_is_refused_and_the_url_verifies() {
    let scene = Scene::new("forged").await;
    let (sim, url) = (&scene.sim, &scene.url);
    sim.customer_says(&scene.open_kfid, "wmALICE", "hi");

    // Signed with another token: refused before anything is decrypted or pulled.
    sim.set_callback(url, "NotTheBotsToken", AES_KEY).unwrap();
    assert_eq!(sim.notify(&scene.open_kfid).await.unwrap(), 403);
    assert_eq!(scene.calls("kf/sync_msg"), 0);
    assert!(scene.replies().is_empty());

    // URL verification, as WeCom does it when the URL is saved: the bot echoes the plaintext.
    let crypto = CallbackCrypto::new(TOKEN, AES_KEY, sim.corp_id()).unwrap();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sealed = crypto.seal("8253918204375", &timestamp, "n1").unwrap();
    let echoed = reqwest::Client::new()
        .get(url)
        .query(&[
            ("msg_signature", sealed.msg_signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", "n1"),
            ("echostr", sealed.encrypt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 200);
    assert_eq!(echoed.text().await.unwrap(), "8253918204375");
    scene.end().await;
}
