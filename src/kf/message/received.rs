//! What customers send: `kf/sync_msg` pages of messages and events, every type the docs list
//! as a typed enum that keeps the types it does not know.

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
    /// An event (session changes, send failures, recalls…).
    Event(Event),
    /// Any other type (menus, channels products and orders, merged messages, notes, …), as
    /// sent: `msgtype` and the payload object named after it.
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
    /// Any other event, as sent.
    Other {
        /// The `event_type`.
        event_type: String,
        /// The event object.
        raw: Value,
    },
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
            _ => Self::Other {
                event_type,
                raw: Value::Object(o.clone()),
            },
        }
    }
}

impl MessageContent {
    /// The content from `msgtype` and its payload object; what does not fit a known shape is
    /// kept as [`Other`](Self::Other).
    fn from_parts(msgtype: &str, payload: Option<&Value>) -> Self {
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
            MessageContent::Other { msgtype, payload } if msgtype == "channels_shop_order" && payload["order_id"] == "o1"
        ));
        assert!(
            matches!(contents[5], MessageContent::Other { msgtype, .. } if msgtype == "hologram")
        );
        assert_eq!(page.msg_list[5].origin, Origin::Other(9));
        assert_eq!(page.msg_list[2].origin, Origin::System);
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
