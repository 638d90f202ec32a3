//! The access token value, shared cheaply and never printed.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::clock::unix_millis;

/// The longest token accepted. WeCom asks callers to reserve at least 512 bytes for one; twice
/// that leaves headroom, and a token this long still fits any URL.
pub const MAX_TOKEN_BYTES: usize = 1024;

/// What is wrong with `value` as a token, if anything: a token goes into every request's URL,
/// so it must be short enough for one and made of characters a URL carries as they are
/// (`A-Z a-z 0-9 - _ . ~`). One that is not would break every call it is used on.
pub(crate) fn shape_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".into());
    }
    if value.len() > MAX_TOKEN_BYTES {
        return Some(format!(
            "is {} bytes long; at most {MAX_TOKEN_BYTES} are accepted",
            value.len()
        ));
    }
    let unsafe_at = value
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')));
    unsafe_at.map(|at| format!("has a byte a URL does not carry unescaped (at {at})"))
}

/// A WeCom `access_token`, as handed out by a [`TokenProvider`](crate::TokenProvider).
///
/// Cloning is cheap (one reference count). `Debug` and `Display` print `***`: the value is
/// only reachable through [`as_str`](Self::as_str), so every place that exposes it is easy to
/// find.
///
/// ```no_run
/// # async fn demo(client: wecom_kf::Client) -> Result<(), wecom_kf::Error> {
/// let token = client.access_token().await?;
/// println!("{token}");                  // prints ***
/// let raw: &str = token.as_str();       // the real value, for APIs this SDK does not wrap
/// # let _ = raw; Ok(()) }
/// ```
#[derive(Clone)]
pub struct AccessToken(Arc<TokenState>);

struct TokenState {
    value: Box<str>,
    /// Identity of the fetch that produced this token: compare-and-refresh compares these,
    /// because WeCom may hand out the same string twice.
    generation: u64,
    obtained_at: SystemTime,
    expires_at: SystemTime,
    /// WeCom handed back the token this one was fetched to replace: it keeps a token until the
    /// token expires, so fetching again before then would bring the same value back.
    reissued: bool,
    refresh: RefreshGate,
}

impl AccessToken {
    #[cfg(test)]
    pub(crate) fn new(
        value: impl Into<Box<str>>,
        generation: u64,
        obtained_at: SystemTime,
        lifetime: Duration,
    ) -> Self {
        Self::fetched(value, generation, obtained_at, lifetime, false)
    }

    /// A token from a `gettoken` answer; `reissued` if it is the very token the fetch was
    /// meant to replace.
    pub(crate) fn fetched(
        value: impl Into<Box<str>>,
        generation: u64,
        obtained_at: SystemTime,
        lifetime: Duration,
        reissued: bool,
    ) -> Self {
        Self(Arc::new(TokenState {
            value: value.into(),
            generation,
            obtained_at,
            expires_at: obtained_at + lifetime,
            reissued,
            refresh: RefreshGate::default(),
        }))
    }

    /// The token itself, to put in `?access_token=`. Keep it out of logs.
    pub fn as_str(&self) -> &str {
        &self.0.value
    }

    /// When WeCom said it expires (`obtained_at + expires_in`, by the provider's clock).
    pub fn expires_at(&self) -> SystemTime {
        self.0.expires_at
    }

    /// When the provider obtained it (by the provider's clock).
    pub fn obtained_at(&self) -> SystemTime {
        self.0.obtained_at
    }

    /// The lifetime WeCom granted (`expires_in`).
    pub fn lifetime(&self) -> Duration {
        self.0
            .expires_at
            .duration_since(self.0.obtained_at)
            .unwrap_or_default()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.0.generation
    }

    pub(crate) fn is_reissued(&self) -> bool {
        self.0.reissued
    }

    pub(crate) fn refresh_gate(&self) -> &RefreshGate {
        &self.0.refresh
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"***")
            .field("expires_at", &self.0.expires_at)
            .finish()
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Lets exactly one background refresh run per token, and spaces out retries after a failed one.
#[derive(Default)]
pub(crate) struct RefreshGate {
    running: AtomicBool,
    /// Earliest time (ms since the epoch, provider clock) for the next attempt after a failure.
    not_before_ms: AtomicU64,
}

impl RefreshGate {
    /// Claims the right to start a refresh now; false if one is running or a failure is too recent.
    pub(crate) fn try_start(&self, now: SystemTime) -> bool {
        if unix_millis(now) < self.not_before_ms.load(Ordering::Acquire) {
            return false;
        }
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The refresh failed: allow another attempt after `retry_at`.
    pub(crate) fn failed(&self, retry_at: SystemTime) {
        self.not_before_ms
            .store(unix_millis(retry_at), Ordering::Release);
        self.running.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_never_printed() {
        let t = AccessToken::new(
            "TOKEN-VALUE",
            1,
            SystemTime::now(),
            Duration::from_secs(7200),
        );
        for s in [format!("{t}"), format!("{t:?}"), format!("{t:#?}")] {
            assert!(!s.contains("TOKEN-VALUE"), "{s}");
        }
        assert_eq!(t.as_str(), "TOKEN-VALUE");
        assert_eq!(t.lifetime(), Duration::from_secs(7200));
    }

    #[test]
    fn gate_admits_one_and_backs_off_after_failure() {
        let now = SystemTime::now();
        let g = RefreshGate::default();
        assert!(g.try_start(now));
        assert!(!g.try_start(now));
        g.failed(now + Duration::from_secs(5));
        assert!(!g.try_start(now + Duration::from_secs(4)));
        assert!(g.try_start(now + Duration::from_secs(5)));
    }
}
