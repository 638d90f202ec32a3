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
//! ```no_run
//! use std::sync::Arc;
//! use wecom_kf::provider::{
//!     CorpTokenSource, MemorySuiteTicketStore, SuiteTicket, SuiteTicketStore, SuiteTokenSource,
//!     authorised_corp_credential, suite_credential,
//! };
//! use wecom_kf::token::DEFAULT_API_BASE;
//! use wecom_kf::{Client, TokenProvider};
//!
//! # async fn run() -> wecom_kf::Result<()> {
//! let tickets = Arc::new(MemorySuiteTicketStore::new());
//! // What the command callback does with a `suite_ticket` push (SuiteId, SuiteTicket, TimeStamp):
//! let pushed = SuiteTicket::new("wwsuite", "TICKET", 1_700_000_000)?;
//! tickets.put(&pushed).await.ok();
//!
//! // One suite provider for every corp of the suite, one corp provider over it.
//! let suites = TokenProvider::builder()
//!     .source(SuiteTokenSource::new(tickets.clone())?)
//!     .build()?;
//! let suite = suite_credential("wwsuite", "suite-secret", DEFAULT_API_BASE)?;
//! let corps = TokenProvider::builder()
//!     .source(CorpTokenSource::new(suites, suite)?)
//!     .build()?;
//!
//! // An authorised corp's client: the kf handles as for a corp's own app.
//! let corp = authorised_corp_credential("wwsuite", "wwcorp", "PERMANENT-CODE", DEFAULT_API_BASE)?;
//! let client = Client::builder().credential(corp).token_provider(corps).build()?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```
//!
//! A 代开发 app needs none of this: its permanent code *is* its app secret, so a plain
//! [`Credential`](crate::token::Credential) of (auth corp id, permanent code) and the default
//! `gettoken` source serve it.
//!
//! A [`Provider`] wraps the whole chain for a suite: `provider.corp("wwcorp").await?` is the
//! [`Client`](crate::Client) of an authorised corp, built from its permanent code and cached.
//!
//! Permanent codes, the provider's most precious data, are kept in a
//! [`PermanentCodeStore`](codes::PermanentCodeStore) (memory, Redis, or SQL with the `sql`
//! feature), with the `create_auth` auth codes still to be exchanged.
//!
//! The suite's own calls (pre-auth code, session info, the auth-code exchange, auth info) are
//! on [`Client::suite`](crate::Client::suite) ([`suite::SuiteApi`]); a `Lifecycle` (feature
//! `callback`) acts on
//! each verified command callback (suite_ticket, create_auth, change_auth, cancel_auth,
//! reset_permanent_code) with the stores, and its `resume_pending` exchanges the auth
//! codes a crash left pending.

pub mod codes;
#[cfg(feature = "callback")]
pub mod lifecycle;
pub mod registry;
pub mod sources;
pub mod suite;
pub mod ticket;

#[cfg(feature = "callback")]
pub use lifecycle::{Lifecycle, LifecycleOutcome};
pub use registry::{DEFAULT_MAX_TENANTS, Provider, ProviderBuilder};
pub use sources::{
    CorpTokenSource, ProviderTokenSource, SuiteTokenSource, authorised_corp_credential,
    provider_credential, suite_credential,
};
#[cfg(feature = "redis")]
pub use ticket::RedisSuiteTicketStore;
pub use ticket::{MemorySuiteTicketStore, SUITE_TICKET_LIFETIME, SuiteTicket, SuiteTicketStore};
