//! Temporary media (临时素材): `media/upload` and `media/get`. Every non-text message and an
//! account's avatar need a `media_id`; it is valid for 3 days and shared by the corp's apps.
//!
//! The upload is encoded (reqwest's multipart encoder) into bytes before it is sent, so that
//! the retry and token layers can send it again; it is in memory anyway, within the limits.
//! Neither call is JSON both ways, so they send through their own paths rather than
//! `Client::execute`, but take request types like every other endpoint.
//!
//! ```no_run
//! use wecom_kf::media::{DownloadMedia, UploadMedia};
//!
//! # async fn demo(client: wecom_kf::Client, png: Vec<u8>) -> Result<(), wecom_kf::Error> {
//! let uploaded = client.media().upload(UploadMedia::image("avatar.png", png)).await?;
//! let file = client.media().download(DownloadMedia::new(&uploaded.media_id)).await?;
//! println!("{:?}: {} bytes", file.filename, file.bytes.len());
//! # Ok(()) }
//! ```

use crate::spec;
use bytes::Bytes;
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::{Client, validate};

/// A file must be more than this many bytes.
pub const MIN_BYTES: usize = 5;
/// Images: up to 10 MB, JPG or PNG.
pub const IMAGE_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Voice: up to 2 MB, AMR.
pub const VOICE_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Video: up to 10 MB, MP4.
pub const VIDEO_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Other files: up to 20 MB.
pub const FILE_MAX_BYTES: usize = 20 * 1024 * 1024;

// Here rather than in `client`, so that the client does not depend on its handles.
impl Client {
    /// Temporary media (临时素材): upload an image, voice, video or file for a `media_id`, and
    /// download one.
    pub fn media(&self) -> MediaApi<'_> {
        MediaApi::new(self)
    }
}

/// The media API. Obtained with `client.media()`.
#[derive(Debug, Clone, Copy)]
pub struct MediaApi<'a> {
    client: &'a Client,
}

impl<'a> MediaApi<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Uploads a temporary media file
    /// ([doc](https://developer.work.weixin.qq.com/document/path/90253)); the size and type
    /// limits are checked before anything is sent.
    ///
    /// **Not idempotent**: never replayed once it may have reached WeCom (a second upload would make a second
    /// media_id; harmless, as it expires in 3 days, but the SDK keeps the rule): a lost answer
    /// is [`Error::OutcomeUnknown`].
    pub async fn upload(self, upload: UploadMedia) -> Result<UploadMediaResponse> {
        upload.validate()?;
        let kind = upload.kind.as_str();
        // As a body over the same bytes (no copy); the form is gathered into one buffer below.
        let length = upload.bytes.len() as u64;
        let mut part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::from(upload.bytes), length)
                .file_name(upload.filename);
        if let Some(content_type) = &upload.content_type {
            part = part
                .mime_str(content_type)
                .map_err(|_| Error::invalid("content_type", "is not a valid MIME type"))?;
        }
        let form = reqwest::multipart::Form::new().part("media", part);
        let content_type = format!("multipart/form-data; boundary={}", form.boundary());
        let chunks: Vec<Bytes> = form
            .into_stream()
            .try_collect()
            .await
            .map_err(|e| Error::invalid("media", format!("cannot be encoded: {e}")))?;
        let body = Bytes::from(chunks.concat());
        self.client
            .send_bytes(&spec::MEDIA_UPLOAD, &[("type", kind)], &content_type, body)
            .await
    }

    /// Downloads a media file ([doc](https://developer.work.weixin.qq.com/document/path/90254)),
    /// e.g. an image a customer sent. Files over 20 MB need ranged downloads, which this call
    /// does not make.
    ///
    /// **Read** (a GET): retried after transient failures.
    pub async fn download(self, request: DownloadMedia) -> Result<DownloadMediaResponse> {
        request.validate()?;
        let answer = self
            .client
            .get_raw(&spec::MEDIA_GET, &[("media_id", &request.media_id)])
            .await?;
        // Lossy: a file name may arrive as raw UTF-8, which `to_str` refuses.
        let header = |name: http::HeaderName| {
            answer
                .headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let filename = header(http::header::CONTENT_DISPOSITION)
            .as_deref()
            .and_then(disposition_filename);
        Ok(DownloadMediaResponse {
            content_type: header(http::header::CONTENT_TYPE),
            filename,
            bytes: answer.body,
        })
    }
}

/// The file name in a `Content-Disposition` header: `filename*=UTF-8''…` (RFC 6266,
/// percent-decoded) when present, else `filename=` as a quoted string (with `\` escapes) or a
/// bare token.
fn disposition_filename(disposition: &str) -> Option<String> {
    let params = disposition_params(disposition);
    let extended = params.iter().find_map(|(name, value)| {
        let (charset, rest) = value.split_once('\'')?;
        let (_language, encoded) = rest.split_once('\'')?;
        (name == "filename*" && charset.eq_ignore_ascii_case("utf-8")).then(|| {
            percent_encoding::percent_decode_str(encoded)
                .decode_utf8_lossy()
                .into_owned()
        })
    });
    extended.or_else(|| {
        params
            .into_iter()
            .find_map(|(name, value)| (name == "filename").then_some(value))
    })
}

/// The `name=value` parameters after the disposition type, names lowercased, quoted values
/// unquoted; a `;` inside quotes belongs to the value.
fn disposition_params(header: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = header.chars().peekable();
    // Skip the type ("attachment").
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let name: String = chars
            .by_ref()
            .take_while(|&c| c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if name.is_empty() {
            return params;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            // Up to the next parameter.
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            value = chars.by_ref().take_while(|&c| c != ';').collect();
            value = value.trim().to_owned();
        }
        params.push((name, value));
    }
}

/// The kinds of temporary media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaKind {
    /// JPG or PNG, up to 10 MB.
    Image,
    /// AMR, up to 2 MB and 60 seconds.
    Voice,
    /// MP4, up to 10 MB.
    Video,
    /// Anything, up to 20 MB.
    File,
}

impl MediaKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::File => "file",
        }
    }

    fn max_bytes(self) -> usize {
        match self {
            Self::Image => IMAGE_MAX_BYTES,
            Self::Voice => VOICE_MAX_BYTES,
            Self::Video => VIDEO_MAX_BYTES,
            Self::File => FILE_MAX_BYTES,
        }
    }
}

/// `media/upload` request: a file's kind, its name (shown to the recipient of a file message)
/// and its bytes. `Debug` shows their size, not the bytes.
#[derive(Clone)]
pub struct UploadMedia {
    kind: MediaKind,
    filename: String,
    content_type: Option<String>,
    bytes: Bytes,
}

impl std::fmt::Debug for UploadMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadMedia")
            .field("kind", &self.kind)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

impl UploadMedia {
    /// A file of `kind`.
    pub fn new(kind: MediaKind, filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self {
            kind,
            filename: filename.into(),
            content_type: None,
            bytes: bytes.into(),
        }
    }

    /// An image (JPG or PNG, up to 10 MB).
    pub fn image(filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self::new(MediaKind::Image, filename, bytes)
    }

    /// A voice message (AMR, up to 2 MB).
    pub fn voice(filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self::new(MediaKind::Voice, filename, bytes)
    }

    /// A video (MP4, up to 10 MB).
    pub fn video(filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self::new(MediaKind::Video, filename, bytes)
    }

    /// Any file (up to 20 MB).
    pub fn file(filename: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self::new(MediaKind::File, filename, bytes)
    }

    /// The part's content type (e.g. `image/png`).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    fn validate(&self) -> Result<()> {
        validate::bytes("filename", &self.filename, 1, 256)?;
        // A line break would end the multipart header it travels in.
        if self.filename.chars().any(char::is_control) {
            return Err(Error::invalid(
                "filename",
                "must not hold control characters",
            ));
        }
        let n = self.bytes.len();
        let max = self.kind.max_bytes();
        if n <= MIN_BYTES || n > max {
            return Err(Error::invalid(
                "media",
                format!(
                    "a {} must be more than {MIN_BYTES} bytes and at most {max} bytes, got {n}",
                    self.kind.as_str()
                ),
            ));
        }
        // No rule on the name's extension: the name is only what the recipient sees ("filename
        // 标识文件展示的名称", doc 90253); the formats (JPG/PNG, AMR, MP4) are of the content,
        // which WeCom itself checks (40004).
        Ok(())
    }
}

/// `media/upload` response.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct UploadMediaResponse {
    /// The media's kind, as WeCom names it.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The id to use in messages (valid 3 days).
    pub media_id: String,
    /// When it was uploaded (unix seconds, as WeCom sends them: a string; a number is taken
    /// too, so that a change of type can never lose the `media_id` of an upload that happened).
    #[serde(default, deserialize_with = "string_or_number")]
    pub created_at: String,
}

/// A string, or a number written as one.
fn string_or_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::Text(text) => text,
        Either::Number(number) => number.to_string(),
    })
}

/// `media/get` request (a GET).
#[derive(Debug, Clone)]
pub struct DownloadMedia {
    media_id: String,
}

impl DownloadMedia {
    /// The file `media_id` (e.g. of an image a customer sent).
    pub fn new(media_id: impl Into<String>) -> Self {
        Self {
            media_id: media_id.into(),
        }
    }

    fn validate(&self) -> Result<()> {
        validate::bytes("media_id", &self.media_id, 1, 256)
    }
}

/// `media/get` response: the file. `Debug` shows its size, not its bytes.
#[derive(Clone)]
#[non_exhaustive]
pub struct DownloadMediaResponse {
    /// Its content type.
    pub content_type: Option<String>,
    /// Its name, from `Content-Disposition`, as the sender chose it: it may hold path
    /// separators or `..`, so never use it as a path unchecked.
    pub filename: Option<String>,
    /// The file.
    pub bytes: Bytes,
}

impl std::fmt::Debug for DownloadMediaResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadMediaResponse")
            .field("content_type", &self.content_type)
            .field("filename", &self.filename)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `created_at` is a string in the doc's example; a number must not fail the decode of an
    /// upload that happened (it is not idempotent: its media_id would be lost).
    #[test]
    fn created_at_may_be_a_string_or_a_number() {
        for body in [
            r#"{"type":"image","media_id":"m","created_at":"1380000000"}"#,
            r#"{"type":"image","media_id":"m","created_at":1380000000}"#,
        ] {
            let uploaded: UploadMediaResponse = serde_json::from_str(body).unwrap();
            assert_eq!(uploaded.created_at, "1380000000", "{body}");
        }
    }

    /// A file in `Debug` is its size: a log line must not carry megabytes.
    #[test]
    fn debug_shows_sizes_not_bytes() {
        let upload = UploadMedia::file("a.bin", vec![b'Z'; 4096]);
        let download = DownloadMediaResponse {
            content_type: None,
            filename: None,
            bytes: Bytes::from(vec![b'Z'; 4096]),
        };
        for debug in [format!("{upload:?}"), format!("{download:?}")] {
            assert!(
                debug.contains("4096 bytes") && !debug.contains("ZZ"),
                "{debug}"
            );
        }
    }

    #[test]
    fn the_filename_comes_from_the_disposition_as_rfc_6266_writes_it() {
        let name = |h: &str| disposition_filename(h);
        assert_eq!(
            name(r#"attachment; filename="a b.png""#).as_deref(),
            Some("a b.png")
        );
        assert_eq!(name("inline"), None);
        assert_eq!(name("").as_deref(), None);
        assert_eq!(name("attachment; filename=a.png").as_deref(), Some("a.png"));
        assert_eq!(
            name(r#"attachment; filename="a;b.txt""#).as_deref(),
            Some("a;b.txt")
        );
        assert_eq!(
            name(r#"attachment; filename="say \"hi\" \\ there.txt""#).as_deref(),
            Some(r#"say "hi" \ there.txt"#)
        );
        assert_eq!(
            name(r#"attachment; filename="fallback.png"; filename*=UTF-8''%E5%A4%B4%E5%83%8F.png"#)
                .as_deref(),
            Some("头像.png"),
            "filename* wins"
        );
        assert_eq!(
            name(r#"attachment; FileName="头像.png""#).as_deref(),
            Some("头像.png")
        );
        assert_eq!(
            name(r#"attachment; filename="unterminated"#).as_deref(),
            Some("unterminated")
        );
    }

    #[test]
    fn limits_are_checked_per_kind() {
        let field = |u: UploadMedia| match u.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(UploadMedia::image("a.png", vec![0u8; 5])), "media");
        assert_eq!(
            field(UploadMedia::voice("a.amr", vec![0u8; VOICE_MAX_BYTES + 1])),
            "media"
        );
        assert_eq!(field(UploadMedia::file("", vec![0u8; 6])), "filename");
        assert_eq!(
            field(UploadMedia::file("a\r\nb.txt", vec![0u8; 6])),
            "filename"
        );
        assert!(UploadMedia::image("A.JPG", vec![0u8; 6]).validate().is_ok());
        // The name is only what the recipient sees: no rule on its extension (doc 90253).
        for shown in ["avatar", "x.jpe", "photo.jfif", "a.gif"] {
            assert!(
                UploadMedia::image(shown, vec![0u8; 6]).validate().is_ok(),
                "{shown}"
            );
        }
        assert!(UploadMedia::video("clip", vec![0u8; 6]).validate().is_ok());
        assert!(
            UploadMedia::file("notes", vec![0u8; FILE_MAX_BYTES])
                .validate()
                .is_ok()
        );
    }
}
