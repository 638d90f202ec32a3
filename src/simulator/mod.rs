//! An embedded WeCom simulator: a real HTTP server on 127.0.0.1 that speaks the `gettoken`,
//! `kf/*` and `media/*` protocol with WeCom's rules and errcodes, calls bots back, and has
//! controllable token expiry, scriptable faults and exact counters. Enable the `simulator`
//! cargo feature.
//!
//! Use it to try the SDK without a corp, and to test your own bot or backend without
//! hand-written mocks:
//!
//! ```
//! use wecom_kf::kf::account::{AddAccount, ListAccounts};
//! use wecom_kf::simulator::{Fault, Simulator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Simulator::start().await?;
//! let client = sim.client_builder().build()?; // corp id, secret and base URL of the simulator
//! let accounts = client.kf().account();
//!
//! let created = accounts.add(AddAccount::new("咨询客服", "MEDIA_ID")).await?;
//!
//! // The token expires on the server: the SDK fetches a new one and replays the call once.
//! sim.expire_tokens();
//! // And the next list answers 502 once: the SDK retries it (a read is safe to replay).
//! sim.inject("kf/account/list", Fault::HttpStatus(502), 1);
//! let page = accounts.list(ListAccounts::new()).await?;
//! assert_eq!(page.account_list[0].open_kfid, created.open_kfid);
//!
//! let counters = sim.counters();
//! assert_eq!(counters.gettoken_calls(), 2);
//! assert_eq!(counters.calls("kf/account/list"), 3); // 42001, then 502, then the answer
//! assert_eq!(counters.effects("kf/account/list"), 1);
//! # Ok(()) }
//! ```
//!
//! # What it simulates
//!
//! | path | rules |
//! |---|---|
//! | `GET gettoken` | 41002/40013 missing/wrong `corpid`, 41004/40001 missing/wrong `corpsecret`; the same token while it is valid (or a fresh one per call, [`TokenIssue`]), `expires_in` = the configured TTL (the time left, for a reused token) |
//! | every API call | 41001 no `access_token`, 40014 a token never issued or revoked, 42001 an expired one; 40058 a body that is not a JSON object ("json不合法", doc 90313), a field of the wrong type, a missing field, or the wrong HTTP method |
//! | `POST kf/account/add` | `name` 1–16 characters (95006), `media_id` 1–128 bytes (40007), at most 5000 accounts (95005) |
//! | `POST kf/account/del` | `open_kfid` 1–64 bytes (95000) and known (95004); not the last account (95005: "且至少有一个", doc 90313) |
//! | `POST kf/account/update` | as `del`, plus the `add` rules for the `name`/`media_id` given |
//! | `POST kf/account/list` | `offset` (default 0), `limit` 1–100 (default 100; 40058 otherwise), in creation order |
//! | `POST kf/add_contact_way` | a known `open_kfid` (95000/95004); `scene` 0–32 bytes of `0-9 a-z A-Z _ -` (40058; empty is no scene, doc 94665); answers a `url` (`…?enc_scene=…` with a scene) |
//! | `POST kf/servicer/add`, `del` | a known `open_kfid`; `userid_list` and/or `department_id_list`, at most 100 each (40058); per item: 60111 a userid not in the directory ([`Simulator::seed_member`]), 60123 an unknown department ([`Simulator::seed_department`]), errmsg "ignored" when nothing changes |
//! | `GET kf/servicer/list` | a known `open_kfid`; members (status 0) then departments, in the order added |
//! | `POST kf/service_state/get` | a known `open_kfid`; the session's state (4 for one never seeded with [`Simulator::seed_session`]), `servicer_userid` in state 3 |
//! | `POST kf/customer/batchget` | 1–100 `external_userid_list` (40058); customers seeded with [`Simulator::seed_customer`] are found, the others listed in `invalid_external_userid`; `enter_session_context` when asked |
//! | `GET kf/customer/get_upgrade_service_config` | the members and chats set with [`Simulator::configure_upgrade_service`] |
//! | `POST kf/customer/upgrade_service` | a known `open_kfid`; `type` 1 with `member.userid` or 2 with `groupchat.chat_id` (40058), which must be configured (95021) |
//! | `POST kf/customer/cancel_upgrade_service` | a known `open_kfid`; withdraws any recommendation (succeeds when there is none) |
//! | `GET kf/get_corp_qualification` | `wechat_channels_binding: false` |
//! | `POST kf/get_corp_statistic`, `kf/get_servicer_statistic` | a known `open_kfid`; `[start_time, end_time]` at most 31 China-time days counted inclusively (`end - start` ≤ 30 days: see open points), within the last 180 days, before today in China time (40058); one entry of zero figures per day |
//! | `POST kf/knowledge/*_group`, `*_intent` | a default group ("默认分组", not renamable or deletable); group names 1–12 characters, unique, at most 100 groups; questions 1–200 characters, unique across groups; at most 100 similar questions; exactly one answer (1–500 characters, at most 4 attachments); at most 200 intents a group; lists page by `cursor`/`limit` (1–1000, default 500) and name media attachments instead of giving their media_id. WeCom documents no errcode for these rules: 40058 with the rule in the errmsg |
//! | `POST kf/sync_msg` | a known `open_kfid`; the messages of [`Simulator::customer_says`] and the events of [`Simulator::customer_enters`], oldest first, the last 3 days; `cursor` from the previous `next_cursor` (40058 for one it did not issue); `limit` 1–1000 (default 1000; 40058 otherwise); `token` from [`Simulator::sync_token`], 95007 when unknown, for another account, or older than 10 minutes |
//! | `POST kf/send_msg` | a known `open_kfid`; `touser`; `msgid` 1–32 bytes of `0-9 a-z A-Z _ -`, unique in the account (40058: the docs give no code); a documented `msgtype` with its payload object (40058), text 1–2048 bytes (40058), a menu of at most 10 items (95008), a click item's optional `id` 1–128 bytes and `content` 1–128 bytes, a text item 1–256 bytes (40058); the session in state 0 or 1 (95018 in 2, 3 and 4); a message sent moves state 0 to 1 (doc 95489); within 48 hours of the customer's last message (95002); at most 5 messages since it (95001). Sent messages: [`Simulator::sent_messages`] |
//! | `POST kf/send_msg_on_event` | a `code` from an `enter_session` event (20 s) or from `service_state/trans` (48 h; 20 s for a closing code), used once, while the session is still in the state that produced it; text or msgmenu for welcome and closing codes, text only for queue (→2) and servicer (→3) codes (doc 95122). WeCom documents no errcode for a bad code: 40058 |
//! | `POST kf/recall_msg` | a known `open_kfid`; a `msgid` the account sent, within 2 minutes, once (40058 otherwise: the docs give no code) |
//! | `POST media/upload?type=` | `type` image/voice/video/file (40005); multipart field `media` with a filename; more than 5 bytes (44001); image ≤ 10 MB, voice ≤ 2 MB, video ≤ 10 MB, file ≤ 20 MB (45001); answers `type`, `media_id`, `created_at` |
//! | `GET media/get?media_id=` | the file as uploaded (`Content-Disposition` with its name); 40007 for an unknown media_id or one older than 3 days (dropped then; also the oldest files beyond [`SimulatorBuilder::max_media_bytes`]) |
//! | `POST kf/service_state/trans` | moves 0 → 1/2/3, 1 → 2/3, 2 → 3, 3 → 3/4, else 95016 (a target outside 0–4 is 40058); to 3 needs a `servicer_userid` (40058) who is a servicer of the account (95014); a `msg_code` on the first move to 2, on the first move to 3, and on every move to 4 (doc 95122) |
//!
//! A customer's message ([`Simulator::customer_says`]) starts a session in state 0 only when it
//! has ended (4) or never begun; in states 0–3 it keeps its state, servicer and codes ("4
//! 已结束…客户重新发信咨询后会话状态变为“未处理”", the state table of doc 94669).
//!
//! # An oracle, not a mirror
//!
//! The rules above are the simulator's own transcription of the docs (`rules.rs`, each with
//! its doc id), never the SDK's validation or constants: a wrong SDK limit is caught by the
//! simulator instead of being repeated by it. A unit test compares the two transcriptions
//! pair by pair.
//!
//! # Open points
//!
//! Where the docs do not settle a rule, the simulator is strict (it refuses what WeCom may
//! refuse; the SDK stays permissive and sends it):
//!
//! | point | what the simulator does | why |
//! |---|---|---|
//! | 0/1/2 → 4 by `service_state/trans` (audit F21) | refused, 95016 | the state table's text (doc 94669) offers "结束会话" only from 3; the flowchart it points to was not available |
//! | "最大查询跨度为31天" (audit F14, docs 95489/95490) | at most 31 days counted inclusively: `end - start` ≤ 30 days; 31 is refused | the text does not say whether `end - start` may be 31 days |
//! | a too-long `open_kfid` (95000) or account `media_id` (40007) (audit F16) | the field's own code | 40058's general "超出了限制" text may apply instead; unverified |
//! | menu `click.id` length (doc 94677) | optional, 1–128 bytes | the newer copies say 128, a 2021 copy 64 |
//! | upload content formats (doc 90253: JPG/PNG, AMR, MP4) | not checked: 40004 (a file that breaks the rules) is never answered | which bytes WeCom inspects is unverified; file names are display names only |
//! | `send_msg_on_event` and the session state | a code's send does not move 0 to 1 | doc 95489 names "通过API发消息"; only `send_msg` is modelled as a bot reply |
//! | codes for 0/1 → 3 (no queue) | the first move to 3 issues a "从接待池接入会话" code | doc 95122's table has no row for a direct assignment; a peer says the first move to 2 and to 3 each return a code |
//! | a duplicate `msgid`, a used or stale `code`, a recall out of time | 40058 | the docs name the rule but no errcode |
//!
//! Errors come as WeCom sends them: HTTP 200, `application/json; charset=UTF-8`, and an
//! `errmsg` with WeCom's suffix (`…, hint: [...], from ip: ..., more info at …?e=<code>`).
//! Unknown paths answer HTTP 404 (and are counted together, under [`UNKNOWN_PATHS`]); bodies
//! over 2 MiB (21 MiB for `media/upload`), 413 (and a body more than 16 MiB past that limit, a
//! closed connection).
//!
//! # Limits
//!
//! The server bounds what a hostile or broken client can hold: a request's headers (and the
//! next request on a kept-alive connection) must arrive within
//! [`SimulatorBuilder::header_timeout`] (10 s), its body within
//! [`SimulatorBuilder::body_timeout`] (30 s), else the connection is closed unanswered; at most
//! [`SimulatorBuilder::max_connections`] (256) connections are served at once, and one more is
//! closed as soon as it is accepted; a failing `accept` (out of file descriptors) is retried
//! after a pause of 10 ms doubling up to 1 s, not at once. A body is read only for a POST
//! endpoint called with a good token: any other call is answered from its path and query
//! (404, 40058 for the wrong method, 41001/40014/42001) before its body, which is then read
//! and dropped in the background (at most the body limit plus 16 MiB, within the body
//! timeout) so that a client still writing it sees the answer.
//!
//! What it keeps is bounded too: counters have one key per endpoint plus [`UNKNOWN_PATHS`];
//! uploaded media is dropped once 3 days old and holds at most
//! [`SimulatorBuilder::max_media_bytes`] (128 MiB) and [`MAX_MEDIA_FILES`] files, the oldest
//! dropped first ([`Simulator::media_held`] says what is kept). `Debug` of a simulator shows
//! no secret and no bulk data.
//!
//! # Faults
//!
//! [`Simulator::inject`] scripts a [`Fault`] for the next calls on a path: an HTTP status, an
//! errcode, a delay, a hold until [`Simulator::release`], a dropped connection before
//! answering, or the request executed and then the connection dropped. Faults on one path play
//! in the order they were injected.
//!
//! # Callbacks
//!
//! A bot under test gets callbacks as from WeCom: [`Simulator::set_callback`] takes its URL,
//! Token and EncodingAESKey; [`Simulator::customer_sends`] logs a customer's messages and POSTs
//! one encrypted, signed `kf_msg_or_event` event to the URL; [`Simulator::notify`] POSTs one
//! again (a redelivery). The event's `Token` is good for `kf/sync_msg` for 10 minutes.
//!
//! # Service providers
//!
//! The simulator also plays WeCom for a service provider: the provider's credentials
//! ([`DEFAULT_PROVIDER_CORP_ID`], [`DEFAULT_PROVIDER_SECRET`]), suites ([`DEFAULT_SUITE_ID`]
//! to start with; [`Simulator::add_suite`]), suite_tickets pushed when told
//! ([`Simulator::push_suite_ticket`]; good for 30 minutes from the push, whichever newer ones
//! follow; the simulator does not deliver them to a callback yet), corps that authorised a
//! suite ([`Simulator::authorise_corp`] answers the permanent code;
//! [`Simulator::cancel_authorisation`]), and `service/get_provider_token`,
//! `service/get_suite_token` (40083 unknown suite, 40001 wrong secret, 40085 unknown or stale
//! ticket) and `service/get_corp_token` (40082 unknown suite token, 42009 expired, 40084
//! wrong, cancelled or another suite's permanent code). The corp tokens it issues are
//! accepted by every kf endpoint, which play one kf state for all corps.
//!
//! # Control plane
//!
//! The same operations are served as JSON routes under `/__sim/` on the simulator's own port,
//! for tests in any language (each route calls the function the method named calls):
//!
//! | route | body | answer | method |
//! |---|---|---|---|
//! | `POST /__sim/reset` | none | `{"ok": true}` | [`Simulator::reset`] |
//! | `GET /__sim/state` | none | [`SimState`]: `accounts`, `sessions`, `sent_messages`, `counters` (`gettoken`, `calls`, `effects`), `callback_url` | [`Simulator::state`] |
//! | `POST /__sim/seed` | [`Seed`]: `{"members": [...], "customers": [{"external_userid", "nickname"}], "accounts": [{"name", "media_id"}]}` | [`Seeded`]: `{"open_kfids": [...]}` | [`Simulator::seed`] |
//! | `POST /__sim/customer/message` | `{"open_kfid", "external_userid", "text"}` | [`CustomerAct`]: `{"msgid", "callback"?}` | [`Simulator::customer_message`] |
//! | `POST /__sim/customer/enter` | `{"open_kfid", "external_userid", "scene"?}` | [`CustomerAct`] | [`Simulator::customer_enter`] |
//! | `POST /__sim/callback` | `{"url", "token", "encoding_aes_key"}` | `{"ok": true}` | [`Simulator::set_callback`] |
//! | `POST /__sim/faults` | `{"path", "fault", "times"?}` (`times` 1 by default; `fault` as [`Fault`]'s JSON form: `{"http_status": 502}`, `{"errcode": -1}`, `{"delay_ms": 1500}`, `"hold"`, `"drop_before_answer"`, `"drop_after_effect"`) | `{"pending": n}` | [`Simulator::inject`], [`Simulator::pending_faults`] |
//! | `POST /__sim/release` | `{"path"}` | `{"ok": true}` | [`Simulator::release`] |
//! | `POST /__sim/tokens/expire` | none | `{"ok": true}` | [`Simulator::expire_tokens`] |
//! | `POST /__sim/tokens/revoke` | none | `{"ok": true}` | [`Simulator::revoke_tokens`] |
//! | `POST /__sim/provider/suite_ticket/push` | `{"suite_id"}` | `{"suite_id", "suite_ticket", "timestamp"}` (404 for an unknown suite) | [`Simulator::push_suite_ticket`] |
//! | `POST /__sim/provider/suite_ticket/push_due` | none | `{"pushed": [{"suite_id", "timestamp", "delivery"}]}` (`delivery` null without a command URL) | [`Simulator::push_due_suite_tickets`] |
//! | `POST /__sim/provider/suite_ticket` | `{"suite_id"}` | the newest ticket, as above (404 if none) | [`Simulator::suite_ticket`] |
//! | `POST /__sim/provider/authorise` | `{"suite_id", "auth_corpid"}` | `{"permanent_code"}` | [`Simulator::authorise_corp`] |
//! | `POST /__sim/provider/command_callback` | `{"suite_id", "url", "token", "encoding_aes_key"}` | `{}` | [`Simulator::set_command_callback`] |
//! | `POST /__sim/provider/install` | `{"suite_id", "auth_corpid", "state"?}` | `{"info_type", "auth_code", "delivery"}` (the `create_auth` delivered) | [`Simulator::install_corp`], [`Simulator::deliver_command`] |
//! | `POST /__sim/provider/uninstall` | `{"suite_id", "auth_corpid"}` | the same, for `cancel_auth` | [`Simulator::uninstall_corp`], [`Simulator::deliver_command`] |
//!
//! Control calls need no access token and are not counted in [`Counters`]: **the control
//! plane is for tests on 127.0.0.1 only**, as anyone who reaches the port can rewrite the
//! corp. A bad request is answered with a JSON body `{"error": "..."}`: 404 for an unknown
//! route (the message lists the routes), 405 for the wrong method (with `Allow`), 413 for a
//! body over 1 MiB, 400 for malformed JSON, a missing or unknown field, an unknown fault kind,
//! a fault on a path the simulator does not serve, an unknown account, or unusable callback
//! settings. Bodies are read whatever their `Content-Type` (`curl -d` works as is).
//!
//! # Running it standalone
//!
//! `cargo run --example simulator -- --port 8080` serves it on a fixed port for programs in
//! other languages, control plane included (`--port 0` picks a free port and prints it).

mod accounts;
mod control;
mod customers;
mod fault;
mod knowledge;
mod media;
mod messages;
mod provider;
mod rules;
mod server;
mod servicers;
mod sessions;
mod state;
mod tokens;
mod wire;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use accounts::{MAX_ACCOUNTS, SimAccount};
pub use control::{
    ControlError, CustomerAct, Delivery, Seed, SeedAccount, SeedCustomer, Seeded, SimState,
    StateAccount, StateCounters, StateMessage, StateSession,
};
pub use fault::Fault;
pub use media::{DEFAULT_MAX_MEDIA_BYTES, MAX_MEDIA_FILES, MediaHeld};
pub use messages::SimSentMessage;
pub use provider::{
    DEFAULT_PROVIDER_CORP_ID, DEFAULT_PROVIDER_SECRET, DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET,
    SimCommand, SimSuiteTicket,
};
pub use state::{Counters, UNKNOWN_PATHS};
pub use tokens::TokenIssue;

use crate::clock::{Clock, SystemClock};
use crate::{Client, ClientBuilder};
use state::{Shared, World};

/// The corp id a simulator accepts unless told otherwise.
pub const DEFAULT_CORP_ID: &str = "wwsimulatedcorp";
/// The secret a simulator accepts unless told otherwise.
pub const DEFAULT_CORP_SECRET: &str = "simulated-kf-secret";
/// WeCom's usual token lifetime, the simulator's default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(7200);
/// How long a client may take to send a request's headers (or to start the next request on a
/// kept-alive connection) by default: [`SimulatorBuilder::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body by default:
/// [`SimulatorBuilder::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many connections the simulator serves at once by default:
/// [`SimulatorBuilder::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Timeouts longer than this (a year) are taken as this, so that a deadline never overflows.
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 86_400);

/// A running simulator. The server stops (and its connections close) when this is dropped.
///
/// `Debug` shows no secret (the corp secret as `***`, tokens and codes only counted) and no
/// bulk data (media, messages, accounts counted and sized).
pub struct Simulator {
    addr: SocketAddr,
    corp_id: String,
    corp_secret: String,
    shared: Arc<Shared>,
    /// The operations the Rust API and the `/__sim/` routes share.
    control: Arc<control::Control>,
    server: JoinHandle<()>,
    /// The background suite_ticket pushes, if asked for
    /// ([`SimulatorBuilder::suite_ticket_schedule`]).
    ticket_schedule: Option<JoinHandle<()>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &"***")
            .field("state", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(schedule) = &self.ticket_schedule {
            schedule.abort();
        }
    }
}

impl Simulator {
    /// Starts a simulator with the defaults on `127.0.0.1` and a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for a simulator with another corp id, secret, token TTL, clock or port.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// The base URL to give [`ClientBuilder::base_url`], e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server: once this returns, the port is closed and no new call is answered.
    /// Calls held by [`Fault::Hold`] or [`Fault::Delay`] are not waited for.
    pub async fn shutdown(mut self) {
        if let Some(schedule) = &self.ticket_schedule {
            schedule.abort();
        }
        self.server.abort();
        // Cancelled is the expected outcome; the listener is closed once this returns.
        let _ = (&mut self.server).await;
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The corp id the simulator accepts.
    pub fn corp_id(&self) -> &str {
        &self.corp_id
    }

    /// The secret the simulator accepts (a test value, not a real secret).
    pub fn corp_secret(&self) -> &str {
        &self.corp_secret
    }

    /// A client builder already pointed at this simulator with its credentials.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .corp_id(&self.corp_id)
            .corp_secret(&self.corp_secret)
            .base_url(self.base_url())
    }

    /// The service provider's corp id the simulator accepts in `service/get_provider_token`
    /// ([`DEFAULT_PROVIDER_CORP_ID`]).
    pub fn provider_corp_id(&self) -> String {
        self.shared.world().providers.corp_id.clone()
    }

    /// The provider secret it accepts ([`DEFAULT_PROVIDER_SECRET`], a test value).
    pub fn provider_secret(&self) -> String {
        self.shared.world().providers.secret().to_owned()
    }

    /// Adds a third-party suite with its secret (the simulator starts with
    /// [`DEFAULT_SUITE_ID`]); adding a known suite again replaces its secret only.
    pub fn add_suite(&self, suite_id: &str, suite_secret: &str) {
        self.shared
            .world()
            .providers
            .add_suite(suite_id, suite_secret);
    }

    /// WeCom pushes a new suite_ticket for `suite_id` now (by the simulator's clock), as it
    /// does every 10 minutes; the ticket is good for `get_suite_token` for 30 minutes, whatever
    /// newer ones follow. `None` for an unknown suite. The simulator does not deliver it: hand
    /// it to the store the way your command callback would.
    pub fn push_suite_ticket(&self, suite_id: &str) -> Option<SimSuiteTicket> {
        self.control.push_suite_ticket(suite_id)
    }

    /// The newest suite_ticket pushed for `suite_id`, if any.
    pub fn suite_ticket(&self, suite_id: &str) -> Option<SimSuiteTicket> {
        self.control.suite_ticket(suite_id)
    }

    /// `auth_corpid` installs suite `suite_id`: answers the permanent code `get_corp_token`
    /// then accepts (a reinstall issues a new one; the old stops working). The corp tokens it
    /// issues are accepted by every kf endpoint (which play this simulator's one kf state).
    /// `None` for an unknown suite.
    pub fn authorise_corp(&self, suite_id: &str, auth_corpid: &str) -> Option<String> {
        self.shared
            .world()
            .providers
            .authorise(suite_id, auth_corpid)
    }

    /// `auth_corpid` cancels suite `suite_id`: its permanent code answers 40084 and its tokens
    /// 40014. Whether it was authorised.
    pub fn cancel_authorisation(&self, suite_id: &str, auth_corpid: &str) -> bool {
        self.shared.world().providers.cancel(suite_id, auth_corpid)
    }

    /// `auth_corpid` installs suite `suite_id` now (by the simulator's clock), with the install
    /// link's `state`: answers the `create_auth` command WeCom sends the suite's command URL,
    /// whose auth code `service/v2/get_permanent_code` exchanges once, within 10 minutes, for
    /// the corp's permanent code (then 40078). `None` for an unknown suite. Hand its XML to
    /// `CommandEvent::parse` the way your command callback would after decrypting.
    pub fn install_corp(
        &self,
        suite_id: &str,
        auth_corpid: &str,
        state: Option<&str>,
    ) -> Option<SimCommand> {
        let now = self.shared.clock.now();
        self.shared
            .world()
            .providers
            .install(suite_id, auth_corpid, state, now)
    }

    /// The corp's permanent code is reset (代开发): answers the `reset_permanent_code` command,
    /// whose auth code exchanges for a new permanent code (the old one then answers 40084).
    /// `None` unless the corp authorised the suite.
    pub fn reset_permanent_code(&self, suite_id: &str, auth_corpid: &str) -> Option<SimCommand> {
        let now = self.shared.clock.now();
        self.shared
            .world()
            .providers
            .reset_permanent_code(suite_id, auth_corpid, now)
    }

    /// The corp removes suite `suite_id` ([`cancel_authorisation`](Self::cancel_authorisation))
    /// and WeCom sends `cancel_auth`: answers that command, `None` unless the corp had
    /// authorised the suite.
    pub fn uninstall_corp(&self, suite_id: &str, auth_corpid: &str) -> Option<SimCommand> {
        let now = self.shared.clock.now();
        self.shared
            .world()
            .providers
            .uninstall(suite_id, auth_corpid, now)
    }

    /// The `suite_ticket` command WeCom sends for `ticket` (from
    /// [`push_suite_ticket`](Self::push_suite_ticket)).
    pub fn suite_ticket_command(&self, ticket: &SimSuiteTicket) -> SimCommand {
        provider::Providers::ticket_command(ticket)
    }

    /// Delivers suite `suite_id`'s command callbacks (指令回调):
    /// [`deliver_command`](Self::deliver_command) POSTs them to `url`, encrypted and signed
    /// with the suite's `token` and `encoding_aes_key`, receive id the suite id.
    pub fn set_command_callback(
        &self,
        suite_id: &str,
        url: impl Into<String>,
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<(), crate::callback::CallbackError> {
        self.control
            .set_command_callback(suite_id, url.into(), token, encoding_aes_key)
    }

    /// POSTs `command` (from [`install_corp`](Self::install_corp),
    /// [`suite_ticket_command`](Self::suite_ticket_command), …) to its suite's command URL,
    /// as WeCom does: answers the provider's HTTP status if it answered `success` within
    /// 1000 ms, else why not. Every attempt is counted
    /// ([`command_deliveries`](Self::command_deliveries)).
    pub async fn deliver_command(&self, command: &SimCommand) -> Result<u16, String> {
        self.control.deliver_command(command).await
    }

    /// WeCom's schedule, by the simulator's clock: every suite whose newest suite_ticket is 10
    /// minutes old or more (or that has none) gets a new one, delivered to its command URL if
    /// one is set ([`set_command_callback`](Self::set_command_callback)). Answers each ticket
    /// pushed with its delivery (`None` without a URL). Call it after advancing a manual
    /// clock; nothing runs in the background.
    pub async fn push_due_suite_tickets(
        &self,
    ) -> Vec<(SimSuiteTicket, Option<Result<u16, String>>)> {
        self.control.push_due_suite_tickets().await
    }

    /// How many command deliveries of `info_type` were attempted.
    pub fn command_deliveries(&self, info_type: &str) -> u64 {
        self.shared
            .world()
            .providers
            .deliveries
            .get(info_type)
            .copied()
            .unwrap_or(0)
    }

    /// Every suite token expires now: `get_corp_token` answers 42009 to it.
    pub fn expire_suite_tokens(&self) {
        let now = self.shared.clock.now();
        self.shared.world().providers.expire_suite_tokens(now);
    }

    /// Every suite token is forgotten: `get_corp_token` answers 40082 to it.
    pub fn revoke_suite_tokens(&self) {
        self.shared.world().providers.revoke_suite_tokens();
    }

    /// Every token issued so far expires now: its next use is answered 42001, and `gettoken`
    /// issues a new one.
    pub fn expire_tokens(&self) {
        self.control.expire_tokens();
    }

    /// Every token issued so far is revoked: its next use is answered 40014 (WeCom may
    /// invalidate tokens early "for operational reasons").
    pub fn revoke_tokens(&self) {
        self.control.revoke_tokens();
    }

    /// The lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.shared.world().tokens.set_ttl(ttl);
    }

    /// Plays `fault` on the next `times` calls to `path` (`"kf/account/list"`, `"gettoken"`;
    /// a `/cgi-bin/` prefix is accepted). Faults already queued on the path play first.
    pub fn inject(&self, path: &str, fault: Fault, times: u32) {
        self.control.inject(path, fault, times);
    }

    /// Lets one call on `path` held by [`Fault::Hold`] go on (the oldest waiting, or the next
    /// to arrive if none waits yet).
    pub fn release(&self, path: &str) {
        self.control.release(path);
    }

    /// Calls on `path` that queued faults will still hit.
    pub fn pending_faults(&self, path: &str) -> u32 {
        self.control.pending_faults(path)
    }

    /// Forgets every queued fault.
    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.control.counters()
    }

    /// Sets every counter back to zero.
    pub fn reset_counters(&self) {
        self.shared.world().counters = Counters::default();
    }

    /// Waits until at least `n` calls on `path` have taken effect, counted since the start (or
    /// the last [`reset_counters`](Self::reset_counters)). For tests that must see a delayed
    /// call land without sleeping.
    pub async fn wait_for_effects(&self, path: &str, n: u64) {
        self.wait_until(|c| c.effects(path) >= n).await;
    }

    /// Waits until at least `n` calls on `path` have arrived (whether or not they took effect
    /// yet), counted like [`wait_for_effects`](Self::wait_for_effects). For tests that act while
    /// a call is held by a [`Fault::Hold`] or a [`Fault::Delay`].
    pub async fn wait_for_calls(&self, path: &str, n: u64) {
        self.wait_until(|c| c.calls(path) >= n).await;
    }

    async fn wait_until(&self, done: impl Fn(&Counters) -> bool) {
        loop {
            let notified = self.shared.counted.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(&self.counters()) {
                return;
            }
            notified.await;
        }
    }

    /// The uploaded media kept now: files under 3 days old (by the simulator's clock) that
    /// newer uploads have not pushed out (see [`SimulatorBuilder::max_media_bytes`]).
    pub fn media_held(&self) -> MediaHeld {
        let now = self.shared.clock.now();
        self.shared.world().media.held(now)
    }

    /// The accounts the simulated corp holds, in creation order.
    pub fn accounts(&self) -> Vec<SimAccount> {
        self.shared.world().accounts.snapshot()
    }

    /// Creates an account directly, without a call or the API's checks (for seeding test
    /// data, e.g. enough accounts to need several pages). Returns its `open_kfid`.
    pub fn seed_account(&self, name: &str, media_id: &str) -> String {
        self.control.seed_account(name, media_id)
    }

    /// Adds a member to the corp's directory, so that it can become a servicer
    /// (`kf/servicer/add` refuses unknown userids per item with 60111).
    pub fn seed_member(&self, userid: &str) {
        self.control.seed_member(userid);
    }

    /// Adds a department to the corp's directory (unknown ones are refused per item, 60123).
    pub fn seed_department(&self, department_id: u64) {
        self.shared.world().servicers.add_department(department_id);
    }

    /// A customer the corp has talked to in the last 48 hours: `kf/customer/batchget` finds
    /// them (others come back as invalid ids).
    pub fn seed_customer(&self, external_userid: &str, nickname: &str) {
        self.control.seed_customer(external_userid, nickname);
    }

    /// The members and group chats the upgrade service may recommend (others are 95021).
    pub fn configure_upgrade_service<M, C>(&self, member_userids: M, chat_ids: C)
    where
        M: IntoIterator,
        M::Item: Into<String>,
        C: IntoIterator,
        C::Item: Into<String>,
    {
        self.shared.world().customers.configure_upgrade(
            member_userids.into_iter().map(Into::into).collect(),
            chat_ids.into_iter().map(Into::into).collect(),
        );
    }

    /// The member or chat currently recommended to a customer by an account, if any.
    pub fn upgrade_recommendation(&self, open_kfid: &str, external_userid: &str) -> Option<String> {
        self.shared
            .world()
            .customers
            .upgrade_of(open_kfid, external_userid)
    }

    /// A customer sends a text message to an account: it joins the log `kf/sync_msg` pages
    /// through; a session that has ended (or never begun) starts in state 0, one in states
    /// 0–3 keeps its state. Returns its `msgid`.
    pub fn customer_says(&self, open_kfid: &str, external_userid: &str, text: &str) -> String {
        self.control.customer_says(open_kfid, external_userid, text)
    }

    /// A customer enters a session through a contact link with `scene`: an `enter_session`
    /// event (with a welcome code) joins the log. Returns its `msgid`.
    pub fn customer_enters(&self, open_kfid: &str, external_userid: &str, scene: &str) -> String {
        self.control
            .customer_enters(open_kfid, external_userid, scene)
    }

    /// What `open_kfid` sent with `kf/send_msg`, oldest first (`sync_msg` does not return
    /// these, as in WeCom).
    pub fn sent_messages(&self, open_kfid: &str) -> Vec<SimSentMessage> {
        self.shared.world().messages.sent_by(open_kfid)
    }

    /// A customer sends `texts` in a burst, and WeCom tells the bot: the messages join the log
    /// (as with [`customer_says`](Self::customer_says)), then one callback is POSTed as with
    /// [`notify`](Self::notify) (WeCom may report several messages in one callback). Returns
    /// the bot's HTTP status, or why the delivery failed (the messages stay in the log).
    pub async fn customer_sends(
        &self,
        open_kfid: &str,
        external_userid: &str,
        texts: &[&str],
    ) -> Result<u16, String> {
        for text in texts {
            self.customer_says(open_kfid, external_userid, text);
        }
        self.notify(open_kfid).await
    }

    /// Delivers callbacks to a bot: [`notify`](Self::notify) POSTs them to `url`, encrypted
    /// and signed with the app's `token` and `encoding_aes_key` (43 characters), for this
    /// simulator's corp id.
    pub fn set_callback(
        &self,
        url: impl Into<String>,
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<(), crate::callback::CallbackError> {
        self.control
            .set_callback(url.into(), token, encoding_aes_key)
    }

    /// Tells the bot that `open_kfid` has news, as WeCom does: POSTs an encrypted
    /// `kf_msg_or_event` event (with a fresh `sync_msg` token and nonce) to the callback URL.
    /// Returns the bot's HTTP status, or why the delivery failed (including no answer within
    /// WeCom's 5 seconds).
    pub async fn notify(&self, open_kfid: &str) -> Result<u16, String> {
        self.control.notify(open_kfid).await
    }

    /// The `Token` a `kf_msg_or_event` callback for `open_kfid` would carry now: `sync_msg`
    /// accepts it for 10 minutes (by the simulator's clock), then answers 95007.
    pub fn sync_token(&self, open_kfid: &str) -> String {
        let now = self.shared.clock.now();
        self.shared.world().messages.issue_token(open_kfid, now)
    }

    /// A customer writes to an account, as after a real message: a session that has ended or
    /// never begun starts in state 0 (untreated); one in states 0–3 keeps its state. Sessions
    /// never seeded are in state 4 (ended or not started).
    pub fn seed_session(&self, open_kfid: &str, external_userid: &str) {
        self.shared
            .world()
            .sessions
            .customer_writes(open_kfid, external_userid);
    }

    /// Back to the corp as started (`POST /__sim/reset`): no accounts, directory members or
    /// departments, customers, sessions, knowledge base, messages, media, callback, queued
    /// faults or counts. Kept: the configuration, and the tokens issued (so a client's
    /// cached token goes on working; [`expire_tokens`](Self::expire_tokens) or
    /// [`revoke_tokens`](Self::revoke_tokens) drop them). Accounts created afterwards get
    /// new `open_kfid`s; message ids start again from the first.
    pub fn reset(&self) {
        self.control.reset();
    }

    /// A snapshot of the corp (`GET /__sim/state`): accounts, sessions, sent messages,
    /// counters and the callback URL.
    pub fn state(&self) -> SimState {
        self.control.state()
    }

    /// Seeds directory members, customers and accounts in one go (`POST /__sim/seed`), as
    /// [`seed_member`](Self::seed_member), [`seed_customer`](Self::seed_customer) and
    /// [`seed_account`](Self::seed_account) do. Returns the accounts' `open_kfid`s.
    pub fn seed(&self, seed: &Seed) -> Seeded {
        self.control.seed(seed)
    }

    /// A customer writes `text` to a known account (`POST /__sim/customer/message`): as
    /// [`customer_says`](Self::customer_says), then, if a callback is set, one
    /// `kf_msg_or_event` callback as [`notify`](Self::notify) sends it. Refused with
    /// [`ControlError::UnknownAccount`] for an account the corp does not hold.
    pub async fn customer_message(
        &self,
        open_kfid: &str,
        external_userid: &str,
        text: &str,
    ) -> Result<CustomerAct, ControlError> {
        self.control
            .customer_message(open_kfid, external_userid, text)
            .await
    }

    /// A customer enters a known account's session with `scene` (`POST
    /// /__sim/customer/enter`): as [`customer_enters`](Self::customer_enters), then, if a
    /// callback is set, one `kf_msg_or_event` callback. Refused with
    /// [`ControlError::UnknownAccount`] for an account the corp does not hold.
    pub async fn customer_enter(
        &self,
        open_kfid: &str,
        external_userid: &str,
        scene: &str,
    ) -> Result<CustomerAct, ControlError> {
        self.control
            .customer_enter(open_kfid, external_userid, scene)
            .await
    }
}

/// Configures a [`Simulator`]. Obtained with [`Simulator::builder`]. `Debug` shows the corp
/// secret as `***`.
pub struct SimulatorBuilder {
    corp_id: String,
    corp_secret: String,
    token_ttl: Duration,
    token_issue: TokenIssue,
    max_accounts: usize,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
    limits: server::Limits,
    max_media_bytes: usize,
    ticket_schedule: Option<Duration>,
}

impl fmt::Debug for SimulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorBuilder")
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &"***")
            .field("token_ttl", &self.token_ttl)
            .field("token_issue", &self.token_issue)
            .field("max_accounts", &self.max_accounts)
            .field("clock", &self.clock)
            .field("addr", &self.addr)
            .field("limits", &self.limits)
            .field("max_media_bytes", &self.max_media_bytes)
            .finish()
    }
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        Self {
            corp_id: DEFAULT_CORP_ID.to_owned(),
            corp_secret: DEFAULT_CORP_SECRET.to_owned(),
            token_ttl: DEFAULT_TOKEN_TTL,
            token_issue: TokenIssue::default(),
            max_accounts: MAX_ACCOUNTS,
            clock: Arc::new(SystemClock),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            limits: server::Limits {
                header_timeout: DEFAULT_HEADER_TIMEOUT,
                body_timeout: DEFAULT_BODY_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
            },
            max_media_bytes: DEFAULT_MAX_MEDIA_BYTES,
            ticket_schedule: None,
        }
    }
}

impl SimulatorBuilder {
    /// The corp id `gettoken` accepts (default [`DEFAULT_CORP_ID`]).
    pub fn corp_id(mut self, corp_id: impl Into<String>) -> Self {
        self.corp_id = corp_id.into();
        self
    }

    /// The secret `gettoken` accepts (default [`DEFAULT_CORP_SECRET`]).
    pub fn corp_secret(mut self, secret: impl Into<String>) -> Self {
        self.corp_secret = secret.into();
        self
    }

    /// The lifetime of issued tokens (default 7200 s); `expires_in` is sent in whole seconds.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Whether `gettoken` reuses a valid token (default) or issues a fresh one on every call.
    pub fn token_issue(mut self, issue: TokenIssue) -> Self {
        self.token_issue = issue;
        self
    }

    /// The most accounts the corp may hold (default [`MAX_ACCOUNTS`], WeCom's 5000).
    pub fn max_accounts(mut self, max: usize) -> Self {
        self.max_accounts = max;
        self
    }

    /// The clock token expiry is judged by (default the system clock). Share a
    /// [`ManualClock`](crate::clock::ManualClock) with the client's
    /// [`TokenProvider`](crate::TokenProvider) to move both through time without waiting.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// How long a client may take to send a request's headers, and to start its next request on
    /// a kept-alive connection (default [`DEFAULT_HEADER_TIMEOUT`], 10 s); then the connection
    /// is closed without an answer. Longer than a year counts as a year.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// How long a client may take to send a request's whole body, from its headers on
    /// (default [`DEFAULT_BODY_TIMEOUT`], 30 s); then the connection is closed without an
    /// answer. Longer than a year counts as a year.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// How many connections are served at once (default [`DEFAULT_MAX_CONNECTIONS`], 256; at
    /// least 1). A connection beyond it is closed as soon as it is accepted: its client sees
    /// the connection closed before any answer. Kept-alive connections count until they close
    /// (see [`header_timeout`](Self::header_timeout)).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max.max(1);
        self
    }

    /// The most bytes of uploaded media (contents and file names) kept at once (default
    /// [`DEFAULT_MAX_MEDIA_BYTES`], 128 MiB). An upload that would go beyond it drops the
    /// oldest files first (their media_ids then answer 40007, as expired ones do); a file that
    /// alone is larger is refused with 45001. Files are also dropped once 3 days old, and at
    /// most [`MAX_MEDIA_FILES`] are kept.
    pub fn max_media_bytes(mut self, max: usize) -> Self {
        self.max_media_bytes = max;
        self
    }

    /// Plays WeCom's suite_ticket schedule in the background: every `every` of real time,
    /// [`Simulator::push_due_suite_tickets`] runs (so each suite whose newest ticket is 10
    /// minutes old by the simulator's clock gets a new one, delivered to its command URL).
    /// For a simulator that other programs use (`cargo run --example simulator`); tests call
    /// `push_due_suite_tickets` themselves after moving a manual clock. Off by default.
    pub fn suite_ticket_schedule(mut self, every: Duration) -> Self {
        self.ticket_schedule = Some(every.max(Duration::from_millis(10)));
        self
    }

    /// Binds the address and starts serving in a background task of the current tokio runtime.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let instance = instance_id();
        let world = World::new(
            self.corp_id.clone(),
            self.corp_secret.clone(),
            tokens::Tokens::new(self.token_ttl, self.token_issue, instance),
            provider::Providers::new(self.token_ttl, self.token_issue, instance),
            accounts::Accounts::new(self.max_accounts, instance),
            media::Media::new(self.max_media_bytes),
        );
        let shared = Arc::new(Shared::new(world, self.clock));
        let blank = control::Blank {
            token_ttl: self.token_ttl,
            token_issue: self.token_issue,
            max_accounts: self.max_accounts,
            max_media_bytes: self.max_media_bytes,
        };
        let control = Arc::new(control::Control::new(shared.clone(), blank));
        let server = tokio::spawn(server::run(listener, control.clone(), self.limits));
        let ticket_schedule = self.ticket_schedule.map(|every| {
            let control = control.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                loop {
                    ticks.tick().await;
                    control.push_due_suite_tickets().await;
                }
            })
        });
        Ok(Simulator {
            addr,
            corp_id: self.corp_id,
            corp_secret: self.corp_secret,
            shared,
            control,
            server,
            ticket_schedule,
        })
    }
}

/// A per-simulator random number, so that tokens and ids of two simulators never collide.
fn instance_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}
