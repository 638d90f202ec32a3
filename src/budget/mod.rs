//! Rate budgets: keep a process, or a fleet, under WeCom's frequency limits instead of
//! finding them with 45009.
//!
//! WeCom counts calls per corp per API (documented: 10,000 a minute and 150,000 an hour) and
//! per egress IP per API (20,000 a minute and 600,000 an hour; a service provider's IPs 40,000
//! and 1,200,000), in natural minutes and hours. When a window is exceeded it refuses the scope
//! until the window ends: a minute, an hour, or the rest of the day. A [`RateBudgets`] given to
//! [`ClientBuilder::rate_budgets`](crate::ClientBuilder::rate_budgets) (or a provider's
//! registry) counts every attempt a client sends in the same windows, and a call that would
//! exceed a budget **waits for room** (up to [`RateBudgetsBuilder::max_wait`]) or fails with
//! [`Error::RateLimited`] without being sent. A 45009 from WeCom closes its (corp, API) scope
//! for the rest of the window: later calls there fail at once, without reaching WeCom, while
//! calls in other scopes go on.
//!
//! With a [`RedisBudgetStore`] (feature `redis`) every replica counts in the same Redis
//! counters, one script call per attempt, so the fleet together stays under the budgets, and a
//! 45009 seen by one replica closes the scope for all. If Redis fails, each replica keeps to
//! its share of the budgets ([`RateBudgetsBuilder::fallback_share`]) on its own counts, logged
//! once, until Redis answers again: never an outage.
//!
//! ```
//! use std::time::Duration;
//! use wecom_kf::budget::{ApiBudget, RateBudgets};
//!
//! let budgets = RateBudgets::builder()
//!     .corp(10_000, 150_000) // the documented defaults, per corp per API
//!     .api("kf/sync_msg", ApiBudget::new().concurrency(5)) // 45033 beyond about 5 at once
//!     .max_wait(Duration::from_secs(5)) // wait this long for room at most, then fail
//!     .build();
//! # let _ = budgets;
//! ```
//!
//! The budgets count what the clients built with them send (every attempt: retries and
//! token replays too). `gettoken` and the provider's token endpoints are not budgeted: each
//! is called a few times a day per credential.

mod counts;
pub(crate) mod layer;
#[cfg(feature = "redis")]
mod redis_store;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::spec;
use crate::telemetry;
use counts::{Counts, Refused, ScopeKey, Slot, Slots};

pub use crate::rate_limit::{Refusal, Scope, Window};
#[cfg(feature = "redis")]
pub use redis_store::{DEFAULT_BUDGET_PREFIX, IN_FLIGHT_LEASE, RedisBudgetStore};

/// WeCom's documented calls per corp per API: a minute.
pub const DEFAULT_CORP_PER_MINUTE: u64 = 10_000;
/// WeCom's documented calls per corp per API: an hour.
pub const DEFAULT_CORP_PER_HOUR: u64 = 150_000;
/// WeCom's documented calls per IP per API: a minute.
pub const DEFAULT_IP_PER_MINUTE: u64 = 20_000;
/// WeCom's documented calls per IP per API: an hour.
pub const DEFAULT_IP_PER_HOUR: u64 = 600_000;
/// A service provider's IPs, per API: a minute.
pub const PROVIDER_IP_PER_MINUTE: u64 = 40_000;
/// A service provider's IPs, per API: an hour.
pub const PROVIDER_IP_PER_HOUR: u64 = 1_200_000;
/// How long a call waits for room at most unless told otherwise.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);
/// Scopes (corp or IP, times API) whose counts one process keeps at most.
pub const DEFAULT_MAX_SCOPES: u64 = 200_000;

/// Calls allowed per minute and per hour in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls per natural minute.
    pub per_minute: u64,
    /// Calls per natural hour.
    pub per_hour: u64,
}

impl Limits {
    /// `per_minute` calls a minute and `per_hour` an hour.
    pub const fn new(per_minute: u64, per_hour: u64) -> Self {
        Self {
            per_minute,
            per_hour,
        }
    }

    /// The share `share` (0 to 1) of these limits, at least one call a window.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    fn share(self, share: f64) -> Self {
        let part = |n: u64| ((n as f64 * share).floor() as u64).max(1);
        Self::new(part(self.per_minute), part(self.per_hour))
    }
}

/// One API's own budget, where it differs from the defaults (WeCom gives some corps and
/// some APIs other numbers, and raises them over time).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ApiBudget {
    corp: Option<Limits>,
    ip: Option<Limits>,
    concurrency: Option<u32>,
}

impl ApiBudget {
    /// No override: the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls per corp for this API.
    pub fn corp(mut self, per_minute: u64, per_hour: u64) -> Self {
        self.corp = Some(Limits::new(per_minute, per_hour));
        self
    }

    /// Calls per egress IP for this API.
    pub fn ip(mut self, per_minute: u64, per_hour: u64) -> Self {
        self.ip = Some(Limits::new(per_minute, per_hour));
        self
    }

    /// At most `n` calls of this API in flight per corp (WeCom answers 45033 beyond its cap;
    /// it documents none, and staff answers put `kf/sync_msg` at about 5). Counted in this
    /// process, and with a `RedisBudgetStore` across every replica (one
    /// more round trip to take a place and one to give it back; while the store is down,
    /// this process's cap alone holds).
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }
}

/// The rate budgets of a process or a fleet: give a clone to every client that calls on the
/// same corps through the same egress IP. Cheap to clone; clones share the counts.
#[derive(Clone)]
pub struct RateBudgets {
    inner: Arc<Inner>,
}

struct Inner {
    corp: Limits,
    ip: Limits,
    apis: HashMap<String, ApiBudget>,
    egress: Arc<str>,
    max_wait: Duration,
    clock: Arc<dyn Clock>,
    counts: Counts,
    in_flight: moka::sync::Cache<ScopeKey, Arc<Semaphore>>,
    #[cfg(feature = "redis")]
    shared: Option<RedisBudgetStore>,
    fallback_share: f64,
    /// The shared store failed: this process runs on its share, and asks the store again at
    /// that (real) time, not on every call (each would wait for the store's timeout).
    #[cfg(feature = "redis")]
    store_down_until: std::sync::Mutex<Option<std::time::Instant>>,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    store_retry: Duration,
}

/// How often a call waiting for a place among the fleet's calls in flight asks the shared
/// store again.
#[cfg(feature = "redis")]
const IN_FLIGHT_POLL: Duration = Duration::from_millis(25);

/// How long the budgets run on their share after the shared store failed, before asking it
/// again, unless told otherwise.
pub const DEFAULT_STORE_RETRY: Duration = Duration::from_secs(2);

impl fmt::Debug for RateBudgets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut out = f.debug_struct("RateBudgets");
        out.field("corp", &inner.corp)
            .field("ip", &inner.ip)
            .field("apis", &inner.apis)
            .field("egress", &inner.egress)
            .field("max_wait", &inner.max_wait);
        #[cfg(feature = "redis")]
        out.field("shared", &inner.shared);
        out.field("fallback_share", &inner.fallback_share)
            .finish_non_exhaustive()
    }
}

/// A call let through: holds its place under a concurrency cap (this process's, and the
/// fleet's in the shared store) until released or dropped.
pub(crate) struct Admission {
    _in_flight: Option<OwnedSemaphorePermit>,
    #[cfg(feature = "redis")]
    shared_in_flight: Option<redis_store::InFlight>,
}

impl Admission {
    /// The call was answered: its places go back now.
    pub(crate) async fn release(self) {
        #[cfg(feature = "redis")]
        if let Some(place) = self.shared_in_flight {
            place.release().await;
        }
    }
}

impl RateBudgets {
    /// Configure budgets (every number defaults to WeCom's documented one).
    pub fn builder() -> RateBudgetsBuilder {
        RateBudgetsBuilder::default()
    }

    /// The budget of `scope` for `endpoint` (a path like `kf/send_msg`).
    pub fn limits(&self, scope: Scope, endpoint: &str) -> Limits {
        let api = self.inner.apis.get(spec::api_name(endpoint));
        match scope {
            Scope::Corp => api.and_then(|a| a.corp).unwrap_or(self.inner.corp),
            Scope::Ip => api.and_then(|a| a.ip).unwrap_or(self.inner.ip),
        }
    }

    /// Waits for room for one call of `path` for `corp_id`, counts it, and lets it go; or
    /// refuses it ([`Error::RateLimited`]) if the room would not come within the maximum
    /// wait. Nothing is sent before this returns.
    pub(crate) async fn admit(
        &self,
        corp_id: Arc<str>,
        path: Cow<'static, str>,
    ) -> Result<Admission> {
        let inner = &self.inner;
        let api = api_name(path);
        let own = if inner.apis.is_empty() {
            None
        } else {
            inner.apis.get(&*api)
        };
        let started = inner.clock.now();
        let deadline = started + inner.max_wait;
        let corp = ScopeKey {
            scope: Scope::Corp,
            id: corp_id,
            api: api.clone(),
        };
        let cap = own.and_then(|a| a.concurrency);
        let in_flight = match cap {
            Some(cap) => Some(self.in_flight(&corp, cap).await?),
            None => None,
        };
        #[cfg(feature = "redis")]
        let mut shared_in_flight = match cap {
            Some(cap) => self.shared_in_flight(&corp, cap).await?,
            None => None,
        };
        let slots: Slots = [
            Slot {
                limits: own.and_then(|a| a.corp).unwrap_or(inner.corp),
                key: corp,
            },
            Slot {
                limits: own.and_then(|a| a.ip).unwrap_or(inner.ip),
                key: ScopeKey {
                    scope: Scope::Ip,
                    id: inner.egress.clone(),
                    api,
                },
            },
        ];
        let endpoint = &*slots[0].key.api;
        // The scope the call last waited for, if it waited.
        let mut waited = None;
        loop {
            let now = inner.clock.now();
            let Err((refusal, frees_at)) = self.try_admit(&slots, now).await else {
                break;
            };
            if frees_at > deadline {
                telemetry::budget_refused(
                    endpoint,
                    refusal_scope(&refusal),
                    refusal_kind(&refusal),
                );
                // The fleet's place goes back before the refusal is answered, so that the
                // caller's next call finds it free.
                #[cfg(feature = "redis")]
                if let Some(place) = shared_in_flight.take() {
                    place.release().await;
                }
                return Err(Error::RateLimited {
                    endpoint: endpoint.to_owned(),
                    refusal,
                    frees_at: Some(frees_at),
                });
            }
            tracing::debug!(endpoint, %refusal, "waiting for room in a rate budget");
            waited = Some(refusal_scope(&refusal));
            inner.clock.sleep_until(frees_at).await;
        }
        if let Some(scope) = waited {
            let took = inner
                .clock
                .now()
                .duration_since(started)
                .unwrap_or_default();
            telemetry::budget_wait(endpoint, scope, took);
        }
        Ok(Admission {
            _in_flight: in_flight,
            #[cfg(feature = "redis")]
            shared_in_flight,
        })
    }

    /// Not public API: one budget check for `corp_id` and `api`, as a call's (the benchmarks'
    /// measure of the memory a scope costs). Feature `bench-internals`.
    #[cfg(feature = "bench-internals")]
    #[doc(hidden)]
    pub async fn bench_admit(&self, corp_id: &str, api: &'static str) -> Result<()> {
        self.admit(Arc::from(corp_id), Cow::Borrowed(api))
            .await?
            .release()
            .await;
        Ok(())
    }

    /// One check at `now`: the shared store's, or this process's counts on its own.
    async fn try_admit(&self, slots: &Slots, now: SystemTime) -> std::result::Result<(), Refused> {
        let inner = &self.inner;
        // A scope closed here is refused without a round trip.
        if let Some((until, window)) = inner.counts.closed(&slots[0].key, now) {
            return Err((Refusal::Closed { window }, until));
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &inner.shared {
            if !self.store_down() {
                match shared.admit(slots, now).await {
                    Ok(verdict) => {
                        self.store_answered();
                        if let Err((Refusal::Closed { window }, until)) = &verdict {
                            inner.counts.closed_elsewhere(slots, *until, *window);
                        }
                        if verdict.is_ok() {
                            // Kept locally too: the share to hold to if the store fails.
                            inner.counts.record(slots, now);
                        }
                        return verdict;
                    }
                    Err(error) => self.store_failed(&error),
                }
            }
            telemetry::budget_store_fallback();
            let shares = slots.each_ref().map(|s| Slot {
                key: s.key.clone(),
                limits: s.limits.share(inner.fallback_share),
            });
            return inner.counts.admit(&shares, now);
        }
        inner.counts.admit(slots, now)
    }

    #[cfg(feature = "redis")]
    fn store_down_until(&self) -> std::sync::MutexGuard<'_, Option<std::time::Instant>> {
        self.inner
            .store_down_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the shared store failed lately, and is not asked again yet.
    #[cfg(feature = "redis")]
    fn store_down(&self) -> bool {
        self.store_down_until()
            .is_some_and(|at| std::time::Instant::now() < at)
    }

    /// The shared store answered: shared again (said once per outage).
    #[cfg(feature = "redis")]
    fn store_answered(&self) {
        if self.store_down_until().take().is_some() {
            tracing::info!(store = ?self.inner.shared, "rate budget store answers again: budgets shared again");
        }
    }

    /// The shared store failed: not asked again for `store_retry` (said once per outage).
    #[cfg(feature = "redis")]
    fn store_failed(&self, error: &str) {
        let inner = &self.inner;
        let was_down = self
            .store_down_until()
            .replace(std::time::Instant::now() + inner.store_retry)
            .is_some();
        if !was_down {
            tracing::warn!(%error, share = inner.fallback_share,
                "rate budget store failed: this process keeps to its share of the budgets, and to its own concurrency caps, until it answers");
        }
    }

    /// A place under the concurrency cap `cap` of scope `corp`: waits up to the maximum wait
    /// (real time: the room comes when a call in flight ends).
    async fn in_flight(&self, corp: &ScopeKey, cap: u32) -> Result<OwnedSemaphorePermit> {
        let semaphore = self
            .inner
            .in_flight
            .get_with_by_ref(corp, || Arc::new(Semaphore::new(cap as usize)));
        let endpoint = &*corp.api;
        let refused = || {
            telemetry::budget_refused(endpoint, Scope::Corp.as_str(), "concurrency");
            Error::RateLimited {
                endpoint: endpoint.to_owned(),
                refusal: Refusal::Concurrency { limit: cap },
                frees_at: None,
            }
        };
        if let Ok(permit) = semaphore.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.inner.max_wait.is_zero() {
            return Err(refused());
        }
        let started = std::time::Instant::now();
        match tokio::time::timeout(self.inner.max_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => {
                telemetry::budget_wait(endpoint, Scope::Corp.as_str(), started.elapsed());
                Ok(permit)
            }
            _ => Err(refused()),
        }
    }

    /// A place among `corp`'s calls in flight across the fleet (the shared store), waiting up
    /// to the maximum wait (real time, asking again every [`IN_FLIGHT_POLL`]). `None` without
    /// a store, or while it is down: then this process's cap alone holds.
    #[cfg(feature = "redis")]
    async fn shared_in_flight(
        &self,
        corp: &ScopeKey,
        cap: u32,
    ) -> Result<Option<redis_store::InFlight>> {
        let inner = &self.inner;
        let Some(shared) = &inner.shared else {
            return Ok(None);
        };
        let started = std::time::Instant::now();
        let mut asked_again = false;
        loop {
            if self.store_down() {
                return Ok(None);
            }
            let acquired = shared.acquire(corp, cap).await;
            if acquired.is_ok() {
                self.store_answered();
            }
            match acquired {
                Ok(Some(place)) => {
                    if asked_again {
                        telemetry::budget_wait(&corp.api, Scope::Corp.as_str(), started.elapsed());
                    }
                    return Ok(Some(place));
                }
                Ok(None) if started.elapsed() + IN_FLIGHT_POLL <= inner.max_wait => {
                    asked_again = true;
                    tokio::time::sleep(IN_FLIGHT_POLL).await;
                }
                Ok(None) => {
                    telemetry::budget_refused(&corp.api, Scope::Corp.as_str(), "concurrency");
                    return Err(Error::RateLimited {
                        endpoint: corp.api.to_string(),
                        refusal: Refusal::Concurrency { limit: cap },
                        frees_at: None,
                    });
                }
                Err(error) => {
                    self.store_failed(&error);
                    return Ok(None);
                }
            }
        }
    }

    /// WeCom answered 45009 for `endpoint` of `corp_id`: the scope closes here, and in the
    /// shared store for every replica.
    pub(crate) async fn closed_by_wecom(&self, corp_id: Arc<str>, path: Cow<'static, str>) {
        let inner = &self.inner;
        let now = inner.clock.now();
        let api = api_name(path);
        let ip = ScopeKey {
            scope: Scope::Ip,
            id: inner.egress.clone(),
            api: api.clone(),
        };
        let key = ScopeKey {
            scope: Scope::Corp,
            id: corp_id,
            api,
        };
        let (window, until) = inner.counts.close(&key, &ip, now);
        telemetry::scope_closed(&key.api, window.as_str());
        tracing::warn!(endpoint = %key.api, corp_id = %key.id, %window,
            "WeCom answered 45009: the scope is closed for the rest of the {window}");
        #[cfg(feature = "redis")]
        if let Some(shared) = &inner.shared
            && let Err(error) = shared.close(&key, now, until, window).await
        {
            tracing::warn!(%error, "could not share a closed scope through the rate budget store");
        }
        #[cfg(not(feature = "redis"))]
        let _ = until;
    }
}

/// [`spec::api_name`], still static for the SDK's own endpoints (no copy per call).
fn api_name(path: Cow<'static, str>) -> Cow<'static, str> {
    match path {
        Cow::Borrowed(path) => Cow::Borrowed(spec::api_name(path)),
        Cow::Owned(path) => Cow::Owned(spec::api_name(&path).to_owned()),
    }
}

fn refusal_scope(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Budget { scope, .. } => scope.as_str(),
        _ => Scope::Corp.as_str(),
    }
}

fn refusal_kind(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Budget { window, .. } => window.as_str(),
        Refusal::Closed { .. } => "closed",
        Refusal::Concurrency { .. } => "concurrency",
    }
}

/// Configures [`RateBudgets`].
#[derive(Debug)]
#[must_use]
pub struct RateBudgetsBuilder {
    corp: Limits,
    ip: Limits,
    apis: HashMap<String, ApiBudget>,
    egress: String,
    max_wait: Duration,
    clock: Arc<dyn Clock>,
    max_scopes: u64,
    #[cfg(feature = "redis")]
    shared: Option<RedisBudgetStore>,
    fallback_share: f64,
    store_retry: Duration,
}

impl Default for RateBudgetsBuilder {
    fn default() -> Self {
        Self {
            corp: Limits::new(DEFAULT_CORP_PER_MINUTE, DEFAULT_CORP_PER_HOUR),
            ip: Limits::new(DEFAULT_IP_PER_MINUTE, DEFAULT_IP_PER_HOUR),
            apis: HashMap::new(),
            egress: "default".to_owned(),
            max_wait: DEFAULT_MAX_WAIT,
            clock: Arc::new(SystemClock),
            max_scopes: DEFAULT_MAX_SCOPES,
            #[cfg(feature = "redis")]
            shared: None,
            fallback_share: 1.0,
            store_retry: DEFAULT_STORE_RETRY,
        }
    }
}

impl RateBudgetsBuilder {
    /// Calls per corp per API (default 10,000 a minute, 150,000 an hour).
    pub fn corp(mut self, per_minute: u64, per_hour: u64) -> Self {
        self.corp = Limits::new(per_minute, per_hour);
        self
    }

    /// Calls per egress IP per API (default 20,000 a minute, 600,000 an hour).
    pub fn ip(mut self, per_minute: u64, per_hour: u64) -> Self {
        self.ip = Limits::new(per_minute, per_hour);
        self
    }

    /// A service provider's egress IP budget: 40,000 a minute, 1,200,000 an hour per API.
    pub fn provider_ip(self) -> Self {
        self.ip(PROVIDER_IP_PER_MINUTE, PROVIDER_IP_PER_HOUR)
    }

    /// `endpoint`'s own budget (a path like `kf/sync_msg`), where it differs.
    pub fn api(mut self, endpoint: impl Into<String>, budget: ApiBudget) -> Self {
        let endpoint = endpoint.into();
        self.apis
            .insert(spec::api_name(&endpoint).to_owned(), budget);
        self
    }

    /// The name of the egress IP these clients call from (default `default`): processes that
    /// share a budget store and an egress IP give the same name, so they share its budget.
    pub fn egress(mut self, name: impl Into<String>) -> Self {
        self.egress = name.into();
        self
    }

    /// How long a call waits for room at most (default 10 s); zero fails at once.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The clock of the windows (default the system clock; tests pass a manual one, on which
    /// a waiting call wakes when the clock is moved).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Scopes whose counts this process keeps at most (default 200,000; the least used go
    /// first, and a scope idle for a day holds nothing worth keeping).
    pub fn max_scopes(mut self, n: u64) -> Self {
        self.max_scopes = n.max(1);
        self
    }

    /// Count in `store`, shared by every replica (feature `redis`).
    #[cfg(feature = "redis")]
    pub fn shared(mut self, store: RedisBudgetStore) -> Self {
        self.shared = Some(store);
        self
    }

    /// The part of each budget this process keeps to on its own while the shared store is
    /// down (default 1: all of it; with N replicas, 1/N keeps the fleet under the budget).
    /// Clamped to (0, 1].
    pub fn fallback_share(mut self, share: f64) -> Self {
        self.fallback_share = if share.is_finite() && share > 0.0 {
            share.min(1.0)
        } else {
            1.0
        };
        self
    }

    /// After the shared store failed, how long to run on the share before asking it again
    /// (default 2 s; real time). Each ask waits up to the store's timeout, so not every call
    /// asks.
    pub fn store_retry(mut self, after: Duration) -> Self {
        self.store_retry = after;
        self
    }

    /// The budgets.
    pub fn build(self) -> RateBudgets {
        RateBudgets {
            inner: Arc::new(Inner {
                corp: self.corp,
                ip: self.ip,
                apis: self.apis,
                egress: Arc::from(self.egress),
                max_wait: self.max_wait,
                clock: self.clock,
                counts: Counts::new(self.max_scopes),
                in_flight: moka::sync::Cache::builder()
                    .max_capacity(self.max_scopes)
                    .time_to_idle(Duration::from_secs(3600))
                    .build(),
                #[cfg(feature = "redis")]
                shared: self.shared,
                fallback_share: self.fallback_share,
                #[cfg(feature = "redis")]
                store_down_until: std::sync::Mutex::new(None),
                store_retry: self.store_retry,
            }),
        }
    }
}
