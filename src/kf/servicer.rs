//! Servicers (接待人员): the members and departments that receive an account's customers.
//! `kf/servicer/add`, `kf/servicer/del`, `kf/servicer/list`.
//!
//! ```no_run
//! use wecom_kf::kf::servicer::{AddServicers, ListServicers};
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String) -> Result<(), wecom_kf::Error> {
//! let servicers = client.kf().servicer();
//! let outcome = servicers
//!     .add(AddServicers::new(&open_kfid).userids(["zhangsan", "lisi"]).departments([2]))
//!     .await?;
//! for failed in outcome.failures() {
//!     eprintln!("not added: {failed:?}"); // a partial failure is data, not an error
//! }
//! let list = servicers.list(ListServicers::new(&open_kfid)).await?;
//! # let _ = list; Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kf::account::OPEN_KFID_MAX_BYTES;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::{Client, validate};

/// At most this many userids, and this many department ids, in one add or delete.
pub const CHANGE_MAX_ITEMS: usize = 100;
/// A member's userid: 1 to 64 bytes.
pub const USERID_MAX_BYTES: usize = 64;

/// The servicer API. Obtained with `client.kf().servicer()`.
#[derive(Debug, Clone, Copy)]
pub struct ServicerApi<'a> {
    client: &'a Client,
}

impl<'a> ServicerApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Adds members and/or departments as servicers of an account
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94646)).
    ///
    /// Each item succeeds or fails on its own: read [`AddServicersResponse::failures`]. An
    /// item that is already a servicer succeeds again (WeCom answers it "ignored").
    ///
    /// **Idempotent**: a replay ends in the same servicers, so it is retried after transient
    /// failures. An account has at most 2000 member servicers and 20 departments.
    pub async fn add(self, request: AddServicers) -> Result<AddServicersResponse> {
        self.client.execute(request).await
    }

    /// Removes members and/or departments from an account's servicers
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94647)).
    ///
    /// **Idempotent**, like [`add`](Self::add); removing one that is not a servicer succeeds.
    pub async fn delete(self, request: DeleteServicers) -> Result<DeleteServicersResponse> {
        self.client.execute(request).await
    }

    /// An account's servicers ([doc](https://developer.work.weixin.qq.com/document/path/94645)).
    ///
    /// **Read** (a GET): retried after transient failures.
    pub async fn list(self, request: ListServicers) -> Result<ListServicersResponse> {
        self.client.execute(request).await
    }
}

/// What `kf/servicer/add` and `kf/servicer/del` both send: an account, and the members
/// (userids) and/or departments, at most 100 of each.
#[derive(Debug, Clone, Serialize)]
struct ServicerChange {
    open_kfid: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    userid_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    department_id_list: Vec<u64>,
}

impl ServicerChange {
    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        if self.userid_list.is_empty() && self.department_id_list.is_empty() {
            return Err(Error::invalid(
                "userid_list",
                "or department_id_list must name at least one servicer",
            ));
        }
        if self.userid_list.len() > CHANGE_MAX_ITEMS {
            return Err(Error::invalid(
                "userid_list",
                format!(
                    "holds at most {CHANGE_MAX_ITEMS} userids per call, got {}",
                    self.userid_list.len()
                ),
            ));
        }
        if self.department_id_list.len() > CHANGE_MAX_ITEMS {
            return Err(Error::invalid(
                "department_id_list",
                format!(
                    "holds at most {CHANGE_MAX_ITEMS} departments per call, got {}",
                    self.department_id_list.len()
                ),
            ));
        }
        for userid in &self.userid_list {
            validate::bytes("userid_list", userid, 1, USERID_MAX_BYTES)?;
        }
        Ok(())
    }
}

/// The add and delete requests differ only in their endpoint and response: one body, one set
/// of builder methods (each request's `Operation` is written out below it).
macro_rules! servicer_change {
    ($(#[$doc:meta])* $request:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize)]
        pub struct $request(ServicerChange);

        impl $request {
            /// The servicers of `open_kfid`; name at least one member or department.
            pub fn new(open_kfid: impl Into<String>) -> Self {
                Self(ServicerChange {
                    open_kfid: open_kfid.into(),
                    userid_list: Vec::new(),
                    department_id_list: Vec::new(),
                })
            }

            /// Members, by userid (a third-party app passes open_userids).
            pub fn userids<I, S>(mut self, userids: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.0.userid_list.extend(userids.into_iter().map(Into::into));
                self
            }

            /// Departments, by id: every member of each is meant.
            pub fn departments(mut self, department_ids: impl IntoIterator<Item = u64>) -> Self {
                self.0.department_id_list.extend(department_ids);
                self
            }
        }
    };
}

servicer_change!(
    /// `kf/servicer/add` request: an account, and the members (userids) and/or departments
    /// to make its servicers, at most 100 of each.
    AddServicers
);

impl Operation for AddServicers {
    const ENDPOINT: &'static Endpoint = &spec::KF_SERVICER_ADD;
    type Response = AddServicersResponse;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }
}

servicer_change!(
    /// `kf/servicer/del` request: an account, and the members (userids) and/or departments
    /// to remove from its servicers, at most 100 of each.
    DeleteServicers
);

impl Operation for DeleteServicers {
    const ENDPOINT: &'static Endpoint = &spec::KF_SERVICER_DEL;
    type Response = DeleteServicersResponse;

    fn validate(&self) -> Result<()> {
        self.0.validate()
    }
}

/// `kf/servicer/list` request (a GET).
#[derive(Debug, Clone, Serialize)]
pub struct ListServicers {
    open_kfid: String,
}

impl ListServicers {
    /// The servicers of account `open_kfid` (1–64 bytes).
    pub fn new(open_kfid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
        }
    }
}

impl Operation for ListServicers {
    const ENDPOINT: &'static Endpoint = &spec::KF_SERVICER_LIST;
    type Response = ListServicersResponse;

    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)
    }
}

/// `kf/servicer/add` response: one result per member or department.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AddServicersResponse {
    /// Per item, in WeCom's order.
    #[serde(default)]
    pub result_list: Vec<ServicerResult>,
}

impl AddServicersResponse {
    /// The items that failed (non-zero errcode).
    pub fn failures(&self) -> impl Iterator<Item = &ServicerResult> {
        failures(&self.result_list)
    }
}

/// `kf/servicer/del` response: one result per member or department.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct DeleteServicersResponse {
    /// Per item, in WeCom's order.
    #[serde(default)]
    pub result_list: Vec<ServicerResult>,
}

impl DeleteServicersResponse {
    /// The items that failed (non-zero errcode).
    pub fn failures(&self) -> impl Iterator<Item = &ServicerResult> {
        failures(&self.result_list)
    }
}

fn failures(results: &[ServicerResult]) -> impl Iterator<Item = &ServicerResult> {
    results.iter().filter(|r| !r.is_ok())
}

/// The outcome for one member or department.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ServicerResult {
    /// The member, for a userid item.
    #[serde(default)]
    pub userid: Option<String>,
    /// The department, for a department item.
    #[serde(default)]
    pub department_id: Option<u64>,
    /// 0 on success (also for an item that needed no change, errmsg "ignored").
    #[serde(default)]
    pub errcode: i64,
    /// WeCom's text for the item.
    #[serde(default)]
    pub errmsg: String,
}

impl ServicerResult {
    /// The item succeeded.
    pub fn is_ok(&self) -> bool {
        self.errcode == 0
    }

    /// The SDK's short description of the item's errcode, if it knows it.
    pub fn description(&self) -> Option<&'static str> {
        crate::errcode::describe(self.errcode)
    }
}

/// `kf/servicer/list` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ListServicersResponse {
    /// The servicers: members (with their reception status) and departments.
    #[serde(default)]
    pub servicer_list: Vec<Servicer>,
}

decoded_as_is!(
    AddServicersResponse,
    DeleteServicersResponse,
    ListServicersResponse
);

/// One servicer: a member or a department.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Servicer {
    /// The member's userid (absent for a department).
    #[serde(default)]
    pub userid: Option<String>,
    /// The department's id (absent for a member).
    #[serde(default)]
    pub department_id: Option<u64>,
    /// Whether the member is receiving customers.
    #[serde(default)]
    pub status: Option<ReceptionStatus>,
    /// Why a member who is not receiving stopped.
    #[serde(default)]
    pub stop_type: Option<StopType>,
}

/// A member servicer's reception status. Values WeCom adds later are kept, not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "i64")]
#[non_exhaustive]
pub enum ReceptionStatus {
    /// 0: 接待中, receiving.
    Receiving,
    /// 1: 停止接待, not receiving (see [`StopType`]).
    Stopped,
    /// A value this SDK does not know.
    Other(i64),
}

impl From<i64> for ReceptionStatus {
    fn from(value: i64) -> Self {
        match value {
            0 => Self::Receiving,
            1 => Self::Stopped,
            other => Self::Other(other),
        }
    }
}

/// Why a member servicer stopped receiving. Values WeCom adds later are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(from = "i64")]
#[non_exhaustive]
pub enum StopType {
    /// 0: 停止接待, stopped.
    Stopped,
    /// 1: 暂时挂起, suspended for now.
    Suspended,
    /// A value this SDK does not know.
    Other(i64),
}

impl From<i64> for StopType {
    fn from(value: i64) -> Self {
        match value {
            0 => Self::Stopped,
            1 => Self::Suspended,
            other => Self::Other(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_serialises_only_the_lists_it_has() {
        let c = AddServicers::new("wk1").userids(["a"]);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"open_kfid":"wk1","userid_list":["a"]}"#
        );
        let d = DeleteServicers::new("wk1").departments([2, 3]);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"open_kfid":"wk1","department_id_list":[2,3]}"#
        );
    }

    #[test]
    fn statuses_keep_values_they_do_not_know() {
        let list: ListServicersResponse = serde_json::from_str(
            r#"{"servicer_list":[{"userid":"a","status":0},{"userid":"b","status":1,"stop_type":1},{"userid":"c","status":7,"stop_type":9,"new":true},{"department_id":2}]}"#,
        )
        .unwrap();
        let s = &list.servicer_list;
        assert_eq!(s[0].status, Some(ReceptionStatus::Receiving));
        assert_eq!(
            (s[1].status, s[1].stop_type),
            (Some(ReceptionStatus::Stopped), Some(StopType::Suspended))
        );
        assert_eq!(
            (s[2].status, s[2].stop_type),
            (Some(ReceptionStatus::Other(7)), Some(StopType::Other(9)))
        );
        assert_eq!((s[3].department_id, s[3].status), (Some(2), None));
    }
}
