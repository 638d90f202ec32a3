//! The retry layer: reqwest-retry, bounded by count and total time, with jittered exponential
//! backoff. What may be retried is decided by the classify layer (it knows the call's
//! idempotency); the strategy here only reads that verdict.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use reqwest_retry::policies::{ExponentialBackoff, ExponentialBackoffTimed};
use reqwest_retry::{
    Jitter, RetryDecision, RetryPolicy, RetryTransientMiddleware, Retryable, RetryableStrategy,
};

use super::classify::{Classified, TransportFailure};

/// How transient failures are retried.
///
/// Defaults: 3 retries, backoff from 200 ms doubling up to 2 s with jitter, and no new retry
/// once 10 s have passed since the first attempt. A `Retry-After` on HTTP 429 or 503 is
/// honoured: the retry waits at least that long, and is not made if it would start after the
/// budget.
///
/// ```
/// use std::time::Duration;
/// use wecom_kf::RetryConfig;
///
/// let patient = RetryConfig::default()
///     .max_retries(5)
///     .backoff(Duration::from_millis(100), Duration::from_secs(5))
///     .total_budget(Duration::from_secs(30));
/// let never = RetryConfig::disabled();
/// # let _ = (patient, never);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RetryConfig {
    max_retries: u32,
    min_backoff: Duration,
    max_backoff: Duration,
    total_budget: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            total_budget: Duration::from_secs(10),
        }
    }
}

impl RetryConfig {
    /// No retries at all (the token refresh-and-replay still happens: it is not a retry).
    pub fn disabled() -> Self {
        Self::default().max_retries(0)
    }

    /// At most `n` retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff is `min`, doubling on each retry up to `max` (jittered between half
    /// of `min` and the computed value). If `min > max`, both are set to `max`.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min.min(max);
        self.max_backoff = max;
        self
    }

    /// No retry starts once this much time has passed since the first attempt.
    pub fn total_budget(mut self, budget: Duration) -> Self {
        self.total_budget = budget;
        self
    }

    pub(crate) fn middleware(
        &self,
    ) -> Option<RetryTransientMiddleware<HonourRetryAfter, WeComStrategy>> {
        if self.max_retries == 0 {
            return None;
        }
        let policy = ExponentialBackoff::builder()
            .retry_bounds(self.min_backoff, self.max_backoff)
            .jitter(Jitter::Bounded)
            .build_with_total_retry_duration_and_max_retries(self.total_budget, self.max_retries);
        // reqwest-retry logs each retry at WARN (no URL, so no secret); its level can only be
        // changed with its default strategy.
        let policy = HonourRetryAfter {
            backoff: policy,
            budget: self.total_budget,
        };
        Some(RetryTransientMiddleware::new_with_policy_and_strategy(
            policy,
            WeComStrategy,
        ))
    }
}

thread_local! {
    /// How long the server asked to wait before the retry the strategy just allowed. The
    /// strategy sees the answer and the policy does not; reqwest-retry calls one right after the
    /// other on the same thread (no await between them), so this hands the wait across.
    static SERVER_ASKED: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// The backoff policy, but a retry waits at least as long as the server asked, and is not
/// made if that would start it after the budget.
pub(crate) struct HonourRetryAfter {
    backoff: ExponentialBackoffTimed,
    budget: Duration,
}

impl RetryPolicy for HonourRetryAfter {
    fn should_retry(&self, request_start_time: SystemTime, n_past_retries: u32) -> RetryDecision {
        let asked = SERVER_ASKED.take();
        let decision = self
            .backoff
            .should_retry(request_start_time, n_past_retries);
        match (decision, asked) {
            (RetryDecision::Retry { execute_after }, Some(wait)) => {
                let asked_at = SystemTime::now().checked_add(wait);
                let deadline = request_start_time.checked_add(self.budget);
                match (asked_at, deadline) {
                    (Some(at), Some(deadline)) if at <= deadline => RetryDecision::Retry {
                        execute_after: execute_after.max(at),
                    },
                    _ => RetryDecision::DoNotRetry,
                }
            }
            (decision, _) => decision,
        }
    }
}

/// `Retry-After` of a 429 or 503 answer: seconds, or an HTTP date.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let status = response.status().as_u16();
    if status != 429 && status != 503 {
        return None;
    }
    let value = response
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            Some(at.duration_since(SystemTime::now()).unwrap_or_default())
        }
    }
}

/// Retries what the classify layer marked retryable; everything else stops.
pub(crate) struct WeComStrategy;

impl RetryableStrategy for WeComStrategy {
    fn handle(&self, result: &reqwest_middleware::Result<reqwest::Response>) -> Option<Retryable> {
        SERVER_ASKED.set(result.as_ref().ok().and_then(retry_after));
        let retry = match result {
            Ok(response) => response
                .extensions()
                .get::<Classified>()
                .is_some_and(Classified::retry),
            Err(reqwest_middleware::Error::Middleware(e)) => e
                .downcast_ref::<TransportFailure>()
                .is_some_and(|f| f.retry),
            Err(_) => false,
        };
        match (retry, result) {
            (true, _) => Some(Retryable::Transient),
            (false, Ok(_)) => None,
            (false, Err(_)) => Some(Retryable::Fatal),
        }
    }
}
