//! The simulator's customer-service accounts: `kf/account/add`, `del`, `update`, `list`.
//!
//! The limits are the simulator's own transcription of the official docs (94661–94665, in
//! [`super::rules`]), never the SDK's: the simulator is a check of what the SDK lets through.

use serde_json::{Map, Value};

use super::rules::codes;
use super::rules::{
    ACCOUNT_LIST_LIMIT_MAX as LIST_LIMIT_MAX, ACCOUNT_MEDIA_ID_MAX_BYTES as MEDIA_ID_MAX_BYTES,
    ACCOUNT_NAME_MAX_CHARS as NAME_MAX_CHARS, ACCOUNTS_MAX, ACCOUNTS_MIN, OPEN_KFID_MAX_BYTES,
    SCENE_MAX_BYTES, is_wecom_id,
};
use super::wire::{JsonBody, Refusal};

/// WeCom's limit on accounts per corp (95005 beyond, doc 90313).
pub const MAX_ACCOUNTS: usize = ACCOUNTS_MAX;

/// An account held by the simulator, as seen by [`Simulator::accounts`](super::Simulator::accounts).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimAccount {
    /// The account id the simulator assigned (`wk…`).
    pub open_kfid: String,
    /// The display name.
    pub name: String,
    /// The avatar `media_id` it was created or last updated with.
    pub media_id: String,
}

/// The account endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountOp {
    Add,
    Delete,
    Update,
    List,
    AddContactWay,
}

pub(crate) struct Accounts {
    /// In creation order, which is the order `list` pages through.
    list: Vec<SimAccount>,
    created: u64,
    max: usize,
    instance: u64,
}

/// Counts only: a corp may hold 5000 accounts.
impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("accounts", &self.list.len())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    pub(crate) fn new(max: usize, instance: u64) -> Self {
        Self {
            list: Vec::new(),
            created: 0,
            max,
            instance,
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<SimAccount> {
        self.list.clone()
    }

    /// Creates an account without the API's checks (for seeding test data).
    pub(crate) fn insert(&mut self, name: &str, media_id: &str) -> String {
        self.created += 1;
        let open_kfid = format!("wk{:08x}{:08}", self.instance as u32, self.created);
        self.list.push(SimAccount {
            open_kfid: open_kfid.clone(),
            name: name.to_owned(),
            media_id: media_id.to_owned(),
        });
        open_kfid
    }

    pub(crate) fn apply(
        &mut self,
        op: AccountOp,
        body: &JsonBody,
    ) -> Result<Map<String, Value>, Refusal> {
        match op {
            AccountOp::Add => self.add(body),
            AccountOp::Delete => self.delete(body),
            AccountOp::Update => self.update(body),
            AccountOp::List => self.list(body),
            AccountOp::AddContactWay => self.add_contact_way(body),
        }
    }

    /// The account must exist: 95000 for a malformed id, 95004 for an unknown one.
    pub(crate) fn check_exists(&self, open_kfid: &str) -> Result<(), Refusal> {
        self.find(open_kfid).map(drop)
    }

    fn add_contact_way(&self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let open_kfid = body.required_str("open_kfid")?;
        self.find(open_kfid)?;
        let scene = body.optional_str("scene")?;
        let mut url = format!("https://work.weixin.qq.com/kf/kfc{open_kfid}");
        // "[0-9a-zA-Z_-]*" (doc 94665): an empty scene is allowed, and is no scene.
        if let Some(scene) = scene.filter(|s| !s.is_empty()) {
            if !is_wecom_id(scene, SCENE_MAX_BYTES) {
                return Err(Refusal::invalid("scene"));
            }
            url.push_str("?enc_scene=ENC");
            url.extend(scene.bytes().map(|b| format!("{b:02X}")));
        }
        Ok(fields([("url", Value::from(url))]))
    }

    fn add(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let name = body.required_str("name")?;
        let media_id = body.required_str("media_id")?;
        check_name(name)?;
        check_media_id(media_id)?;
        if self.list.len() >= self.max {
            return Err(Refusal::code(codes::ACCOUNT_COUNT));
        }
        let open_kfid = self.insert(name, media_id);
        Ok(fields([("open_kfid", Value::from(open_kfid))]))
    }

    fn delete(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let index = self.find(body.required_str("open_kfid")?)?;
        // "客服账号数不能多于最大的数量限制，且至少有一个" (95005, doc 90313).
        if self.list.len() <= ACCOUNTS_MIN {
            return Err(Refusal::code(codes::ACCOUNT_COUNT));
        }
        self.list.remove(index);
        Ok(Map::new())
    }

    fn update(&mut self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let index = self.find(body.required_str("open_kfid")?)?;
        let name = body.optional_str("name")?;
        let media_id = body.optional_str("media_id")?;
        if let Some(name) = name {
            check_name(name)?;
        }
        if let Some(media_id) = media_id {
            check_media_id(media_id)?;
        }
        // Checked above before anything changes, so a refused update changes nothing.
        if let Some(account) = self.list.get_mut(index) {
            if let Some(name) = name {
                account.name = name.to_owned();
            }
            if let Some(media_id) = media_id {
                account.media_id = media_id.to_owned();
            }
        }
        Ok(Map::new())
    }

    fn list(&self, body: &JsonBody) -> Result<Map<String, Value>, Refusal> {
        let offset = body.optional_u32("offset")?.unwrap_or(0) as usize;
        let limit = body.optional_u32("limit")?.unwrap_or(LIST_LIMIT_MAX);
        if !(1..=LIST_LIMIT_MAX).contains(&limit) {
            return Err(Refusal::invalid(format_args!(
                "limit must be 1..{LIST_LIMIT_MAX}"
            )));
        }
        let page: Vec<Value> = self
            .list
            .iter()
            .skip(offset)
            .take(limit as usize)
            .map(|a| {
                serde_json::json!({
                    "open_kfid": a.open_kfid,
                    "name": a.name,
                    "avatar": format!("https://wework.qpic.cn/simulated/{}/0", a.media_id),
                    "manage_privilege": true,
                })
            })
            .collect();
        Ok(fields([("account_list", Value::from(page))]))
    }

    fn find(&self, open_kfid: &str) -> Result<usize, Refusal> {
        if open_kfid.is_empty() || open_kfid.len() > OPEN_KFID_MAX_BYTES {
            return Err(Refusal::code(codes::INVALID_OPEN_KFID));
        }
        self.list
            .iter()
            .position(|a| a.open_kfid == open_kfid)
            .ok_or_else(|| Refusal::code(codes::OPEN_KFID_NOT_FOUND))
    }
}

fn check_name(name: &str) -> Result<(), Refusal> {
    let chars = name.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS {
        return Err(Refusal::code(codes::INVALID_ACCOUNT_NAME));
    }
    Ok(())
}

fn check_media_id(media_id: &str) -> Result<(), Refusal> {
    if media_id.is_empty() || media_id.len() > MEDIA_ID_MAX_BYTES {
        return Err(Refusal::code(codes::INVALID_MEDIA_ID));
    }
    Ok(())
}

fn fields<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
