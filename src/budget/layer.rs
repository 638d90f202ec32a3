//! The budget layer of the middleware stack: room in the rate budgets before each attempt,
//! and a 45009 closes its scope.

use async_trait::async_trait;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use super::RateBudgets;
use crate::errcode::API_FREQUENCY_LIMIT;
use crate::middleware::{CallInfo, Classified, SdkFailure};
use crate::token::{CallCredential, Credential};

/// Sits between the token layer and classify: every attempt that would reach WeCom passes it.
pub(crate) struct BudgetLayer {
    budgets: RateBudgets,
    /// The client's own credential, for calls that do not name theirs ([`CallCredential`]).
    credential: Credential,
}

impl BudgetLayer {
    pub(crate) fn new(budgets: RateBudgets, credential: Credential) -> Self {
        Self {
            budgets,
            credential,
        }
    }
}

#[async_trait]
impl Middleware for BudgetLayer {
    async fn handle(
        &self,
        req: Request,
        ext: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let endpoint = ext
            .get::<CallInfo>()
            .map(|info| info.endpoint.clone())
            .unwrap_or_default();
        let corp_id = ext.get::<CallCredential>().map_or_else(
            || self.credential.shared_corp_id(),
            |c| c.0.shared_corp_id(),
        );
        let admission = self
            .budgets
            .admit(corp_id.clone(), endpoint.clone())
            .await
            .map_err(|e| reqwest_middleware::Error::Middleware(SdkFailure(e).into()))?;
        let response = next.run(req, ext).await;
        admission.release().await;
        if let Ok(answer) = &response
            && answer
                .extensions()
                .get::<Classified>()
                .and_then(Classified::errcode)
                == Some(API_FREQUENCY_LIMIT)
        {
            self.budgets.closed_by_wecom(corp_id, endpoint).await;
        }
        response
    }
}
