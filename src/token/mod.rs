//! Access tokens: what they are for ([`Credential`]), the value ([`AccessToken`]), and the
//! cache that fetches and refreshes them ([`TokenProvider`]).

mod access_token;
mod credential;
mod provider;

pub use access_token::AccessToken;
pub(crate) use credential::parse_api_base;
pub use credential::{Credential, DEFAULT_API_BASE};
pub use provider::{TokenProvider, TokenProviderBuilder};
