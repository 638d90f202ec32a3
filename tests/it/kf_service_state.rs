//! Session state (`kf/service_state/get`, `trans`) on the simulator: the state machine, the
//! one-time msg_codes, each validation rule, the errcodes, and each endpoint's idempotency
//! class under a dropped answer.

use wecom_kf::errcode;
use wecom_kf::kf::service_state::{GetServiceState, ServiceState, TransferServiceState};
use wecom_kf::kf::servicer::AddServicers;
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error};

const CUSTOMER: &str = "wmCUSTOMER0001";

/// A simulator with an account whose servicer is "zhangsan" ("lisi" is a member, not a
/// servicer), and a customer who has just written.
async fn started() -> (Simulator, Client, String) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "media-1");
    for member in ["zhangsan", "lisi"] {
        sim.seed_member(member);
    }
    client
        .kf()
        .servicer()
        .add(AddServicers::new(&open_kfid).userids(["zhangsan"]))
        .await
        .unwrap();
    sim.seed_session(&open_kfid, CUSTOMER);
    (sim, client, open_kfid)
}

async fn state(client: &Client, open_kfid: &str) -> (ServiceState, Option<String>) {
    let info = client
        .kf()
        .service_state()
        .get(GetServiceState::new(open_kfid, CUSTOMER))
        .await
        .unwrap();
    (info.service_state, info.servicer_userid)
}

fn to(open_kfid: &str, state: ServiceState) -> TransferServiceState {
    TransferServiceState::new(open_kfid, CUSTOMER, state)
}

#[tokio::test]
async fn a_session_moves_through_the_state_machine_with_its_codes() {
    let (_sim, client, open_kfid) = started().await;
    let sessions = client.kf().service_state();
    assert_eq!(
        state(&client, &open_kfid).await,
        (ServiceState::Untreated, None)
    );

    let bot = sessions
        .transfer(to(&open_kfid, ServiceState::Bot))
        .await
        .unwrap();
    assert_eq!(bot.msg_code, None, "no code for the bot");
    let queued = sessions
        .transfer(to(&open_kfid, ServiceState::Queued))
        .await
        .unwrap();
    assert!(
        queued.msg_code.is_some(),
        "the reply code, on the first move to 2"
    );
    let served = sessions
        .transfer(to(&open_kfid, ServiceState::Servicer).servicer_userid("zhangsan"))
        .await
        .unwrap();
    // 95122: "从接待池接入会话" has its own code, apart from "进入接待池"'s (audit F9).
    let taken = served
        .msg_code
        .expect("a code for the move from the queue to a servicer");
    assert_ne!(Some(taken.clone()), queued.msg_code);
    assert_eq!(
        state(&client, &open_kfid).await,
        (ServiceState::Servicer, Some("zhangsan".into()))
    );
    let ended = sessions
        .transfer(to(&open_kfid, ServiceState::Ended))
        .await
        .unwrap();
    let closing = ended.msg_code.expect("a closing code");
    assert_ne!(Some(closing), queued.msg_code);
    assert_eq!(
        state(&client, &open_kfid).await,
        (ServiceState::Ended, None)
    );
}

#[tokio::test]
async fn moves_the_state_machine_does_not_allow_are_95016() {
    let (sim, client, open_kfid) = started().await;
    let sessions = client.kf().service_state();
    sessions
        .transfer(to(&open_kfid, ServiceState::Queued))
        .await
        .unwrap();
    for illegal in [ServiceState::Bot, ServiceState::Queued, ServiceState::Ended] {
        let err = sessions
            .transfer(to(&open_kfid, illegal))
            .await
            .unwrap_err();
        assert_eq!(
            err.api().map(|a| a.code()),
            Some(errcode::KF_STATE_TRANSITION_NOT_ALLOWED),
            "2 -> {illegal:?}"
        );
        assert!(err.to_string().contains("not allowed"), "{err}");
    }
    // A customer who never wrote is in state 4, from which the API moves nothing.
    let stranger = TransferServiceState::new(&open_kfid, "wmSTRANGER", ServiceState::Bot);
    let err = sessions.transfer(stranger).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.code()), Some(95016));
    let info = sessions
        .get(GetServiceState::new(&open_kfid, "wmSTRANGER"))
        .await
        .unwrap();
    assert_eq!(info.service_state, ServiceState::Ended);
    assert_eq!(sim.counters().effects("kf/service_state/trans"), 1);
}

#[tokio::test]
async fn a_session_goes_only_to_a_servicer_of_the_account() {
    let (_sim, client, open_kfid) = started().await;
    let sessions = client.kf().service_state();
    for not_a_servicer in ["lisi", "nobody"] {
        let err = sessions
            .transfer(to(&open_kfid, ServiceState::Servicer).servicer_userid(not_a_servicer))
            .await
            .unwrap_err();
        assert_eq!(
            err.api().map(|a| a.code()),
            Some(errcode::KF_NOT_A_SERVICER)
        );
    }
    assert_eq!(state(&client, &open_kfid).await.0, ServiceState::Untreated);
    let err = sessions
        .get(GetServiceState::new("wkunknown", CUSTOMER))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| a.code()),
        Some(errcode::KF_OPEN_KFID_NOT_FOUND)
    );
}

#[tokio::test]
async fn each_rule_is_checked_before_sending() {
    let (sim, client, open_kfid) = started().await;
    let sessions = client.kf().service_state();
    let long_id = "w".repeat(257);
    let cases = [
        (
            TransferServiceState::new("", CUSTOMER, ServiceState::Bot),
            "open_kfid",
        ),
        (
            TransferServiceState::new(&open_kfid, "", ServiceState::Bot),
            "external_userid",
        ),
        (
            TransferServiceState::new(&open_kfid, &long_id, ServiceState::Bot),
            "external_userid",
        ),
        (to(&open_kfid, ServiceState::Untreated), "service_state"),
        (to(&open_kfid, ServiceState::Other(7)), "service_state"),
        (to(&open_kfid, ServiceState::Servicer), "servicer_userid"),
        (
            to(&open_kfid, ServiceState::Servicer).servicer_userid(""),
            "servicer_userid",
        ),
        (
            to(&open_kfid, ServiceState::Bot).servicer_userid(""),
            "servicer_userid",
        ),
    ];
    for (request, field) in cases {
        match sessions.transfer(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    for (request, field) in [
        (GetServiceState::new("", CUSTOMER), "open_kfid"),
        (GetServiceState::new(&open_kfid, ""), "external_userid"),
    ] {
        match sessions.get(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let counters = sim.counters();
    assert_eq!(counters.calls("kf/service_state/trans"), 0);
    assert_eq!(counters.calls("kf/service_state/get"), 0);
    // The docs require a servicer for state 3 only, and forbid it nowhere: sent as given.
    sessions
        .transfer(to(&open_kfid, ServiceState::Bot).servicer_userid("zhangsan"))
        .await
        .unwrap();
}

/// get is a read: replayed after a dropped answer. trans is not idempotent: a dropped answer
/// is OutcomeUnknown, sent once, and the move happened once.
#[tokio::test]
async fn a_read_is_replayed_and_a_move_is_not() {
    let (sim, client, open_kfid) = started().await;
    let sessions = client.kf().service_state();
    sim.inject("kf/service_state/get", Fault::DropBeforeAnswer, 1);
    assert_eq!(state(&client, &open_kfid).await.0, ServiceState::Untreated);
    assert_eq!(sim.counters().calls("kf/service_state/get"), 2);

    sim.inject("kf/service_state/trans", Fault::DropAfterEffect, 1);
    let err = sessions
        .transfer(to(&open_kfid, ServiceState::Queued))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/service_state/trans"), 1);
    assert_eq!(state(&client, &open_kfid).await.0, ServiceState::Queued);
}

#[test]
fn the_official_example_decodes() {
    use wecom_kf::kf::service_state::GetServiceStateResponse;
    let info: GetServiceStateResponse =
        serde_json::from_str(include_str!("fixtures/kf_service_state_get.json")).unwrap();
    assert_eq!(info.service_state, ServiceState::Servicer);
    assert_eq!(info.servicer_userid.as_deref(), Some("zhangsan"));
}
