//! The second cache level: a store that processes (and machines) share, behind each process's
//! own in-memory cache. With a store, one `gettoken` serves every replica.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// Where a token for one credential is kept in a [`TokenStore`]: the corp id and a fingerprint
/// of (API base, corp id, secret). Never the secret itself.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StoreKey {
    corp_id: String,
    fingerprint: String,
}

impl StoreKey {
    pub(crate) fn new(corp_id: &str, fingerprint: String) -> Self {
        Self {
            corp_id: corp_id.to_owned(),
            fingerprint,
        }
    }

    /// The corp id.
    pub fn corp_id(&self) -> &str {
        &self.corp_id
    }

    /// A hex fingerprint of the credential (SHA-256 based), which tells two apps of one corp
    /// apart without revealing their secrets.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.corp_id, self.fingerprint)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({self})")
    }
}

/// A token as kept in a [`TokenStore`]: its value and the absolute times it was obtained and
/// expires (by the clock of the provider that fetched it). `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedToken {
    /// The `access_token`.
    pub value: String,
    /// When the fetching provider obtained it.
    pub obtained_at: SystemTime,
    /// When it expires (`obtained_at + expires_in`).
    pub expires_at: SystemTime,
}

impl SharedToken {
    /// A token and its times.
    pub fn new(value: impl Into<String>, obtained_at: SystemTime, expires_at: SystemTime) -> Self {
        Self {
            value: value.into(),
            obtained_at,
            expires_at,
        }
    }
}

impl fmt::Debug for SharedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedToken")
            .field("value", &"***")
            .field("obtained_at", &self.obtained_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The right to fetch the token for one key, held by one provider at a time across every
/// process. It lapses by itself after [`TokenStore::lease_lifetime`], so a crashed holder blocks no
/// one for longer than that.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    owner: String,
}

impl Lease {
    /// A lease identified by `owner`, a value unique to its holder (release compares it).
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
        }
    }

    /// The holder's unique value.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lease({})", self.owner)
    }
}

/// A failure of the store itself (unreachable, slow, a bad reply). The provider never hands it
/// to callers: it fetches the token on its own instead, and logs the incident once.
#[derive(Debug, Clone)]
pub struct StoreError(String);

impl StoreError {
    /// An error with this description. Keep secrets and tokens out of it.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Tokens shared between processes, behind each provider's in-memory cache: memory first, then
/// the store, then `gettoken`. Set one with
/// [`TokenProviderBuilder::token_store`](crate::token::TokenProviderBuilder::token_store) or
/// [`ClientBuilder::token_store`](crate::ClientBuilder::token_store).
///
/// The provider fetches a token only while it holds the key's [`Lease`]; everyone else waits
/// for the token to appear in the store. Every method should answer within a short bound (the
/// provider treats an error as "the store is down" and fetches on its own).
///
/// `RedisTokenStore` (feature `redis`) is the implementation that ships with the crate.
#[async_trait]
pub trait TokenStore: fmt::Debug + Send + Sync + 'static {
    /// The token stored under `key`, if any (an expired one may be returned; the provider
    /// checks).
    async fn get(&self, key: &StoreKey) -> Result<Option<SharedToken>, StoreError>;

    /// Stores `token` under `key` until it expires, unless the store already holds one
    /// obtained later.
    async fn put(&self, key: &StoreKey, token: &SharedToken) -> Result<(), StoreError>;

    /// Removes the token under `key` only if it is still `value` (a token WeCom refused), so
    /// that one replica cannot throw away a token another has just stored. True if removed.
    async fn invalidate_if(&self, key: &StoreKey, value: &str) -> Result<bool, StoreError>;

    /// Takes the lease for `key` if nobody holds it.
    async fn try_lease(&self, key: &StoreKey) -> Result<Option<Lease>, StoreError>;

    /// Gives the lease back, if it is still held by `lease`'s owner.
    async fn release(&self, key: &StoreKey, lease: &Lease) -> Result<(), StoreError>;

    /// How long a lease lasts if its holder never gives it back.
    fn lease_lifetime(&self) -> Duration;
}
