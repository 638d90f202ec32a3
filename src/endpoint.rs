//! Endpoint URLs: the API base joined with a path, parsed once per path and then reused, since
//! parsing a URL costs more than the rest of the SDK's work on a call.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use url::Url;

use crate::error::{Error, Result};

/// Paths beyond this many are joined on every call instead of cached, so that a program that
/// builds paths dynamically cannot grow the cache without bound.
const MAX_CACHED: usize = 256;

pub(crate) struct Endpoints {
    base: Url,
    parsed: RwLock<HashMap<String, Url>>,
}

/// The base as [`shown_url`] shows it (every cached URL is under it, so they are not listed).
impl fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.parsed.read().map_or(0, |m| m.len());
        f.debug_struct("Endpoints")
            .field("base", &shown_url(&self.base))
            .field("cached", &cached)
            .finish()
    }
}

/// `url` as `Debug` output shows it: a password in it (a proxy's, `https://user:pw@proxy/`) is
/// replaced by `***`; the rest, user name included, is kept.
pub(crate) fn shown_url(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    match shown.set_password(Some("***")) {
        Ok(()) => shown.into(),
        // Only a URL that cannot have a password refuses one; this one has one.
        Err(()) => "<a URL with a password, not shown>".to_owned(),
    }
}

/// A base URL as given, before it is parsed: as [`shown_url`] if it parses, and hidden whole
/// if it does not and may hold user info (an `@`).
pub(crate) fn shown_raw_url(raw: &str) -> String {
    match Url::parse(raw.trim()) {
        Ok(url) => shown_url(&url),
        Err(_) if raw.contains('@') => "<an unparsed URL with user info, not shown>".to_owned(),
        Err(_) => raw.to_owned(),
    }
}

impl Endpoints {
    /// `base` as from [`parse_api_base`](crate::token::parse_api_base): ends with `/`.
    pub(crate) fn new(base: Url) -> Self {
        Self {
            base,
            parsed: RwLock::new(HashMap::new()),
        }
    }

    /// `path` (e.g. `/cgi-bin/kf/account/list`) under the base; a proxy prefix is kept. A URL
    /// of its own, or a path that climbs out of the base (`../`, in any spelling), is refused:
    /// the token goes only where the base says.
    pub(crate) fn url(&self, path: &str) -> Result<Url> {
        let cached = self.parsed.read().ok().and_then(|m| m.get(path).cloned());
        if let Some(url) = cached {
            return Ok(url);
        }
        let relative = path.trim_start_matches(['/', '\\']);
        if Url::parse(relative).is_ok() {
            return Err(Error::invalid(
                "path",
                "must be a path under the API base, not a URL of its own",
            ));
        }
        let url = self
            .base
            .join(relative)
            .map_err(|e| Error::invalid("path", format!("is not a valid URL path: {e}")))?;
        // The join resolves `..` (also `%2e%2e` and backslashes); what it gives must still be
        // under the base.
        if url.origin() != self.base.origin() || !url.path().starts_with(self.base.path()) {
            return Err(Error::invalid(
                "path",
                "leads out of the API base; only paths under it are called",
            ));
        }
        if let Ok(mut parsed) = self.parsed.write()
            && parsed.len() < MAX_CACHED
        {
            parsed.insert(path.to_owned(), url.clone());
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_under_the_base_and_reuses_the_result() {
        let endpoints = Endpoints::new(Url::parse("http://proxy.local/wecom/").unwrap());
        for _ in 0..2 {
            let url = endpoints.url(crate::spec::KF_ACCOUNT_LIST.path).unwrap();
            assert_eq!(
                url.as_str(),
                "http://proxy.local/wecom/cgi-bin/kf/account/list"
            );
        }
        assert_eq!(endpoints.parsed.read().unwrap().len(), 1);
        let with_query = endpoints.url("cgi-bin/x?debug=1").unwrap();
        assert_eq!(with_query.query(), Some("debug=1"));
    }

    /// `post_json("http://other/collect")` sent the token to another host; a `../` path
    /// escaped the base's prefix.
    #[test]
    fn only_paths_under_the_base_are_called() {
        let endpoints = Endpoints::new(Url::parse("http://proxy.local/wecom/").unwrap());
        for escape in [
            "http://other.local/collect",
            "https://other.local/collect",
            "../cgi-bin/x",
            "/cgi-bin/../../x",
            "cgi-bin/%2e%2e/%2e%2e/x",
            "cgi-bin/..%2f..%2fx/../../../x",
            "mailto:someone@other.local",
        ] {
            assert!(
                matches!(endpoints.url(escape), Err(Error::InvalidInput { .. })),
                "{escape} was let through: {:?}",
                endpoints.url(escape)
            );
        }
        // Leading slashes are the base's to give: `//host/x` stays a path under it.
        for fine in [
            "/cgi-bin/x",
            "cgi-bin/a/../b",
            "cgi-bin/x?y=../z",
            "//other.local/collect",
            "/\\other.local/collect",
        ] {
            let url = endpoints.url(fine).unwrap();
            assert!(
                url.as_str().starts_with("http://proxy.local/wecom/"),
                "{url}"
            );
        }
    }

    #[test]
    fn debug_hides_a_password_in_the_base() {
        let endpoints = Endpoints::new(Url::parse("https://user:SECRETPW@proxy.local/w/").unwrap());
        endpoints.url(crate::spec::KF_ACCOUNT_LIST.path).unwrap();
        let shown = format!("{endpoints:?} {endpoints:#?}");
        assert!(!shown.contains("SECRETPW"), "{shown}");
        assert!(shown.contains("https://user:***@proxy.local/w/"), "{shown}");
        assert_eq!(
            shown_raw_url("https://user:SECRETPW@proxy.local:99999/"),
            "<an unparsed URL with user info, not shown>"
        );
        assert_eq!(shown_raw_url("not a url"), "not a url");
        assert_eq!(
            shown_url(&Url::parse("http://h/x/").unwrap()),
            "http://h/x/"
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let endpoints = Endpoints::new(Url::parse("http://h/").unwrap());
        for i in 0..(MAX_CACHED + 10) {
            endpoints.url(&format!("/p{i}")).unwrap();
        }
        assert_eq!(endpoints.parsed.read().unwrap().len(), MAX_CACHED);
        assert_eq!(endpoints.url("/p300").unwrap().as_str(), "http://h/p300");
    }
}
