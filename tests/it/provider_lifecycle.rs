//! The authorisation lifecycle on the simulator: the simulator plays the install (create_auth
//! with a single-use auth code, cancel_auth, reset_permanent_code, suite_ticket pushes) and
//! the test feeds each decrypted command to the [`Lifecycle`] handler.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;

use wecom_kf::callback::{CallbackCrypto, CommandDedupe, CommandEvent};
use wecom_kf::clock::{Clock, ManualClock};
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::provider::codes::{AuthCode, MemoryPermanentCodeStore, PermanentCodeStore};
use wecom_kf::provider::suite::{GetAuthInfo, GetPermanentCode, SetSessionInfo};
use wecom_kf::provider::{
    CorpTokenSource, Lifecycle, LifecycleOutcome, MemorySuiteTicketStore, Provider,
    SuiteTicketStore, SuiteTokenSource, authorised_corp_credential, suite_credential,
};
use wecom_kf::simulator::{DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, Fault, SimCommand, Simulator};
use wecom_kf::{Client, Error, TokenProvider};

const CORP: &str = "wwinstalled0001";
const EXCHANGE: &str = "service/v2/get_permanent_code";

struct World {
    sim: Simulator,
    clock: ManualClock,
    tickets: Arc<MemorySuiteTicketStore>,
    codes: Arc<MemoryPermanentCodeStore>,
    suite: Client,
    corps: TokenProvider,
}

async fn world() -> World {
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
    let credential =
        suite_credential(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET, &sim.base_url()).unwrap();
    let corps = TokenProvider::builder()
        .clock(clock.clone())
        .source(CorpTokenSource::new(suites.clone(), credential.clone()).unwrap())
        .build()
        .unwrap();
    let suite = Client::builder()
        .credential(credential)
        .token_provider(suites)
        .build()
        .unwrap();
    World {
        sim,
        clock,
        tickets,
        codes: Arc::new(MemoryPermanentCodeStore::new()),
        suite,
        corps,
    }
}

impl World {
    fn handler(&self) -> Lifecycle {
        Lifecycle::new(
            DEFAULT_SUITE_ID,
            self.suite.clone(),
            self.tickets.clone(),
            self.codes.clone(),
            Arc::new(CommandDedupe::new(1000, Duration::from_secs(3600))),
        )
        .warm_corp_tokens(self.corps.clone(), self.sim.base_url())
        .clock(self.clock.clone())
    }

    /// The simulator pushes a ticket and the handler keeps it.
    async fn ticket(&self, handler: &Lifecycle) {
        let pushed = self.sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
        let outcome = handler
            .handle(&event(&self.sim.suite_ticket_command(&pushed)))
            .await
            .unwrap();
        assert!(matches!(
            outcome,
            LifecycleOutcome::TicketStored { kept: true, .. }
        ));
    }

    /// `CORP` installs the suite and the handler acts on the `create_auth`.
    async fn install(&self, handler: &Lifecycle) -> LifecycleOutcome {
        let install = self.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
        handler.handle(&event(&install)).await.unwrap()
    }

    fn tenant(&self, code: &str) -> Client {
        let credential =
            authorised_corp_credential(DEFAULT_SUITE_ID, CORP, code, &self.sim.base_url()).unwrap();
        Client::builder()
            .credential(credential)
            .token_provider(self.corps.clone())
            .build()
            .unwrap()
    }

    async fn stored_code(&self) -> Option<String> {
        self.codes
            .get(DEFAULT_SUITE_ID, CORP)
            .await
            .unwrap()
            .map(|c| c.expose().to_owned())
    }
}

fn event(command: &SimCommand) -> CommandEvent {
    CommandEvent::parse_for_suite(&command.xml, DEFAULT_SUITE_ID).unwrap()
}

fn errcode(result: Result<impl std::fmt::Debug, Error>) -> i64 {
    match result {
        Err(Error::Api(e)) => e.code(),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_install_stores_the_permanent_code_and_the_new_corp_answers_kf_calls() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    let install = w
        .sim
        .install_corp(DEFAULT_SUITE_ID, CORP, Some("st-1"))
        .unwrap();
    let outcome = handler.handle(&event(&install)).await.unwrap();
    match outcome {
        LifecycleOutcome::Installed {
            auth_corpid,
            state,
            warmed,
        } => {
            assert_eq!(auth_corpid, CORP);
            assert_eq!(state.as_deref(), Some("st-1"));
            assert!(warmed);
        }
        other => panic!("{other:?}"),
    }
    let code = w.stored_code().await.unwrap();
    assert!(
        w.codes
            .pending_auth_codes(DEFAULT_SUITE_ID, w.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
    w.tenant(&code)
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    let counters = w.sim.counters();
    assert_eq!(counters.effects(EXCHANGE), 1);
    // The warm-up fetched the corp token; the kf call used it.
    assert_eq!(counters.calls("service/get_corp_token"), 1);
    // No secret in the outcome's Debug.
    let printed = format!("{:?}", handler.handle(&event(&install)).await.unwrap());
    assert!(!printed.contains(install.auth_code.as_deref().unwrap()));
}

const TOKEN: &str = "cmdtoken";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

struct Receiver {
    crypto: CallbackCrypto,
    lifecycle: Lifecycle,
    outcomes: std::sync::Mutex<Vec<LifecycleOutcome>>,
}

/// The provider's command URL: verify and decrypt, act, answer `success`.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let param = |name: &str| query.get(name).map_or("", String::as_str);
    let Ok(event) = receiver.crypto.decrypt_command(
        param("msg_signature"),
        param("timestamp"),
        param("nonce"),
        &body,
    ) else {
        return (StatusCode::FORBIDDEN, "refused");
    };
    match receiver.lifecycle.handle(&event).await {
        Ok(outcome) => {
            receiver.outcomes.lock().unwrap().push(outcome);
            (StatusCode::OK, "success")
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "failed"),
    }
}

#[tokio::test]
async fn the_simulator_delivers_the_install_encrypted_to_the_command_url() {
    let w = world().await;
    let receiver = Arc::new(Receiver {
        crypto: CallbackCrypto::new(TOKEN, AES_KEY, DEFAULT_SUITE_ID).unwrap(),
        lifecycle: w.handler(),
        outcomes: std::sync::Mutex::new(Vec::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cmd", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/cmd", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    w.sim
        .set_command_callback(DEFAULT_SUITE_ID, &url, TOKEN, AES_KEY)
        .unwrap();

    let pushed = w.sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    let ticket = w.sim.suite_ticket_command(&pushed);
    assert_eq!(w.sim.deliver_command(&ticket).await, Ok(200));
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    assert_eq!(w.sim.deliver_command(&install).await, Ok(200));
    // WeCom delivers it again: acknowledged, not exchanged twice.
    assert_eq!(w.sim.deliver_command(&install).await, Ok(200));
    let code = w.stored_code().await.unwrap();
    w.tenant(&code)
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    let cancel = w.sim.uninstall_corp(DEFAULT_SUITE_ID, CORP).unwrap();
    assert_eq!(w.sim.deliver_command(&cancel).await, Ok(200));
    assert_eq!(w.stored_code().await, None);

    assert_eq!(w.sim.command_deliveries("create_auth"), 2);
    assert_eq!(w.sim.command_deliveries("suite_ticket"), 1);
    assert_eq!(w.sim.command_deliveries("cancel_auth"), 1);
    assert_eq!(w.sim.counters().calls(EXCHANGE), 1);
    let outcomes = receiver.outcomes.lock().unwrap();
    assert!(
        matches!(
            outcomes[..],
            [
                LifecycleOutcome::TicketStored { kept: true, .. },
                LifecycleOutcome::Installed { .. },
                LifecycleOutcome::Duplicate { .. },
                LifecycleOutcome::Cancelled { had_code: true, .. },
            ]
        ),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_delivery_without_success_is_reported() {
    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cmd", listener.local_addr().unwrap());
    let app = Router::new().route("/cmd", post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    w.sim
        .set_command_callback(DEFAULT_SUITE_ID, &url, TOKEN, AES_KEY)
        .unwrap();
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    assert!(w.sim.deliver_command(&install).await.is_err());
}

#[tokio::test]
async fn a_crash_between_create_auth_and_the_exchange_loses_nothing() {
    let w = world().await;
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    // The first process stored the auth code as pending, then died before the exchange.
    let code = AuthCode::new(install.auth_code.clone().unwrap());
    w.codes
        .put_pending_auth_code(DEFAULT_SUITE_ID, &code, w.clock.now())
        .await
        .unwrap();
    // A new process: a ticket arrives, and the pending code is exchanged.
    let handler = w.handler();
    w.ticket(&handler).await;
    let outcomes = handler.resume_pending().await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(matches!(outcomes[0], LifecycleOutcome::Installed { .. }));
    assert!(w.stored_code().await.is_some());
    assert!(handler.resume_pending().await.unwrap().is_empty());
    assert_eq!(w.sim.counters().effects(EXCHANGE), 1);
}

#[tokio::test]
async fn a_duplicate_create_auth_exchanges_once() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    let first = handler.handle(&event(&install)).await.unwrap();
    assert!(matches!(first, LifecycleOutcome::Installed { .. }));
    let again = handler.handle(&event(&install)).await.unwrap();
    assert!(
        matches!(again, LifecycleOutcome::Duplicate { .. }),
        "{again:?}"
    );
    // The repeat leaves no stale pending code behind for resume_pending to exchange again.
    assert!(handler.resume_pending().await.unwrap().is_empty());
    assert_eq!(w.sim.counters().calls(EXCHANGE), 1);
}

#[tokio::test]
async fn a_cancelled_corp_is_forgotten_and_its_calls_fail_typed() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    w.install(&handler).await;
    let code = w.stored_code().await.unwrap();
    let cancel = w.sim.uninstall_corp(DEFAULT_SUITE_ID, CORP).unwrap();
    let outcome = handler.handle(&event(&cancel)).await.unwrap();
    assert!(
        matches!(&outcome, LifecycleOutcome::Cancelled { auth_corpid, had_code: true } if auth_corpid == CORP),
        "{outcome:?}"
    );
    assert_eq!(w.stored_code().await, None);
    // A client still holding the old code: the corp token is refused (40014), and the
    // permanent code no longer gets one (40084).
    let result = w
        .tenant(&code)
        .kf()
        .account()
        .list(ListAccounts::new())
        .await;
    assert_eq!(errcode(result), wecom_kf::errcode::INVALID_PERMANENT_CODE);
}

#[tokio::test]
async fn reset_permanent_code_rotates_the_stored_code() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    w.install(&handler).await;
    let old = w.stored_code().await.unwrap();
    let reset = w.sim.reset_permanent_code(DEFAULT_SUITE_ID, CORP).unwrap();
    let outcome = handler.handle(&event(&reset)).await.unwrap();
    assert!(
        matches!(&outcome, LifecycleOutcome::Rotated { replaced: true, .. }),
        "{outcome:?}"
    );
    let new = w.stored_code().await.unwrap();
    assert_ne!(old, new);
    let suite = w.suite.suite();
    let refused = suite
        .get_auth_info(GetAuthInfo::new(CORP, old.into()))
        .await;
    assert_eq!(errcode(refused), wecom_kf::errcode::INVALID_PERMANENT_CODE);
    let info = suite
        .get_auth_info(GetAuthInfo::new(CORP, new.into()))
        .await
        .unwrap();
    assert_eq!(info.auth_corp_info.corpid, CORP);
}

#[tokio::test]
async fn change_auth_reads_the_authorisation_again() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    w.install(&handler).await;
    let xml = format!(
        "<xml><SuiteId><![CDATA[{DEFAULT_SUITE_ID}]]></SuiteId><InfoType><![CDATA[change_auth]]></InfoType><TimeStamp>1</TimeStamp><AuthCorpId><![CDATA[{CORP}]]></AuthCorpId></xml>"
    );
    let outcome = handler
        .handle(&CommandEvent::parse(&xml).unwrap())
        .await
        .unwrap();
    match outcome {
        LifecycleOutcome::AuthChanged {
            info: Some(info), ..
        } => {
            assert_eq!(info.auth_info.agent.len(), 1)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.sim.counters().effects("service/get_auth_info"), 1);
}

#[tokio::test]
async fn an_older_suite_ticket_push_does_not_replace_a_newer_one() {
    let w = world().await;
    let handler = w.handler();
    let older = w.sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    w.clock.advance(Duration::from_secs(600));
    let newer = w.sim.push_suite_ticket(DEFAULT_SUITE_ID).unwrap();
    let kept = handler
        .handle(&event(&w.sim.suite_ticket_command(&newer)))
        .await
        .unwrap();
    assert!(matches!(
        kept,
        LifecycleOutcome::TicketStored { kept: true, .. }
    ));
    let late = handler
        .handle(&event(&w.sim.suite_ticket_command(&older)))
        .await
        .unwrap();
    assert!(
        matches!(late, LifecycleOutcome::TicketStored { kept: false, .. }),
        "{late:?}"
    );
    let held = w.tickets.get(DEFAULT_SUITE_ID).await.unwrap().unwrap();
    assert_eq!(held.expose_ticket(), newer.ticket);
}

#[tokio::test]
async fn a_reused_auth_code_answers_40078_and_a_pending_one_is_dropped() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    handler.handle(&event(&install)).await.unwrap();
    let code = AuthCode::new(install.auth_code.clone().unwrap());
    let again = w
        .suite
        .suite()
        .get_permanent_code(GetPermanentCode::new(code.clone()))
        .await;
    assert_eq!(errcode(again), wecom_kf::errcode::INVALID_AUTH_CODE);
    // A code left pending but already used: resume drops it.
    w.codes
        .put_pending_auth_code(DEFAULT_SUITE_ID, &code, w.clock.now())
        .await
        .unwrap();
    let outcomes = handler.resume_pending().await.unwrap();
    assert!(matches!(
        outcomes[..],
        [LifecycleOutcome::ExchangeRefused { errcode: 40078 }]
    ));
    assert!(handler.resume_pending().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_auth_code_past_ten_minutes_answers_40078() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    w.clock.advance(Duration::from_secs(600));
    let code = AuthCode::new(install.auth_code.clone().unwrap());
    let late = w
        .suite
        .suite()
        .get_permanent_code(GetPermanentCode::new(code))
        .await;
    assert_eq!(errcode(late), wecom_kf::errcode::INVALID_AUTH_CODE);
}

#[tokio::test]
async fn a_pre_auth_code_serves_set_session_info_for_twenty_minutes() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    let pre = w.suite.suite().get_pre_auth_code().await.unwrap();
    assert_eq!(pre.expires_in, 1200);
    w.suite
        .suite()
        .set_session_info(SetSessionInfo::new(&pre.pre_auth_code).test_install(true))
        .await
        .unwrap();
    w.clock.advance(Duration::from_secs(1200));
    // The suite token is still good (2 h); the pre-auth code is not.
    let late = w
        .suite
        .suite()
        .set_session_info(SetSessionInfo::new(&pre.pre_auth_code))
        .await;
    assert_eq!(errcode(late), 42007);
}

#[tokio::test]
async fn the_control_routes_play_an_install_and_a_removal() {
    let w = world().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cmd", listener.local_addr().unwrap());
    let app = Router::new().route("/cmd", post(|| async { "success" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let control = |path: &str| format!("{}/__sim/provider/{path}", w.sim.base_url());
    let set = http
        .post(control("command_callback"))
        .json(&serde_json::json!({"suite_id": DEFAULT_SUITE_ID, "url": url, "token": TOKEN, "encoding_aes_key": AES_KEY}))
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    let installed: serde_json::Value = http
        .post(control("install"))
        .json(&serde_json::json!({"suite_id": DEFAULT_SUITE_ID, "auth_corpid": CORP, "state": "s"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(installed["info_type"], "create_auth");
    assert!(installed["auth_code"].is_string());
    assert_eq!(installed["delivery"]["status"], 200, "{installed}");
    // The auth code exchanges once.
    let code = AuthCode::new(installed["auth_code"].as_str().unwrap());
    let handler = w.handler();
    w.ticket(&handler).await;
    let exchanged = w
        .suite
        .suite()
        .get_permanent_code(GetPermanentCode::new(code))
        .await
        .unwrap();
    assert_eq!(exchanged.state.as_deref(), Some("s"));
    let removed: serde_json::Value = http
        .post(control("uninstall"))
        .json(&serde_json::json!({"suite_id": DEFAULT_SUITE_ID, "auth_corpid": CORP}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(removed["info_type"], "cancel_auth");
    assert_eq!(w.sim.command_deliveries("cancel_auth"), 1);
}

#[tokio::test]
async fn suite_tickets_are_pushed_every_ten_minutes_by_the_simulators_clock() {
    let w = world().await;
    let first = w.sim.push_due_suite_tickets().await;
    assert_eq!(first.len(), 1, "a suite without a ticket is due");
    assert!(first[0].1.is_none(), "no command URL: not delivered");
    assert!(w.sim.push_due_suite_tickets().await.is_empty());
    w.clock.advance(Duration::from_secs(599));
    assert!(w.sim.push_due_suite_tickets().await.is_empty());
    w.clock.advance(Duration::from_secs(1));
    let second = w.sim.push_due_suite_tickets().await;
    assert_eq!(second.len(), 1);
    assert_ne!(second[0].0.ticket, first[0].0.ticket);
    assert_eq!(
        w.sim.suite_ticket(DEFAULT_SUITE_ID).unwrap().ticket,
        second[0].0.ticket
    );
}

fn change_auth() -> CommandEvent {
    let xml = format!(
        "<xml><SuiteId><![CDATA[{DEFAULT_SUITE_ID}]]></SuiteId><InfoType><![CDATA[change_auth]]></InfoType><TimeStamp>7</TimeStamp><AuthCorpId><![CDATA[{CORP}]]></AuthCorpId></xml>"
    );
    CommandEvent::parse(&xml).unwrap()
}

#[tokio::test]
async fn a_command_whose_work_failed_is_done_when_handled_again() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    w.install(&handler).await;
    // WeCom refuses the auth-info read once (not a transient failure: no retry).
    w.sim
        .inject("service/get_auth_info", Fault::Errcode(60011), 1);
    let failed = handler.handle(&change_auth()).await;
    assert_eq!(errcode(failed), 60011);
    // The same delivery again is not a duplicate: its work was not done.
    let outcome = handler.handle(&change_auth()).await.unwrap();
    assert!(
        matches!(outcome, LifecycleOutcome::AuthChanged { info: Some(_), .. }),
        "{outcome:?}"
    );
    // Done once, it is a duplicate from then on.
    let again = handler.handle(&change_auth()).await.unwrap();
    assert!(
        matches!(again, LifecycleOutcome::Duplicate { .. }),
        "{again:?}"
    );
    assert_eq!(w.sim.counters().effects("service/get_auth_info"), 1);
}

#[tokio::test]
async fn an_auth_code_from_the_install_redirect_installs_the_corp() {
    let w = world().await;
    let handler = w.handler();
    w.ticket(&handler).await;
    // An install started on the provider's site: the auth code comes in the redirect.
    let install = w
        .sim
        .install_corp(DEFAULT_SUITE_ID, CORP, Some("site"))
        .unwrap();
    let code = AuthCode::new(install.auth_code.clone().unwrap());
    let outcome = handler.accept_auth_code(code).await.unwrap();
    assert!(
        matches!(&outcome, LifecycleOutcome::Installed { auth_corpid, warmed: true, .. } if auth_corpid == CORP),
        "{outcome:?}"
    );
    assert!(w.stored_code().await.is_some());
    assert!(
        w.codes
            .pending_auth_codes(DEFAULT_SUITE_ID, w.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
}

/// A registry on the world's simulator and clock, with its own stores.
fn registry(w: &World) -> Provider {
    Provider::builder()
        .suite(DEFAULT_SUITE_ID, DEFAULT_SUITE_SECRET)
        .ticket_store(w.tickets.clone())
        .code_store(w.codes.clone())
        .base_url(w.sim.base_url())
        .clock(w.clock.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_registrys_lifecycle_installs_and_on_cancel_drops_the_corps_client_and_token() {
    let w = world().await;
    let provider = registry(&w);
    let handler = provider.lifecycle(Arc::new(CommandDedupe::new(100, Duration::from_secs(3600))));
    w.ticket(&handler).await;
    let install = w.sim.install_corp(DEFAULT_SUITE_ID, CORP, None).unwrap();
    let outcome = handler.handle(&event(&install)).await.unwrap();
    assert!(
        matches!(outcome, LifecycleOutcome::Installed { warmed: true, .. }),
        "{outcome:?}"
    );
    // The warm-up fetched the token the tenant's call then uses.
    let client = provider.corp(CORP).await.unwrap();
    client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    assert_eq!(w.sim.counters().calls("service/get_corp_token"), 1);
    provider.run_pending_tasks().await;
    assert_eq!(provider.cached_tenants(), 1);

    let cancel = w.sim.uninstall_corp(DEFAULT_SUITE_ID, CORP).unwrap();
    handler.handle(&event(&cancel)).await.unwrap();
    provider.run_pending_tasks().await;
    provider.corp_tokens().run_pending_tasks().await;
    assert_eq!(provider.cached_tenants(), 0);
    assert_eq!(provider.corp_tokens().cached_tokens(), 0);
    assert!(matches!(
        provider.corp(CORP).await,
        Err(Error::NotAuthorised { .. })
    ));
}

#[tokio::test]
async fn a_registrys_lifecycle_serves_the_new_code_after_a_reset() {
    let w = world().await;
    let provider = registry(&w);
    let handler = provider.lifecycle(Arc::new(CommandDedupe::new(100, Duration::from_secs(3600))));
    w.ticket(&handler).await;
    w.install(&handler).await;
    let before = provider.corp(CORP).await.unwrap();
    let reset = w.sim.reset_permanent_code(DEFAULT_SUITE_ID, CORP).unwrap();
    let outcome = handler.handle(&event(&reset)).await.unwrap();
    assert!(
        matches!(outcome, LifecycleOutcome::Rotated { replaced: true, .. }),
        "{outcome:?}"
    );
    // The registry builds the corp's client again, from the new code.
    let after = provider.corp(CORP).await.unwrap();
    assert_ne!(
        before.credential().fingerprint(),
        after.credential().fingerprint()
    );
    after
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    // One token for the old code (the warm-up), one for the new.
    assert_eq!(w.sim.counters().calls("service/get_corp_token"), 2);
}

#[tokio::test]
async fn the_control_route_and_the_background_schedule_push_due_tickets() {
    // The route, for programs in other languages.
    let w = world().await;
    let http = reqwest::Client::new();
    let route = format!("{}/__sim/provider/suite_ticket/push_due", w.sim.base_url());
    let pushed: serde_json::Value = http
        .post(&route)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushed["pushed"][0]["suite_id"], DEFAULT_SUITE_ID);
    assert!(pushed["pushed"][0]["delivery"].is_null(), "{pushed}");
    let again: serde_json::Value = http
        .post(&route)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["pushed"], serde_json::json!([]), "not due again yet");

    // The background schedule delivers to the command URL without being asked.
    let (seen, mut deliveries) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cmd", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/cmd",
        post(move |body: Bytes| {
            let _ = seen.send(body);
            async { "success" }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let clock = ManualClock::new();
    let scheduled = Simulator::builder()
        .clock(clock.clone())
        .suite_ticket_schedule(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    scheduled
        .set_command_callback(DEFAULT_SUITE_ID, &url, TOKEN, AES_KEY)
        .unwrap();
    // The first tick finds the suite without a ticket (or the URL not set yet: then the
    // ticket is pushed undelivered, and the next push is due in 10 minutes).
    clock.advance(Duration::from_secs(600));
    let delivered = tokio::time::timeout(Duration::from_secs(10), deliveries.recv())
        .await
        .expect("a scheduled push within 10 s of real time")
        .unwrap();
    assert!(!delivered.is_empty());
    assert!(scheduled.command_deliveries("suite_ticket") >= 1);
}

#[tokio::test]
async fn an_install_link_carries_a_pre_auth_code_that_wecom_accepts() {
    let w = world().await;
    let provider = registry(&w);
    let handler = provider.lifecycle(Arc::new(CommandDedupe::new(100, Duration::from_secs(3600))));
    w.ticket(&handler).await;
    let link = provider
        .install_link(
            "https://saas.example.com/installed?from=site&x=1",
            Some("signup 7"),
        )
        .await
        .unwrap();
    assert!(
        link.as_str()
            .starts_with(wecom_kf::provider::suite::INSTALL_PAGE),
        "{link}"
    );
    let query: HashMap<String, String> = link.query_pairs().into_owned().collect();
    assert_eq!(query["suite_id"], DEFAULT_SUITE_ID);
    assert_eq!(
        query["redirect_uri"],
        "https://saas.example.com/installed?from=site&x=1"
    );
    assert_eq!(query["state"], "signup 7");
    // The code in it is one WeCom issued: its session can be set.
    provider
        .suite()
        .set_session_info(SetSessionInfo::new(&query["pre_auth_code"]).test_install(true))
        .await
        .unwrap();
    // A redirect that is not a URL is refused before a pre-auth code is asked for.
    let calls = w.sim.counters().calls("service/get_pre_auth_code");
    let refused = provider.install_link("/relative", None).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }), "{refused:?}");
    assert_eq!(w.sim.counters().calls("service/get_pre_auth_code"), calls);
}
