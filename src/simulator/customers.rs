//! The simulator's customers: `kf/customer/batchget`, the upgrade service
//! (`get_upgrade_service_config`, `upgrade_service`, `cancel_upgrade_service`) and
//! `kf/get_corp_qualification`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::rules::BATCHGET_MAX_IDS;
use super::rules::codes;
use super::wire::{JsonBody, Refusal};

#[derive(Debug)]
struct SimCustomer {
    nickname: String,
}

#[derive(Debug, Default)]
pub(crate) struct Customers {
    known: BTreeMap<String, SimCustomer>,
    upgrade_members: Vec<String>,
    upgrade_chats: Vec<String>,
    /// (open_kfid, external_userid) → the member or chat recommended.
    upgrades: BTreeMap<(String, String), String>,
}

impl Customers {
    pub(crate) fn add(&mut self, external_userid: &str, nickname: &str) {
        self.known.insert(
            external_userid.to_owned(),
            SimCustomer {
                nickname: nickname.to_owned(),
            },
        );
    }

    pub(crate) fn configure_upgrade(&mut self, members: Vec<String>, chats: Vec<String>) {
        self.upgrade_members = members;
        self.upgrade_chats = chats;
    }

    /// The recommendation in force for a customer, if any.
    pub(crate) fn upgrade_of(&self, open_kfid: &str, external_userid: &str) -> Option<String> {
        self.upgrades
            .get(&(open_kfid.to_owned(), external_userid.to_owned()))
            .cloned()
    }

    pub(crate) fn batchget(&self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let ids = body.str_list("external_userid_list")?;
        if ids.is_empty() || ids.len() > BATCHGET_MAX_IDS {
            return Err(Refusal::invalid(format_args!(
                "external_userid_list must hold 1..{BATCHGET_MAX_IDS}"
            )));
        }
        let with_context = body.optional_u32("need_enter_session_context")? == Some(1);
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        for id in ids {
            match self.known.get(id) {
                Some(c) => {
                    let mut customer = json!({
                        "external_userid": id,
                        "nickname": c.nickname,
                        "avatar": format!("https://wx.qlogo.cn/simulated/{id}/0"),
                        "gender": 0,
                    });
                    if with_context {
                        customer["enter_session_context"] = json!({"scene": "", "scene_param": ""});
                    }
                    found.push(customer);
                }
                None => invalid.push(Value::from(id)),
            }
        }
        let mut fields = Map::new();
        fields.insert("customer_list".into(), Value::from(found));
        fields.insert("invalid_external_userid".into(), Value::from(invalid));
        Ok(fields)
    }

    pub(crate) fn upgrade_config(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(
            "member_range".into(),
            json!({"userid_list": self.upgrade_members, "department_id_list": []}),
        );
        fields.insert(
            "groupchat_range".into(),
            json!({"chat_id_list": self.upgrade_chats}),
        );
        fields
    }

    pub(crate) fn upgrade(
        &mut self,
        open_kfid: &str,
        body: &JsonBody,
    ) -> Result<Map<String, Value>, Refusal> {
        let external_userid = body.required_str("external_userid")?;
        let target = match body.required_i64("type")? {
            1 => {
                let userid = body.object_str("member", "userid")?;
                self.upgrade_members.iter().find(|m| *m == userid).cloned()
            }
            2 => {
                let chat_id = body.object_str("groupchat", "chat_id")?;
                self.upgrade_chats.iter().find(|c| *c == chat_id).cloned()
            }
            _ => {
                return Err(Refusal::invalid("type"));
            }
        };
        let target = target.ok_or_else(|| Refusal::code(codes::UPGRADE_TARGET_NOT_CONFIGURED))?;
        self.upgrades
            .insert((open_kfid.to_owned(), external_userid.to_owned()), target);
        Ok(Map::new())
    }

    pub(crate) fn cancel_upgrade(
        &mut self,
        open_kfid: &str,
        body: &JsonBody,
    ) -> Result<Map<String, Value>, Refusal> {
        let external_userid = body.required_str("external_userid")?;
        self.upgrades
            .remove(&(open_kfid.to_owned(), external_userid.to_owned()));
        Ok(Map::new())
    }
}
