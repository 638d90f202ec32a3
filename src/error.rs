//! The one error type of the SDK.
//!
//! Every message in here has been redacted: no variant carries the corp secret or an access
//! token, in `Display`, `{:#}` or `Debug` form.

use std::fmt;

use std::time::SystemTime;

use crate::errcode;
use crate::rate_limit::Refusal;

/// Result alias used throughout the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with a WeCom call.
///
/// ```
/// use wecom_kf::Error;
///
/// fn explain(err: &Error) -> String {
///     match err {
///         Error::Api(e) if e.is_rate_limited() => "slow down".into(),
///         Error::Api(e) => format!("WeCom said {}: {}", e.code(), e.message()),
///         Error::InvalidInput { field, .. } => format!("fix `{field}`; nothing was sent"),
///         Error::OutcomeUnknown { .. } => "check before trying again".into(),
///         other => other.to_string(),
///     }
/// }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// WeCom answered with a non-zero `errcode`.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// The request was rejected by the SDK before anything was sent.
    #[error("invalid input: `{field}` {reason}")]
    #[non_exhaustive]
    InvalidInput {
        /// The offending field, as named on the wire.
        field: &'static str,
        /// The rule it broke.
        reason: String,
    },

    /// A call that is not safe to replay was sent, but its answer was lost or ambiguous (timeout,
    /// dropped connection, gateway error): WeCom may or may not have executed it. The SDK did not
    /// replay it; check the server's state (e.g. list the accounts) before trying again.
    #[error("outcome unknown: {endpoint} may or may not have taken effect ({cause})")]
    #[non_exhaustive]
    OutcomeUnknown {
        /// The API path that was called, e.g. `/cgi-bin/kf/account/add`.
        endpoint: String,
        /// What happened to the answer.
        #[source]
        cause: Box<Error>,
    },

    /// The HTTP exchange failed: nothing usable came back.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// WeCom (or a proxy in front of it) answered with a non-success HTTP status.
    #[error("{endpoint} answered HTTP {status}: {excerpt}")]
    #[non_exhaustive]
    HttpStatus {
        /// The API path that was called.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the body, redacted.
        excerpt: String,
    },

    /// The answer could not be decoded as the expected JSON.
    #[error(
        "{endpoint} answered HTTP {status} with a body that could not be decoded ({reason}): {excerpt}"
    )]
    #[non_exhaustive]
    Decode {
        /// The API path that was called.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// Why decoding failed.
        reason: String,
        /// The start of the body, redacted.
        excerpt: String,
    },

    /// The client was configured wrongly (missing corp id, bad base URL, …).
    #[error("configuration error: {0}")]
    Config(String),

    /// Saving or loading local state (a `sync_msg` cursor) failed.
    #[error("storage error: {0}")]
    Storage(String),

    /// A suite's token cannot be fetched: no suite_ticket is stored for it, the newest is
    /// past its 30 minutes, or WeCom refused it (40085). WeCom pushes a new ticket every 10
    /// minutes to the command callback (or on demand from the provider console): check that
    /// the callback stores it. Never retried by the SDK.
    #[error("no usable suite_ticket for suite {suite_id}: {reason}")]
    #[non_exhaustive]
    SuiteTicketUnavailable {
        /// The suite id.
        suite_id: String,
        /// What is missing (never the ticket itself).
        reason: String,
    },

    /// The corp has not authorised the suite: its permanent-code store holds no code for
    /// (suite, corp). Nothing was sent. The corp installs the app (a `create_auth` callback
    /// stores its code), or it cancelled (`cancel_auth`).
    #[error("corp {auth_corpid} has not authorised suite {suite_id}")]
    #[non_exhaustive]
    NotAuthorised {
        /// The suite id.
        suite_id: String,
        /// The corp id asked for.
        auth_corpid: String,
    },

    /// A rate budget ([`RateBudgets`](crate::budget::RateBudgets)) refused the call: sending
    /// it would have exceeded a budget, hit a scope WeCom closed with 45009, or gone over a
    /// concurrency cap, and the room would not come within the budgets' maximum wait.
    /// **Nothing was sent.** Try again at `frees_at`.
    #[error("{endpoint}: {refusal}{}; nothing was sent", until(frees_at))]
    #[non_exhaustive]
    RateLimited {
        /// The endpoint path.
        endpoint: String,
        /// Which budget, and why.
        refusal: Refusal,
        /// When there is room again (`None` for a concurrency cap: when a call in flight
        /// ends).
        frees_at: Option<SystemTime>,
    },
}

fn until(frees_at: &Option<SystemTime>) -> String {
    frees_at
        .map(|at| format!(" until {}", httpdate::fmt_http_date(at)))
        .unwrap_or_default()
}

impl Error {
    /// The WeCom error, if this is [`Error::Api`].
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// WeCom rejected the access token (42001, 40014, 41001) — after the SDK's own refresh and
    /// replay, so the fresh token was rejected too.
    pub fn is_token_rejected(&self) -> bool {
        self.api().is_some_and(ApiError::is_token_rejected)
    }

    /// The failure is likely to pass: busy/conflict/concurrency errcodes, HTTP 429 and 5xx,
    /// network failures. The SDK has already retried what was safe to retry.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(e) => e.is_transient(),
            Error::Transport(_) => true,
            Error::HttpStatus { status, .. } => *status == 429 || *status >= 500,
            Error::OutcomeUnknown { cause, .. } => cause.is_transient(),
            _ => false,
        }
    }

    /// WeCom's frequency limit (45009), or a rate budget that refused the call
    /// ([`Error::RateLimited`]): wait for the window to pass, do not retry now.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
            || self.api().is_some_and(ApiError::is_rate_limited)
    }

    /// `kf/sync_msg` refused its callback token (errcode 95007): it is invalid or older than
    /// its 10 minutes. Pull again without the token (strictly rate-limited), or wait for the
    /// next callback's token; the cursor is unaffected.
    pub fn is_sync_token_expired(&self) -> bool {
        self.api()
            .is_some_and(|e| e.code() == errcode::KF_INVALID_MSG_TOKEN)
    }

    /// A credential or setup problem (bad corp id or secret, untrusted IP, bad builder input)
    /// that no retry can fix.
    pub fn is_configuration(&self) -> bool {
        match self {
            Error::Api(e) => errcode::is_configuration(e.code()),
            Error::Config(_) => true,
            _ => false,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

/// A non-zero `errcode` from WeCom, with its `errmsg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: i64,
    message: String,
    endpoint: String,
}

impl ApiError {
    pub(crate) fn new(code: i64, message: impl Into<String>, endpoint: impl Into<String>) -> Self {
        let message = crate::redact::redact_text(&message.into()).into_owned();
        Self {
            code,
            message,
            endpoint: endpoint.into(),
        }
    }

    /// WeCom's `errcode`.
    pub fn code(&self) -> i64 {
        self.code
    }

    /// WeCom's `errmsg`, as sent (it usually ends with a `hint: [...]` and a help link).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The request id WeCom puts in the errmsg as `hint: [...]`, useful when asking WeCom
    /// support about a failure.
    pub fn hint(&self) -> Option<&str> {
        let start = self.message.find("hint: [")? + "hint: [".len();
        let len = self.message[start..].find(']')?;
        Some(&self.message[start..start + len])
    }

    /// The API path that answered, e.g. `/cgi-bin/kf/account/add`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The SDK's short description of this errcode, if it knows it.
    pub fn description(&self) -> Option<&'static str> {
        errcode::describe(self.code)
    }

    /// See [`Error::is_token_rejected`].
    pub fn is_token_rejected(&self) -> bool {
        errcode::is_token_rejected(self.code)
    }

    /// See [`Error::is_transient`].
    pub fn is_transient(&self) -> bool {
        errcode::is_transient(self.code)
    }

    /// See [`Error::is_rate_limited`].
    pub fn is_rate_limited(&self) -> bool {
        errcode::is_rate_limited(self.code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed with errcode {}", self.endpoint, self.code)?;
        if let Some(d) = self.description() {
            write!(f, " ({d})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}

/// How an HTTP exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, DNS, TLS handshake): nothing was sent.
    Connect,
    /// No complete answer within the timeout.
    Timeout,
    /// The connection broke after the request was (or may have been) sent.
    ConnectionDropped,
    /// The answer was larger than the client's cap (see
    /// [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)); it was
    /// not read further, and the call is not retried.
    ResponseTooLarge,
    /// The reply was not HTTP at all; the call is not retried.
    InvalidResponse,
    /// Anything else.
    Other,
}

/// A failed HTTP exchange. The message is redacted (no tokens or secrets).
#[derive(Debug, Clone)]
pub struct TransportError {
    kind: TransportErrorKind,
    endpoint: String,
    message: String,
}

impl TransportError {
    pub(crate) fn new(kind: TransportErrorKind, endpoint: &str, message: &str) -> Self {
        Self {
            kind,
            endpoint: endpoint.to_owned(),
            message: crate::redact::redact_text(message).into_owned(),
        }
    }

    /// How the exchange failed.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The API path that was called.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether the request can be known not to have reached WeCom.
    pub fn nothing_sent(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::ConnectionDropped => "connection dropped",
            TransportErrorKind::ResponseTooLarge => "answered too much",
            TransportErrorKind::InvalidResponse => "answered something that is not HTTP",
            TransportErrorKind::Other => "request failed",
        };
        write!(f, "{} {what}: {}", self.endpoint, self.message)
    }
}

impl std::error::Error for TransportError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_is_extracted_from_errmsg() {
        let e = ApiError::new(
            42001,
            "access_token expired, hint: [1700000000_12_abc], from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=42001",
            crate::spec::KF_ACCOUNT_LIST.path,
        );
        assert_eq!(e.hint(), Some("1700000000_12_abc"));
        assert!(e.is_token_rejected());
        assert!(e.to_string().contains("access_token expired"));
        assert_eq!(ApiError::new(1, "no hint", "/x").hint(), None);
    }
}
