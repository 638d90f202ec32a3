//! [`MessageApi::sync_stream`]: `kf/sync_msg` pages as one stream, the cursor saved in a
//! [`CursorStore`] after each page is consumed.

use std::collections::VecDeque;

use futures_util::Stream;

use super::{CursorStore, Message, MessageApi, SyncMessages};
use crate::error::{Error, Result};

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

/// The stream of [`MessageApi::sync_stream`].
pub(super) fn pull<'a>(
    api: MessageApi<'a>,
    open_kfid: &str,
    token: Option<&str>,
    store: &'a dyn CursorStore,
) -> impl Stream<Item = Result<Message>> + 'a {
    let pull = Pull {
        api,
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
