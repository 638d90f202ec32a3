//! Servicers (`kf/servicer/add`, `del`, `list`) and contact links (`kf/add_contact_way`), on
//! the simulator: the happy paths, each validation rule, the errcodes, and each endpoint's
//! idempotency class under a dropped answer.

use wecom_kf::errcode;
use wecom_kf::kf::account::{AddContactWay, AddContactWayResponse};
use wecom_kf::kf::servicer::{
    AddServicers, AddServicersResponse, DeleteServicers, ListServicers, ReceptionStatus,
    ServicerResult,
};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error};

async fn started() -> (Simulator, Client, String) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    let open_kfid = sim.seed_account("售后客服", "media-1");
    (sim, client, open_kfid)
}

fn items(results: &[ServicerResult]) -> Vec<(String, i64, String)> {
    results
        .iter()
        .map(|r| {
            let who = r
                .userid
                .clone()
                .or(r.department_id.map(|d| d.to_string()))
                .unwrap_or_default();
            (who, r.errcode, r.errmsg.clone())
        })
        .collect()
}

fn item(who: &str, code: i64, msg: &str) -> (String, i64, String) {
    (who.to_owned(), code, msg.to_owned())
}

#[tokio::test]
async fn servicers_are_added_listed_and_removed_with_per_item_results() {
    let (sim, client, open_kfid) = started().await;
    for member in ["zhangsan", "lisi"] {
        sim.seed_member(member);
    }
    sim.seed_department(2);
    let servicers = client.kf().servicer();

    let added = servicers
        .add(
            AddServicers::new(&open_kfid)
                .userids(["zhangsan", "lisi", "ghost"])
                .departments([2, 99]),
        )
        .await
        .unwrap();
    assert_eq!(
        items(&added.result_list),
        [
            item("zhangsan", 0, "success"),
            item("lisi", 0, "success"),
            item("ghost", errcode::USERID_NOT_FOUND, "userid not found"),
            item("2", 0, "success"),
            item("99", errcode::INVALID_DEPARTMENT, "invalid party id"),
        ]
    );
    // A partial failure is data: the call succeeded, two items did not.
    let failed: Vec<_> = added.failures().map(|f| f.errcode).collect();
    assert_eq!(failed, [60111, 60123]);
    assert!(added.failures().all(|f| f.description().is_some()));

    let list = servicers
        .list(ListServicers::new(&open_kfid))
        .await
        .unwrap()
        .servicer_list;
    let members: Vec<_> = list.iter().filter_map(|s| s.userid.as_deref()).collect();
    let departments: Vec<_> = list.iter().filter_map(|s| s.department_id).collect();
    assert_eq!(members, ["zhangsan", "lisi"]);
    assert_eq!(departments, [2]);
    assert!(
        list.iter()
            .filter(|s| s.userid.is_some())
            .all(|s| s.status == Some(ReceptionStatus::Receiving))
    );

    // Adding again changes nothing and still succeeds, item by item.
    let again = servicers
        .add(AddServicers::new(&open_kfid).userids(["zhangsan"]))
        .await
        .unwrap();
    assert_eq!(items(&again.result_list), [item("zhangsan", 0, "ignored")]);

    let removed = servicers
        .delete(
            DeleteServicers::new(&open_kfid)
                .userids(["lisi"])
                .departments([2]),
        )
        .await
        .unwrap();
    assert_eq!(
        items(&removed.result_list),
        [item("lisi", 0, "success"), item("2", 0, "success")]
    );
    let gone = servicers
        .delete(DeleteServicers::new(&open_kfid).userids(["lisi"]))
        .await
        .unwrap();
    assert_eq!(items(&gone.result_list), [item("lisi", 0, "ignored")]);
    let list = servicers
        .list(ListServicers::new(&open_kfid))
        .await
        .unwrap()
        .servicer_list;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].userid.as_deref(), Some("zhangsan"));
}

#[tokio::test]
async fn each_servicer_rule_is_checked_before_sending() {
    let (sim, client, open_kfid) = started().await;
    let servicers = client.kf().servicer();
    let too_many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    let a = || vec!["a".to_owned()];
    // (open_kfid, userids, departments, the field refused), for both add and delete.
    let cases: Vec<(String, Vec<String>, Vec<u64>, &str)> = vec![
        (String::new(), a(), vec![], "open_kfid"),
        ("k".repeat(65), a(), vec![], "open_kfid"),
        (open_kfid.clone(), vec![], vec![], "userid_list"),
        (open_kfid.clone(), too_many, vec![], "userid_list"),
        (
            open_kfid.clone(),
            vec![],
            (0..101).collect(),
            "department_id_list",
        ),
        (
            open_kfid.clone(),
            vec![String::new()],
            vec![],
            "userid_list",
        ),
        (
            open_kfid.clone(),
            vec!["u".repeat(65)],
            vec![],
            "userid_list",
        ),
    ];
    for (kfid, userids, departments, field) in cases {
        let add = AddServicers::new(&kfid)
            .userids(userids.clone())
            .departments(departments.clone());
        let delete = DeleteServicers::new(&kfid)
            .userids(userids)
            .departments(departments);
        for result in [
            servicers.add(add).await.map(drop),
            servicers.delete(delete).await.map(drop),
        ] {
            match result {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
    for bad in ["", &"k".repeat(65)] {
        assert!(matches!(
            servicers.list(ListServicers::new(bad)).await,
            Err(Error::InvalidInput {
                field: "open_kfid",
                ..
            })
        ));
    }
    // The limits themselves are accepted.
    let hundred: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let at_limit = servicers
        .add(
            AddServicers::new(&open_kfid)
                .userids(hundred)
                .departments(1..=100),
        )
        .await
        .unwrap();
    assert_eq!(at_limit.result_list.len(), 200);
    // Nothing was sent for the refused ones: one add, and the token it needed.
    let counters = sim.counters();
    assert_eq!(counters.calls("kf/servicer/add"), 1);
    assert_eq!(counters.calls("kf/servicer/del"), 0);
    assert_eq!(counters.calls("kf/servicer/list"), 0);
}

#[tokio::test]
async fn an_unknown_account_is_an_api_error() {
    let (_sim, client, _open_kfid) = started().await;
    let servicers = client.kf().servicer();
    let err = servicers
        .add(AddServicers::new("wkunknown").userids(["a"]))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| a.code()),
        Some(errcode::KF_OPEN_KFID_NOT_FOUND)
    );
    let err = servicers
        .list(ListServicers::new("wkunknown"))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| a.code()),
        Some(errcode::KF_OPEN_KFID_NOT_FOUND)
    );
}

/// Add and delete are idempotent: after a dropped answer they are replayed, and the replay
/// reports the change as already made. List is a read: replayed too.
#[tokio::test]
async fn servicer_calls_are_replayed_after_a_dropped_answer() {
    let (sim, client, open_kfid) = started().await;
    sim.seed_member("zhangsan");
    let servicers = client.kf().servicer();

    sim.inject("kf/servicer/add", Fault::DropAfterEffect, 1);
    let added = servicers
        .add(AddServicers::new(&open_kfid).userids(["zhangsan"]))
        .await
        .unwrap();
    assert_eq!(items(&added.result_list), [item("zhangsan", 0, "ignored")]);
    assert_eq!(sim.counters().calls("kf/servicer/add"), 2);

    sim.inject("kf/servicer/list", Fault::DropBeforeAnswer, 1);
    let list = servicers
        .list(ListServicers::new(&open_kfid))
        .await
        .unwrap()
        .servicer_list;
    assert_eq!(list.len(), 1, "added once");
    assert_eq!(sim.counters().calls("kf/servicer/list"), 2);

    sim.inject("kf/servicer/del", Fault::DropAfterEffect, 1);
    let removed = servicers
        .delete(DeleteServicers::new(&open_kfid).userids(["zhangsan"]))
        .await
        .unwrap();
    assert_eq!(
        items(&removed.result_list),
        [item("zhangsan", 0, "ignored")]
    );
    assert!(
        servicers
            .list(ListServicers::new(&open_kfid))
            .await
            .unwrap()
            .servicer_list
            .is_empty()
    );
}

#[tokio::test]
async fn a_contact_link_is_made_with_or_without_a_scene() {
    let (_sim, client, open_kfid) = started().await;
    let accounts = client.kf().account();
    let plain = accounts
        .add_contact_way(AddContactWay::new(&open_kfid))
        .await
        .unwrap();
    assert!(plain.url.starts_with("https://work.weixin.qq.com/kf/"));
    assert!(!plain.url.contains("enc_scene"));
    let tagged = accounts
        .add_contact_way(AddContactWay::new(&open_kfid).scene("spring_sale-2026"))
        .await
        .unwrap();
    assert!(tagged.url.contains("?enc_scene="), "{}", tagged.url);
    let link = tagged.with_scene_param("a=1&b=2").unwrap();
    assert!(link.ends_with("&scene_param=a%3D1%26b%3D2"), "{link}");
}

#[tokio::test]
async fn each_contact_link_rule_is_checked_before_sending() {
    let (sim, client, open_kfid) = started().await;
    let accounts = client.kf().account();
    let cases = [
        (AddContactWay::new(""), "open_kfid"),
        (
            AddContactWay::new(&open_kfid).scene("s".repeat(33)),
            "scene",
        ),
        (AddContactWay::new(&open_kfid).scene("has space"), "scene"),
        (AddContactWay::new(&open_kfid).scene("场景"), "scene"),
    ];
    for (request, field) in cases {
        match accounts.add_contact_way(request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    accounts
        .add_contact_way(AddContactWay::new(&open_kfid).scene("s".repeat(32)))
        .await
        .unwrap();
    assert_eq!(sim.counters().calls("kf/add_contact_way"), 1);
    let err = accounts
        .add_contact_way(AddContactWay::new("wkunknown"))
        .await
        .unwrap_err();
    assert_eq!(
        err.api().map(|a| a.code()),
        Some(errcode::KF_OPEN_KFID_NOT_FOUND)
    );

    let way: AddContactWayResponse =
        serde_json::from_str(r#"{"url":"https://work.weixin.qq.com/kf/x?enc_scene=E"}"#).unwrap();
    assert!(
        way.with_scene_param(&"é".repeat(22)).is_err(),
        "132 bytes encoded"
    );
    assert!(way.with_scene_param(&"a".repeat(128)).is_ok());
}

/// Not idempotent: a dropped answer is OutcomeUnknown, and the call is not replayed.
#[tokio::test]
async fn a_contact_link_whose_answer_is_lost_is_outcome_unknown() {
    let (sim, client, open_kfid) = started().await;
    sim.inject("kf/add_contact_way", Fault::DropAfterEffect, 1);
    let err = client
        .kf()
        .account()
        .add_contact_way(AddContactWay::new(&open_kfid))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/add_contact_way"), 1);
}

#[test]
fn the_official_examples_decode() {
    let results: AddServicersResponse =
        serde_json::from_str(include_str!("fixtures/kf_servicer_add.json")).unwrap();
    assert_eq!(
        items(&results.result_list),
        [item("zhangsan", 0, "success"), item("lisi", 0, "ignored")]
    );
    assert_eq!(results.failures().count(), 0);
    let list: wecom_kf::kf::servicer::ListServicersResponse =
        serde_json::from_str(include_str!("fixtures/kf_servicer_list.json")).unwrap();
    let statuses: Vec<_> = list.servicer_list.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [
            Some(ReceptionStatus::Receiving),
            Some(ReceptionStatus::Stopped),
            None,
            None
        ]
    );
    assert_eq!(list.servicer_list[3].department_id, Some(3));
    let way: AddContactWayResponse =
        serde_json::from_str(include_str!("fixtures/kf_add_contact_way.json")).unwrap();
    assert_eq!(
        way.url,
        "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF"
    );
    // The doc's own example of a link with a scene_param.
    assert_eq!(
        way.with_scene_param("a=1&b=2").unwrap(),
        "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF&scene_param=a%3D1%26b%3D2"
    );
}
