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

#[derive(Debug, Default)]
pub(crate) struct Messages {
    log: Vec<SimMessage>,
    /// Token → (account, issued at).
    tokens: HashMap<String, (String, SystemTime)>,
    next: u64,
}

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
        self.append(open_kfid, now, |msgid| {
            json!({
                "msgid": msgid, "open_kfid": open_kfid, "external_userid": external_userid,
                "send_time": unix(now), "origin": 3, "msgtype": "text",
                "text": {"content": content},
            })
        })
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
