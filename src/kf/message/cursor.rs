//! Where `sync_msg` cursors are kept between runs: [`CursorStore`], in memory or in files
//! (and in Redis with the `redis` feature).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

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
