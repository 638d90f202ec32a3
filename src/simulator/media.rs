//! The simulator's temporary media: `media/upload` (multipart, field `media`) and
//! `media/get`, with the documented limits (more than 5 bytes; image ≤ 10 MB, voice ≤ 2 MB,
//! video ≤ 10 MB, file ≤ 20 MB; errcodes 40004 bad type, 44001 empty, 40006/45001 too large,
//! 40007 unknown or expired media_id). A media_id lasts 3 days.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::wire::Refusal;
use crate::clock::unix_secs;
use crate::errcode;
use crate::media::{FILE_MAX_BYTES, IMAGE_MAX_BYTES, MIN_BYTES, VIDEO_MAX_BYTES, VOICE_MAX_BYTES};

/// How long a media_id can be used.
const LIFETIME: Duration = Duration::from_secs(3 * 86_400);

/// The `media` part of an upload, as the server decoded it.
#[derive(Debug, Clone)]
pub(crate) struct UploadedPart {
    pub(crate) filename: String,
    pub(crate) bytes: Bytes,
}

/// A stored media file.
#[derive(Debug)]
pub(crate) struct StoredMedia {
    pub(crate) filename: String,
    pub(crate) bytes: Bytes,
    uploaded: SystemTime,
}

#[derive(Debug, Default)]
pub(crate) struct Media {
    files: HashMap<String, StoredMedia>,
    next: u64,
}

impl Media {
    pub(crate) fn upload(
        &mut self,
        kind: Option<&str>,
        part: Option<&Result<UploadedPart, String>>,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        let max = match kind {
            Some("image") => IMAGE_MAX_BYTES,
            Some("voice") => VOICE_MAX_BYTES,
            Some("video") => VIDEO_MAX_BYTES,
            Some("file") => FILE_MAX_BYTES,
            _ => {
                return Err(Refusal::new(
                    errcode::INVALID_MEDIA_TYPE,
                    "invalid media type",
                ));
            }
        };
        let part = match part {
            Some(Ok(part)) => part,
            Some(Err(why)) => {
                return Err(Refusal::invalid(why));
            }
            None => return Err(Refusal::new(errcode::EMPTY_MEDIA, "empty media data")),
        };
        let n = part.bytes.len();
        if n <= MIN_BYTES {
            return Err(Refusal::new(errcode::EMPTY_MEDIA, "empty media data"));
        }
        if n > max {
            return Err(Refusal::new(
                errcode::MEDIA_TOO_LARGE,
                "media size out of limit",
            ));
        }
        self.next += 1;
        let media_id = format!("simmedia_{}_{:08}", kind.unwrap_or_default(), self.next);
        self.files.insert(
            media_id.clone(),
            StoredMedia {
                filename: part.filename.clone(),
                bytes: part.bytes.clone(),
                uploaded: now,
            },
        );
        let mut fields = Map::new();
        fields.insert("type".into(), Value::from(kind.unwrap_or_default()));
        fields.insert("media_id".into(), Value::from(media_id));
        fields.insert("created_at".into(), Value::from(unix_secs(now).to_string()));
        Ok(fields)
    }

    /// The file behind `media_id`, unless unknown or older than 3 days (40007).
    pub(crate) fn get(
        &self,
        media_id: Option<&str>,
        now: SystemTime,
    ) -> Result<&StoredMedia, Refusal> {
        media_id
            .and_then(|id| self.files.get(id))
            .filter(|m| {
                now.duration_since(m.uploaded)
                    .is_ok_and(|age| age < LIFETIME)
            })
            .ok_or_else(|| Refusal::code(errcode::INVALID_MEDIA_ID))
    }
}
