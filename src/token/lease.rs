//! The level shared with other processes: a [`TokenStore`] read before fetching, and its lease,
//! so that one fetch serves every process. Knows nothing of how a token is fetched.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::access_token::{AccessToken, shape_problem};
use super::credential::{CacheKey, Credential};
use super::freshness::{MAX_LIFETIME, Predecessor};
use super::store::{Lease, SharedToken, StoreError, StoreKey, TokenStore};
use crate::error::Result;

/// How long a token WeCom refused is never adopted from the store again.
const REJECTED_MEMORY: Duration = Duration::from_secs(60);

/// How often a provider looks again while another process holds the lease: from the first
/// pause, doubling, up to the last.
const LEASE_POLL_FIRST: Duration = Duration::from_millis(10);
const LEASE_POLL_MAX: Duration = Duration::from_millis(200);

/// A stored token that passed the store level's checks, for the cache to adopt (or not, if
/// it is too close to its end).
pub(super) struct Adoptable {
    pub(super) stored: SharedToken,
    pub(super) lifetime: Duration,
    /// The stale token, stored again by another process: used to its end.
    pub(super) reissued: bool,
}

/// The store, whether it is down, and the tokens WeCom refused lately.
pub(super) struct SharedLevel {
    store: Arc<dyn TokenStore>,
    /// The store failed and has not answered since: its incident is logged once.
    down: AtomicBool,
    /// Tokens WeCom refused lately, by credential: never adopted from the store again, even
    /// by a load that started before the refusal.
    rejected: moka::sync::Cache<CacheKey, Box<str>>,
}

impl std::fmt::Debug for SharedLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.store.fmt(f)
    }
}

impl SharedLevel {
    pub(super) fn new(store: Arc<dyn TokenStore>, max_credentials: u64) -> Self {
        Self {
            store,
            down: AtomicBool::new(false),
            rejected: moka::sync::Cache::builder()
                .max_capacity(max_credentials)
                .time_to_live(REJECTED_MEMORY)
                .build(),
        }
    }

    /// Remembers that WeCom refused `value` for `key`.
    pub(super) fn remember_rejected(&self, key: &CacheKey, value: &str) {
        self.rejected.insert(key.clone(), value.into());
    }

    /// Takes the token another process stored (through `adopt`, which may still refuse it), or
    /// calls `fetch` while holding the key's lease and stores what it brings. Waits for a lease
    /// holder at most twice the lease's lifetime; a store that fails is bypassed (`fetch`
    /// without it).
    pub(super) async fn obtain<Fetch, Fut>(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
        adopt: &(dyn Fn(Adoptable) -> Option<AccessToken> + Send + Sync),
        fetch: Fetch,
    ) -> Result<AccessToken>
    where
        Fetch: Fn() -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        let key = credential.store_key();
        if let Predecessor::Rejected(refused) = predecessor {
            // Compare-and-invalidate, once per process (this runs inside the coalesced load):
            // only if the store still holds the refused token.
            if let Err(down) = self.store.invalidate_if(&key, refused.as_str()).await {
                self.note(Err(down));
                crate::telemetry::token_store_fallback();
                return fetch().await;
            }
        }
        let now = tokio::time::Instant::now();
        let give_up = now
            .checked_add(self.store.lease_lifetime().saturating_mul(2))
            .unwrap_or(now + MAX_LIFETIME);
        let mut pause = LEASE_POLL_FIRST;
        loop {
            let usable = |stored| {
                self.usable(credential.key(), stored, predecessor)
                    .and_then(adopt)
            };
            match self.try_once(&key, &usable, &fetch).await {
                Ok(Some(obtained)) => {
                    self.note(Ok(()));
                    return obtained;
                }
                Ok(None) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LEASE_POLL_MAX);
                }
                Ok(None) => {
                    tracing::warn!(credential = ?credential.key(),
                        "no token appeared in the store while another process held the lease; fetching it here");
                    crate::telemetry::token_store_fallback();
                    return fetch().await;
                }
                Err(down) => {
                    self.note(Err(down));
                    crate::telemetry::token_store_fallback();
                    return fetch().await;
                }
            }
        }
    }

    /// One look at the store: a usable stored token, or the lease and a fetch, or `None` when
    /// another process holds the lease. Store errors after a fetch are logged, not returned:
    /// the fetched token is good either way.
    async fn try_once<Fetch, Fut>(
        &self,
        key: &StoreKey,
        usable: &(dyn Fn(Option<SharedToken>) -> Option<AccessToken> + Send + Sync),
        fetch: &Fetch,
    ) -> std::result::Result<Option<Result<AccessToken>>, StoreError>
    where
        Fetch: Fn() -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        if let Some(token) = usable(self.read(key).await?) {
            return Ok(Some(Ok(token)));
        }
        let Some(lease) = self.store.try_lease(key).await? else {
            return Ok(None);
        };
        let lease = HeldLease {
            store: Arc::clone(&self.store),
            key: key.clone(),
            lease: Some(lease),
        };
        // The lease holder before us may have stored a token since our first look.
        let obtained = match self.read(key).await.map(usable) {
            Ok(Some(token)) => Ok(token),
            _ => {
                let fetched = fetch().await;
                if let Ok(token) = &fetched {
                    let shared =
                        SharedToken::new(token.as_str(), token.obtained_at(), token.expires_at());
                    self.note(self.store.put(key, &shared).await);
                }
                fetched
            }
        };
        self.note(lease.release().await);
        Ok(Some(obtained))
    }

    /// The token stored under `key`, unless it could not be used as a token (another program
    /// wrote it, or a bug did): then it is reported at its key, removed if it is still the
    /// same value, and read as none, so that a fresh one is fetched and stored over it.
    async fn read(&self, key: &StoreKey) -> std::result::Result<Option<SharedToken>, StoreError> {
        let Some(stored) = self.store.get(key).await? else {
            return Ok(None);
        };
        let Some(problem) = shape_problem(&stored.value) else {
            return Ok(Some(stored));
        };
        tracing::warn!(
            corp_id = key.corp_id(),
            fingerprint = key.fingerprint(),
            problem,
            "the token store holds a value that cannot be a token; ignoring and removing it"
        );
        self.store.invalidate_if(key, &stored.value).await?;
        Ok(None)
    }

    /// A stored token that may replace `predecessor`: not refused lately, of a sane lifetime,
    /// and not the token being replaced (unless the store holds it as fetched again since).
    fn usable(
        &self,
        key: &CacheKey,
        stored: Option<SharedToken>,
        predecessor: Predecessor<'_>,
    ) -> Option<Adoptable> {
        let stored = stored?;
        if self
            .rejected
            .get(key)
            .is_some_and(|refused| *refused == *stored.value)
        {
            return None;
        }
        let lifetime = stored
            .expires_at
            .duration_since(stored.obtained_at)
            .ok()?
            .min(MAX_LIFETIME);
        let reissued = match predecessor {
            Predecessor::None => false,
            Predecessor::Stale(old) => {
                if stored.obtained_at <= old.obtained_at() {
                    return None;
                }
                old.as_str() == stored.value
            }
            Predecessor::Rejected(old) => {
                if old.as_str() == stored.value {
                    return None;
                }
                false
            }
        };
        Some(Adoptable {
            stored,
            lifetime,
            reissued,
        })
    }

    /// Logs a store failure once per incident, and the store's return.
    fn note(&self, outcome: std::result::Result<(), StoreError>) {
        match outcome {
            Ok(()) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("token store reachable again; sharing tokens through it");
                }
            }
            Err(error) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error,
                        "token store unavailable; fetching tokens in this process until it returns");
                }
            }
        }
    }
}

/// A lease this process holds in the store. Given back by [`release`](Self::release), or, if
/// the fetch holding it is dropped midway (its caller cancelled, say by a timeout), by a task
/// spawned on drop: otherwise every process would wait out the lease's lifetime.
struct HeldLease {
    store: Arc<dyn TokenStore>,
    key: StoreKey,
    lease: Option<Lease>,
}

impl HeldLease {
    async fn release(mut self) -> std::result::Result<(), StoreError> {
        match self.lease.take() {
            Some(lease) => self.store.release(&self.key, &lease).await,
            None => Ok(()),
        }
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (store, key) = (Arc::clone(&self.store), self.key.clone());
            runtime.spawn(async move {
                let _ = store.release(&key, &lease).await;
            });
        }
    }
}
