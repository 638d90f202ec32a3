//! The default [`TokenSource`]: WeCom's `gettoken`, with a corp id and an app secret.

use std::time::Duration;

use async_trait::async_trait;
use reqwest_middleware::ClientWithMiddleware;
use serde::Deserialize;

use super::credential::Credential;
use super::source::{FetchedToken, TokenSource};
use crate::call;
use crate::error::{Error, Result};
use crate::middleware::{self, BodyLimits, CallInfo, RetryConfig};
use crate::spec::GETTOKEN;

/// `gettoken` through the SDK's stack (bounded retry of transient failures, tracing, redacted
/// errors) without a token layer. 40001/40013 and other errcodes are final.
pub(crate) struct GetToken {
    http: ClientWithMiddleware,
}

impl std::fmt::Debug for GetToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GetToken")
    }
}

impl GetToken {
    pub(crate) fn new(http: reqwest::Client, retry: &RetryConfig) -> Self {
        Self {
            http: middleware::stack(http, retry, None, BodyLimits::default(), None),
        }
    }
}

#[derive(Deserialize)]
struct GetTokenReply {
    access_token: String,
    expires_in: u64,
}

#[async_trait]
impl TokenSource for GetToken {
    async fn fetch(&self, credential: &Credential) -> Result<FetchedToken> {
        tracing::debug!(credential = ?credential.key(), "fetching access token");
        let url = credential.gettoken_url()?;
        let info = CallInfo::of(&GETTOKEN);
        let reply: GetTokenReply = call::send(self.http.get(url), info).await?;
        let expires_in = Duration::from_secs(reply.expires_in);
        FetchedToken::new(reply.access_token, expires_in).map_err(|refused| {
            let reason = match refused {
                Error::InvalidInput { field, reason, .. } => format!("`{field}` {reason}"),
                other => other.to_string(),
            };
            Error::Decode {
                endpoint: GETTOKEN.path.into(),
                status: 200,
                reason,
                excerpt: String::new(),
            }
        })
    }
}
