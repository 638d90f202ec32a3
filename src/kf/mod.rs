//! WeChat Customer Service (微信客服): the `kf/*` endpoints.
//!
//! Each API area is a handle off [`Client::kf`](crate::Client::kf), with one request type and
//! one response type per endpoint.

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
        service_state::EXTERNAL_USERID_MAX_BYTES,
    )
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
