//! The token cache: one `gettoken` per credential however many callers wait, refreshed ahead
//! of expiry, replaced only when the rejected token is still the cached one.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;

use super::access_token::AccessToken;
use super::cooldown::Cooldown;
use super::credential::{CacheKey, Credential};
use super::freshness::{Freshness, MAX_LIFETIME, Predecessor, State};
use super::gettoken::GetToken;
use super::lease::{Adoptable, SharedLevel};
use super::source::TokenSource;
use super::store::TokenStore;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::middleware::{self, RetryConfig};

/// Caches access tokens, for any number of credentials and clients, and decides when its
/// [`TokenSource`] (by default WeCom's `gettoken`) fetches a new one.
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
/// - **Bad credentials are final:** a fetch answered 40001/40013 (or another configuration
///   errcode) is returned to every caller for the next 10 s without asking again, because
///   WeCom bans an IP that keeps fetching with a bad secret.
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
    source: Arc<dyn TokenSource>,
    clock: Arc<dyn Clock>,
    freshness: Freshness,
    generation: AtomicU64,
    fetches: AtomicU64,
    cooldown: Cooldown,
    /// The level shared with other processes, if any.
    shared: Option<SharedLevel>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("cached_tokens", &self.inner.cache.entry_count())
            .field("freshness", &self.inner.freshness)
            .field("clock", &self.inner.clock)
            .field("source", &self.inner.source)
            .field("store", &self.inner.shared)
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
        if let Some(shared) = &self.inner.shared {
            shared.remember_rejected(credential.key(), rejected.as_str());
        }
        // With a shared store, a load that began before the refusal (a cold start reading the
        // store) may still bring the refused token back, under a new generation: drop it by
        // its value and load once more. After the first round no load can adopt it again.
        let rounds = if self.inner.shared.is_some() { 2 } else { 1 };
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

    /// How many fetches this provider has started (`gettoken` requests with the default
    /// source), including ones that failed.
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// How many tokens the cache holds (approximate: moka counts lazily).
    pub fn cached_tokens(&self) -> u64 {
        self.inner.cache.entry_count()
    }

    /// Runs the cache's pending maintenance (eviction, counts): for tests and benchmarks.
    #[doc(hidden)]
    pub async fn run_pending_tasks(&self) {
        self.inner.cache.run_pending_tasks().await;
    }

    /// The provider's clock, which its clients follow too (a test's manual clock moves token
    /// freshness and the checks of time ranges alike).
    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
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
        let now = self.inner.clock.now();
        self.inner.cooldown.check(credential.key(), now).await?;
        self.obtain(credential, predecessor).await
    }

    /// A new token: from the shared store when there is one, else (or when the store is down)
    /// from the source.
    async fn obtain(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        match &self.inner.shared {
            Some(shared) => {
                let adopt = |adoptable| self.adopt(adoptable);
                let fetch = || self.fetch(credential, predecessor);
                shared.obtain(credential, predecessor, &adopt, fetch).await
            }
            None => self.fetch(credential, predecessor).await,
        }
    }

    /// A token another process stored, unless it is already too close to its end.
    fn adopt(&self, adoptable: Adoptable) -> Option<AccessToken> {
        let Adoptable {
            stored,
            lifetime,
            reissued,
        } = adoptable;
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

    /// One fetch from the source; a configuration error starts the cooldown.
    async fn fetch(
        &self,
        credential: &Credential,
        predecessor: Predecessor<'_>,
    ) -> Result<AccessToken> {
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let timer = crate::telemetry::Timer::start();
        let fetched = self.inner.source.fetch(credential).await;
        crate::telemetry::token_fetched(credential.kind(), timer, fetched.is_ok());
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(error) => {
                let now = self.inner.clock.now();
                self.inner
                    .cooldown
                    .note(credential.key(), &error, now)
                    .await;
                return Err(error);
            }
        };
        // WeCom says 7200 s; a source that claims more than a day is not believed further.
        let lifetime = fetched.expires_in.min(MAX_LIFETIME);
        let generation = self.inner.generation.fetch_add(1, Ordering::Relaxed) + 1;
        // Then no new token exists before this one expires.
        let reissued = predecessor.is_reissued_as(&fetched.value);
        if reissued {
            tracing::debug!(credential = ?credential.key(),
                "the source returned the current token; using it until it expires");
        }
        Ok(AccessToken::fetched(
            fetched.value,
            generation,
            self.inner.clock.now(),
            lifetime,
            reissued,
        ))
    }
}

/// Pause after a failed background refresh before the next one may start.
const REFRESH_RETRY_PAUSE: Duration = Duration::from_secs(5);

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
    source: Option<Arc<dyn TokenSource>>,
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
            source: None,
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

    pub(crate) fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
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

    /// Where tokens come from (default: WeCom's `gettoken` with the credential's corp id and
    /// secret, through [`http_client`](Self::http_client) with [`retry`](Self::retry)).
    pub fn source(mut self, source: impl TokenSource) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Retries for `gettoken` on transient failures (default [`RetryConfig::default`]); for
    /// the default source only.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// The HTTP client for `gettoken` (default: the SDK's hardened client, see
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)); for the default
    /// source only.
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
        let source: Arc<dyn TokenSource> = match self.source {
            Some(source) => source,
            None => {
                let http = match self.http {
                    Some(client) => client,
                    None => middleware::default_http_client(middleware::Timeouts::default())?,
                };
                Arc::new(GetToken::new(http, &self.retry))
            }
        };
        let cache = Cache::builder()
            .max_capacity(self.max_credentials)
            .expire_after(TokenLifetime)
            .build();
        Ok(TokenProvider {
            inner: Arc::new(Inner {
                cache,
                source,
                clock: self.clock,
                freshness: Freshness {
                    margin: self.margin,
                    ahead: self.ahead,
                },
                generation: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
                cooldown: Cooldown::new(self.max_credentials),
                shared: self
                    .store
                    .map(|store| SharedLevel::new(store, self.max_credentials)),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::cooldown::CONFIG_ERROR_COOLDOWN;

    /// A gettoken server answering `first`, then `rest` for ever after.
    async fn gettoken_server(
        first: serde_json::Value,
        rest: serde_json::Value,
    ) -> wiremock::MockServer {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path(crate::spec::GETTOKEN.path))
            .respond_with(ResponseTemplate::new(200).set_body_json(first))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(path(crate::spec::GETTOKEN.path))
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
