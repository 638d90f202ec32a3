//! One call at the outermost boundary: how what the stack returned becomes a typed value or an
//! [`Error`].

use reqwest_retry::RetryError;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error, Result, TransportError, TransportErrorKind};
use crate::middleware::{CallInfo, Classified, SdkFailure, TransportFailure};
use crate::redact::{Secrets, cap, excerpt};
use crate::replay::{self, Body};
use crate::telemetry;

/// Whether what happened leaves the call's outcome unknown.
fn outcome_unknown_after(info: &CallInfo, happened: replay::Happened) -> bool {
    replay::verdict(info.idempotency, happened) == replay::Verdict::OutcomeUnknown
}

/// Excerpt length for bodies quoted in errors.
const EXCERPT_CHARS: usize = 200;
/// The most of an `errmsg` an error keeps (WeCom's are a sentence, a hint and a link).
const ERRMSG_CHARS: usize = 1_000;
/// The most of a decoder's complaint an error keeps.
const REASON_CHARS: usize = 300;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errmsg: String,
}

/// Sends `request` through the stack, tagged with `info`, and decodes the outcome.
pub(crate) async fn send<T: DeserializeOwned>(
    request: reqwest_middleware::RequestBuilder,
    info: CallInfo,
) -> Result<T> {
    let timer = telemetry::Timer::start();
    let sent = request.with_extension(info.clone()).send().await;
    let result = finish(sent, &info).await;
    telemetry::call_finished(telemetry::endpoint(&info.endpoint), timer, &result);
    result
}

/// Sends `request` through the stack and returns the answer as received (headers and body),
/// for endpoints that answer something other than JSON on success (`media/get`).
pub(crate) async fn send_raw(
    request: reqwest_middleware::RequestBuilder,
    info: CallInfo,
) -> Result<RawAnswer> {
    let timer = telemetry::Timer::start();
    let sent = request.with_extension(info.clone()).send().await;
    let result = checked(sent, &info).await;
    telemetry::call_finished(telemetry::endpoint(&info.endpoint), timer, &result);
    result
}

/// A successful answer, before decoding.
pub(crate) struct RawAnswer {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: bytes::Bytes,
    /// What the call carried that no text about it may repeat.
    pub(crate) secrets: Secrets,
}

impl RawAnswer {
    /// A decode error about this answer, its texts redacted and capped.
    pub(crate) fn decode_error(&self, endpoint: &str, reason: &str) -> Error {
        Error::Decode {
            endpoint: endpoint.to_owned(),
            status: self.status,
            reason: cap(&self.secrets.redact(reason), REASON_CHARS).into_owned(),
            excerpt: excerpt(&self.body, EXCERPT_CHARS, &self.secrets),
        }
    }
}

/// Turns what the middleware stack returned into a typed value or an [`Error`].
async fn finish<T: DeserializeOwned>(
    sent: reqwest_middleware::Result<reqwest::Response>,
    info: &CallInfo,
) -> Result<T> {
    let answer = checked(sent, info).await?;
    serde_json::from_slice(&answer.body)
        .map_err(|e| answer.decode_error(&info.endpoint, &e.to_string()))
}

/// The answer, unless it is an error: a failed exchange, an HTTP error status, or a non-zero
/// errcode.
async fn checked(
    sent: reqwest_middleware::Result<reqwest::Response>,
    info: &CallInfo,
) -> Result<RawAnswer> {
    let mut response = sent.map_err(|e| stack_error(&e, info))?;
    let status = response.status();
    // Taken, not cloned: the body read below consumes the response anyway.
    let headers = std::mem::take(response.headers_mut());
    let classified = response.extensions().get::<Classified>().copied();
    let secrets = response
        .extensions_mut()
        .remove::<Secrets>()
        .unwrap_or_default();
    // Already buffered by the classify layer: this does no I/O.
    let body = response.bytes().await.map_err(|e| {
        Error::Transport(TransportError::new(
            TransportErrorKind::Other,
            &info.endpoint,
            &e.without_url().to_string(),
        ))
    })?;
    // What the rule made of this answer (a gateway error may hide an executed request).
    let unknown = classified.is_some_and(|c| c.verdict == replay::Verdict::OutcomeUnknown);
    let unless_unknown = |error: Error| {
        if unknown {
            outcome_unknown(info, error)
        } else {
            error
        }
    };
    if !status.is_success() {
        return Err(unless_unknown(Error::HttpStatus {
            endpoint: info.endpoint.to_string(),
            status: status.as_u16(),
            excerpt: excerpt(&body, EXCERPT_CHARS, &secrets),
        }));
    }
    match classified.map(|c| c.body) {
        Some(Body::Errcode(0) | Body::Other) | None => {}
        Some(Body::Errcode(code)) => {
            let errmsg = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.errmsg)
                .unwrap_or_default();
            let errmsg = cap(&secrets.redact(&errmsg), ERRMSG_CHARS).into_owned();
            return Err(Error::Api(ApiError::new(
                code,
                errmsg,
                info.endpoint.as_ref(),
            )));
        }
        Some(Body::Unreadable) => {
            return Err(unless_unknown(Error::Decode {
                endpoint: info.endpoint.to_string(),
                status: status.as_u16(),
                reason: "errcode is not an integer".into(),
                excerpt: excerpt(&body, EXCERPT_CHARS, &secrets),
            }));
        }
    }
    Ok(RawAnswer {
        status: status.as_u16(),
        headers,
        body,
        secrets,
    })
}

/// Maps an error from the stack to ours, looking through reqwest-retry's wrapper.
fn stack_error(error: &reqwest_middleware::Error, info: &CallInfo) -> Error {
    match error {
        reqwest_middleware::Error::Middleware(any) => {
            if let Some(retry) = any.downcast_ref::<RetryError>() {
                let inner = match retry {
                    RetryError::WithRetries { retries, err } => {
                        tracing::warn!(endpoint = %info.endpoint, retries, "retries exhausted");
                        err
                    }
                    RetryError::Error(err) => err,
                };
                return stack_error(inner, info);
            }
            if let Some(failure) = any.downcast_ref::<TransportFailure>() {
                return transport_error(failure.error.clone(), info);
            }
            if let Some(SdkFailure(error)) = any.downcast_ref::<SdkFailure>() {
                return error.clone();
            }
            let message = format!("{any:#}");
            Error::Transport(TransportError::new(
                TransportErrorKind::Other,
                &info.endpoint,
                &message,
            ))
        }
        // The classify layer wraps every transport error, so this is only reached if a request
        // could not even be built; redact all the same.
        reqwest_middleware::Error::Reqwest(e) => Error::Transport(TransportError::new(
            TransportErrorKind::Other,
            &info.endpoint,
            &crate::middleware::error_chain(e),
        )),
    }
}

fn transport_error(error: TransportError, info: &CallInfo) -> Error {
    if outcome_unknown_after(info, replay::of_failure(error.kind())) {
        outcome_unknown(info, Error::Transport(error))
    } else {
        Error::Transport(error)
    }
}

fn outcome_unknown(info: &CallInfo, cause: Error) -> Error {
    Error::OutcomeUnknown {
        endpoint: info.endpoint.to_string(),
        cause: Box::new(cause),
    }
}
