//! Who a token is for: a corp id, an app secret, and the API base they are valid at.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

use super::store::StoreKey;
use crate::error::{Error, Result};
use crate::hex::hex;
use crate::spec::TokenKind;

/// The default WeCom API base.
pub const DEFAULT_API_BASE: &str = "https://qyapi.weixin.qq.com/";

/// A corp id and app secret (for the kf APIs: the 微信客服 secret), plus the API base that
/// issues their tokens. Cheap to clone. `Debug` shows the corp id and a fingerprint, never the
/// secret.
///
/// ```
/// use wecom_kf::token::Credential;
///
/// let cred = Credential::new("ww0123456789", "app-secret")?;
/// assert!(!format!("{cred:?}").contains("app-secret"));
/// # Ok::<(), wecom_kf::Error>(())
/// ```
#[derive(Clone)]
pub struct Credential(Arc<CredentialInner>);

struct CredentialInner {
    secret: SecretString,
    /// Shared by the credentials built on one parsed base (a provider's tenants).
    api_base: Arc<Url>,
    key: CacheKey,
    /// Which kind of token it is the key of (a metrics label).
    kind: TokenKind,
}

/// The token cache key: the corp id and a fingerprint of (API base, corp id, secret).
/// Tokens are per app, so two secrets of one corp never share a token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CacheKey {
    corp_id: Arc<str>,
    fingerprint: [u8; 16],
}

/// Hashes the fingerprint alone: it already covers the corp id, and one write instead of
/// four takes a tenth off a lookup among many tenants (the cache's keyed hasher stays).
impl std::hash::Hash for CacheKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.fingerprint);
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.corp_id, hex(&self.fingerprint[..4]))
    }
}

impl Credential {
    /// A credential for the default API base (`https://qyapi.weixin.qq.com`).
    pub fn new(corp_id: impl Into<String>, secret: impl Into<String>) -> Result<Self> {
        Self::with_api_base(corp_id, secret, DEFAULT_API_BASE)
    }

    /// A credential for another API base (a proxy, or the simulator).
    pub fn with_api_base(
        corp_id: impl Into<String>,
        secret: impl Into<String>,
        api_base: &str,
    ) -> Result<Self> {
        Self::scoped("", corp_id, secret, api_base)
    }

    /// A credential whose key also covers `scope` (empty for a corp's own app): a suite's
    /// credential, or an authorised corp's under one suite, never shares a key with another
    /// kind's or another suite's, even with the same id and secret.
    pub(crate) fn scoped(
        scope: &str,
        corp_id: impl Into<String>,
        secret: impl Into<String>,
        api_base: &str,
    ) -> Result<Self> {
        Self::scoped_at(scope, corp_id, secret, &Arc::new(parse_api_base(api_base)?))
    }

    /// [`scoped`](Self::scoped) on an API base already parsed (by [`parse_api_base`]) and
    /// shared: a hundred thousand tenants hold one copy of it.
    pub(crate) fn scoped_at(
        scope: &str,
        corp_id: impl Into<String>,
        secret: impl Into<String>,
        api_base: &Arc<Url>,
    ) -> Result<Self> {
        let corp_id = corp_id.into();
        let secret = SecretString::from(secret.into());
        if corp_id.trim().is_empty() {
            return Err(Error::Config("corp id is empty".into()));
        }
        if secret.expose_secret().trim().is_empty() {
            return Err(Error::Config("corp secret is empty".into()));
        }
        let fingerprint = fingerprint(scope, api_base.as_str(), &corp_id, secret.expose_secret());
        Ok(Self(Arc::new(CredentialInner {
            secret,
            api_base: api_base.clone(),
            key: CacheKey {
                corp_id: corp_id.into(),
                fingerprint,
            },
            kind: kind_of_scope(scope),
        })))
    }

    /// The corp id.
    pub fn corp_id(&self) -> &str {
        &self.0.key.corp_id
    }

    /// The corp id, shared (a key for per-corp state that costs no copy of it).
    pub(crate) fn shared_corp_id(&self) -> Arc<str> {
        self.0.key.corp_id.clone()
    }

    /// The API base, always ending in `/`.
    pub fn api_base(&self) -> &Url {
        &self.0.api_base
    }

    /// A short hex fingerprint of the credential, safe to log.
    pub fn fingerprint(&self) -> String {
        hex(&self.0.key.fingerprint)
    }

    /// The secret (an app secret, a suite secret, a provider secret or a permanent code):
    /// never log or keep it.
    pub(crate) fn secret(&self) -> &str {
        self.0.secret.expose_secret()
    }

    pub(crate) fn key(&self) -> &CacheKey {
        &self.0.key
    }

    /// The kind of token this credential obtains: a corp's (its own app's, or an authorised
    /// corp's under a suite), a suite's, or the provider's.
    pub(crate) fn kind(&self) -> TokenKind {
        self.0.kind
    }

    /// Where a [`TokenStore`](crate::token::TokenStore) keeps this credential's token.
    pub fn store_key(&self) -> StoreKey {
        StoreKey::new(self.corp_id(), self.fingerprint())
    }

    /// The gettoken URL, with the secret in it: never log or keep it.
    pub(crate) fn gettoken_url(&self) -> Result<Url> {
        let mut url = self
            .0
            .api_base
            .join(crate::spec::GETTOKEN.path.trim_start_matches('/'))
            .map_err(|e| Error::Config(format!("cannot build the gettoken URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("corpid", self.corp_id())
            .append_pair("corpsecret", self.0.secret.expose_secret());
        Ok(url)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("corp_id", &self.corp_id())
            .field("secret", &"***")
            .field("fingerprint", &self.fingerprint())
            .field("api_base", &crate::endpoint::shown_url(&self.0.api_base))
            .finish()
    }
}

/// The scopes [`Credential::scoped`] is given: `""` (a corp's app), `suite`, `provider`,
/// `suite:{suite_id}` (an authorised corp).
fn kind_of_scope(scope: &str) -> TokenKind {
    match scope {
        "suite" => TokenKind::Suite,
        "provider" => TokenKind::Provider,
        _ => TokenKind::Corp,
    }
}

/// Parses an API base URL: http(s), no query or fragment, normalised to end with `/` so that
/// endpoint paths join under it (a proxy prefix like `https://proxy/wecom/` is kept).
pub(crate) fn parse_api_base(raw: &str) -> Result<Url> {
    let mut url =
        Url::parse(raw.trim()).map_err(|e| Error::Config(format!("invalid base URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::Config(
            "base URL must be an http:// or https:// URL with a host".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(
            "base URL must not have a query or fragment".into(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn fingerprint(scope: &str, api_base: &str, corp_id: &str, secret: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    // A corp's own app keeps the fingerprint it always had (tokens shared in a store stay found).
    let scoped = (!scope.is_empty()).then_some(scope);
    for part in ["wecom-kf/credential/v1", api_base, corp_id, secret]
        .into_iter()
        .chain(scoped)
    {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_names_the_kind_of_token() {
        let base = DEFAULT_API_BASE;
        let kind = |scope| Credential::scoped(scope, "ww1", "s", base).unwrap().kind();
        assert_eq!(Credential::new("ww1", "s").unwrap().kind(), TokenKind::Corp);
        assert_eq!(kind("suite"), TokenKind::Suite);
        assert_eq!(kind("provider"), TokenKind::Provider);
        assert_eq!(kind("suite:ww_suite"), TokenKind::Corp);
    }

    #[test]
    fn keys_differ_by_secret_and_base() {
        let a = Credential::new("ww1", "s1").unwrap();
        let b = Credential::new("ww1", "s2").unwrap();
        let c = Credential::with_api_base("ww1", "s1", "http://127.0.0.1:1").unwrap();
        assert_ne!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        assert_eq!(a.key(), Credential::new("ww1", "s1").unwrap().key());
    }

    #[test]
    fn base_is_normalised_and_checked() {
        assert_eq!(
            parse_api_base("http://h:1/wecom").unwrap().as_str(),
            "http://h:1/wecom/"
        );
        for bad in ["ftp://h/", "not a url", "http://h/?a=1", ""] {
            assert!(parse_api_base(bad).is_err(), "{bad}");
        }
        assert!(Credential::new("", "s").is_err());
        assert!(Credential::new("ww", " ").is_err());
    }

    #[test]
    fn debug_hides_secret() {
        let c = Credential::new("ww1", "TOPSECRET").unwrap();
        assert!(!format!("{c:?}{c:#?}").contains("TOPSECRET"));
    }
}
