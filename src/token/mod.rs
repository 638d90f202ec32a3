//! Access tokens: what they are for ([`Credential`]), the value ([`AccessToken`]), where they
//! come from ([`TokenSource`]; `gettoken` by default), and the cache that decides when to
//! fetch and shares them ([`TokenProvider`], with a [`TokenStore`] across processes).
//!
//! The parts: `provider` (cache, single flight, compare-and-refresh) knows no HTTP; `freshness`
//! says when a token is due; `cooldown` keeps configuration errors; `lease` is the level shared
//! through a store; `gettoken` is the default source; `layer` puts tokens on requests.

mod access_token;
mod cooldown;
mod credential;
mod freshness;
mod gettoken;
mod layer;
mod lease;
mod provider;
#[cfg(feature = "redis")]
mod redis_store;
mod source;
mod store;

pub use access_token::{AccessToken, MAX_TOKEN_BYTES};
pub(crate) use credential::parse_api_base;
pub use credential::{Credential, DEFAULT_API_BASE};
pub(crate) use layer::{CallCredential, TokenLayer};
pub use provider::{TokenProvider, TokenProviderBuilder};
#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_PREFIX as REDIS_DEFAULT_PREFIX, RedisTokenStore};
pub use source::{FetchedToken, TokenSource};
pub use store::{Lease, SharedToken, StoreError, StoreKey, TokenStore};
