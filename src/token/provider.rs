//! The token cache: one `gettoken` per credential however many callers wait, refreshed ahead
//! of expiry, replaced only when the rejected token is still the cached one.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;

use super::access_token::AccessToken;
use super::credential::{CacheKey, Credential};
use super::store::{Lease, SharedToken, StoreError, StoreKey, TokenStore};
use crate::call;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::middleware::CallInfo;
use crate::middleware::{self, RetryConfig};

use crate::spec::GETTOKEN;

/// Fetches and caches access tokens, for any number of credentials and clients.
///
/// Cheap to clone; clones share the cache. Hand one provider to several
/// [`ClientBuilder::token_provider`](crate::ClientBuilder::token_provider) calls to share it
/// between clients (many corps in one process).
///
/// - **Single flight:** concurrent callers on a cold or stale entry share one `gettoken`.
/// - **Ahead of time:** a token is used until `refresh_margin` before it expires; from
///   `refresh_ahead` before that, the first caller starts one background refresh and everyone
///   keeps using the current token meanwhile, so a busy client never waits at rollover. Both
///   durations are capped at a fifth of the token's lifetime.
/// - **A token handed back unchanged** (WeCom is observed to return the current token, its
///   `expires_in` counting down, until it expires) is used to its end without asking again;
///   the first call after that fetches its successor. Against such a server that one wait
///   per rollover cannot be avoided, and the early refresh costs one extra `gettoken`.
/// - **Compare-and-refresh:** a token WeCom rejected is replaced only if the cache still holds
///   that same token, so a storm of rejections costs one `gettoken`.
/// - **Bad credentials are final:** a `gettoken` answered 40001/40013 (or another
///   configuration errcode) is returned to every caller for the next 10 s without asking
///   again, because WeCom bans an IP that keeps fetching with a bad secret.
/// - Freshness is decided by the provider's [`Clock`].
///
/// ```
/// use std::time::Duration;
/// use wecom_kf::{Client, TokenProvider};
///
/// let provider = TokenProvider::builder()
///     .refresh_margin(Duration::from_secs(300))
///     .build()?;
/// let corp_a = Client::builder().corp_id("wwA").corp_secret("secret-a")
///     .token_provider(provider.clone()).build()?;
/// let corp_b = Client::builder().corp_id("wwB").corp_secret("secret-b")
///     .token_provider(provider).build()?;
/// # let _ = (corp_a, corp_b);
/// # Ok::<(), wecom_kf::Error>(())
/// ```
#[derive(Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

struct Inner {
    cache: Cache<CacheKey, AccessToken>,
    http: ClientWithMiddleware,
    clock: Arc<dyn Clock>,
    freshness: Freshness,
    generation: AtomicU64,
    fetches: AtomicU64,
    /// Configuration errors (bad secret, bad corp id) kept for [`CONFIG_ERROR_COOLDOWN`]:
    /// WeCom bans an IP that keeps fetching with a bad secret, so callers arriving after the
    /// failure get it too instead of asking again. Transient failures are never kept.
    config_errors: Cache<CacheKey, (Error, SystemTime)>,
    /// Tokens WeCom refused lately, by credential: never adopted from the store again, even
    /// by a load that started before the refusal.
    rejected: moka::sync::Cache<CacheKey, Box<str>>,
    /// The level shared with other processes, if any.
    store: Option<Arc<dyn TokenStore>>,
    /// The store failed and has not answered since: its incident is logged once.
    store_down: AtomicBool,
}

/// How long a configuration error from `gettoken` is answered from memory.
const CONFIG_ERROR_COOLDOWN: Duration = Duration::from_secs(10);

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("cached_tokens", &self.inner.cache.entry_count())
            .field("freshness", &self.inner.freshness)
            .field("clock", &self.inner.clock)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// A provider with default settings.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// Configure a provider.
    pub fn builder() -> TokenProviderBuilder {
        TokenProviderBuilder::default()
    }

    /// A token for `credential`: the cached one while fresh, otherwise one fetched now (shared
    /// with every concurrent caller).
    pub async fn token(&self, credential: &Credential) -> Result<AccessToken> {
        let stale = match self.inner.cache.get(credential.key()).await {
            Some(token) => {
                let now = self.inner.clock.now();
                match self.inner.freshness.state(&token, now) {
                    State::Fresh => return Ok(token),
                    State::RefreshAhead => {
                        let _refreshing = self.refresh_in_background(credential, &token, now);
                        return Ok(token);
                    }
                    State::Stale => Some(token),
                }
            }
            None => None,
        };
        // Boxed: the slow path's futures (moka's coalesced init, the fetch) take kilobytes,
        // which every call's future would otherwise carry and move.
        Box::pin(self.replace_stale(credential, stale)).await
    }

    async fn replace_stale(
        &self,
        credential: &Credential,
        stale: Option<AccessToken>,
    ) -> Result<AccessToken> {
        if let Some(stale) = &stale {
            self.remove_if_current(credential, stale, None).await;
        }
        let predecessor = stale.as_ref().map_or(Predecessor::None, Predecessor::Stale);
        self.load(credential, predecessor).await
    }

    /// Replaces `rejected` (a token WeCom refused) with a fresh one, unless another caller
    /// already did; returns the token to use now.
    pub async fn refresh_rejected(
        &self,
        credential: &Credential,
        rejected: &AccessToken,
    ) -> Result<AccessToken> {
        tracing::debug!(credential = ?credential.key(), "access token rejected; refreshing");
        if self.inner.store.is_some() {
            self.inner
                .rejected
                .insert(credential.key().clone(), rejected.as_str().into());
        }
        // With a shared store, a load that began before the refusal (a cold start reading the
        // store) may still bring the refused token back, under a new generation: drop it by
        // its value and load once more. After the first round no load can adopt it again.
        let rounds = if self.inner.store.is_some() { 2 } else { 1 };
        let mut token = rejected.clone();
        for _ in 0..rounds {
            self.remove_if_current(credential, &token, Some(rejected.as_str()))
                .await;
            token = self
                .load(credential, Predecessor::Rejected(rejected))
                .await?;
            if token.as_str() != rejected.as_str() {
                break;
            }
        }
        Ok(token)
    }

    /// Drops any cached token for `credential`.
    pub async fn invalidate(&self, credential: &Credential) {
        self.inner.cache.invalidate(credential.key()).await;
    }

    /// How many `gettoken` requests this provider has started (including ones that failed).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// How many tokens the cache holds (approximate: moka counts lazily).
    pub fn cached_tokens(&self) -> u64 {
        self.inner.cache.entry_count()
    }

    /// The time by this provider's clock (validation of time ranges follows it too, so that
    /// a test's manual clock moves both).
    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// The coalesced load: concurrent callers share one fetch and its result (or error).
    async fn load(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        self.inner
            .cache
            .try_get_with_by_ref(
                credential.key(),
                self.fetch_unless_refused(credential, predecessor),
            )
            .await
            .map_err(|shared: Arc<Error>| (*shared).clone())
    }

    /// Runs inside the coalesced init, so it sees any configuration error the previous init
    /// stored before it finished: no caller can slip a second `gettoken` past the cooldown.
    async fn fetch_unless_refused(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        if let Some((error, until)) = self.inner.config_errors.get(credential.key()).await {
            if self.inner.clock.now() < until {
                return Err(error);
            }
            self.inner.config_errors.invalidate(credential.key()).await;
        }
        self.obtain(credential, predecessor).await
    }

    /// A new token: from the shared store when there is one, else (or when the store is down)
    /// from `gettoken`.
    async fn obtain(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        match &self.inner.store {
            Some(store) => self.obtain_shared(store, credential, predecessor).await,
            None => self.fetch(credential, predecessor).await,
        }
    }

    /// Takes the token another process stored, or fetches it while holding the key's lease,
    /// so that one `gettoken` serves every process. Waits for a lease holder at most twice the
    /// lease's lifetime; a store that fails is bypassed.
    async fn obtain_shared(
        &self,
        store: &Arc<dyn TokenStore>,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        let key = credential.store_key();
        if let Predecessor::Rejected(refused) = predecessor {
            // Compare-and-invalidate, once per process (this runs inside the coalesced load):
            // only if the store still holds the refused token.
            if let Err(down) = store.invalidate_if(&key, refused.as_str()).await {
                self.note_store(Err(down));
                return self.fetch(credential, predecessor).await;
            }
        }
        let now = tokio::time::Instant::now();
        let give_up = now
            .checked_add(store.lease_lifetime().saturating_mul(2))
            .unwrap_or(now + MAX_LIFETIME);
        let mut pause = LEASE_POLL_FIRST;
        loop {
            match self.try_shared(store, &key, credential, predecessor).await {
                Ok(Some(obtained)) => {
                    self.note_store(Ok(()));
                    return obtained;
                }
                Ok(None) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LEASE_POLL_MAX);
                }
                Ok(None) => {
                    tracing::warn!(credential = ?credential.key(),
                        "no token appeared in the store while another process held the lease; fetching it here");
                    return self.fetch(credential, predecessor).await;
                }
                Err(down) => {
                    self.note_store(Err(down));
                    return self.fetch(credential, predecessor).await;
                }
            }
        }
    }

    /// One look at the store: a usable stored token, or the lease and a fetch, or `None` when
    /// another process holds the lease. Store errors after a fetch are logged, not returned:
    /// the fetched token is good either way.
    async fn try_shared(
        &self,
        store: &Arc<dyn TokenStore>,
        key: &StoreKey,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> std::result::Result<Option<Result<AccessToken>>, StoreError> {
        if let Some(token) = self.usable(credential.key(), store.get(key).await?, predecessor) {
            return Ok(Some(Ok(token)));
        }
        let Some(lease) = store.try_lease(key).await? else {
            return Ok(None);
        };
        let lease = HeldLease {
            store: Arc::clone(store),
            key: key.clone(),
            lease: Some(lease),
        };
        // The lease holder before us may have stored a token since our first look.
        let stored = store.get(key).await;
        let obtained = match stored.map(|s| self.usable(credential.key(), s, predecessor)) {
            Ok(Some(token)) => Ok(token),
            _ => {
                let fetched = self.fetch(credential, predecessor).await;
                if let Ok(token) = &fetched {
                    let shared =
                        SharedToken::new(token.as_str(), token.obtained_at(), token.expires_at());
                    self.note_store(store.put(key, &shared).await);
                }
                fetched
            }
        };
        self.note_store(lease.release().await);
        Ok(Some(obtained))
    }

    /// A stored token this provider may adopt: unexpired, not too close to its end, and not
    /// the token being replaced (unless the store holds it as fetched again since).
    fn usable(
        &self,
        credential_key: &CacheKey,
        stored: Option<SharedToken>,
        predecessor: Predecessor<'_>,
    ) -> Option<AccessToken> {
        let stored = stored?;
        if self
            .inner
            .rejected
            .get(credential_key)
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
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let token = AccessToken::fetched(
            stored.value,
            generation,
            stored.obtained_at,
            lifetime,
            reissued,
        );
        let state = self.inner.freshness.state(&token, self.inner.clock.now());
        (state != State::Stale).then_some(token)
    }

    /// Logs a store failure once per incident, and the store's return.
    fn note_store(&self, outcome: std::result::Result<(), StoreError>) {
        match outcome {
            Ok(()) => {
                if self.inner.store_down.swap(false, Ordering::Relaxed) {
                    tracing::info!("token store reachable again; sharing tokens through it");
                }
            }
            Err(error) => {
                if !self.inner.store_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error,
                        "token store unavailable; fetching tokens in this process until it returns");
                }
            }
        }
    }

    /// Compare-and-remove: removes the entry only if it still holds `token` (or, given
    /// `refused`, any token of that value: the same refused token, adopted again under another
    /// generation). Calls on one key are serialised by moka, so a token another caller just
    /// stored is never thrown away.
    async fn remove_if_current(
        &self,
        credential: &Credential,
        token: &AccessToken,
        refused: Option<&str>,
    ) {
        let generation = token.generation();
        self.inner
            .cache
            .entry_by_ref(credential.key())
            .and_compute_with(|current| {
                let op = match current {
                    Some(entry)
                        if entry.value().generation() == generation
                            || refused.is_some_and(|r| entry.value().as_str() == r) =>
                    {
                        Op::Remove
                    }
                    _ => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
    }

    /// Starts one background refresh for `token` unless one is running or failed recently.
    /// Returns the refresh's task, for tests to await.
    fn refresh_in_background(
        &self,
        credential: &Credential,
        token: &AccessToken,
        now: SystemTime,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        if !token.refresh_gate().try_start(now) {
            return None;
        }
        let (provider, credential, old) = (self.clone(), credential.clone(), token.clone());
        Some(runtime.spawn(async move {
            // Through the cooldown, like every other load: a bad secret is asked about at most
            // once per cooldown, whoever asks.
            match provider
                .fetch_unless_refused(&credential, Predecessor::Stale(&old))
                .await
            {
                Ok(fresh) => provider.replace_if_current(&credential, &old, fresh).await,
                Err(err) => {
                    tracing::warn!(credential = ?credential.key(), error = %err,
                        "background token refresh failed; the current token stays in use");
                    let retry_at = provider.inner.clock.now() + REFRESH_RETRY_PAUSE;
                    old.refresh_gate().failed(retry_at);
                }
            }
        }))
    }

    /// Stores `fresh` unless the cache moved on from `old` meanwhile.
    async fn replace_if_current(
        &self,
        credential: &Credential,
        old: &AccessToken,
        fresh: AccessToken,
    ) {
        let generation = old.generation();
        self.inner
            .cache
            .entry_by_ref(credential.key())
            .and_compute_with(|current| {
                let op = match current {
                    Some(entry) if entry.value().generation() != generation => Op::Nop,
                    _ => Op::Put(fresh),
                };
                std::future::ready(op)
            })
            .await;
    }

    /// One `gettoken`, with the stack's bounded retry on transient failures. 40001/40013 and
    /// other errcodes are final.
    async fn fetch(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(credential = ?credential.key(), "fetching access token");
        let url = credential.gettoken_url()?;
        let info = CallInfo::new(GETTOKEN.path, GETTOKEN.idempotency);
        let reply: GetTokenReply = match call::send(self.inner.http.get(url), info).await {
            Ok(reply) => reply,
            Err(error) => {
                if error.is_configuration() {
                    let until = self.inner.clock.now() + CONFIG_ERROR_COOLDOWN;
                    let kept = (error.clone(), until);
                    self.inner
                        .config_errors
                        .insert(credential.key().clone(), kept)
                        .await;
                }
                return Err(error);
            }
        };
        // WeCom says 7200 s; a server that claims more than a day is not believed further.
        let lifetime = Duration::from_secs(reply.expires_in).min(MAX_LIFETIME);
        if reply.access_token.is_empty() || lifetime.is_zero() {
            return Err(Error::Decode {
                endpoint: GETTOKEN.path.into(),
                status: 200,
                reason: "empty access_token or zero expires_in".into(),
                excerpt: String::new(),
            });
        }
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
        // WeCom is observed to hand back a valid token unchanged, its `expires_in` counting
        // down: then no new token exists before this one expires.
        let reissued = matches!(predecessor,
            Predecessor::Stale(old) if old.as_str() == reply.access_token);
        if reissued {
            tracing::debug!(credential = ?credential.key(),
                "gettoken returned the current token; using it until it expires");
        }
        Ok(AccessToken::fetched(
            reply.access_token,
            generation,
            self.inner.clock.now(),
            lifetime,
            reissued,
        ))
    }
}

/// A lease this process holds in the store. Given back by [`release`](Self::release), or, if
/// the refresh holding it is dropped midway (its caller cancelled, say by a timeout), by a task
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

/// Pause after a failed background refresh before the next one may start.
const REFRESH_RETRY_PAUSE: Duration = Duration::from_secs(5);

/// The longest lifetime a token is trusted with, whatever `expires_in` says.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3_600);

/// How long a token WeCom refused is never adopted from the shared store again.
const REJECTED_MEMORY: Duration = Duration::from_secs(60);

/// How often a provider looks again while another process holds the lease: from the first
/// pause, doubling, up to the last.
const LEASE_POLL_FIRST: Duration = Duration::from_millis(10);
const LEASE_POLL_MAX: Duration = Duration::from_millis(200);

/// The token a new one is obtained to replace, and why.
#[derive(Clone, Copy)]
enum Predecessor<'a> {
    /// None cached (a cold start).
    None,
    /// Too close to its end (or due for its early refresh). If WeCom hands it back unchanged,
    /// it is kept to its end (see [`AccessToken::is_reissued`]).
    Stale(&'a AccessToken),
    /// Refused by WeCom (42001/40014/41001): never adopted again from the store.
    Rejected(&'a AccessToken),
}

#[derive(Deserialize)]
struct GetTokenReply {
    access_token: String,
    expires_in: u64,
}

/// When a token is fresh, due for a background refresh, or too close to expiry to use.
#[derive(Debug, Clone, Copy)]
struct Freshness {
    margin: Duration,
    ahead: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    RefreshAhead,
    Stale,
}

impl Freshness {
    fn state(&self, token: &AccessToken, now: SystemTime) -> State {
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

/// moka's own expiry only cleans up: an entry lives for the token's lifetime in real time.
/// Freshness is decided by the provider's clock. Both hooks are set, because moka's default
/// `expire_after_update` would keep the old token's deadline.
struct TokenLifetime;

impl Expiry<CacheKey, AccessToken> for TokenLifetime {
    fn expire_after_create(
        &self,
        _: &CacheKey,
        token: &AccessToken,
        _: Instant,
    ) -> Option<Duration> {
        Some(token.lifetime())
    }

    fn expire_after_update(
        &self,
        _: &CacheKey,
        token: &AccessToken,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(token.lifetime())
    }
}

/// Configures a [`TokenProvider`].
#[derive(Debug)]
#[must_use]
pub struct TokenProviderBuilder {
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
    retry: RetryConfig,
    margin: Duration,
    ahead: Duration,
    max_credentials: u64,
    store: Option<Arc<dyn TokenStore>>,
}

impl Default for TokenProviderBuilder {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            http: None,
            retry: RetryConfig::default(),
            margin: Duration::from_secs(300),
            ahead: Duration::from_secs(300),
            max_credentials: 100_000,
            store: None,
        }
    }
}

impl TokenProviderBuilder {
    /// The clock that decides freshness (default: [`SystemClock`]). Tests pass a
    /// [`ManualClock`](crate::clock::ManualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Stop using a token this long before it expires (default 300 s; at most a fifth of the
    /// token's lifetime).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Start a background refresh this long before the margin (default 300 s; at most a fifth
    /// of the token's lifetime).
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.ahead = ahead;
        self
    }

    /// Retries for `gettoken` on transient failures (default [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The HTTP client for `gettoken` (default: the SDK's hardened client, see
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// At most this many credentials are cached (default 100 000); the least used go first.
    pub fn max_credentials(mut self, n: u64) -> Self {
        self.max_credentials = n;
        self
    }

    /// Shares tokens with other processes through `store` (e.g. `RedisTokenStore`, feature
    /// `redis`): this provider's cache first, then the store, then `gettoken`, which only the
    /// holder of the store's lease for that credential calls.
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    pub(crate) fn shared_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Builds the provider.
    pub fn build(self) -> Result<TokenProvider> {
        let http = match self.http {
            Some(client) => client,
            None => middleware::default_http_client(middleware::Timeouts::default())?,
        };
        let cache = Cache::builder()
            .max_capacity(self.max_credentials)
            .expire_after(TokenLifetime)
            .build();
        Ok(TokenProvider {
            inner: Arc::new(Inner {
                cache,
                http: middleware::stack(http, &self.retry, None, None),
                clock: self.clock,
                freshness: Freshness {
                    margin: self.margin,
                    ahead: self.ahead,
                },
                generation: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
                config_errors: Cache::builder()
                    .max_capacity(self.max_credentials)
                    .time_to_live(CONFIG_ERROR_COOLDOWN)
                    .build(),
                rejected: moka::sync::Cache::builder()
                    .max_capacity(self.max_credentials)
                    .time_to_live(REJECTED_MEMORY)
                    .build(),
                store: self.store,
                store_down: AtomicBool::new(false),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_windows_scale_with_lifetime() {
        let f = Freshness {
            margin: Duration::from_secs(300),
            ahead: Duration::from_secs(300),
        };
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
        let f = Freshness {
            margin: Duration::from_secs(300),
            ahead: Duration::from_secs(300),
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s| t0 + Duration::from_secs(s);
        // Handed back 600 s before its end: no early refresh, no margin.
        let tok = AccessToken::fetched("t", 3, at(6600), Duration::from_secs(600), true);
        assert_eq!(f.state(&tok, at(6600)), State::Fresh);
        assert_eq!(f.state(&tok, at(7199)), State::Fresh);
        assert_eq!(f.state(&tok, at(7200)), State::Stale);
    }

    /// A gettoken server answering `first`, then `rest` for ever after.
    async fn gettoken_server(
        first: serde_json::Value,
        rest: serde_json::Value,
    ) -> wiremock::MockServer {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/cgi-bin/gettoken"))
            .respond_with(ResponseTemplate::new(200).set_body_json(first))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path("/cgi-bin/gettoken"))
            .respond_with(ResponseTemplate::new(200).set_body_json(rest))
            .with_priority(2)
            .mount(&server)
            .await;
        server
    }

    /// The secret was reset while a token is still good: background refreshes ask at most
    /// once per cooldown, like every other load.
    #[tokio::test]
    async fn background_refreshes_keep_the_bad_secret_cooldown() {
        let server = gettoken_server(
            serde_json::json!({"errcode": 0, "access_token": "T1", "expires_in": 7200}),
            serde_json::json!({"errcode": 40001, "errmsg": "invalid credential"}),
        )
        .await;
        let clock = crate::clock::ManualClock::new();
        let provider = TokenProvider::builder()
            .clock(clock.clone())
            .retry(crate::RetryConfig::disabled())
            .build()
            .unwrap();
        let credential = Credential::with_api_base("ww1", "s1", &server.uri()).unwrap();
        let token = provider.token(&credential).await.unwrap();
        clock.advance(Duration::from_secs(6650)); // inside the refresh-ahead window
        let refresh = || {
            let handle = provider.refresh_in_background(&credential, &token, clock.now());
            async move { handle.expect("the gate lets it start").await.unwrap() }
        };
        refresh().await;
        assert_eq!(provider.fetch_count(), 2, "the refresh asked: 40001");
        clock.advance(REFRESH_RETRY_PAUSE); // the gate opens again, the cooldown still runs
        refresh().await;
        assert_eq!(
            provider.fetch_count(),
            2,
            "not asked again within the cooldown"
        );
        clock.advance(CONFIG_ERROR_COOLDOWN - REFRESH_RETRY_PAUSE);
        refresh().await;
        assert_eq!(
            provider.fetch_count(),
            3,
            "asked again once the cooldown is over"
        );
        assert_eq!(provider.token(&credential).await.unwrap().as_str(), "T1");
    }

    /// `expires_in` beyond reason is an ordinary token trusted for a day, not a panic.
    #[tokio::test]
    async fn an_absurd_expires_in_is_capped_at_a_day() {
        let server = gettoken_server(
            serde_json::json!({"errcode": 0, "access_token": "T1", "expires_in": u64::MAX}),
            serde_json::json!({"errcode": 0, "access_token": "T2", "expires_in": 7200}),
        )
        .await;
        let provider = TokenProvider::new().unwrap();
        let credential = Credential::with_api_base("ww1", "s1", &server.uri()).unwrap();
        let token = provider.token(&credential).await.unwrap();
        let lifetime = token
            .expires_at()
            .duration_since(token.obtained_at())
            .unwrap();
        assert_eq!(lifetime, MAX_LIFETIME);
    }
}
