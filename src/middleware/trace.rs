//! The tracing layer: one span per attempt, under the retry layer, so that each retry is a span
//! of its own and the token layer's replay belongs to the attempt it repairs.
//!
//! reqwest-tracing runs the span around the attempt; the span is ours: DEBUG, named after the
//! endpoint, with what the attempt came to, and never the URL (it carries the corp secret on
//! `gettoken` and the access token everywhere else). Its fields are only computed when a
//! subscriber wants the span.

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_tracing::{ReqwestOtelSpanBackend, TracingMiddleware};
use tracing::Span;
use tracing::field::{Empty, display};

use super::CallInfo;
use super::classify::Classified;

/// The span of one attempt: `wecom_attempt{endpoint, method, status, errcode, retry, error}`.
pub(crate) struct AttemptSpan;

impl ReqwestOtelSpanBackend for AttemptSpan {
    fn on_request_start(req: &Request, ext: &mut Extensions) -> Span {
        let endpoint = ext.get::<CallInfo>().map_or("", |i| &i.endpoint);
        let span = tracing::debug_span!(
            "wecom_attempt",
            endpoint,
            method = %req.method(),
            otel.kind = "client",
            otel.name = endpoint,
            status = Empty,
            errcode = Empty,
            retry = Empty,
            error = Empty,
        );
        crate::telemetry::attempt(crate::telemetry::endpoint(endpoint), ext);
        span
    }

    fn on_request_end(
        span: &Span,
        outcome: &reqwest_middleware::Result<Response>,
        _: &mut Extensions,
    ) {
        if span.is_disabled() {
            return;
        }
        match outcome {
            Ok(response) => {
                span.record("status", response.status().as_u16());
                if let Some(classified) = response.extensions().get::<Classified>() {
                    if let Some(errcode) = classified.errcode() {
                        span.record("errcode", errcode);
                    }
                    span.record("retry", classified.retry());
                }
            }
            // Already redacted: the classify layer below turns every transport error into
            // text without the URL, and token failures carry the SDK's redacted errors.
            Err(error) => {
                span.record("error", display(error));
            }
        }
    }
}

pub(crate) fn layer() -> TracingMiddleware<AttemptSpan> {
    TracingMiddleware::new()
}
