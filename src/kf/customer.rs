//! Customers (客户): who they are (`kf/customer/batchget`), handing them on to a member or a
//! group chat (升级服务: `get_upgrade_service_config`, `upgrade_service`,
//! `cancel_upgrade_service`), and what the corp may do (`kf/get_corp_qualification`).
//!
//! ```no_run
//! use wecom_kf::kf::customer::{BatchGetCustomers, UpgradeService};
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String, customer: String)
//! # -> Result<(), wecom_kf::Error> {
//! let customers = client.kf().customer();
//! let found = customers
//!     .batch_get(BatchGetCustomers::new([customer.as_str()]).with_enter_session_context())
//!     .await?;
//! for c in &found.customer_list {
//!     println!("{} came through scene {:?}", c.nickname, c.enter_session_context);
//! }
//! customers
//!     .upgrade_service(UpgradeService::to_member(&open_kfid, &customer, "zhangsan")
//!         .wording("Our account manager will help you"))
//!     .await?;
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kf::servicer::USERID_MAX_BYTES;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::{Client, validate};

/// A bound on `external_userid`, a customer's id (the docs give none; real ids are far
/// shorter). It only catches a value that cannot be an id.
pub const EXTERNAL_USERID_MAX_BYTES: usize = 256;
/// At most this many customers in one `batchget`.
pub const BATCHGET_MAX_IDS: usize = 100;

/// The customer API. Obtained with `client.kf().customer()`.
#[derive(Debug, Clone, Copy)]
pub struct CustomerApi<'a> {
    client: &'a Client,
}

impl<'a> CustomerApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Customers' profiles ([doc](https://developer.work.weixin.qq.com/document/path/95159)).
    /// Only customers who wrote in the last 48 hours are found; the others come back in
    /// [`BatchGetCustomersResponse::invalid_external_userid`] (data, not an error).
    ///
    /// **Read**: retried after transient failures.
    pub async fn batch_get(self, request: BatchGetCustomers) -> Result<BatchGetCustomersResponse> {
        self.client.execute(request).await
    }

    /// The members and group chats configured to take customers on
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94674)).
    ///
    /// **Read** (a GET): retried after transient failures.
    pub async fn get_upgrade_service_config(self) -> Result<GetUpgradeServiceConfigResponse> {
        self.client.execute(GetUpgradeServiceConfig).await
    }

    /// Recommends a member or a group chat to a customer
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94674)). The member or chat
    /// must be in the upgrade-service configuration, else errcode 95021.
    ///
    /// **Not idempotent** (the customer is shown the recommendation): a lost answer is
    /// [`Error::OutcomeUnknown`].
    pub async fn upgrade_service(self, request: UpgradeService) -> Result<()> {
        self.client.execute(request).await
    }

    /// Withdraws a recommendation
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94674)).
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn cancel_upgrade_service(self, request: CancelUpgradeService) -> Result<()> {
        self.client.execute(request).await
    }

    /// Whether the corp has a WeChat Channels (视频号) account bound, which with verification
    /// lifts the limit on customers served (`kf/get_corp_qualification`).
    ///
    /// **Read** (a GET): retried after transient failures.
    pub async fn get_corp_qualification(self) -> Result<GetCorpQualificationResponse> {
        self.client.execute(GetCorpQualification).await
    }
}

/// `kf/customer/batchget` request: 1 to 100 customers.
#[derive(Debug, Clone, Serialize)]
pub struct BatchGetCustomers {
    external_userid_list: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    need_enter_session_context: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl BatchGetCustomers {
    /// The customers `external_userids` (1 to 100).
    pub fn new<I, S>(external_userids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            external_userid_list: external_userids.into_iter().map(Into::into).collect(),
            need_enter_session_context: 0,
        }
    }

    /// Also return how each customer entered their latest session (scene, scene_param).
    pub fn with_enter_session_context(mut self) -> Self {
        self.need_enter_session_context = 1;
        self
    }
}

impl Operation for BatchGetCustomers {
    const ENDPOINT: &'static Endpoint = &spec::KF_CUSTOMER_BATCHGET;
    type Response = BatchGetCustomersResponse;

    fn validate(&self) -> Result<()> {
        let n = self.external_userid_list.len();
        if n == 0 || n > BATCHGET_MAX_IDS {
            return Err(Error::invalid(
                "external_userid_list",
                format!("must hold 1 to {BATCHGET_MAX_IDS} ids, got {n}"),
            ));
        }
        for id in &self.external_userid_list {
            validate::bytes("external_userid_list", id, 1, EXTERNAL_USERID_MAX_BYTES)?;
        }
        Ok(())
    }
}

/// `kf/customer/batchget` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct BatchGetCustomersResponse {
    /// The customers found.
    #[serde(default)]
    pub customer_list: Vec<Customer>,
    /// The ids not found (unknown, or no message in the last 48 hours).
    #[serde(default)]
    pub invalid_external_userid: Vec<String>,
}

/// A customer's profile. Third-party apps get no avatar, gender or unionid.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// The customer's id (`wm…`).
    pub external_userid: String,
    /// WeChat nickname.
    #[serde(default)]
    pub nickname: String,
    /// Avatar URL.
    #[serde(default)]
    pub avatar: String,
    /// Gender.
    #[serde(default)]
    pub gender: Gender,
    /// The WeChat unionid, when the corp has one bound.
    #[serde(default)]
    pub unionid: Option<String>,
    /// How the customer entered the latest session (with
    /// [`BatchGetCustomers::with_enter_session_context`]).
    #[serde(default)]
    pub enter_session_context: Option<EnterSessionContext>,
}

/// A customer's gender. Values WeCom adds later are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "i64")]
#[non_exhaustive]
pub enum Gender {
    /// 0, or not told.
    #[default]
    Unknown,
    /// 1.
    Male,
    /// 2.
    Female,
    /// A value this SDK does not know.
    Other(i64),
}

impl From<i64> for Gender {
    fn from(value: i64) -> Self {
        match value {
            0 => Self::Unknown,
            1 => Self::Male,
            2 => Self::Female,
            other => Self::Other(other),
        }
    }
}

/// How a customer entered a session.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct EnterSessionContext {
    /// The contact link's `scene`.
    #[serde(default)]
    pub scene: String,
    /// The link's `scene_param`, as given.
    #[serde(default)]
    pub scene_param: String,
    /// When the customer came from WeChat Channels (视频号).
    #[serde(default)]
    pub wechat_channels: Option<WechatChannels>,
}

/// The WeChat Channels (视频号) a customer came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WechatChannels {
    /// The channel's nickname.
    #[serde(default)]
    pub nickname: String,
    /// The channel's shop nickname, when the customer came from its shop.
    #[serde(default)]
    pub shop_nickname: Option<String>,
    /// Where in the channel the customer started (1 to 5 as documented).
    #[serde(default)]
    pub scene: i64,
}

/// `kf/customer/get_upgrade_service_config` request (a GET with no parameters).
#[derive(Serialize)]
struct GetUpgradeServiceConfig;

impl Operation for GetUpgradeServiceConfig {
    const ENDPOINT: &'static Endpoint = &spec::KF_CUSTOMER_UPGRADE_CONFIG;
    type Response = GetUpgradeServiceConfigResponse;

    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `kf/customer/get_upgrade_service_config` response.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct GetUpgradeServiceConfigResponse {
    /// The members customers may be handed to.
    #[serde(default)]
    pub member_range: MemberRange,
    /// The group chats customers may be invited to.
    #[serde(default)]
    pub groupchat_range: GroupChatRange,
}

/// Members configured for the upgrade service.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct MemberRange {
    /// By userid.
    #[serde(default)]
    pub userid_list: Vec<String>,
    /// By department.
    #[serde(default)]
    pub department_id_list: Vec<u64>,
}

/// Group chats configured for the upgrade service.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct GroupChatRange {
    /// The chats' ids.
    #[serde(default)]
    pub chat_id_list: Vec<String>,
}

/// `kf/customer/upgrade_service` request: recommend a member (type 1) or a group chat (type 2).
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeService {
    open_kfid: String,
    external_userid: String,
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<UpgradeTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groupchat: Option<UpgradeTarget>,
}

#[derive(Debug, Clone, Serialize)]
struct UpgradeTarget {
    #[serde(skip_serializing_if = "Option::is_none")]
    userid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wording: Option<String>,
}

impl UpgradeService {
    /// Recommend the member `userid` to the customer.
    pub fn to_member(
        open_kfid: impl Into<String>,
        external_userid: impl Into<String>,
        userid: impl Into<String>,
    ) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            external_userid: external_userid.into(),
            kind: 1,
            member: Some(UpgradeTarget {
                userid: Some(userid.into()),
                chat_id: None,
                wording: None,
            }),
            groupchat: None,
        }
    }

    /// Invite the customer to the group chat `chat_id`.
    pub fn to_group_chat(
        open_kfid: impl Into<String>,
        external_userid: impl Into<String>,
        chat_id: impl Into<String>,
    ) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            external_userid: external_userid.into(),
            kind: 2,
            member: None,
            groupchat: Some(UpgradeTarget {
                userid: None,
                chat_id: Some(chat_id.into()),
                wording: None,
            }),
        }
    }

    /// The recommendation's text, shown to the customer.
    pub fn wording(mut self, wording: impl Into<String>) -> Self {
        if let Some(target) = self.member.as_mut().or(self.groupchat.as_mut()) {
            target.wording = Some(wording.into());
        }
        self
    }
}

impl Operation for UpgradeService {
    const ENDPOINT: &'static Endpoint = &spec::KF_CUSTOMER_UPGRADE;
    type Response = ();

    fn validate(&self) -> Result<()> {
        super::check_customer(&self.open_kfid, &self.external_userid)?;
        if let Some(userid) = self.member.as_ref().and_then(|m| m.userid.as_ref()) {
            validate::bytes("member.userid", userid, 1, USERID_MAX_BYTES)?;
        }
        if let Some(chat_id) = self.groupchat.as_ref().and_then(|g| g.chat_id.as_ref()) {
            validate::bytes("groupchat.chat_id", chat_id, 1, EXTERNAL_USERID_MAX_BYTES)?;
        }
        Ok(())
    }
}

/// `kf/customer/cancel_upgrade_service` request.
#[derive(Debug, Clone, Serialize)]
pub struct CancelUpgradeService {
    open_kfid: String,
    external_userid: String,
}

impl CancelUpgradeService {
    /// Withdraw the recommendation made to `external_userid` by `open_kfid`.
    pub fn new(open_kfid: impl Into<String>, external_userid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            external_userid: external_userid.into(),
        }
    }
}

impl Operation for CancelUpgradeService {
    const ENDPOINT: &'static Endpoint = &spec::KF_CUSTOMER_CANCEL_UPGRADE;
    type Response = ();

    fn validate(&self) -> Result<()> {
        super::check_customer(&self.open_kfid, &self.external_userid)
    }
}

/// `kf/get_corp_qualification` request (a GET with no parameters).
#[derive(Serialize)]
struct GetCorpQualification;

impl Operation for GetCorpQualification {
    const ENDPOINT: &'static Endpoint = &spec::KF_CORP_QUALIFICATION;
    type Response = GetCorpQualificationResponse;

    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `kf/get_corp_qualification` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GetCorpQualificationResponse {
    /// A WeChat Channels (视频号) account is bound to the corp.
    #[serde(default)]
    pub wechat_channels_binding: bool,
}

decoded_as_is!(
    BatchGetCustomersResponse,
    GetUpgradeServiceConfigResponse,
    GetCorpQualificationResponse
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_requests_serialise_as_on_the_wire() {
        let m = UpgradeService::to_member("wk", "wm", "zhangsan").wording("hi");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"open_kfid":"wk","external_userid":"wm","type":1,"member":{"userid":"zhangsan","wording":"hi"}}"#
        );
        let g = UpgradeService::to_group_chat("wk", "wm", "wr1");
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"open_kfid":"wk","external_userid":"wm","type":2,"groupchat":{"chat_id":"wr1"}}"#
        );
        let b = BatchGetCustomers::new(["wm1"]);
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"external_userid_list":["wm1"]}"#
        );
    }

    #[test]
    fn customers_decode_with_unknown_and_missing_fields() {
        let batch: BatchGetCustomersResponse = serde_json::from_str(
            r#"{"customer_list":[{"external_userid":"wm1","nickname":"n","gender":2,"new":1,
                "enter_session_context":{"scene":"s","scene_param":"p","wechat_channels":{"nickname":"c","scene":1}}},
                {"external_userid":"wm2","gender":9}],"invalid_external_userid":["wm3"]}"#,
        )
        .unwrap();
        assert_eq!(batch.customer_list[0].gender, Gender::Female);
        assert_eq!(batch.customer_list[1].gender, Gender::Other(9));
        assert_eq!(batch.customer_list[1].unionid, None);
        assert_eq!(batch.invalid_external_userid, ["wm3"]);
        let ctx = batch.customer_list[0]
            .enter_session_context
            .clone()
            .unwrap();
        assert_eq!(ctx.wechat_channels.unwrap().nickname, "c");
    }
}
