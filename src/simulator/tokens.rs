//! The simulator's `gettoken` and the token check every API call goes through.

use std::collections::HashMap;

/// The most tokens the simulator remembers; beyond, a forgotten one answers 40014, as a
/// token WeCom no longer knows would.
pub(crate) const MAX_TOKENS_KEPT: usize = 10_000;
use std::fmt;
use std::time::{Duration, SystemTime};

use super::rules::codes;
use super::wire::Refusal;

/// Whether `gettoken` hands out the same token while it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenIssue {
    /// The same token until it expires (what WeCom is observed to do); `expires_in` then counts
    /// down. The default.
    #[default]
    ReuseWhileValid,
    /// A new token on every call; earlier ones stay valid until they expire (WeCom documents
    /// neither behaviour, so clients must cope with both).
    FreshEachCall,
}

pub(crate) struct Tokens {
    ttl: Duration,
    issue: TokenIssue,
    /// Every token handed out, with its expiry; revoked tokens are forgotten (40014).
    issued: HashMap<String, SystemTime>,
    current: Option<String>,
    minted: u64,
    instance: u64,
    /// Tells this set's tokens from another's of the same simulator (suites, corps).
    label: String,
}

/// Counts, not the tokens: they are credentials.
impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .field("issue", &self.issue)
            .field("issued", &self.issued.len())
            .field("current", &self.current.as_ref().map(|_| "***"))
            .field("minted", &self.minted)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(ttl: Duration, issue: TokenIssue, instance: u64) -> Self {
        Self {
            ttl,
            issue,
            issued: HashMap::new(),
            current: None,
            minted: 0,
            instance,
            label: String::new(),
        }
    }

    /// A set whose tokens carry `label` (letters and digits), so that they never equal
    /// another set's.
    pub(crate) fn labelled(ttl: Duration, issue: TokenIssue, instance: u64, label: &str) -> Self {
        let mut tokens = Self::new(ttl, issue, instance);
        let clean: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
        tokens.label = format!("{clean}_");
        tokens
    }

    /// Whether `token` was issued by this set (expired or not).
    pub(crate) fn knows(&self, token: &str) -> bool {
        self.issued.contains_key(token)
    }

    pub(crate) fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    /// A token and its `expires_in` in whole seconds.
    pub(crate) fn issue(&mut self, now: SystemTime) -> (String, u64) {
        if self.issue == TokenIssue::ReuseWhileValid
            && let Some(current) = &self.current
            && let Some(left) = self.remaining(current, now)
        {
            return (current.clone(), left.as_secs().max(1));
        }
        self.minted += 1;
        let token = format!("sim_{}{:016x}_{}", self.label, self.instance, self.minted);
        // A TTL of Duration::MAX means "never expires", not an overflow.
        let century = Duration::from_secs(100 * 365 * 86_400);
        let expires = now.checked_add(self.ttl).unwrap_or_else(|| now + century);
        self.make_room(now);
        self.issued.insert(token.clone(), expires);
        self.current = Some(token.clone());
        (token, self.ttl.as_secs().max(1))
    }

    /// Keeps at most [`MAX_TOKENS_KEPT`] tokens (a client that fetches on every call would
    /// otherwise grow the map for ever): the expired go first, then the soonest to expire.
    fn make_room(&mut self, now: SystemTime) {
        if self.issued.len() < MAX_TOKENS_KEPT {
            return;
        }
        self.issued.retain(|_, expires| *expires > now);
        while self.issued.len() >= MAX_TOKENS_KEPT {
            let soonest = self
                .issued
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(token, _)| token.clone());
            match soonest {
                Some(token) => self.issued.remove(&token),
                None => break,
            };
        }
    }

    /// The check before every API call: 41001 without a token, 40014 for one never issued (or
    /// revoked), 42001 for an expired one.
    pub(crate) fn check(&self, token: Option<&str>, now: SystemTime) -> Result<(), Refusal> {
        let token = match token {
            Some(t) if !t.is_empty() => t,
            _ => return Err(Refusal::code(codes::MISSING_ACCESS_TOKEN)),
        };
        if !self.issued.contains_key(token) {
            return Err(Refusal::code(codes::INVALID_ACCESS_TOKEN));
        }
        match self.remaining(token, now) {
            Some(_) => Ok(()),
            None => Err(Refusal::code(codes::ACCESS_TOKEN_EXPIRED)),
        }
    }

    /// Every token issued so far expires now (their next use gets 42001).
    pub(crate) fn expire_all(&mut self, now: SystemTime) {
        for expiry in self.issued.values_mut() {
            *expiry = (*expiry).min(now);
        }
    }

    /// Every token issued so far is forgotten (their next use gets 40014).
    pub(crate) fn revoke_all(&mut self) {
        self.issued.clear();
        self.current = None;
    }

    fn remaining(&self, token: &str, now: SystemTime) -> Option<Duration> {
        let expiry = self.issued.get(token)?;
        expiry.duration_since(now).ok().filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn reuse_while_valid_then_a_new_one() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut tokens = Tokens::new(HOUR, TokenIssue::ReuseWhileValid, 1);
        let (a, ttl) = tokens.issue(t0);
        assert_eq!(ttl, 3600);
        let (b, left) = tokens.issue(t0 + Duration::from_secs(600));
        assert_eq!((b.as_str(), left), (a.as_str(), 3000));
        assert_eq!(tokens.check(Some(&a), t0 + HOUR), Err(Refusal::code(42001)));
        let (c, _) = tokens.issue(t0 + HOUR);
        assert_ne!(c, a);
        assert_eq!(tokens.check(Some(&c), t0 + HOUR), Ok(()));
    }

    /// Tokens issued fresh on every call were kept for ever.
    #[test]
    fn the_tokens_kept_are_bounded() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut tokens = Tokens::new(HOUR, TokenIssue::FreshEachCall, 1);
        let (first, _) = tokens.issue(t0);
        let mut last = first.clone();
        for i in 0..MAX_TOKENS_KEPT + 10 {
            last = tokens.issue(t0 + Duration::from_millis(i as u64 + 1)).0;
        }
        assert!(tokens.issued.len() <= MAX_TOKENS_KEPT);
        assert_eq!(tokens.check(Some(&last), t0), Ok(()));
        assert_eq!(
            tokens.check(Some(&first), t0),
            Err(Refusal::code(40014)),
            "the soonest to expire went first"
        );
    }

    #[test]
    fn fresh_each_call_keeps_older_tokens_valid() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut tokens = Tokens::new(HOUR, TokenIssue::FreshEachCall, 1);
        let (a, _) = tokens.issue(t0);
        let (b, _) = tokens.issue(t0);
        assert_ne!(a, b);
        assert_eq!(tokens.check(Some(&a), t0), Ok(()));
        assert_eq!(tokens.check(Some(&b), t0), Ok(()));
    }

    #[test]
    fn missing_unknown_expired_and_revoked() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut tokens = Tokens::new(HOUR, TokenIssue::ReuseWhileValid, 1);
        let (a, _) = tokens.issue(t0);
        assert_eq!(tokens.check(None, t0).unwrap_err().code, 41001);
        assert_eq!(tokens.check(Some(""), t0).unwrap_err().code, 41001);
        assert_eq!(tokens.check(Some("nope"), t0).unwrap_err().code, 40014);
        tokens.expire_all(t0);
        assert_eq!(tokens.check(Some(&a), t0).unwrap_err().code, 42001);
        tokens.revoke_all();
        assert_eq!(tokens.check(Some(&a), t0).unwrap_err().code, 40014);
    }
}
