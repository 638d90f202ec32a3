//! The provider's [`TokenSource`]s: a suite's token (`service/get_suite_token`), the
//! provider's (`service/get_provider_token`) and an authorised corp's
//! (`service/get_corp_token`), and the credentials that key them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;
use serde_json::json;

use super::ticket::{self, SuiteTicketStore};
use crate::call;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::middleware::{self, BodyLimits, CallInfo, RetryConfig, Timeouts};
use crate::spec::{self, Endpoint, TokenKind};
use crate::token::{Credential, FetchedToken, TokenProvider, TokenSource};

/// A suite's credential (suite id, suite secret) at `api_base`: the key of its
/// `suite_access_token`, apart from every corp's and every other suite's.
pub fn suite_credential(suite_id: &str, suite_secret: &str, api_base: &str) -> Result<Credential> {
    Credential::scoped("suite", suite_id, suite_secret, api_base)
}

/// The provider's credential (its corp id, its provider secret) at `api_base`: the key of its
/// `provider_access_token`.
pub fn provider_credential(
    provider_corp_id: &str,
    provider_secret: &str,
    api_base: &str,
) -> Result<Credential> {
    Credential::scoped("provider", provider_corp_id, provider_secret, api_base)
}

/// An authorised corp's credential under `suite_id` (its corp id and permanent code) at
/// `api_base`: keyed by (suite, corp), so two suites authorised by one corp never share a
/// token. Give it to [`ClientBuilder::credential`](crate::ClientBuilder::credential) with a
/// [`TokenProvider`] whose source is a [`CorpTokenSource`] of that suite.
pub fn authorised_corp_credential(
    suite_id: &str,
    auth_corpid: &str,
    permanent_code: &str,
    api_base: &str,
) -> Result<Credential> {
    tenant_credential(
        suite_id,
        auth_corpid,
        permanent_code,
        &Arc::new(crate::token::parse_api_base(api_base)?),
    )
}

/// [`authorised_corp_credential`] on a parsed API base that the tenants share.
pub(crate) fn tenant_credential(
    suite_id: &str,
    auth_corpid: &str,
    permanent_code: &str,
    api_base: &Arc<url::Url>,
) -> Result<Credential> {
    Credential::scoped_at(
        &format!("suite:{suite_id}"),
        auth_corpid,
        permanent_code,
        api_base,
    )
}

fn stack() -> Result<ClientWithMiddleware> {
    let http = middleware::default_http_client(Timeouts::default())?;
    Ok(middleware::stack(
        http,
        &RetryConfig::default(),
        None,
        BodyLimits::default(),
        None,
    ))
}

fn url(credential: &Credential, endpoint: &Endpoint) -> Result<url::Url> {
    credential
        .api_base()
        .join(endpoint.path.trim_start_matches('/'))
        .map_err(|e| Error::Config(format!("cannot build the {} URL: {e}", endpoint.path)))
}

async fn post<T: serde::de::DeserializeOwned>(
    http: &ClientWithMiddleware,
    url: url::Url,
    endpoint: &'static Endpoint,
    body: &serde_json::Value,
) -> Result<T> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| Error::Config(format!("cannot encode the request: {e}")))?;
    let request = http
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(bytes);
    call::send(request, CallInfo::of(endpoint)).await
}

#[derive(Deserialize)]
struct Reply {
    #[serde(alias = "suite_access_token", alias = "provider_access_token")]
    access_token: String,
    expires_in: u64,
}

fn fetched(reply: Reply, endpoint: &Endpoint) -> Result<FetchedToken> {
    FetchedToken::new(reply.access_token, Duration::from_secs(reply.expires_in)).map_err(
        |refused| Error::Decode {
            endpoint: endpoint.path.into(),
            status: 200,
            reason: refused.to_string(),
            excerpt: String::new(),
        },
    )
}

/// Fetches a suite's `suite_access_token` (`service/get_suite_token`) with the suite id and
/// secret of the credential ([`suite_credential`]) and the newest suite_ticket of a
/// [`SuiteTicketStore`]. No usable ticket is [`Error::SuiteTicketUnavailable`], at once and
/// without a call; so is WeCom's 40085.
pub struct SuiteTokenSource {
    http: ClientWithMiddleware,
    tickets: Arc<dyn SuiteTicketStore>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for SuiteTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteTokenSource")
            .field("tickets", &self.tickets)
            .finish_non_exhaustive()
    }
}

impl SuiteTokenSource {
    /// A source reading tickets from `tickets`, judging their age by the system clock.
    pub fn new(tickets: Arc<dyn SuiteTicketStore>) -> Result<Self> {
        Ok(Self {
            http: stack()?,
            tickets,
            clock: Arc::new(SystemClock),
        })
    }

    /// Judges ticket ages by `clock` (share the token provider's in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl TokenSource for SuiteTokenSource {
    async fn fetch(&self, credential: &Credential) -> Result<FetchedToken> {
        let suite_id = credential.corp_id();
        let ticket = ticket::current(&*self.tickets, suite_id, self.clock.now()).await?;
        tracing::debug!(suite_id, "fetching suite access token");
        let body = json!({
            "suite_id": suite_id,
            "suite_secret": credential.secret(),
            "suite_ticket": ticket.expose_ticket(),
        });
        let endpoint = &spec::GET_SUITE_TOKEN;
        let reply = post(&self.http, url(credential, endpoint)?, endpoint, &body).await;
        match reply {
            Ok(reply) => fetched(reply, endpoint),
            Err(Error::Api(e)) if e.code() == crate::errcode::INVALID_SUITE_TICKET => {
                Err(Error::SuiteTicketUnavailable {
                    suite_id: suite_id.to_owned(),
                    reason: format!(
                        "WeCom refused the newest stored ticket (40085; TimeStamp {})",
                        ticket.timestamp()
                    ),
                })
            }
            Err(other) => Err(other),
        }
    }
}

/// Fetches the provider's `provider_access_token` (`service/get_provider_token`) with the
/// corp id and provider secret of the credential ([`provider_credential`]).
pub struct ProviderTokenSource {
    http: ClientWithMiddleware,
}

impl fmt::Debug for ProviderTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderTokenSource")
    }
}

impl ProviderTokenSource {
    /// A source through the SDK's default HTTP client and retry.
    pub fn new() -> Result<Self> {
        Ok(Self { http: stack()? })
    }
}

#[async_trait]
impl TokenSource for ProviderTokenSource {
    async fn fetch(&self, credential: &Credential) -> Result<FetchedToken> {
        tracing::debug!(
            corp_id = credential.corp_id(),
            "fetching provider access token"
        );
        let body = json!({
            "corpid": credential.corp_id(),
            "provider_secret": credential.secret(),
        });
        let endpoint = &spec::GET_PROVIDER_TOKEN;
        let reply = post(&self.http, url(credential, endpoint)?, endpoint, &body).await?;
        fetched(reply, endpoint)
    }
}

/// Fetches an authorised corp's `access_token` (`service/get_corp_token`) with the corp id and
/// permanent code of the credential ([`authorised_corp_credential`]) and the suite's token
/// from a suite [`TokenProvider`] (shared by every corp of the suite: a herd of first calls
/// across N corps costs one suite token). When WeCom refuses the suite token (40082, 42009)
/// it is replaced once (compare-and-refresh: a storm costs one fetch) and the call made again.
pub struct CorpTokenSource {
    http: ClientWithMiddleware,
    suites: TokenProvider,
    suite: Credential,
}

impl fmt::Debug for CorpTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorpTokenSource")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl CorpTokenSource {
    /// A source for the corps of the suite `suite` ([`suite_credential`]), whose tokens come
    /// from `suites` (a provider with a [`SuiteTokenSource`]).
    pub fn new(suites: TokenProvider, suite: Credential) -> Result<Self> {
        Ok(Self {
            http: stack()?,
            suites,
            suite,
        })
    }

    async fn once(&self, credential: &Credential, suite_token: &str) -> Result<FetchedToken> {
        let endpoint = &spec::GET_CORP_TOKEN;
        let mut url = url(credential, endpoint)?;
        if let Some(param) = endpoint.token.query_param() {
            url.query_pairs_mut().append_pair(param, suite_token);
        }
        let body = json!({
            "auth_corpid": credential.corp_id(),
            "permanent_code": credential.secret(),
        });
        let reply = post(&self.http, url, endpoint, &body).await?;
        fetched(reply, endpoint)
    }
}

#[async_trait]
impl TokenSource for CorpTokenSource {
    async fn fetch(&self, credential: &Credential) -> Result<FetchedToken> {
        tracing::debug!(
            suite_id = self.suite.corp_id(),
            auth_corpid = credential.corp_id(),
            "fetching authorised corp access token"
        );
        let suite_token = self.suites.token(&self.suite).await?;
        match self.once(credential, suite_token.as_str()).await {
            Err(Error::Api(e)) if crate::replay::rejects_token(TokenKind::Suite, e.code()) => {
                let fresh =
                    Box::pin(self.suites.refresh_rejected(&self.suite, &suite_token)).await?;
                self.once(credential, fresh.as_str()).await
            }
            done => done,
        }
    }
}
