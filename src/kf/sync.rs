//! Pulling every new message after a callback: a stream over `kf/sync_msg` pages that keeps its
//! cursor in a [`CursorStore`] (in memory, in files, or in Redis with the `redis` feature),
//! saved after each page is consumed, so that a restart resumes where the last finished page
//! ended.
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use wecom_kf::kf::sync::FileCursorStore;
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

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures_util::Stream;

use super::message::{Message, MessageApi, SyncMessages};
#[cfg(feature = "redis")]
pub use super::redis_cursor::{DEFAULT_CURSOR_PREFIX, RedisCursorStore};
use crate::error::{Error, Result};

/// Where the `sync_msg` cursor of each account is kept between runs.
#[async_trait]
pub trait CursorStore: Send + Sync {
    /// The cursor saved for `open_kfid`, if any.
    async fn load(&self, open_kfid: &str) -> Result<Option<String>>;
    /// Saves `cursor` for `open_kfid`.
    async fn save(&self, open_kfid: &str, cursor: &str) -> Result<()>;
}

/// Cursors in memory: lost when the process ends (tests, short-lived tools).
#[derive(Debug, Default)]
pub struct MemoryCursorStore {
    cursors: Mutex<HashMap<String, String>>,
}

impl MemoryCursorStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CursorStore for MemoryCursorStore {
    async fn load(&self, open_kfid: &str) -> Result<Option<String>> {
        let cursors = self
            .cursors
            .lock()
            .map_err(|_| Error::Storage("cursor store poisoned".into()))?;
        Ok(cursors.get(open_kfid).cloned())
    }

    async fn save(&self, open_kfid: &str, cursor: &str) -> Result<()> {
        self.cursors
            .lock()
            .map_err(|_| Error::Storage("cursor store poisoned".into()))?
            .insert(open_kfid.to_owned(), cursor.to_owned());
        Ok(())
    }
}

/// Cursors in files, one per account in a directory, each written whole (to a temporary file,
/// flushed to disk, then renamed) so that a crash or a power loss leaves the old cursor or the
/// new one, never half of one.
#[derive(Debug, Clone)]
pub struct FileCursorStore {
    dir: PathBuf,
}

impl FileCursorStore {
    /// Keeps cursors in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Self { dir })
    }

    /// One file per account; the id is hex-encoded so that any id makes a safe file name.
    fn path(&self, open_kfid: &str) -> PathBuf {
        let name = crate::hex::hex(open_kfid.as_bytes());
        self.dir.join(format!("{name}.cursor"))
    }
}

#[async_trait]
impl CursorStore for FileCursorStore {
    async fn load(&self, open_kfid: &str) -> Result<Option<String>> {
        match tokio::fs::read_to_string(self.path(open_kfid)).await {
            Ok(cursor) => Ok(Some(cursor)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Storage(format!("cannot read a cursor: {e}"))),
        }
    }

    async fn save(&self, open_kfid: &str, cursor: &str) -> Result<()> {
        let path = self.path(open_kfid);
        let dir = self.dir.clone();
        let cursor = cursor.to_owned();
        tokio::task::spawn_blocking(move || write_durably(&dir, &path, cursor.as_bytes()))
            .await
            .map_err(|e| Error::Storage(format!("cannot save a cursor: {e}")))?
            .map_err(|e| Error::Storage(format!("cannot save a cursor: {e}")))
    }
}

/// Writes `bytes` to a temporary file of its own, flushes it to disk, renames it over `path`
/// and flushes the directory, so that after a crash or a power loss `path` holds the old
/// bytes or the new ones, whole.
fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let temporary = path.with_extension(format!(
        "{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    // The rename lasts once the directory is on disk. (Not every platform can open a
    // directory to flush it; there the rename is as durable as the platform makes it.)
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Where the stream stands.
struct Pull<'a> {
    api: MessageApi<'a>,
    open_kfid: String,
    token: Option<String>,
    store: &'a dyn CursorStore,
    /// `None` until loaded from the store.
    cursor: Option<Option<String>>,
    /// The page being handed out.
    queue: VecDeque<Message>,
    /// The page's `next_cursor`, saved once the caller has asked past its last message.
    unsaved: Option<String>,
    more: bool,
    done: bool,
}

impl MessageApi<'_> {
    /// Every message after the saved cursor of `open_kfid`, page by page until `has_more` is
    /// 0, pass `token` from the `kf_msg_or_event` callback. The cursor is saved in `store` after
    /// the caller has taken each page's last message, so a restart resumes after the last
    /// finished page (a page interrupted midway comes again: deduplicate by `msgid`).
    ///
    /// A page without a new `next_cursor` (empty, or the one sent) ends the stream and keeps
    /// the saved cursor, so the next pull neither starts over nor loops on one page.
    ///
    /// An error ends the stream; the cursor stays at the last finished page. 95007
    /// ([`Error::is_sync_token_expired`]) means the token is past its 10 minutes: pull again
    /// without it, or wait for the next callback.
    pub fn sync_stream<'a>(
        self,
        open_kfid: &str,
        token: Option<&str>,
        store: &'a dyn CursorStore,
    ) -> impl Stream<Item = Result<Message>> + 'a
    where
        Self: 'a,
    {
        let pull = Pull {
            api: self,
            open_kfid: open_kfid.to_owned(),
            token: token.map(str::to_owned),
            store,
            cursor: None,
            queue: VecDeque::new(),
            unsaved: None,
            more: true,
            done: false,
        };
        futures_util::stream::unfold(pull, |mut pull| async move {
            let next = pull.next().await;
            next.map(|item| (item, pull))
        })
    }
}

impl Pull<'_> {
    async fn next(&mut self) -> Option<Result<Message>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(message) = self.queue.pop_front() {
                return Some(Ok(message));
            }
            // The caller has taken the whole page: its cursor is theirs now.
            if let Err(e) = self.save().await {
                return Some(self.fail(e));
            }
            if !self.more {
                self.done = true;
                return None;
            }
            if let Err(e) = self.fetch().await {
                return Some(self.fail(e));
            }
        }
    }

    fn fail(&mut self, error: Error) -> Result<Message> {
        self.done = true;
        Err(error)
    }

    async fn save(&mut self) -> Result<()> {
        if let Some(cursor) = self.unsaved.take() {
            self.store.save(&self.open_kfid, &cursor).await?;
            self.cursor = Some(Some(cursor));
        }
        Ok(())
    }

    async fn fetch(&mut self) -> Result<()> {
        let cursor = match &self.cursor {
            Some(cursor) => cursor.clone(),
            // An empty cursor means "from the oldest message": the same as none.
            None => self
                .store
                .load(&self.open_kfid)
                .await?
                .filter(|c| !c.is_empty()),
        };
        let mut request = SyncMessages::new(&self.open_kfid);
        if let Some(c) = &cursor {
            request = request.cursor(c);
        }
        if let Some(t) = &self.token {
            request = request.token(t);
        }
        self.cursor = Some(cursor);
        let page = self.api.sync(request).await?;
        // A page whose next_cursor is empty or unchanged leads nowhere: saving it would start
        // over from the oldest message, and asking again would bring the same page back.
        let sent = self.cursor.as_ref().and_then(Option::as_ref);
        let moved_on = !page.next_cursor.is_empty() && Some(&page.next_cursor) != sent;
        self.more = page.has_more && moved_on;
        self.queue = page.msg_list.into();
        self.unsaved = moved_on.then_some(page.next_cursor);
        Ok(())
    }
}
