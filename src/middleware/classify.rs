//! The innermost layer: buffer, classify, redact.

use std::fmt;

use async_trait::async_trait;
use http::Extensions;
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};
use serde::Deserialize;

use super::CallInfo;
use crate::error::{TransportError, TransportErrorKind};
use crate::replay::{self, Verdict};
use crate::spec::Idempotency;

/// Response extension: what the body said, and what the replay rule makes of the answer (decided
/// once here; the layers above only read it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Classified {
    /// The body's `errcode` (missing means 0); `None` if the body is not a JSON object, or is
    /// a file (`Content-Disposition`).
    pub(crate) errcode: Option<i64>,
    pub(crate) verdict: Verdict,
}

impl Classified {
    pub(crate) fn retry(&self) -> bool {
        self.verdict == Verdict::Retry
    }
}

/// A redacted transport failure, carried through the stack as a middleware error.
#[derive(Debug)]
pub(crate) struct TransportFailure {
    pub(crate) error: TransportError,
    pub(crate) retry: bool,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for TransportFailure {}

pub(crate) struct Classify;

#[async_trait]
impl Middleware for Classify {
    async fn handle(
        &self,
        req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let idempotency = ext
            .get::<CallInfo>()
            .map_or(Idempotency::NotIdempotent, |i| i.idempotency);
        let outcome = match next.run(req, ext).await {
            Ok(response) => buffer(response).await,
            Err(reqwest_middleware::Error::Reqwest(e)) => Err(e),
            Err(other) => return Err(other),
        };
        match outcome {
            Ok((mut response, errcode)) => {
                let happened = replay::of_answer(response.status(), errcode);
                let verdict = replay::verdict(idempotency, happened);
                let retry = verdict == Verdict::Retry;
                tracing::debug!(
                    endpoint = ext.get::<CallInfo>().map_or("", |i| &i.endpoint),
                    status = response.status().as_u16(),
                    errcode,
                    retry,
                    "attempt answered"
                );
                response
                    .extensions_mut()
                    .insert(Classified { errcode, verdict });
                Ok(response)
            }
            Err(mut e) => {
                if let Some(url) = e.url_mut() {
                    crate::redact::redact_url(url);
                }
                let endpoint = ext.get::<CallInfo>().map_or("", |i| &i.endpoint);
                let kind = kind_of(&e);
                let failure = TransportFailure {
                    error: TransportError::new(kind, endpoint, &error_chain(&e)),
                    retry: replay::verdict(idempotency, replay::of_failure(kind)) == Verdict::Retry,
                };
                tracing::debug!(%endpoint, error = %failure, "attempt failed");
                Err(reqwest_middleware::Error::Middleware(failure.into()))
            }
        }
    }
}

/// Reads the whole body now, inside the retry layer, so that a body that breaks off is
/// retried like any other transport failure, and so that layers above can read the errcode.
/// Returns the rebuilt response and the body's errcode.
async fn buffer(mut response: Response) -> Result<(Response, Option<i64>), reqwest::Error> {
    let status = response.status();
    let version = response.version();
    // Carried over rather than left for reqwest to fill in: its default is a URL it parses
    // afresh on every rebuild, which costs more than this whole layer's own work.
    let url = response.url().clone();
    let headers = std::mem::take(response.headers_mut());
    let body = response.bytes().await?;
    // A file (media/get) is the file, whatever it holds: only an API answer has an errcode.
    let errcode = if headers.contains_key(http::header::CONTENT_DISPOSITION) {
        None
    } else {
        probe_errcode(&body)
    };
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    let mut with_url = http::Response::builder().url(url);
    if let Some(extensions) = with_url.extensions_mut() {
        *rebuilt.extensions_mut() = std::mem::take(extensions);
    }
    Ok((rebuilt.into(), errcode))
}

/// The `errcode` of a JSON object body (missing means 0); `None` for anything else.
fn probe_errcode(body: &[u8]) -> Option<i64> {
    // WeCom writes `errcode` first: read it there rather than scan the whole body twice (the
    // caller's decode scans it once more).
    if let Some(code) = leading_errcode(body) {
        return Some(code);
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        errcode: i64,
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice::<Probe>(body)
        .ok()
        .map(|p| p.errcode)
}

/// `N` from a body that starts exactly `{"errcode":N,` or `{"errcode":N}`.
fn leading_errcode(body: &[u8]) -> Option<i64> {
    let rest = body.strip_prefix(br#"{"errcode":"#)?;
    let end = rest.iter().position(|&b| b == b',' || b == b'}')?;
    std::str::from_utf8(&rest[..end]).ok()?.trim().parse().ok()
}

fn kind_of(e: &reqwest::Error) -> TransportErrorKind {
    if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportErrorKind::ConnectionDropped
    } else {
        TransportErrorKind::Other
    }
}

/// The error and its causes as one line, redacted (the URL may still carry a secret if the
/// caller did not redact it first).
pub(crate) fn error_chain(e: &reqwest::Error) -> String {
    let mut out = String::new();
    let mut current: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = current {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&err.to_string());
        current = err.source();
    }
    crate::redact::redact_text(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcode_is_read_from_the_front_or_by_parsing() {
        assert_eq!(probe_errcode(br#"{"errcode":0,"errmsg":"ok"}"#), Some(0));
        assert_eq!(
            probe_errcode(br#"{"errcode":-1,"errmsg":"busy"}"#),
            Some(-1)
        );
        assert_eq!(probe_errcode(br#"{"errcode":42001}"#), Some(42001));
        assert_eq!(
            probe_errcode(br#"{"errmsg":"x","errcode":40014}"#),
            Some(40014)
        );
        assert_eq!(probe_errcode(br#" { "errcode" : 45009 }"#), Some(45009));
        assert_eq!(
            probe_errcode(br#"{"account_list":[]}"#),
            Some(0),
            "missing means 0"
        );
        assert_eq!(probe_errcode(br#"{"errcode":"x"}"#), None);
        assert_eq!(probe_errcode(b"<html>502</html>"), None);
        assert_eq!(probe_errcode(b""), None);
    }
}
