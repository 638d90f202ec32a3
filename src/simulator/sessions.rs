//! The simulator's session states: `kf/service_state/get` and `trans`, with the state machine
//! of doc 94669 ([`rules::trans_allowed`]: 0 → 1, 2, 3; 1 → 2, 3; 2 → 3; 3 → 3, 4; anything
//! else is 95016).
//!
//! A session the simulator has never seen is in state 4 (已结束/未开始: ended or not started).
//! A customer's message starts a session in state 0 only from state 4: "客户重新发信咨询后会话
//! 状态变为“未处理”"; in states 0–3 the session keeps its state, servicer and codes (a session
//! lasts until it is ended). A `send_msg` moves state 0 to 1: "通过API发消息…会将客户分配给
//! 智能助手" (doc 95489).
//!
//! Reply codes (doc 95122): the first move to 2 issues a "进入接待池" code, the first move to 3
//! a "从接待池接入会话" code (from the queue or not), and every move to 4 a "结束会话" code.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::rules::{self, BOT, ENDED, QUEUED, SERVICER, UNTREATED, codes};
use super::wire::{JsonBody, Refusal};

#[derive(Debug)]
struct Session {
    state: i64,
    servicer: Option<String>,
    /// The "进入接待池" code (first move to 2) has been handed out.
    queue_code_issued: bool,
    /// The "从接待池接入会话" code (first move to 3) has been handed out.
    servicer_code_issued: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_customer: BTreeMap<(String, String), Session>,
    codes: u64,
}

impl Sessions {
    /// A customer writes: a session ended or never seen starts in state 0; one in states
    /// 0–3 goes on as it is.
    pub(crate) fn customer_writes(&mut self, open_kfid: &str, external_userid: &str) {
        let key = (open_kfid.to_owned(), external_userid.to_owned());
        if self.by_customer.get(&key).is_some_and(|s| s.state != ENDED) {
            return;
        }
        self.by_customer.insert(
            key,
            Session {
                state: UNTREATED,
                servicer: None,
                queue_code_issued: false,
                servicer_code_issued: false,
            },
        );
    }

    /// The API sent a message to the customer: an untreated session goes to the bot (state 1,
    /// doc 95489). Other states are unchanged (`send_msg` is refused in 2, 3 and 4).
    pub(crate) fn api_replied(&mut self, open_kfid: &str, external_userid: &str) {
        if let Some(session) = self
            .by_customer
            .get_mut(&(open_kfid.to_owned(), external_userid.to_owned()))
            && session.state == UNTREATED
        {
            session.state = BOT;
        }
    }

    /// The state of a customer's session (4 for one never seen).
    pub(crate) fn state_of(&self, open_kfid: &str, external_userid: &str) -> i64 {
        self.by_customer
            .get(&(open_kfid.to_owned(), external_userid.to_owned()))
            .map_or(ENDED, |s| s.state)
    }

    pub(crate) fn get(
        &self,
        open_kfid: &str,
        body: &JsonBody,
    ) -> Result<Map<String, Value>, Refusal> {
        let external_userid = body.required_str("external_userid")?;
        let mut fields = Map::new();
        match self
            .by_customer
            .get(&(open_kfid.to_owned(), external_userid.to_owned()))
        {
            Some(session) => {
                fields.insert("service_state".into(), Value::from(session.state));
                if let (SERVICER, Some(servicer)) = (session.state, &session.servicer) {
                    fields.insert("servicer_userid".into(), Value::from(servicer.as_str()));
                }
            }
            None => {
                fields.insert("service_state".into(), Value::from(ENDED));
            }
        }
        Ok(fields)
    }

    /// `is_servicer` says whether a userid may receive this account's customers.
    pub(crate) fn trans(
        &mut self,
        open_kfid: &str,
        body: &JsonBody,
        is_servicer: impl Fn(&str) -> bool,
    ) -> Result<Map<String, Value>, Refusal> {
        let external_userid = body.required_str("external_userid")?;
        let to = body.required_i64("service_state")?;
        let servicer = body.optional_str("servicer_userid")?;
        // A target outside the documented states is malformed (40058); a documented one the
        // table does not allow, 0 included, is 95016.
        if !(UNTREATED..=ENDED).contains(&to) {
            return Err(Refusal::invalid("service_state"));
        }
        if to == SERVICER && servicer.is_none() {
            return Err(Refusal::invalid("servicer_userid missing"));
        }
        let key = (open_kfid.to_owned(), external_userid.to_owned());
        let from = self.by_customer.get(&key).map_or(ENDED, |s| s.state);
        if !rules::trans_allowed(from, to) {
            return Err(Refusal::code(codes::STATE_TRANSITION_NOT_ALLOWED));
        }
        if let Some(servicer) = servicer.filter(|_| to == SERVICER)
            && !is_servicer(servicer)
        {
            return Err(Refusal::code(codes::NOT_A_SERVICER));
        }
        let Some(session) = self.by_customer.get_mut(&key) else {
            // Unreachable: a session in state 4 has no allowed move, and only seeded or moved
            // sessions are in the map.
            return Err(Refusal::code(codes::STATE_TRANSITION_NOT_ALLOWED));
        };
        session.state = to;
        session.servicer = servicer.filter(|_| to == SERVICER).map(str::to_owned);
        let issue_code = match to {
            QUEUED => !std::mem::replace(&mut session.queue_code_issued, true),
            SERVICER => !std::mem::replace(&mut session.servicer_code_issued, true),
            ENDED => true,
            _ => false,
        };
        let mut fields = Map::new();
        if issue_code {
            self.codes += 1;
            fields.insert(
                "msg_code".into(),
                Value::from(format!("MSGCODE_SIMULATED_{:06}", self.codes)),
            );
        }
        Ok(fields)
    }
}

/// A read-only view for the control plane's state snapshot (`control.rs`).
impl Sessions {
    /// Every session known, by account and customer: (open_kfid, external_userid, state, the
    /// servicer in state 3).
    pub(crate) fn snapshot(&self) -> Vec<(String, String, i64, Option<String>)> {
        self.by_customer
            .iter()
            .map(|((open_kfid, external_userid), session)| {
                let servicer = session
                    .servicer
                    .clone()
                    .filter(|_| session.state == SERVICER);
                (
                    open_kfid.clone(),
                    external_userid.clone(),
                    session.state,
                    servicer,
                )
            })
            .collect()
    }
}
