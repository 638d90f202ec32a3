//! The provider token chain on the simulator (and a real Redis where set): suite_ticket →
//! suite_access_token → authorised corps' tokens, with exact fetch counts.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::provider::{
    CorpTokenSource, MemorySuiteTicketStore, ProviderTokenSource, SuiteTicket, SuiteTicketStore,
    SuiteTokenSource, authorised_corp_credential, provider_credential, suite_credential,
};
use wecom_kf::simulator::{DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, SimSuiteTicket, Simulator};
use wecom_kf::token::Credential;
use wecom_kf::{Client, Error, TokenProvider};

use crate::common::redis_url;

struct Chain {
    sim: Simulator,
    clock: ManualClock,
    tickets: Arc<MemorySuiteTicketStore>,
    suites: TokenProvider,
    corps: TokenProvider,
    suite: Credential,
}

fn ticket_of(pushed: &SimSuiteTicket) -> SuiteTicket {
    SuiteTicket::new(&pushed.suite_id, &pushed.ticket, pushed.timestamp).unwrap()
}

async fn chain() -> Chain {
    let clock = ManualClock::new();
    let sim = Simulator::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let tickets = Arc::new(MemorySuiteTicketStore::new());
    let source = SuiteTokenSource::new(tickets.clone())
        .unwrap()
        .clock(Arc::new(clock.clone()));
    let suites = TokenProvider::builder()
        .clock(clock.clone())
        .source(source)
        .build()
        .unwrap();
    let suite = suite_credential(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, &sim.base_url()).unwrap();
    let corps = TokenProvider::builder()
        .clock(clock.clone())
        .source(CorpTokenSource::new(suites.clone(), suite.clone()).unwrap())
        .build()
        .unwrap();
    Chain {
        sim,
        clock,
        tickets,
        suites,
        corps,
        suite,
    }
}

impl Chain {
    async fn push_ticket(&self, suite_id: &str) {
        let pushed = self.sim.push_suite_ticket(suite_id).unwrap();
        assert!(self.tickets.put(&ticket_of(&pushed)).await.unwrap());
    }

    fn tenant(&self, auth_corpid: &str) -> Client {
        let code = self
            .sim
            .authorise_corp(DEFAULT_SUITE_ID, auth_corpid)
            .unwrap();
        let credential =
            authorised_corp_credential(DEFAULT_SUITE_ID, auth_corpid, &code, &self.sim.base_url())
                .unwrap();
        Client::builder()
            .credential(credential)
            .token_provider(self.corps.clone())
            .build()
            .unwrap()
    }
}

async fn herd(tenants: &[Client], calls_each: usize) {
    let mut calls = JoinSet::new();
    for client in tenants {
        for _ in 0..calls_each {
            let client = client.clone();
            calls.spawn(async move { client.kf().account().list(ListAccounts::new()).await });
        }
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_herd_across_tenants_costs_one_suite_token_and_one_corp_token_each() {
    const TENANTS: usize = 20;
    let chain = chain().await;
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    let tenants: Vec<Client> = (0..TENANTS)
        .map(|i| chain.tenant(&format!("wwtenant{i:04}")))
        .collect();
    herd(&tenants, 10).await;
    let counters = chain.sim.counters();
    assert_eq!(counters.calls("service/get_suite_token"), 1);
    assert_eq!(counters.calls("service/get_corp_token"), TENANTS as u64);
    assert_eq!(
        counters.gettoken_calls(),
        0,
        "the kf calls ran on corp tokens"
    );
    assert_eq!(counters.effects("kf/account/list"), (TENANTS * 10) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suite_token_storm_costs_one_fetch() {
    const TENANTS: usize = 10;
    let chain = chain().await;
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    chain.suites.token(&chain.suite).await.unwrap();
    for (expire, code) in [(true, 42009), (false, 40082)] {
        if expire {
            chain.sim.expire_suite_tokens();
        } else {
            chain.sim.revoke_suite_tokens();
        }
        chain.sim.reset_counters();
        let tenants: Vec<Client> = (0..TENANTS)
            .map(|i| chain.tenant(&format!("ww{code}corp{i}")))
            .collect();
        herd(&tenants, 5).await;
        let counters = chain.sim.counters();
        assert_eq!(
            counters.calls("service/get_suite_token"),
            1,
            "{code}: one new suite token for the whole storm"
        );
        // Each cold corp gets its token; those that asked before the suite token was replaced
        // were refused once (at least the first, at most all), never twice.
        assert_eq!(counters.effects("service/get_corp_token"), TENANTS as u64);
        let refused = counters.calls("service/get_corp_token") - TENANTS as u64;
        assert!(
            (1..=TENANTS as u64).contains(&refused),
            "{code}: {refused} refused"
        );
    }
}

#[tokio::test]
async fn a_ticket_past_its_30_minutes_is_a_typed_error_and_no_call() {
    let chain = chain().await;
    let err = chain.suites.token(&chain.suite).await.unwrap_err();
    assert!(
        matches!(&err, Error::SuiteTicketUnavailable { suite_id, .. } if suite_id == DEFAULT_SUITE_ID),
        "{err}"
    );
    assert!(err.to_string().contains("none stored"), "{err}");
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    chain.clock.advance(Duration::from_secs(30 * 60));
    let err = chain.suites.token(&chain.suite).await.unwrap_err();
    assert!(err.to_string().contains("past its 30 minutes"), "{err}");
    assert_eq!(chain.sim.counters().calls("service/get_suite_token"), 0);
    // A new push, and it works again at once (no cooldown on a missing ticket).
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    chain.suites.token(&chain.suite).await.unwrap();
    assert_eq!(chain.sim.counters().calls("service/get_suite_token"), 1);
}

#[tokio::test]
async fn an_older_push_never_replaces_a_newer_ticket() {
    let chain = chain().await;
    let older = chain.sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    chain.clock.advance(Duration::from_secs(600));
    let newer = chain.sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    assert!(chain.tickets.put(&ticket_of(&newer)).await.unwrap());
    assert!(!chain.tickets.put(&ticket_of(&older)).await.unwrap());
    let held = chain.tickets.get(DEFAULT_SUITE_ID).await.unwrap().unwrap();
    assert_eq!(held.expose_ticket(), newer.ticket);
    // The older one is past 30 minutes 20 minutes from now; the newer one still works.
    chain.clock.advance(Duration::from_secs(25 * 60));
    chain.suites.token(&chain.suite).await.unwrap();
}

#[tokio::test]
async fn two_suites_of_one_corp_never_share_a_token() {
    let chain = chain().await;
    chain.sim.add_suite("wwsuite2", "suite-2-secret");
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    chain.push_ticket("wwsuite2").await;
    let base = chain.sim.base_url();
    let code1 = chain
        .sim
        .authorise_corp(DEFAULT_SUITE_ID, "wwshared")
        .unwrap();
    let code2 = chain.sim.authorise_corp("wwsuite2", "wwshared").unwrap();
    let suite2 = suite_credential("wwsuite2", "suite-2-secret", &base).unwrap();
    let corps2 = TokenProvider::builder()
        .clock(chain.clock.clone())
        .source(CorpTokenSource::new(chain.suites.clone(), suite2.clone()).unwrap())
        .build()
        .unwrap();
    let in1 = authorised_corp_credential(DEFAULT_SUITE_ID, "wwshared", &code1, &base).unwrap();
    let in2 = authorised_corp_credential("wwsuite2", "wwshared", &code2, &base).unwrap();
    assert_ne!(in1.store_key(), in2.store_key());
    let t1 = chain.corps.token(&in1).await.unwrap();
    let t2 = corps2.token(&in2).await.unwrap();
    assert_ne!(t1.as_str(), t2.as_str());
    assert_ne!(
        chain.suites.token(&chain.suite).await.unwrap().as_str(),
        chain.suites.token(&suite2).await.unwrap().as_str()
    );
    assert_eq!(chain.sim.counters().calls("service/get_suite_token"), 2);
    // Suite 1's code under suite 2 is refused: 40084.
    let crossed = authorised_corp_credential("wwsuite2", "wwshared", &code1, &base).unwrap();
    let err = corps2.token(&crossed).await.unwrap_err();
    assert_eq!(err.api().map(|e| e.code()), Some(40084), "{err}");
}

#[tokio::test]
async fn the_provider_token_and_daikaifa_gettoken() {
    let sim = Simulator::start().await.unwrap();
    let provider = TokenProvider::builder()
        .source(ProviderTokenSource::new().unwrap())
        .build()
        .unwrap();
    let cred = provider_credential(
        &sim.provider_corp_id(),
        &sim.provider_secret(),
        &sim.base_url(),
    )
    .unwrap();
    provider.token(&cred).await.unwrap();
    provider.token(&cred).await.unwrap();
    assert_eq!(sim.counters().calls("service/get_provider_token"), 1);
    let wrong = provider_credential(&sim.provider_corp_id(), "nope", &sim.base_url()).unwrap();
    assert_eq!(
        provider
            .token(&wrong)
            .await
            .unwrap_err()
            .api()
            .map(|e| e.code()),
        Some(40001)
    );
    // 代开发: the permanent code is the app secret of a plain client (here the sim's corp).
    let client = sim.client_builder().build().unwrap();
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn secrets_are_absent_from_every_rendering() {
    let chain = chain().await;
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    let ticket = chain.sim.suite_ticket(DEFAULT_SUITE_ID).unwrap();
    let code = chain
        .sim
        .authorise_corp(DEFAULT_SUITE_ID, "wwsecret")
        .unwrap();
    let corp =
        authorised_corp_credential(DEFAULT_SUITE_ID, "wwsecret", &code, &chain.sim.base_url())
            .unwrap();
    let token = chain.corps.token(&corp).await.unwrap();
    let suite_token = chain.suites.token(&chain.suite).await.unwrap();
    let held = chain.tickets.get(DEFAULT_SUITE_ID).await.unwrap();
    let rendered = format!(
        "{ticket:?}{held:?}{:?}{corp:?}{:?}{:?}{:?}{:?}{:?}",
        chain.tickets, chain.suite, chain.suites, chain.corps, chain.sim, token
    );
    for secret in [
        ticket.ticket.as_str(),
        code.as_str(),
        DEFAULT_SUITE_SECRET,
        token.as_str(),
        suite_token.as_str(),
    ] {
        assert!(!rendered.contains(secret), "a secret in {rendered}");
    }
}

#[tokio::test]
async fn redis_keeps_the_newest_ticket_across_a_restart() {
    let Some(url) = redis_url() else { return };
    let prefix = crate::common::fresh_prefix("suite_ticket");
    let store = wecom_kf::provider::RedisSuiteTicketStore::connect_with_prefix(&url, &prefix)
        .await
        .unwrap();
    let newer = SuiteTicket::new("wwsuite", "NEWER", 2_000).unwrap();
    let older = SuiteTicket::new("wwsuite", "OLDER", 1_000).unwrap();
    assert!(store.put(&newer).await.unwrap());
    assert!(
        !store.put(&older).await.unwrap(),
        "an older push is refused"
    );
    assert!(
        !store.put(&newer).await.unwrap(),
        "a duplicate delivery changes nothing"
    );
    drop(store);
    // "Restart": a new store on the same Redis finds it.
    let again = wecom_kf::provider::RedisSuiteTicketStore::connect_with_prefix(&url, &prefix)
        .await
        .unwrap();
    let held = again.get("wwsuite").await.unwrap().unwrap();
    assert_eq!((held.expose_ticket(), held.timestamp()), ("NEWER", 2_000));
    assert!(
        again.get("wwother").await.unwrap().is_none(),
        "suites are apart"
    );
    assert!(!format!("{again:?}").contains("NEWER"));
}

/// A restart of the process: a new chain on the same Redis serves a suite token at once.
#[tokio::test]
async fn a_restarted_process_recovers_the_ticket_from_redis() {
    let Some(url) = redis_url() else { return };
    let prefix = crate::common::fresh_prefix("suite_ticket_restart");
    let sim = Simulator::start().await.unwrap();
    let pushed = sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    {
        let store = wecom_kf::provider::RedisSuiteTicketStore::connect_with_prefix(&url, &prefix)
            .await
            .unwrap();
        store.put(&ticket_of(&pushed)).await.unwrap();
    }
    let store = wecom_kf::provider::RedisSuiteTicketStore::connect_with_prefix(&url, &prefix)
        .await
        .unwrap();
    let suites = TokenProvider::builder()
        .source(SuiteTokenSource::new(Arc::new(store)).unwrap())
        .build()
        .unwrap();
    let suite = suite_credential(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, &sim.base_url()).unwrap();
    suites.token(&suite).await.unwrap();
    assert_eq!(sim.counters().calls("service/get_suite_token"), 1);
}

/// The control plane pushes and reads tickets and authorises corps, as the Rust methods do.
#[tokio::test]
async fn the_control_plane_pushes_tickets_and_authorises_corps() {
    let sim = Simulator::start().await.unwrap();
    let http = reqwest::Client::new();
    let post = |route: &str, body: serde_json::Value| {
        let request = http
            .post(format!("{}/__sim/provider/{route}", sim.base_url()))
            .json(&body);
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status().as_u16();
            (
                status,
                answer.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let suite = serde_json::json!({ "suite_id": DEFAULT_SUITE_ID });
    assert_eq!(
        post("suite_ticket", suite.clone()).await.0,
        404,
        "none pushed yet"
    );
    let (status, pushed) = post("suite_ticket/push", suite.clone()).await;
    assert_eq!(status, 200);
    let (_, current) = post("suite_ticket", suite).await;
    assert_eq!(pushed, current);
    let held = sim.suite_ticket(DEFAULT_SUITE_ID).unwrap();
    assert_eq!(current["suite_ticket"], serde_json::json!(held.ticket));
    let (status, _) = post(
        "suite_ticket/push",
        serde_json::json!({"suite_id": "wwnone"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, code) = post(
        "authorise",
        serde_json::json!({"suite_id": DEFAULT_SUITE_ID, "auth_corpid": "wwcontrol"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        code["permanent_code"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
}

/// Two replicas on one Redis token store: a suite token and a corp token fetched by one are
/// used by the other (one `get_suite_token`, one `get_corp_token` in all).
#[tokio::test]
async fn replicas_share_suite_and_corp_tokens_through_the_token_store() {
    let Some(url) = redis_url() else { return };
    let prefix = crate::common::fresh_prefix("provider_replicas");
    let sim = Simulator::start().await.unwrap();
    let pushed = sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    let tickets = Arc::new(MemorySuiteTicketStore::new());
    tickets.put(&ticket_of(&pushed)).await.unwrap();
    let code = sim
        .authorise_corp(DEFAULT_SUITE_ID, "wwreplicated")
        .unwrap();
    let base = sim.base_url();
    let suite = suite_credential(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, &base).unwrap();
    let corp = authorised_corp_credential(DEFAULT_SUITE_ID, "wwreplicated", &code, &base).unwrap();
    let mut clients = Vec::new();
    for _ in 0..2 {
        let store = || async {
            wecom_kf::token::RedisTokenStore::connect(&url)
                .await
                .unwrap()
                .prefix(prefix.clone())
        };
        let suites = TokenProvider::builder()
            .source(SuiteTokenSource::new(tickets.clone()).unwrap())
            .token_store(store().await)
            .build()
            .unwrap();
        let corps = TokenProvider::builder()
            .source(CorpTokenSource::new(suites, suite.clone()).unwrap())
            .token_store(store().await)
            .build()
            .unwrap();
        let client = Client::builder()
            .credential(corp.clone())
            .token_provider(corps)
            .build()
            .unwrap();
        clients.push(client);
    }
    for client in &clients {
        client
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap();
    }
    let counters = sim.counters();
    assert_eq!(counters.calls("service/get_suite_token"), 1);
    assert_eq!(counters.calls("service/get_corp_token"), 1);
    assert_eq!(counters.effects("kf/account/list"), 2);
}

/// A cancelled authorisation: the corp's token is refused (40014), the permanent code too
/// (40084, final: the corp must reinstall), and asking again soon sends nothing.
#[tokio::test]
async fn a_cancelled_corp_is_a_final_error_not_a_loop() {
    let chain = chain().await;
    chain.push_ticket(DEFAULT_SUITE_ID).await;
    let client = chain.tenant("wwcancelled");
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert!(
        chain
            .sim
            .cancel_authorisation(DEFAULT_SUITE_ID, "wwcancelled")
    );
    for _ in 0..2 {
        let err = client
            .kf()
            .account()
            .list(ListAccounts::new())
            .await
            .unwrap_err();
        assert_eq!(err.api().map(|e| e.code()), Some(40084), "{err}");
        assert!(err.is_configuration(), "{err}");
    }
    // One get_corp_token at first, one refused after the 40014; none for the second call.
    assert_eq!(chain.sim.counters().calls("service/get_corp_token"), 2);
}

/// Bad data under a ticket key (another program's string, a hash with a broken TimeStamp):
/// a read is a store error or nothing, never a panic, and the next push replaces it.
#[tokio::test]
async fn redis_ticket_keys_holding_foreign_data_are_replaced_by_the_next_push() {
    let Some(url) = redis_url() else { return };
    let prefix = crate::common::fresh_prefix("suite_ticket_bad");
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{prefix}suite_ticket:wwbad");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("not a hash")
        .query_async(&mut raw)
        .await
        .unwrap();
    let store = wecom_kf::provider::RedisSuiteTicketStore::connect_with_prefix(&url, &prefix)
        .await
        .unwrap();
    assert!(
        store.get("wwbad").await.is_err(),
        "a string is not a ticket"
    );
    let ticket = SuiteTicket::new("wwbad", "GOOD", 10).unwrap();
    assert!(store.put(&ticket).await.unwrap());
    assert_eq!(
        store.get("wwbad").await.unwrap().unwrap().expose_ticket(),
        "GOOD"
    );
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg("ts")
        .arg("soon")
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = store.get("wwbad").await.unwrap_err();
    assert!(!err.to_string().contains("GOOD"), "{err}");
}
