//! The authorisation lifecycle: what a suite does with each command callback (指令回调) once
//! [`decrypt_command`](crate::callback::CallbackCrypto::decrypt_command) has verified and decrypted it.
//!
//! - `suite_ticket`: kept in the [`SuiteTicketStore`] (only if newer than the one held).
//! - `create_auth`: the auth code is stored as pending *first* (a crash before the exchange
//!   loses nothing: [`Lifecycle::resume_pending`] exchanges it after a restart), then
//!   exchanged with `service/v2/get_permanent_code`, and the permanent code stored with
//!   [`PermanentCodeStore::complete`] before the install is reported done; the corp's token is
//!   then warmed if a corp token provider was given.
//! - `cancel_auth`: the permanent code is deleted; a lifecycle made by
//!   [`Provider::lifecycle`] also drops the corp's cached client and token first (otherwise the
//!   caller does: the outcome says which corp).
//! - `reset_permanent_code`: the new auth code is exchanged and the code rotated (with a
//!   [`Provider`], after its client and token were dropped).
//! - `change_auth`: the corp's authorisation is read again (`service/get_auth_info`).
//!
//! A delivery seen before (a [`DeliveryLog`]) does nothing twice; one whose work failed is
//! forgotten again, so that handling it again redoes the work. An install that starts on the
//! provider's own site brings its auth code in the redirect instead of a `create_auth`:
//! [`Lifecycle::accept_auth_code`]. Every method answers a [`LifecycleOutcome`] that holds no
//! secret, for logging.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use wecom_kf::callback::{CommandDedupe, CommandEvent};
//! use wecom_kf::provider::Provider;
//!
//! # async fn on_command(provider: Provider, event: CommandEvent) -> wecom_kf::Result<()> {
//! let lifecycle = provider.lifecycle(Arc::new(CommandDedupe::new(10_000, Duration::from_secs(3600))));
//! // After answering `success` to WeCom:
//! let outcome = lifecycle.handle(&event).await?;
//! tracing::info!(?outcome, "command handled");
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use super::codes::{AuthCode, PermanentCodeStore};
use super::suite::{GetAuthInfo, GetAuthInfoResponse, GetPermanentCode, GetPermanentCodeResponse};
use super::ticket::{SuiteTicket, SuiteTicketStore};
use crate::callback::{CommandEvent, DeliveryLog};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::token::Credential;
use crate::{Client, TokenProvider};

use super::Provider;

/// What [`Lifecycle::handle`] did with one command. Holds ids only, never a code or ticket.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LifecycleOutcome {
    /// A delivery seen before: nothing done.
    Duplicate {
        /// The command's `InfoType`.
        info_type: String,
    },
    /// A command for another suite: nothing done.
    OtherSuite {
        /// The suite it names.
        suite_id: String,
    },
    /// A `suite_ticket` push: `kept` unless the store held one as new or newer.
    TicketStored {
        /// The push's `TimeStamp`.
        timestamp: u64,
        /// Whether the store kept it.
        kept: bool,
    },
    /// An install whose permanent code is now stored.
    Installed {
        /// The corp.
        auth_corpid: String,
        /// The install link's `state`, if any.
        state: Option<String>,
        /// Whether the corp's token was fetched (a corp token provider was given and the
        /// fetch succeeded; a failed warm-up does not fail the install).
        warmed: bool,
    },
    /// An auth code WeCom refused to exchange (used or expired, 40078): dropped from the
    /// pending ones.
    ExchangeRefused {
        /// WeCom's errcode.
        errcode: i64,
    },
    /// A `cancel_auth`: the corp's permanent code deleted. Drop its cached tokens and data.
    Cancelled {
        /// The corp.
        auth_corpid: String,
        /// Whether a code was held.
        had_code: bool,
    },
    /// A `reset_permanent_code`: the corp's code replaced. Drop tokens got with the old one.
    Rotated {
        /// The corp.
        auth_corpid: String,
        /// Whether an old code was replaced.
        replaced: bool,
    },
    /// A `change_auth`: the corp's authorisation read again (`None` when no permanent code is
    /// held for it).
    AuthChanged {
        /// The corp.
        auth_corpid: String,
        /// What it now authorises.
        info: Option<GetAuthInfoResponse>,
    },
    /// A command this handler does not act on (`change_contact`, licence notices, …).
    Ignored {
        /// Its `InfoType`.
        info_type: String,
    },
}

/// The lifecycle handler of one suite: its client (suite credential, suite token provider),
/// its stores, and the log of deliveries seen.
pub struct Lifecycle {
    suite_id: String,
    suite: Client,
    tickets: Arc<dyn SuiteTicketStore>,
    codes: Arc<dyn PermanentCodeStore>,
    deliveries: Arc<dyn DeliveryLog>,
    warm: Option<(TokenProvider, String)>,
    /// The registry whose cached client and token of a corp go on cancel and reset.
    tenants: Option<Provider>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("suite_id", &self.suite_id)
            .field("warms_corp_tokens", &self.warm.is_some())
            .field("forgets_tenants", &self.tenants.is_some())
            .finish_non_exhaustive()
    }
}

impl Lifecycle {
    /// The handler of suite `suite_id`, calling WeCom with `suite` (a client built with the
    /// suite's credential and a [`SuiteTokenSource`](super::SuiteTokenSource) provider).
    pub fn new(
        suite_id: impl Into<String>,
        suite: Client,
        tickets: Arc<dyn SuiteTicketStore>,
        codes: Arc<dyn PermanentCodeStore>,
        deliveries: Arc<dyn DeliveryLog>,
    ) -> Self {
        Self {
            suite_id: suite_id.into(),
            suite,
            tickets,
            codes,
            deliveries,
            warm: None,
            tenants: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// After an install, fetches the corp's token with `corps` (a provider with a
    /// [`CorpTokenSource`](super::CorpTokenSource)), for calls at `api_base`.
    pub fn warm_corp_tokens(mut self, corps: TokenProvider, api_base: impl Into<String>) -> Self {
        self.warm = Some((corps, api_base.into()));
        self
    }

    /// The clock that stamps pending auth codes (tests pass a manual one).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Acts on one verified, decrypted command. An `Err` (a store or WeCom failure) means it
    /// was not (fully) done, and its delivery is forgotten again: handling the same event again
    /// (yours, or WeCom's retry) redoes the work. For `create_auth` and `reset_permanent_code`
    /// the auth code is kept as pending first, whatever fails after:
    /// [`resume_pending`](Self::resume_pending) exchanges it too.
    pub async fn handle(&self, event: &CommandEvent) -> Result<LifecycleOutcome> {
        if let Some(suite_id) = event.suite_id()
            && suite_id != self.suite_id
        {
            return Ok(LifecycleOutcome::OtherSuite {
                suite_id: suite_id.to_owned(),
            });
        }
        // An auth code is kept before anything else, so that no later failure (or a crash)
        // loses it; a second delivery keeps the first `received_at`.
        let auth_code = match event {
            CommandEvent::CreateAuth { auth_code, .. }
            | CommandEvent::ResetPermanentCode { auth_code, .. } => {
                let code = AuthCode::new(auth_code.clone());
                let added = self
                    .codes
                    .put_pending_auth_code(&self.suite_id, &code, self.clock.now())
                    .await?;
                Some((code, added))
            }
            _ => None,
        };
        if !self.deliveries.first_delivery(event).await? {
            // A repeat that found its code no longer pending: the first delivery exchanged it
            // (or WeCom refused it) already, so the copy just kept is stale. A first delivery
            // still at work keeps its code pending, and then nothing was added.
            if let Some((code, true)) = &auth_code {
                self.codes
                    .discard_pending_auth_code(&self.suite_id, code)
                    .await?;
            }
            return Ok(LifecycleOutcome::Duplicate {
                info_type: event.info_type().to_owned(),
            });
        }
        let auth_code = auth_code.map(|(code, _)| code);
        let done = self.act(event, auth_code).await;
        if done.is_err()
            && let Err(e) = self.deliveries.forget_delivery(event).await
        {
            // The work failed and cannot be marked undone: a retry is taken for a repeat.
            tracing::warn!(suite_id = %self.suite_id, info_type = event.info_type(), error = %e,
                "a failed command stays recorded as delivered");
        }
        done
    }

    /// An auth code that came another way than a `create_auth` (the redirect of an install
    /// started on the provider's own site, where WeCom pushes no command): kept as pending,
    /// then exchanged and installed as a `create_auth`'s would be.
    pub async fn accept_auth_code(&self, auth_code: AuthCode) -> Result<LifecycleOutcome> {
        self.codes
            .put_pending_auth_code(&self.suite_id, &auth_code, self.clock.now())
            .await?;
        self.install(auth_code).await
    }

    /// The work of one first delivery.
    async fn act(
        &self,
        event: &CommandEvent,
        auth_code: Option<AuthCode>,
    ) -> Result<LifecycleOutcome> {
        match (event, auth_code) {
            (
                CommandEvent::SuiteTicket {
                    suite_id,
                    suite_ticket,
                    timestamp,
                },
                _,
            ) => {
                let ticket = SuiteTicket::new(suite_id.clone(), suite_ticket.clone(), *timestamp)?;
                let kept = self
                    .tickets
                    .put(&ticket)
                    .await
                    .map_err(|e| Error::Storage(format!("suite ticket store: {e}")))?;
                Ok(LifecycleOutcome::TicketStored {
                    timestamp: *timestamp,
                    kept,
                })
            }
            (CommandEvent::CreateAuth { .. }, Some(code)) => self.install(code).await,
            (CommandEvent::ResetPermanentCode { .. }, Some(code)) => self.rotate(code).await,
            (CommandEvent::CancelAuth { auth_corp_id, .. }, _) => {
                // While the code is still there to name the token by.
                if let Some(tenants) = &self.tenants {
                    tenants.forget(auth_corp_id).await;
                }
                let had_code = self.codes.delete(&self.suite_id, auth_corp_id).await?;
                Ok(LifecycleOutcome::Cancelled {
                    auth_corpid: auth_corp_id.clone(),
                    had_code,
                })
            }
            (CommandEvent::ChangeAuth { auth_corp_id, .. }, _) => {
                let info = match self.codes.get(&self.suite_id, auth_corp_id).await? {
                    Some(code) => Some(
                        self.suite
                            .suite()
                            .get_auth_info(GetAuthInfo::new(auth_corp_id.clone(), code))
                            .await?,
                    ),
                    None => None,
                };
                Ok(LifecycleOutcome::AuthChanged {
                    auth_corpid: auth_corp_id.clone(),
                    info,
                })
            }
            _ => Ok(LifecycleOutcome::Ignored {
                info_type: event.info_type().to_owned(),
            }),
        }
    }

    /// Exchanges the auth codes left pending (a crash between a `create_auth` and its
    /// exchange, or an exchange that failed): one outcome per code, oldest first. Codes WeCom
    /// refuses (40078) are dropped; any other failure stops here and is answered.
    pub async fn resume_pending(&self) -> Result<Vec<LifecycleOutcome>> {
        let pending = self
            .codes
            .pending_auth_codes(&self.suite_id, self.clock.now())
            .await?;
        let mut outcomes = Vec::with_capacity(pending.len());
        for code in pending {
            outcomes.push(self.install(code.auth_code).await?);
        }
        Ok(outcomes)
    }

    /// The exchange of a pending auth code: `Ok(None)` if WeCom refused the code (then
    /// dropped from the pending ones).
    async fn exchange(&self, code: &AuthCode) -> Result<Option<GetPermanentCodeResponse>> {
        match self
            .suite
            .suite()
            .get_permanent_code(GetPermanentCode::new(code.clone()))
            .await
        {
            Ok(answer) => Ok(Some(answer)),
            Err(Error::Api(e)) if e.code() == crate::errcode::INVALID_AUTH_CODE => {
                self.codes
                    .discard_pending_auth_code(&self.suite_id, code)
                    .await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn install(&self, code: AuthCode) -> Result<LifecycleOutcome> {
        let Some(answer) = self.exchange(&code).await? else {
            return Ok(refused());
        };
        let corp = answer.auth_corp_info.corpid;
        self.codes
            .complete(&self.suite_id, &code, &corp, &answer.permanent_code)
            .await?;
        tracing::info!(suite_id = %self.suite_id, auth_corpid = %corp, "suite installed");
        let warmed = match &self.warm {
            Some((corps, api_base)) => {
                match super::authorised_corp_credential(
                    &self.suite_id,
                    &corp,
                    answer.permanent_code.expose(),
                    api_base,
                ) {
                    Ok(credential) => warm(corps, &credential).await,
                    Err(_) => false,
                }
            }
            None => false,
        };
        Ok(LifecycleOutcome::Installed {
            auth_corpid: corp,
            state: answer.state,
            warmed,
        })
    }

    async fn rotate(&self, code: AuthCode) -> Result<LifecycleOutcome> {
        let Some(answer) = self.exchange(&code).await? else {
            return Ok(refused());
        };
        let corp = answer.auth_corp_info.corpid;
        if let Some(tenants) = &self.tenants {
            tenants.forget(&corp).await;
        }
        let old = self
            .codes
            .rotate(&self.suite_id, &corp, &answer.permanent_code)
            .await?;
        self.codes
            .discard_pending_auth_code(&self.suite_id, &code)
            .await?;
        Ok(LifecycleOutcome::Rotated {
            auth_corpid: corp,
            replaced: old.is_some(),
        })
    }
}

impl Provider {
    /// The lifecycle handler of this registry's suite: its suite client, stores and clock,
    /// warming each new corp's token on the tenants' token provider, and dropping a corp's
    /// cached client and token on `cancel_auth` and `reset_permanent_code`. `deliveries`
    /// remembers what was handled ([`CommandDedupe`](crate::callback::CommandDedupe) in one
    /// process, `RedisDeliveryLog` across replicas).
    pub fn lifecycle(&self, deliveries: Arc<dyn DeliveryLog>) -> Lifecycle {
        Lifecycle {
            suite_id: self.suite_id().to_owned(),
            suite: self.suite_client().clone(),
            tickets: self.ticket_store().clone(),
            codes: self.code_store().clone(),
            deliveries,
            warm: Some((self.corp_tokens().clone(), self.api_base().to_owned())),
            tenants: Some(self.clone()),
            clock: self.clock().clone(),
        }
    }
}

fn refused() -> LifecycleOutcome {
    LifecycleOutcome::ExchangeRefused {
        errcode: crate::errcode::INVALID_AUTH_CODE,
    }
}

async fn warm(corps: &TokenProvider, credential: &Credential) -> bool {
    match corps.token(credential).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(auth_corpid = credential.corp_id(), error = %e, "corp token warm-up failed");
            false
        }
    }
}
