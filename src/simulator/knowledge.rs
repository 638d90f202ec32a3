//! The simulator's knowledge base: `kf/knowledge/{add,del,mod,list}_group` and
//! `{add,del,mod,list}_intent`, with the documented limits (names ≤ 12 characters and unique,
//! at most 100 groups; questions ≤ 200 characters and unique across groups, at most 100
//! similar questions, exactly one answer of ≤ 500 characters with at most 4 attachments, at
//! most 200 intents a group). WeCom documents no errcode for a broken rule here; the simulator
//! answers 40058 with the rule in the errmsg.

use serde_json::{Map, Value, json};

use super::rules::{
    ANSWER_MAX_CHARS, ATTACHMENTS_MAX, GROUP_NAME_MAX_CHARS, GROUPS_MAX as MAX_GROUPS,
    KNOWLEDGE_LIST_LIMIT_DEFAULT as DEFAULT_PAGE, KNOWLEDGE_LIST_LIMIT_MAX as LIST_LIMIT_MAX,
    QUESTION_MAX_CHARS, SIMILAR_QUESTIONS_MAX,
};
use super::wire::{JsonBody, Refusal};

const MAX_INTENTS_PER_GROUP: usize = 200;

/// The knowledge-base endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KnowledgeOp {
    AddGroup,
    DelGroup,
    ModGroup,
    ListGroup,
    AddIntent,
    DelIntent,
    ModIntent,
    ListIntent,
}

#[derive(Debug)]
struct SimGroup {
    id: String,
    name: String,
    is_default: bool,
}

#[derive(Debug)]
struct SimIntent {
    id: String,
    group_id: String,
    question: String,
    similar: Vec<String>,
    answer: Value,
}

pub(crate) struct Knowledge {
    groups: Vec<SimGroup>,
    intents: Vec<SimIntent>,
    next_id: u64,
}

/// Counts only: a full knowledge base runs to megabytes.
impl std::fmt::Debug for Knowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knowledge")
            .field("groups", &self.groups.len())
            .field("intents", &self.intents.len())
            .finish_non_exhaustive()
    }
}

impl Default for Knowledge {
    fn default() -> Self {
        Self {
            groups: vec![SimGroup {
                id: "kbgroup_default".into(),
                name: "默认分组".into(),
                is_default: true,
            }],
            intents: Vec::new(),
            next_id: 0,
        }
    }
}

fn chars_between(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.chars().count())
}

impl Knowledge {
    pub(crate) fn apply(
        &mut self,
        op: KnowledgeOp,
        body: &JsonBody,
    ) -> Result<Map<String, Value>, Refusal> {
        match op {
            KnowledgeOp::AddGroup => self.add_group(body),
            KnowledgeOp::DelGroup => self.del_group(body),
            KnowledgeOp::ModGroup => self.mod_group(body),
            KnowledgeOp::ListGroup => self.list_group(body),
            KnowledgeOp::AddIntent => self.add_intent(body),
            KnowledgeOp::DelIntent => self.del_intent(body),
            KnowledgeOp::ModIntent => self.mod_intent(body),
            KnowledgeOp::ListIntent => self.list_intent(body),
        }
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:08}", self.next_id)
    }

    fn check_group_name(&self, name: &str, except: Option<&str>) -> Result<(), Refusal> {
        if !chars_between(name, GROUP_NAME_MAX_CHARS) {
            return Err(Refusal::invalid("name must be 1-12 characters"));
        }
        if self
            .groups
            .iter()
            .any(|g| g.name == name && Some(g.id.as_str()) != except)
        {
            return Err(Refusal::invalid("group name already exists"));
        }
        Ok(())
    }

    fn group_index(&self, body: &JsonBody) -> Result<usize, Refusal> {
        let id = body.required_str("group_id")?;
        self.groups
            .iter()
            .position(|g| g.id == id)
            .ok_or_else(|| Refusal::invalid("group_id does not exist"))
    }

    fn add_group(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let name = body.required_str("name")?;
        self.check_group_name(name, None)?;
        if self.groups.len() >= MAX_GROUPS {
            return Err(Refusal::invalid("at most 100 groups"));
        }
        let id = self.new_id("kbgroup_");
        self.groups.push(SimGroup {
            id: id.clone(),
            name: name.to_owned(),
            is_default: false,
        });
        Ok(one("group_id", id))
    }

    fn del_group(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let at = self.group_index(body)?;
        if self.groups[at].is_default {
            return Err(Refusal::invalid("the default group cannot be deleted"));
        }
        let removed = self.groups.remove(at);
        self.intents.retain(|i| i.group_id != removed.id);
        Ok(Map::new())
    }

    fn mod_group(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let at = self.group_index(body)?;
        if self.groups[at].is_default {
            return Err(Refusal::invalid("the default group cannot be changed"));
        }
        let name = body.required_str("name")?;
        self.check_group_name(name, Some(&self.groups[at].id))?;
        self.groups[at].name = name.to_owned();
        Ok(Map::new())
    }

    fn list_group(&self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let filter = body.optional_str("group_id")?;
        let all: Vec<Value> = self
            .groups
            .iter()
            .filter(|g| filter.is_none_or(|f| f == g.id))
            .map(
                |g| json!({"group_id": g.id, "name": g.name, "is_default": u8::from(g.is_default)}),
            )
            .collect();
        page(body, all, "group_list")
    }

    fn check_intent_parts(&self, body: &JsonBody, except: Option<&str>) -> Result<(), Refusal> {
        if let Some(question) = question_text(body.get("question")) {
            let question = question?;
            if !chars_between(question, QUESTION_MAX_CHARS) {
                return Err(Refusal::invalid("question must be 1-200 characters"));
            }
            if self
                .intents
                .iter()
                .any(|i| i.question == question && Some(i.id.as_str()) != except)
            {
                return Err(Refusal::invalid("question already exists"));
            }
        }
        if let Some(similar) = body.get("similar_questions") {
            let items = similar_items(similar)?;
            if items.len() > SIMILAR_QUESTIONS_MAX {
                return Err(Refusal::invalid("at most 100 similar questions"));
            }
            if items.iter().any(|q| !chars_between(q, QUESTION_MAX_CHARS)) {
                return Err(Refusal::invalid(
                    "similar questions must be 1-200 characters",
                ));
            }
        }
        if let Some(answers) = body.get("answers") {
            let Some([answer]) = answers.as_array().map(Vec::as_slice) else {
                return Err(Refusal::invalid("answers must hold exactly one answer"));
            };
            let text = answer["text"]["content"].as_str().unwrap_or_default();
            if !chars_between(text, ANSWER_MAX_CHARS) {
                return Err(Refusal::invalid("answer text must be 1-500 characters"));
            }
            let attachments = answer["attachments"].as_array().map_or(0, Vec::len);
            if attachments > ATTACHMENTS_MAX {
                return Err(Refusal::invalid("at most 4 attachments"));
            }
        }
        Ok(())
    }

    fn add_intent(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let group = self.group_index(body)?;
        let group_id = self.groups[group].id.clone();
        if question_text(body.get("question")).is_none() {
            return Err(Refusal::invalid("question missing"));
        }
        if body.get("answers").is_none() {
            return Err(Refusal::invalid("answers missing"));
        }
        self.check_intent_parts(body, None)?;
        if self
            .intents
            .iter()
            .filter(|i| i.group_id == group_id)
            .count()
            >= MAX_INTENTS_PER_GROUP
        {
            return Err(Refusal::invalid("at most 200 intents a group"));
        }
        let question = question_text(body.get("question"))
            .and_then(Result::ok)
            .unwrap_or_default()
            .to_owned();
        let similar = body
            .get("similar_questions")
            .map(similar_items)
            .transpose()?
            .unwrap_or_default();
        let answer = body.get("answers").map_or(Value::Null, |a| a[0].clone());
        let id = self.new_id("kbintent_");
        self.intents.push(SimIntent {
            id: id.clone(),
            group_id,
            question,
            similar,
            answer,
        });
        Ok(one("intent_id", id))
    }

    fn intent_index(&self, body: &JsonBody) -> Result<usize, Refusal> {
        let id = body.required_str("intent_id")?;
        self.intents
            .iter()
            .position(|i| i.id == id)
            .ok_or_else(|| Refusal::invalid("intent_id does not exist"))
    }

    fn del_intent(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let at = self.intent_index(body)?;
        self.intents.remove(at);
        Ok(Map::new())
    }

    fn mod_intent(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let at = self.intent_index(body)?;
        let id = self.intents[at].id.clone();
        self.check_intent_parts(body, Some(&id))?;
        let intent = &mut self.intents[at];
        if let Some(Ok(question)) = question_text(body.get("question")) {
            intent.question = question.to_owned();
        }
        if let Some(similar) = body.get("similar_questions") {
            intent.similar = similar_items(similar)?;
        }
        if let Some(answers) = body.get("answers") {
            intent.answer = answers[0].clone();
        }
        Ok(Map::new())
    }

    fn list_intent(&self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let group = body.optional_str("group_id")?;
        let intent = body.optional_str("intent_id")?;
        let all: Vec<Value> = self
            .intents
            .iter()
            .filter(|i| group.is_none_or(|g| g == i.group_id))
            .filter(|i| intent.is_none_or(|id| id == i.id))
            .map(|i| {
                json!({
                    "group_id": i.group_id,
                    "intent_id": i.id,
                    "question": {"text": {"content": i.question}},
                    "similar_questions": {"items": i.similar.iter()
                        .map(|q| json!({"text": {"content": q}})).collect::<Vec<_>>()},
                    "answers": [as_listed(&i.answer)],
                })
            })
            .collect();
        page(body, all, "intent_list")
    }
}

/// An answer as `list_intent` shows it: media attachments named instead of by media_id.
fn as_listed(answer: &Value) -> Value {
    let mut listed = answer.clone();
    // `get_mut`, not indexing: indexing a missing key would insert a null.
    if let Some(attachments) = listed.get_mut("attachments").and_then(Value::as_array_mut) {
        for a in attachments {
            for (kind, extension) in [("image", "jpg"), ("video", "mp4")] {
                let media_id = a
                    .get(kind)
                    .and_then(|m| m.get("media_id"))
                    .and_then(Value::as_str);
                if let Some(name) = media_id.map(|id| format!("{id}.{extension}")) {
                    a[kind] = json!({ "name": name });
                }
            }
            if let Some(mini) = a.get_mut("miniprogram").and_then(Value::as_object_mut) {
                mini.remove("thumb_media_id");
            }
        }
    }
    listed
}

fn question_text(question: Option<&Value>) -> Option<Result<&str, Refusal>> {
    let question = question?;
    Some(
        question["text"]["content"]
            .as_str()
            .ok_or_else(|| Refusal::invalid("question.text.content must be a string")),
    )
}

fn similar_items(similar: &Value) -> Result<Vec<String>, Refusal> {
    similar["items"]
        .as_array()
        .ok_or_else(|| Refusal::invalid("similar_questions.items must be an array"))?
        .iter()
        .map(|q| {
            q["text"]["content"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| Refusal::invalid("similar questions need text.content"))
        })
        .collect()
}

/// The page of `all` after `cursor` (an offset), `limit` long (1..1000, default 500).
fn page(body: &JsonBody, all: Vec<Value>, list: &str) -> Result<Map<String, Value>, Refusal> {
    let start: usize = match body.optional_str("cursor")? {
        None | Some("") => 0,
        Some(cursor) => cursor.parse().map_err(|_| Refusal::invalid("cursor"))?,
    };
    let limit = match body.optional_u32("limit")? {
        None => DEFAULT_PAGE,
        Some(l) if (1..=LIST_LIMIT_MAX).contains(&l) => l as usize,
        Some(_) => return Err(Refusal::invalid("limit must be 1-1000")),
    };
    let end = start.saturating_add(limit).min(all.len());
    let has_more = end < all.len();
    let items: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    let mut fields = Map::new();
    fields.insert(
        "next_cursor".into(),
        Value::from(if has_more {
            end.to_string()
        } else {
            String::new()
        }),
    );
    fields.insert("has_more".into(), Value::from(u8::from(has_more)));
    fields.insert(list.into(), Value::from(items));
    Ok(fields)
}

fn one(key: &str, value: String) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(key.into(), Value::from(value));
    fields
}
