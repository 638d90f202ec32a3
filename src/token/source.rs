//! Where tokens come from: a [`TokenSource`] fetches one for a credential; the
//! [`TokenProvider`](super::TokenProvider) decides when, caches it and shares it.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::access_token::shape_problem;
use super::credential::Credential;
use crate::error::{Error, Result};

/// Fetches a new token for a credential. The provider calls it at most once at a time per
/// credential (every concurrent caller shares the fetch) and only when the cached token is
/// missing, stale or refused; the source only asks.
///
/// The default source is WeCom's `gettoken` (corp id and app secret). Set another with
/// [`TokenProviderBuilder::source`](super::TokenProviderBuilder::source), for tokens that come
/// from elsewhere (say, a central token service):
///
/// ```
/// use std::time::Duration;
/// use async_trait::async_trait;
/// use wecom_kf::token::{Credential, FetchedToken, TokenSource};
/// use wecom_kf::TokenProvider;
///
/// #[derive(Debug)]
/// struct Central;
///
/// #[async_trait]
/// impl TokenSource for Central {
///     async fn fetch(&self, credential: &Credential) -> wecom_kf::Result<FetchedToken> {
///         // Ask the service for `credential.corp_id()`'s token here.
///         FetchedToken::new("TOKEN", Duration::from_secs(7200))
///     }
/// }
///
/// let provider = TokenProvider::builder().source(Central).build()?;
/// # let _ = provider;
/// # Ok::<(), wecom_kf::Error>(())
/// ```
///
/// A configuration error ([`Error::is_configuration`](crate::Error::is_configuration)) is
/// answered to every caller for the next 10 s without asking again; any other error is
/// returned once and the next caller asks again.
#[async_trait]
pub trait TokenSource: fmt::Debug + Send + Sync + 'static {
    /// A new token for `credential`.
    async fn fetch(&self, credential: &Credential) -> Result<FetchedToken>;
}

/// A token as a [`TokenSource`] fetched it: its value and how long it lives from now. `Debug`
/// never shows the value.
#[derive(Clone)]
pub struct FetchedToken {
    pub(super) value: String,
    pub(super) expires_in: Duration,
}

impl FetchedToken {
    /// A token valid for `expires_in` from now (trusted for a day at most). Refused
    /// ([`Error::InvalidInput`]) if it could not be used: empty, longer than
    /// [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES), with a character a URL does not carry as
    /// it is, or valid for no time at all.
    pub fn new(value: impl Into<String>, expires_in: Duration) -> Result<Self> {
        let value = value.into();
        if let Some(problem) = shape_problem(&value) {
            return Err(Error::invalid("access_token", problem));
        }
        if expires_in.is_zero() {
            return Err(Error::invalid("expires_in", "is zero"));
        }
        Ok(Self { value, expires_in })
    }
}

impl fmt::Debug for FetchedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedToken")
            .field("value", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}
