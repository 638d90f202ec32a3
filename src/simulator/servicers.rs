//! The simulator's servicers: `kf/servicer/add`, `del` (POST) and `list` (GET), with the corp's
//! member and department directory they draw on.
//!
//! Each item succeeds or fails on its own, as in WeCom: an unknown member is 60111, an unknown
//! department 60123, and an item that needs no change succeeds with errmsg "ignored".

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::rules::SERVICER_LIST_MAX_ITEMS as CHANGE_MAX_ITEMS;
use super::rules::codes;
use super::wire::{JsonBody, Refusal, wecom_message};

/// The servicer endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServicerOp {
    Add,
    Delete,
    List,
}

/// One account's servicers, in the order they were added.
#[derive(Debug, Default)]
struct AccountServicers {
    userids: Vec<String>,
    departments: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Servicers {
    members: BTreeSet<String>,
    departments: BTreeSet<u64>,
    by_account: BTreeMap<String, AccountServicers>,
}

impl Servicers {
    pub(crate) fn add_member(&mut self, userid: &str) {
        self.members.insert(userid.to_owned());
    }

    pub(crate) fn add_department(&mut self, id: u64) {
        self.departments.insert(id);
    }

    /// The servicers of `open_kfid` (already checked to exist).
    pub(crate) fn change(
        &mut self,
        op: ServicerOp,
        open_kfid: &str,
        body: &JsonBody,
    ) -> Result<Map<String, Value>, Refusal> {
        let userids = body.str_list("userid_list")?;
        let departments = body.u64_list("department_id_list")?;
        if userids.is_empty() && departments.is_empty() {
            return Err(Refusal::invalid(
                "userid_list and department_id_list are both empty",
            ));
        }
        if userids.len() > CHANGE_MAX_ITEMS || departments.len() > CHANGE_MAX_ITEMS {
            return Err(Refusal::invalid(format_args!(
                "at most {CHANGE_MAX_ITEMS} items per list"
            )));
        }
        let add = op == ServicerOp::Add;
        let mut results = Vec::new();
        for userid in userids {
            let known = self.members.contains(userid);
            let list = &mut self
                .by_account
                .entry(open_kfid.to_owned())
                .or_default()
                .userids;
            let (code, msg) = apply(add, known, codes::USERID_NOT_FOUND, list, userid.to_owned());
            results.push(json!({"userid": userid, "errcode": code, "errmsg": msg}));
        }
        for id in departments {
            let known = self.departments.contains(&id);
            let list = &mut self
                .by_account
                .entry(open_kfid.to_owned())
                .or_default()
                .departments;
            let (code, msg) = apply(add, known, codes::INVALID_DEPARTMENT, list, id);
            results.push(json!({"department_id": id, "errcode": code, "errmsg": msg}));
        }
        let mut fields = Map::new();
        fields.insert("result_list".into(), Value::from(results));
        Ok(fields)
    }

    /// Whether `userid` is one of `open_kfid`'s member servicers.
    pub(crate) fn is_servicer(&self, open_kfid: &str, userid: &str) -> bool {
        self.by_account
            .get(open_kfid)
            .is_some_and(|a| a.userids.iter().any(|u| u == userid))
    }

    pub(crate) fn list(&self, open_kfid: &str) -> Map<String, Value> {
        let mut servicers = Vec::new();
        if let Some(account) = self.by_account.get(open_kfid) {
            servicers.extend(
                account
                    .userids
                    .iter()
                    .map(|u| json!({"userid": u, "status": 0})),
            );
            servicers.extend(
                account
                    .departments
                    .iter()
                    .map(|d| json!({"department_id": d})),
            );
        }
        let mut fields = Map::new();
        fields.insert("servicer_list".into(), Value::from(servicers));
        fields
    }
}

/// Adds or removes one item; returns its per-item errcode and errmsg.
fn apply<T: PartialEq>(
    add: bool,
    known: bool,
    unknown_code: i64,
    list: &mut Vec<T>,
    item: T,
) -> (i64, &'static str) {
    if !known {
        return (unknown_code, wecom_message(unknown_code));
    }
    let present = list.iter().position(|x| *x == item);
    match (add, present) {
        (true, None) => list.push(item),
        (false, Some(at)) => {
            list.remove(at);
        }
        _ => return (codes::OK, "ignored"),
    }
    (codes::OK, "success")
}
