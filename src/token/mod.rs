//! Access tokens: what they are for ([`Credential`]), the value ([`AccessToken`]), and the
//! cache that fetches and refreshes them ([`TokenProvider`]).

mod access_token;
mod credential;
mod provider;
#[cfg(feature = "redis")]
mod redis_store;
mod store;

pub use access_token::AccessToken;
pub(crate) use credential::parse_api_base;
pub use credential::{Credential, DEFAULT_API_BASE};
pub use provider::{TokenProvider, TokenProviderBuilder};
#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_PREFIX as REDIS_DEFAULT_PREFIX, RedisTokenStore};
pub use store::{Lease, SharedToken, StoreError, StoreKey, TokenStore};
