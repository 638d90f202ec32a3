//! The simulated corp: its credentials, tokens, accounts, scripted faults and counters, and the
//! routing of one call to the rule that answers it.

use crate::spec;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value};
use tokio::sync::{Notify, Semaphore};

use super::accounts::{AccountOp, Accounts};
use super::customers::Customers;
use super::fault::{Fault, FaultPlan};
use super::knowledge::{Knowledge, KnowledgeOp};
use super::media::{Media, UploadedPart};
use super::messages::Messages;
use super::provider::Providers;
use super::rules::codes;
use super::rules::{DAY_SECS, china_day, statistic_range_refusal};
use super::servicers::{ServicerOp, Servicers};
use super::sessions::Sessions;
use super::tokens::Tokens;
use super::wire::{JsonBody, Refusal, Reply};
use crate::clock::Clock;
use crate::clock::unix_secs;

/// The counter key every path the simulator does not serve is counted under (their calls
/// answer HTTP 404), so that a client sending many long made-up paths cannot grow the counters.
pub const UNKNOWN_PATHS: &str = "(unknown paths)";

/// What the simulator counted, from [`Simulator::counters`](super::Simulator::counters).
///
/// Paths are keyed as the endpoint table names them, without the `/cgi-bin/` prefix.
/// Calls on paths the simulator does not serve are counted together under [`UNKNOWN_PATHS`],
/// so there is at most one key per endpoint of the table, plus that one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Calls received per path, whatever happened to them (faults included).
    pub calls: BTreeMap<String, u64>,
    /// Calls that took effect per path: executed with errcode 0, whether or not the answer
    /// reached the caller.
    pub effects: BTreeMap<String, u64>,
}

impl Counters {
    /// `gettoken` calls received.
    pub fn gettoken_calls(&self) -> u64 {
        self.calls("gettoken")
    }

    /// Calls received on `path` (written with or without the leading `/cgi-bin/`).
    pub fn calls(&self, path: &str) -> u64 {
        self.calls.get(path_key(path)).copied().unwrap_or(0)
    }

    /// Calls on `path` that took effect.
    pub fn effects(&self, path: &str) -> u64 {
        self.effects.get(path_key(path)).copied().unwrap_or(0)
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gettoken calls: {}", self.gettoken_calls())?;
        for (path, calls) in self.calls.iter().filter(|(p, _)| *p != "gettoken") {
            write!(
                f,
                "\n{path}: {calls} received, {} took effect",
                self.effects(path)
            )?;
        }
        Ok(())
    }
}

/// A path with or without its leading `/` and `cgi-bin/`: all three spellings name one path.
pub(crate) fn path_key(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    path.strip_prefix("cgi-bin/").unwrap_or(path)
}

/// Whether the simulator serves `path` (a path key), e.g. for the control plane to refuse a
/// fault scripted on a path no call will ever reach.
pub(crate) fn serves(path: &str) -> bool {
    Endpoint::route(path).is_some()
}

/// The endpoints the simulator implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    GetToken,
    ProviderToken,
    SuiteToken,
    CorpToken,
    PreAuthCode,
    SessionInfo,
    PermanentCode,
    AuthInfo,
    Account(AccountOp),
    Servicer(ServicerOp),
    ServiceStateGet,
    ServiceStateTrans,
    CustomerBatchGet,
    UpgradeConfig,
    Upgrade,
    CancelUpgrade,
    CorpQualification,
    Statistic,
    Knowledge(KnowledgeOp),
    SyncMsg,
    SendMsg,
    SendMsgOnEvent,
    RecallMsg,
    MediaUpload,
    MediaGet,
}

impl Endpoint {
    /// Which token the endpoint table says `path` (a path key) carries.
    fn token_kind(path: &str) -> Option<spec::TokenKind> {
        ROUTES
            .iter()
            .find(|(spec, _)| spec.name() == path)
            .map(|(spec, _)| spec.token)
    }

    /// The simulator's handler for `path` (a path key), and the method the endpoint table
    /// gives it.
    fn route(path: &str) -> Option<(Self, Method)> {
        ROUTES
            .iter()
            .find(|(spec, _)| spec.name() == path)
            .map(|(spec, endpoint)| {
                let method = match spec.method {
                    spec::HttpMethod::Get => Method::GET,
                    spec::HttpMethod::Post => Method::POST,
                };
                (*endpoint, method)
            })
    }
}

/// Each endpoint of the table (`crate::spec`) and the handler that answers it.
const ROUTES: &[(spec::Endpoint, Endpoint)] = &[
    (spec::GETTOKEN, Endpoint::GetToken),
    (spec::GET_PROVIDER_TOKEN, Endpoint::ProviderToken),
    (spec::GET_SUITE_TOKEN, Endpoint::SuiteToken),
    (spec::GET_CORP_TOKEN, Endpoint::CorpToken),
    (spec::GET_PRE_AUTH_CODE, Endpoint::PreAuthCode),
    (spec::SET_SESSION_INFO, Endpoint::SessionInfo),
    (spec::GET_PERMANENT_CODE, Endpoint::PermanentCode),
    (spec::GET_AUTH_INFO, Endpoint::AuthInfo),
    (spec::KF_ACCOUNT_ADD, Endpoint::Account(AccountOp::Add)),
    (spec::KF_ACCOUNT_DEL, Endpoint::Account(AccountOp::Delete)),
    (
        spec::KF_ACCOUNT_UPDATE,
        Endpoint::Account(AccountOp::Update),
    ),
    (spec::KF_ACCOUNT_LIST, Endpoint::Account(AccountOp::List)),
    (
        spec::KF_ADD_CONTACT_WAY,
        Endpoint::Account(AccountOp::AddContactWay),
    ),
    (spec::KF_SERVICER_ADD, Endpoint::Servicer(ServicerOp::Add)),
    (
        spec::KF_SERVICER_DEL,
        Endpoint::Servicer(ServicerOp::Delete),
    ),
    (spec::KF_SERVICER_LIST, Endpoint::Servicer(ServicerOp::List)),
    (spec::KF_SERVICE_STATE_GET, Endpoint::ServiceStateGet),
    (spec::KF_SERVICE_STATE_TRANS, Endpoint::ServiceStateTrans),
    (spec::KF_CUSTOMER_BATCHGET, Endpoint::CustomerBatchGet),
    (spec::KF_CUSTOMER_UPGRADE_CONFIG, Endpoint::UpgradeConfig),
    (spec::KF_CUSTOMER_UPGRADE, Endpoint::Upgrade),
    (spec::KF_CUSTOMER_CANCEL_UPGRADE, Endpoint::CancelUpgrade),
    (spec::KF_CORP_QUALIFICATION, Endpoint::CorpQualification),
    (spec::KF_CORP_STATISTIC, Endpoint::Statistic),
    (spec::KF_SERVICER_STATISTIC, Endpoint::Statistic),
    (
        spec::KF_KNOWLEDGE_ADD_GROUP,
        Endpoint::Knowledge(KnowledgeOp::AddGroup),
    ),
    (
        spec::KF_KNOWLEDGE_DEL_GROUP,
        Endpoint::Knowledge(KnowledgeOp::DelGroup),
    ),
    (
        spec::KF_KNOWLEDGE_MOD_GROUP,
        Endpoint::Knowledge(KnowledgeOp::ModGroup),
    ),
    (
        spec::KF_KNOWLEDGE_LIST_GROUP,
        Endpoint::Knowledge(KnowledgeOp::ListGroup),
    ),
    (
        spec::KF_KNOWLEDGE_ADD_INTENT,
        Endpoint::Knowledge(KnowledgeOp::AddIntent),
    ),
    (
        spec::KF_KNOWLEDGE_DEL_INTENT,
        Endpoint::Knowledge(KnowledgeOp::DelIntent),
    ),
    (
        spec::KF_KNOWLEDGE_MOD_INTENT,
        Endpoint::Knowledge(KnowledgeOp::ModIntent),
    ),
    (
        spec::KF_KNOWLEDGE_LIST_INTENT,
        Endpoint::Knowledge(KnowledgeOp::ListIntent),
    ),
    (spec::KF_SYNC_MSG, Endpoint::SyncMsg),
    (spec::KF_SEND_MSG, Endpoint::SendMsg),
    (spec::KF_SEND_MSG_ON_EVENT, Endpoint::SendMsgOnEvent),
    (spec::KF_RECALL_MSG, Endpoint::RecallMsg),
    (spec::MEDIA_UPLOAD, Endpoint::MediaUpload),
    (spec::MEDIA_GET, Endpoint::MediaGet),
];

/// One HTTP call as the simulator sees it.
pub(crate) struct Call {
    pub(crate) method: Method,
    /// The path key (see [`path_key`]).
    pub(crate) path: String,
    pub(crate) query: HashMap<String, String>,
    pub(crate) body: Bytes,
    pub(crate) peer: IpAddr,
    /// The `media` part of a `media/upload`, decoded by the server (or why it could not be).
    pub(crate) upload: Option<Result<UploadedPart, String>>,
}

/// Query parameters whose values are credentials.
const SECRET_PARAMS: [&str; 3] = ["access_token", "corpsecret", "suite_access_token"];

/// The query with its credentials as `***`, and the body's size.
impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: BTreeMap<&str, &str> = self
            .query
            .iter()
            .map(|(k, v)| {
                let v = if SECRET_PARAMS.contains(&k.as_str()) {
                    "***"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("body_bytes", &self.body.len())
            .field("peer", &self.peer)
            .field("upload", &self.upload)
            .finish()
    }
}

/// Everything the simulated corp holds.
pub(crate) struct World {
    pub(crate) corp_id: String,
    pub(crate) corp_secret: String,
    pub(crate) tokens: Tokens,
    /// The service provider's side: suites, tickets, authorised corps and their tokens.
    pub(crate) providers: Providers,
    pub(crate) accounts: Accounts,
    pub(crate) servicers: Servicers,
    pub(crate) sessions: Sessions,
    pub(crate) customers: Customers,
    pub(crate) knowledge: Knowledge,
    pub(crate) messages: Messages,
    pub(crate) media: Media,
    /// Where and how to deliver `kf_msg_or_event` callbacks, once set.
    pub(crate) callback: Option<(String, crate::callback::CallbackCrypto)>,
    pub(crate) faults: FaultPlan,
    pub(crate) counters: Counters,
    hints: u64,
}

/// No secret (the corp secret is `***`, tokens and codes are counted) and no bulk (media,
/// messages, accounts and the knowledge base are counted).
impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &"***")
            .field("tokens", &self.tokens)
            .field("providers", &self.providers)
            .field("accounts", &self.accounts)
            .field("knowledge", &self.knowledge)
            .field("messages", &self.messages)
            .field("media", &self.media)
            .field("callback_url", &self.callback.as_ref().map(|(url, _)| url))
            .field("faults", &self.faults)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl World {
    pub(crate) fn new(
        corp_id: String,
        corp_secret: String,
        tokens: Tokens,
        providers: Providers,
        accounts: Accounts,
        media: Media,
    ) -> Self {
        Self {
            corp_id,
            corp_secret,
            tokens,
            providers,
            accounts,
            servicers: Servicers::default(),
            sessions: Sessions::default(),
            customers: Customers::default(),
            knowledge: Knowledge::default(),
            messages: Messages::default(),
            media,
            callback: None,
            faults: FaultPlan::default(),
            counters: Counters::default(),
            hints: 0,
        }
    }

    /// Counts the call (an unknown path under [`UNKNOWN_PATHS`]) and takes the fault scripted
    /// for it, if any.
    fn begin(&mut self, call: &Call) -> Option<Fault> {
        let key = match Endpoint::route(&call.path) {
            Some(_) => call.path.as_str(),
            None => UNKNOWN_PATHS,
        };
        match self.counters.calls.get_mut(key) {
            Some(calls) => *calls += 1,
            None => {
                self.counters.calls.insert(key.to_owned(), 1);
            }
        }
        self.faults.take(&call.path)
    }

    /// Runs the call against the corp's state: the answer, and whether it took effect.
    fn execute(&mut self, call: &Call, now: SystemTime) -> Reply {
        let Some((endpoint, method)) = Endpoint::route(&call.path) else {
            return Reply::http_status(StatusCode::NOT_FOUND);
        };
        let answer = if call.method != method {
            Err(Refusal::invalid(format_args!("use {method}")))
        } else {
            self.answer(endpoint, call, now)
        };
        match answer {
            Ok(reply) => {
                *self.counters.effects.entry(call.path.clone()).or_default() += 1;
                reply
            }
            Err(refusal) => {
                let hint = self.hint(now);
                Reply::refusal(&refusal, &hint, &call.peer.to_string())
            }
        }
    }

    fn answer(
        &mut self,
        endpoint: Endpoint,
        call: &Call,
        now: SystemTime,
    ) -> Result<Reply, Refusal> {
        let fields = match endpoint {
            Endpoint::GetToken => self.gettoken(call, now)?,
            Endpoint::ProviderToken => self
                .providers
                .get_provider_token(&JsonBody::parse(&call.body)?, now)?,
            Endpoint::SuiteToken => self
                .providers
                .get_suite_token(&JsonBody::parse(&call.body)?, now)?,
            Endpoint::CorpToken => {
                let suite_token = call.query.get("suite_access_token").map(String::as_str);
                // The token first: the server reads the body only for a good one.
                self.providers.check_suite_token(suite_token, now)?;
                let body = JsonBody::parse(&call.body)?;
                self.providers.get_corp_token(suite_token, &body, now)?
            }
            Endpoint::PreAuthCode => {
                let suite_token = call.query.get("suite_access_token").map(String::as_str);
                self.providers.get_pre_auth_code(suite_token, now)?
            }
            Endpoint::SessionInfo | Endpoint::PermanentCode | Endpoint::AuthInfo => {
                let suite_token = call.query.get("suite_access_token").map(String::as_str);
                self.providers.check_suite_token(suite_token, now)?;
                let body = JsonBody::parse(&call.body)?;
                match endpoint {
                    Endpoint::SessionInfo => {
                        self.providers.set_session_info(suite_token, &body, now)?
                    }
                    Endpoint::PermanentCode => {
                        self.providers.get_permanent_code(suite_token, &body, now)?
                    }
                    _ => self.providers.get_auth_info(suite_token, &body, now)?,
                }
            }
            _ => return self.kf_answer(endpoint, call, now),
        };
        Ok(Reply::ok(fields))
    }

    /// The check of a kf call's token: the corp's own app's, or an authorised corp's.
    pub(crate) fn check_kf_token(
        &self,
        token: Option<&str>,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let own = self.tokens.check(token, now);
        match (&own, token) {
            (Err(_), Some(t)) => self.providers.check_corp_token(t, now).unwrap_or(own),
            _ => own,
        }
    }

    fn kf_answer(
        &mut self,
        endpoint: Endpoint,
        call: &Call,
        now: SystemTime,
    ) -> Result<Reply, Refusal> {
        self.check_kf_token(call.query.get("access_token").map(String::as_str), now)?;
        let fields = match endpoint {
            Endpoint::GetToken
            | Endpoint::ProviderToken
            | Endpoint::SuiteToken
            | Endpoint::CorpToken
            | Endpoint::PreAuthCode
            | Endpoint::SessionInfo
            | Endpoint::PermanentCode
            | Endpoint::AuthInfo => return Err(Refusal::code(codes::SYSTEM_BUSY)),
            Endpoint::Account(op) => self.accounts.apply(op, &JsonBody::parse(&call.body)?)?,
            Endpoint::Servicer(ServicerOp::List) => {
                let open_kfid = call.query.get("open_kfid").map_or("", String::as_str);
                self.accounts.check_exists(open_kfid)?;
                self.servicers.list(open_kfid)
            }
            Endpoint::Servicer(op) => {
                let body = JsonBody::parse(&call.body)?;
                let open_kfid = self.known_account(&body)?;
                self.servicers.change(op, open_kfid, &body)?
            }
            Endpoint::ServiceStateGet => {
                let body = JsonBody::parse(&call.body)?;
                let open_kfid = self.known_account(&body)?;
                self.sessions.get(open_kfid, &body)?
            }
            Endpoint::ServiceStateTrans => {
                let body = JsonBody::parse(&call.body)?;
                let open_kfid = self.known_account(&body)?;
                let servicers = &self.servicers;
                let moved = self
                    .sessions
                    .trans(open_kfid, &body, |u| servicers.is_servicer(open_kfid, u))?;
                // A code it hands out is good for one send_msg_on_event.
                if let Some(code) = moved.get("msg_code").and_then(Value::as_str) {
                    let external_userid = body.required_str("external_userid")?;
                    let state = body.required_i64("service_state")?;
                    self.messages
                        .register_trans_code(code, open_kfid, external_userid, state, now);
                }
                moved
            }
            Endpoint::CustomerBatchGet
            | Endpoint::UpgradeConfig
            | Endpoint::Upgrade
            | Endpoint::CancelUpgrade
            | Endpoint::CorpQualification => self.customer_call(endpoint, call)?,
            Endpoint::Statistic => {
                let body = JsonBody::parse(&call.body)?;
                self.known_account(&body)?;
                statistic(&body, now)?
            }
            Endpoint::Knowledge(op) => self.knowledge.apply(op, &JsonBody::parse(&call.body)?)?,
            Endpoint::SyncMsg => {
                let body = JsonBody::parse(&call.body)?;
                let open_kfid = self.known_account(&body)?;
                self.messages.sync(open_kfid, &body, now)?
            }
            Endpoint::SendMsg => {
                let body = JsonBody::parse(&call.body)?;
                let open_kfid = self.known_account(&body)?;
                let sessions = &self.sessions;
                let sent = self.messages.send(
                    open_kfid,
                    &body,
                    |u| sessions.state_of(open_kfid, u),
                    now,
                )?;
                // "通过API发消息…会将客户分配给智能助手" (doc 95489): 0 becomes 1.
                self.sessions
                    .api_replied(open_kfid, body.required_str("touser")?);
                sent
            }
            Endpoint::SendMsgOnEvent => {
                let body = JsonBody::parse(&call.body)?;
                let sessions = &self.sessions;
                self.messages
                    .send_on_event(&body, |k, u| sessions.state_of(k, u), now)?
            }
            Endpoint::MediaUpload => {
                let kind = call.query.get("type").map(String::as_str);
                self.media.upload(kind, call.upload.as_ref(), now)?
            }
            Endpoint::MediaGet => {
                let media_id = call.query.get("media_id").map(String::as_str);
                let file = self.media.get(media_id, now)?;
                return Ok(Reply::file(&file.filename, file.bytes.clone()));
            }
            Endpoint::RecallMsg => {
                let body = JsonBody::parse(&call.body)?;
                let open_kfid = self.known_account(&body)?;
                self.messages.recall(open_kfid, &body, now)?
            }
        };
        Ok(Reply::ok(fields))
    }

    /// The body's `open_kfid`, if the corp has that account (95004/95000 otherwise).
    fn known_account<'b>(&self, body: &'b JsonBody) -> Result<&'b str, Refusal> {
        let open_kfid = body.required_str("open_kfid")?;
        self.accounts.check_exists(open_kfid)?;
        Ok(open_kfid)
    }

    fn customer_call(
        &mut self,
        endpoint: Endpoint,
        call: &Call,
    ) -> Result<Map<String, Value>, Refusal> {
        match endpoint {
            Endpoint::UpgradeConfig => return Ok(self.customers.upgrade_config()),
            Endpoint::CorpQualification => {
                let mut fields = Map::new();
                fields.insert("wechat_channels_binding".into(), Value::from(false));
                return Ok(fields);
            }
            _ => {}
        }
        let body = JsonBody::parse(&call.body)?;
        if endpoint == Endpoint::CustomerBatchGet {
            return self.customers.batchget(&body);
        }
        let open_kfid = self.known_account(&body)?;
        if endpoint == Endpoint::Upgrade {
            self.customers.upgrade(open_kfid, &body)
        } else {
            self.customers.cancel_upgrade(open_kfid, &body)
        }
    }

    fn gettoken(&mut self, call: &Call, now: SystemTime) -> Result<Map<String, Value>, Refusal> {
        let param = |name: &str| call.query.get(name).filter(|v| !v.is_empty());
        let corp_id = param("corpid").ok_or_else(|| Refusal::code(codes::MISSING_CORP_ID))?;
        if *corp_id != self.corp_id {
            return Err(Refusal::code(codes::INVALID_CORP_ID));
        }
        let secret = param("corpsecret").ok_or_else(|| Refusal::code(codes::MISSING_SECRET))?;
        if *secret != self.corp_secret {
            return Err(Refusal::code(codes::INVALID_SECRET));
        }
        let (token, expires_in) = self.tokens.issue(now);
        let mut fields = Map::new();
        fields.insert("access_token".into(), Value::from(token));
        fields.insert("expires_in".into(), Value::from(expires_in));
        Ok(fields)
    }

    /// A hint in WeCom's shape (`<unix time>_<serial>`), unique per answer.
    fn hint(&mut self, now: SystemTime) -> String {
        self.hints += 1;
        format!("{}_{:x}", unix_secs(now), self.hints)
    }
}

/// The state shared by the server's connections and the [`Simulator`](super::Simulator) handle.
pub(crate) struct Shared {
    world: Mutex<World>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Woken whenever a call arrives or takes effect, for
    /// [`Simulator::wait_for_calls`](super::Simulator::wait_for_calls) and
    /// [`Simulator::wait_for_effects`](super::Simulator::wait_for_effects).
    pub(crate) counted: Notify,
    /// Per path, releases for calls held by [`Fault::Hold`] (a release may come first).
    holds: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The world as [`World`]'s `Debug` shows it (`<locked>` while a call holds it).
impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Shared");
        match self.world.try_lock() {
            Ok(world) => s.field("world", &*world),
            Err(std::sync::TryLockError::Poisoned(e)) => s.field("world", &*e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => s.field("world", &"<locked>"),
        };
        s.field("clock", &self.clock).finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(world: World, clock: Arc<dyn Clock>) -> Self {
        Self {
            world: Mutex::new(world),
            clock,
            counted: Notify::new(),
            holds: Mutex::default(),
        }
    }

    fn hold_gate(&self, path: &str) -> Arc<Semaphore> {
        self.holds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(path.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(0)))
            .clone()
    }

    /// Waits for one release of `path`.
    pub(crate) async fn held(&self, path: &str) {
        if let Ok(permit) = self.hold_gate(path).acquire_owned().await {
            permit.forget();
        }
    }

    /// Lets one held call on `path` (now or later) go on.
    pub(crate) fn release(&self, path: &str) {
        self.hold_gate(path).add_permits(1);
    }

    /// The world, even if a panicking holder poisoned the lock (its state is still consistent:
    /// every change is made after its checks).
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the server should read a call's body: only a POST endpoint called with POST
    /// and a good token uses one. Every other call is answered from its path and query alone
    /// (404, the wrong method, 41001/40014/42001), so an unauthenticated client cannot make
    /// the simulator hold its body.
    pub(crate) fn wants_body(
        &self,
        method: &Method,
        path: &str,
        query: &HashMap<String, String>,
    ) -> bool {
        let Some((_, expected)) = Endpoint::route(path) else {
            return false;
        };
        if *method != expected || expected != Method::POST {
            return false;
        }
        let Some(kind) = Endpoint::token_kind(path) else {
            return false;
        };
        let now = self.clock.now();
        let token = kind
            .query_param()
            .and_then(|param| query.get(param))
            .map(String::as_str);
        match kind {
            spec::TokenKind::None => true,
            spec::TokenKind::Suite => self.world().providers.suite_token_ok(token, now),
            spec::TokenKind::Corp => self.world().check_kf_token(token, now).is_ok(),
            // No endpoint the simulator serves takes the provider's token yet.
            spec::TokenKind::Provider => false,
        }
    }

    pub(crate) fn begin(&self, call: &Call) -> Option<Fault> {
        let fault = self.world().begin(call);
        self.counted.notify_waiters();
        fault
    }

    pub(crate) fn execute(&self, call: &Call) -> Reply {
        let now = self.clock.now();
        let reply = self.world().execute(call, now);
        self.counted.notify_waiters();
        reply
    }

    /// The answer for an injected errcode, with WeCom's hint suffix.
    pub(crate) fn refusal(&self, code: i64, call: &Call) -> Reply {
        let now = self.clock.now();
        let hint = self.world().hint(now);
        Reply::refusal(&Refusal::code(code), &hint, &call.peer.to_string())
    }
}

/// `kf/get_corp_statistic` and `kf/get_servicer_statistic`: the documented range rules (the
/// simulator's own reading, [`statistic_range_refusal`]; 40058 here), then one day of zero
/// figures per day of the range.
fn statistic(body: &JsonBody, now: SystemTime) -> Result<Map<String, Value>, Refusal> {
    let start = body.required_i64("start_time")?.max(0).unsigned_abs();
    let end = body.required_i64("end_time")?.max(0).unsigned_abs();
    if let Some(why) = statistic_range_refusal(start, end, unix_secs(now)) {
        return Err(Refusal::invalid(why));
    }
    // One entry per China-time day of the closed range, as WeCom counts them.
    let (first, last) = (china_day(start), china_day(end));
    let days: Vec<Value> = (first..=last)
        .step_by(DAY_SECS as usize)
        .map(|day| {
            serde_json::json!({
                "stat_time": day,
                "statistic": {"session_cnt": 0, "customer_cnt": 0, "customer_msg_cnt": 0},
            })
        })
        .collect();
    let mut fields = Map::new();
    fields.insert("statistic_list".into(), Value::from(days));
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_of_the_table_has_a_handler() {
        for endpoint in spec::ALL {
            assert!(
                Endpoint::route(endpoint.name()).is_some(),
                "the simulator does not answer {}",
                endpoint.path
            );
        }
        assert_eq!(ROUTES.len(), spec::ALL.len());
    }

    #[test]
    fn a_calls_debug_hides_credentials_and_the_body() {
        let call = Call {
            method: Method::GET,
            path: "gettoken".into(),
            query: HashMap::from([
                ("corpid".to_owned(), "wwcorp".to_owned()),
                ("corpsecret".to_owned(), "SECRET-x".to_owned()),
                ("access_token".to_owned(), "TOKEN-x".to_owned()),
            ]),
            body: Bytes::from("BODY-x".repeat(1000)),
            peer: IpAddr::from([127, 0, 0, 1]),
            upload: None,
        };
        let shown = format!("{call:?}");
        for hidden in ["SECRET-x", "TOKEN-x", "BODY-x"] {
            assert!(!shown.contains(hidden), "{shown}");
        }
        assert!(
            shown.contains("wwcorp") && shown.contains("6000"),
            "{shown}"
        );
    }
}
