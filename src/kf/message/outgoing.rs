//! What is sent to customers: the message types of `kf/send_msg` ([`Outgoing`]), and the
//! requests of `kf/send_msg`, `kf/send_msg_on_event` and `kf/recall_msg`.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;

use crate::error::{Error, Result};
use crate::kf::account::OPEN_KFID_MAX_BYTES;
use crate::kf::customer::EXTERNAL_USERID_MAX_BYTES;
use crate::operation::{Operation, decoded_as_is};
use crate::spec::{self, Endpoint};
use crate::validate;

/// A message id you choose: up to 32 bytes of `0-9 a-z A-Z _ -`, unique within the account.
pub const MSGID_MAX_BYTES: usize = 32;
/// A text message: up to 2048 bytes.
pub const TEXT_MAX_BYTES: usize = 2048;
/// A menu holds at most 10 items (95008 beyond).
pub const MENU_ITEMS_MAX: usize = 10;
/// A menu click item's `id`, when it has one (WxJava and wxkefu-rs: optional, 1–128 bytes;
/// the older silenceper said 1–64).
pub const MENU_CLICK_ID_MAX_BYTES: usize = 128;
/// A menu text item (WxJava and wxkefu-rs: "不少于1字节 不多于256字节").
pub const MENU_TEXT_MAX_BYTES: usize = 256;

/// `kf/send_msg` request.
#[derive(Debug, Clone, Serialize)]
pub struct SendMessage {
    touser: String,
    open_kfid: String,
    msgid: String,
    #[serde(flatten)]
    content: Outgoing,
}

impl SendMessage {
    /// Sends `content` from account `open_kfid` to the customer `external_userid`, with a
    /// fresh msgid.
    pub fn new(
        open_kfid: impl Into<String>,
        external_userid: impl Into<String>,
        content: impl Into<Outgoing>,
    ) -> Self {
        Self {
            touser: external_userid.into(),
            open_kfid: open_kfid.into(),
            msgid: uuid::Uuid::new_v4().simple().to_string(),
            content: content.into(),
        }
    }

    /// Use this msgid instead (up to 32 bytes of `0-9 a-z A-Z _ -`, unique in the account).
    pub fn with_msgid(mut self, msgid: impl Into<String>) -> Self {
        self.msgid = msgid.into();
        self
    }

    /// The msgid this message will carry.
    pub fn msgid(&self) -> &str {
        &self.msgid
    }
}

impl Operation for SendMessage {
    const ENDPOINT: &'static Endpoint = &spec::KF_SEND_MSG;
    type Response = SendMessageResponse;

    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        validate::bytes("touser", &self.touser, 1, EXTERNAL_USERID_MAX_BYTES)?;
        check_msgid(&self.msgid)?;
        self.content.validate()
    }
}

fn check_msgid(msgid: &str) -> Result<()> {
    validate::id("msgid", msgid, MSGID_MAX_BYTES)
}

/// `kf/send_msg` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct SendMessageResponse {
    /// The message's id (the one sent).
    #[serde(default)]
    pub msgid: String,
}

/// What to send, by type: one constructor per type.
///
/// ```
/// use wecom_kf::kf::message::{MenuItem, Outgoing};
///
/// let messages = [
///     Outgoing::text("您好"),
///     Outgoing::image("MEDIA_ID"),
///     Outgoing::voice("MEDIA_ID"),
///     Outgoing::video("MEDIA_ID"),
///     Outgoing::file("MEDIA_ID"),
///     Outgoing::link("https://example.com/r", "Returns", "How to send an item back", "THUMB_ID"),
///     Outgoing::mini_program("wx123", "pages/index", "Our shop", "THUMB_ID"),
///     Outgoing::menu([MenuItem::click("101", "查订单")]).head_content("请选择：").into(),
///     Outgoing::location(23.1, 113.3, "广州塔", "广州市海珠区阅江西路222号"),
///     Outgoing::business_card("zhangsan"),
///     Outgoing::ca_link("https://work.weixin.qq.com/ca/cawcde"),
/// ];
/// # let _ = messages;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outgoing {
    /// Text, up to 2048 bytes.
    Text {
        /// The words.
        content: String,
    },
    /// An image, by media id (`media/upload`).
    Image {
        /// The media id.
        media_id: String,
    },
    /// A voice message.
    Voice {
        /// The media id.
        media_id: String,
    },
    /// A video.
    Video {
        /// The media id.
        media_id: String,
    },
    /// A file.
    File {
        /// The media id.
        media_id: String,
    },
    /// A link card.
    Link {
        /// Title; WeCom cuts it to 128 bytes.
        title: String,
        /// Description; WeCom cuts it to 512 bytes.
        desc: String,
        /// http(s) URL, up to 2048 bytes.
        url: String,
        /// Cover image, by media id.
        thumb_media_id: String,
    },
    /// A mini program card (the mini program must be linked to the corp).
    MiniProgram {
        /// The mini program's appid.
        appid: String,
        /// Title; WeCom cuts it to 64 bytes.
        title: String,
        /// Cover image, by media id.
        thumb_media_id: String,
        /// The page to open.
        pagepath: String,
    },
    /// A menu of up to 10 items.
    Menu(Menu),
    /// A location.
    Location {
        /// −90 to 90.
        latitude: f64,
        /// −180 to 180.
        longitude: f64,
        /// Place name.
        name: String,
        /// Address.
        address: String,
    },
    /// A member's business card.
    BusinessCard {
        /// The member.
        userid: String,
    },
    /// A customer-acquisition link (获客链接).
    CaLink {
        /// The link.
        link_url: String,
    },
}

impl Outgoing {
    /// A text message.
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text {
            content: content.into(),
        }
    }

    /// An image message.
    pub fn image(media_id: impl Into<String>) -> Self {
        Self::Image {
            media_id: media_id.into(),
        }
    }

    /// A voice message.
    pub fn voice(media_id: impl Into<String>) -> Self {
        Self::Voice {
            media_id: media_id.into(),
        }
    }

    /// A video message.
    pub fn video(media_id: impl Into<String>) -> Self {
        Self::Video {
            media_id: media_id.into(),
        }
    }

    /// A file message.
    pub fn file(media_id: impl Into<String>) -> Self {
        Self::File {
            media_id: media_id.into(),
        }
    }

    /// A link card to `url` (http or https), with a cover image by media id. (Arguments in
    /// the order of [`Attachment::link`](crate::kf::knowledge::Attachment::link): what it
    /// opens, then how it looks.)
    pub fn link(
        url: impl Into<String>,
        title: impl Into<String>,
        desc: impl Into<String>,
        thumb_media_id: impl Into<String>,
    ) -> Self {
        Self::Link {
            title: title.into(),
            desc: desc.into(),
            url: url.into(),
            thumb_media_id: thumb_media_id.into(),
        }
    }

    /// A mini program card that opens `pagepath` of the mini program `appid`.
    pub fn mini_program(
        appid: impl Into<String>,
        pagepath: impl Into<String>,
        title: impl Into<String>,
        thumb_media_id: impl Into<String>,
    ) -> Self {
        Self::MiniProgram {
            appid: appid.into(),
            title: title.into(),
            thumb_media_id: thumb_media_id.into(),
            pagepath: pagepath.into(),
        }
    }

    /// A menu message of `items` (1 to 10): a [`Menu`], to give a head or a tail, then
    /// `.into()` (or pass it where an `impl Into<Outgoing>` is taken).
    pub fn menu(items: impl IntoIterator<Item = MenuItem>) -> Menu {
        Menu {
            head_content: None,
            list: items.into_iter().collect(),
            tail_content: None,
        }
    }

    /// A location (latitude −90 to 90, longitude −180 to 180).
    pub fn location(
        latitude: f64,
        longitude: f64,
        name: impl Into<String>,
        address: impl Into<String>,
    ) -> Self {
        Self::Location {
            latitude,
            longitude,
            name: name.into(),
            address: address.into(),
        }
    }

    /// The business card of the member `userid`.
    pub fn business_card(userid: impl Into<String>) -> Self {
        Self::BusinessCard {
            userid: userid.into(),
        }
    }

    /// A customer-acquisition link (获客链接).
    pub fn ca_link(link_url: impl Into<String>) -> Self {
        Self::CaLink {
            link_url: link_url.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Self::Text { content } => validate::bytes("text.content", content, 1, TEXT_MAX_BYTES),
            Self::Image { media_id }
            | Self::Voice { media_id }
            | Self::Video { media_id }
            | Self::File { media_id } => validate::non_empty("media_id", media_id),
            Self::Link {
                title,
                url,
                thumb_media_id,
                ..
            } => {
                // Longer titles and descriptions are cut by WeCom, not refused.
                validate::non_empty("link.title", title)?;
                validate::bytes("link.url", url, 1, 2048)?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Error::invalid(
                        "link.url",
                        "must start with http:// or https://",
                    ));
                }
                validate::non_empty("link.thumb_media_id", thumb_media_id)
            }
            // A longer title is cut by WeCom, not refused.
            Self::MiniProgram {
                appid,
                thumb_media_id,
                pagepath,
                ..
            } => {
                validate::non_empty("miniprogram.appid", appid)?;
                validate::non_empty("miniprogram.thumb_media_id", thumb_media_id)?;
                validate::non_empty("miniprogram.pagepath", pagepath)
            }
            Self::Menu(menu) => menu.validate(),
            Self::Location {
                latitude,
                longitude,
                ..
            } => {
                if !(-90.0..=90.0).contains(latitude) {
                    return Err(Error::invalid("location.latitude", "must be -90 to 90"));
                }
                if !(-180.0..=180.0).contains(longitude) {
                    return Err(Error::invalid("location.longitude", "must be -180 to 180"));
                }
                Ok(())
            }
            Self::BusinessCard { userid } => validate::non_empty("business_card.userid", userid),
            Self::CaLink { link_url } => validate::non_empty("ca_link.link_url", link_url),
        }
    }

    fn wire(&self) -> (&'static str, serde_json::Value) {
        match self {
            Self::Text { content } => ("text", json!({ "content": content })),
            Self::Image { media_id } => ("image", json!({ "media_id": media_id })),
            Self::Voice { media_id } => ("voice", json!({ "media_id": media_id })),
            Self::Video { media_id } => ("video", json!({ "media_id": media_id })),
            Self::File { media_id } => ("file", json!({ "media_id": media_id })),
            Self::Link {
                title,
                desc,
                url,
                thumb_media_id,
            } => (
                "link",
                json!({"title": title, "desc": desc, "url": url, "thumb_media_id": thumb_media_id}),
            ),
            Self::MiniProgram {
                appid,
                title,
                thumb_media_id,
                pagepath,
            } => (
                "miniprogram",
                json!({"appid": appid, "title": title, "thumb_media_id": thumb_media_id,
                    "pagepath": pagepath}),
            ),
            Self::Menu(menu) => ("msgmenu", menu.wire()),
            Self::Location {
                latitude,
                longitude,
                name,
                address,
            } => (
                "location",
                json!({"latitude": latitude, "longitude": longitude, "name": name,
                    "address": address}),
            ),
            Self::BusinessCard { userid } => ("business_card", json!({ "userid": userid })),
            Self::CaLink { link_url } => ("ca_link", json!({ "link_url": link_url })),
        }
    }
}

/// On the wire: `"msgtype": "text", "text": {…}` (flattened into the request).
impl Serialize for Outgoing {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let (msgtype, payload) = self.wire();
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("msgtype", msgtype)?;
        map.serialize_entry(msgtype, &payload)?;
        map.end()
    }
}

/// A menu message: an optional head, 1 to 10 items, an optional tail.
#[derive(Debug, Clone, PartialEq)]
pub struct Menu {
    head_content: Option<String>,
    list: Vec<MenuItem>,
    tail_content: Option<String>,
}

impl Menu {
    /// Text above the items (up to 1024 bytes).
    pub fn head_content(mut self, text: impl Into<String>) -> Self {
        self.head_content = Some(text.into());
        self
    }

    /// Text below the items (up to 1024 bytes).
    pub fn tail_content(mut self, text: impl Into<String>) -> Self {
        self.tail_content = Some(text.into());
        self
    }

    fn validate(&self) -> Result<()> {
        if let Some(head) = &self.head_content {
            validate::bytes("msgmenu.head_content", head, 0, 1024)?;
        }
        if let Some(tail) = &self.tail_content {
            validate::bytes("msgmenu.tail_content", tail, 0, 1024)?;
        }
        if self.list.len() > MENU_ITEMS_MAX {
            return Err(Error::invalid(
                "msgmenu.list",
                format!(
                    "must hold at most {MENU_ITEMS_MAX} items, got {}",
                    self.list.len()
                ),
            ));
        }
        let said = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.is_empty());
        if self.list.is_empty() && !said(&self.head_content) && !said(&self.tail_content) {
            return Err(Error::invalid(
                "msgmenu",
                "needs items, a head_content or a tail_content",
            ));
        }
        self.list.iter().try_for_each(MenuItem::validate)
    }

    fn wire(&self) -> serde_json::Value {
        let mut menu = json!({
            "list": self.list.iter().map(MenuItem::wire).collect::<Vec<_>>(),
        });
        if let Some(head) = &self.head_content {
            menu["head_content"] = json!(head);
        }
        if let Some(tail) = &self.tail_content {
            menu["tail_content"] = json!(tail);
        }
        menu
    }
}

impl From<Menu> for Outgoing {
    fn from(menu: Menu) -> Self {
        Self::Menu(menu)
    }
}

/// One item of a menu.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MenuItem {
    /// A reply option: clicking it sends `content` back as a text message, with `menu_id` =
    /// `id` when the item has one.
    Click {
        /// Optional; 1–128 bytes when set ([`MENU_CLICK_ID_MAX_BYTES`]).
        id: Option<String>,
        /// 1–128 bytes.
        content: String,
    },
    /// A link.
    View {
        /// 1–2048 bytes.
        url: String,
        /// 1–1024 bytes.
        content: String,
    },
    /// A mini program page.
    MiniProgram {
        /// 1–32 bytes.
        appid: String,
        /// 1–1024 bytes.
        pagepath: String,
        /// 1–1024 bytes.
        content: String,
    },
    /// Plain text between items.
    Text {
        /// 1–256 bytes ([`MENU_TEXT_MAX_BYTES`]); `\n` breaks the line.
        content: String,
        /// Do not break the line after it.
        no_newline: bool,
    },
}

impl MenuItem {
    /// A reply option whose click comes back with `menu_id` = `id`.
    pub fn click(id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::Click {
            id: Some(id.into()),
            content: content.into(),
        }
    }

    /// A reply option without an id: its click comes back as the text alone.
    pub fn click_without_id(content: impl Into<String>) -> Self {
        Self::Click {
            id: None,
            content: content.into(),
        }
    }

    /// A mini program page option.
    pub fn mini_program(
        appid: impl Into<String>,
        pagepath: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self::MiniProgram {
            appid: appid.into(),
            pagepath: pagepath.into(),
            content: content.into(),
        }
    }

    /// Plain text between items, followed by a line break.
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text {
            content: content.into(),
            no_newline: false,
        }
    }

    /// A link option.
    pub fn view(url: impl Into<String>, content: impl Into<String>) -> Self {
        Self::View {
            url: url.into(),
            content: content.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Self::Click { id, content } => {
                if let Some(id) = id {
                    validate::bytes("msgmenu.click.id", id, 1, MENU_CLICK_ID_MAX_BYTES)?;
                }
                validate::bytes("msgmenu.click.content", content, 1, 128)
            }
            Self::View { url, content } => {
                validate::bytes("msgmenu.view.url", url, 1, 2048)?;
                validate::bytes("msgmenu.view.content", content, 1, 1024)
            }
            Self::MiniProgram {
                appid,
                pagepath,
                content,
            } => {
                validate::bytes("msgmenu.miniprogram.appid", appid, 1, 32)?;
                validate::bytes("msgmenu.miniprogram.pagepath", pagepath, 1, 1024)?;
                validate::bytes("msgmenu.miniprogram.content", content, 1, 1024)
            }
            Self::Text { content, .. } => {
                validate::bytes("msgmenu.text.content", content, 1, MENU_TEXT_MAX_BYTES)
            }
        }
    }

    fn wire(&self) -> serde_json::Value {
        match self {
            Self::Click {
                id: Some(id),
                content,
            } => {
                json!({"type": "click", "click": {"id": id, "content": content}})
            }
            Self::Click { id: None, content } => {
                json!({"type": "click", "click": {"content": content}})
            }
            Self::View { url, content } => {
                json!({"type": "view", "view": {"url": url, "content": content}})
            }
            Self::MiniProgram {
                appid,
                pagepath,
                content,
            } => json!({"type": "miniprogram",
                "miniprogram": {"appid": appid, "pagepath": pagepath, "content": content}}),
            Self::Text {
                content,
                no_newline,
            } => json!({"type": "text",
                "text": {"content": content, "no_newline": u8::from(*no_newline)}}),
        }
    }
}

/// `kf/send_msg_on_event` request: a code from an event and a text or menu message. `Debug`
/// hides the code.
#[derive(Clone, Serialize)]
pub struct SendOnEvent {
    code: String,
    msgid: String,
    #[serde(flatten)]
    content: Outgoing,
}

impl std::fmt::Debug for SendOnEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            code: _,
            msgid,
            content,
        } = self;
        f.debug_struct("SendOnEvent")
            .field("code", &super::received::Hidden)
            .field("msgid", msgid)
            .field("content", content)
            .finish()
    }
}

impl SendOnEvent {
    /// Sends `content` (text or a menu) with the event's `code`, with a fresh msgid.
    pub fn new(code: impl Into<String>, content: impl Into<Outgoing>) -> Self {
        Self {
            code: code.into(),
            msgid: uuid::Uuid::new_v4().simple().to_string(),
            content: content.into(),
        }
    }

    /// Use this msgid instead (same rules as [`SendMessage::with_msgid`]).
    pub fn with_msgid(mut self, msgid: impl Into<String>) -> Self {
        self.msgid = msgid.into();
        self
    }

    /// The msgid this message will carry.
    pub fn msgid(&self) -> &str {
        &self.msgid
    }
}

impl Operation for SendOnEvent {
    const ENDPOINT: &'static Endpoint = &spec::KF_SEND_MSG_ON_EVENT;
    type Response = SendOnEventResponse;

    fn validate(&self) -> Result<()> {
        validate::bytes("code", &self.code, 1, 512)?;
        check_msgid(&self.msgid)?;
        if !matches!(self.content, Outgoing::Text { .. } | Outgoing::Menu(_)) {
            return Err(Error::invalid(
                "msgtype",
                "must be text or msgmenu for a message on an event",
            ));
        }
        self.content.validate()
    }
}

/// `kf/send_msg_on_event` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct SendOnEventResponse {
    /// The message's id (the one sent).
    #[serde(default)]
    pub msgid: String,
}

/// `kf/recall_msg` request.
#[derive(Debug, Clone, Serialize)]
pub struct RecallMessage {
    open_kfid: String,
    msgid: String,
}

impl RecallMessage {
    /// Recalls the message `msgid` that account `open_kfid` sent.
    pub fn new(open_kfid: impl Into<String>, msgid: impl Into<String>) -> Self {
        Self {
            open_kfid: open_kfid.into(),
            msgid: msgid.into(),
        }
    }
}

impl Operation for RecallMessage {
    const ENDPOINT: &'static Endpoint = &spec::KF_RECALL_MSG;
    type Response = ();

    fn validate(&self) -> Result<()> {
        validate::bytes("open_kfid", &self.open_kfid, 1, OPEN_KFID_MAX_BYTES)?;
        validate::bytes("msgid", &self.msgid, 1, 128)
    }
}

decoded_as_is!(SendMessageResponse, SendOnEventResponse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_serialise_as_on_the_wire() {
        let text = SendMessage::new("wk", "wm", Outgoing::text("hi")).with_msgid("m1");
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            json!({"touser": "wm", "open_kfid": "wk", "msgid": "m1", "msgtype": "text",
                "text": {"content": "hi"}})
        );
        let menu = Outgoing::from(
            Outgoing::menu([MenuItem::click("1", "a"), MenuItem::view("https://x", "b")])
                .head_content("h"),
        );
        let wire = serde_json::to_value(SendMessage::new("wk", "wm", menu)).unwrap();
        assert_eq!(wire["msgtype"], "msgmenu");
        assert_eq!(wire["msgmenu"]["head_content"], "h");
        assert_eq!(wire["msgmenu"]["list"][1]["view"]["url"], "https://x");
    }

    #[test]
    fn a_generated_msgid_fits_the_rules() {
        let a = SendMessage::new("wk", "wm", Outgoing::text("x"));
        let b = SendMessage::new("wk", "wm", Outgoing::text("x"));
        assert_ne!(a.msgid(), b.msgid());
        assert!(a.validate().is_ok());
        assert_eq!(a.msgid().len(), 32);
    }

    /// A click item's id is optional and up to 128 bytes; a text item holds 1 to 256 bytes
    /// (the SDK required a 1–64-byte id and let 1024-byte text through).
    #[test]
    fn menu_items_follow_the_documented_limits() {
        let menu = |item: MenuItem| Outgoing::from(Outgoing::menu([item])).validate();
        assert!(menu(MenuItem::click("i".repeat(128), "a")).is_ok());
        assert!(menu(MenuItem::click("i".repeat(129), "a")).is_err());
        assert!(menu(MenuItem::click_without_id("a")).is_ok());
        assert!(menu(MenuItem::text("t".repeat(256))).is_ok());
        assert!(menu(MenuItem::text("t".repeat(257))).is_err());
        let wire = MenuItem::click_without_id("yes").wire();
        assert_eq!(wire, json!({"type": "click", "click": {"content": "yes"}}));
        let wire = MenuItem::mini_program("wx1", "pages/i", "open").wire();
        assert_eq!(wire["miniprogram"]["pagepath"], "pages/i");
    }

    /// Each constructor puts its arguments in the wire fields they name.
    #[test]
    fn constructors_fill_the_fields_they_name() {
        let wire = |m: Outgoing| serde_json::to_value(SendMessage::new("wk", "wm", m)).unwrap();
        let link = wire(Outgoing::link("https://x/r", "T", "D", "THUMB"));
        assert_eq!(
            link["link"],
            json!({"url": "https://x/r", "title": "T", "desc": "D", "thumb_media_id": "THUMB"})
        );
        let app = wire(Outgoing::mini_program("wx1", "pages/i", "T", "THUMB"));
        assert_eq!(
            app["miniprogram"],
            json!({"appid": "wx1", "pagepath": "pages/i", "title": "T", "thumb_media_id": "THUMB"})
        );
        let place = wire(Outgoing::location(23.1, 113.3, "N", "A"));
        assert_eq!(
            place["location"],
            json!({"latitude": 23.1, "longitude": 113.3, "name": "N", "address": "A"})
        );
        for (message, kind) in [
            (Outgoing::voice("M"), "voice"),
            (Outgoing::video("M"), "video"),
            (Outgoing::file("M"), "file"),
        ] {
            assert_eq!(wire(message)[kind], json!({"media_id": "M"}), "{kind}");
        }
        assert_eq!(
            wire(Outgoing::business_card("u1"))["business_card"],
            json!({"userid": "u1"})
        );
        assert_eq!(
            wire(Outgoing::ca_link("https://c"))["ca_link"],
            json!({"link_url": "https://c"})
        );
    }
}
