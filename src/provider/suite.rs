//! The suite's own calls (第三方应用, with its `suite_access_token`): the install flow
//! (`service/get_pre_auth_code`, `service/set_session_info`), the exchange of an install's
//! auth code (`service/v2/get_permanent_code`) and the corp's authorisation
//! (`service/get_auth_info`).
//!
//! A [`SuiteApi`] is reached from a client whose credential is the suite's
//! ([`suite_credential`](super::suite_credential)) and whose token provider has a
//! [`SuiteTokenSource`](super::SuiteTokenSource): [`Client::suite`]. It follows the
//! conventions of [`crate::kf`] (one request and one response type per endpoint).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::codes::{AuthCode, PermanentCode};
use crate::Client;
use crate::error::{Error, Result};
use crate::operation::{Decode, Operation, decoded_as_is};
use crate::spec::{self, Endpoint};

/// The longest id or code the SDK sends here, in bytes (WeCom documents none; a guard against
/// sending garbage).
const CODE_MAX_BYTES: usize = 512;

/// An install link's `redirect_uri` must be an absolute `http(s)` URL.
pub(crate) fn check_redirect(redirect_uri: &str) -> Result<()> {
    match url::Url::parse(redirect_uri) {
        Ok(uri) if matches!(uri.scheme(), "http" | "https") && uri.has_host() => Ok(()),
        _ => Err(Error::invalid(
            "redirect_uri",
            "is not an absolute http(s) URL",
        )),
    }
}

/// The page a corp's admin opens to install a suite from the provider's own site.
pub const INSTALL_PAGE: &str = "https://open.work.weixin.qq.com/3rdapp/install";

/// The install link (授权链接) of suite `suite_id` for a fresh `pre_auth_code`
/// ([`SuiteApi::get_pre_auth_code`], good for 20 minutes): a corp's admin opens it, installs,
/// and WeCom sends them to `redirect_uri` with the install's `auth_code` and `state` in the
/// query (exchange it with
/// [`Lifecycle::accept_auth_code`](crate::provider::Lifecycle::accept_auth_code), feature
/// `callback`). Every part is percent-encoded. [`Error::InvalidInput`] for an empty suite id
/// or pre-auth code, or a `redirect_uri` that is not an absolute `http(s)` URL.
///
/// ```
/// let link = wecom_kf::provider::suite::install_link(
///     "wwsuite",
///     "PRE-AUTH-CODE",
///     "https://saas.example.com/installed?from=site",
///     Some("signup-42"),
/// )?;
/// assert!(link.as_str().starts_with(wecom_kf::provider::suite::INSTALL_PAGE));
/// assert_eq!(
///     link.query_pairs().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.into_owned()),
///     Some("https://saas.example.com/installed?from=site".to_owned())
/// );
/// # Ok::<(), wecom_kf::Error>(())
/// ```
pub fn install_link(
    suite_id: &str,
    pre_auth_code: &str,
    redirect_uri: &str,
    state: Option<&str>,
) -> Result<url::Url> {
    if suite_id.trim().is_empty() {
        return Err(Error::invalid("suite_id", "is empty"));
    }
    if pre_auth_code.trim().is_empty() {
        return Err(Error::invalid("pre_auth_code", "is empty"));
    }
    check_redirect(redirect_uri)?;
    let mut link = url::Url::parse(INSTALL_PAGE)
        .map_err(|e| Error::Config(format!("the install page URL: {e}")))?;
    {
        let mut query = link.query_pairs_mut();
        query
            .append_pair("suite_id", suite_id)
            .append_pair("pre_auth_code", pre_auth_code)
            .append_pair("redirect_uri", redirect_uri);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    Ok(link)
}

impl Client {
    /// The suite's own calls: install flow, auth-code exchange, auth info. For a client built
    /// with the suite's credential and a suite token provider.
    pub fn suite(&self) -> SuiteApi<'_> {
        SuiteApi { client: self }
    }
}

/// The suite's calls. Obtained with [`Client::suite`].
#[derive(Debug, Clone, Copy)]
pub struct SuiteApi<'a> {
    client: &'a Client,
}

impl SuiteApi<'_> {
    /// A pre-auth code (预授权码) for an install link, good for `expires_in` seconds (20
    /// minutes) ([doc](https://developer.work.weixin.qq.com/document/path/90601)).
    ///
    /// **Read** (a GET): retried after transient failures.
    pub async fn get_pre_auth_code(self) -> Result<GetPreAuthCodeResponse> {
        self.client.execute(GetPreAuthCode).await
    }

    /// Sets the install session of a pre-auth code (which apps, test or live install)
    /// ([doc](https://developer.work.weixin.qq.com/document/path/90602)); 42007 for an
    /// expired pre-auth code.
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn set_session_info(self, request: SetSessionInfo) -> Result<()> {
        self.client.execute(request).await
    }

    /// Exchanges an install's auth code (`create_auth`, or an install redirect) for the corp's
    /// permanent code and who installed
    /// ([doc](https://developer.work.weixin.qq.com/document/path/100776)). The code is single
    /// use and good for 10 minutes: 40078 after.
    ///
    /// **Not idempotent** (the code is used up): a lost answer is
    /// [`Error::OutcomeUnknown`]; the permanent code is then
    /// lost with it unless WeCom sends the install again.
    pub async fn get_permanent_code(
        self,
        request: GetPermanentCode,
    ) -> Result<GetPermanentCodeResponse> {
        self.client.execute(request).await
    }

    /// What an authorised corp granted the suite
    /// ([doc](https://developer.work.weixin.qq.com/document/path/90604)); 40084 for a
    /// permanent code the corp no longer has (cancelled or reset).
    ///
    /// **Idempotent**: retried after transient failures.
    pub async fn get_auth_info(self, request: GetAuthInfo) -> Result<GetAuthInfoResponse> {
        self.client.execute(request).await
    }
}

#[derive(Serialize)]
struct GetPreAuthCode;

impl Operation for GetPreAuthCode {
    const ENDPOINT: &'static Endpoint = &spec::GET_PRE_AUTH_CODE;
    type Response = GetPreAuthCodeResponse;

    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `service/get_pre_auth_code` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GetPreAuthCodeResponse {
    /// The pre-auth code, for the install link and [`SetSessionInfo`].
    pub pre_auth_code: String,
    /// Seconds it is good for.
    #[serde(default)]
    pub expires_in: u64,
}

/// `service/set_session_info` request: the pre-auth code and its session.
#[derive(Debug, Clone, Serialize)]
pub struct SetSessionInfo {
    pre_auth_code: String,
    session_info: SessionInfo,
}

#[derive(Debug, Clone, Default, Serialize)]
struct SessionInfo {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    appid: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_type: Option<u8>,
}

impl SetSessionInfo {
    /// The session of `pre_auth_code`.
    pub fn new(pre_auth_code: impl Into<String>) -> Self {
        Self {
            pre_auth_code: pre_auth_code.into(),
            session_info: SessionInfo::default(),
        }
    }

    /// The apps of the suite the install offers (all of them when none is given).
    pub fn app_ids(mut self, app_ids: impl IntoIterator<Item = u64>) -> Self {
        self.session_info.appid = app_ids.into_iter().collect();
        self
    }

    /// A test install (`auth_type` 1) rather than a live one (0).
    pub fn test_install(mut self, test: bool) -> Self {
        self.session_info.auth_type = Some(u8::from(test));
        self
    }
}

impl Operation for SetSessionInfo {
    const ENDPOINT: &'static Endpoint = &spec::SET_SESSION_INFO;
    type Response = ();

    fn validate(&self) -> Result<()> {
        crate::validate::bytes("pre_auth_code", &self.pre_auth_code, 1, CODE_MAX_BYTES)
    }
}

/// `service/v2/get_permanent_code` request: the auth code. `Debug` hides it.
#[derive(Clone, Serialize)]
pub struct GetPermanentCode {
    #[serde(serialize_with = "expose_auth_code")]
    auth_code: AuthCode,
}

fn expose_auth_code<S: Serializer>(code: &AuthCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.expose())
}

impl fmt::Debug for GetPermanentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetPermanentCode")
            .field("auth_code", &self.auth_code)
            .finish()
    }
}

impl GetPermanentCode {
    /// The exchange of `auth_code`.
    pub fn new(auth_code: AuthCode) -> Self {
        Self { auth_code }
    }
}

impl Operation for GetPermanentCode {
    const ENDPOINT: &'static Endpoint = &spec::GET_PERMANENT_CODE;
    type Response = GetPermanentCodeResponse;

    fn validate(&self) -> Result<()> {
        crate::validate::bytes("auth_code", self.auth_code.expose(), 1, CODE_MAX_BYTES)
    }
}

/// The corp that authorised the suite.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct AuthCorpInfo {
    /// The corp's id (`auth_corpid` in later calls).
    pub corpid: String,
    /// Its name.
    #[serde(default)]
    pub corp_name: String,
}

/// The member who installed.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct AuthUserInfo {
    /// Their userid in the corp.
    #[serde(default)]
    pub userid: String,
    /// Their open_userid (the same across the provider's apps).
    #[serde(default)]
    pub open_userid: String,
    /// Their name.
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize)]
pub(crate) struct GetPermanentCodeWire {
    permanent_code: String,
    auth_corp_info: AuthCorpInfo,
    #[serde(default)]
    auth_user_info: Option<AuthUserInfo>,
    #[serde(default)]
    state: Option<String>,
}

/// `service/v2/get_permanent_code` response. `Debug` hides the permanent code.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GetPermanentCodeResponse {
    /// The corp's permanent code for the suite: keep it durably before anything else.
    pub permanent_code: PermanentCode,
    /// The corp.
    pub auth_corp_info: AuthCorpInfo,
    /// Who installed, if WeCom says.
    pub auth_user_info: Option<AuthUserInfo>,
    /// The install link's `state`, if it had one.
    pub state: Option<String>,
}

impl Decode for GetPermanentCodeResponse {
    type Wire = GetPermanentCodeWire;
    fn decode(wire: GetPermanentCodeWire) -> Self {
        Self {
            permanent_code: PermanentCode::new(wire.permanent_code),
            auth_corp_info: wire.auth_corp_info,
            auth_user_info: wire.auth_user_info,
            state: wire.state.filter(|s| !s.is_empty()),
        }
    }
}

/// `service/get_auth_info` request: the corp and its permanent code. `Debug` hides the code.
#[derive(Clone, Serialize)]
pub struct GetAuthInfo {
    auth_corpid: String,
    #[serde(serialize_with = "expose_permanent_code")]
    permanent_code: PermanentCode,
}

fn expose_permanent_code<S: Serializer>(code: &PermanentCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.expose())
}

impl fmt::Debug for GetAuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetAuthInfo")
            .field("auth_corpid", &self.auth_corpid)
            .field("permanent_code", &self.permanent_code)
            .finish()
    }
}

impl GetAuthInfo {
    /// The authorisation of `auth_corpid`, with its `permanent_code`.
    pub fn new(auth_corpid: impl Into<String>, permanent_code: PermanentCode) -> Self {
        Self {
            auth_corpid: auth_corpid.into(),
            permanent_code,
        }
    }
}

impl Operation for GetAuthInfo {
    const ENDPOINT: &'static Endpoint = &spec::GET_AUTH_INFO;
    type Response = GetAuthInfoResponse;

    fn validate(&self) -> Result<()> {
        crate::validate::bytes("auth_corpid", &self.auth_corpid, 1, CODE_MAX_BYTES)?;
        crate::validate::bytes(
            "permanent_code",
            self.permanent_code.expose(),
            1,
            CODE_MAX_BYTES,
        )
    }
}

/// An app of the suite the corp authorised.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct AuthAgent {
    /// The app's agent id in the corp.
    #[serde(default)]
    pub agentid: u64,
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// What the corp authorised.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct AuthInfo {
    /// The apps.
    #[serde(default)]
    pub agent: Vec<AuthAgent>,
}

/// `service/get_auth_info` response.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct GetAuthInfoResponse {
    /// The corp.
    #[serde(default)]
    pub auth_corp_info: AuthCorpInfo,
    /// What it authorised.
    #[serde(default)]
    pub auth_info: AuthInfo,
}

decoded_as_is!(GetPreAuthCodeResponse, GetAuthInfoResponse);
