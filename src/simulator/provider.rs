//! The simulator as WeCom plays it for a service provider (服务商): the provider's own
//! credentials, suites with their secrets and suite_tickets, the corps that authorised each
//! suite (with their permanent codes), and the three token endpoints
//! (`service/get_provider_token`, `service/get_suite_token`, `service/get_corp_token`).
//!
//! Its rules are its own transcription (docs 90628, 90605, 90313): a suite_ticket is good for
//! 30 minutes from its push, whichever newer ones followed; a suite token is good for
//! `get_corp_token` until it expires (42009) and unknown ones answer 40082; a permanent code
//! is good only for the suite it was issued to (40084). Corp tokens issued here are accepted by
//! the kf endpoints, which play one corp's kf state for every corp.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::rules::{
    AUTH_CODE_LIFETIME_SECS, PRE_AUTH_CODE_LIFETIME_SECS, SUITE_TICKET_LIFETIME_SECS,
    SUITE_TICKET_PUSH_INTERVAL_SECS, codes,
};
use super::tokens::{TokenIssue, Tokens};
use super::wire::{JsonBody, Refusal};
use crate::clock::unix_secs;

/// The provider corp id a simulator starts with.
pub const DEFAULT_PROVIDER_CORP_ID: &str = "wwsimprovider0001";
/// The provider secret a simulator starts with (a test value).
pub const DEFAULT_PROVIDER_SECRET: &str = "sim-provider-secret";
/// The suite a simulator starts with.
pub const DEFAULT_SUITE_ID: &str = "wwsimsuite0001";
/// That suite's secret (a test value).
pub const DEFAULT_SUITE_SECRET: &str = "sim-suite-secret";

/// A suite_ticket as WeCom pushed it: the ticket and the push's `TimeStamp` (unix seconds).
/// `Debug` hides the ticket.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimSuiteTicket {
    /// The suite it is for.
    pub suite_id: String,
    /// The ticket (a credential).
    pub ticket: String,
    /// The push's `TimeStamp`, unix seconds.
    pub timestamp: u64,
}

impl fmt::Debug for SimSuiteTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimSuiteTicket")
            .field("suite_id", &self.suite_id)
            .field("ticket", &"***")
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

struct Suite {
    secret: String,
    /// Every ticket pushed, with its push time; the last is the newest.
    tickets: Vec<(String, SystemTime)>,
    tokens: Tokens,
    /// Authorised corps by corp id.
    corps: BTreeMap<String, AuthCorp>,
    /// Pre-auth codes issued, with when.
    pre_auth_codes: Vec<(String, SystemTime)>,
    /// Install auth codes not yet exchanged, by code.
    auth_codes: BTreeMap<String, Install>,
}

/// An install (or a permanent-code reset) waiting for its auth code's exchange.
struct Install {
    auth_corpid: String,
    state: Option<String>,
    issued_at: SystemTime,
}

/// A command callback the simulator sends a provider (指令回调): its decrypted XML, and the
/// auth code it carries (`create_auth`, `reset_permanent_code`). `Debug` hides the code.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimCommand {
    /// The suite it is for.
    pub suite_id: String,
    /// The `InfoType`.
    pub info_type: String,
    /// The auth code, for `create_auth` and `reset_permanent_code` (a credential).
    pub auth_code: Option<String>,
    /// The decrypted XML, as `CommandEvent::parse` reads it.
    pub xml: String,
}

impl fmt::Debug for SimCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCommand")
            .field("suite_id", &self.suite_id)
            .field("info_type", &self.info_type)
            .field("auth_code", &self.auth_code.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

fn command_xml(
    suite_id: &str,
    info_type: &str,
    fields: &[(&str, &str)],
    now: SystemTime,
) -> String {
    let mut xml = format!(
        "<xml><SuiteId><![CDATA[{suite_id}]]></SuiteId><InfoType><![CDATA[{info_type}]]></InfoType><TimeStamp>{}</TimeStamp>",
        unix_secs(now)
    );
    for (name, value) in fields {
        xml.push_str(&format!("<{name}><![CDATA[{value}]]></{name}>"));
    }
    xml.push_str("</xml>");
    xml
}

struct AuthCorp {
    permanent_code: String,
    tokens: Tokens,
}

/// The provider side of the simulated WeCom.
pub(crate) struct Providers {
    pub(crate) corp_id: String,
    secret: String,
    tokens: Tokens,
    suites: BTreeMap<String, Suite>,
    ttl: Duration,
    issue: TokenIssue,
    instance: u64,
    serial: u64,
    /// Each suite's command-callback URL and crypto (receive id: the suite id).
    pub(crate) command_urls: BTreeMap<String, (String, crate::callback::CallbackCrypto)>,
    /// Command deliveries attempted, by `InfoType`.
    pub(crate) deliveries: BTreeMap<String, u64>,
}

/// Ids and counts only: secrets, tickets, codes and tokens are credentials.
impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suites: BTreeMap<&str, usize> = self
            .suites
            .iter()
            .map(|(id, s)| (id.as_str(), s.corps.len()))
            .collect();
        f.debug_struct("Providers")
            .field("corp_id", &self.corp_id)
            .field("secret", &"***")
            .field("authorised_corps_per_suite", &suites)
            .finish_non_exhaustive()
    }
}

impl Providers {
    pub(crate) fn new(ttl: Duration, issue: TokenIssue, instance: u64) -> Self {
        let mut providers = Self {
            corp_id: DEFAULT_PROVIDER_CORP_ID.to_owned(),
            secret: DEFAULT_PROVIDER_SECRET.to_owned(),
            tokens: Tokens::labelled(ttl, issue, instance, "provider"),
            suites: BTreeMap::new(),
            ttl,
            issue,
            instance,
            serial: 0,
            command_urls: BTreeMap::new(),
            deliveries: BTreeMap::new(),
        };
        providers.add_suite(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET);
        providers
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// Adds a suite (or replaces its secret, keeping its tickets and corps).
    pub(crate) fn add_suite(&mut self, suite_id: &str, secret: &str) {
        let n = self.next();
        let (ttl, issue, instance) = (self.ttl, self.issue, self.instance);
        let suite = self
            .suites
            .entry(suite_id.to_owned())
            .or_insert_with(|| Suite {
                secret: String::new(),
                tickets: Vec::new(),
                tokens: Tokens::labelled(ttl, issue, instance, &format!("suite{n}")),
                corps: BTreeMap::new(),
                pre_auth_codes: Vec::new(),
                auth_codes: BTreeMap::new(),
            });
        suite.secret = secret.to_owned();
    }

    /// Pushes a new suite_ticket for `suite_id` at `now`; `None` for an unknown suite.
    pub(crate) fn push_ticket(
        &mut self,
        suite_id: &str,
        now: SystemTime,
    ) -> Option<SimSuiteTicket> {
        let n = self.next();
        let instance = self.instance;
        let suite = self.suites.get_mut(suite_id)?;
        let ticket = format!("simticket_{instance:016x}_{n}");
        // Tickets past their 30 minutes are forgotten.
        let lifetime = Duration::from_secs(SUITE_TICKET_LIFETIME_SECS);
        suite
            .tickets
            .retain(|(_, at)| now.duration_since(*at).map_or(true, |age| age < lifetime));
        suite.tickets.push((ticket.clone(), now));
        Some(SimSuiteTicket {
            suite_id: suite_id.to_owned(),
            ticket,
            timestamp: unix_secs(now),
        })
    }

    /// Pushes a ticket for every suite whose newest push is 10 minutes old or more (or that
    /// never had one) at `now`, as WeCom's schedule does: the tickets pushed.
    pub(crate) fn push_due_tickets(&mut self, now: SystemTime) -> Vec<SimSuiteTicket> {
        let interval = Duration::from_secs(SUITE_TICKET_PUSH_INTERVAL_SECS);
        let due: Vec<String> = self
            .suites
            .iter()
            .filter(|(_, s)| {
                s.tickets
                    .last()
                    .is_none_or(|(_, at)| now.duration_since(*at).is_ok_and(|age| age >= interval))
            })
            .map(|(id, _)| id.clone())
            .collect();
        due.iter()
            .filter_map(|id| self.push_ticket(id, now))
            .collect()
    }

    /// The newest ticket pushed for `suite_id`, if any.
    pub(crate) fn current_ticket(&self, suite_id: &str) -> Option<SimSuiteTicket> {
        let (ticket, at) = self.suites.get(suite_id)?.tickets.last()?;
        Some(SimSuiteTicket {
            suite_id: suite_id.to_owned(),
            ticket: ticket.clone(),
            timestamp: unix_secs(*at),
        })
    }

    /// Authorises `suite_id` in `auth_corpid` and answers the permanent code (a new one each
    /// time: a reinstall replaces the old code). `None` for an unknown suite.
    pub(crate) fn authorise(&mut self, suite_id: &str, auth_corpid: &str) -> Option<String> {
        let n = self.next();
        let (ttl, issue, instance) = (self.ttl, self.issue, self.instance);
        let suite = self.suites.get_mut(suite_id)?;
        let permanent_code = format!("simpermanent_{instance:016x}_{n}");
        suite.corps.insert(
            auth_corpid.to_owned(),
            AuthCorp {
                permanent_code: permanent_code.clone(),
                tokens: Tokens::labelled(ttl, issue, instance, &format!("corp{n}")),
            },
        );
        Some(permanent_code)
    }

    /// Cancels the authorisation: its permanent code answers 40084, its tokens 40014.
    pub(crate) fn cancel(&mut self, suite_id: &str, auth_corpid: &str) -> bool {
        self.suites
            .get_mut(suite_id)
            .is_some_and(|s| s.corps.remove(auth_corpid).is_some())
    }

    /// Every provider, suite and authorised-corp token expires now.
    pub(crate) fn expire_all(&mut self, now: SystemTime) {
        self.tokens.expire_all(now);
        for suite in self.suites.values_mut() {
            suite.tokens.expire_all(now);
            for corp in suite.corps.values_mut() {
                corp.tokens.expire_all(now);
            }
        }
    }

    /// Every provider, suite and authorised-corp token is forgotten.
    pub(crate) fn revoke_all(&mut self) {
        self.tokens.revoke_all();
        for suite in self.suites.values_mut() {
            suite.tokens.revoke_all();
            for corp in suite.corps.values_mut() {
                corp.tokens.revoke_all();
            }
        }
    }

    /// Every suite token expires now (their next use answers 42009).
    pub(crate) fn expire_suite_tokens(&mut self, now: SystemTime) {
        for suite in self.suites.values_mut() {
            suite.tokens.expire_all(now);
        }
    }

    /// Every suite token is forgotten (their next use answers 40082).
    pub(crate) fn revoke_suite_tokens(&mut self) {
        for suite in self.suites.values_mut() {
            suite.tokens.revoke_all();
        }
    }

    /// The check of a kf call's `access_token` against the authorised corps' tokens: `None`
    /// when no authorised corp issued it.
    pub(crate) fn check_corp_token(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Option<Result<(), Refusal>> {
        self.suites
            .values()
            .flat_map(|s| s.corps.values())
            .find(|c| c.tokens.knows(token))
            .map(|c| c.tokens.check(Some(token), now))
    }

    /// Whether a `get_corp_token` call carries a good suite token (the server reads its body
    /// only then).
    pub(crate) fn suite_token_ok(&self, token: Option<&str>, now: SystemTime) -> bool {
        self.check_suite_token(token, now).is_ok()
    }

    /// 40082 for a missing or unknown suite token, 42009 for an expired one.
    pub(crate) fn check_suite_token(
        &self,
        token: Option<&str>,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::code(codes::INVALID_SUITE_TOKEN))?;
        self.suite_of_token(token, now).map(|_| ())
    }

    fn suite_of_token(&self, token: &str, now: SystemTime) -> Result<&str, Refusal> {
        let (id, suite) = self
            .suites
            .iter()
            .find(|(_, s)| s.tokens.knows(token))
            .ok_or_else(|| Refusal::code(codes::INVALID_SUITE_TOKEN))?;
        suite
            .tokens
            .check(Some(token), now)
            .map_err(|_| Refusal::code(codes::SUITE_TOKEN_EXPIRED))?;
        Ok(id)
    }

    /// `auth_corpid` installs `suite_id` at `now`: an auth code (single use, 10 minutes) and
    /// the `create_auth` command carrying it. `None` for an unknown suite.
    pub(crate) fn install(
        &mut self,
        suite_id: &str,
        auth_corpid: &str,
        state: Option<&str>,
        now: SystemTime,
    ) -> Option<SimCommand> {
        let auth_code = self.issue_auth_code(suite_id, auth_corpid, state, now)?;
        let mut fields = vec![("AuthCode", auth_code.as_str())];
        if let Some(state) = state {
            fields.push(("State", state));
        }
        Some(SimCommand {
            suite_id: suite_id.to_owned(),
            info_type: "create_auth".into(),
            xml: command_xml(suite_id, "create_auth", &fields, now),
            auth_code: Some(auth_code),
        })
    }

    /// The corp's secret is reset (代开发): an auth code whose exchange answers a new permanent
    /// code (the old one then answers 40084), and the `reset_permanent_code` command. `None`
    /// unless the corp authorised the suite.
    pub(crate) fn reset_permanent_code(
        &mut self,
        suite_id: &str,
        auth_corpid: &str,
        now: SystemTime,
    ) -> Option<SimCommand> {
        if !self.suites.get(suite_id)?.corps.contains_key(auth_corpid) {
            return None;
        }
        let auth_code = self.issue_auth_code(suite_id, auth_corpid, None, now)?;
        Some(SimCommand {
            suite_id: suite_id.to_owned(),
            info_type: "reset_permanent_code".into(),
            xml: command_xml(
                suite_id,
                "reset_permanent_code",
                &[("AuthCode", auth_code.as_str())],
                now,
            ),
            auth_code: Some(auth_code),
        })
    }

    /// The corp removes the app: the authorisation is cancelled ([`Self::cancel`]) and the
    /// `cancel_auth` command answered. `None` unless the corp had authorised the suite.
    pub(crate) fn uninstall(
        &mut self,
        suite_id: &str,
        auth_corpid: &str,
        now: SystemTime,
    ) -> Option<SimCommand> {
        if !self.cancel(suite_id, auth_corpid) {
            return None;
        }
        Some(SimCommand {
            suite_id: suite_id.to_owned(),
            info_type: "cancel_auth".into(),
            xml: command_xml(suite_id, "cancel_auth", &[("AuthCorpId", auth_corpid)], now),
            auth_code: None,
        })
    }

    /// The `suite_ticket` command for `ticket`.
    pub(crate) fn ticket_command(ticket: &SimSuiteTicket) -> SimCommand {
        let mut xml = format!(
            "<xml><SuiteId><![CDATA[{}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>{}</TimeStamp>",
            ticket.suite_id, ticket.timestamp
        );
        xml.push_str(&format!(
            "<SuiteTicket><![CDATA[{}]]></SuiteTicket></xml>",
            ticket.ticket
        ));
        SimCommand {
            suite_id: ticket.suite_id.clone(),
            info_type: "suite_ticket".into(),
            auth_code: None,
            xml,
        }
    }

    fn issue_auth_code(
        &mut self,
        suite_id: &str,
        auth_corpid: &str,
        state: Option<&str>,
        now: SystemTime,
    ) -> Option<String> {
        let n = self.next();
        let instance = self.instance;
        let suite = self.suites.get_mut(suite_id)?;
        let auth_code = format!("simauthcode_{instance:016x}_{n}");
        suite.auth_codes.insert(
            auth_code.clone(),
            Install {
                auth_corpid: auth_corpid.to_owned(),
                state: state.map(str::to_owned),
                issued_at: now,
            },
        );
        Some(auth_code)
    }

    fn suite_id_of(&self, suite_token: Option<&str>, now: SystemTime) -> Result<String, Refusal> {
        let token = suite_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::code(codes::INVALID_SUITE_TOKEN))?;
        self.suite_of_token(token, now).map(str::to_owned)
    }

    /// `service/get_pre_auth_code?suite_access_token=`: a pre-auth code good for 20 minutes.
    pub(crate) fn get_pre_auth_code(
        &mut self,
        suite_token: Option<&str>,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let suite_id = self.suite_id_of(suite_token, now)?;
        let n = self.next();
        let instance = self.instance;
        let code = format!("simpreauth_{instance:016x}_{n}");
        if let Some(suite) = self.suites.get_mut(&suite_id) {
            suite.pre_auth_codes.push((code.clone(), now));
        }
        let mut fields = Map::new();
        fields.insert("pre_auth_code".into(), Value::from(code));
        fields.insert(
            "expires_in".into(),
            Value::from(PRE_AUTH_CODE_LIFETIME_SECS),
        );
        Ok(fields)
    }

    /// `service/set_session_info?suite_access_token=`: `{"pre_auth_code", "session_info"}`;
    /// 42007 for a pre-auth code the suite never got or past its 20 minutes.
    pub(crate) fn set_session_info(
        &mut self,
        suite_token: Option<&str>,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let suite_id = self.suite_id_of(suite_token, now)?;
        let code = body
            .required_str("pre_auth_code")
            .map_err(|_| Refusal::code(codes::PRE_AUTH_CODE_EXPIRED))?;
        let lifetime = Duration::from_secs(PRE_AUTH_CODE_LIFETIME_SECS);
        let live = self.suites.get(&suite_id).is_some_and(|s| {
            s.pre_auth_codes.iter().any(|(c, at)| {
                c == code && now.duration_since(*at).map_or(true, |age| age < lifetime)
            })
        });
        if !live {
            return Err(Refusal::code(codes::PRE_AUTH_CODE_EXPIRED));
        }
        Ok(Map::new())
    }

    /// `service/v2/get_permanent_code?suite_access_token=`: `{"auth_code"}` (single use, 10
    /// minutes; else 40078) for the corp's permanent code (a new one: a reset replaces the
    /// old), `auth_corp_info`, `auth_user_info` and `state`.
    pub(crate) fn get_permanent_code(
        &mut self,
        suite_token: Option<&str>,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let suite_id = self.suite_id_of(suite_token, now)?;
        let code = body
            .required_str("auth_code")
            .map_err(|_| Refusal::code(codes::INVALID_AUTH_CODE))?;
        let lifetime = Duration::from_secs(AUTH_CODE_LIFETIME_SECS);
        let install = self
            .suites
            .get_mut(&suite_id)
            .and_then(|s| s.auth_codes.remove(code))
            .ok_or_else(|| Refusal::code(codes::INVALID_AUTH_CODE))?;
        if now
            .duration_since(install.issued_at)
            .is_ok_and(|age| age >= lifetime)
        {
            return Err(Refusal::code(codes::INVALID_AUTH_CODE));
        }
        let permanent_code = self
            .authorise(&suite_id, &install.auth_corpid)
            .ok_or_else(|| Refusal::code(codes::INVALID_SUITE_ID))?;
        let mut fields = Map::new();
        fields.insert("permanent_code".into(), Value::from(permanent_code));
        fields.insert(
            "auth_corp_info".into(),
            auth_corp_info(&install.auth_corpid),
        );
        fields.insert(
            "auth_user_info".into(),
            serde_json::json!({"userid": "simadmin", "open_userid": "simadmin_open", "name": "Sim Admin"}),
        );
        if let Some(state) = install.state {
            fields.insert("state".into(), Value::from(state));
        }
        Ok(fields)
    }

    /// `service/get_auth_info?suite_access_token=`: `{"auth_corpid", "permanent_code"}` (else
    /// 40084) for `auth_corp_info` and `auth_info`.
    pub(crate) fn get_auth_info(
        &mut self,
        suite_token: Option<&str>,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let suite_id = self.suite_id_of(suite_token, now)?;
        let auth_corpid = body.required_str("auth_corpid")?;
        let code = body
            .required_str("permanent_code")
            .map_err(|_| Refusal::code(codes::INVALID_PERMANENT_CODE))?;
        self.suites
            .get(&suite_id)
            .and_then(|s| s.corps.get(auth_corpid))
            .filter(|c| c.permanent_code == code)
            .ok_or_else(|| Refusal::code(codes::INVALID_PERMANENT_CODE))?;
        let mut fields = Map::new();
        fields.insert("auth_corp_info".into(), auth_corp_info(auth_corpid));
        fields.insert(
            "auth_info".into(),
            serde_json::json!({"agent": [{"agentid": 1000001, "name": "Sim KF"}]}),
        );
        Ok(fields)
    }

    /// `service/get_provider_token`: `{"corpid", "provider_secret"}`.
    pub(crate) fn get_provider_token(
        &mut self,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let corp_id = body.required_str("corpid")?;
        if corp_id != self.corp_id {
            return Err(Refusal::code(codes::INVALID_CORP_ID));
        }
        if body.required_str("provider_secret")? != self.secret {
            return Err(Refusal::code(codes::INVALID_SECRET));
        }
        let (token, expires_in) = self.tokens.issue(now);
        Ok(token_fields("provider_access_token", token, expires_in))
    }

    /// `service/get_suite_token`: `{"suite_id", "suite_secret", "suite_ticket"}`.
    pub(crate) fn get_suite_token(
        &mut self,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let suite_id = body
            .required_str("suite_id")
            .map_err(|_| Refusal::code(codes::INVALID_SUITE_ID))?;
        let suite = self
            .suites
            .get_mut(suite_id)
            .ok_or_else(|| Refusal::code(codes::INVALID_SUITE_ID))?;
        if body.required_str("suite_secret")? != suite.secret {
            return Err(Refusal::code(codes::INVALID_SECRET));
        }
        let ticket = body
            .required_str("suite_ticket")
            .map_err(|_| Refusal::code(codes::INVALID_SUITE_TICKET))?;
        let lifetime = Duration::from_secs(SUITE_TICKET_LIFETIME_SECS);
        let fresh = suite.tickets.iter().any(|(t, at)| {
            t == ticket && now.duration_since(*at).map_or(true, |age| age < lifetime)
        });
        if !fresh {
            return Err(Refusal::code(codes::INVALID_SUITE_TICKET));
        }
        let (token, expires_in) = suite.tokens.issue(now);
        Ok(token_fields("suite_access_token", token, expires_in))
    }

    /// `service/get_corp_token?suite_access_token=`: `{"auth_corpid", "permanent_code"}`.
    pub(crate) fn get_corp_token(
        &mut self,
        suite_token: Option<&str>,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let suite_token = suite_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Refusal::code(codes::INVALID_SUITE_TOKEN))?;
        let suite_id = self.suite_of_token(suite_token, now)?.to_owned();
        let auth_corpid = body.required_str("auth_corpid")?;
        let code = body
            .required_str("permanent_code")
            .map_err(|_| Refusal::code(codes::INVALID_PERMANENT_CODE))?;
        let corp = self
            .suites
            .get_mut(&suite_id)
            .and_then(|s| s.corps.get_mut(auth_corpid))
            .filter(|c| c.permanent_code == code)
            .ok_or_else(|| Refusal::code(codes::INVALID_PERMANENT_CODE))?;
        let (token, expires_in) = corp.tokens.issue(now);
        Ok(token_fields("access_token", token, expires_in))
    }
}

fn auth_corp_info(auth_corpid: &str) -> Value {
    serde_json::json!({"corpid": auth_corpid, "corp_name": format!("Sim corp {auth_corpid}")})
}

fn token_fields(name: &str, token: String, expires_in: u64) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(name.into(), Value::from(token));
    fields.insert("expires_in".into(), Value::from(expires_in));
    fields
}
