//! The tenant registry (`Provider`) on the simulator (and a real Redis where set): a kf call
//! through `provider.corp(..)`, unauthorised corps, cold herds across tenants with exact
//! counts, a replica that learns a corp from the shared stores, `forget`.

use std::sync::Arc;

use tokio::task::JoinSet;
use wecom_kf::Error;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::provider::codes::{MemoryPermanentCodeStore, PermanentCode, PermanentCodeStore};
use wecom_kf::provider::{MemorySuiteTicketStore, Provider, SuiteTicket, SuiteTicketStore};
use wecom_kf::simulator::{DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, Simulator};

use crate::common::redis_url;

struct Setup {
    sim: Simulator,
    tickets: Arc<MemorySuiteTicketStore>,
    codes: Arc<MemoryPermanentCodeStore>,
}

async fn setup() -> Setup {
    let sim = Simulator::start().await.unwrap();
    let tickets = Arc::new(MemorySuiteTicketStore::new());
    let pushed = sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    let ticket = SuiteTicket::new(&pushed.suite_id, &pushed.ticket, pushed.timestamp).unwrap();
    assert!(tickets.put(&ticket).await.unwrap());
    Setup {
        sim,
        tickets,
        codes: Arc::new(MemoryPermanentCodeStore::new()),
    }
}

impl Setup {
    /// The corp installs the app: WeCom issues a code, the callback stores it.
    async fn authorise(&self, auth_corpid: &str) {
        let code = self
            .sim
            .authorise_corp(DEFAULT_SUITE_ID, auth_corpid)
            .unwrap();
        self.codes
            .put(DEFAULT_SUITE_ID, auth_corpid, &PermanentCode::new(code))
            .await
            .unwrap();
    }

    fn provider(&self) -> wecom_kf::provider::ProviderBuilder {
        Provider::builder()
            .suite(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET)
            .ticket_store(self.tickets.clone())
            .code_store(self.codes.clone())
            .base_url(self.sim.base_url())
    }
}

async fn list(provider: &Provider, corp: &str) -> wecom_kf::Result<()> {
    provider
        .corp(corp)
        .await?
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_kf_call_through_the_registry_runs_on_the_corps_token() {
    let s = setup().await;
    s.authorise("wwregistered").await;
    let provider = s.provider().build().unwrap();
    list(&provider, "wwregistered").await.unwrap();
    list(&provider, "wwregistered").await.unwrap();
    let counters = s.sim.counters();
    assert_eq!(counters.calls("service/get_suite_token"), 1);
    assert_eq!(counters.calls("service/get_corp_token"), 1);
    assert_eq!(counters.gettoken_calls(), 0);
    assert_eq!(counters.effects("kf/account/list"), 2);
}

#[tokio::test]
async fn an_unauthorised_corp_is_a_typed_error_and_nothing_is_sent() {
    let s = setup().await;
    let provider = s.provider().build().unwrap();
    let err = provider.corp("wwstranger").await.unwrap_err();
    match &err {
        Error::NotAuthorised {
            suite_id,
            auth_corpid,
            ..
        } => {
            assert_eq!(suite_id, DEFAULT_SUITE_ID);
            assert_eq!(auth_corpid, "wwstranger");
        }
        other => panic!("expected NotAuthorised, got {other:?}"),
    }
    assert!(err.to_string().contains("has not authorised"), "{err}");
    let counters = s.sim.counters();
    assert_eq!(counters.calls("service/get_suite_token"), 0);
    assert_eq!(counters.calls("service/get_corp_token"), 0);
    // Not cached: once the corp installs, the next call serves it.
    s.authorise("wwstranger").await;
    list(&provider, "wwstranger").await.unwrap();
}

/// 10,000 first calls across 1,000 tenants, 100 in flight at a time (the simulator serves at
/// most 256 connections at once, token fetches included): 1 suite token and 1,000 corp tokens in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_herd_across_tenants_costs_one_suite_token_and_one_corp_token_each() {
    const TENANTS: usize = 1_000;
    const CALLS_EACH: usize = 10;
    let s = setup().await;
    for i in 0..TENANTS {
        s.authorise(&format!("wwherd{i:04}")).await;
    }
    let provider = s.provider().build().unwrap();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(100));
    let mut calls = JoinSet::new();
    for round in 0..CALLS_EACH {
        for i in 0..TENANTS {
            let (provider, in_flight) = (provider.clone(), in_flight.clone());
            let corp = format!("wwherd{:04}", (i + round * 7) % TENANTS);
            calls.spawn(async move {
                let _slot = in_flight.acquire().await.unwrap();
                list(&provider, &corp).await
            });
        }
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap().unwrap();
    }
    let counters = s.sim.counters();
    assert_eq!(counters.calls("service/get_suite_token"), 1);
    assert_eq!(counters.calls("service/get_corp_token"), TENANTS as u64);
    assert_eq!(counters.gettoken_calls(), 0);
    assert_eq!(
        counters.effects("kf/account/list"),
        (TENANTS * CALLS_EACH) as u64
    );
    provider.run_pending_tasks().await;
    assert_eq!(provider.cached_tenants(), TENANTS as u64);
}

/// A replica that never saw the corp authorised serves it from the shared code store, on the
/// tokens the first replica fetched (shared through Redis): no extra fetch.
#[tokio::test]
async fn a_replica_serves_a_corp_it_never_saw_authorised_without_another_fetch() {
    let Some(url) = redis_url() else { return };
    let prefix = crate::common::fresh_prefix("provider_registry_replicas");
    let s = setup().await;
    let store = || async {
        wecom_kf::token::RedisTokenStore::connect(&url)
            .await
            .unwrap()
            .prefix(prefix.clone())
    };
    let first = s.provider().token_store(store().await).build().unwrap();
    let replica = s.provider().token_store(store().await).build().unwrap();
    s.authorise("wwlearned").await;
    list(&first, "wwlearned").await.unwrap();
    list(&replica, "wwlearned").await.unwrap();
    let counters = s.sim.counters();
    assert_eq!(counters.calls("service/get_suite_token"), 1);
    assert_eq!(counters.calls("service/get_corp_token"), 1);
    assert_eq!(counters.effects("kf/account/list"), 2);
}

#[tokio::test]
async fn forget_drops_the_client_and_its_token_and_the_next_call_reads_the_store() {
    let s = setup().await;
    s.authorise("wwleaving").await;
    let provider = s.provider().build().unwrap();
    list(&provider, "wwleaving").await.unwrap();
    assert_eq!(s.sim.counters().calls("service/get_corp_token"), 1);

    // Forgotten (the code unchanged): rebuilt from the store, on a freshly fetched token.
    provider.forget("wwleaving").await;
    list(&provider, "wwleaving").await.unwrap();
    assert_eq!(s.sim.counters().calls("service/get_corp_token"), 2);

    // cancel_auth: the code goes, the registry forgets, the corp is no longer served.
    assert!(s.codes.delete(DEFAULT_SUITE_ID, "wwleaving").await.unwrap());
    provider.forget("wwleaving").await;
    let err = provider.corp("wwleaving").await.unwrap_err();
    assert!(matches!(err, Error::NotAuthorised { .. }), "{err:?}");
    assert_eq!(s.sim.counters().calls("service/get_corp_token"), 2);
}

#[tokio::test]
async fn debug_shows_no_secrets() {
    let s = setup().await;
    s.authorise("wwsecretive").await;
    let code = s
        .codes
        .get(DEFAULT_SUITE_ID, "wwsecretive")
        .await
        .unwrap()
        .unwrap();
    let builder = s.provider();
    let shown_builder = format!("{builder:?}");
    let provider = builder.build().unwrap();
    let client = provider.corp("wwsecretive").await.unwrap();
    for shown in [
        shown_builder,
        format!("{provider:?}"),
        format!("{client:?}"),
        format!("{:?}", provider.corp("wwnobody").await.unwrap_err()),
    ] {
        assert!(!shown.contains(DEFAULT_SUITE_SECRET), "{shown}");
        assert!(!shown.contains(code.expose()), "{shown}");
    }
}

/// Budgets on a registry: each tenant has its own corp budget; the provider's egress IP
/// budget covers them all.
#[tokio::test]
async fn a_registrys_tenants_each_have_a_corp_budget_and_share_the_ip_budget() {
    use wecom_kf::budget::{RateBudgets, Refusal, Scope, Window};
    let s = setup().await;
    for corp in ["wwbudget-a", "wwbudget-b"] {
        s.authorise(corp).await;
    }
    let budgets = RateBudgets::builder()
        .corp(2, 100)
        .ip(3, 100)
        .max_wait(std::time::Duration::ZERO)
        // A clock that stands still: the calls all fall in one minute.
        .clock(wecom_kf::clock::ManualClock::new())
        .build();
    let provider = s.provider().rate_budgets(budgets).build().unwrap();
    list(&provider, "wwbudget-a").await.unwrap();
    list(&provider, "wwbudget-a").await.unwrap();
    // a's corp budget is used up; b has its own.
    let refused = list(&provider, "wwbudget-a").await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::RateLimited {
                refusal: Refusal::Budget {
                    scope: Scope::Corp,
                    ..
                },
                ..
            }
        ),
        "{refused:?}"
    );
    list(&provider, "wwbudget-b").await.unwrap();
    // Three calls through the egress: its budget is used up for everyone.
    let refused = list(&provider, "wwbudget-b").await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::RateLimited {
                refusal: Refusal::Budget {
                    scope: Scope::Ip,
                    window: Window::Minute,
                    limit: 3
                },
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(s.sim.counters().calls("kf/account/list"), 3);
}
