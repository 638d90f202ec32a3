//! The simulator's message log and `kf/sync_msg`: what customers sent (and the events around
//! it), paged by cursor, the last 3 days, with callback tokens that last 10 minutes (95007
//! after that, or for a token never issued).

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::rules::codes;
use super::rules::{
    MENU_CLICK_CONTENT_MAX_BYTES, MENU_CLICK_ID_MAX_BYTES, MENU_ITEMS_MAX, MENU_TEXT_MAX_BYTES,
    MSGID_MAX_BYTES, SYNC_LIMIT_MAX, TEXT_MAX_BYTES, event_code_types, is_wecom_id, send_allowed,
};
use super::wire::{JsonBody, Refusal};
use crate::clock::unix_secs;

/// How long a callback's token may be used.
const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// How far back `sync_msg` reaches.
const HISTORY: Duration = Duration::from_secs(3 * 86_400);

#[derive(Debug)]
struct SimMessage {
    seq: u64,
    open_kfid: String,
    /// The whole `msg_list` entry.
    entry: Value,
    sent: SystemTime,
}

/// A message an account sent with `kf/send_msg`, as
/// [`Simulator::sent_messages`](super::Simulator::sent_messages) shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimSentMessage {
    /// Its msgid (the caller's, or one the simulator made).
    pub msgid: String,
    /// The customer.
    pub touser: String,
    /// Its `msgtype`.
    pub msgtype: String,
    /// The payload object named after the type, as sent.
    pub payload: Value,
    /// Sent with `send_msg_on_event` (with an event's code) rather than `send_msg`.
    pub on_event: bool,
    /// Recalled with `kf/recall_msg`.
    pub recalled: bool,
}

/// A message sent, with what only the simulator needs.
#[derive(Debug)]
struct SentRecord {
    open_kfid: String,
    message: SimSentMessage,
    at: SystemTime,
}

/// A code for `send_msg_on_event`.
#[derive(Debug)]
struct EventCode {
    open_kfid: String,
    external_userid: String,
    expires: SystemTime,
    /// The session state the code belongs to (none for a welcome code).
    state: Option<i64>,
    used: bool,
}

/// How long a welcome code (and a closing code) lasts.
const SHORT_CODE: Duration = Duration::from_secs(20);
/// How long a code from a move to the queue or to a servicer lasts.
const LONG_CODE: Duration = Duration::from_secs(48 * 3_600);
/// How long after sending a message can be recalled.
const RECALL_WINDOW: Duration = Duration::from_secs(120);

/// Where a customer's conversation with an account stands for sending.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The customer's last message.
    last_customer: SystemTime,
    /// Messages sent since then.
    sent_since: u32,
}

#[derive(Default)]
pub(crate) struct Messages {
    log: Vec<SimMessage>,
    /// Token → (account, issued at).
    tokens: HashMap<String, (String, SystemTime)>,
    next: u64,
    sent: Vec<SentRecord>,
    windows: HashMap<(String, String), Window>,
    codes: HashMap<String, EventCode>,
}

/// Counts only: the callback tokens and event codes are credentials, the log bulk.
impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messages")
            .field("log", &self.log.len())
            .field("sync_tokens", &self.tokens.len())
            .field("sent", &self.sent.len())
            .field("windows", &self.windows.len())
            .field("event_codes", &self.codes.len())
            .finish_non_exhaustive()
    }
}

/// At most this many messages after a customer's last one (95001 beyond).
const SEND_QUOTA: u32 = 5;
/// Within this long after a customer's last message (95002 after).
const SEND_WINDOW: Duration = Duration::from_secs(48 * 3_600);
const SEND_TYPES: [&str; 11] = [
    "text",
    "image",
    "voice",
    "video",
    "file",
    "link",
    "miniprogram",
    "msgmenu",
    "location",
    "business_card",
    "ca_link",
];

impl Messages {
    fn append(
        &mut self,
        open_kfid: &str,
        now: SystemTime,
        build: impl FnOnce(String) -> Value,
    ) -> String {
        self.next += 1;
        let msgid = format!("simmsg{:010}", self.next);
        self.log.push(SimMessage {
            seq: self.next,
            open_kfid: open_kfid.to_owned(),
            entry: build(msgid.clone()),
            sent: now,
        });
        msgid
    }

    /// A customer's text message (origin 3).
    pub(crate) fn customer_text(
        &mut self,
        open_kfid: &str,
        external_userid: &str,
        content: &str,
        now: SystemTime,
    ) -> String {
        self.windows.insert(
            (open_kfid.to_owned(), external_userid.to_owned()),
            Window {
                last_customer: now,
                sent_since: 0,
            },
        );
        self.append(open_kfid, now, |msgid| {
            json!({
                "msgid": msgid, "open_kfid": open_kfid, "external_userid": external_userid,
                "send_time": unix_secs(now), "origin": 3, "msgtype": "text",
                "text": {"content": content},
            })
        })
    }

    /// What `open_kfid` sent, oldest first.
    pub(crate) fn sent_by(&self, open_kfid: &str) -> Vec<SimSentMessage> {
        self.sent
            .iter()
            .filter(|r| r.open_kfid == open_kfid)
            .map(|r| r.message.clone())
            .collect()
    }

    /// `kf/send_msg`. `state` is the session's state (0 and 1 allow sending; the caller moves
    /// 0 to 1 once the message is sent).
    pub(crate) fn send(
        &mut self,
        open_kfid: &str,
        body: &JsonBody,
        state: impl Fn(&str) -> i64,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let touser = body.required_str("touser")?;
        let msgid = self.take_msgid(open_kfid, body)?;
        let msgtype = body.required_str("msgtype")?;
        if !SEND_TYPES.contains(&msgtype) {
            return Err(Refusal::invalid("msgtype"));
        }
        let Some(payload) = body.get(msgtype).filter(|p| p.is_object()) else {
            return Err(Refusal::invalid(msgtype));
        };
        if msgtype == "text" {
            let content = payload["content"].as_str().unwrap_or_default();
            if content.is_empty() || content.len() > TEXT_MAX_BYTES {
                return Err(Refusal::invalid("text.content"));
            }
        }
        if msgtype == "msgmenu" {
            check_menu(payload)?;
        }
        if !send_allowed(state(touser)) {
            return Err(Refusal::code(codes::STATE_FORBIDS_SENDING));
        }
        let key = (open_kfid.to_owned(), touser.to_owned());
        let Some(window) = self.windows.get_mut(&key) else {
            return Err(Refusal::code(codes::SEND_WINDOW_CLOSED));
        };
        if now.duration_since(window.last_customer).unwrap_or_default() > SEND_WINDOW {
            return Err(Refusal::code(codes::SEND_WINDOW_CLOSED));
        }
        if window.sent_since >= SEND_QUOTA {
            return Err(Refusal::code(codes::SEND_QUOTA_USED_UP));
        }
        window.sent_since += 1;
        let sent = SimSentMessage {
            msgid,
            touser: touser.to_owned(),
            msgtype: msgtype.to_owned(),
            payload: payload.clone(),
            on_event: false,
            recalled: false,
        };
        Ok(self.record(open_kfid.to_owned(), sent, now))
    }

    fn new_msgid(&mut self) -> String {
        self.next += 1;
        format!("simsent{:010}", self.next)
    }

    /// Keeps a sent message; answers its msgid.
    fn record(
        &mut self,
        open_kfid: String,
        message: SimSentMessage,
        now: SystemTime,
    ) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("msgid".into(), Value::from(message.msgid.clone()));
        self.sent.push(SentRecord {
            open_kfid,
            message,
            at: now,
        });
        fields
    }

    /// A customer entering a session through a link with `scene` (an `enter_session` event).
    pub(crate) fn customer_enters(
        &mut self,
        open_kfid: &str,
        external_userid: &str,
        scene: &str,
        now: SystemTime,
    ) -> String {
        let welcome_code = format!("WELCOME_SIMULATED_{:06}", self.next + 1);
        self.codes.insert(
            welcome_code.clone(),
            EventCode {
                open_kfid: open_kfid.to_owned(),
                external_userid: external_userid.to_owned(),
                expires: now + SHORT_CODE,
                state: None,
                used: false,
            },
        );
        self.append(open_kfid, now, |msgid| {
            json!({
                "msgid": msgid, "send_time": unix_secs(now), "origin": 4, "msgtype": "event",
                "event": {
                    "event_type": "enter_session", "open_kfid": open_kfid,
                    "external_userid": external_userid, "scene": scene, "scene_param": "",
                    "welcome_code": welcome_code,
                },
            })
        })
    }

    /// The token a `kf_msg_or_event` callback for `open_kfid` would carry now.
    pub(crate) fn issue_token(&mut self, open_kfid: &str, now: SystemTime) -> String {
        self.next += 1;
        let token = format!("ENCSIMTOKEN{:010}", self.next);
        self.tokens
            .insert(token.clone(), (open_kfid.to_owned(), now));
        token
    }

    /// A `msg_code` from `service_state/trans` to `state`: usable once, while the session
    /// stays in that state, for 48 hours (20 seconds for a closing code).
    pub(crate) fn register_trans_code(
        &mut self,
        code: &str,
        open_kfid: &str,
        external_userid: &str,
        state: i64,
        now: SystemTime,
    ) {
        let lasts = if state == 4 { SHORT_CODE } else { LONG_CODE };
        self.codes.insert(
            code.to_owned(),
            EventCode {
                open_kfid: open_kfid.to_owned(),
                external_userid: external_userid.to_owned(),
                expires: now + lasts,
                state: Some(state),
                used: false,
            },
        );
    }

    /// `kf/send_msg_on_event`. `state` gives a customer's session state.
    pub(crate) fn send_on_event(
        &mut self,
        body: &JsonBody,
        state: impl Fn(&str, &str) -> i64,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let code = body.required_str("code")?;
        let msgtype = body.required_str("msgtype")?;
        if !matches!(msgtype, "text" | "msgmenu") {
            return Err(Refusal::invalid("msgtype must be text or msgmenu"));
        }
        let Some(payload) = body.get(msgtype).filter(|p| p.is_object()) else {
            return Err(Refusal::invalid(msgtype));
        };
        // The docs give no errcode for a used, expired or stale code.
        let Some(event) = self.codes.get_mut(code) else {
            return Err(Refusal::invalid("code"));
        };
        if !event_code_types(event.state).contains(&msgtype) {
            return Err(Refusal::invalid(format_args!(
                "msgtype {msgtype} is not allowed for this code (doc 95122)"
            )));
        }
        if msgtype == "msgmenu" {
            check_menu(payload)?;
        }
        let stale = event
            .state
            .is_some_and(|s| s != state(&event.open_kfid, &event.external_userid));
        if event.used || now >= event.expires || stale {
            return Err(Refusal::invalid(
                "code used, expired, or no longer valid for the session",
            ));
        }
        let (open_kfid, touser) = (event.open_kfid.clone(), event.external_userid.clone());
        // A refused msgid leaves the code unused.
        let msgid = self.take_msgid(&open_kfid, body)?;
        if let Some(event) = self.codes.get_mut(code) {
            event.used = true;
        }
        let sent = SimSentMessage {
            msgid,
            touser,
            msgtype: msgtype.to_owned(),
            payload: payload.clone(),
            on_event: true,
            recalled: false,
        };
        Ok(self.record(open_kfid, sent, now))
    }

    /// The body's msgid (the documented alphabet and length, unused in the account), or a
    /// fresh one. The docs say a repeated msgid is an error without giving its code.
    fn take_msgid(&mut self, open_kfid: &str, body: &JsonBody) -> Result<String, Refusal> {
        let Some(id) = body.optional_str("msgid")? else {
            return Ok(self.new_msgid());
        };
        if id.is_empty() || !is_wecom_id(id, MSGID_MAX_BYTES) {
            return Err(Refusal::invalid("msgid"));
        }
        if self
            .sent
            .iter()
            .any(|r| r.open_kfid == open_kfid && r.message.msgid == id)
        {
            return Err(Refusal::invalid("msgid duplicated"));
        }
        Ok(id.to_owned())
    }

    /// `kf/recall_msg`: a message this account sent, within 2 minutes, once.
    pub(crate) fn recall(
        &mut self,
        open_kfid: &str,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let msgid = body.required_str("msgid")?;
        let Some(record) = self
            .sent
            .iter_mut()
            .find(|r| r.open_kfid == open_kfid && r.message.msgid == msgid)
        else {
            return Err(Refusal::invalid("msgid not found"));
        };
        if record.message.recalled {
            return Err(Refusal::invalid("message already recalled"));
        }
        if now.duration_since(record.at).unwrap_or_default() > RECALL_WINDOW {
            return Err(Refusal::invalid("message sent more than 2 minutes ago"));
        }
        record.message.recalled = true;
        Ok(Map::new())
    }

    pub(crate) fn sync(
        &self,
        open_kfid: &str,
        body: &JsonBody,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        if let Some(token) = body.optional_str("token")? {
            let fresh = self.tokens.get(token).is_some_and(|(account, issued)| {
                account == open_kfid
                    && now
                        .duration_since(*issued)
                        .is_ok_and(|age| age < TOKEN_LIFETIME)
            });
            if !fresh {
                return Err(Refusal::code(codes::INVALID_MSG_TOKEN));
            }
        }
        let after = match body.optional_str("cursor")? {
            None | Some("") => 0,
            Some(cursor) => cursor
                .strip_prefix("simcur")
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|&n| n <= self.next)
                .ok_or_else(|| Refusal::invalid("cursor"))?,
        };
        let limit = body.optional_u32("limit")?.unwrap_or(SYNC_LIMIT_MAX);
        if !(1..=SYNC_LIMIT_MAX).contains(&limit) {
            return Err(Refusal::invalid(format_args!(
                "limit must be 1..{SYNC_LIMIT_MAX}"
            )));
        }
        let oldest = now.checked_sub(HISTORY).unwrap_or(UNIX_EPOCH);
        let mut pending = self
            .log
            .iter()
            .filter(|m| m.open_kfid == open_kfid && m.seq > after && m.sent >= oldest);
        let page: Vec<&SimMessage> = pending.by_ref().take(limit as usize).collect();
        let has_more = pending.next().is_some();
        let last = page.last().map_or(after, |m| m.seq);
        let mut fields = Map::new();
        fields.insert("next_cursor".into(), Value::from(format!("simcur{last}")));
        fields.insert("has_more".into(), Value::from(u8::from(has_more)));
        fields.insert(
            "msg_list".into(),
            Value::from(
                page.into_iter()
                    .map(|m| m.entry.clone())
                    .collect::<Vec<_>>(),
            ),
        );
        Ok(fields)
    }
}

/// A `msgmenu` payload's items (doc 94677): at most 10 (95008); a `click` item with an optional
/// `id` of 1–128 bytes and a `content` of 1–128 bytes, a `text` item of 1–256 bytes (40058:
/// the docs give no code for these).
fn check_menu(payload: &Value) -> Result<(), Refusal> {
    let items = payload["list"].as_array().map_or(&[][..], Vec::as_slice);
    if items.len() > MENU_ITEMS_MAX {
        return Err(Refusal::code(codes::MENU_ITEM_LIMIT));
    }
    let bytes_between =
        |v: &Value, max: usize| v.as_str().is_some_and(|s| (1..=max).contains(&s.len()));
    for item in items {
        match item["type"].as_str() {
            Some("click") => {
                let click = &item["click"];
                if !click["id"].is_null() && !bytes_between(&click["id"], MENU_CLICK_ID_MAX_BYTES) {
                    return Err(Refusal::invalid("msgmenu.click.id must be 1..128 bytes"));
                }
                if !bytes_between(&click["content"], MENU_CLICK_CONTENT_MAX_BYTES) {
                    return Err(Refusal::invalid(
                        "msgmenu.click.content must be 1..128 bytes",
                    ));
                }
            }
            Some("text") if !bytes_between(&item["text"]["content"], MENU_TEXT_MAX_BYTES) => {
                return Err(Refusal::invalid(
                    "msgmenu.text.content must be 1..256 bytes",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
