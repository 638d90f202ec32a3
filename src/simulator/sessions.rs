//! The simulator's session states: `kf/service_state/get` and `trans`, with the state machine
//! of doc 94669 (0 → 1, 2, 3; 1 → 2, 3; 2 → 3; 3 → 3, 4; anything else is 95016).
//!
//! A session the simulator has never seen is in state 4 (已结束/未开始: ended or not started);
//! [`Simulator::seed_session`](super::Simulator::seed_session) starts one in state 0, as a
//! customer's first message would.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::wire::{JsonBody, Refusal};
use crate::errcode;

const UNTREATED: i64 = 0;
const QUEUED: i64 = 2;
const SERVICER: i64 = 3;
const ENDED: i64 = 4;

#[derive(Debug)]
struct Session {
    state: i64,
    servicer: Option<String>,
    /// The reply code (first move to 2 or 3) has been handed out.
    reply_code_issued: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_customer: BTreeMap<(String, String), Session>,
    codes: u64,
}

impl Sessions {
    /// A customer writes: their session starts (again) in state 0.
    pub(crate) fn customer_writes(&mut self, open_kfid: &str, external_userid: &str) {
        self.by_customer.insert(
            (open_kfid.to_owned(), external_userid.to_owned()),
            Session {
                state: UNTREATED,
                servicer: None,
                reply_code_issued: false,
            },
        );
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
        if !(1..=ENDED).contains(&to) {
            return Err(Refusal::invalid("service_state"));
        }
        if to == SERVICER && servicer.is_none() {
            return Err(Refusal::invalid("servicer_userid missing"));
        }
        let key = (open_kfid.to_owned(), external_userid.to_owned());
        let from = self.by_customer.get(&key).map_or(ENDED, |s| s.state);
        let allowed = matches!(
            (from, to),
            (0, 1..=3) | (1, 2 | 3) | (2, SERVICER) | (SERVICER, SERVICER | ENDED)
        );
        if !allowed {
            return Err(Refusal::code(errcode::KF_STATE_TRANSITION_NOT_ALLOWED));
        }
        if let Some(servicer) = servicer.filter(|_| to == SERVICER)
            && !is_servicer(servicer)
        {
            return Err(Refusal::code(errcode::KF_NOT_A_SERVICER));
        }
        let Some(session) = self.by_customer.get_mut(&key) else {
            // Unreachable: a session in state 4 has no allowed move, and only seeded or moved
            // sessions are in the map.
            return Err(Refusal::code(errcode::KF_STATE_TRANSITION_NOT_ALLOWED));
        };
        session.state = to;
        session.servicer = servicer.filter(|_| to == SERVICER).map(str::to_owned);
        let issue_code = match to {
            QUEUED | SERVICER if !session.reply_code_issued => {
                session.reply_code_issued = true;
                true
            }
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
