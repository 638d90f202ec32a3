//! # wecom-kf
//!
//! A WeCom (企业微信) server API client centred on WeChat Customer Service (微信客服, the
//! `kf/*` endpoints), for programs that never want to see an access token.
//!
//! - **Tokens are managed:** fetched once per credential however many callers wait, cached,
//!   refreshed ahead of expiry in the background, and replaced (compare-and-refresh) when WeCom
//!   rejects one, with the call replayed once.
//! - **Retries are safe:** a call is replayed only when WeCom cannot have executed it, or when
//!   replaying it is harmless. A non-idempotent call whose answer was lost is reported as
//!   [`Error::OutcomeUnknown`], never silently duplicated. Rate limits (45009) are never retried.
//! - **Inputs are checked** before anything is sent ([`Error::InvalidInput`]).
//! - **Secrets never leak:** the corp secret and tokens are absent from every `Debug`,
//!   `Display` and error message.
//!
//! A service provider runs kf for the corps that authorised its suite through
//! [`provider::Provider`]; [`budget::RateBudgets`] keeps a client, or a fleet, under WeCom's
//! frequency limits; the `metrics` feature reports every decision through the `metrics` facade.
//!
//! Without a corp at hand, the `simulator` feature adds `simulator::Simulator`: a local WeCom
//! with the documented rules, scriptable faults and exact counters, for demos and tests.
//! The `metrics` feature counts and times what the SDK decides (calls, retries, token replays
//! and fetches, sync lag) through the `metrics` facade, for the exporter the application installs.
//!
//! ```no_run
//! use wecom_kf::{Client, Error};
//! use wecom_kf::kf::account::{AddAccount, ListAccounts};
//!
//! # async fn demo() -> Result<(), Error> {
//! let client = Client::from_env()?; // WECOM_CORP_ID, WECOM_CORP_SECRET, WECOM_API_BASE
//! let accounts = client.kf().account();
//! match accounts.add(AddAccount::new("咨询客服", "MEDIA_ID")).await {
//!     Ok(created) => println!("created {}", created.open_kfid),
//!     Err(Error::OutcomeUnknown { .. }) => println!("maybe created: list before retrying"),
//!     Err(e) => return Err(e),
//! }
//! let page = accounts.list(ListAccounts::new().limit(100)).await?;
//! # let _ = page; Ok(()) }
//! ```
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

pub mod budget;
mod call;
#[cfg(feature = "callback")]
pub mod callback;
mod client;
pub mod clock;
mod endpoint;
pub mod errcode;
mod error;
mod hex;
pub mod kf;
pub mod media;
mod middleware;
mod operation;
pub mod provider;
mod rate_limit;
mod redact;
#[cfg(feature = "redis")]
mod redis_conn;
mod replay;
#[cfg(feature = "simulator")]
pub mod simulator;
#[cfg(test)]
mod source_tree;
mod spec;
mod telemetry;
pub mod token;
mod validate;

/// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use client::{Client, ClientBuilder};
pub use error::{ApiError, Error, Result, TransportError, TransportErrorKind};
pub use middleware::RetryConfig;
#[cfg(feature = "metrics")]
pub use telemetry::describe_metrics;
pub use token::{AccessToken, TokenProvider};
