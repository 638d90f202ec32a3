//! The token layer of the middleware stack: inject the current token; on rejection, compare-and-refresh and replay once.

use async_trait::async_trait;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use super::access_token::AccessToken;
use super::credential::Credential;
use super::provider::TokenProvider;
use crate::error::Error;
use crate::middleware::{CallInfo, Classified, SdkFailure};
use crate::replay::Verdict;

/// The credential whose token a call carries, put in the request's extensions by a client
/// that shares its stack with other clients (a provider's tenants); without it the layer
/// uses its own.
#[derive(Clone)]
pub(crate) struct CallCredential(pub(crate) Credential);

pub(crate) struct TokenLayer {
    provider: TokenProvider,
    credential: Credential,
}

impl TokenLayer {
    pub(crate) fn new(provider: TokenProvider, credential: Credential) -> Self {
        Self {
            provider,
            credential,
        }
    }
}

fn endpoint_of(ext: &Extensions) -> &str {
    ext.get::<CallInfo>().map_or("", |info| &info.endpoint)
}

fn token_failure(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::Middleware(SdkFailure(error).into())
}

/// Puts the token in the query parameter its kind names (`access_token` for a corp's,
/// `suite_access_token`, `provider_access_token`), as the call's [`CallInfo`] says.
fn with_token(request: &mut Request, ext: &Extensions, token: &AccessToken) {
    let param = ext
        .get::<CallInfo>()
        .and_then(|info| info.token.query_param())
        .unwrap_or("access_token");
    request
        .url_mut()
        .query_pairs_mut()
        .append_pair(param, token.as_str());
}

#[async_trait]
impl Middleware for TokenLayer {
    async fn handle(
        &self,
        mut req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        // A client sharing this stack with others (a provider's tenants) names its own.
        let credential = ext
            .get::<CallCredential>()
            .map_or_else(|| self.credential.clone(), |c| c.0.clone());
        let token = self
            .provider
            .token(&credential)
            .await
            .map_err(token_failure)?;
        crate::telemetry::token_used(
            credential.kind(),
            token.obtained_at(),
            self.provider.clock(),
        );
        // Kept unsent for the one replay; bodies here are always in memory, so this is cheap.
        let replay = req.try_clone();
        with_token(&mut req, ext, &token);
        let response = next.clone().run(req, ext).await?;
        let rejected = response
            .extensions()
            .get::<Classified>()
            .is_some_and(|c| c.verdict == Verdict::RefreshAndReplay);
        let (true, Some(mut again)) = (rejected, replay) else {
            return Ok(response);
        };
        // WeCom rejected the token before executing the call: safe to replay any call, once.
        // Boxed, like the provider's slow path: rare, and its future is large.
        let fresh = Box::pin(self.provider.refresh_rejected(&credential, &token))
            .await
            .map_err(token_failure)?;
        crate::telemetry::token_replay(crate::telemetry::endpoint(endpoint_of(ext)));
        with_token(&mut again, ext, &fresh);
        next.run(again, ext).await
    }
}
