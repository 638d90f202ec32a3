//! Messages (消息): pulling what customers sent (`kf/sync_msg`), one page at a time or as a
//! stream that keeps its cursor, and sending to them (`kf/send_msg`, `kf/send_msg_on_event`,
//! `kf/recall_msg`). Every message and event type the docs and the peer SDKs list is typed
//! (see [`MessageContent`] and [`Event`]); a type WeCom adds later is kept as sent.
//!
//! ## Pulling, page by page
//!
//! WeCom POSTs a `kf_msg_or_event` callback carrying a `Token`; pass it with the cursor you
//! stored, and store `next_cursor` after each page so that a restart neither loses nor repeats
//! messages. Keep pulling while `has_more` is set, even when a page comes back empty.
//!
//! ```no_run
//! use wecom_kf::kf::message::{MessageContent, SyncMessages};
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String, token: String,
//! #     mut cursor: Option<String>) -> Result<(), wecom_kf::Error> {
//! loop {
//!     let mut request = SyncMessages::new(&open_kfid).token(&token);
//!     if let Some(c) = &cursor {
//!         request = request.cursor(c);
//!     }
//!     let page = match client.kf().message().sync(request).await {
//!         // The callback's token lasts 10 minutes; without it the call is rate-limited.
//!         Err(e) if e.is_sync_token_expired() => break, // wait for the next callback
//!         other => other?,
//!     };
//!     for message in &page.msg_list {
//!         if let MessageContent::Text { content, .. } = &message.content {
//!             println!("{:?} wrote {content}", message.external_userid);
//!         }
//!     }
//!     cursor = Some(page.next_cursor.clone()); // persist it here
//!     if !page.has_more {
//!         break;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Pulling as a stream
//!
//! [`MessageApi::sync_stream`] pulls every new message after a callback: a stream over
//! `kf/sync_msg` pages that keeps its cursor in a [`CursorStore`] (in memory, in files, or in
//! Redis with the `redis` feature), saved after each page is consumed, so that a restart resumes
//! where the last finished page ended.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use wecom_kf::kf::message::FileCursorStore;
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String, token: String)
//! # -> Result<(), wecom_kf::Error> {
//! let cursors = FileCursorStore::new("/var/lib/my-bot/cursors")?;
//! let messages = client.kf().message().sync_stream(&open_kfid, Some(&token), &cursors);
//! futures_util::pin_mut!(messages);
//! while let Some(message) = messages.next().await {
//!     let message = message?; // 95007: `is_sync_token_expired`, resume without the token
//!     println!("{:?}", message.content);
//! }
//! # Ok(()) }
//! ```
//!
//! ## Sending
//!
//! WeCom lets an account send at most 5 messages after a customer's last message, within 48
//! hours of it (95001 / 95002), and only while the session is untreated or with the bot
//! (states 0 and 1, else 95018).
//!
//! ```no_run
//! use wecom_kf::kf::message::{MenuItem, Outgoing, SendMessage};
//!
//! # async fn demo(client: wecom_kf::Client, open_kfid: String, customer: String)
//! # -> Result<(), wecom_kf::Error> {
//! let reply = SendMessage::new(&open_kfid, &customer, Outgoing::text("您好，请问有什么可以帮您？"));
//! let msgid = reply.msgid().to_owned(); // known before sending: reconcile a lost answer with it
//! client.kf().message().send(reply).await?;
//! let menu = Outgoing::menu([MenuItem::click("101", "查订单"), MenuItem::click("102", "转人工")])
//!     .head_content("请选择：");
//! client.kf().message().send(SendMessage::new(&open_kfid, &customer, menu)).await?;
//! # let _ = msgid; Ok(()) }
//! ```

mod cursor;
mod outgoing;
mod received;
#[cfg(feature = "redis")]
mod redis_cursor;
mod stream;

use futures_util::Stream;

pub use cursor::{CursorStore, FileCursorStore, MemoryCursorStore};
pub use outgoing::{
    MENU_CLICK_ID_MAX_BYTES, MENU_ITEMS_MAX, MENU_TEXT_MAX_BYTES, MSGID_MAX_BYTES, Menu, MenuItem,
    Outgoing, RecallMessage, SendMessage, SendMessageResponse, SendOnEvent, SendOnEventResponse,
    TEXT_MAX_BYTES,
};
pub(crate) use received::hidden;
pub use received::{
    CURSOR_MAX_BYTES, ChannelsMessage, ChannelsShopOrder, ChannelsShopProduct, Event, MergedItem,
    MergedMessage, Message, MessageContent, Origin, ReceivedMenu, ReceivedMenuItem, SYNC_LIMIT_MAX,
    SYNC_TOKEN_MAX_BYTES, SyncMessages, SyncMessagesResponse, VoiceFormat,
};
// The callback module redacts the XML it keeps raw by the same rule.
#[cfg(feature = "callback")]
pub(crate) use received::is_secret_name;
#[cfg(feature = "redis")]
pub use redis_cursor::{DEFAULT_CURSOR_PREFIX, RedisCursorStore};

use crate::Client;
use crate::error::Result;

/// The message API. Obtained with `client.kf().message()`.
#[derive(Debug, Clone, Copy)]
pub struct MessageApi<'a> {
    client: &'a Client,
}

impl<'a> MessageApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// One page of messages and events after a cursor
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94670)): the last 3 days at
    /// most, never the messages sent through `send_msg`.
    ///
    /// A token that expired (10 minutes after its callback) is errcode 95007: see
    /// [`Error::is_sync_token_expired`](crate::Error::is_sync_token_expired).
    ///
    /// **Read** (the same cursor gives the same page): retried after transient failures.
    pub async fn sync(self, request: SyncMessages) -> Result<SyncMessagesResponse> {
        // Cloned for the metrics alone (a no-op without the feature).
        let asked = crate::telemetry::SyncLabel::of(request.open_kfid());
        let page = self.client.execute(request).await?;
        let sent = page.msg_list.iter().map(|m| m.send_time);
        crate::telemetry::synced(asked, sent, || self.client.now());
        Ok(page)
    }

    /// Every message after the saved cursor of `open_kfid`, page by page until `has_more` is
    /// 0, pass `token` from the `kf_msg_or_event` callback. The cursor is saved in `store` after
    /// the caller has taken each page's last message, so a restart resumes after the last
    /// finished page (a page interrupted midway comes again: deduplicate by `msgid`).
    ///
    /// A page without a new `next_cursor` (empty, or the one sent) ends the stream and keeps
    /// the saved cursor, so the next pull neither starts over nor loops on one page.
    ///
    /// An error ends the stream; the cursor stays at the last finished page. 95007
    /// ([`Error::is_sync_token_expired`](crate::Error::is_sync_token_expired)) means the token is past its 10 minutes: pull again
    /// without it, or wait for the next callback.
    pub fn sync_stream<'s>(
        self,
        open_kfid: &str,
        token: Option<&str>,
        store: &'s dyn CursorStore,
    ) -> impl Stream<Item = Result<Message>> + 's
    where
        Self: 's,
    {
        stream::pull(self, open_kfid, token, store)
    }

    /// Sends a message to a customer
    /// ([doc](https://developer.work.weixin.qq.com/document/path/94677)). Success means WeCom
    /// accepted it; a delivery failure comes later as a `msg_send_fail` event.
    ///
    /// **Not idempotent**: never replayed once it may have reached WeCom; a lost answer is
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown). The docs say a repeated `msgid`
    /// is refused with an error but do not give its code, so a replay's refusal could not be
    /// told from a real failure. Every
    /// call carries a `msgid` (generated when you set none; read it with [`SendMessage::msgid`]
    /// before sending) so that a lost answer can be reconciled by that id.
    pub async fn send(self, request: SendMessage) -> Result<SendMessageResponse> {
        self.client.execute(request).await
    }

    /// Sends the one message an event allows
    /// ([doc](https://developer.work.weixin.qq.com/document/path/95122)): a welcome on
    /// `enter_session` (its `welcome_code`, valid 20 s), or a message when a session is queued,
    /// taken or ended (the `msg_code` of `service_state/trans` or of the
    /// `session_status_change` event). Each code works once; text or a menu only.
    ///
    /// **Not idempotent** (the code is single-use): a lost answer is
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    pub async fn send_on_event(self, request: SendOnEvent) -> Result<SendOnEventResponse> {
        self.client.execute(request).await
    }

    /// Recalls a message sent with [`send`](Self::send) within the last 2 minutes. A recalled
    /// message still counts toward the 5-message quota.
    ///
    /// **Not idempotent**: recalling again is an error whose code the docs do not give, so a
    /// replay could turn a recall that happened into an error; a lost answer is
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    pub async fn recall(self, request: RecallMessage) -> Result<()> {
        self.client.execute(request).await
    }
}
