//! The simulator's message log and `kf/sync_msg`: what customers sent (and the events around
//! it), paged by cursor, the last 3 days, with callback tokens that last 10 minutes (95007
//! after that, or for a token never issued).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::wire::{JsonBody, Refusal};
use crate::errcode;
use crate::kf::message::SYNC_LIMIT_MAX;

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
}

/// Where a customer's conversation with an account stands for sending.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The customer's last message.
    last_customer: SystemTime,
    /// Messages sent since then.
    sent_since: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Messages {
    log: Vec<SimMessage>,
    /// Token → (account, issued at).
    tokens: HashMap<String, (String, SystemTime)>,
    next: u64,
    sent: Vec<(String, SimSentMessage)>,
    windows: HashMap<(String, String), Window>,
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

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

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
                "send_time": unix(now), "origin": 3, "msgtype": "text",
                "text": {"content": content},
            })
        })
    }

    /// What `open_kfid` sent, oldest first.
    pub(crate) fn sent_by(&self, open_kfid: &str) -> Vec<SimSentMessage> {
        self.sent
            .iter()
            .filter(|(account, _)| account == open_kfid)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// `kf/send_msg`. `state` is the session's state (0 and 1 allow sending).
    pub(crate) fn send(
        &mut self,
        open_kfid: &str,
        body: &JsonBody,
        state: impl Fn(&str) -> i64,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let bad = |what: &str| {
            Refusal::new(
                errcode::INVALID_PARAMETER,
                format!("invalid parameter: {what}"),
            )
        };
        let touser = body.required_str("touser")?;
        let msgid = match body.optional_str("msgid")? {
            Some(id) => {
                let valid = !id.is_empty()
                    && id.len() <= 32
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !valid {
                    return Err(bad("msgid"));
                }
                // The docs say a repeated msgid is an error without giving its code.
                if self
                    .sent
                    .iter()
                    .any(|(a, m)| a == open_kfid && m.msgid == id)
                {
                    return Err(bad("msgid duplicated"));
                }
                id.to_owned()
            }
            None => {
                self.next += 1;
                format!("simsent{:010}", self.next)
            }
        };
        let msgtype = body.required_str("msgtype")?;
        if !SEND_TYPES.contains(&msgtype) {
            return Err(bad("msgtype"));
        }
        let Some(payload) = body.get(msgtype).filter(|p| p.is_object()) else {
            return Err(bad(msgtype));
        };
        if msgtype == "text" {
            let content = payload["content"].as_str().unwrap_or_default();
            if content.is_empty() || content.len() > 2048 {
                return Err(bad("text.content"));
            }
        }
        if msgtype == "msgmenu" && payload["list"].as_array().map_or(0, Vec::len) > 10 {
            return Err(Refusal::code(errcode::KF_MENU_ITEM_LIMIT));
        }
        if !matches!(state(touser), 0 | 1) {
            return Err(Refusal::code(errcode::KF_STATE_FORBIDS_SENDING));
        }
        let key = (open_kfid.to_owned(), touser.to_owned());
        let Some(window) = self.windows.get_mut(&key) else {
            return Err(Refusal::code(errcode::KF_SEND_WINDOW_CLOSED));
        };
        if now.duration_since(window.last_customer).unwrap_or_default() > SEND_WINDOW {
            return Err(Refusal::code(errcode::KF_SEND_WINDOW_CLOSED));
        }
        if window.sent_since >= SEND_QUOTA {
            return Err(Refusal::code(errcode::KF_SEND_QUOTA_USED_UP));
        }
        window.sent_since += 1;
        self.sent.push((
            open_kfid.to_owned(),
            SimSentMessage {
                msgid: msgid.clone(),
                touser: touser.to_owned(),
                msgtype: msgtype.to_owned(),
                payload: payload.clone(),
            },
        ));
        let mut fields = Map::new();
        fields.insert("msgid".into(), Value::from(msgid));
        Ok(fields)
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
        self.append(open_kfid, now, |msgid| {
            json!({
                "msgid": msgid, "send_time": unix(now), "origin": 4, "msgtype": "event",
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
                return Err(Refusal::code(errcode::KF_INVALID_MSG_TOKEN));
            }
        }
        let after = match body.optional_str("cursor")? {
            None | Some("") => 0,
            Some(cursor) => cursor
                .strip_prefix("simcur")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    Refusal::new(errcode::INVALID_PARAMETER, "invalid parameter: cursor")
                })?,
        };
        let limit = body.optional_u32("limit")?.unwrap_or(SYNC_LIMIT_MAX);
        if !(1..=SYNC_LIMIT_MAX).contains(&limit) {
            return Err(Refusal::new(
                errcode::INVALID_PARAMETER,
                format!("invalid parameter: limit must be 1..{SYNC_LIMIT_MAX}"),
            ));
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
