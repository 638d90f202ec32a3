//! The tenant registry: a [`Provider`] hands out a [`Client`] per authorised corp, built
//! lazily from the permanent-code store and kept in bounded memory.
//!
//! Every tenant shares one suite [`TokenProvider`], one corp [`TokenProvider`] and one
//! middleware stack; a tenant's own part is its credential (a few hundred bytes). A cold herd
//! across tenants therefore costs one `get_suite_token` and one `get_corp_token` per tenant.
//! The registry reads the code store on a miss, so a corp authorised on one replica is usable
//! on every replica that shares the stores.

use std::fmt;
use std::sync::Arc;

use super::codes::PermanentCodeStore;
use super::sources::{CorpTokenSource, SuiteTokenSource, tenant_credential};
use super::suite::SuiteApi;
use super::suite_credential;
use super::ticket::SuiteTicketStore;
use crate::budget::RateBudgets;
use crate::client::Client;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::token::{Credential, DEFAULT_API_BASE, TokenProvider, TokenStore};

/// The default bound on cached tenants ([`ProviderBuilder::max_tenants`]).
pub const DEFAULT_MAX_TENANTS: u64 = 100_000;

/// A suite's tenants: a [`Client`] per authorised corp ([`corp`](Self::corp)). Cheap to
/// clone; clones share the cache and the token providers.
///
/// ```no_run
/// use std::sync::Arc;
/// use wecom_kf::kf::account::ListAccounts;
/// use wecom_kf::provider::codes::MemoryPermanentCodeStore;
/// use wecom_kf::provider::{MemorySuiteTicketStore, Provider};
///
/// # async fn run() -> wecom_kf::Result<()> {
/// let provider = Provider::builder()
///     .suite("wwsuite", "suite-secret")
///     .ticket_store(Arc::new(MemorySuiteTicketStore::new()))
///     .code_store(Arc::new(MemoryPermanentCodeStore::new()))
///     .build()?;
/// let client = provider.corp("wwcorp").await?;
/// let page = client.kf().account().list(ListAccounts::new()).await?;
/// # let _ = page; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    suite_id: String,
    /// Parsed once: every tenant's credential shares it.
    api_base: Arc<url::Url>,
    tickets: Arc<dyn SuiteTicketStore>,
    codes: Arc<dyn PermanentCodeStore>,
    clock: Arc<dyn Clock>,
    suites: TokenProvider,
    /// The suite's own calls (install flow, auth-code exchange, auth info).
    suite: Client,
    corps: TokenProvider,
    /// Never called itself: the stack, pool and corp token provider every tenant shares.
    base: Client,
    tenants: moka::future::Cache<String, Client>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("suite_id", &self.inner.suite_id)
            .field("codes", &self.inner.codes)
            .field("cached_tenants", &self.inner.tenants.entry_count())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Configure a registry.
    pub fn builder() -> ProviderBuilder {
        ProviderBuilder::default()
    }

    /// The suite id.
    pub fn suite_id(&self) -> &str {
        &self.inner.suite_id
    }

    /// The client of `auth_corpid`: from the cache, or built from its permanent code (one
    /// store read, shared by concurrent first calls). Its first call fetches the corp's token
    /// (`service/get_corp_token`), on the suite token shared by every tenant.
    ///
    /// A corp with no code in the store is [`Error::NotAuthorised`], with nothing sent; a
    /// failing store is its error. Neither is cached: the next call reads the store again.
    pub async fn corp(&self, auth_corpid: &str) -> Result<Client> {
        let inner = &self.inner;
        inner
            .tenants
            .try_get_with_by_ref(auth_corpid, async {
                let code = inner
                    .codes
                    .get(&inner.suite_id, auth_corpid)
                    .await?
                    .ok_or_else(|| Error::NotAuthorised {
                        suite_id: inner.suite_id.clone(),
                        auth_corpid: auth_corpid.to_owned(),
                    })?;
                let credential = tenant_credential(
                    &inner.suite_id,
                    auth_corpid,
                    code.expose(),
                    &inner.api_base,
                )?;
                Ok::<_, Error>(inner.base.with_credential(credential))
            })
            .await
            .map_err(|shared: Arc<Error>| (*shared).clone())
    }

    /// Drops the cached client of `auth_corpid` and the corp token this process cached for
    /// it (call it on `cancel_auth` and `reset_permanent_code`). The next [`corp`](Self::corp)
    /// reads the store again. A client no longer cached (evicted) names its token through the
    /// code still in the store, so call this before deleting or rotating the code. A token
    /// already in a shared token store stays there until it expires; WeCom refuses it once the
    /// corp cancelled.
    pub async fn forget(&self, auth_corpid: &str) {
        let inner = &self.inner;
        let credential = match inner.tenants.remove(auth_corpid).await {
            Some(client) => Some(client.credential().clone()),
            None => match inner.codes.get(&inner.suite_id, auth_corpid).await {
                Ok(Some(code)) => {
                    tenant_credential(&inner.suite_id, auth_corpid, code.expose(), &inner.api_base)
                        .ok()
                }
                // Nothing to name the token by: it expires on its own.
                _ => None,
            },
        };
        if let Some(credential) = credential {
            inner.corps.invalidate(&credential).await;
        }
    }

    /// How many tenants are cached (approximate while the cache settles).
    pub fn cached_tenants(&self) -> u64 {
        self.inner.tenants.entry_count()
    }

    /// The suite token provider (`suite_access_token`), shared by every tenant.
    pub fn suite_tokens(&self) -> &TokenProvider {
        &self.inner.suites
    }

    /// The corp token provider (the tenants' `access_token`s), shared by every tenant.
    pub fn corp_tokens(&self) -> &TokenProvider {
        &self.inner.corps
    }

    /// The suite's own calls, on the suite token: the install link's pre-auth code and
    /// session info, the auth-code exchange, a corp's auth info.
    ///
    /// ```no_run
    /// # async fn run(provider: wecom_kf::provider::Provider) -> wecom_kf::Result<()> {
    /// let pre_auth = provider.suite().get_pre_auth_code().await?;
    /// # let _ = pre_auth; Ok(()) }
    /// ```
    pub fn suite(&self) -> SuiteApi<'_> {
        self.inner.suite.suite()
    }

    /// A fresh install link for a corp's admin (a new pre-auth code, good for 20 minutes):
    /// see [`install_link`](super::suite::install_link). To set the install's session first
    /// (test install, which apps), call [`suite`](Self::suite)`().set_session_info` with the
    /// link's `pre_auth_code`.
    pub async fn install_link(&self, redirect_uri: &str, state: Option<&str>) -> Result<url::Url> {
        // Checked first: a bad redirect costs no pre-auth code.
        super::suite::check_redirect(redirect_uri)?;
        let pre_auth = self.suite().get_pre_auth_code().await?;
        super::suite::install_link(
            &self.inner.suite_id,
            &pre_auth.pre_auth_code,
            redirect_uri,
            state,
        )
    }

    /// The client of the suite's own calls ([`suite`](Self::suite) is its API).
    pub fn suite_client(&self) -> &Client {
        &self.inner.suite
    }

    /// Where the suite_tickets are kept.
    pub fn ticket_store(&self) -> &Arc<dyn SuiteTicketStore> {
        &self.inner.tickets
    }

    /// Where the permanent codes are kept.
    pub fn code_store(&self) -> &Arc<dyn PermanentCodeStore> {
        &self.inner.codes
    }

    /// The API base the tenants call, ending in `/`.
    pub fn api_base(&self) -> &str {
        self.inner.api_base.as_str()
    }

    /// The registry's clock (token freshness, ticket ages, pending auth codes).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Runs the cache's pending maintenance (eviction, counts): for tests and benchmarks.
    #[doc(hidden)]
    pub async fn run_pending_tasks(&self) {
        self.inner.tenants.run_pending_tasks().await;
    }
}

/// Configures a [`Provider`]. Required: [`suite`](Self::suite),
/// [`ticket_store`](Self::ticket_store) and [`code_store`](Self::code_store).
#[must_use]
pub struct ProviderBuilder {
    suite: Option<(String, secrecy::SecretString)>,
    tickets: Option<Arc<dyn SuiteTicketStore>>,
    codes: Option<Arc<dyn PermanentCodeStore>>,
    store: Option<Arc<dyn TokenStore>>,
    base_url: String,
    max_tenants: u64,
    clock: Arc<dyn Clock>,
    below: Option<Arc<dyn reqwest_middleware::Middleware>>,
    budgets: Option<RateBudgets>,
}

impl Default for ProviderBuilder {
    fn default() -> Self {
        Self {
            suite: None,
            tickets: None,
            codes: None,
            store: None,
            base_url: DEFAULT_API_BASE.to_owned(),
            max_tenants: DEFAULT_MAX_TENANTS,
            clock: Arc::new(SystemClock),
            below: None,
            budgets: None,
        }
    }
}

impl fmt::Debug for ProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderBuilder")
            .field("suite_id", &self.suite.as_ref().map(|(id, _)| id))
            .field("base_url", &crate::endpoint::shown_raw_url(&self.base_url))
            .field("max_tenants", &self.max_tenants)
            .finish_non_exhaustive()
    }
}

impl ProviderBuilder {
    /// The suite (第三方应用) id and secret.
    pub fn suite(mut self, suite_id: impl Into<String>, suite_secret: impl Into<String>) -> Self {
        self.suite = Some((
            suite_id.into(),
            secrecy::SecretString::from(suite_secret.into()),
        ));
        self
    }

    /// Where the command callback keeps the suite_tickets.
    pub fn ticket_store(mut self, tickets: Arc<dyn SuiteTicketStore>) -> Self {
        self.tickets = Some(tickets);
        self
    }

    /// Where the permanent codes of the authorised corps are (shared by every replica).
    pub fn code_store(mut self, codes: Arc<dyn PermanentCodeStore>) -> Self {
        self.codes = Some(codes);
        self
    }

    /// Share the suite and corp tokens with other replicas through `store` (e.g.
    /// `RedisTokenStore`): one fetch serves them all. Default: this process only.
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The API base (default `https://qyapi.weixin.qq.com`).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// At most this many tenants cached (default [`DEFAULT_MAX_TENANTS`]); the least used
    /// are dropped first and rebuilt from the store when asked for again.
    pub fn max_tenants(mut self, n: u64) -> Self {
        self.max_tenants = n;
        self
    }

    /// Keep every tenant's calls (and the suite's own) within `budgets`: per authorised corp
    /// per API, and per egress IP per API (for a provider's IPs, build them with
    /// [`provider_ip`](crate::budget::RateBudgetsBuilder::provider_ip)). Default: none.
    pub fn rate_budgets(mut self, budgets: RateBudgets) -> Self {
        self.budgets = Some(budgets);
        self
    }

    /// The clock for token freshness and ticket ages (default the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Not public API: the benchmarks' fake transport under the tenants' stack. Feature
    /// `bench-internals`.
    #[cfg(feature = "bench-internals")]
    #[doc(hidden)]
    pub fn bench_transport(mut self, transport: impl reqwest_middleware::Middleware) -> Self {
        self.below = Some(Arc::new(transport));
        self
    }

    /// Builds the registry. Fails with [`Error::Config`] on a missing suite or store or a bad
    /// base URL; nothing is sent.
    pub fn build(self) -> Result<Provider> {
        use secrecy::ExposeSecret;
        let (suite_id, secret) = self
            .suite
            .ok_or_else(|| Error::Config("the suite (id and secret) is not set".into()))?;
        let tickets = self
            .tickets
            .ok_or_else(|| Error::Config("the suite_ticket store is not set".into()))?;
        let codes = self
            .codes
            .ok_or_else(|| Error::Config("the permanent-code store is not set".into()))?;
        let suite = suite_credential(&suite_id, secret.expose_secret(), &self.base_url)?;
        let tokens = |builder: crate::token::TokenProviderBuilder| {
            let builder = builder.shared_clock(self.clock.clone());
            match &self.store {
                Some(store) => builder.shared_store(store.clone()),
                None => builder,
            }
        };
        let suites = tokens(TokenProvider::builder())
            .source(SuiteTokenSource::new(tickets.clone())?.clock(self.clock.clone()))
            .build()?;
        let corps = tokens(TokenProvider::builder())
            .source(CorpTokenSource::new(suites.clone(), suite.clone())?)
            .max_credentials(self.max_tenants.max(1))
            .build()?;
        let suite_client = base_client(
            suite.clone(),
            suites.clone(),
            self.below.clone(),
            self.budgets.clone(),
        )?;
        let base = base_client(suite, corps.clone(), self.below, self.budgets)?;
        Ok(Provider {
            inner: Arc::new(Inner {
                suite_id,
                api_base: Arc::new(crate::token::parse_api_base(&self.base_url)?),
                tickets,
                codes,
                clock: self.clock,
                suites,
                suite: suite_client,
                corps,
                base,
                tenants: moka::future::Cache::new(self.max_tenants),
            }),
        })
    }
}

/// A client on `tokens` with the suite's credential: the suite's own client (on the suite
/// tokens), or the one whose stack every tenant shares (on the corp tokens; its credential is
/// never used for a call there: each tenant's calls name their own).
fn base_client(
    credential: Credential,
    tokens: TokenProvider,
    below: Option<Arc<dyn reqwest_middleware::Middleware>>,
    budgets: Option<RateBudgets>,
) -> Result<Client> {
    let builder = Client::builder()
        .credential(credential)
        .token_provider(tokens);
    let builder = match budgets {
        Some(budgets) => builder.rate_budgets(budgets),
        None => builder,
    };
    let builder = match below {
        Some(transport) => builder.shared_transport(transport),
        None => builder,
    };
    builder.build()
}
