//! WeChat Customer Service (微信客服): the `kf/*` endpoints.
//!
//! Each API area is a handle off [`Client::kf`](crate::Client::kf), with one request type and
//! one response type per endpoint.
//!
//! # Conventions
//!
//! Every handle here, and [`Client::media`](crate::Client::media), follows these rules:
//!
//! - **One module per handle**: `kf::account` holds `AccountApi` and every type its methods
//!   take or return; `kf::message` holds the message handle, received messages, outgoing
//!   ones and cursor stores.
//! - **One request type per endpoint**, named `<Verb><Noun>` (`AddAccount`, `DeleteGroup`,
//!   `SyncMessages`), even for a single id (`DeleteGroup::new(group_id)`). Its constructor
//!   takes what WeCom requires, builder methods the rest; it is checked when sent, and nothing
//!   is sent if a documented rule fails ([`Error::InvalidInput`](crate::Error::InvalidInput)).
//!   An endpoint with no input at all takes no argument.
//! - **One response type per endpoint**, named `<Request>Response` (`ListAccountsResponse`),
//!   with WeCom's field names; an endpoint that answers nothing but errcode returns `()`. The
//!   things inside are plain nouns (`Account`, `Group`, `Customer`, `Servicer`, `Message`).
//! - **Methods are English verbs** (`add`, `delete`, `update`, `list`, `get`, `transfer`), with
//!   an object only where one handle manages several kinds of things (`add_group`,
//!   `add_intent`); never a wire name or a truncation (`batch_get`, not `batchget`). `sync` is
//!   WeCom's own verb for pulling messages.
//! - **Things to send have a constructor per kind**: `Outgoing::text`, `Outgoing::link`,
//!   `Attachment::mini_program`, …
//! - **Every method's doc** links the official page (where one is known) and states its
//!   idempotency, which decides what is replayed after a failure.

pub mod account;
pub mod customer;
pub mod knowledge;
pub mod message;
pub mod service_state;
pub mod servicer;
pub mod statistic;
mod wire;

use crate::Client;
use crate::error::Result;

/// A customer's conversation with an account: both ids present and of a possible length.
pub(crate) fn check_customer(open_kfid: &str, external_userid: &str) -> Result<()> {
    crate::validate::bytes("open_kfid", open_kfid, 1, account::OPEN_KFID_MAX_BYTES)?;
    crate::validate::bytes(
        "external_userid",
        external_userid,
        1,
        customer::EXTERNAL_USERID_MAX_BYTES,
    )
}

// Here rather than in `client`, so that the client does not depend on its handles.
impl Client {
    /// WeChat Customer Service (微信客服) APIs.
    pub fn kf(&self) -> Kf<'_> {
        Kf::new(self)
    }
}

/// The kf API family. Obtained with [`Client::kf`](crate::Client::kf).
#[derive(Debug, Clone, Copy)]
pub struct Kf<'a> {
    client: &'a Client,
}

impl<'a> Kf<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Customer-service accounts (客服账号): add, delete, update, list, and contact links.
    pub fn account(&self) -> account::AccountApi<'a> {
        account::AccountApi::new(self.client)
    }

    /// Servicers (接待人员): the members and departments that receive an account's customers.
    pub fn servicer(&self) -> servicer::ServicerApi<'a> {
        servicer::ServicerApi::new(self.client)
    }

    /// Session state (会话状态): where a customer's conversation stands, and moving it on.
    pub fn service_state(&self) -> service_state::ServiceStateApi<'a> {
        service_state::ServiceStateApi::new(self.client)
    }

    /// Customers (客户): profiles, the upgrade service, and the corp's qualification.
    pub fn customer(&self) -> customer::CustomerApi<'a> {
        customer::CustomerApi::new(self.client)
    }

    /// Statistics (统计): an account's and its servicers' figures, day by day.
    pub fn statistic(&self) -> statistic::StatisticApi<'a> {
        statistic::StatisticApi::new(self.client)
    }

    /// The knowledge base (知识库) the WeCom bot answers from: groups and intents.
    pub fn knowledge(&self) -> knowledge::KnowledgeApi<'a> {
        knowledge::KnowledgeApi::new(self.client)
    }

    /// Messages (消息): pulling what customers sent, and sending to them.
    pub fn message(&self) -> message::MessageApi<'a> {
        message::MessageApi::new(self.client)
    }
}
