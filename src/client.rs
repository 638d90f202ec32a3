//! [`Client`]: the entry point. Cheap to clone; all clones share one connection pool, one
//! middleware stack and one token cache.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

use crate::spec::{Endpoint, HttpMethod};
use reqwest_middleware::ClientWithMiddleware;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::budget::RateBudgets;
use crate::budget::layer::BudgetLayer;
use crate::call;
use crate::clock::Clock;
use crate::endpoint::Endpoints;
use crate::error::{Error, Result};
use crate::middleware::CallInfo;
use crate::middleware::{self, BodyLimits, RetryConfig, Timeouts};
use crate::operation::{Decode, Operation};
use crate::spec::Idempotency;
use crate::token::{
    AccessToken, CallCredential, Credential, DEFAULT_API_BASE, TokenLayer, TokenProvider,
    TokenStore, parse_api_base,
};

/// A WeCom API client that manages its own access token.
///
/// ```no_run
/// use wecom_kf::Client;
/// use wecom_kf::kf::account::ListAccounts;
///
/// # async fn demo() -> Result<(), wecom_kf::Error> {
/// let client = Client::builder()
///     .corp_id("ww0123456789")
///     .corp_secret("the 微信客服 secret")
///     .build()?;
/// let page = client.kf().account().list(ListAccounts::new().limit(100)).await?;
/// for account in page.account_list {
///     println!("{} {}", account.open_kfid, account.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A client's own part: its credential, and the stack it may share with other clients.
struct Inner {
    shared: Arc<Shared>,
    credential: Credential,
}

/// What clients derived with [`Client::with_credential`] share: the connection pool, the
/// middleware stack and the token provider. The token layer takes each call's credential
/// from its [`CallInfo`].
struct Shared {
    http: ClientWithMiddleware,
    endpoints: Endpoints,
    provider: TokenProvider,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("credential", &self.inner.credential)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Configure a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from the environment: `WECOM_CORP_ID`, `WECOM_CORP_SECRET`, and optionally
    /// `WECOM_API_BASE`.
    pub fn from_env() -> Result<Self> {
        Self::builder().from_env()?.build()
    }

    /// The time by the client's clock (see [`ClientBuilder::clock`]).
    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.inner.shared.provider.clock().now()
    }

    /// The current access token, fetched if needed. Only for APIs this SDK does not wrap: every
    /// call made through the client gets its token by itself.
    pub async fn access_token(&self) -> Result<AccessToken> {
        self.inner
            .shared
            .provider
            .token(&self.inner.credential)
            .await
    }

    /// The token provider this client uses (possibly shared with other clients).
    pub fn token_provider(&self) -> &TokenProvider {
        &self.inner.shared.provider
    }

    /// The credential this client uses.
    pub fn credential(&self) -> &Credential {
        &self.inner.credential
    }

    /// A client for `credential` on this client's stack, connection pool and token provider:
    /// a few hundred bytes instead of a stack of its own (a provider's tenants). The
    /// credential must be at this client's API base and fetched by its token provider.
    pub(crate) fn with_credential(&self, credential: Credential) -> Client {
        Client {
            inner: Arc::new(Inner {
                shared: self.inner.shared.clone(),
                credential,
            }),
        }
    }

    /// A request on the shared stack, carrying this client's credential to the token layer.
    fn request(&self, method: Method, url: Url) -> reqwest_middleware::RequestBuilder {
        self.inner
            .shared
            .http
            .request(method, url)
            .with_extension(CallCredential(self.inner.credential.clone()))
    }

    /// POSTs `body` as JSON to any endpoint (e.g. one this SDK does not wrap), with the same
    /// token handling and retry rules as the typed calls. The call is treated as not idempotent:
    /// it is never replayed once it may have reached WeCom. Use
    /// [`post_json_idempotent`](Self::post_json_idempotent) for reads and idempotent writes.
    ///
    /// ```no_run
    /// # async fn demo(client: wecom_kf::Client) -> Result<(), wecom_kf::Error> {
    /// let v: serde_json::Value = client
    ///     .post_json("/cgi-bin/message/send", &serde_json::json!({"touser": "zhangsan"}))
    ///     .await?;
    /// # let _ = v; Ok(()) }
    /// ```
    pub async fn post_json<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(
            Method::POST,
            path.to_owned(),
            Some(body),
            Idempotency::NotIdempotent,
        )
        .await
    }

    /// Like [`post_json`](Self::post_json), for calls that are safe to replay (retried after
    /// timeouts, dropped connections and transient answers).
    pub async fn post_json_idempotent<B, T>(&self, path: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.send_json(
            Method::POST,
            path.to_owned(),
            Some(body),
            Idempotency::Idempotent,
        )
        .await
    }

    /// GETs any endpoint with `query` parameters (the token is added by the SDK). GETs are
    /// treated as idempotent.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T> {
        self.get_with(
            CallInfo::new(path.to_owned(), Idempotency::Idempotent),
            query,
        )
        .await
    }

    /// Validates `op` and sends it as its endpoint's row in the table says (POST: a JSON body;
    /// GET: the query), then decodes the answer: the one call every handle method makes.
    pub(crate) async fn execute<O: Operation>(&self, op: O) -> Result<O::Response> {
        op.validate()?;
        let endpoint = O::ENDPOINT;
        let wire = match endpoint.method {
            HttpMethod::Post => {
                // The endpoint's own call info, so that its token kind (corp or suite) is used.
                let url = self.endpoint_url(endpoint.path)?;
                let bytes = serde_json::to_vec(&op)
                    .map_err(|e| Error::invalid("body", format!("cannot be serialised: {e}")))?;
                let request = self
                    .request(Method::POST, url)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(bytes);
                call::send(request, CallInfo::of(endpoint)).await?
            }
            HttpMethod::Get => {
                let url = self.endpoint_url(endpoint.path)?;
                let info = CallInfo::of(endpoint);
                call::send(self.request(Method::GET, url).query(&op), info).await?
            }
        };
        Ok(O::Response::decode(wire))
    }

    async fn get_with<T: DeserializeOwned>(
        &self,
        info: CallInfo,
        query: &[(&str, &str)],
    ) -> Result<T> {
        let mut url = self.endpoint_url(&info.endpoint)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        call::send(self.request(Method::GET, url), info).await
    }

    pub(crate) async fn send_json<B, T>(
        &self,
        method: Method,
        endpoint: impl Into<Cow<'static, str>>,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let info = CallInfo::new(endpoint, idempotency);
        let url = self.endpoint_url(&info.endpoint)?;
        let mut request = self.request(method, url);
        if let Some(body) = body {
            // Serialised up front: a body that cannot be serialised is the caller's input error.
            let bytes = serde_json::to_vec(body)
                .map_err(|e| Error::invalid("body", format!("cannot be serialised: {e}")))?;
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        call::send(request, info).await
    }

    /// POSTs an already encoded body (e.g. multipart) with `content_type`. The body is bytes,
    /// so the retry and token layers can replay it.
    pub(crate) async fn send_bytes<T: DeserializeOwned>(
        &self,
        endpoint: &'static Endpoint,
        query: &[(&str, &str)],
        content_type: &str,
        body: bytes::Bytes,
    ) -> Result<T> {
        let info = CallInfo::of(endpoint);
        let mut url = self.endpoint_url(endpoint.path)?;
        url.query_pairs_mut().extend_pairs(query);
        let request = self
            .request(Method::POST, url)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(body);
        call::send(request, info).await
    }

    /// GETs an endpoint whose success is not JSON (`media/get`); a JSON answer with a non-zero
    /// errcode is still an [`Error::Api`]. GETs are idempotent.
    pub(crate) async fn get_raw(
        &self,
        endpoint: &'static Endpoint,
        query: &[(&str, &str)],
    ) -> Result<call::RawAnswer> {
        let info = CallInfo::of(endpoint);
        let mut url = self.endpoint_url(endpoint.path)?;
        url.query_pairs_mut().extend_pairs(query);
        call::send_raw(self.request(Method::GET, url), info).await
    }

    fn endpoint_url(&self, path: &str) -> Result<Url> {
        self.inner.shared.endpoints.url(path)
    }
}

/// Configures a [`Client`].
///
/// Required: [`corp_id`](Self::corp_id) and [`corp_secret`](Self::corp_secret).
#[derive(Default)]
#[must_use]
pub struct ClientBuilder {
    corp_id: Option<String>,
    corp_secret: Option<secrecy::SecretString>,
    base_url: Option<String>,
    retry: RetryConfig,
    timeouts: Timeouts,
    provider: Option<TokenProvider>,
    store: Option<Arc<dyn TokenStore>>,
    http: Option<reqwest::Client>,
    clock: Option<Arc<dyn Clock>>,
    limits: BodyLimits,
    below: Option<Arc<dyn reqwest_middleware::Middleware>>,
    credential: Option<Credential>,
    budgets: Option<RateBudgets>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &self.corp_secret.as_ref().map(|_| "***"))
            .field(
                "base_url",
                &self.base_url.as_deref().map(crate::endpoint::shown_raw_url),
            )
            .field("retry", &self.retry)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The corp id (`corpid`, starts with `ww`).
    pub fn corp_id(mut self, corp_id: impl Into<String>) -> Self {
        self.corp_id = Some(corp_id.into());
        self
    }

    /// The app secret whose token the calls use; for the kf APIs, the 微信客服 secret (or that
    /// of an app allowed to call them). Kept in a [`secrecy::SecretString`].
    pub fn corp_secret(mut self, secret: impl Into<String>) -> Self {
        self.corp_secret = Some(secrecy::SecretString::from(secret.into()));
        self
    }

    /// Keep the calls within `budgets` (shared by every client given a clone): each attempt
    /// waits for room or fails unsent with [`Error::RateLimited`], and a 45009 closes its
    /// scope. Default: no budgets (WeCom's own limits, found by 45009).
    pub fn rate_budgets(mut self, budgets: RateBudgets) -> Self {
        self.budgets = Some(budgets);
        self
    }

    /// The credential whose token the calls use, in place of [`corp_id`](Self::corp_id),
    /// [`corp_secret`](Self::corp_secret) and [`base_url`](Self::base_url): e.g. an authorised
    /// corp's ([`provider::authorised_corp_credential`](crate::provider::authorised_corp_credential)),
    /// with a [`token_provider`](Self::token_provider) whose source fetches it.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// The API base (default `https://qyapi.weixin.qq.com`); a proxy prefix is kept.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Retries of transient failures (default [`RetryConfig::default`]).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Per-attempt timeout, connect to end of body (default 10 s). Ignored with
    /// [`http_client`](Self::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.request = timeout;
        self
    }

    /// Connect timeout (default 5 s). Ignored with [`http_client`](Self::http_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The clock for everything the client decides by the time: token freshness and the
    /// checks of time ranges (default [`SystemClock`](crate::clock::SystemClock); tests pass a
    /// [`ManualClock`](crate::clock::ManualClock)). A provider passed to
    /// [`token_provider`](Self::token_provider) brings its own
    /// ([`TokenProviderBuilder::clock`](crate::token::TokenProviderBuilder::clock)), and the
    /// client follows it.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Share a token provider (and its cache) with other clients.
    pub fn token_provider(mut self, provider: TokenProvider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Share tokens with other processes through `store` (e.g. `RedisTokenStore`, feature
    /// `redis`), so that one `gettoken` serves every replica. For the provider this client
    /// builds; a provider passed to [`token_provider`](Self::token_provider) brings its own
    /// ([`TokenProviderBuilder::token_store`](crate::token::TokenProviderBuilder::token_store)).
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The largest JSON answer read (default 8 MiB; WeCom's are far smaller). A larger one is
    /// not read further and fails as
    /// [`TransportErrorKind::ResponseTooLarge`](crate::TransportErrorKind::ResponseTooLarge),
    /// never retried (for a call that is not idempotent:
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) around it).
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.limits.json = bytes;
        self
    }

    /// The largest file [`media().download`](crate::media::MediaApi::download) reads (default
    /// 24 MiB: WeCom's largest temporary media is 20 MB).
    pub fn max_file_bytes(mut self, bytes: usize) -> Self {
        self.limits.file = bytes;
        self
    }

    /// Use your own `reqwest::Client` (proxies, TLS settings, …). Configure it with
    /// `redirect(Policy::none())` and `referer(false)`: a redirect would carry the token.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Not public API: puts `transport` under the stack in place of the network, so that the
    /// benchmarks can measure the stack alone. Feature `bench-internals`.
    #[cfg(feature = "bench-internals")]
    #[doc(hidden)]
    pub fn bench_transport(mut self, transport: impl reqwest_middleware::Middleware) -> Self {
        self.below = Some(Arc::new(transport));
        self
    }

    /// The transport under the stack in place of the network, already shared (the provider
    /// registry's `bench_transport`).
    #[cfg_attr(not(feature = "bench-internals"), allow(dead_code))]
    pub(crate) fn shared_transport(
        mut self,
        transport: Arc<dyn reqwest_middleware::Middleware>,
    ) -> Self {
        self.below = Some(transport);
        self
    }

    /// Fills in unset fields from `WECOM_CORP_ID`, `WECOM_CORP_SECRET` and `WECOM_API_BASE`.
    pub fn from_env(mut self) -> Result<Self> {
        if self.corp_id.is_none() {
            self = self.corp_id(env("WECOM_CORP_ID")?);
        }
        if self.corp_secret.is_none() {
            self = self.corp_secret(env("WECOM_CORP_SECRET")?);
        }
        if self.base_url.is_none()
            && let Ok(base) = std::env::var("WECOM_API_BASE")
            && !base.trim().is_empty()
        {
            self = self.base_url(base);
        }
        Ok(self)
    }

    /// Builds the client. Fails with [`Error::Config`] on a missing corp id or secret or a bad
    /// base URL; nothing is sent.
    pub fn build(self) -> Result<Client> {
        use secrecy::ExposeSecret;
        let (credential, api_base) = match self.credential {
            Some(credential) => {
                let api_base = credential.api_base().clone();
                (credential, api_base)
            }
            None => {
                let corp_id = self
                    .corp_id
                    .ok_or_else(|| Error::Config("corp id is not set".into()))?;
                let secret = self
                    .corp_secret
                    .ok_or_else(|| Error::Config("corp secret is not set".into()))?;
                let base = self.base_url.as_deref().unwrap_or(DEFAULT_API_BASE);
                let api_base = parse_api_base(base)?;
                let credential = Credential::with_api_base(corp_id, secret.expose_secret(), base)?;
                (credential, api_base)
            }
        };
        let http = match self.http {
            Some(client) => client,
            None => middleware::default_http_client(self.timeouts)?,
        };
        let provider = match self.provider {
            Some(_) if self.clock.is_some() => {
                return Err(Error::Config(
                    "a clock was set on a client with a shared token provider: set it on the \
                     provider (TokenProviderBuilder::clock), which the client follows"
                        .into(),
                ));
            }
            Some(provider) => provider,
            None => {
                let mut builder = TokenProvider::builder()
                    .http_client(http.clone())
                    .retry(self.retry.clone());
                if let Some(clock) = self.clock {
                    builder = builder.shared_clock(clock);
                }
                if let Some(store) = self.store {
                    builder = builder.shared_store(store);
                }
                builder.build()?
            }
        };
        let token = TokenLayer::new(provider.clone(), credential.clone());
        let budget = self.budgets.map(|budgets| {
            Arc::new(BudgetLayer::new(budgets, credential.clone()))
                as Arc<dyn reqwest_middleware::Middleware>
        });
        Ok(Client {
            inner: Arc::new(Inner {
                shared: Arc::new(Shared {
                    http: middleware::stack_with(
                        http,
                        &self.retry,
                        Some(Arc::new(token)),
                        budget,
                        self.limits,
                        self.below,
                    ),
                    endpoints: Endpoints::new(api_base),
                    provider,
                }),
                credential,
            }),
        })
    }
}

fn env(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Error::Config(format!(
            "environment variable {name} is not set"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// One clock per client: a second one beside a shared provider's would split token
    /// freshness from the checks of time ranges.
    #[test]
    fn a_clock_beside_a_shared_provider_is_refused() {
        let builder = || Client::builder().corp_id("ww1").corp_secret("s1");
        let provider = TokenProvider::new().unwrap();
        let both = builder()
            .clock(ManualClock::new())
            .token_provider(provider.clone())
            .build();
        assert!(matches!(both, Err(Error::Config(m)) if m.contains("TokenProviderBuilder::clock")));
        let clock = ManualClock::new();
        let own = builder().clock(clock.clone()).build().unwrap();
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            own.now(),
            clock.now(),
            "the client follows the clock it was given"
        );
        assert!(builder().token_provider(provider).build().is_ok());
    }
}
