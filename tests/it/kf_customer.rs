//! Customers (`kf/customer/batchget`), the upgrade service and the corp's qualification, on
//! the simulator: happy paths, each validation rule, the errcodes, and each endpoint's
//! idempotency class under a dropped answer.

use wecom_kf::errcode;
use wecom_kf::kf::customer::{BatchGetCustomers, CancelUpgradeService, Gender, UpgradeService};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error};

async fn started() -> (Simulator, Client, String) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "media-1");
    sim.seed_customer("wmALICE", "Alice");
    sim.seed_customer("wmBOB", "Bob");
    sim.configure_upgrade_service(["zhangsan"], ["wrGROUP1"]);
    (sim, client, open_kfid)
}

#[tokio::test]
async fn customers_are_found_and_unknown_ids_come_back_as_data() {
    let (_sim, client, _open_kfid) = started().await;
    let customers = client.kf().customer();
    let batch = customers
        .batch_get(BatchGetCustomers::new(["wmALICE", "wmGONE", "wmBOB"]))
        .await
        .unwrap();
    let names: Vec<_> = batch
        .customer_list
        .iter()
        .map(|c| (c.external_userid.as_str(), c.nickname.as_str()))
        .collect();
    assert_eq!(names, [("wmALICE", "Alice"), ("wmBOB", "Bob")]);
    assert_eq!(batch.invalid_external_userid, ["wmGONE"]);
    assert!(
        batch
            .customer_list
            .iter()
            .all(|c| c.gender == Gender::Unknown)
    );
    assert!(batch.customer_list[0].enter_session_context.is_none());
    let with_context = customers
        .batch_get(BatchGetCustomers::new(["wmALICE"]).with_enter_session_context())
        .await
        .unwrap();
    assert!(
        with_context.customer_list[0]
            .enter_session_context
            .is_some()
    );
}

#[tokio::test]
async fn each_customer_rule_is_checked_before_sending() {
    let (sim, client, open_kfid) = started().await;
    let customers = client.kf().customer();
    let none: [&str; 0] = [];
    let too_many: Vec<String> = (0..101).map(|i| format!("wm{i}")).collect();
    for request in [
        BatchGetCustomers::new(none),
        BatchGetCustomers::new(too_many),
        BatchGetCustomers::new([""]),
    ] {
        assert!(matches!(
            customers.batch_get(request).await,
            Err(Error::InvalidInput {
                field: "external_userid_list",
                ..
            })
        ));
    }
    let hundred: Vec<String> = (0..100).map(|i| format!("wm{i}")).collect();
    let at_limit = customers
        .batch_get(BatchGetCustomers::new(hundred))
        .await
        .unwrap();
    assert_eq!(at_limit.invalid_external_userid.len(), 100);

    for (request, field) in [
        (
            UpgradeService::to_member("", "wmALICE", "zhangsan"),
            "open_kfid",
        ),
        (
            UpgradeService::to_member(&open_kfid, "", "zhangsan"),
            "external_userid",
        ),
        (
            UpgradeService::to_member(&open_kfid, "wmALICE", ""),
            "member.userid",
        ),
        (
            UpgradeService::to_group_chat(&open_kfid, "wmALICE", ""),
            "groupchat.chat_id",
        ),
    ] {
        match customers.upgrade_service(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    for (request, field) in [
        (CancelUpgradeService::new("", "wmALICE"), "open_kfid"),
        (CancelUpgradeService::new(&open_kfid, ""), "external_userid"),
    ] {
        match customers.cancel_upgrade_service(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let counters = sim.counters();
    assert_eq!(
        counters.calls("kf/customer/batchget"),
        1,
        "only the one at the limit"
    );
    assert_eq!(counters.calls("kf/customer/upgrade_service"), 0);
    assert_eq!(counters.calls("kf/customer/cancel_upgrade_service"), 0);
}

#[tokio::test]
async fn the_upgrade_service_recommends_only_what_is_configured() {
    let (sim, client, open_kfid) = started().await;
    let customers = client.kf().customer();
    let config = customers.get_upgrade_service_config().await.unwrap();
    assert_eq!(config.member_range.userid_list, ["zhangsan"]);
    assert_eq!(config.groupchat_range.chat_id_list, ["wrGROUP1"]);

    customers
        .upgrade_service(UpgradeService::to_member(&open_kfid, "wmALICE", "zhangsan").wording("hi"))
        .await
        .unwrap();
    assert_eq!(
        sim.upgrade_recommendation(&open_kfid, "wmALICE").as_deref(),
        Some("zhangsan")
    );
    customers
        .upgrade_service(UpgradeService::to_group_chat(
            &open_kfid, "wmBOB", "wrGROUP1",
        ))
        .await
        .unwrap();
    for unconfigured in [
        UpgradeService::to_member(&open_kfid, "wmALICE", "lisi"),
        UpgradeService::to_group_chat(&open_kfid, "wmALICE", "wrOTHER"),
    ] {
        let err = customers.upgrade_service(unconfigured).await.unwrap_err();
        assert_eq!(
            err.api().map(|a| a.code()),
            Some(errcode::KF_UPGRADE_TARGET_NOT_CONFIGURED)
        );
        assert!(err.to_string().contains("not configured"), "{err}");
    }
    customers
        .cancel_upgrade_service(CancelUpgradeService::new(&open_kfid, "wmALICE"))
        .await
        .unwrap();
    assert_eq!(sim.upgrade_recommendation(&open_kfid, "wmALICE"), None);
    let err = customers
        .cancel_upgrade_service(CancelUpgradeService::new("wkunknown", "wmALICE"))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| a.code()),
        Some(errcode::KF_OPEN_KFID_NOT_FOUND)
    );

    let qualification = customers.get_corp_qualification().await.unwrap();
    assert!(!qualification.wechat_channels_binding);
}

/// Reads and the cancel are replayed after a dropped answer; the recommendation is not.
#[tokio::test]
async fn reads_and_cancels_are_replayed_and_a_recommendation_is_not() {
    let (sim, client, open_kfid) = started().await;
    let customers = client.kf().customer();
    for path in [
        "kf/customer/batchget",
        "kf/customer/get_upgrade_service_config",
        "kf/get_corp_qualification",
    ] {
        sim.inject(path, Fault::DropBeforeAnswer, 1);
    }
    customers
        .batch_get(BatchGetCustomers::new(["wmALICE"]))
        .await
        .unwrap();
    customers.get_upgrade_service_config().await.unwrap();
    customers.get_corp_qualification().await.unwrap();
    let counters = sim.counters();
    for path in [
        "kf/customer/batchget",
        "kf/customer/get_upgrade_service_config",
        "kf/get_corp_qualification",
    ] {
        assert_eq!(counters.calls(path), 2, "{path}");
    }

    sim.inject("kf/customer/upgrade_service", Fault::DropAfterEffect, 1);
    let err = customers
        .upgrade_service(UpgradeService::to_member(&open_kfid, "wmALICE", "zhangsan"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/customer/upgrade_service"), 1);
    assert!(sim.upgrade_recommendation(&open_kfid, "wmALICE").is_some());

    sim.inject(
        "kf/customer/cancel_upgrade_service",
        Fault::DropAfterEffect,
        1,
    );
    customers
        .cancel_upgrade_service(CancelUpgradeService::new(&open_kfid, "wmALICE"))
        .await
        .unwrap();
    assert_eq!(
        sim.counters().calls("kf/customer/cancel_upgrade_service"),
        2
    );
    assert_eq!(sim.upgrade_recommendation(&open_kfid, "wmALICE"), None);
}

#[test]
fn the_official_examples_decode() {
    use wecom_kf::kf::customer::{BatchGetCustomersResponse, GetUpgradeServiceConfigResponse};
    let batch: BatchGetCustomersResponse =
        serde_json::from_str(include_str!("fixtures/kf_customer_batchget.json")).unwrap();
    let c = &batch.customer_list[0];
    assert_eq!((c.nickname.as_str(), c.gender), ("张三", Gender::Male));
    assert_eq!(c.unionid.as_deref(), Some("oxasdaosaosdasdasdasd"));
    assert_eq!(batch.invalid_external_userid, ["zhangsan"]);
    let config: GetUpgradeServiceConfigResponse =
        serde_json::from_str(include_str!("fixtures/kf_upgrade_service_config.json")).unwrap();
    assert_eq!(config.member_range.department_id_list, [2, 3]);
    assert_eq!(config.groupchat_range.chat_id_list.len(), 2);
}
