//! The innermost layer: buffer, classify, redact.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;
use http::Extensions;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};
use serde::Deserialize;

use super::CallInfo;
use crate::error::{TransportError, TransportErrorKind};
use crate::replay::{self, Body, Verdict};
use crate::spec::{Answer, Idempotency, TokenKind};

/// Response extension: what the body said, and what the replay rule makes of the answer (decided
/// once here; the layers above only read it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Classified {
    /// What the body says: an errcode (missing means 0), not an API answer, or an errcode
    /// that cannot be read.
    pub(crate) body: Body,
    pub(crate) verdict: Verdict,
}

impl Classified {
    /// The body's errcode, if it is an API answer with a readable one.
    pub(crate) fn errcode(&self) -> Option<i64> {
        match self.body {
            Body::Errcode(code) => Some(code),
            Body::Other | Body::Unreadable => None,
        }
    }

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

/// The most an answer may hold before it is refused unread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// A JSON answer.
    pub(crate) json: usize,
    /// A file (`media/get`).
    pub(crate) file: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        // WeCom's JSON answers are small (a full page of sync_msg is well under a megabyte);
        // its largest documented file is 20 MB.
        Self {
            json: 8 * 1024 * 1024,
            file: 24 * 1024 * 1024,
        }
    }
}

pub(crate) struct Classify {
    pub(crate) limits: BodyLimits,
}

#[async_trait]
impl Middleware for Classify {
    async fn handle(
        &self,
        req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let (idempotency, answer, token) = ext.get::<CallInfo>().map_or(
            (Idempotency::NotIdempotent, Answer::Json, TokenKind::Corp),
            |i| (i.idempotency, i.answer, i.token),
        );
        let limit = match answer {
            Answer::Json => self.limits.json,
            Answer::File => self.limits.file,
        };
        // The values this attempt carries, to be kept out of whatever is said about it.
        let secrets = crate::redact::Secrets::of_url(req.url());
        let outcome = match next.run(req, ext).await {
            Ok(response) => buffer(response, limit).await,
            Err(reqwest_middleware::Error::Reqwest(e)) => Err(Unread::Failed(e)),
            Err(other) => return Err(other),
        };
        match outcome {
            Ok((mut response, body)) => {
                let body = body_says(answer, response.headers(), &body);
                let happened = replay::of_answer_for(token, response.status(), body);
                let verdict = replay::verdict(idempotency, happened);
                let classified = Classified { body, verdict };
                tracing::debug!(
                    endpoint = ext.get::<CallInfo>().map_or("", |i| &i.endpoint),
                    status = response.status().as_u16(),
                    errcode = classified.errcode(),
                    retry = classified.retry(),
                    "attempt answered"
                );
                response.extensions_mut().insert(classified);
                response.extensions_mut().insert(secrets);
                Ok(response)
            }
            Err(unread) => {
                let (kind, message) = match unread {
                    Unread::Failed(mut e) => {
                        if let Some(url) = e.url_mut() {
                            crate::redact::redact_url(url);
                        }
                        (kind_of(&e), secrets.redact(&error_chain(&e)).into_owned())
                    }
                    Unread::TooLarge => (
                        TransportErrorKind::ResponseTooLarge,
                        format!("the answer is larger than the {limit}-byte cap"),
                    ),
                };
                let endpoint = ext.get::<CallInfo>().map_or("", |i| &i.endpoint);
                let failure = TransportFailure {
                    error: TransportError::new(kind, endpoint, &message),
                    retry: replay::verdict(idempotency, replay::of_failure(kind)) == Verdict::Retry,
                };
                tracing::debug!(%endpoint, error = %failure, "attempt failed");
                Err(reqwest_middleware::Error::Middleware(failure.into()))
            }
        }
    }
}

/// Why an answer could not be read.
enum Unread {
    Failed(reqwest::Error),
    /// Over the cap: by its `Content-Length`, or while it streamed in.
    TooLarge,
}

/// Reads the whole body now, inside the retry layer, so that a body that breaks off is
/// retried like any other transport failure, and so that layers above can read the errcode.
/// Reads at most `limit` bytes: a `Content-Length` above it is refused before reading, and a
/// body that streams past it is dropped there. Returns the rebuilt response and its body.
async fn buffer(response: Response, limit: usize) -> Result<(Response, Bytes), Unread> {
    // Carried over rather than left for reqwest to fill in: its default is a URL it parses
    // afresh on every rebuild, which costs more than this whole layer's own work.
    let url = response.url().clone();
    let (mut parts, body) = http::Response::from(response).into_parts();
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => return Err(Unread::TooLarge),
        Err(error) => match error.downcast::<reqwest::Error>() {
            Ok(error) => return Err(Unread::Failed(*error)),
            // reqwest's body yields only reqwest errors; were it otherwise, a broken body.
            Err(_) => return Err(Unread::TooLarge),
        },
    };
    let mut with_url = http::Response::builder().url(url);
    if let Some(extensions) = with_url.extensions_mut() {
        parts.extensions.extend(std::mem::take(extensions));
    }
    let rebuilt = http::Response::from_parts(parts, body.clone());
    Ok((rebuilt.into(), body))
}

/// What the body of an answer says. Only an endpoint that answers a file may answer one (with
/// `Content-Disposition`); anything else is read for its errcode.
fn body_says(answer: Answer, headers: &http::HeaderMap, body: &[u8]) -> Body {
    if answer == Answer::File && headers.contains_key(http::header::CONTENT_DISPOSITION) {
        return Body::Other;
    }
    probe_errcode(body)
}

/// The `errcode` of a JSON object body (missing means 0); [`Body::Other`] for anything but a
/// JSON object, [`Body::Unreadable`] for an object whose errcode is not an integer.
fn probe_errcode(body: &[u8]) -> Body {
    // WeCom writes `errcode` first: read it there rather than scan the whole body twice (the
    // caller's decode scans it once more).
    if let Some(code) = leading_errcode(body) {
        return Body::Errcode(code);
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        errcode: Option<serde_json::Value>,
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Body::Other;
    }
    match serde_json::from_slice::<Probe>(body) {
        Ok(Probe { errcode: None }) => Body::Errcode(0),
        Ok(Probe {
            errcode: Some(value),
        }) => value.as_i64().map_or(Body::Unreadable, Body::Errcode),
        Err(_) => Body::Other,
    }
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
    } else if is_not_http(e) {
        TransportErrorKind::InvalidResponse
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportErrorKind::ConnectionDropped
    } else {
        TransportErrorKind::Other
    }
}

/// Whether hyper could not parse the reply as HTTP (a server that answers something else).
fn is_not_http(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(error) = source {
        if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
            return hyper.is_parse() || hyper.is_parse_status();
        }
        source = error.source();
    }
    false
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
        assert_eq!(
            probe_errcode(br#"{"errcode":0,"errmsg":"ok"}"#),
            Body::Errcode(0)
        );
        assert_eq!(
            probe_errcode(br#"{"errcode":-1,"errmsg":"busy"}"#),
            Body::Errcode(-1)
        );
        assert_eq!(probe_errcode(br#"{"errcode":42001}"#), Body::Errcode(42001));
        assert_eq!(
            probe_errcode(br#"{"errmsg":"x","errcode":40014}"#),
            Body::Errcode(40014)
        );
        assert_eq!(
            probe_errcode(br#" { "errcode" : 45009 }"#),
            Body::Errcode(45009)
        );
        assert_eq!(
            probe_errcode(br#"{"account_list":[]}"#),
            Body::Errcode(0),
            "missing means 0"
        );
        assert_eq!(probe_errcode(b"<html>502</html>"), Body::Other);
        assert_eq!(probe_errcode(b""), Body::Other);
    }

    /// An errcode that is not an integer is no success: `"95004"` made `delete` return `Ok`.
    #[test]
    fn an_errcode_that_is_not_an_integer_is_unreadable() {
        for body in [
            &br#"{"errcode":"95004","errmsg":"x"}"#[..],
            br#"{"errcode":42001.0}"#,
            br#"{"errmsg":"x","errcode":"0"}"#,
        ] {
            let text = String::from_utf8_lossy(body);
            assert_eq!(probe_errcode(body), Body::Unreadable, "{text}");
        }
    }

    /// Only the endpoint that answers a file may answer one: any other that sets
    /// `Content-Disposition` is still read for its errcode.
    #[test]
    fn only_a_file_endpoint_answers_a_file() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_DISPOSITION,
            http::HeaderValue::from_static("attachment; filename=a.json"),
        );
        let refused = br#"{"errcode":95004}"#;
        assert_eq!(
            body_says(Answer::Json, &headers, refused),
            Body::Errcode(95004)
        );
        assert_eq!(body_says(Answer::File, &headers, refused), Body::Other);
        let plain = http::HeaderMap::new();
        assert_eq!(
            body_says(Answer::File, &plain, refused),
            Body::Errcode(95004)
        );
    }
}
