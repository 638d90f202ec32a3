//! When a cached token must be replaced, and what it is replaced for.

use std::time::{Duration, SystemTime};

use super::access_token::AccessToken;

/// The longest lifetime a token is trusted with, whatever its source says.
pub(super) const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3_600);

/// When a token is fresh, due for a background refresh, or too close to expiry to use.
#[derive(Debug, Clone, Copy)]
pub(super) struct Freshness {
    /// Stop using a token this long before it expires.
    pub(super) margin: Duration,
    /// Start one background refresh this long before the margin.
    pub(super) ahead: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Fresh,
    RefreshAhead,
    Stale,
}

impl Freshness {
    pub(super) fn state(&self, token: &AccessToken, now: SystemTime) -> State {
        // A token WeCom reissued unchanged is used to its end: fetching earlier would only
        // bring it back again. The call that finds it expired fetches its successor (and a
        // call that still carried it then is refused 42001 and replayed once).
        if token.is_reissued() {
            return if now >= token.expires_at() {
                State::Stale
            } else {
                State::Fresh
            };
        }
        // Both windows are capped at a fifth of the lifetime, so a short token is still used.
        let fifth = token.lifetime() / 5;
        let margin = self.margin.min(fifth);
        let ahead = self.ahead.min(fifth);
        let stale_at = token.expires_at() - margin;
        if now >= stale_at {
            State::Stale
        } else if now >= stale_at - ahead {
            State::RefreshAhead
        } else {
            State::Fresh
        }
    }
}

/// The token a new one is obtained to replace, and why.
#[derive(Clone, Copy)]
pub(super) enum Predecessor<'a> {
    /// None cached (a cold start).
    None,
    /// Too close to its end (or due for its early refresh). If the source hands it back
    /// unchanged, it is kept to its end (see [`AccessToken::is_reissued`]).
    Stale(&'a AccessToken),
    /// Refused by WeCom (42001/40014/41001): never adopted again from the store.
    Rejected(&'a AccessToken),
}

impl Predecessor<'_> {
    /// Whether `value`, just obtained, is the stale token handed back unchanged (WeCom is
    /// observed to return the current token, its `expires_in` counting down, until it expires).
    pub(super) fn is_reissued_as(&self, value: &str) -> bool {
        matches!(self, Predecessor::Stale(old) if old.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Freshness = Freshness {
        margin: Duration::from_secs(300),
        ahead: Duration::from_secs(300),
    };

    #[test]
    fn freshness_windows_scale_with_lifetime() {
        let f = DEFAULTS;
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let tok = AccessToken::new("t", 1, t0, Duration::from_secs(7200));
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(f.state(&tok, at(0)), State::Fresh);
        assert_eq!(f.state(&tok, at(6599)), State::Fresh);
        assert_eq!(f.state(&tok, at(6600)), State::RefreshAhead);
        assert_eq!(f.state(&tok, at(6899)), State::RefreshAhead);
        assert_eq!(f.state(&tok, at(6900)), State::Stale);
        // A 10 s token: margin and lead are capped at 2 s each.
        let short = AccessToken::new("t", 2, t0, Duration::from_secs(10));
        assert_eq!(f.state(&short, at(5)), State::Fresh);
        assert_eq!(f.state(&short, at(6)), State::RefreshAhead);
        assert_eq!(f.state(&short, at(8)), State::Stale);
    }

    #[test]
    fn a_reissued_token_is_fresh_until_it_expires() {
        let f = DEFAULTS;
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s| t0 + Duration::from_secs(s);
        // Handed back 600 s before its end: no early refresh, no margin.
        let tok = AccessToken::fetched("t", 3, at(6600), Duration::from_secs(600), true);
        assert_eq!(f.state(&tok, at(6600)), State::Fresh);
        assert_eq!(f.state(&tok, at(7199)), State::Fresh);
        assert_eq!(f.state(&tok, at(7200)), State::Stale);
    }
}
