//! Session state (会话状态): where a customer's conversation with an account stands, and moving
//! it on. `kf/service_state/get`, `kf/service_state/trans`.
//!
//! ```no_run
//! use wecom_kf::kf::service_state::{GetServiceState, ServiceState, TransferServiceState};
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String, customer: String)
//! # -> Result<(), wecom_kf::Error> {
//! let sessions = client.kf().service_state();
//! let now = sessions.get(GetServiceState::new(&open_kfid, &customer)).await?;
//! if now.service_state == ServiceState::Untreated {
//!     let moved = sessions
//!         .transfer(TransferServiceState::new(&open_kfid, &customer, ServiceState::Servicer)
//!             .servicer_userid("zhangsan"))
//!         .await?;
//!     // A code for send_msg_on_event, when WeCom issues one.
//!     let _ = moved.msg_code;
//! }
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kf::servicer::USERID_MAX_BYTES;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::{Client, validate};

/// The session-state API. Obtained with `client.kf().service_state()`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceStateApi<'a> {
    client: &'a Client,
}

impl<'a> ServiceStateApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Where a customer's session stands
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94669)).
    ///
    /// **Read**: retried after transient failures.
    pub async fn get(self, request: GetServiceState) -> Result<GetServiceStateResponse> {
        self.client.execute(request).await
    }

    /// Moves a customer's session to another state (`kf/service_state/trans`,
    /// [doc](https://developer.work.weixin.qq.com/document/path/94669)): to the bot, the
    /// queue, a servicer, or the end. A move the state machine does not allow is errcode
    /// 95016; a servicer who is not receiving is 95014.
    ///
    /// **Not idempotent**: WeCom hands out a one-time `msg_code` on some moves, and a replay
    /// could be refused or re-assign; a lost answer is
    /// [`Error::OutcomeUnknown`] (read the state with
    /// [`get`](Self::get) to learn where it stands).
    pub async fn transfer(
        self,
        request: TransferServiceState,
    ) -> Result<TransferServiceStateResponse> {
        self.client.execute(request).await
    }
}

/// The states of a session. Values WeCom adds later are kept, not refused.
///
/// The moves the API may make (doc 94669): 0 → 1, 2, 3; 1 → 2, 3; 2 → 3; 3 → 3 (another
/// servicer), 4. A customer's message moves 4 back to 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(from = "i64", into = "i64")]
#[non_exhaustive]
pub enum ServiceState {
    /// 0: 未处理, the customer wrote and nobody has taken the session yet.
    Untreated,
    /// 1: 由智能助手接待, handled by the bot (your code).
    Bot,
    /// 2: 待接入池排队中, queued for a servicer.
    Queued,
    /// 3: 由人工接待, handled by a servicer.
    Servicer,
    /// 4: 已结束/未开始, ended (or never started).
    Ended,
    /// A value this SDK does not know.
    Other(i64),
}

impl From<i64> for ServiceState {
    fn from(value: i64) -> Self {
        match value {
            0 => Self::Untreated,
            1 => Self::Bot,
            2 => Self::Queued,
            3 => Self::Servicer,
            4 => Self::Ended,
            other => Self::Other(other),
        }
    }
}

impl From<ServiceState> for i64 {
    fn from(state: ServiceState) -> Self {
        match state {
            ServiceState::Untreated => 0,
            ServiceState::Bot => 1,
            ServiceState::Queued => 2,
            ServiceState::Servicer => 3,
            ServiceState::Ended => 4,
            ServiceState::Other(value) => value,
        }
    }
}

/// `kf/service_state/get` request.
#[derive(Debug, Clone, Serialize)]
pub struct GetServiceState {
    open_kfid: String,
    external_userid: String,
}

impl GetServiceState {
    /// The session of customer `external_userid` with account `open_kfid`.
    pub fn new(open_kfid: impl Into<String>, external_userid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            external_userid: external_userid.into(),
        }
    }
}

impl Operation for GetServiceState {
    const ENDPOINT: &'static Endpoint = &spec::KF_SERVICE_STATE_GET;
    type Response = GetServiceStateResponse;

    fn validate(&self) -> Result<()> {
        super::check_customer(&self.open_kfid, &self.external_userid)
    }
}

/// `kf/service_state/get` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GetServiceStateResponse {
    /// The state.
    pub service_state: ServiceState,
    /// The servicer handling the session (only in state 3).
    #[serde(default)]
    pub servicer_userid: Option<String>,
}

/// `kf/service_state/trans` request.
#[derive(Debug, Clone, Serialize)]
pub struct TransferServiceState {
    open_kfid: String,
    external_userid: String,
    service_state: ServiceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    servicer_userid: Option<String>,
}

impl TransferServiceState {
    /// Moves the session of `external_userid` with `open_kfid` to `to` (bot, queue, servicer
    /// or end; a move to a servicer needs [`servicer_userid`](Self::servicer_userid)).
    pub fn new(
        open_kfid: impl Into<String>,
        external_userid: impl Into<String>,
        to: ServiceState,
    ) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            external_userid: external_userid.into(),
            service_state: to,
            servicer_userid: None,
        }
    }

    /// The servicer to hand the session to (for [`ServiceState::Servicer`] only); they must be
    /// receiving and activated in WeCom, else errcode 95014.
    pub fn servicer_userid(mut self, userid: impl Into<String>) -> Self {
        self.servicer_userid = Some(userid.into());
        self
    }
}

impl Operation for TransferServiceState {
    const ENDPOINT: &'static Endpoint = &spec::KF_SERVICE_STATE_TRANS;
    type Response = TransferServiceStateResponse;

    fn validate(&self) -> Result<()> {
        super::check_customer(&self.open_kfid, &self.external_userid)?;
        match (self.service_state, &self.servicer_userid) {
            (ServiceState::Servicer, Some(userid)) => {
                validate::bytes("servicer_userid", userid, 1, USERID_MAX_BYTES)
            }
            (ServiceState::Servicer, None) => Err(Error::invalid(
                "servicer_userid",
                "is required to hand a session to a servicer",
            )),
            (ServiceState::Bot | ServiceState::Queued | ServiceState::Ended, None) => Ok(()),
            // The docs require it for state 3 and say nothing of it otherwise: sent as given.
            (ServiceState::Bot | ServiceState::Queued | ServiceState::Ended, Some(userid)) => {
                validate::bytes("servicer_userid", userid, 1, USERID_MAX_BYTES)
            }
            (ServiceState::Untreated | ServiceState::Other(_), _) => Err(Error::invalid(
                "service_state",
                "the API may move a session only to 1 (bot), 2 (queue), 3 (servicer) or 4 (end)",
            )),
        }
    }
}

/// `kf/service_state/trans` response. `Debug` hides the code.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct TransferServiceStateResponse {
    /// A one-time code for `kf/send_msg_on_event`, when WeCom issues one (doc 95122): the
    /// first move into the queue (2) and the first to a servicer (3), each its own code for
    /// text only, and a move to 4 (its closing message: text or a menu).
    #[serde(default)]
    pub msg_code: Option<String>,
}

impl std::fmt::Debug for TransferServiceStateResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self { msg_code } = self;
        f.debug_struct("TransferServiceStateResponse")
            .field("msg_code", &crate::kf::message::hidden(msg_code))
            .finish()
    }
}

decoded_as_is!(GetServiceStateResponse, TransferServiceStateResponse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_travel_as_numbers_and_keep_unknown_ones() {
        let info: GetServiceStateResponse =
            serde_json::from_str(r#"{"service_state":3,"servicer_userid":"zhangsan"}"#).unwrap();
        assert_eq!(info.service_state, ServiceState::Servicer);
        let odd: GetServiceStateResponse = serde_json::from_str(r#"{"service_state":9}"#).unwrap();
        assert_eq!(odd.service_state, ServiceState::Other(9));
        let t = TransferServiceState::new("wk", "wm", ServiceState::Servicer).servicer_userid("z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"open_kfid":"wk","external_userid":"wm","service_state":3,"servicer_userid":"z"}"#
        );
        for n in 0..6 {
            assert_eq!(i64::from(ServiceState::from(n)), n);
        }
    }
}
