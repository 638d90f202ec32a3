//! A WeChat Customer Service bot that echoes what customers write:
//! `cargo run --example kf_bot`.
//!
//! It is an axum server on the callback URL. `GET` verifies the URL; `POST` checks and
//! decrypts the `kf_msg_or_event` callback, answers WeCom at once (its deadline is 5 seconds,
//! and the callback carries no message anyway), then pulls the new messages with `sync_msg`
//! — resuming from the cursor it saved, so a restart neither loses nor repeats a page — and
//! answers each customer text with `send_msg`.
//!
//! Each message is answered once:
//! - one pull at a time per account: a callback that comes while a pull runs is remembered
//!   (its token kept) and pulled after it, so two pulls never hand out the same page;
//! - the reply's msgid is derived from the customer's msgid, and WeCom refuses a msgid the
//!   account has used: a page handed out again after a crash (before its cursor was saved)
//!   gets no second reply;
//! - a failure that may pass (WeCom busy, rate limit, network) stops the pull before its page
//!   is finished, so the cursor stays before it, and the bot pulls again after a pause
//!   (doubling, at most 5 pulls in a row; then the next callback takes over). A callback token
//!   past its 10 minutes (95007) is dropped and the pull goes on without it.
//!
//! Without `WECOM_CORP_ID`/`WECOM_CORP_SECRET` it runs against the embedded simulator: a
//! customer writes, the simulator calls the bot, the bot answers, and the replies are printed.
//! With them (and `WECOM_CALLBACK_TOKEN`, `WECOM_CALLBACK_AES_KEY`, optionally
//! `WECOM_BOT_ADDR`, default `0.0.0.0:8080`, and `WECOM_BOT_CURSORS`, a directory) it serves
//! the real callback URL `/callback`.
//!
//! Every refused callback gets the same answer (403, empty body), whatever check failed; the
//! reason is logged at debug level (`WECOM_BOT_LOG=debug`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use wecom_kf::Client;
use wecom_kf::callback::{CallbackCrypto, CallbackError, CallbackEvent, MAX_BODY_BYTES};
use wecom_kf::kf::message::{CursorStore, MessageContent, Origin, Outgoing, SendMessage};

/// The bot: a client, the callback settings, where cursors are kept, and its running pulls.
pub struct Bot {
    client: Client,
    crypto: CallbackCrypto,
    cursors: Arc<dyn CursorStore>,
    /// Accounts with a pull running, each with the token of a callback that came meanwhile.
    pulling: Mutex<HashMap<String, Option<String>>>,
    /// How many accounts have a pull running (for a demo or a test to wait for quiet).
    busy: watch::Sender<usize>,
    /// The pause before pulling again after a failure, doubled on each failure in a row.
    retry_pause: Duration,
}

/// How a pull ended.
enum Pulled {
    /// Every message up to the newest was handled.
    Done,
    /// The callback's token is past its 10 minutes: pull again without it.
    TokenExpired,
    /// Stopped on a failure that may pass (WeCom busy, network): the page in hand was not
    /// finished, so its cursor was not saved, and the next pull brings it again.
    Interrupted,
}

/// Pulls in a row that may fail before the bot waits for the next callback.
const MAX_PULLS: u32 = 5;
/// WeCom's limit on one text message, in bytes.
const TEXT_MAX_BYTES: usize = 2048;

impl Bot {
    /// A bot answering with `client`, checking callbacks with `crypto`.
    pub fn new(client: Client, crypto: CallbackCrypto, cursors: Arc<dyn CursorStore>) -> Arc<Self> {
        Self::with_retry_pause(client, crypto, cursors, Duration::from_secs(1))
    }

    /// The same, pausing `retry_pause` (doubling) before pulling again after a failure.
    pub fn with_retry_pause(
        client: Client,
        crypto: CallbackCrypto,
        cursors: Arc<dyn CursorStore>,
        retry_pause: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            client,
            crypto,
            cursors,
            pulling: Mutex::new(HashMap::new()),
            busy: watch::channel(0).0,
            retry_pause,
        })
    }

    /// Returns once no pull is running: every callback accepted so far has been handled.
    pub async fn idle(&self) {
        let _ = self.busy.subscribe().wait_for(|n| *n == 0).await;
    }

    /// Pulls for `open_kfid` now, or after the pull already running for it.
    fn pull(self: &Arc<Self>, open_kfid: String, token: String) {
        let mut pulling = self.pulling.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = pulling.get_mut(&open_kfid) {
            *next = Some(token);
            return;
        }
        pulling.insert(open_kfid.clone(), None);
        self.busy.send_modify(|n| *n += 1);
        tokio::spawn(self.clone().pull_until_quiet(open_kfid, token));
    }

    /// Pulls until no callback for `open_kfid` is waiting.
    async fn pull_until_quiet(self: Arc<Self>, open_kfid: String, token: String) {
        let mut token = Some(token);
        loop {
            self.pull_with_retries(&open_kfid, token.take()).await;
            let mut pulling = self.pulling.lock().unwrap_or_else(PoisonError::into_inner);
            match pulling.get_mut(&open_kfid).and_then(Option::take) {
                Some(next) => token = Some(next),
                None => {
                    pulling.remove(&open_kfid);
                    self.busy.send_modify(|n| *n -= 1);
                    return;
                }
            }
        }
    }

    /// One pull, again after failures that may pass (pausing longer each time, at most
    /// [`MAX_PULLS`] in a row; what is left waits for the next callback, nothing is lost).
    async fn pull_with_retries(self: &Arc<Self>, open_kfid: &str, mut token: Option<String>) {
        let mut pause = self.retry_pause;
        for _ in 0..MAX_PULLS {
            // In a task of its own, so that a panic ends this pull, not the account's pulls.
            let pulled = tokio::spawn(self.clone().answer(open_kfid.to_owned(), token.clone()));
            match pulled.await.unwrap_or(Pulled::Interrupted) {
                Pulled::Done => return,
                Pulled::TokenExpired => token = None,
                Pulled::Interrupted => {
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
            }
        }
        eprintln!("{open_kfid}: still failing; the rest waits for the next callback");
    }

    /// Pulls what is new for `open_kfid` and answers every customer text.
    async fn answer(self: Arc<Self>, open_kfid: String, token: Option<String>) -> Pulled {
        let messages =
            self.client
                .kf()
                .message()
                .sync_stream(&open_kfid, token.as_deref(), &*self.cursors);
        futures_util::pin_mut!(messages);
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(message) => message,
                Err(error) if error.is_sync_token_expired() => return Pulled::TokenExpired,
                Err(error) => {
                    eprintln!("sync_msg stopped: {error}");
                    return Pulled::Interrupted;
                }
            };
            let (Origin::Customer, Some(customer), MessageContent::Text { content, .. }) =
                (message.origin, &message.external_userid, &message.content)
            else {
                continue;
            };
            let reply = SendMessage::new(&open_kfid, customer, Outgoing::text(echo(content)))
                .with_msgid(reply_msgid(&message.msgid));
            match self.client.kf().message().send(reply).await {
                Ok(_) => {}
                // Busy, rate-limited, or the answer lost: stop before the page is finished,
                // so it comes again; a reply that did go out is then refused as a used msgid.
                Err(error) if error.is_transient() || error.is_rate_limited() => {
                    eprintln!("send_msg failed, will pull again: {error}");
                    return Pulled::Interrupted;
                }
                // Final for this message: the session does not allow it, the quota is used
                // up, or this reply went out before (its msgid is taken).
                Err(error) => eprintln!("send_msg refused: {error}"),
            }
        }
        Pulled::Done
    }
}

/// The reply to `content`, cut to WeCom's text limit at a character boundary.
fn echo(content: &str) -> String {
    let mut reply = format!("echo: {content}");
    if reply.len() > TEXT_MAX_BYTES {
        let mut end = TEXT_MAX_BYTES;
        while !reply.is_char_boundary(end) {
            end -= 1;
        }
        reply.truncate(end);
    }
    reply
}

/// The reply's msgid: 32 hex characters of SHA-256 over the customer's msgid, so a second
/// reply to one message carries the same msgid, which WeCom refuses.
fn reply_msgid(customer_msgid: &str) -> String {
    Sha256::digest(customer_msgid.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Deserialize)]
struct CallbackQuery {
    msg_signature: String,
    timestamp: String,
    nonce: String,
    echostr: Option<String>,
}

/// A refused callback, whatever was wrong with it: a bad signature, a stale timestamp, bad
/// XML, bad base64, bad padding, a bad length, another receiver, an oversized body, missing
/// parameters. Every one gets the same answer (403, no body), so the sender learns nothing
/// from which check failed and padding or length errors cannot become an oracle; the reason
/// goes to the bot's own log at debug level (`WECOM_BOT_LOG=debug`), without secrets.
struct Refused;

impl Refused {
    /// Logs `reason` (it must hold no secret) and refuses.
    fn because(reason: &dyn std::fmt::Display) -> Self {
        tracing::debug!(%reason, "callback refused");
        Self
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        StatusCode::FORBIDDEN.into_response()
    }
}

/// The callback's query, or refused for a missing parameter. Only a fixed reason is logged:
/// the rejection's text may quote the query.
fn callback_query(
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<CallbackQuery, Refused> {
    query
        .map(|Query(q)| q)
        .map_err(|_| Refused::because(&"the query lacks msg_signature, timestamp or nonce"))
}

/// `GET /callback`: URL verification.
async fn verify(
    State(bot): State<Arc<Bot>>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<String, Refused> {
    let q = callback_query(query)?;
    let echostr = q
        .echostr
        .ok_or_else(|| Refused::because(&"the query lacks echostr"))?;
    bot.crypto
        .verify_url(&q.msg_signature, &q.timestamp, &q.nonce, &echostr)
        .map_err(|error| Refused::because(&error))
}

/// `POST /callback`: acknowledge first, work after.
async fn receive(
    State(bot): State<Arc<Bot>>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, &'static str), Refused> {
    let q = callback_query(query)?;
    // Over the route's body limit: as oversized as decrypt would find it.
    let body = body.map_err(|_| Refused::because(&CallbackError::TooLarge))?;
    let xml = bot
        .crypto
        .decrypt(&q.msg_signature, &q.timestamp, &q.nonce, &body)
        .map_err(|error| Refused::because(&error))?;
    // From WeCom (signed and decrypted): acknowledged even if it is not an event for the bot,
    // so that WeCom does not deliver it again.
    match CallbackEvent::parse(&xml) {
        Ok(CallbackEvent::KfMsgOrEvent {
            token,
            open_kfid: Some(open_kfid),
            ..
        }) => bot.pull(open_kfid, token),
        Ok(other) => tracing::debug!(event = ?other, "callback ignored"),
        Err(error) => tracing::debug!(%error, "callback ignored"),
    }
    Ok((StatusCode::OK, "success"))
}

/// The bot's routes: `/callback`.
pub fn router(bot: Arc<Bot>) -> Router {
    Router::new()
        .route("/callback", get(verify).post(receive))
        // Read no more than decrypt accepts: a larger body is refused like any other.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(bot)
}

/// Serves `bot` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, bot: Arc<Bot>) -> std::io::Result<()> {
    axum::serve(listener, router(bot)).await
}

/// The demo: a simulated customer writes twice, the simulator calls the bot, the bot answers.
pub async fn run_on_simulator(out: &mut impl Write) -> Result<(), Box<dyn std::error::Error>> {
    const TOKEN: &str = "BotToken";
    const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    let sim = wecom_kf::simulator::Simulator::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/callback", listener.local_addr()?);
    sim.set_callback(&url, TOKEN, AES_KEY)?;
    let bot = Bot::new(
        sim.client_builder().build()?,
        CallbackCrypto::new(TOKEN, AES_KEY, sim.corp_id())?,
        Arc::new(wecom_kf::kf::message::MemoryCursorStore::new()),
    );
    let server = tokio::spawn(serve(listener, bot.clone()));
    writeln!(out, "bot listening at {url} (simulated WeCom)")?;

    let open_kfid = sim.seed_account("回声客服", "media-1");
    let texts = ["你好", "how are you?"];
    for text in texts {
        writeln!(out, "customer: {text}")?;
    }
    let status = sim.customer_sends(&open_kfid, "wmCUSTOMER", &texts).await?;
    writeln!(out, "callback delivered, bot answered HTTP {status}")?;
    bot.idle().await;
    for reply in sim.sent_messages(&open_kfid) {
        writeln!(
            out,
            "bot: {}",
            reply.payload["content"].as_str().unwrap_or_default()
        )?;
    }
    server.abort();
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs on stderr, at the level in WECOM_BOT_LOG (default info; `debug` shows why a
    // callback was refused).
    let level = std::env::var("WECOM_BOT_LOG")
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init()
        .map_err(|e| e.to_string())?;
    let real = std::env::var("WECOM_CORP_ID").is_ok() && std::env::var("WECOM_CORP_SECRET").is_ok();
    if !real {
        return run_on_simulator(&mut std::io::stdout()).await;
    }
    let client = Client::from_env()?;
    let crypto = CallbackCrypto::new(
        std::env::var("WECOM_CALLBACK_TOKEN")?,
        &std::env::var("WECOM_CALLBACK_AES_KEY")?,
        std::env::var("WECOM_CORP_ID")?,
    )?;
    let dir = std::env::var("WECOM_BOT_CURSORS").unwrap_or_else(|_| "bot-cursors".into());
    let cursors = Arc::new(wecom_kf::kf::message::FileCursorStore::new(dir)?);
    let addr = std::env::var("WECOM_BOT_ADDR").unwrap_or_else(|_| "0.0.0.0:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("bot listening on {addr}, callback path /callback");
    serve(listener, Bot::new(client, crypto, cursors)).await?;
    Ok(())
}
