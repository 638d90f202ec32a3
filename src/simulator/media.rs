//! The simulator's temporary media: `media/upload` (multipart, field `media`) and
//! `media/get`, with the documented limits (more than 5 bytes; image ≤ 10 MB, voice ≤ 2 MB,
//! video ≤ 10 MB, file ≤ 20 MB; errcodes 40005 a bad `type` parameter, 44001 empty, 40006/45001 too large,
//! 40007 unknown or expired media_id). A media_id lasts 3 days.
//!
//! What is kept is bounded: a file is dropped once it is 3 days old (by the simulator's
//! clock), and the files together hold at most a configured number of bytes (their contents
//! and file names) and [`MAX_MEDIA_FILES`] files. An upload that would go beyond either drops
//! the oldest files first; their media_ids then answer 40007, as expired ones do. A file that
//! alone is larger than the whole bound is refused (45001).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::rules::codes;
use super::rules::{MEDIA_MIN_BYTES, media_max_bytes};
use super::wire::Refusal;
use crate::clock::unix_secs;

/// How long a media_id can be used.
const LIFETIME: Duration = Duration::from_secs(3 * 86_400);

/// The most uploaded files a simulator keeps at once; an upload beyond it drops the oldest.
pub const MAX_MEDIA_FILES: usize = 10_000;

/// The most bytes of uploaded media (contents and file names) a simulator keeps by default:
/// [`SimulatorBuilder::max_media_bytes`](super::SimulatorBuilder::max_media_bytes).
pub const DEFAULT_MAX_MEDIA_BYTES: usize = 128 * 1024 * 1024;

/// The uploaded media a simulator holds, from
/// [`Simulator::media_held`](super::Simulator::media_held).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MediaHeld {
    /// Files kept (uploaded less than 3 days ago, and not dropped for newer ones).
    pub files: usize,
    /// Their bytes: contents and file names, what counts against the bound.
    pub bytes: usize,
}

/// The `media` part of an upload, as the server decoded it.
#[derive(Clone)]
pub(crate) struct UploadedPart {
    pub(crate) filename: String,
    pub(crate) bytes: Bytes,
}

impl fmt::Debug for UploadedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadedPart")
            .field("filename_bytes", &self.filename.len())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A stored media file.
pub(crate) struct StoredMedia {
    pub(crate) filename: String,
    pub(crate) bytes: Bytes,
    uploaded: SystemTime,
}

impl StoredMedia {
    /// What the file counts against the bound.
    fn size(&self) -> usize {
        self.bytes.len().saturating_add(self.filename.len())
    }

    fn expired(&self, now: SystemTime) -> bool {
        now.duration_since(self.uploaded)
            .is_ok_and(|age| age >= LIFETIME)
    }
}

impl fmt::Debug for StoredMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredMedia")
            .field("filename_bytes", &self.filename.len())
            .field("bytes", &self.bytes.len())
            .field("uploaded", &self.uploaded)
            .finish()
    }
}

pub(crate) struct Media {
    files: HashMap<String, StoredMedia>,
    /// media_ids in upload order, oldest first: the order files are dropped in.
    order: VecDeque<String>,
    /// The sum of the kept files' sizes.
    held: usize,
    max_bytes: usize,
    next: u64,
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media")
            .field("files", &self.files.len())
            .field("bytes", &self.held)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl Media {
    /// An empty store keeping at most `max_bytes`.
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            files: HashMap::new(),
            order: VecDeque::new(),
            held: 0,
            max_bytes,
            next: 0,
        }
    }

    /// What is kept now (files 3 days old are dropped first).
    pub(crate) fn held(&mut self, now: SystemTime) -> MediaHeld {
        self.drop_expired(now);
        MediaHeld {
            files: self.files.len(),
            bytes: self.held,
        }
    }

    /// Drops the oldest file.
    fn drop_oldest(&mut self) {
        if let Some(id) = self.order.pop_front()
            && let Some(file) = self.files.remove(&id)
        {
            self.held = self.held.saturating_sub(file.size());
        }
    }

    /// Drops the files uploaded 3 days ago or more, oldest first (upload order is age order;
    /// a file dated after a clock set back stops the sweep, and is judged by `get` alone).
    fn drop_expired(&mut self, now: SystemTime) {
        while let Some(id) = self.order.front() {
            match self.files.get(id) {
                Some(file) if !file.expired(now) => break,
                _ => self.drop_oldest(),
            }
        }
    }

    pub(crate) fn upload(
        &mut self,
        kind: Option<&str>,
        part: Option<&Result<UploadedPart, String>>,
        now: SystemTime,
    ) -> Result<Map<String, Value>, Refusal> {
        // 40005 不合法的type参数 (doc 90313), not 40004 (a file that breaks the rules).
        let Some(max) = kind.and_then(media_max_bytes) else {
            return Err(Refusal::code(codes::INVALID_TYPE_PARAM));
        };
        let part = match part {
            Some(Ok(part)) => part,
            Some(Err(why)) => {
                return Err(Refusal::invalid(why));
            }
            None => return Err(Refusal::new(codes::EMPTY_MEDIA, "empty media data")),
        };
        let n = part.bytes.len();
        if n <= MEDIA_MIN_BYTES {
            return Err(Refusal::new(codes::EMPTY_MEDIA, "empty media data"));
        }
        if n > max {
            return Err(Refusal::new(
                codes::MEDIA_TOO_LARGE,
                "media size out of limit",
            ));
        }
        let file = StoredMedia {
            filename: part.filename.clone(),
            bytes: part.bytes.clone(),
            uploaded: now,
        };
        // The simulator's own bound, not WeCom's: a file that alone is larger than everything
        // it may keep is refused rather than kept past the bound.
        if file.size() > self.max_bytes {
            return Err(Refusal::new(
                codes::MEDIA_TOO_LARGE,
                "media size out of limit (the simulator's max_media_bytes)",
            ));
        }
        self.drop_expired(now);
        while !self.order.is_empty()
            && (self.files.len() >= MAX_MEDIA_FILES
                || self.held.saturating_add(file.size()) > self.max_bytes)
        {
            self.drop_oldest();
        }
        self.next += 1;
        let media_id = format!("simmedia_{}_{:08}", kind.unwrap_or_default(), self.next);
        self.held = self.held.saturating_add(file.size());
        self.order.push_back(media_id.clone());
        self.files.insert(media_id.clone(), file);
        let mut fields = Map::new();
        fields.insert("type".into(), Value::from(kind.unwrap_or_default()));
        fields.insert("media_id".into(), Value::from(media_id));
        fields.insert("created_at".into(), Value::from(unix_secs(now).to_string()));
        Ok(fields)
    }

    /// The file behind `media_id`, unless unknown, dropped or 3 days old (40007).
    pub(crate) fn get(
        &mut self,
        media_id: Option<&str>,
        now: SystemTime,
    ) -> Result<&StoredMedia, Refusal> {
        self.drop_expired(now);
        media_id
            .and_then(|id| self.files.get(id))
            .filter(|m| !m.expired(now))
            .ok_or_else(|| Refusal::code(codes::INVALID_MEDIA_ID))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, n: usize) -> Result<UploadedPart, String> {
        Ok(UploadedPart {
            filename: name.to_owned(),
            bytes: Bytes::from(vec![1u8; n]),
        })
    }

    fn upload(media: &mut Media, name: &str, n: usize, now: SystemTime) -> String {
        let fields = media
            .upload(Some("file"), Some(&part(name, n)), now)
            .unwrap();
        fields["media_id"].as_str().unwrap().to_owned()
    }

    #[test]
    fn at_most_max_media_files_are_kept_oldest_dropped_first() {
        let now = SystemTime::UNIX_EPOCH;
        let mut media = Media::new(usize::MAX);
        let first = upload(&mut media, "a", 6, now);
        let second = upload(&mut media, "a", 6, now);
        for _ in 2..MAX_MEDIA_FILES {
            upload(&mut media, "a", 6, now);
        }
        assert_eq!(media.held(now).files, MAX_MEDIA_FILES);
        upload(&mut media, "a", 6, now);
        let held = media.held(now);
        assert_eq!(
            (held.files, held.bytes),
            (MAX_MEDIA_FILES, MAX_MEDIA_FILES * 7)
        );
        assert_eq!(media.get(Some(&first), now).unwrap_err().code, 40007);
        assert!(media.get(Some(&second), now).is_ok());
    }

    #[test]
    fn files_go_at_three_days_each_by_its_own_age() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut media = Media::new(usize::MAX);
        let old = upload(&mut media, "old", 10, t0);
        let young = upload(&mut media, "young", 10, t0 + Duration::from_secs(86_400));
        let just_before = t0 + LIFETIME - Duration::from_secs(1);
        assert!(media.get(Some(&old), just_before).is_ok());
        assert_eq!(
            media.get(Some(&old), t0 + LIFETIME).unwrap_err().code,
            40007
        );
        let held = media.held(t0 + LIFETIME);
        assert_eq!((held.files, held.bytes), (1, 15));
        assert!(media.get(Some(&young), t0 + LIFETIME).is_ok());
    }

    #[test]
    fn debug_shows_sizes_not_contents() {
        let mut media = Media::new(1024);
        upload(&mut media, "secret-name.txt", 100, SystemTime::UNIX_EPOCH);
        let shown = format!("{media:?} {:?}", part("secret-name.txt", 100).unwrap());
        assert!(!shown.contains("secret-name"), "{shown}");
        assert!(shown.contains("files: 1"), "{shown}");
    }
}
