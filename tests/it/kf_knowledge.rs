//! The knowledge base (`kf/knowledge/*`) on the simulator: groups and intents end to end,
//! paging, each validation rule, the server's rules, and each endpoint's idempotency class
//! under a dropped answer.

use wecom_kf::kf::knowledge::{
    AddGroup, AddIntent, Answer, Attachment, DeleteGroup, DeleteIntent, ListGroups, ListIntents,
    UpdateGroup, UpdateIntent,
};
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::{Client, Error};

async fn started() -> (Simulator, Client) {
    let sim = Simulator::start().await.unwrap();
    let client = sim.client_builder().build().unwrap();
    (sim, client)
}

fn invalid_field(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match result {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn groups_and_intents_end_to_end() {
    let (_sim, client) = started().await;
    let kb = client.kf().knowledge();
    let groups = kb.list_groups(ListGroups::new()).await.unwrap().group_list;
    assert_eq!(groups.len(), 1);
    assert!(groups[0].is_default);

    let group = kb.add_group(AddGroup::new("售后")).await.unwrap().group_id;
    kb.update_group(UpdateGroup::new(&group, "售后服务"))
        .await
        .unwrap();
    let answer = Answer::text("7 天无理由退货")
        .attachment(Attachment::image("media-banner"))
        .attachment(Attachment::Link {
            title: "政策".into(),
            picurl: "https://example.com/p.png".into(),
            desc: "退货政策".into(),
            url: "https://example.com/returns".into(),
        });
    let intent = kb
        .add_intent(
            AddIntent::new(&group, "怎么退货?", answer).similar_questions(["可以退吗", "退货流程"]),
        )
        .await
        .unwrap()
        .intent_id;

    let listed = kb
        .list_intents(ListIntents::new().group_id(&group))
        .await
        .unwrap()
        .intent_list;
    assert_eq!(listed.len(), 1);
    let i = &listed[0];
    assert_eq!(
        (i.intent_id.as_str(), i.group_id.as_str()),
        (intent.as_str(), group.as_str())
    );
    assert_eq!(i.question.text.content, "怎么退货?");
    assert_eq!(i.similar_questions.items.len(), 2);
    let attachments = &i.answers[0].attachments;
    assert_eq!(attachments[0]["msgtype"], "image");
    assert!(
        attachments[0]["image"]["name"].is_string(),
        "named, not by media_id"
    );
    assert_eq!(attachments[1]["link"]["title"], "政策");

    kb.update_intent(UpdateIntent::new(&intent).answer(Answer::text("30 天")))
        .await
        .unwrap();
    let modified = kb
        .list_intents(ListIntents::new().intent_id(&intent))
        .await
        .unwrap()
        .intent_list;
    assert_eq!(modified[0].answers[0].text.content, "30 天");
    assert_eq!(
        modified[0].question.text.content, "怎么退货?",
        "other parts kept"
    );

    kb.delete_intent(DeleteIntent::new(&intent)).await.unwrap();
    assert!(
        kb.list_intents(ListIntents::new())
            .await
            .unwrap()
            .intent_list
            .is_empty()
    );
    kb.delete_group(DeleteGroup::new(&group)).await.unwrap();
    assert_eq!(
        kb.list_groups(ListGroups::new())
            .await
            .unwrap()
            .group_list
            .len(),
        1
    );
}

#[tokio::test]
async fn lists_page_by_cursor() {
    let (_sim, client) = started().await;
    let kb = client.kf().knowledge();
    for i in 0..5 {
        kb.add_group(AddGroup::new(format!("g{i}"))).await.unwrap();
    }
    let first = kb.list_groups(ListGroups::new().limit(4)).await.unwrap();
    assert_eq!(first.group_list.len(), 4);
    assert!(first.has_more);
    let second = kb
        .list_groups(ListGroups::new().limit(4).cursor(&first.next_cursor))
        .await
        .unwrap();
    assert_eq!(second.group_list.len(), 2, "6 groups with the default one");
    assert!(!second.has_more);
}

#[tokio::test]
async fn each_rule_is_checked_before_sending() {
    let (sim, client) = started().await;
    let kb = client.kf().knowledge();
    let a = || Answer::text("a");
    assert_eq!(invalid_field(kb.add_group(AddGroup::new("")).await), "name");
    assert_eq!(
        invalid_field(kb.add_group(AddGroup::new("名".repeat(13))).await),
        "name"
    );
    assert_eq!(
        invalid_field(kb.update_group(UpdateGroup::new("", "n")).await),
        "group_id"
    );
    assert_eq!(
        invalid_field(kb.delete_group(DeleteGroup::new("")).await),
        "group_id"
    );
    assert_eq!(
        invalid_field(kb.delete_intent(DeleteIntent::new("")).await),
        "intent_id"
    );
    let too_many_similar: Vec<String> = (0..101).map(|i| format!("q{i}")).collect();
    let five = (0..5).fold(Answer::text("a"), |ans, i| {
        ans.attachment(Attachment::image(format!("m{i}")))
    });
    let cases = [
        (AddIntent::new("", "q", a()), "group_id"),
        (AddIntent::new("g", "", a()), "question"),
        (AddIntent::new("g", "问".repeat(201), a()), "question"),
        (
            AddIntent::new("g", "q", a()).similar_questions(too_many_similar),
            "similar_questions",
        ),
        (
            AddIntent::new("g", "q", a()).similar_questions([""]),
            "similar_questions",
        ),
        (AddIntent::new("g", "q", Answer::text("")), "answers.text"),
        (
            AddIntent::new("g", "q", Answer::text("答".repeat(501))),
            "answers.text",
        ),
        (AddIntent::new("g", "q", five), "answers.attachments"),
        (
            AddIntent::new(
                "g",
                "q",
                Answer::text("a").attachment(Attachment::image("")),
            ),
            "attachments.media_id",
        ),
    ];
    for (intent, field) in cases {
        assert_eq!(invalid_field(kb.add_intent(intent).await), field);
    }
    assert_eq!(
        invalid_field(kb.update_intent(UpdateIntent::new("i")).await),
        "question"
    );
    assert_eq!(
        invalid_field(kb.update_intent(UpdateIntent::new("i").question("")).await),
        "question"
    );
    assert_eq!(
        invalid_field(kb.list_groups(ListGroups::new().limit(1001)).await),
        "limit"
    );
    assert_eq!(
        invalid_field(kb.list_intents(ListIntents::new().limit(0)).await),
        "limit"
    );
    // The limits themselves pass.
    let group = kb
        .add_group(AddGroup::new("名".repeat(12)))
        .await
        .unwrap()
        .group_id;
    let four = (0..4).fold(Answer::text("答".repeat(500)), |ans, i| {
        ans.attachment(Attachment::video(format!("m{i}")))
    });
    let hundred: Vec<String> = (0..100).map(|i| format!("similar {i}")).collect();
    kb.add_intent(AddIntent::new(&group, "问".repeat(200), four).similar_questions(hundred))
        .await
        .unwrap();
    let counters = sim.counters();
    assert_eq!(counters.calls("kf/knowledge/add_group"), 1);
    assert_eq!(counters.calls("kf/knowledge/add_intent"), 1);
    assert_eq!(counters.calls("kf/knowledge/mod_intent"), 0);
}

#[tokio::test]
async fn the_servers_rules_are_api_errors() {
    let (_sim, client) = started().await;
    let kb = client.kf().knowledge();
    let code = |r: Result<(), Error>| r.unwrap_err().api().map(|a| a.code());
    let group = kb.add_group(AddGroup::new("售后")).await.unwrap().group_id;
    let duplicate = kb.add_group(AddGroup::new("售后")).await.map(drop);
    assert_eq!(code(duplicate), Some(40058));
    let default = kb.list_groups(ListGroups::new()).await.unwrap().group_list[0]
        .group_id
        .clone();
    assert_eq!(
        code(kb.delete_group(DeleteGroup::new(&default)).await),
        Some(40058)
    );
    assert_eq!(
        code(kb.update_group(UpdateGroup::new(&default, "x")).await),
        Some(40058)
    );
    kb.add_intent(AddIntent::new(&group, "q", Answer::text("a")))
        .await
        .unwrap();
    let again = kb
        .add_intent(AddIntent::new(&default, "q", Answer::text("b")))
        .await
        .map(drop);
    assert_eq!(
        code(again),
        Some(40058),
        "questions are unique across groups"
    );
    let unknown = kb
        .add_intent(AddIntent::new("kbgroup_nope", "q2", Answer::text("b")))
        .await
        .map(drop);
    assert_eq!(code(unknown), Some(40058));
    assert_eq!(
        code(kb.delete_intent(DeleteIntent::new("kbintent_nope")).await),
        Some(40058)
    );
}

/// The adds are not idempotent (a dropped answer is OutcomeUnknown, sent once); deletes,
/// changes and lists are replayed.
#[tokio::test]
async fn adds_are_not_replayed_and_the_rest_are() {
    let (sim, client) = started().await;
    let kb = client.kf().knowledge();
    sim.inject("kf/knowledge/add_group", Fault::DropAfterEffect, 1);
    let err = kb.add_group(AddGroup::new("售后")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/knowledge/add_group"), 1);
    let groups = kb.list_groups(ListGroups::new()).await.unwrap().group_list;
    let group = groups
        .iter()
        .find(|g| g.name == "售后")
        .expect("it took effect once");

    sim.inject("kf/knowledge/add_intent", Fault::DropAfterEffect, 1);
    let err = kb
        .add_intent(AddIntent::new(&group.group_id, "q", Answer::text("a")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(sim.counters().calls("kf/knowledge/add_intent"), 1);

    for path in ["kf/knowledge/list_intent", "kf/knowledge/mod_group"] {
        sim.inject(path, Fault::DropBeforeAnswer, 1);
    }
    let intents = kb
        .list_intents(ListIntents::new())
        .await
        .unwrap()
        .intent_list;
    assert_eq!(intents.len(), 1);
    kb.update_group(UpdateGroup::new(&group.group_id, "售后服务"))
        .await
        .unwrap();
    sim.inject("kf/knowledge/del_intent", Fault::DropAfterEffect, 1);
    kb.delete_intent(DeleteIntent::new(&intents[0].intent_id))
        .await
        .expect_err("the replay finds it gone");
    let counters = sim.counters();
    assert_eq!(counters.calls("kf/knowledge/list_intent"), 2);
    assert_eq!(counters.calls("kf/knowledge/mod_group"), 2);
    assert_eq!(counters.calls("kf/knowledge/del_intent"), 2);
    assert!(
        kb.list_intents(ListIntents::new())
            .await
            .unwrap()
            .intent_list
            .is_empty()
    );
}

/// The doc's example nests similar questions and answers inside `question`; its field table
/// puts them beside it. Both read the same.
#[test]
fn the_official_example_and_the_field_table_decode_alike() {
    use wecom_kf::kf::knowledge::ListIntentsResponse;
    let nested: ListIntentsResponse =
        serde_json::from_str(include_str!("fixtures/kf_knowledge_list_intent.json")).unwrap();
    let flat: ListIntentsResponse = serde_json::from_str(
        r#"{"errcode":0,"has_more":0,"next_cursor":"","intent_list":[{"group_id":"GROUP_ID",
            "intent_id":"INTENT_ID","question":{"text":{"content":"主问题"}},
            "similar_questions":{"items":[{"text":{"content":"相似问题1"}},{"text":{"content":"相似问题2"}}]},
            "answers":[{"text":{"content":"问题的回复"},"attachments":[{"msgtype":"image","image":{"name":"图片（仅返回名字）.jpg"}}]}]}]}"#,
    )
    .unwrap();
    assert!(nested.has_more && !flat.has_more);
    for page in [nested, flat] {
        let intent = &page.intent_list[0];
        assert_eq!(intent.question.text.content, "主问题");
        let similar: Vec<&str> = intent
            .similar_questions
            .items
            .iter()
            .map(|q| q.text.content.as_str())
            .collect();
        assert_eq!(similar, ["相似问题1", "相似问题2"]);
        assert_eq!(intent.answers[0].text.content, "问题的回复");
        assert_eq!(
            intent.answers[0].attachments[0]["image"]["name"],
            "图片（仅返回名字）.jpg"
        );
    }
}
