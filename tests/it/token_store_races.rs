//! The provider against a shared token store whose reads a test can hold, to set up the
//! races between processes deterministically (no Redis needed: the store is in memory).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::common::{fast_retry, minting};
use async_trait::async_trait;
use tokio::sync::Notify;
use wecom_kf::TokenProvider;
use wecom_kf::token::{Credential, Lease, SharedToken, StoreError, StoreKey, TokenStore};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer};

/// One token, free leases, and `get`s that can be held after they read.
#[derive(Default)]
struct HeldStore {
    token: Mutex<Option<SharedToken>>,
    hold_gets: Mutex<bool>,
    holding: Notify,
    go: Notify,
}

#[derive(Clone, Default)]
struct Store(Arc<HeldStore>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

#[async_trait]
impl TokenStore for Store {
    async fn get(&self, _: &StoreKey) -> Result<Option<SharedToken>, StoreError> {
        let read = self.0.token.lock().unwrap().clone();
        let hold = std::mem::take(&mut *self.0.hold_gets.lock().unwrap());
        if hold {
            self.0.holding.notify_one();
            self.0.go.notified().await;
        }
        Ok(read)
    }
    async fn put(&self, _: &StoreKey, token: &SharedToken) -> Result<(), StoreError> {
        *self.0.token.lock().unwrap() = Some(token.clone());
        Ok(())
    }
    async fn invalidate_if(&self, _: &StoreKey, value: &str) -> Result<bool, StoreError> {
        let mut held = self.0.token.lock().unwrap();
        let same = held.as_ref().is_some_and(|t| t.value == value);
        if same {
            *held = None;
        }
        Ok(same)
    }
    async fn try_lease(&self, _: &StoreKey) -> Result<Option<Lease>, StoreError> {
        Ok(Some(Lease::new("only-one")))
    }
    async fn release(&self, _: &StoreKey, _: &Lease) -> Result<(), StoreError> {
        Ok(())
    }
    fn lease_lifetime(&self) -> Duration {
        Duration::from_secs(10)
    }
}

/// A load that read the store just before WeCom refused that token (another caller got the
/// 42001) must not hand the refused token back as its own replacement.
#[tokio::test]
async fn a_refused_token_read_by_a_load_in_flight_is_not_its_replacement() {
    let server = MockServer::start().await;
    Mock::given(path("/cgi-bin/gettoken"))
        .respond_with(minting())
        .mount(&server)
        .await;
    let store = Store::default();
    let now = SystemTime::now();
    *store.0.token.lock().unwrap() = Some(SharedToken::new(
        "SHARED",
        now,
        now + Duration::from_secs(7200),
    ));
    let provider = TokenProvider::builder()
        .retry(fast_retry())
        .token_store(store.clone())
        .build()
        .unwrap();
    let credential = Credential::with_api_base("ww1", "s1", &server.uri()).unwrap();
    let shared = provider.token(&credential).await.unwrap();
    assert_eq!(shared.as_str(), "SHARED", "taken from the store");

    // The entry goes (evicted, say); a caller starts a cold load, which reads SHARED and is
    // held there...
    provider.invalidate(&credential).await;
    *store.0.hold_gets.lock().unwrap() = true;
    let cold = tokio::spawn({
        let (provider, credential) = (provider.clone(), credential.clone());
        async move { provider.token(&credential).await.unwrap() }
    });
    store.0.holding.notified().await;
    // ...while another caller, whose call WeCom refused with SHARED, asks for a replacement
    // and joins that load (this test runs on one thread: yielding lets it get that far).
    let rejecting = tokio::spawn({
        let (provider, credential) = (provider.clone(), credential.clone());
        async move {
            provider
                .refresh_rejected(&credential, &shared)
                .await
                .unwrap()
        }
    });
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    store.0.go.notify_one();

    let replacement = rejecting.await.unwrap();
    assert_ne!(
        replacement.as_str(),
        "SHARED",
        "the refused token came back"
    );
    assert_eq!(cold.await.unwrap().as_str(), replacement.as_str());
    assert_eq!(
        store
            .0
            .token
            .lock()
            .unwrap()
            .as_ref()
            .map(|t| t.value.clone()),
        Some(replacement.as_str().to_owned()),
        "the replacement is shared"
    );
}
