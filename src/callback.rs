//! Receiving WeCom callbacks (feature `callback`): verifying the callback URL, checking and
//! decrypting events, parsing them, and encrypting replies — WeCom's WXBizMsgCrypt scheme
//! ([doc](https://developer.work.weixin.qq.com/document/path/91144)).
//!
//! - Signature: SHA-1 of the sorted token, timestamp, nonce and ciphertext, compared in
//!   constant time.
//! - AES-256-CBC with the 43-character EncodingAESKey (base64 + `=`; IV = the key's first 16
//!   bytes), PKCS#7 padding to 32-byte blocks, plaintext = 16 random bytes ‖ 4-byte big-endian
//!   length ‖ message ‖ receive id (the corp id, checked).
//! - Bad input never panics and never decrypts: every failure is a [`CallbackError`].
//! - A service provider's command callbacks (指令回调: `suite_ticket`, `create_auth`, …) are
//!   decrypted and parsed by [`CallbackCrypto::decrypt_command`] into a [`CommandEvent`], and
//!   retried deliveries recognised by [`CommandDedupe`]: see [below](#command-callbacks).
//!
//! ```
//! use wecom_kf::callback::{CallbackCrypto, CallbackEvent};
//!
//! // The official WXBizMsgCrypt sample's settings and URL-verification request.
//! let crypto = CallbackCrypto::new(
//!     "QDG6eK",
//!     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
//!     "wx5823bf96d3bd56c7",
//! )?
//! .without_replay_window(); // the sample's timestamp is from 2014
//! let echo = crypto.verify_url(
//!     "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
//!     "1409659589",
//!     "263014780",
//!     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
//! )?;
//! assert_eq!(echo, "1616140317555161061"); // answer WeCom with exactly this
//! # Ok::<(), wecom_kf::callback::CallbackError>(())
//! ```
//!
//! # Command callbacks
//!
//! Command callbacks (指令回调) are what WeCom sends a service provider's suite — a third-party
//! app or a 代开发 template — about the suite itself rather than about a corp's data.
//!
//! They arrive at the suite's command-callback URL, signed and encrypted with the suite's own
//! Token and EncodingAESKey, with the **suite id** as the receive id. The answer is the plain
//! string `success`, within 1000 ms (`create_auth`, `change_auth`, `cancel_auth`,
//! `reset_permanent_code`), so the work happens after the answer.
//!
//! - [`CallbackCrypto::decrypt_command`] checks, decrypts, parses, and refuses a callback whose
//!   envelope or `SuiteId` names another suite, with [`CallbackError::WrongReceiver`] — the
//!   refusal any callback for another receiver gets, so it can be answered like every other
//!   refused callback.
//! - [`CommandEvent`] is the parsed callback; kinds this SDK does not type are kept whole in
//!   [`CommandEvent::Other`]. `Debug` hides suite tickets and auth codes.
//! - [`CommandDedupe`] tells a delivery WeCom retried from a new one, in this process;
//!   [`DeliveryLog`] is the same for a store the replicas share (`RedisDeliveryLog` with the
//!   `redis` feature; [`CommandEvent::delivery_key`] is the key for your own).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use quick_xml::events::Event;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::clock::{Clock, SystemClock};

mod command;
pub use command::{CommandDedupe, CommandEvent, DeliveryLog};
#[cfg(feature = "redis")]
pub use command::{DEFAULT_DELIVERY_PREFIX, RedisDeliveryLog};

/// Encrypted bodies larger than this are refused unread (a kf event is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// URL-verification `echostr`s longer than this are refused unread (WeCom's is a short
/// random number, encrypted: a few hundred bytes).
pub const MAX_ECHOSTR_BYTES: usize = 4 * 1024;
/// Callbacks whose timestamp is further than this from now are refused, unless set otherwise
/// with [`CallbackCrypto::replay_window`]. This bounds how long a captured callback can be
/// replayed; within the window a replay still passes (there is no nonce cache), which for
/// `kf_msg_or_event` costs at most one extra `sync_msg` (the event carries no message).
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(300);

/// PKCS#7 as WeCom applies it: to 32-byte blocks, not AES's 16.
const PAD_BLOCK: usize = 32;
const RANDOM_PREFIX: usize = 16;

/// Why a callback was refused. Nothing was decrypted or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The settings are unusable (an EncodingAESKey that is not 43 base64 characters, an
    /// empty or blank token or receive id).
    #[error("callback settings: {0}")]
    Config(&'static str),
    /// `msg_signature` does not match: not from WeCom, or tampered with.
    #[error("the callback's signature does not match")]
    BadSignature,
    /// The timestamp is not a number, or is further from now than the replay window.
    #[error("the callback's timestamp is missing, malformed or outside the replay window")]
    Stale,
    /// The body is over [`MAX_BODY_BYTES`], or the `echostr` over [`MAX_ECHOSTR_BYTES`].
    #[error("the callback's body or echostr is too large")]
    TooLarge,
    /// The XML envelope is malformed, has no `Encrypt` element or more than one, or declares
    /// a DOCTYPE; or a decrypted command callback lacks a field it must carry
    /// ([`CommandEvent::parse`]).
    #[error("the callback's XML is malformed: {0}")]
    Xml(&'static str),
    /// The ciphertext is not valid base64, or not a whole number of AES blocks.
    #[error("the callback's ciphertext is not valid base64 of whole AES blocks")]
    BadCiphertext,
    /// The padding after decryption is wrong.
    #[error("the callback's padding is invalid")]
    BadPadding,
    /// The length field does not fit the plaintext, or the message is not UTF-8.
    #[error("the callback's message length or encoding is invalid")]
    BadLength,
    /// The receive id is not this corp's (for a suite's command callback: not this suite's,
    /// in the envelope or in `SuiteId`).
    #[error("the callback is addressed to another receiver")]
    WrongReceiver,
}

/// An encrypted, signed message: what goes in `<Encrypt>` and in `msg_signature`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sealed {
    /// The base64 ciphertext.
    pub encrypt: String,
    /// Its signature.
    pub msg_signature: String,
}

/// Checks, decrypts and encrypts one app's callbacks. Cheap to clone. `Debug` hides the token
/// and key.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: Arc<str>,
    key: [u8; 32],
    receive_id: Arc<str>,
    replay_window: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("token", &"***")
            .field("key", &"***")
            .field("receive_id", &self.receive_id)
            .field("replay_window", &self.replay_window)
            .finish()
    }
}

/// Base64 as WeCom writes it: the EncodingAESKey's last character carries bits beyond the 32
/// bytes, which a strict decoder refuses.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

impl CallbackCrypto {
    /// The app's callback settings: its Token, its 43-character EncodingAESKey, and the
    /// receive id (the corp id for a corp's own app). A token or receive id that is empty or
    /// only white space is refused ([`CallbackError::Config`]): with it, anyone could sign, or
    /// any receiver's message would be taken.
    pub fn new(
        token: impl Into<String>,
        encoding_aes_key: &str,
        receive_id: impl Into<String>,
    ) -> Result<Self, CallbackError> {
        let token = token.into();
        if token.trim().is_empty() {
            return Err(CallbackError::Config("the token is empty"));
        }
        let receive_id = receive_id.into();
        if receive_id.trim().is_empty() {
            return Err(CallbackError::Config("the receive id is empty"));
        }
        if encoding_aes_key.len() != 43 {
            return Err(CallbackError::Config(
                "the EncodingAESKey must be 43 characters",
            ));
        }
        let decoded = LENIENT
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CallbackError::Config("the EncodingAESKey is not base64"))?;
        let key: [u8; 32] = decoded
            .try_into()
            .map_err(|_| CallbackError::Config("the EncodingAESKey must decode to 32 bytes"))?;
        Ok(Self {
            token: token.into(),
            key,
            receive_id: receive_id.into(),
            replay_window: Some(DEFAULT_REPLAY_WINDOW),
            clock: Arc::new(SystemClock),
        })
    }

    /// Refuse callbacks whose timestamp is further than `window` from now (default 5 minutes).
    #[must_use]
    pub fn replay_window(mut self, window: Duration) -> Self {
        self.replay_window = Some(window);
        self
    }

    /// Accept any timestamp (for replaying recorded traffic in tests).
    #[must_use]
    pub fn without_replay_window(mut self) -> Self {
        self.replay_window = None;
        self
    }

    /// The clock the replay window is measured by (default: the system's).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// URL verification (`GET ?msg_signature&timestamp&nonce&echostr`, parameters already
    /// URL-decoded): the plaintext to answer with, exactly, within 1 second. An `echostr` over
    /// [`MAX_ECHOSTR_BYTES`] is refused unread.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, CallbackError> {
        if echostr.len() > MAX_ECHOSTR_BYTES {
            return Err(CallbackError::TooLarge);
        }
        self.check(msg_signature, timestamp, nonce, echostr)?;
        self.open(echostr)
    }

    /// An event (`POST ?msg_signature&timestamp&nonce` with an XML body holding `<Encrypt>`):
    /// the decrypted XML. Parse it with [`CallbackEvent::parse`].
    pub fn decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
    ) -> Result<String, CallbackError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(CallbackError::TooLarge);
        }
        let encrypted = encrypt_element(body)?;
        self.check(msg_signature, timestamp, nonce, &encrypted)?;
        self.open(&encrypted)
    }

    /// Encrypts a passive reply into WeCom's envelope
    /// (`<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`).
    pub fn encrypt(
        &self,
        message: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CallbackError> {
        let Sealed {
            encrypt,
            msg_signature,
        } = self.seal(message, timestamp, nonce)?;
        // The caller's timestamp and nonce are escaped: they must not change the envelope.
        Ok(format!(
            "<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{msg_signature}]]></MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
            quick_xml::escape::escape(timestamp),
            quick_xml::escape::escape(nonce),
        ))
    }

    /// Encrypts `message` and signs it, as WeCom does before delivering a callback: the
    /// `Encrypt` text and the `msg_signature` (the simulator uses this to call bots).
    pub fn seal(
        &self,
        message: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<Sealed, CallbackError> {
        let mut random = [0u8; RANDOM_PREFIX];
        getrandom::fill(&mut random).map_err(|_| CallbackError::Config("no randomness"))?;
        let encrypt = self.encrypt_framed(message, random)?;
        let msg_signature = self.signature(timestamp, nonce, &encrypt);
        Ok(Sealed {
            encrypt,
            msg_signature,
        })
    }

    fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        let mut parts = [&*self.token, timestamp, nonce, encrypted];
        parts.sort_unstable();
        let digest = Sha1::digest(parts.concat().as_bytes());
        crate::hex::hex(&digest)
    }

    /// The signature, then the timestamp: nothing is decrypted before both pass.
    fn check(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<(), CallbackError> {
        let expected = self.signature(timestamp, nonce, encrypted);
        let given = msg_signature.to_ascii_lowercase();
        let same = expected.len() == given.len()
            && bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
        if !same {
            return Err(CallbackError::BadSignature);
        }
        if let Some(window) = self.replay_window {
            let sent: u64 = timestamp.parse().map_err(|_| CallbackError::Stale)?;
            let now = crate::clock::unix_secs(self.clock.now());
            if now.abs_diff(sent) > window.as_secs() {
                return Err(CallbackError::Stale);
            }
        }
        Ok(())
    }

    fn open(&self, encrypted: &str) -> Result<String, CallbackError> {
        let mut buf = LENIENT
            .decode(encrypted.trim())
            .map_err(|_| CallbackError::BadCiphertext)?;
        if buf.is_empty() || buf.len() % PAD_BLOCK != 0 {
            return Err(CallbackError::BadCiphertext);
        }
        let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(&self.key, &self.key[..16])
            .map_err(|_| CallbackError::Config("bad key length"))?;
        let plain = decryptor
            .decrypt_padded::<NoPadding>(&mut buf)
            .map_err(|_| CallbackError::BadCiphertext)?;
        let pad = usize::from(*plain.last().ok_or(CallbackError::BadPadding)?);
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CallbackError::BadPadding);
        }
        let (body, padding) = plain.split_at(plain.len() - pad);
        if padding.iter().any(|&b| usize::from(b) != pad) {
            return Err(CallbackError::BadPadding);
        }
        let framed = body.get(RANDOM_PREFIX..).ok_or(CallbackError::BadLength)?;
        let (length, rest) = framed.split_at_checked(4).ok_or(CallbackError::BadLength)?;
        let length: [u8; 4] = length.try_into().map_err(|_| CallbackError::BadLength)?;
        let n =
            usize::try_from(u32::from_be_bytes(length)).map_err(|_| CallbackError::BadLength)?;
        let (message, receive_id) = rest.split_at_checked(n).ok_or(CallbackError::BadLength)?;
        if receive_id != self.receive_id.as_bytes() {
            return Err(CallbackError::WrongReceiver);
        }
        String::from_utf8(message.to_vec()).map_err(|_| CallbackError::BadLength)
    }

    fn encrypt_framed(
        &self,
        message: &str,
        random: [u8; RANDOM_PREFIX],
    ) -> Result<String, CallbackError> {
        let length = u32::try_from(message.len()).map_err(|_| CallbackError::TooLarge)?;
        let mut plain = Vec::with_capacity(message.len() + 64);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&length.to_be_bytes());
        plain.extend_from_slice(message.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        let pad_byte = u8::try_from(pad).map_err(|_| CallbackError::BadPadding)?;
        plain.extend(std::iter::repeat_n(pad_byte, pad));
        let n = plain.len();
        let encryptor = cbc::Encryptor::<aes::Aes256>::new_from_slices(&self.key, &self.key[..16])
            .map_err(|_| CallbackError::Config("bad key length"))?;
        let sealed = encryptor
            .encrypt_padded::<NoPadding>(&mut plain, n)
            .map_err(|_| CallbackError::BadPadding)?;
        Ok(LENIENT.encode(sealed))
    }
}

/// The text of the one `<Encrypt>` element of a callback body.
fn encrypt_element(body: &[u8]) -> Result<String, CallbackError> {
    let fields = top_level_fields(body)?;
    let mut encrypted = fields.into_iter().filter(|(name, _)| name == "Encrypt");
    match (encrypted.next(), encrypted.next()) {
        (Some((_, value)), None) if !value.is_empty() => Ok(value),
        (None, _) | (Some(_), None) => Err(CallbackError::Xml("no Encrypt element")),
        (Some(_), Some(_)) => Err(CallbackError::Xml("more than one Encrypt element")),
    }
}

/// The children of the root element, in order: name and text (CDATA or not). Refuses a
/// DOCTYPE (no entities, no XXE) and malformed XML.
fn top_level_fields(xml: &[u8]) -> Result<Vec<(String, String)>, CallbackError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut fields = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<(String, String)> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Err(_) => return Err(CallbackError::Xml("not well-formed")),
            Ok(Event::Eof) => break,
            Ok(Event::DocType(_)) => return Err(CallbackError::Xml("a DOCTYPE is not allowed")),
            Ok(Event::Start(start)) => {
                depth += 1;
                if depth == 2 {
                    let name = start.name().0.to_owned();
                    current = Some((name, String::new()));
                }
            }
            Ok(Event::Empty(empty)) if depth == 1 => {
                fields.push((empty.name().0.to_owned(), String::new()));
            }
            Ok(Event::End(_)) => {
                if depth == 2 {
                    fields.extend(current.take());
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Text(text)) if depth == 2 => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&text.xml10_content());
                }
            }
            Ok(Event::CData(cdata)) if depth == 2 => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&cdata);
                }
            }
            // `&amp;` and the like, and `&#…;`: the predefined ones only (no DOCTYPE, so no
            // others can be declared).
            Ok(Event::GeneralRef(reference)) if depth == 2 => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*reference {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        _ => return Err(CallbackError::Xml("an unknown entity")),
                    },
                    Err(_) => return Err(CallbackError::Xml("a bad character reference")),
                };
                if let Some((_, value)) = current.as_mut() {
                    value.push(resolved);
                }
            }
            Ok(_) => {}
        }
        buf.clear();
    }
    if depth != 0 {
        return Err(CallbackError::Xml("not well-formed"));
    }
    Ok(fields)
}

/// A decrypted callback, parsed. Events this SDK does not know are kept as raw XML, never an
/// error. `Debug` hides the `sync_msg` token, and in raw XML the text of token-, code- and
/// ticket-like elements (`Token`, `AuthCode`, `SuiteTicket`, …).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackEvent {
    /// New messages or events for an account: pull them with `kf/sync_msg`, passing `token`
    /// (valid 10 minutes) and `open_kfid`.
    KfMsgOrEvent {
        /// The corp id (`ToUserName`).
        corp_id: String,
        /// When WeCom sent it (unix seconds).
        create_time: u64,
        /// The token for `sync_msg`.
        token: String,
        /// The account with news (absent in older payloads).
        open_kfid: Option<String>,
    },
    /// Anything else.
    Other {
        /// `MsgType`.
        msg_type: String,
        /// `Event`, for an event.
        event: Option<String>,
        /// The decrypted XML, whole.
        xml: String,
    },
}

impl fmt::Debug for CallbackEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KfMsgOrEvent {
                corp_id,
                create_time,
                token,
                open_kfid,
            } => f
                .debug_struct("KfMsgOrEvent")
                .field("corp_id", corp_id)
                .field("create_time", create_time)
                .field("token", &Hidden(token))
                .field("open_kfid", open_kfid)
                .finish(),
            Self::Other {
                msg_type,
                event,
                xml,
            } => {
                let shown = redacted_xml(xml)
                    .unwrap_or_else(|| format!("<{} bytes, not shown>", xml.len()));
                f.debug_struct("Other")
                    .field("msg_type", msg_type)
                    .field("event", event)
                    .field("xml", &shown)
                    .finish()
            }
        }
    }
}

/// A token as `Debug` shows it: `***`, or `""` when there is none.
struct Hidden<'a>(&'a str);

impl fmt::Debug for Hidden<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "***" })
    }
}

/// `xml` with the text of every element [`is_secret_name`](crate::kf::message::is_secret_name)
/// picks replaced by `***`; `None` if it is not well-formed (then nothing of it is shown).
fn redacted_xml(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    // For each open element: whether its text is hidden.
    let mut open: Vec<bool> = Vec::new();
    let mut out = String::with_capacity(xml.len());
    let mut copied = 0usize;
    loop {
        let start = usize::try_from(reader.buffer_position()).ok()?;
        let event = reader.read_event().ok()?;
        let end = usize::try_from(reader.buffer_position()).ok()?;
        match event {
            Event::Eof => break,
            Event::Start(element) => {
                open.push(crate::kf::message::is_secret_name(element.name().0));
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)
                if open.last() == Some(&true) =>
            {
                // Text broken by a reference (`a&amp;b`) is one value: one `***`.
                if copied != start || !out.ends_with("***") {
                    out.push_str(xml.get(copied..start)?);
                    out.push_str("***");
                }
                copied = end;
            }
            _ => {}
        }
    }
    out.push_str(xml.get(copied..)?);
    Some(out)
}

impl CallbackEvent {
    /// Parses decrypted callback XML.
    pub fn parse(xml: &str) -> Result<Self, CallbackError> {
        let fields = top_level_fields(xml.as_bytes())?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let msg_type = field("MsgType").unwrap_or_default();
        let event = field("Event");
        if msg_type == "event" && event.as_deref() == Some("kf_msg_or_event") {
            return Ok(Self::KfMsgOrEvent {
                corp_id: field("ToUserName").unwrap_or_default(),
                create_time: field("CreateTime")
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or_default(),
                token: field("Token").unwrap_or_default(),
                open_kfid: field("OpenKfId").filter(|v| !v.is_empty()),
            });
        }
        Ok(Self::Other {
            msg_type,
            event,
            xml: xml.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sample() -> CallbackCrypto {
        CallbackCrypto::new(
            "QDG6eK",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "wx5823bf96d3bd56c7",
        )
        .unwrap()
        .without_replay_window()
    }

    #[test]
    fn debug_of_raw_xml_hides_secret_elements_only() {
        let xml = "<xml><SuiteTicket><![CDATA[T1]]></SuiteTicket><AuthCode>a&amp;b</AuthCode>\
                   <Token/><InfoType>create_auth</InfoType><Nested><MsgCode>C1</MsgCode></Nested></xml>";
        assert_eq!(
            redacted_xml(xml).as_deref(),
            Some(
                "<xml><SuiteTicket>***</SuiteTicket><AuthCode>***</AuthCode>\
                 <Token/><InfoType>create_auth</InfoType><Nested><MsgCode>***</MsgCode></Nested></xml>"
            )
        );
        assert_eq!(redacted_xml("<xml><Token>T1</Tok></xml>"), None);
    }

    #[test]
    fn a_fixed_random_prefix_seals_what_opens() {
        let crypto = sample();
        let sealed = crypto.encrypt_framed("<xml>hi</xml>", [7; 16]).unwrap();
        assert_eq!(crypto.open(&sealed).unwrap(), "<xml>hi</xml>");
        // Padding fills to whole 32-byte blocks: 16 + 4 + 1 + 18 = 39 bytes become 64 (16-byte
        // blocks would give 48).
        let short = crypto.encrypt_framed("x", [7; 16]).unwrap();
        assert_eq!(LENIENT.decode(&short).unwrap().len(), 64);
        assert_eq!(crypto.open(&short).unwrap(), "x");
    }
}
