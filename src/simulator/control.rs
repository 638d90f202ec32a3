//! The control plane: the test-side operations of the simulator (seed data, play a customer,
//! script faults, expire tokens, read the state, reset), as one set of functions that both
//! the Rust API ([`Simulator`](super::Simulator)'s methods) and the JSON routes under
//! `/__sim/` on the simulator's own port call.
//!
//! The routes are for tests on 127.0.0.1: they need no access token, are not counted in the
//! WeCom counters, and a bad request (unknown route, wrong method, malformed JSON, a missing
//! or unknown field, an unknown fault kind or account) is answered 400, 404 or 405 with a
//! JSON body `{"error": "..."}`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::accounts::Accounts;
use super::fault::Fault;
use super::media::Media;
use super::messages::SimSentMessage;
use super::provider::SimSuiteTicket;
use super::state::{Counters, Shared, World, path_key, serves};
use super::tokens::{TokenIssue, Tokens};
use super::wire::JSON_CONTENT_TYPE;
use crate::callback::{CallbackCrypto, CallbackError};

/// Paths under this (and this path itself) are the control plane's.
pub(crate) const PREFIX: &str = "/__sim";

/// Control request bodies above this are refused with 413.
pub(crate) const MAX_CONTROL_BODY_BYTES: usize = 1024 * 1024;

/// How long WeCom waits for a bot to answer a callback.
const CALLBACK_DEADLINE: Duration = Duration::from_secs(5);

/// WeCom waits 1000 ms for a provider's `success` to a command callback (指令回调).
const COMMAND_DEADLINE: Duration = Duration::from_millis(1000);

/// Whether `path` (a request's URI path) belongs to the control plane.
pub(crate) fn is_control_path(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The configuration a reset rebuilds the corp with (the builder's, as started).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blank {
    pub(crate) token_ttl: Duration,
    pub(crate) token_issue: TokenIssue,
    pub(crate) max_accounts: usize,
    pub(crate) max_media_bytes: usize,
}

/// The operations behind both faces of the control plane.
pub(crate) struct Control {
    shared: Arc<Shared>,
    blank: Blank,
}

/// The configuration and the world as [`Shared`]'s `Debug` shows it (no secret).
impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("shared", &self.shared)
            .field("blank", &self.blank)
            .finish()
    }
}

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The simulated corp holds no account with this `open_kfid`.
    #[error("unknown account {0:?}")]
    UnknownAccount(String),
    /// The path is not an endpoint the simulator serves (faults are scripted per endpoint).
    #[error("unknown path {0:?}: not an endpoint the simulator serves")]
    UnknownPath(String),
    /// The callback settings are unusable.
    #[error(transparent)]
    Callback(#[from] CallbackError),
}

/// Data to seed in one go, with [`Simulator::seed`](super::Simulator::seed) or
/// `POST /__sim/seed`: directory members (who may then become servicers), customers (whom
/// `kf/customer/batchget` finds) and accounts (created without the API's checks).
///
/// As JSON: `{"members": ["zhangsan"], "customers": [{"external_userid": "wm1", "nickname":
/// "Alice"}], "accounts": [{"name": "咨询客服", "media_id": "MEDIA"}]}`; every list may be
/// left out, a customer's `nickname` too (empty then).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Seed {
    /// Userids added to the corp's directory.
    pub members: Vec<String>,
    /// Customers the corp has talked to.
    pub customers: Vec<SeedCustomer>,
    /// Accounts to create, in this order.
    pub accounts: Vec<SeedAccount>,
}

impl Seed {
    /// Nothing to seed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a member of the directory.
    pub fn member(mut self, userid: impl Into<String>) -> Self {
        self.members.push(userid.into());
        self
    }

    /// Adds a customer.
    pub fn customer(
        mut self,
        external_userid: impl Into<String>,
        nickname: impl Into<String>,
    ) -> Self {
        self.customers.push(SeedCustomer {
            external_userid: external_userid.into(),
            nickname: nickname.into(),
        });
        self
    }

    /// Adds an account.
    pub fn account(mut self, name: impl Into<String>, media_id: impl Into<String>) -> Self {
        self.accounts.push(SeedAccount {
            name: name.into(),
            media_id: media_id.into(),
        });
        self
    }
}

/// A customer of a [`Seed`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedCustomer {
    /// The customer's id.
    pub external_userid: String,
    /// The nickname `kf/customer/batchget` answers (empty when left out).
    #[serde(default)]
    pub nickname: String,
}

/// An account of a [`Seed`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedAccount {
    /// Its display name.
    pub name: String,
    /// Its avatar `media_id`.
    pub media_id: String,
}

/// What [`Simulator::seed`](super::Simulator::seed) created: `{"open_kfids": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Seeded {
    /// The `open_kfid` of each seeded account, in the order given.
    pub open_kfids: Vec<String>,
}

/// What a customer's message or entry did, from
/// [`Simulator::customer_message`](super::Simulator::customer_message) and
/// [`Simulator::customer_enter`](super::Simulator::customer_enter): `{"msgid": "...",
/// "callback": {"status": 200}}` (`callback` left out when none is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomerAct {
    /// The `msgid` of the message or event in the log `kf/sync_msg` pages through.
    pub msgid: String,
    /// How the `kf_msg_or_event` callback went, if a callback is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Delivery>,
}

/// How one callback delivery went: `{"status": 200}` or `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Delivery {
    /// The bot answered with this HTTP status.
    Answered {
        /// The HTTP status.
        status: u16,
    },
    /// The delivery failed (no connection, no answer within WeCom's 5 seconds, …).
    Failed {
        /// Why.
        error: String,
    },
}

impl From<Result<u16, String>> for Delivery {
    fn from(result: Result<u16, String>) -> Self {
        match result {
            Ok(status) => Self::Answered { status },
            Err(error) => Self::Failed { error },
        }
    }
}

/// A snapshot of the simulated corp, from [`Simulator::state`](super::Simulator::state) and
/// `GET /__sim/state`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SimState {
    /// The accounts, in creation order.
    pub accounts: Vec<StateAccount>,
    /// The sessions the simulator knows (a session it never saw is in state 4), by account
    /// and customer.
    pub sessions: Vec<StateSession>,
    /// What the accounts sent (`kf/send_msg`, `kf/send_msg_on_event`), account by account in
    /// creation order, oldest first.
    pub sent_messages: Vec<StateMessage>,
    /// The WeCom counters.
    pub counters: StateCounters,
    /// Where callbacks go, once set.
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// An account in a [`SimState`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StateAccount {
    /// Its id.
    pub open_kfid: String,
    /// Its display name.
    pub name: String,
    /// Its avatar `media_id`.
    pub media_id: String,
}

/// A session in a [`SimState`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StateSession {
    /// The account.
    pub open_kfid: String,
    /// The customer.
    pub external_userid: String,
    /// The session state (0 untreated, 1 bot, 2 queued, 3 servicer, 4 ended).
    pub state: i64,
    /// The servicer, in state 3.
    #[serde(default)]
    pub servicer_userid: Option<String>,
}

/// A sent message in a [`SimState`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StateMessage {
    /// The account that sent it.
    pub open_kfid: String,
    /// The customer.
    pub touser: String,
    /// Its msgid.
    pub msgid: String,
    /// Its `msgtype`.
    pub msgtype: String,
}

/// The counters in a [`SimState`]: `gettoken` calls, then calls received and calls that took
/// effect per path (as [`Counters`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StateCounters {
    /// `gettoken` calls received.
    pub gettoken: u64,
    /// Calls received per path.
    pub calls: BTreeMap<String, u64>,
    /// Calls that took effect per path.
    pub effects: BTreeMap<String, u64>,
}

impl From<Counters> for StateCounters {
    fn from(counters: Counters) -> Self {
        Self {
            gettoken: counters.gettoken_calls(),
            calls: counters.calls,
            effects: counters.effects,
        }
    }
}

/// [`Fault`] as JSON: `{"http_status": 502}`, `{"errcode": -1}`, `{"delay_ms": 1500}`,
/// `"hold"`, `"drop_before_answer"`, `"drop_after_effect"`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FaultWire {
    HttpStatus(u16),
    Errcode(i64),
    DelayMs(u64),
    Hold,
    DropBeforeAnswer,
    DropAfterEffect,
}

/// As the control plane reads it: `{"http_status": 502}`, `{"errcode": -1}`,
/// `{"delay_ms": 1500}` (a [`Fault::Delay`] in whole milliseconds), `"hold"`,
/// `"drop_before_answer"`, `"drop_after_effect"`.
impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wire = match self {
            Self::HttpStatus(status) => FaultWire::HttpStatus(*status),
            Self::Errcode(code) => FaultWire::Errcode(*code),
            Self::Delay(delay) => {
                FaultWire::DelayMs(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
            }
            Self::Hold => FaultWire::Hold,
            Self::DropBeforeAnswer => FaultWire::DropBeforeAnswer,
            Self::DropAfterEffect => FaultWire::DropAfterEffect,
        };
        wire.serialize(serializer)
    }
}

/// The JSON forms its `Serialize` writes; an `http_status` must be a
/// valid HTTP status (100–999).
impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match FaultWire::deserialize(deserializer)? {
            FaultWire::HttpStatus(status) => {
                StatusCode::from_u16(status).map_err(|_| {
                    serde::de::Error::custom(format_args!("{status} is not an HTTP status"))
                })?;
                Self::HttpStatus(status)
            }
            FaultWire::Errcode(code) => Self::Errcode(code),
            FaultWire::DelayMs(ms) => Self::Delay(Duration::from_millis(ms)),
            FaultWire::Hold => Self::Hold,
            FaultWire::DropBeforeAnswer => Self::DropBeforeAnswer,
            FaultWire::DropAfterEffect => Self::DropAfterEffect,
        })
    }
}

impl Control {
    pub(crate) fn new(shared: Arc<Shared>, blank: Blank) -> Self {
        Self { shared, blank }
    }

    /// The state shared with the server.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Back to the corp as started: no accounts, directory, customers, sessions, knowledge,
    /// messages, media, callback, faults or counts. Issued tokens stay valid (a client's
    /// cached token goes on working) and the token TTL stays as last set; so do the provider's
    /// suites, tickets and authorised corps.
    pub(crate) fn reset(&self) {
        let blank = self.blank;
        let mut world = self.shared.world();
        let placeholder = Tokens::new(blank.token_ttl, blank.token_issue, 0);
        let tokens = std::mem::replace(&mut world.tokens, placeholder);
        let no_providers = super::provider::Providers::new(blank.token_ttl, blank.token_issue, 0);
        let providers = std::mem::replace(&mut world.providers, no_providers);
        *world = World::new(
            world.corp_id.clone(),
            world.corp_secret.clone(),
            tokens,
            providers,
            // A new instance: accounts created after the reset never reuse an old open_kfid.
            Accounts::new(blank.max_accounts, super::instance_id()),
            Media::new(blank.max_media_bytes),
        );
        drop(world);
        self.shared.counted.notify_waiters();
    }

    pub(crate) fn state(&self) -> SimState {
        let world = self.shared.world();
        let accounts = world.accounts.snapshot();
        let sent_messages = accounts
            .iter()
            .flat_map(|account| {
                let open_kfid = &account.open_kfid;
                world
                    .messages
                    .sent_by(open_kfid)
                    .into_iter()
                    .map(move |m: SimSentMessage| StateMessage {
                        open_kfid: open_kfid.clone(),
                        touser: m.touser,
                        msgid: m.msgid,
                        msgtype: m.msgtype,
                    })
            })
            .collect();
        let sessions = world
            .sessions
            .snapshot()
            .into_iter()
            .map(
                |(open_kfid, external_userid, state, servicer_userid)| StateSession {
                    open_kfid,
                    external_userid,
                    state,
                    servicer_userid,
                },
            )
            .collect();
        SimState {
            accounts: accounts
                .into_iter()
                .map(|a| StateAccount {
                    open_kfid: a.open_kfid,
                    name: a.name,
                    media_id: a.media_id,
                })
                .collect(),
            sessions,
            sent_messages,
            counters: world.counters.clone().into(),
            callback_url: world.callback.as_ref().map(|(url, _)| url.clone()),
        }
    }

    pub(crate) fn seed_account(&self, name: &str, media_id: &str) -> String {
        self.shared.world().accounts.insert(name, media_id)
    }

    pub(crate) fn seed_member(&self, userid: &str) {
        self.shared.world().servicers.add_member(userid);
    }

    pub(crate) fn seed_customer(&self, external_userid: &str, nickname: &str) {
        self.shared.world().customers.add(external_userid, nickname);
    }

    pub(crate) fn seed(&self, seed: &Seed) -> Seeded {
        for userid in &seed.members {
            self.seed_member(userid);
        }
        for customer in &seed.customers {
            self.seed_customer(&customer.external_userid, &customer.nickname);
        }
        Seeded {
            open_kfids: seed
                .accounts
                .iter()
                .map(|a| self.seed_account(&a.name, &a.media_id))
                .collect(),
        }
    }

    pub(crate) fn customer_says(
        &self,
        open_kfid: &str,
        external_userid: &str,
        text: &str,
    ) -> String {
        let now = self.shared.clock.now();
        let mut world = self.shared.world();
        world.sessions.customer_writes(open_kfid, external_userid);
        world
            .messages
            .customer_text(open_kfid, external_userid, text, now)
    }

    pub(crate) fn customer_enters(
        &self,
        open_kfid: &str,
        external_userid: &str,
        scene: &str,
    ) -> String {
        let now = self.shared.clock.now();
        self.shared
            .world()
            .messages
            .customer_enters(open_kfid, external_userid, scene, now)
    }

    /// The account must exist.
    fn known_account(&self, open_kfid: &str) -> Result<(), ControlError> {
        if self.shared.world().accounts.check_exists(open_kfid).is_ok() {
            Ok(())
        } else {
            Err(ControlError::UnknownAccount(open_kfid.to_owned()))
        }
    }

    /// Whether a callback is set.
    fn has_callback(&self) -> bool {
        self.shared.world().callback.is_some()
    }

    pub(crate) async fn customer_message(
        &self,
        open_kfid: &str,
        external_userid: &str,
        text: &str,
    ) -> Result<CustomerAct, ControlError> {
        self.known_account(open_kfid)?;
        let msgid = self.customer_says(open_kfid, external_userid, text);
        Ok(CustomerAct {
            msgid,
            callback: self.notify_if_set(open_kfid).await,
        })
    }

    pub(crate) async fn customer_enter(
        &self,
        open_kfid: &str,
        external_userid: &str,
        scene: &str,
    ) -> Result<CustomerAct, ControlError> {
        self.known_account(open_kfid)?;
        let msgid = self.customer_enters(open_kfid, external_userid, scene);
        Ok(CustomerAct {
            msgid,
            callback: self.notify_if_set(open_kfid).await,
        })
    }

    async fn notify_if_set(&self, open_kfid: &str) -> Option<Delivery> {
        if !self.has_callback() {
            return None;
        }
        Some(self.notify(open_kfid).await.into())
    }

    pub(crate) fn set_callback(
        &self,
        url: String,
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<(), CallbackError> {
        let mut world = self.shared.world();
        let crypto = CallbackCrypto::new(token, encoding_aes_key, &world.corp_id)?;
        world.callback = Some((url, crypto));
        Ok(())
    }

    pub(crate) async fn notify(&self, open_kfid: &str) -> Result<u16, String> {
        let now = self.shared.clock.now();
        let secs = crate::clock::unix_secs(now);
        let (url, crypto, token, corp) = {
            let mut world = self.shared.world();
            let (url, crypto) = world
                .callback
                .clone()
                .ok_or_else(|| "no callback set: call set_callback first".to_owned())?;
            let token = world.messages.issue_token(open_kfid, now);
            (url, crypto, token, world.corp_id.clone())
        };
        let event = format!(
            "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>{secs}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>",
        );
        // WeCom waits 5 seconds for a bot's answer.
        let response = post_sealed(&url, &crypto, &corp, &event, secs, CALLBACK_DEADLINE).await?;
        Ok(response.status().as_u16())
    }

    pub(crate) fn set_command_callback(
        &self,
        suite_id: &str,
        url: String,
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<(), CallbackError> {
        let crypto = CallbackCrypto::new(token, encoding_aes_key, suite_id)?;
        self.shared
            .world()
            .providers
            .command_urls
            .insert(suite_id.to_owned(), (url, crypto));
        Ok(())
    }

    /// POSTs `command`, encrypted for its suite, to the suite's command URL; the provider
    /// must answer `success` within [`COMMAND_DEADLINE`].
    /// WeCom's schedule, by the simulator's clock: a new ticket for every suite whose newest
    /// is 10 minutes old or more (or that has none), each delivered to its command URL if set.
    pub(crate) async fn push_due_suite_tickets(
        &self,
    ) -> Vec<(super::SimSuiteTicket, Option<Result<u16, String>>)> {
        let now = self.shared.clock.now();
        let pushed = self.shared.world().providers.push_due_tickets(now);
        let mut delivered = Vec::with_capacity(pushed.len());
        for ticket in pushed {
            let has_url = self
                .shared
                .world()
                .providers
                .command_urls
                .contains_key(&ticket.suite_id);
            let delivery = if has_url {
                let command = super::provider::Providers::ticket_command(&ticket);
                Some(self.deliver_command(&command).await)
            } else {
                None
            };
            delivered.push((ticket, delivery));
        }
        delivered
    }

    pub(crate) async fn deliver_command(&self, command: &super::SimCommand) -> Result<u16, String> {
        let secs = crate::clock::unix_secs(self.shared.clock.now());
        let (url, crypto) = {
            let mut world = self.shared.world();
            *world
                .providers
                .deliveries
                .entry(command.info_type.clone())
                .or_default() += 1;
            world
                .providers
                .command_urls
                .get(&command.suite_id)
                .cloned()
                .ok_or_else(|| {
                    "no command callback set: call set_command_callback first".to_owned()
                })?
        };
        let response = post_sealed(
            &url,
            &crypto,
            &command.suite_id,
            &command.xml,
            secs,
            COMMAND_DEADLINE,
        )
        .await?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if text.trim() != "success" {
            return Err(format!("answered {status} without `success`"));
        }
        Ok(status)
    }

    pub(crate) fn inject(&self, path: &str, fault: Fault, times: u32) {
        self.shared
            .world()
            .faults
            .push(path_key(path).to_owned(), fault, times);
    }

    pub(crate) fn pending_faults(&self, path: &str) -> u32 {
        self.shared.world().faults.pending(path_key(path))
    }

    pub(crate) fn release(&self, path: &str) {
        self.shared.release(path_key(path));
    }

    pub(crate) fn expire_tokens(&self) {
        let now = self.shared.clock.now();
        let mut world = self.shared.world();
        world.tokens.expire_all(now);
        world.providers.expire_all(now);
    }

    pub(crate) fn revoke_tokens(&self) {
        let mut world = self.shared.world();
        world.tokens.revoke_all();
        world.providers.revoke_all();
    }

    pub(crate) fn push_suite_ticket(&self, suite_id: &str) -> Option<SimSuiteTicket> {
        let now = self.shared.clock.now();
        self.shared.world().providers.push_ticket(suite_id, now)
    }

    pub(crate) fn suite_ticket(&self, suite_id: &str) -> Option<SimSuiteTicket> {
        self.shared.world().providers.current_ticket(suite_id)
    }

    pub(crate) fn authorise_corp(&self, suite_id: &str, auth_corpid: &str) -> Option<String> {
        self.shared
            .world()
            .providers
            .authorise(suite_id, auth_corpid)
    }

    pub(crate) fn counters(&self) -> Counters {
        self.shared.world().counters.clone()
    }

    /// Answers one control request (its path starts with [`PREFIX`]).
    pub(crate) async fn answer(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Response<Full<Bytes>> {
        match self.route(method, path, body).await {
            Ok(value) => json_response(StatusCode::OK, &value),
            Err(refused) => {
                let mut response = json_response(
                    refused.status,
                    &serde_json::json!({"error": refused.message}),
                );
                if let Some(allow) = refused.allow {
                    response
                        .headers_mut()
                        .insert(ALLOW, HeaderValue::from_static(allow));
                }
                response
            }
        }
    }

    async fn route(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
    ) -> Result<serde_json::Value, Refused> {
        let route = path.strip_prefix(PREFIX).unwrap_or(path);
        let Some(&(_, expected, op)) = ROUTES.iter().find(|(r, _, _)| *r == route) else {
            return Err(Refused::not_found(path));
        };
        if method.as_str() != expected {
            return Err(Refused {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: format!("{path} takes {expected}, not {method}"),
                allow: Some(expected),
            });
        }
        let ok = || serde_json::json!({"ok": true});
        Ok(match op {
            Op::Reset => {
                self.reset();
                ok()
            }
            Op::State => to_json(&self.state())?,
            Op::Seed => to_json(&self.seed(&parse::<Seed>(body)?))?,
            Op::CustomerMessage => {
                let b: CustomerMessageBody = parse(body)?;
                let act = self
                    .customer_message(&b.open_kfid, &b.external_userid, &b.text)
                    .await?;
                to_json(&act)?
            }
            Op::CustomerEnter => {
                let b: CustomerEnterBody = parse(body)?;
                let act = self
                    .customer_enter(&b.open_kfid, &b.external_userid, &b.scene)
                    .await?;
                to_json(&act)?
            }
            Op::Callback => {
                let b: CallbackBody = parse(body)?;
                self.set_callback(b.url, &b.token, &b.encoding_aes_key)
                    .map_err(ControlError::from)?;
                ok()
            }
            Op::Faults => {
                let b: FaultBody = parse(body)?;
                let path = known_path(&b.path)?;
                self.inject(path, b.fault, b.times);
                serde_json::json!({"pending": self.pending_faults(path)})
            }
            Op::Release => {
                let b: PathBody = parse(body)?;
                self.release(known_path(&b.path)?);
                ok()
            }
            Op::ExpireTokens => {
                self.expire_tokens();
                ok()
            }
            Op::RevokeTokens => {
                self.revoke_tokens();
                ok()
            }
            Op::PushSuiteTicket | Op::SuiteTicket => {
                let b: SuiteBody = parse(body)?;
                let ticket = match op {
                    Op::PushSuiteTicket => self.push_suite_ticket(&b.suite_id),
                    _ => self.suite_ticket(&b.suite_id),
                };
                let ticket = ticket.ok_or_else(|| unknown_suite(&b.suite_id))?;
                serde_json::json!({
                    "suite_id": ticket.suite_id,
                    "suite_ticket": ticket.ticket,
                    "timestamp": ticket.timestamp,
                })
            }
            Op::PushDueSuiteTickets => {
                let pushed: Vec<_> = self
                    .push_due_suite_tickets()
                    .await
                    .into_iter()
                    .map(|(ticket, delivery)| {
                        serde_json::json!({
                            "suite_id": ticket.suite_id,
                            "timestamp": ticket.timestamp,
                            "delivery": delivery.map(Delivery::from),
                        })
                    })
                    .collect();
                serde_json::json!({ "pushed": pushed })
            }
            Op::CommandCallback => {
                let b: CommandCallbackBody = parse(body)?;
                self.set_command_callback(&b.suite_id, b.url, &b.token, &b.encoding_aes_key)
                    .map_err(ControlError::from)?;
                ok()
            }
            Op::Install | Op::Uninstall => {
                let b: InstallBody = parse(body)?;
                let command = {
                    let now = self.shared.clock.now();
                    let mut world = self.shared.world();
                    match op {
                        Op::Install => world.providers.install(
                            &b.suite_id,
                            &b.auth_corpid,
                            b.state.as_deref(),
                            now,
                        ),
                        _ => world.providers.uninstall(&b.suite_id, &b.auth_corpid, now),
                    }
                };
                let command = command.ok_or_else(|| unknown_suite(&b.suite_id))?;
                let delivery: Delivery = self.deliver_command(&command).await.into();
                serde_json::json!({
                    "info_type": command.info_type,
                    "auth_code": command.auth_code,
                    "delivery": to_json(&delivery)?,
                })
            }
            Op::Authorise => {
                let b: AuthoriseBody = parse(body)?;
                let code = self
                    .authorise_corp(&b.suite_id, &b.auth_corpid)
                    .ok_or_else(|| unknown_suite(&b.suite_id))?;
                serde_json::json!({"permanent_code": code})
            }
        })
    }
}

/// The control operations the routes reach.
#[derive(Debug, Clone, Copy)]
enum Op {
    Reset,
    State,
    Seed,
    CustomerMessage,
    CustomerEnter,
    Callback,
    Faults,
    Release,
    ExpireTokens,
    RevokeTokens,
    PushSuiteTicket,
    SuiteTicket,
    Authorise,
    PushDueSuiteTickets,
    CommandCallback,
    Install,
    Uninstall,
}

/// Each route (after [`PREFIX`]), its method and its operation.
const ROUTES: &[(&str, &str, Op)] = &[
    ("/reset", "POST", Op::Reset),
    ("/state", "GET", Op::State),
    ("/seed", "POST", Op::Seed),
    ("/customer/message", "POST", Op::CustomerMessage),
    ("/customer/enter", "POST", Op::CustomerEnter),
    ("/callback", "POST", Op::Callback),
    ("/faults", "POST", Op::Faults),
    ("/release", "POST", Op::Release),
    ("/tokens/expire", "POST", Op::ExpireTokens),
    ("/tokens/revoke", "POST", Op::RevokeTokens),
    ("/provider/suite_ticket/push", "POST", Op::PushSuiteTicket),
    (
        "/provider/suite_ticket/push_due",
        "POST",
        Op::PushDueSuiteTickets,
    ),
    ("/provider/suite_ticket", "POST", Op::SuiteTicket),
    ("/provider/authorise", "POST", Op::Authorise),
    ("/provider/command_callback", "POST", Op::CommandCallback),
    ("/provider/install", "POST", Op::Install),
    ("/provider/uninstall", "POST", Op::Uninstall),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandCallbackBody {
    suite_id: String,
    url: String,
    token: String,
    encoding_aes_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallBody {
    suite_id: String,
    auth_corpid: String,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteBody {
    suite_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthoriseBody {
    suite_id: String,
    auth_corpid: String,
}

/// A suite the simulator does not have (or, for a ticket, has pushed none for yet).
fn unknown_suite(suite_id: &str) -> Refused {
    Refused {
        status: StatusCode::NOT_FOUND,
        message: format!("no such suite, or no ticket pushed for it yet: {suite_id}"),
        allow: None,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerMessageBody {
    open_kfid: String,
    external_userid: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerEnterBody {
    open_kfid: String,
    external_userid: String,
    #[serde(default)]
    scene: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackBody {
    url: String,
    token: String,
    encoding_aes_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    path: String,
    fault: Fault,
    #[serde(default = "one")]
    times: u32,
}

const fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathBody {
    path: String,
}

/// A refused control request: its status, message and, for 405, the method to use.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    message: String,
    allow: Option<&'static str>,
}

impl Refused {
    fn bad_request(message: impl fmt::Display) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.to_string(),
            allow: None,
        }
    }

    fn not_found(path: &str) -> Self {
        let routes: Vec<String> = ROUTES
            .iter()
            .map(|(route, method, _)| format!("{method} {PREFIX}{route}"))
            .collect();
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("no control route {path}; the routes: {}", routes.join(", ")),
            allow: None,
        }
    }
}

impl From<ControlError> for Refused {
    fn from(error: ControlError) -> Self {
        Self::bad_request(error)
    }
}

/// The body as `T` (400 with serde's reason otherwise).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refused> {
    serde_json::from_slice(body)
        .map_err(|e| Refused::bad_request(format_args!("bad request body: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, Refused> {
    serde_json::to_value(value).map_err(|e| Refused {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("cannot encode the answer: {e}"),
        allow: None,
    })
}

/// `path` as a path key, if it names an endpoint the simulator serves.
fn known_path(path: &str) -> Result<&str, ControlError> {
    let key = path_key(path);
    if serves(key) {
        Ok(key)
    } else {
        Err(ControlError::UnknownPath(path.to_owned()))
    }
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    response
}

/// The answer to a control request whose body is over [`MAX_CONTROL_BODY_BYTES`].
pub(crate) fn too_large() -> Response<Full<Bytes>> {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &serde_json::json!({
            "error": format!("a control request body is at most {MAX_CONTROL_BODY_BYTES} bytes")
        }),
    )
}

/// Seals `event` for `receiver` as WeCom does (a fresh nonce per delivery: two callbacks in
/// one second differ) and POSTs it to `url`, waiting at most `deadline`.
async fn post_sealed(
    url: &str,
    crypto: &crate::callback::CallbackCrypto,
    receiver: &str,
    event: &str,
    secs: u64,
    deadline: Duration,
) -> Result<reqwest::Response, String> {
    let timestamp = secs.to_string();
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
    let nonce = u32::from_be_bytes(random).to_string();
    let sealed = crypto
        .seal(event, &timestamp, &nonce)
        .map_err(|e| e.to_string())?;
    let body = format!(
        "<xml><ToUserName><![CDATA[{receiver}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>",
        encrypt = sealed.encrypt,
    );
    reqwest::Client::builder()
        .no_proxy()
        .timeout(deadline)
        .build()
        .map_err(|e| e.without_url().to_string())?
        .post(url)
        .query(&[
            ("msg_signature", sealed.msg_signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
        ])
        .body(body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_paths_are_the_prefix_and_below() {
        assert!(is_control_path("/__sim"));
        assert!(is_control_path("/__sim/"));
        assert!(is_control_path("/__sim/state"));
        assert!(!is_control_path("/__simulator"));
        assert!(!is_control_path("/cgi-bin/__sim/state"));
        assert!(!is_control_path(crate::spec::GETTOKEN.path));
    }

    #[test]
    fn every_fault_kind_has_a_json_form_that_reads_back() {
        let faults = [
            Fault::HttpStatus(502),
            Fault::Errcode(-1),
            Fault::Delay(Duration::from_millis(1500)),
            Fault::Hold,
            Fault::DropBeforeAnswer,
            Fault::DropAfterEffect,
        ];
        let forms = [
            r#"{"http_status":502}"#,
            r#"{"errcode":-1}"#,
            r#"{"delay_ms":1500}"#,
            r#""hold""#,
            r#""drop_before_answer""#,
            r#""drop_after_effect""#,
        ];
        for (fault, form) in faults.iter().zip(forms) {
            assert_eq!(serde_json::to_string(fault).unwrap(), form);
            assert_eq!(&serde_json::from_str::<Fault>(form).unwrap(), fault);
        }
        assert!(serde_json::from_str::<Fault>(r#""explode""#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"http_status":42}"#).is_err());
    }

    #[test]
    fn every_route_is_unique_and_has_a_method() {
        for (i, (route, method, _)) in ROUTES.iter().enumerate() {
            assert!(
                ROUTES[i + 1..].iter().all(|(r, _, _)| r != route),
                "{route}"
            );
            assert!(Method::from_bytes(method.as_bytes()).is_ok(), "{method}");
        }
    }
}
