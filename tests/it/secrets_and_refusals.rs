//! Secrets kept out of `Debug` and errors: a proxy password in the base URL (issue 12, item 9).

use wecom_kf::kf::account::ListAccounts;
use wecom_kf::token::Credential;
use wecom_kf::{Client, RetryConfig};

const PASSWORD: &str = "SECRETPW";
const PROXY_BASE: &str = "https://user:SECRETPW@proxy.local/wecom";

fn assert_hidden(shown: &str, secret: &str) {
    assert!(!shown.contains(secret), "{secret} shown in: {shown}");
}

#[test]
fn a_proxy_password_in_the_base_url_is_not_in_debug() {
    let builder = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url(PROXY_BASE);
    let shown = format!("{builder:?} {builder:#?}");
    assert_hidden(&shown, PASSWORD);
    assert!(
        shown.contains("proxy.local"),
        "the host stays visible: {shown}"
    );

    let client = builder.build().unwrap();
    assert_hidden(&format!("{client:?} {client:#?}"), PASSWORD);
    let credential = Credential::with_api_base("ww1", "s1", PROXY_BASE).unwrap();
    let shown = format!("{credential:?} {credential:#?}");
    assert_hidden(&shown, PASSWORD);
    assert!(
        shown.contains("https://user:***@proxy.local/wecom/"),
        "{shown}"
    );
    // The accessor still gives the URL whole: it is what the requests go to.
    assert_eq!(credential.api_base().password(), Some(PASSWORD));

    // A base URL that does not parse is hidden whole if it may hold a password.
    let unparsed = Client::builder().base_url("https://user:SECRETPW@proxy.local:99999/wecom");
    assert_hidden(&format!("{unparsed:?}"), PASSWORD);
}

#[tokio::test]
async fn a_proxy_password_in_the_base_url_is_not_in_errors() {
    for bad in [
        "https://user:SECRETPW@proxy.local:99999/wecom",
        "https://user:SECRETPW@proxy.local/wecom?x=1",
        "https://user:SECRETPW@proxy.local/wecom#x",
        "ftp://user:SECRETPW@proxy.local/wecom",
    ] {
        let error = Client::builder()
            .corp_id("ww1")
            .corp_secret("s1")
            .base_url(bad)
            .build()
            .unwrap_err();
        assert_hidden(&format!("{error} {error:?}"), PASSWORD);
        let error = Credential::with_api_base("ww1", "s1", bad).unwrap_err();
        assert_hidden(&format!("{error} {error:?}"), PASSWORD);
    }
    // A transport failure (nothing listens on port 1): reqwest's error names the URL.
    let client = Client::builder()
        .corp_id("ww1")
        .corp_secret("s1")
        .base_url("http://user:SECRETPW@127.0.0.1:1/wecom")
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let error = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap_err();
    assert_hidden(&format!("{error} {error:?}"), PASSWORD);
}
