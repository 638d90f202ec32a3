//! Keeping `access_token` and `corpsecret` out of every message the SDK produces.
//!
//! reqwest errors carry the request URL, and WeCom puts the token (and, for `gettoken`, the corp
//! secret) in the query string. Errors are redacted at the innermost layer ([`redact_url`]) and
//! every message we keep as text passes through [`redact_text`] as a second line of defence.

use std::borrow::Cow;

/// Query parameters and JSON keys whose values are secrets.
const SECRET_KEYS: [&str; 2] = ["access_token", "corpsecret"];

/// What a redacted value is replaced with.
pub(crate) const REDACTED: &str = "REDACTED";

/// Replaces the values of secret query parameters in `url`, keeping the keys.
pub(crate) fn redact_url(url: &mut url::Url) {
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

/// At most `max` characters of `body`, redacted, for error messages about unexpected bodies.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(max).collect();
    let mut out = redact_text(&cut).into_owned();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let body = br#"{"access_token":"SECRETVALUE","expires_in":7200}"#;
        let e = excerpt(body, 200);
        assert!(!e.contains("SECRETVALUE"));
        assert_eq!(excerpt("ab中cd".as_bytes(), 3), "ab中…");
    }
}
