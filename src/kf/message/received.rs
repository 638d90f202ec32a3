//! What customers send: `kf/sync_msg` pages of messages and events. Every message type and
//! event type the docs and the peer SDKs list is typed; a type WeCom adds later is kept as sent
//! ([`MessageContent::Other`], [`Event::Other`]), never an error.
//!
//! | `msgtype` | variant | sources |
//! |---|---|---|
//! | `text`, `image`, `voice`, `video`, `file`, `location`, `link`, `business_card`, `miniprogram` | [`MessageContent::Text`] … [`MessageContent::MiniProgram`] | doc 94670 ("支持的消息类型：文本、图片、语音、视频、文件、位置、链接、名片、小程序、菜单、事件") |
//! | `msgmenu` | [`MessageContent::Menu`] | doc 94670; the item shapes of `send_msg` (doc 94677), as in WxJava `WxCpKfMenuMsg`, SKIT `MenuMessage`, go-workwx, wecom-sdk `KfMsgMenu` |
//! | `channels_shop_product` | [`MessageContent::ChannelsShopProduct`] | WxJava, SKIT (`head_img`, `shop_head_img`); go-workwx, silenceper, wxkefu-rs, wecom-sdk (`head_image`, `shop_head_image`) |
//! | `channels_shop_order` | [`MessageContent::ChannelsShopOrder`] | WxJava, SKIT, go-workwx, silenceper, wxkefu-rs, wecom-sdk |
//! | `merged_msg` | [`MessageContent::MergedMsg`] | go-workwx, silenceper, wxkefu-rs, wecom-sdk |
//! | `channels` | [`MessageContent::Channels`] | go-workwx, wxkefu-rs, wecom-sdk (`sub_type`, `nickname`, `title`); WxJava (`nickname`, `title`, `desc`, `cover_url`, `url`, `find_username`) |
//! | `meeting`, `schedule` | [`MessageContent::Meeting`], [`MessageContent::Schedule`] | wecom-sdk `KfMsgType`, go-workwx: named, no fields documented (the payload is kept as sent) |
//! | `note` | [`MessageContent::Note`] | wxkefu-rs: named, no fields documented (the payload is kept as sent) |
//! | `event` | [`MessageContent::Event`] | doc 94670; go-workwx `docs/kf.md`; silenceper; wecom-sdk (`reject_customer_msg_switch_change`) |
//!
//! Where the peers spell a field two ways, both are read; where they disagree on a field's JSON
//! type (a price as a number or a string), the value is kept as text; a field only some peers
//! list is an `Option`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::kf::account::OPEN_KFID_MAX_BYTES;
use crate::kf::customer::WechatChannels;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::validate;

/// A `sync_msg` cursor: up to 64 bytes.
pub const CURSOR_MAX_BYTES: usize = 64;
/// A callback `Token`: up to 128 bytes.
pub const SYNC_TOKEN_MAX_BYTES: usize = 128;
/// Page size limit (and WeCom's default) of `sync_msg`.
pub const SYNC_LIMIT_MAX: u32 = 1000;

/// How voice messages are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VoiceFormat {
    /// AMR (WeCom's default).
    Amr,
    /// SILK.
    Silk,
}

/// `kf/sync_msg` request. `Debug` hides the callback token.
#[derive(Clone, Serialize)]
pub struct SyncMessages {
    open_kfid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voice_format: Option<u32>,
}

impl fmt::Debug for SyncMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            open_kfid,
            cursor,
            token,
            limit,
            voice_format,
        } = self;
        f.debug_struct("SyncMessages")
            .field("open_kfid", open_kfid)
            .field("cursor", cursor)
            .field("token", &hidden(token))
            .field("limit", limit)
            .field("voice_format", voice_format)
            .finish()
    }
}

impl SyncMessages {
    /// The account whose messages are asked for.
    pub fn open_kfid(&self) -> &str {
        &self.open_kfid
    }

    /// The messages of account `open_kfid`, from the earliest of the last 3 days.
    pub fn new(open_kfid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            cursor: None,
            token: None,
            limit: None,
            voice_format: None,
        }
    }

    /// Continue after the page that returned this `next_cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// The `Token` of the `kf_msg_or_event` callback (valid 10 minutes). Without one the API
    /// is strictly rate-limited.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Page size, 1 to 1000 (WeCom's default: 1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// How to deliver voice messages (WeCom's default: AMR).
    pub fn voice_format(mut self, format: VoiceFormat) -> Self {
        self.voice_format = Some(match format {
            VoiceFormat::Amr => 0,
            VoiceFormat::Silk => 1,
        });
        self
    }
}

impl Operation for SyncMessages {
    const ENDPOINT: &'static Endpoint = &spec::KF_SYNC_MSG;
    type Response = SyncMessagesResponse;

    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        if let Some(cursor) = &self.cursor {
            validate::bytes("cursor", cursor, 0, CURSOR_MAX_BYTES)?;
        }
        if let Some(token) = &self.token {
            validate::bytes("token", token, 1, SYNC_TOKEN_MAX_BYTES)?;
        }
        match self.limit {
            Some(limit) => validate::range("limit", limit, 1, SYNC_LIMIT_MAX),
            None => Ok(()),
        }
    }
}

/// `kf/sync_msg` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct SyncMessagesResponse {
    /// Store it, and pass it with the next call.
    #[serde(default)]
    pub next_cursor: String,
    /// More messages follow (possibly after an empty page).
    #[serde(default, deserialize_with = "crate::kf::wire::bool_from_int")]
    pub has_more: bool,
    /// The messages and events, oldest first.
    #[serde(default, deserialize_with = "crate::kf::wire::list_or_null")]
    pub msg_list: Vec<Message>,
}

decoded_as_is!(SyncMessagesResponse);

/// Who a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// 3: the customer (微信客户).
    Customer,
    /// 4: a system event.
    System,
    /// 5: a servicer, writing from the WeCom client.
    Servicer,
    /// A value this SDK does not know.
    Other(i64),
}

impl From<i64> for Origin {
    fn from(value: i64) -> Self {
        match value {
            3 => Self::Customer,
            4 => Self::System,
            5 => Self::Servicer,
            other => Self::Other(other),
        }
    }
}

/// One message or event from `sync_msg`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Message {
    /// Its id.
    pub msgid: String,
    /// The account (absent on events: see the event's own fields).
    pub open_kfid: Option<String>,
    /// The customer (absent on events).
    pub external_userid: Option<String>,
    /// When it was sent (unix seconds).
    pub send_time: u64,
    /// Who sent it.
    pub origin: Origin,
    /// The servicer, for a message a servicer sent from the WeCom client.
    pub servicer_userid: Option<String>,
    /// What it says.
    pub content: MessageContent,
}

/// A message's content, by `msgtype`. Types WeCom adds later arrive as
/// [`Other`](Self::Other) with their raw JSON, never as an error. `Debug` hides the values of
/// token- and code-like keys in that JSON.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageContent {
    /// Text; `menu_id` is set when it is a click on a menu item.
    Text {
        /// The words.
        content: String,
        /// The clicked menu item's id.
        menu_id: Option<String>,
    },
    /// An image (download with `media/get`).
    Image {
        /// Its media id.
        media_id: String,
    },
    /// A voice message.
    Voice {
        /// Its media id.
        media_id: String,
    },
    /// A video.
    Video {
        /// Its media id.
        media_id: String,
    },
    /// A file.
    File {
        /// Its media id.
        media_id: String,
    },
    /// A location.
    Location {
        /// Latitude.
        latitude: f64,
        /// Longitude.
        longitude: f64,
        /// Place name.
        name: String,
        /// Address.
        address: String,
    },
    /// A link card.
    Link {
        /// Title.
        title: String,
        /// Description.
        desc: String,
        /// Where it leads.
        url: String,
        /// Picture URL.
        pic_url: String,
    },
    /// A business card.
    BusinessCard {
        /// The member it shows.
        userid: String,
    },
    /// A mini program card.
    MiniProgram {
        /// Title.
        title: String,
        /// The mini program's appid.
        appid: String,
        /// The page it opens.
        pagepath: String,
        /// Cover image.
        thumb_media_id: String,
    },
    /// A menu message (菜单消息).
    Menu(ReceivedMenu),
    /// A WeChat Channels shop product (视频号商品).
    ChannelsShopProduct(ChannelsShopProduct),
    /// A WeChat Channels shop order (视频号订单).
    ChannelsShopOrder(ChannelsShopOrder),
    /// Forwarded chat records (聊天记录).
    MergedMsg(MergedMessage),
    /// A WeChat Channels post, live stream or profile (视频号).
    Channels(ChannelsMessage),
    /// A meeting (会议). No peer documents its fields: the payload object is kept as sent
    /// (`null` when there is none).
    #[non_exhaustive]
    Meeting {
        /// The payload.
        payload: Value,
    },
    /// A schedule (日程). No peer documents its fields: the payload object is kept as sent
    /// (`null` when there is none).
    #[non_exhaustive]
    Schedule {
        /// The payload.
        payload: Value,
    },
    /// A note (笔记). No peer documents its fields (the body is not delivered): the payload
    /// object is kept as sent (`null` when there is none).
    #[non_exhaustive]
    Note {
        /// The payload.
        payload: Value,
    },
    /// An event (session changes, send failures, recalls…).
    Event(Event),
    /// Any other type, as sent: `msgtype` and the payload object named after it (also a known
    /// type whose payload is not an object).
    Other {
        /// The `msgtype`.
        msgtype: String,
        /// The payload.
        payload: Value,
    },
}

/// An event delivered through `sync_msg` (`msgtype` = `event`). Types WeCom adds later arrive
/// as [`Other`](Self::Other). `Debug` hides the one-time codes (`welcome_code`, `msg_code`,
/// and token- and code-like keys of an unknown event), showing whether there is one.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A customer entered a session (through a contact link, a channel…).
    EnterSession {
        /// The account.
        open_kfid: String,
        /// The customer.
        external_userid: String,
        /// The link's scene.
        scene: String,
        /// The link's scene_param.
        scene_param: String,
        /// A code for one welcome message with `send_msg_on_event` (valid 20 s), when allowed.
        welcome_code: Option<String>,
        /// The WeChat Channels (视频号) the customer came from, if any.
        wechat_channels: Option<WechatChannels>,
    },
    /// A message could not be delivered.
    MsgSendFail {
        /// The account.
        open_kfid: String,
        /// The customer.
        external_userid: String,
        /// The message that failed.
        fail_msgid: String,
        /// Why (1 account deleted, 4 session expired, 6 more than 5 messages, …).
        fail_type: i64,
    },
    /// A servicer's reception status changed.
    ServicerStatusChange {
        /// The servicer.
        servicer_userid: String,
        /// The account.
        open_kfid: String,
        /// 1 receiving, 2 stopped.
        status: i64,
        /// With status 2: 0 stopped, 1 on a break (暂时挂起); absent otherwise.
        stop_type: Option<i64>,
    },
    /// A session changed hands or ended.
    SessionStatusChange {
        /// The account.
        open_kfid: String,
        /// The customer.
        external_userid: String,
        /// 1 taken from the queue, 2 transferred, 3 ended, 4 re-joined.
        change_type: i64,
        /// The servicer before.
        old_servicer_userid: Option<String>,
        /// The servicer after.
        new_servicer_userid: Option<String>,
        /// A code for `send_msg_on_event`, when issued.
        msg_code: Option<String>,
    },
    /// The customer recalled a message.
    UserRecallMsg {
        /// The account.
        open_kfid: String,
        /// The customer.
        external_userid: String,
        /// The recalled message.
        recall_msgid: String,
    },
    /// A servicer recalled a message.
    ServicerRecallMsg {
        /// The account.
        open_kfid: String,
        /// The customer.
        external_userid: String,
        /// The recalled message.
        recall_msgid: String,
        /// The servicer.
        servicer_userid: String,
    },
    /// A servicer started or stopped refusing a customer's messages (拒收客户消息).
    RejectCustomerMsgSwitchChange {
        /// The servicer.
        servicer_userid: String,
        /// The account.
        open_kfid: String,
        /// The customer.
        external_userid: String,
        /// 1 the servicer refuses the customer's messages, 0 no longer.
        reject_switch: i64,
    },
    /// Any other event, as sent.
    Other {
        /// The `event_type`.
        event_type: String,
        /// The event object.
        raw: Value,
    },
}

/// A received menu message (`msgtype` = `msgmenu`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedMenu {
    /// The text above the items.
    pub head_content: Option<String>,
    /// The items, in order.
    pub list: Vec<ReceivedMenuItem>,
    /// The text below the items.
    pub tail_content: Option<String>,
}

/// One item of a [`ReceivedMenu`], by its `type`. `Debug` hides the values of token- and
/// code-like keys of an unknown item.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum ReceivedMenuItem {
    /// A reply option (`click`): clicking it sends `content` back as a text whose `menu_id` is
    /// `id`.
    Click {
        /// The item's id (optional in the docs).
        id: Option<String>,
        /// What it shows.
        content: String,
    },
    /// A link (`view`).
    View {
        /// Where it leads.
        url: String,
        /// What it shows.
        content: String,
    },
    /// A mini program page (`miniprogram`).
    MiniProgram {
        /// The mini program's appid.
        appid: String,
        /// The page it opens.
        pagepath: String,
        /// What it shows.
        content: String,
    },
    /// Plain text between items (`text`).
    Text {
        /// The words.
        content: String,
        /// No line break after it.
        no_newline: bool,
    },
    /// An item of another type (or a known type without its object), as sent.
    Other {
        /// The item's `type`.
        r#type: String,
        /// The item object.
        raw: Value,
    },
}

/// A WeChat Channels shop product (`msgtype` = `channels_shop_product`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChannelsShopProduct {
    /// The product's id.
    pub product_id: String,
    /// The product's picture: `head_image` on the wire, or `head_img` (WxJava, SKIT).
    pub head_image: Option<String>,
    /// The product's title.
    pub title: String,
    /// The price in fen (分), as sent: peers read it as a string or as a number, so it is kept
    /// as text.
    pub sales_price: String,
    /// The shop's name.
    pub shop_nickname: String,
    /// The shop's avatar: `shop_head_image` on the wire, or `shop_head_img` (WxJava, SKIT).
    pub shop_head_image: Option<String>,
}

/// A WeChat Channels shop order (`msgtype` = `channels_shop_order`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChannelsShopOrder {
    /// The order's id.
    pub order_id: String,
    /// The products' titles.
    pub product_titles: String,
    /// The price, worded for display.
    pub price_wording: String,
    /// The order's state, worded for display.
    pub state: String,
    /// A thumbnail's URL.
    pub image_url: String,
    /// The shop's name.
    pub shop_nickname: String,
}

/// Forwarded chat records (`msgtype` = `merged_msg`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MergedMessage {
    /// The records' title.
    pub title: String,
    /// The records, in order.
    pub item: Vec<MergedItem>,
}

/// One record of a [`MergedMessage`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MergedItem {
    /// When it was sent (unix seconds).
    pub send_time: u64,
    /// Its message type (`text`, `image`, …).
    pub msgtype: String,
    /// Who sent it.
    pub sender_name: String,
    /// Its content: a JSON string shaped as the payload of `msgtype`. Read it with
    /// [`content`](Self::content).
    pub msg_content: String,
}

impl MergedItem {
    /// The record's content, decoded like a message's: `msg_content` read as the payload of
    /// `msgtype` (or as an object holding it under `msgtype`). What does not parse is kept
    /// as [`MessageContent::Other`].
    pub fn content(&self) -> MessageContent {
        match serde_json::from_str::<Value>(&self.msg_content) {
            Ok(Value::Object(o)) => {
                let payload = match o.get(&self.msgtype) {
                    Some(inner) if inner.is_object() => inner.clone(),
                    _ => Value::Object(o),
                };
                MessageContent::from_parts(&self.msgtype, Some(&payload))
            }
            Ok(other) => MessageContent::Other {
                msgtype: self.msgtype.clone(),
                payload: other,
            },
            Err(_) => MessageContent::Other {
                msgtype: self.msgtype.clone(),
                payload: Value::String(self.msg_content.clone()),
            },
        }
    }
}

/// A WeChat Channels (视频号) card (`msgtype` = `channels`). The peers list different fields:
/// those only some list are `Option`s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChannelsMessage {
    /// 1 a post (动态), 2 a live stream (直播), 3 a profile (名片); absent in WxJava's model.
    pub sub_type: Option<i64>,
    /// The channel's name.
    pub nickname: String,
    /// The post's or the live stream's title.
    pub title: String,
    /// Its description (WxJava only).
    pub desc: Option<String>,
    /// Its cover's URL (WxJava only).
    pub cover_url: Option<String>,
    /// Its URL (WxJava only).
    pub url: Option<String>,
    /// The channel's account name (WxJava only).
    pub find_username: Option<String>,
}

/// What `Debug` shows in place of a token or a one-time code.
pub(crate) struct Hidden;

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `Some(***)` for a value that is there, `None` otherwise.
pub(crate) fn hidden(value: &Option<String>) -> Option<Hidden> {
    value.as_ref().map(|_| Hidden)
}

/// Whether a field named `name` (JSON key or XML element, any case, `_` or not) holds a token,
/// a one-time code, a ticket or a secret, going by its name: `Token`, `welcome_code`,
/// `msg_code`, `AuthCode`, `SuiteTicket`, … For `Debug` of payloads kept as sent.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    name.ends_with("token")
        || name.ends_with("code")
        || name.ends_with("ticket")
        || name.contains("secret")
}

/// A JSON value as `Debug` shows it: the values of keys [`is_secret_name`] picks, at any
/// depth, are hidden.
struct ShownJson<'a>(&'a Value);

impl fmt::Debug for ShownJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn redact(value: &Value) -> Value {
            match value {
                Value::Object(o) => Value::Object(
                    o.iter()
                        .map(|(k, v)| {
                            let v = if is_secret_name(k) {
                                Value::String("***".into())
                            } else {
                                redact(v)
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
                other => other.clone(),
            }
        }
        fmt::Debug::fmt(&redact(self.0), f)
    }
}

impl fmt::Debug for MessageContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text { content, menu_id } => f
                .debug_struct("Text")
                .field("content", content)
                .field("menu_id", menu_id)
                .finish(),
            Self::Image { media_id } => {
                f.debug_struct("Image").field("media_id", media_id).finish()
            }
            Self::Voice { media_id } => {
                f.debug_struct("Voice").field("media_id", media_id).finish()
            }
            Self::Video { media_id } => {
                f.debug_struct("Video").field("media_id", media_id).finish()
            }
            Self::File { media_id } => f.debug_struct("File").field("media_id", media_id).finish(),
            Self::Location {
                latitude,
                longitude,
                name,
                address,
            } => f
                .debug_struct("Location")
                .field("latitude", latitude)
                .field("longitude", longitude)
                .field("name", name)
                .field("address", address)
                .finish(),
            Self::Link {
                title,
                desc,
                url,
                pic_url,
            } => f
                .debug_struct("Link")
                .field("title", title)
                .field("desc", desc)
                .field("url", url)
                .field("pic_url", pic_url)
                .finish(),
            Self::BusinessCard { userid } => f
                .debug_struct("BusinessCard")
                .field("userid", userid)
                .finish(),
            Self::MiniProgram {
                title,
                appid,
                pagepath,
                thumb_media_id,
            } => f
                .debug_struct("MiniProgram")
                .field("title", title)
                .field("appid", appid)
                .field("pagepath", pagepath)
                .field("thumb_media_id", thumb_media_id)
                .finish(),
            Self::Menu(menu) => f.debug_tuple("Menu").field(menu).finish(),
            Self::ChannelsShopProduct(product) => {
                f.debug_tuple("ChannelsShopProduct").field(product).finish()
            }
            Self::ChannelsShopOrder(order) => {
                f.debug_tuple("ChannelsShopOrder").field(order).finish()
            }
            Self::MergedMsg(merged) => f.debug_tuple("MergedMsg").field(merged).finish(),
            Self::Channels(channels) => f.debug_tuple("Channels").field(channels).finish(),
            Self::Meeting { payload } => f
                .debug_struct("Meeting")
                .field("payload", &ShownJson(payload))
                .finish(),
            Self::Schedule { payload } => f
                .debug_struct("Schedule")
                .field("payload", &ShownJson(payload))
                .finish(),
            Self::Note { payload } => f
                .debug_struct("Note")
                .field("payload", &ShownJson(payload))
                .finish(),
            Self::Event(event) => f.debug_tuple("Event").field(event).finish(),
            Self::Other { msgtype, payload } => f
                .debug_struct("Other")
                .field("msgtype", msgtype)
                .field("payload", &ShownJson(payload))
                .finish(),
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnterSession {
                open_kfid,
                external_userid,
                scene,
                scene_param,
                welcome_code,
                wechat_channels,
            } => f
                .debug_struct("EnterSession")
                .field("open_kfid", open_kfid)
                .field("external_userid", external_userid)
                .field("scene", scene)
                .field("scene_param", scene_param)
                .field("welcome_code", &hidden(welcome_code))
                .field("wechat_channels", wechat_channels)
                .finish(),
            Self::MsgSendFail {
                open_kfid,
                external_userid,
                fail_msgid,
                fail_type,
            } => f
                .debug_struct("MsgSendFail")
                .field("open_kfid", open_kfid)
                .field("external_userid", external_userid)
                .field("fail_msgid", fail_msgid)
                .field("fail_type", fail_type)
                .finish(),
            Self::ServicerStatusChange {
                servicer_userid,
                open_kfid,
                status,
                stop_type,
            } => f
                .debug_struct("ServicerStatusChange")
                .field("servicer_userid", servicer_userid)
                .field("open_kfid", open_kfid)
                .field("status", status)
                .field("stop_type", stop_type)
                .finish(),
            Self::SessionStatusChange {
                open_kfid,
                external_userid,
                change_type,
                old_servicer_userid,
                new_servicer_userid,
                msg_code,
            } => f
                .debug_struct("SessionStatusChange")
                .field("open_kfid", open_kfid)
                .field("external_userid", external_userid)
                .field("change_type", change_type)
                .field("old_servicer_userid", old_servicer_userid)
                .field("new_servicer_userid", new_servicer_userid)
                .field("msg_code", &hidden(msg_code))
                .finish(),
            Self::UserRecallMsg {
                open_kfid,
                external_userid,
                recall_msgid,
            } => f
                .debug_struct("UserRecallMsg")
                .field("open_kfid", open_kfid)
                .field("external_userid", external_userid)
                .field("recall_msgid", recall_msgid)
                .finish(),
            Self::ServicerRecallMsg {
                open_kfid,
                external_userid,
                recall_msgid,
                servicer_userid,
            } => f
                .debug_struct("ServicerRecallMsg")
                .field("open_kfid", open_kfid)
                .field("external_userid", external_userid)
                .field("recall_msgid", recall_msgid)
                .field("servicer_userid", servicer_userid)
                .finish(),
            Self::RejectCustomerMsgSwitchChange {
                servicer_userid,
                open_kfid,
                external_userid,
                reject_switch,
            } => f
                .debug_struct("RejectCustomerMsgSwitchChange")
                .field("servicer_userid", servicer_userid)
                .field("open_kfid", open_kfid)
                .field("external_userid", external_userid)
                .field("reject_switch", reject_switch)
                .finish(),
            Self::Other { event_type, raw } => f
                .debug_struct("Other")
                .field("event_type", event_type)
                .field("raw", &ShownJson(raw))
                .finish(),
        }
    }
}

fn text(o: &Map<String, Value>, key: &str) -> String {
    o.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn maybe_text(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A field's text whatever JSON type it came as: a string as is, another value (a number, an
/// array…) as its JSON text, so that nothing is lost; `None` when absent or null.
fn any_text(o: &Map<String, Value>, key: &str) -> Option<String> {
    match o.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// [`any_text`] of the first of `keys` that is there, for a field spelled two ways.
fn any_text_of(o: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| any_text(o, key))
}

/// A count or a time sent as a number or as a numeric string.
fn lenient_u64(o: &Map<String, Value>, key: &str) -> u64 {
    match o.get(key) {
        Some(Value::String(s)) => s.trim().parse().unwrap_or_default(),
        Some(v) => v.as_u64().unwrap_or_default(),
        None => 0,
    }
}

/// A code sent as a number or as a numeric string.
fn lenient_i64(o: &Map<String, Value>, key: &str) -> Option<i64> {
    match o.get(key)? {
        Value::String(s) => s.trim().parse().ok(),
        v => v.as_i64(),
    }
}

/// A flag sent as 0/1, as a boolean or as "0"/"1".
fn flag(o: &Map<String, Value>, key: &str) -> bool {
    match o.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !matches!(s.trim(), "" | "0" | "false"),
        Some(v) => v.as_i64().is_some_and(|n| n != 0),
        None => false,
    }
}

fn list<'a>(o: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    o.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn int(o: &Map<String, Value>, key: &str) -> i64 {
    o.get(key).and_then(Value::as_i64).unwrap_or_default()
}

fn float(o: &Map<String, Value>, key: &str) -> f64 {
    o.get(key).and_then(Value::as_f64).unwrap_or_default()
}

impl Event {
    fn from_object(o: &Map<String, Value>) -> Self {
        let event_type = text(o, "event_type");
        match event_type.as_str() {
            "enter_session" => Self::EnterSession {
                open_kfid: text(o, "open_kfid"),
                external_userid: text(o, "external_userid"),
                scene: text(o, "scene"),
                scene_param: text(o, "scene_param"),
                welcome_code: maybe_text(o, "welcome_code"),
                wechat_channels: o
                    .get("wechat_channels")
                    .and_then(|v| WechatChannels::deserialize(v).ok()),
            },
            "msg_send_fail" => Self::MsgSendFail {
                open_kfid: text(o, "open_kfid"),
                external_userid: text(o, "external_userid"),
                fail_msgid: text(o, "fail_msgid"),
                fail_type: int(o, "fail_type"),
            },
            "servicer_status_change" => Self::ServicerStatusChange {
                servicer_userid: text(o, "servicer_userid"),
                open_kfid: text(o, "open_kfid"),
                status: int(o, "status"),
                stop_type: o.get("stop_type").and_then(Value::as_i64),
            },
            "session_status_change" => Self::SessionStatusChange {
                open_kfid: text(o, "open_kfid"),
                external_userid: text(o, "external_userid"),
                change_type: int(o, "change_type"),
                old_servicer_userid: maybe_text(o, "old_servicer_userid"),
                new_servicer_userid: maybe_text(o, "new_servicer_userid"),
                msg_code: maybe_text(o, "msg_code"),
            },
            "user_recall_msg" => Self::UserRecallMsg {
                open_kfid: text(o, "open_kfid"),
                external_userid: text(o, "external_userid"),
                recall_msgid: text(o, "recall_msgid"),
            },
            "servicer_recall_msg" => Self::ServicerRecallMsg {
                open_kfid: text(o, "open_kfid"),
                external_userid: text(o, "external_userid"),
                recall_msgid: text(o, "recall_msgid"),
                servicer_userid: text(o, "servicer_userid"),
            },
            "reject_customer_msg_switch_change" => Self::RejectCustomerMsgSwitchChange {
                servicer_userid: text(o, "servicer_userid"),
                open_kfid: text(o, "open_kfid"),
                external_userid: text(o, "external_userid"),
                reject_switch: lenient_i64(o, "reject_switch").unwrap_or_default(),
            },
            _ => Self::Other {
                event_type,
                raw: Value::Object(o.clone()),
            },
        }
    }
}

impl fmt::Debug for ReceivedMenuItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Click { id, content } => f
                .debug_struct("Click")
                .field("id", id)
                .field("content", content)
                .finish(),
            Self::View { url, content } => f
                .debug_struct("View")
                .field("url", url)
                .field("content", content)
                .finish(),
            Self::MiniProgram {
                appid,
                pagepath,
                content,
            } => f
                .debug_struct("MiniProgram")
                .field("appid", appid)
                .field("pagepath", pagepath)
                .field("content", content)
                .finish(),
            Self::Text {
                content,
                no_newline,
            } => f
                .debug_struct("Text")
                .field("content", content)
                .field("no_newline", no_newline)
                .finish(),
            Self::Other { r#type, raw } => f
                .debug_struct("Other")
                .field("type", r#type)
                .field("raw", &ShownJson(raw))
                .finish(),
        }
    }
}

impl ReceivedMenuItem {
    fn from_value(item: &Value) -> Self {
        let r#type = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let other = || Self::Other {
            r#type: r#type.clone(),
            raw: item.clone(),
        };
        let Some(o) = item.get(&r#type).and_then(Value::as_object) else {
            return other();
        };
        match r#type.as_str() {
            "click" => Self::Click {
                id: maybe_text(o, "id"),
                content: text(o, "content"),
            },
            "view" => Self::View {
                url: text(o, "url"),
                content: text(o, "content"),
            },
            "miniprogram" => Self::MiniProgram {
                appid: text(o, "appid"),
                pagepath: text(o, "pagepath"),
                content: text(o, "content"),
            },
            "text" => Self::Text {
                content: text(o, "content"),
                no_newline: flag(o, "no_newline"),
            },
            _ => other(),
        }
    }
}

impl MessageContent {
    /// The content from `msgtype` and its payload object; what does not fit a known shape is
    /// kept as [`Other`](Self::Other).
    fn from_parts(msgtype: &str, payload: Option<&Value>) -> Self {
        let kept = || payload.cloned().unwrap_or(Value::Null);
        match msgtype {
            "meeting" => return Self::Meeting { payload: kept() },
            "schedule" => return Self::Schedule { payload: kept() },
            "note" => return Self::Note { payload: kept() },
            _ => {}
        }
        let Some(o) = payload.and_then(Value::as_object) else {
            return Self::Other {
                msgtype: msgtype.to_owned(),
                payload: payload.cloned().unwrap_or(Value::Null),
            };
        };
        match msgtype {
            "text" => Self::Text {
                content: text(o, "content"),
                menu_id: maybe_text(o, "menu_id"),
            },
            "image" => Self::Image {
                media_id: text(o, "media_id"),
            },
            "voice" => Self::Voice {
                media_id: text(o, "media_id"),
            },
            "video" => Self::Video {
                media_id: text(o, "media_id"),
            },
            "file" => Self::File {
                media_id: text(o, "media_id"),
            },
            "location" => Self::Location {
                latitude: float(o, "latitude"),
                longitude: float(o, "longitude"),
                name: text(o, "name"),
                address: text(o, "address"),
            },
            "link" => Self::Link {
                title: text(o, "title"),
                desc: text(o, "desc"),
                url: text(o, "url"),
                pic_url: text(o, "pic_url"),
            },
            "business_card" => Self::BusinessCard {
                userid: text(o, "userid"),
            },
            "miniprogram" => Self::MiniProgram {
                title: text(o, "title"),
                appid: text(o, "appid"),
                pagepath: text(o, "pagepath"),
                thumb_media_id: text(o, "thumb_media_id"),
            },
            "msgmenu" => Self::Menu(ReceivedMenu {
                head_content: maybe_text(o, "head_content"),
                list: list(o, "list")
                    .iter()
                    .map(ReceivedMenuItem::from_value)
                    .collect(),
                tail_content: maybe_text(o, "tail_content"),
            }),
            "channels_shop_product" => Self::ChannelsShopProduct(ChannelsShopProduct {
                product_id: any_text(o, "product_id").unwrap_or_default(),
                head_image: any_text_of(o, &["head_image", "head_img"]),
                title: any_text(o, "title").unwrap_or_default(),
                sales_price: any_text(o, "sales_price").unwrap_or_default(),
                shop_nickname: any_text(o, "shop_nickname").unwrap_or_default(),
                shop_head_image: any_text_of(o, &["shop_head_image", "shop_head_img"]),
            }),
            "channels_shop_order" => Self::ChannelsShopOrder(ChannelsShopOrder {
                order_id: any_text(o, "order_id").unwrap_or_default(),
                product_titles: any_text(o, "product_titles").unwrap_or_default(),
                price_wording: any_text(o, "price_wording").unwrap_or_default(),
                state: any_text(o, "state").unwrap_or_default(),
                image_url: any_text(o, "image_url").unwrap_or_default(),
                shop_nickname: any_text(o, "shop_nickname").unwrap_or_default(),
            }),
            // A record that is not an object would have nowhere to go: keep it all raw then.
            "merged_msg" if list(o, "item").iter().all(Value::is_object) => {
                Self::MergedMsg(MergedMessage {
                    title: any_text(o, "title").unwrap_or_default(),
                    item: list(o, "item")
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|i| MergedItem {
                            send_time: lenient_u64(i, "send_time"),
                            msgtype: any_text(i, "msgtype").unwrap_or_default(),
                            sender_name: any_text(i, "sender_name").unwrap_or_default(),
                            msg_content: any_text(i, "msg_content").unwrap_or_default(),
                        })
                        .collect(),
                })
            }
            "channels" => Self::Channels(ChannelsMessage {
                sub_type: lenient_i64(o, "sub_type"),
                nickname: any_text(o, "nickname").unwrap_or_default(),
                title: any_text(o, "title").unwrap_or_default(),
                desc: any_text(o, "desc"),
                cover_url: any_text(o, "cover_url"),
                url: any_text(o, "url"),
                find_username: any_text(o, "find_username"),
            }),
            "event" => Self::Event(Event::from_object(o)),
            _ => Self::Other {
                msgtype: msgtype.to_owned(),
                payload: Value::Object(o.clone()),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let o = Map::<String, Value>::deserialize(d)?;
        let msgtype = text(&o, "msgtype");
        let content = MessageContent::from_parts(&msgtype, o.get(&msgtype));
        Ok(Self {
            msgid: text(&o, "msgid"),
            open_kfid: maybe_text(&o, "open_kfid"),
            external_userid: maybe_text(&o, "external_userid"),
            send_time: o
                .get("send_time")
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            origin: Origin::from(int(&o, "origin")),
            servicer_userid: maybe_text(&o, "servicer_userid"),
            content,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_type_decodes_and_unknown_ones_are_kept() {
        let page: SyncMessagesResponse = serde_json::from_str(
            r#"{"next_cursor":"c1","has_more":1,"msg_list":[
                {"msgid":"1","open_kfid":"wk","external_userid":"wm","send_time":1,"origin":3,"msgtype":"text","text":{"content":"hi","menu_id":"101"}},
                {"msgid":"2","send_time":2,"origin":3,"msgtype":"location","location":{"latitude":23.1,"longitude":113.3,"name":"n","address":"a"}},
                {"msgid":"3","send_time":3,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"wk","external_userid":"wm","scene":"s","scene_param":"p","welcome_code":"W"}},
                {"msgid":"4","send_time":4,"origin":4,"msgtype":"event","event":{"event_type":"brand_new_event","x":1}},
                {"msgid":"5","send_time":5,"origin":3,"msgtype":"channels_shop_order","channels_shop_order":{"order_id":"o1"}},
                {"msgid":"6","send_time":6,"origin":9,"msgtype":"hologram"}
            ]}"#,
        )
        .unwrap();
        assert!(page.has_more);
        let contents: Vec<_> = page.msg_list.iter().map(|m| &m.content).collect();
        assert_eq!(
            *contents[0],
            MessageContent::Text {
                content: "hi".into(),
                menu_id: Some("101".into())
            }
        );
        assert!(
            matches!(contents[1], MessageContent::Location { latitude, .. } if *latitude == 23.1)
        );
        assert!(matches!(
            contents[2],
            MessageContent::Event(Event::EnterSession { welcome_code: Some(code), .. }) if code == "W"
        ));
        assert!(matches!(
            contents[3],
            MessageContent::Event(Event::Other { event_type, .. }) if event_type == "brand_new_event"
        ));
        assert!(matches!(
            contents[4],
            MessageContent::ChannelsShopOrder(order) if order.order_id == "o1" && order.state.is_empty()
        ));
        assert!(
            matches!(contents[5], MessageContent::Other { msgtype, .. } if msgtype == "hologram")
        );
        assert_eq!(page.msg_list[5].origin, Origin::Other(9));
        assert_eq!(page.msg_list[2].origin, Origin::System);
    }

    fn content(msgtype: &str, payload: Value) -> MessageContent {
        MessageContent::from_parts(msgtype, Some(&payload))
    }

    #[test]
    fn what_the_peers_disagree_on_is_read_either_way_and_never_lost() {
        // Both spellings present: the majority's (`head_image`) wins, the other is still read
        // when it is the only one.
        let MessageContent::ChannelsShopProduct(p) = content(
            "channels_shop_product",
            serde_json::json!({"head_image":"a","head_img":"b","shop_head_img":"c",
                "sales_price":12.5,"product_id":7}),
        ) else {
            panic!()
        };
        assert_eq!(
            (p.head_image.as_deref(), p.shop_head_image.as_deref()),
            (Some("a"), Some("c"))
        );
        // A number where a string was expected is kept as its text.
        assert_eq!(
            (p.sales_price.as_str(), p.product_id.as_str()),
            ("12.5", "7")
        );
        // An array where peers say string: kept as its JSON text.
        let MessageContent::ChannelsShopOrder(o) = content(
            "channels_shop_order",
            serde_json::json!({"product_titles":["甲","乙"]}),
        ) else {
            panic!()
        };
        assert_eq!(o.product_titles, r#"["甲","乙"]"#);
        // Numbers as strings, a numeric msgtype (go-workwx models it as uint32), content that
        // is not JSON (kept as a string).
        let MessageContent::MergedMsg(m) = content(
            "merged_msg",
            serde_json::json!({"title":"t","item":[
                {"send_time":"17","msgtype":1,"sender_name":"s","msg_content":"not json"},
                {"send_time":18,"msgtype":"text","msg_content":"{\"text\":{\"content\":\"wrapped\"}}"}]}),
        ) else {
            panic!()
        };
        // A record that is not an object: the whole message stays raw.
        assert!(matches!(
            content("merged_msg", serde_json::json!({"title":"t","item":[{"msgtype":"text"},"junk"]})),
            MessageContent::Other { msgtype, payload } if msgtype == "merged_msg" && payload["item"][1] == "junk"
        ));
        assert_eq!(m.item.len(), 2);
        assert_eq!((m.item[0].send_time, m.item[0].msgtype.as_str()), (17, "1"));
        assert_eq!(
            m.item[0].content(),
            MessageContent::Other {
                msgtype: "1".into(),
                payload: Value::String("not json".into())
            }
        );
        // A record whose content holds the payload under its msgtype.
        assert!(matches!(
            m.item[1].content(),
            MessageContent::Text { content, .. } if content == "wrapped"
        ));
        let MessageContent::Channels(c) = content("channels", serde_json::json!({"sub_type":"3"}))
        else {
            panic!()
        };
        assert_eq!((c.sub_type, c.nickname.as_str()), (Some(3), ""));
    }

    #[test]
    fn menu_items_of_unknown_types_and_known_types_without_a_payload_are_kept() {
        let MessageContent::Menu(menu) = content(
            "msgmenu",
            serde_json::json!({"list":[
                {"type":"hologram","hologram":{"x":1,"msg_code":"SECRET-2"}},
                {"type":"click"},
                {"type":"text","text":{"content":"t"}},
                {"type":"text","text":{"content":"u","no_newline":true}}]}),
        ) else {
            panic!()
        };
        assert_eq!(
            (menu.head_content.as_ref(), menu.tail_content.as_ref()),
            (None, None)
        );
        let shown = format!("{menu:?}");
        assert!(
            shown.contains("hologram") && !shown.contains("SECRET-2"),
            "{shown}"
        );
        assert!(matches!(
            &menu.list[..],
            [
                ReceivedMenuItem::Other { r#type: a, raw },
                ReceivedMenuItem::Other { r#type: b, .. },
                ReceivedMenuItem::Text { no_newline: false, .. },
                ReceivedMenuItem::Text { no_newline: true, .. },
            ] if a == "hologram" && raw["hologram"]["x"] == 1 && b == "click"
        ));
        // A known type whose payload is not an object stays raw, as before.
        assert!(matches!(
            content("msgmenu", Value::String("x".into())),
            MessageContent::Other { msgtype, .. } if msgtype == "msgmenu"
        ));
    }

    #[test]
    fn payload_only_types_keep_their_payload_and_hide_codes_in_debug() {
        let meeting = content(
            "meeting",
            serde_json::json!({"meetingid":"m1","invite_code":"SECRET-1"}),
        );
        assert!(
            matches!(&meeting, MessageContent::Meeting { payload } if payload["meetingid"] == "m1")
        );
        let shown = format!("{meeting:?}");
        assert!(
            shown.contains("m1") && !shown.contains("SECRET-1"),
            "{shown}"
        );
        assert!(matches!(
            MessageContent::from_parts("note", None),
            MessageContent::Note {
                payload: Value::Null
            }
        ));
        let reject = Event::from_object(
            serde_json::json!({"event_type":"reject_customer_msg_switch_change",
                "servicer_userid":"zs","open_kfid":"wk","external_userid":"wm","reject_switch":0})
            .as_object()
            .unwrap(),
        );
        assert!(matches!(
            reject,
            Event::RejectCustomerMsgSwitchChange {
                reject_switch: 0,
                ..
            }
        ));
        assert!(format!("{reject:?}").contains("reject_switch: 0"));
    }

    #[test]
    fn event_details_the_docs_list_are_kept() {
        let channels = Event::from_object(
            serde_json::json!({"event_type":"enter_session","open_kfid":"wk","external_userid":"wm",
                "wechat_channels":{"nickname":"频道","shop_nickname":"小店","scene":2}})
            .as_object()
            .unwrap(),
        );
        let Event::EnterSession {
            wechat_channels: Some(c),
            welcome_code: None,
            ..
        } = channels
        else {
            panic!("{channels:?}")
        };
        assert_eq!(
            (c.nickname.as_str(), c.shop_nickname.as_deref(), c.scene),
            ("频道", Some("小店"), 2)
        );
        let on_break = Event::from_object(
            serde_json::json!({"event_type":"servicer_status_change","servicer_userid":"zs",
                "open_kfid":"wk","status":2,"stop_type":1})
            .as_object()
            .unwrap(),
        );
        assert!(matches!(
            on_break,
            Event::ServicerStatusChange {
                status: 2,
                stop_type: Some(1),
                ..
            }
        ));
    }
}
