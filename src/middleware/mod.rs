//! The reqwest-middleware stack, outermost first:
//!
//! 1. **retry** ([`RetryConfig`]): reqwest-retry with a strategy that replays only what WeCom
//!    cannot have executed, or what is harmless to replay.
//! 2. **trace**: one DEBUG span per attempt (reqwest-tracing with our span: endpoint, status,
//!    errcode, retry verdict; never the URL).
//! 3. **token** (`token::layer`, given to [`stack`]): puts the current token in `?access_token=`; on 42001/40014/41001 replaces that
//!    token (compare-and-refresh) and replays the call once.
//! 4. **budget** (`budget::layer`, when the client has rate budgets): waits for room in the
//!    rate budgets before each attempt, or stops it unsent; closes the scope on 45009.
//! 5. **classify** (innermost): buffers the body once, tags the response with its errcode and
//!    whether a retry is allowed, and turns transport errors into redacted, tagged failures.
//!
//! Redaction sits innermost so that every error is clean before any other layer sees it.

mod classify;
mod retry;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware};

pub(crate) use classify::{BodyLimits, Classified, TransportFailure, error_chain};
pub use retry::RetryConfig;

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::spec::{Answer, Endpoint, Idempotency, TokenKind};

/// Attached to every request as an extension so the layers know what they carry.
#[derive(Debug, Clone)]
pub(crate) struct CallInfo {
    pub(crate) endpoint: Cow<'static, str>,
    pub(crate) idempotency: Idempotency,
    pub(crate) answer: Answer,
    /// The token the call carries: which query parameter the token layer fills, and which
    /// errcodes refuse it.
    pub(crate) token: TokenKind,
}

impl CallInfo {
    /// A call to an endpoint the SDK does not know (`post_json`, `get_json`): a JSON answer.
    pub(crate) fn new(endpoint: impl Into<Cow<'static, str>>, idempotency: Idempotency) -> Self {
        Self {
            endpoint: endpoint.into(),
            idempotency,
            answer: Answer::Json,
            token: TokenKind::Corp,
        }
    }

    /// A call to an endpoint of the table.
    pub(crate) fn of(endpoint: &'static Endpoint) -> Self {
        Self {
            endpoint: Cow::Borrowed(endpoint.path),
            idempotency: endpoint.idempotency,
            answer: endpoint.answer,
            token: endpoint.token,
        }
    }
}

/// A layer stopped the call before sending it (no token could be obtained, a rate budget
/// refused it); carries the SDK error through the stack unchanged, and is never retried.
#[derive(Debug)]
pub(crate) struct SdkFailure(pub(crate) Error);

impl std::fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the call was not sent: {}", self.0)
    }
}

impl std::error::Error for SdkFailure {}

/// Per-attempt timeouts of the HTTP client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) request: Duration,
    pub(crate) connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(10),
            connect: Duration::from_secs(5),
        }
    }
}

/// The SDK's HTTP client: per-attempt timeouts, no redirects (a redirect would carry the token
/// to another host) and no `Referer`.
pub(crate) fn default_http_client(timeouts: Timeouts) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeouts.request)
        .connect_timeout(timeouts.connect)
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {}", error_chain(&e))))
}

/// Assembles the stack. Without a token layer it serves `gettoken` itself. `below` goes under
/// classify, in place of the network (the benchmarks' fake transport).
pub(crate) fn stack(
    http: reqwest::Client,
    retry: &RetryConfig,
    token: Option<Arc<dyn Middleware>>,
    limits: BodyLimits,
    below: Option<Arc<dyn Middleware>>,
) -> ClientWithMiddleware {
    stack_with(http, retry, token, None, limits, below)
}

/// [`stack`] with a budget layer between the token layer and classify (so that every
/// attempt, the token replay included, passes the budgets and sees the errcode).
pub(crate) fn stack_with(
    http: reqwest::Client,
    retry: &RetryConfig,
    token: Option<Arc<dyn Middleware>>,
    budget: Option<Arc<dyn Middleware>>,
    limits: BodyLimits,
    below: Option<Arc<dyn Middleware>>,
) -> ClientWithMiddleware {
    let mut builder = ClientBuilder::new(http);
    if let Some(retry) = retry.middleware() {
        builder = builder.with(retry);
    }
    builder = builder.with(trace::layer());
    if let Some(token) = token {
        builder = builder.with_arc(token);
    }
    if let Some(budget) = budget {
        builder = builder.with_arc(budget);
    }
    builder = builder.with(classify::Classify { limits });
    if let Some(below) = below {
        builder = builder.with_arc(below);
    }
    builder.build()
}
