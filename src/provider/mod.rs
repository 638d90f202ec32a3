//! Service providers (服务商): third-party suites (第三方应用) and custom-developed apps
//! (代开发), running kf for the corps that authorised them.
//!
//! The token chain: WeCom pushes a suite_ticket every 10 minutes (kept in a
//! [`SuiteTicketStore`]); with it a suite fetches its `suite_access_token`
//! ([`SuiteTokenSource`]); with that and a corp's permanent code, the corp's `access_token`
//! ([`CorpTokenSource`]), which the kf handles use unchanged. The provider's own
//! `provider_access_token` comes from [`ProviderTokenSource`]. Every token goes through a
//! [`TokenProvider`](crate::TokenProvider): cached, one fetch at a time, refreshed ahead,
//! replaced once when WeCom refuses it, shared through a token store.
//!
//! A 代开发 app needs none of this: its permanent code *is* its app secret, so a plain
//! [`Credential`](crate::token::Credential) of (auth corp id, permanent code) and the default
//! `gettoken` source serve it.

pub mod sources;
pub mod ticket;

pub use sources::{
    CorpTokenSource, ProviderTokenSource, SuiteTokenSource, authorised_corp_credential,
    provider_credential, suite_credential,
};
#[cfg(feature = "redis")]
pub use ticket::RedisSuiteTicketStore;
pub use ticket::{MemorySuiteTicketStore, SUITE_TICKET_LIFETIME, SuiteTicket, SuiteTicketStore};
