//! Keeping `access_token` and `corpsecret` out of every message the SDK produces.
//!
//! reqwest errors carry the request URL, and WeCom puts the token (and, for `gettoken`, the corp
//! secret) in the query string. Errors are redacted at the innermost layer ([`redact_url`]).
//! Every text an error keeps about an answer passes through [`Secrets::redact`]: the values
//! the call carried, in every spelling a server may echo them in, then [`redact_text`] for
//! `key=value` and JSON forms of any value. Texts are capped ([`cap`]), so a server cannot make
//! an error message as large as its answer.

use std::borrow::Cow;
use std::fmt;

/// Query parameters and JSON keys whose values are secrets.
const SECRET_KEYS: [&str; 8] = [
    "access_token",
    "corpsecret",
    "suite_access_token",
    "provider_access_token",
    "suite_secret",
    "provider_secret",
    "suite_ticket",
    "permanent_code",
];

/// What a redacted value is replaced with.
pub(crate) const REDACTED: &str = "REDACTED";

/// Replaces the values of secret query parameters in `url`, keeping the keys, and a password
/// in its user info (a proxy's, say).
pub(crate) fn redact_url(url: &mut url::Url) {
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    let Some(query) = url.query() else { return };
    if !SECRET_KEYS.iter().any(|k| query.contains(k)) {
        return;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let value = if SECRET_KEYS.contains(&k.as_ref()) {
                REDACTED.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}

/// Replaces secret values in free text: `access_token=…` (query style) and
/// `"access_token":"…"` (JSON style), for both secret keys.
pub(crate) fn redact_text(text: &str) -> Cow<'_, str> {
    if !SECRET_KEYS.iter().any(|k| text.contains(k)) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for key in SECRET_KEYS {
        out = redact_after(&out, &format!("{key}="), |c| {
            c == '&' || c == ')' || c == '"' || c == '\'' || c.is_whitespace()
        });
        out = redact_json_value(&out, key);
    }
    Cow::Owned(out)
}

/// Redacts every value that follows `marker` up to (not including) a char for which `is_end`.
fn redact_after(text: &str, marker: &str, is_end: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let end = tail.find(&is_end).unwrap_or(tail.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Redacts `"key": "value"` string values, allowing white space around the colon.
fn redact_json_value(text: &str, key: &str) -> String {
    let marker = format!("\"{key}\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let trimmed = tail.trim_start();
        let Some(after_colon) = trimmed.strip_prefix(':') else {
            rest = tail;
            continue;
        };
        let value = after_colon.trim_start();
        let Some(inner) = value.strip_prefix('"') else {
            rest = tail;
            continue;
        };
        // Keep the exact spacing up to the opening quote.
        out.push_str(&tail[..tail.len() - inner.len()]);
        let end = closing_quote(inner).unwrap_or(inner.len());
        out.push_str(REDACTED);
        rest = &inner[end..];
    }
    out.push_str(rest);
    out
}

/// Byte index of the first unescaped `"` in `s`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// The secret values one call carried (its token; for `gettoken`, the corp secret). Kept as
/// the query they came in, and spelled out only when a text is redacted (an error path): the
/// values as they are, percent-encoded (form and strict) and JSON-escaped. `Debug` shows
/// nothing of them.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    query: Option<Box<str>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    /// The secret query parameters of `url`, if it has any.
    pub(crate) fn of_url(url: &url::Url) -> Self {
        let query = url
            .query()
            .filter(|q| SECRET_KEYS.iter().any(|k| q.contains(k)));
        Self {
            query: query.map(Into::into),
        }
    }

    /// Every spelling of every value, longest first (so that none is left half-replaced
    /// inside a longer one).
    fn spellings(&self) -> Vec<String> {
        let Some(query) = &self.query else {
            return Vec::new();
        };
        let mut spellings: Vec<String> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if !SECRET_KEYS.contains(&key.as_ref()) || value.is_empty() {
                continue;
            }
            let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            let strict: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            let json = serde_json::to_string(value.as_ref()).unwrap_or_default();
            let json = json.trim_matches('"').to_owned();
            for spelling in [value.into_owned(), form, strict, json] {
                if !spelling.is_empty() && !spellings.contains(&spelling) {
                    spellings.push(spelling);
                }
            }
        }
        spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
        spellings
    }

    /// `text` without these values (in any of their spellings) and without any value in a
    /// secret key's `key=value` or JSON form.
    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for spelling in self.spellings() {
            if out.contains(spelling.as_str()) {
                out = Cow::Owned(out.replace(spelling.as_str(), REDACTED));
            }
        }
        match redact_text(&out) {
            Cow::Borrowed(_) => out,
            Cow::Owned(redacted) => Cow::Owned(redacted),
        }
    }

    /// How far past a cut a secret may reach, in bytes (no spelling is longer than three
    /// times the query it came in).
    fn reach(&self) -> usize {
        self.query.as_ref().map_or(0, |q| q.len().saturating_mul(3))
    }
}

/// At most `max` characters of `text`, with `…` if it was longer.
pub(crate) fn cap(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
        None => Cow::Borrowed(text),
    }
}

/// At most `max` characters of `body`, redacted, for error messages about unexpected bodies.
/// Only the start of the body is copied: enough for `max` characters and a secret that
/// straddles the cut.
pub(crate) fn excerpt(body: &[u8], max: usize, secrets: &Secrets) -> String {
    let reach = max.saturating_mul(4).saturating_add(secrets.reach());
    let head = String::from_utf8_lossy(&body[..body.len().min(reach)]);
    let redacted = secrets.redact(&head);
    let mut out = cap(&redacted, max).into_owned();
    if body.len() > reach && !out.ends_with('…') {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider's credentials too: a suite token in a URL, secrets and codes in a body.
    #[test]
    fn provider_secrets_are_replaced() {
        let mut u =
            url::Url::parse("http://h/cgi-bin/service/get_corp_token?suite_access_token=SUITETOK")
                .unwrap();
        redact_url(&mut u);
        assert!(!u.as_str().contains("SUITETOK"), "{u}");
        let text = r#"{"suite_secret":"SS","suite_ticket":"TK","permanent_code":"PC","provider_secret":"PS","provider_access_token":"PT"}"#;
        let redacted = redact_text(text);
        for secret in ["\"SS\"", "\"TK\"", "\"PC\"", "\"PS\"", "\"PT\""] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
    }

    #[test]
    fn url_secrets_are_replaced_and_other_params_kept() {
        let mut u = url::Url::parse(
            "http://h/cgi-bin/gettoken?corpid=ww1&corpsecret=S3CR3T&access_token=T0K&x=1",
        )
        .unwrap();
        redact_url(&mut u);
        let s = u.as_str();
        assert!(!s.contains("S3CR3T") && !s.contains("T0K"), "{s}");
        assert!(
            s.contains("corpid=ww1") && s.contains("x=1") && s.contains("access_token=REDACTED")
        );
    }

    #[test]
    fn a_password_in_the_url_is_replaced() {
        let mut u = url::Url::parse("http://user:PW123@proxy/wecom/cgi-bin/x").unwrap();
        redact_url(&mut u);
        assert_eq!(u.as_str(), "http://user:REDACTED@proxy/wecom/cgi-bin/x");
    }

    #[test]
    fn text_secrets_are_replaced_in_both_styles() {
        let t = r#"for url (http://h/x?access_token=ABC&y=2): {"access_token" : "DEF\"G", "corpsecret":"HIJ"} corpsecret=KLM)"#;
        let r = redact_text(t);
        for secret in ["ABC", "DEF", "HIJ", "KLM", "\\\"G"] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(r.contains("y=2"));
        assert_eq!(redact_text("nothing here"), "nothing here");
    }

    #[test]
    fn excerpt_is_cut_and_redacted() {
        let none = Secrets::default();
        let body = br#"{"access_token":"SECRETVALUE","expires_in":7200}"#;
        let e = excerpt(body, 200, &none);
        assert!(!e.contains("SECRETVALUE"));
        assert_eq!(excerpt("ab中cd".as_bytes(), 3, &none), "ab中…");
        let huge = vec![b'x'; 10 * 1024 * 1024];
        assert_eq!(excerpt(&huge, 5, &none), "xxxxx…");
    }

    /// The secret came back verbatim when a server echoed it percent-encoded, as
    /// `corpsecret: X`, `secret=X` or `access_token: T`.
    #[test]
    fn values_are_redacted_in_every_spelling() {
        let url = url::Url::parse(
            "http://h/cgi-bin/gettoken?corpid=ww1&corpsecret=S%C3%BC%2F%2B%26%3D%22q&access_token=TOK123",
        )
        .unwrap();
        let secrets = Secrets::of_url(&url);
        let echoes = [
            "corpsecret: Sü/+&=\"q",
            "secret=S%C3%BC%2F%2B%26%3D%22q",
            "{\"secret\": \"Sü/+&=\\\"q\"}",
            "access_token: TOK123.",
            "token TOK123 is invalid",
        ];
        for echo in echoes {
            let redacted = secrets.redact(echo);
            assert!(
                !redacted.contains("TOK123")
                    && !redacted.contains("Sü")
                    && !redacted.contains("S%C3"),
                "{echo} → {redacted}"
            );
        }
        assert!(!format!("{secrets:?}").contains("TOK"));
        assert!(
            Secrets::of_url(&url::Url::parse("http://h/x?a=1").unwrap())
                .query
                .is_none()
        );
    }

    #[test]
    fn texts_are_capped() {
        assert_eq!(cap("abcdef", 3), "abc…");
        assert_eq!(cap("abc", 3), "abc");
        assert_eq!(cap("中文字", 2), "中文…");
    }
}
