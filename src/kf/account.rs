//! Customer-service accounts (客服账号): `kf/account/add`, `del`, `update`, `list`, and the
//! contact link `kf/add_contact_way`.
//!
//! ```no_run
//! use wecom_kf::kf::account::{AddAccount, DeleteAccount, ListAccounts, UpdateAccount};
//!
//! # async fn demo(client: wecom_kf::Client, media_id: String) -> Result<(), wecom_kf::Error> {
//! let accounts = client.kf().account();
//! let created = accounts.add(AddAccount::new("咨询客服", media_id)).await?;
//! accounts.update(UpdateAccount::new(&created.open_kfid).name("售后客服")).await?;
//! let page = accounts.list(ListAccounts::new().offset(0).limit(100)).await?;
//! let all = accounts.list_all().await?;
//! accounts.delete(DeleteAccount::new(&created.open_kfid)).await?;
//! # let _ = (page, all); Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::{Client, validate};

/// Account names: 1 to 16 characters.
pub const NAME_MAX_CHARS: usize = 16;
/// Avatar `media_id`: 1 to 128 bytes.
pub const MEDIA_ID_MAX_BYTES: usize = 128;
/// `open_kfid`: 1 to 64 bytes.
pub const OPEN_KFID_MAX_BYTES: usize = 64;
/// The most accounts a corp can have (doc 94662: "目前一家企业最多可添加5000个客服账号").
pub const ACCOUNTS_MAX: usize = 5000;
/// Page size limit of `kf/account/list`.
pub const LIST_LIMIT_MAX: u32 = 100;
/// A contact link's `scene`: up to 32 bytes of `0-9 a-z A-Z _ -`.
pub const SCENE_MAX_BYTES: usize = 32;
/// A contact link's `scene_param`: up to 128 bytes, URL-encoded.
pub const SCENE_PARAM_MAX_BYTES: usize = 128;

/// The account API. Obtained with `client.kf().account()`.
#[derive(Debug, Clone, Copy)]
pub struct AccountApi<'a> {
    client: &'a Client,
}

impl<'a> AccountApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates an account ([doc](https://developer.work.weixin.qq.com/document/path/94662)).
    ///
    /// **Not idempotent**: each call creates a new account, so it is never replayed once it may
    /// have reached WeCom; a lost answer is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    /// A corp may have at most 5000 accounts.
    pub async fn add(self, request: AddAccount) -> Result<AddAccountResponse> {
        self.client.execute(request).await
    }

    /// Deletes an account ([doc](https://developer.work.weixin.qq.com/document/path/94663)).
    ///
    /// **Idempotent**: retried after transient failures. A replay of a delete that did happen
    /// answers errcode 95004 (open_kfid does not exist).
    pub async fn delete(self, request: DeleteAccount) -> Result<()> {
        self.client.execute(request).await
    }

    /// Changes an account's name and/or avatar
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94664)).
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn update(self, request: UpdateAccount) -> Result<()> {
        self.client.execute(request).await
    }

    /// One page of accounts ([doc](https://developer.work.weixin.qq.com/document/path/94661)).
    ///
    /// **Read**: retried after transient failures.
    pub async fn list(self, request: ListAccounts) -> Result<ListAccountsResponse> {
        self.client.execute(request).await
    }

    /// The link a customer opens to talk to an account
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94665)), optionally tagged
    /// with a `scene` that comes back in the customer's `enter_session` event.
    ///
    /// **Not idempotent** (each call makes a link; an extra one would be harmless, but the SDK
    /// does not replay what may have reached WeCom): a lost answer is
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    pub async fn add_contact_way(self, request: AddContactWay) -> Result<AddContactWayResponse> {
        self.client.execute(request).await
    }

    /// Every account, walking the pages (100 a page) until a short page, as the doc says.
    ///
    /// A server that misbehaves cannot keep the walk going: it stops (with a warning that says
    /// why) at a page that brings no account not seen before, and at [`ACCOUNTS_MAX`]
    /// accounts, more than WeCom holds for a corp. Each account is listed once.
    pub async fn list_all(self) -> Result<Vec<Account>> {
        let mut all: Vec<Account> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut offset: u32 = 0;
        loop {
            let page = self
                .list(ListAccounts::new().offset(offset).limit(LIST_LIMIT_MAX))
                .await?
                .account_list;
            let full = page.len() >= LIST_LIMIT_MAX as usize;
            let before = all.len();
            for account in page {
                if all.len() < ACCOUNTS_MAX && seen.insert(account.open_kfid.clone()) {
                    all.push(account);
                }
            }
            if !full {
                break;
            }
            if all.len() == before {
                tracing::warn!(
                    offset,
                    "kf/account/list answered a full page of accounts already listed; stopping the walk"
                );
                break;
            }
            if all.len() >= ACCOUNTS_MAX {
                tracing::warn!(
                    "kf/account/list keeps answering beyond {ACCOUNTS_MAX} accounts, more than WeCom holds for a corp; stopping the walk"
                );
                break;
            }
            offset = offset.saturating_add(LIST_LIMIT_MAX);
        }
        Ok(all)
    }
}

/// `kf/account/add` request: a name (1–16 characters) and an avatar `media_id` (1–128 bytes,
/// from `media/upload`).
#[derive(Debug, Clone, Serialize)]
pub struct AddAccount {
    name: String,
    media_id: String,
}

impl AddAccount {
    /// An account named `name` with the avatar `media_id`. Checked when sent.
    pub fn new(name: impl Into<String>, media_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            media_id: media_id.into(),
        }
    }
}

impl Operation for AddAccount {
    const ENDPOINT: &'static Endpoint = &spec::KF_ACCOUNT_ADD;
    type Response = AddAccountResponse;

    fn validate(&self) -> Result<()> {
        validate::chars("name", &self.name, 1, NAME_MAX_CHARS)?;
        validate::bytes("media_id", &self.media_id, 1, MEDIA_ID_MAX_BYTES)
    }
}

/// `kf/account/add` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AddAccountResponse {
    /// The new account's id.
    pub open_kfid: String,
}

/// `kf/account/del` request.
#[derive(Debug, Clone, Serialize)]
pub struct DeleteAccount {
    open_kfid: String,
}

impl DeleteAccount {
    /// Deletes the account `open_kfid` (1–64 bytes). Checked when sent.
    pub fn new(open_kfid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
        }
    }
}

impl Operation for DeleteAccount {
    const ENDPOINT: &'static Endpoint = &spec::KF_ACCOUNT_DEL;
    type Response = ();

    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)
    }
}

/// `kf/account/update` request: set a new name, a new avatar, or both.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateAccount {
    open_kfid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_id: Option<String>,
}

impl UpdateAccount {
    /// An update of `open_kfid` that changes nothing yet: set [`name`](Self::name) and/or
    /// [`media_id`](Self::media_id).
    pub fn new(open_kfid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            name: None,
            media_id: None,
        }
    }

    /// The new name (1–16 characters).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The new avatar `media_id` (1–128 bytes).
    pub fn media_id(mut self, media_id: impl Into<String>) -> Self {
        self.media_id = Some(media_id.into());
        self
    }
}

impl Operation for UpdateAccount {
    const ENDPOINT: &'static Endpoint = &spec::KF_ACCOUNT_UPDATE;
    type Response = ();

    fn validate(&self) -> Result<()> {
        // Neither field is required ("如不需要修改可不填", doc 94664): an update that changes
        // nothing is WeCom's to answer.
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        if let Some(name) = &self.name {
            validate::chars("name", name, 1, NAME_MAX_CHARS)?;
        }
        if let Some(media_id) = &self.media_id {
            validate::bytes("media_id", media_id, 1, MEDIA_ID_MAX_BYTES)?;
        }
        Ok(())
    }
}

/// `kf/add_contact_way` request.
#[derive(Debug, Clone, Serialize)]
pub struct AddContactWay {
    open_kfid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scene: Option<String>,
}

impl AddContactWay {
    /// A link to the account `open_kfid`.
    pub fn new(open_kfid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            scene: None,
        }
    }

    /// Tags the link with `scene` (up to 32 bytes of `0-9 a-z A-Z _ -`; empty is the same as
    /// none, doc 94665), reported back when a customer enters through it.
    pub fn scene(mut self, scene: impl Into<String>) -> Self {
        self.scene = Some(scene.into());
        self
    }
}

impl Operation for AddContactWay {
    const ENDPOINT: &'static Endpoint = &spec::KF_ADD_CONTACT_WAY;
    type Response = AddContactWayResponse;

    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        // The docs' pattern is `[0-9a-zA-Z_-]*`: an empty scene is allowed.
        if let Some(scene) = self.scene.as_deref().filter(|s| !s.is_empty()) {
            validate::id("scene", scene, SCENE_MAX_BYTES)?;
        }
        Ok(())
    }
}

/// `kf/add_contact_way` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct AddContactWayResponse {
    /// The link.
    pub url: String,
}

impl AddContactWayResponse {
    /// The link with `&scene_param=` added (for a link made with a `scene`): `param` comes
    /// back in the `enter_session` event. It may be at most 128 bytes once URL-encoded.
    ///
    /// ```
    /// # let way: wecom_kf::kf::account::AddContactWayResponse = serde_json::from_str(
    /// #     r#"{"url":"https://work.weixin.qq.com/kf/kfc123?enc_scene=ENC1"}"#).unwrap();
    /// let link = way.with_scene_param("campaign=春节")?;
    /// assert!(link.ends_with("&scene_param=campaign%3D%E6%98%A5%E8%8A%82"));
    /// # Ok::<(), wecom_kf::Error>(())
    /// ```
    pub fn with_scene_param(&self, param: &str) -> Result<String> {
        // Percent-encoding throughout (a space is `%20`, never the form encoding's `+`, which
        // WeCom might hand back as a plus), as the doc's example `a%3D1%26b%3D2` does.
        const SCENE_PARAM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let encoded = percent_encoding::utf8_percent_encode(param, SCENE_PARAM).to_string();
        validate::bytes("scene_param", &encoded, 1, SCENE_PARAM_MAX_BYTES)?;
        let separator = if self.url.contains('?') { '&' } else { '?' };
        Ok(format!("{}{separator}scene_param={encoded}", self.url))
    }
}

/// `kf/account/list` request. Without `offset`/`limit` WeCom uses 0 and 100.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListAccounts {
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

impl ListAccounts {
    /// The first page, of WeCom's default size (100).
    pub fn new() -> Self {
        Self::default()
    }

    /// Skip this many accounts.
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Page size, 1 to 100.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

impl Operation for ListAccounts {
    const ENDPOINT: &'static Endpoint = &spec::KF_ACCOUNT_LIST;
    type Response = ListAccountsResponse;

    fn validate(&self) -> Result<()> {
        match self.limit {
            Some(limit) => validate::range("limit", limit, 1, LIST_LIMIT_MAX),
            None => Ok(()),
        }
    }
}

/// `kf/account/list` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ListAccountsResponse {
    /// The accounts on this page.
    #[serde(default)]
    pub account_list: Vec<Account>,
}

decoded_as_is!(
    AddAccountResponse,
    AddContactWayResponse,
    ListAccountsResponse
);

/// A customer-service account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// The account id (`wk…`).
    pub open_kfid: String,
    /// The display name.
    #[serde(default)]
    pub name: String,
    /// The avatar URL.
    #[serde(default)]
    pub avatar: String,
    /// Whether the calling app may manage this account (absent for some app kinds).
    #[serde(default)]
    pub manage_privilege: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The docs' pattern `[0-9a-zA-Z_-]*` allows an empty scene (it was refused); a space in a
    /// scene_param is `%20` (it was `+`); an update may change nothing (it was refused).
    #[test]
    fn what_the_docs_allow_is_allowed() {
        assert!(AddContactWay::new("wk").scene("").validate().is_ok());
        let way = AddContactWayResponse {
            url: "https://work.weixin.qq.com/kf/x?enc_scene=E".into(),
        };
        assert!(
            way.with_scene_param("a b+c")
                .unwrap()
                .ends_with("&scene_param=a%20b%2Bc")
        );
        assert!(UpdateAccount::new("wk").validate().is_ok());
    }

    #[test]
    fn requests_serialise_as_on_the_wire() {
        let u = UpdateAccount::new("wk1").name("售后");
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"open_kfid":"wk1","name":"售后"}"#
        );
        assert_eq!(serde_json::to_string(&ListAccounts::new()).unwrap(), "{}");
        assert_eq!(
            serde_json::to_string(&AddAccount::new("a", "m")).unwrap(),
            r#"{"name":"a","media_id":"m"}"#
        );
    }

    #[test]
    fn account_tolerates_unknown_and_missing_fields() {
        let a: ListAccountsResponse = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","account_list":[{"open_kfid":"wk1","name":"n","avatar":"u","manage_privilege":true,"new":1},{"open_kfid":"wk2"}]}"#,
        )
        .unwrap();
        assert_eq!(a.account_list.len(), 2);
        assert_eq!(a.account_list[0].manage_privilege, Some(true));
        assert_eq!(a.account_list[1].manage_privilege, None);
    }
}
