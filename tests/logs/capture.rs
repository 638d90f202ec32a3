//! What the SDK logs, captured per test.
//!
//! `tracing` caches, per call site, whether any live subscriber wants it. A call site first hit
//! on one thread while another thread is registering its subscriber can cache "nobody wants
//! this" past that registration; in a binary where tests without subscribers run beside these,
//! an event would then be lost by timing luck. So these tests have a binary of their own, and
//! every one of them registers the same TRACE subscriber before the SDK emits anything: any call
//! site is first hit with a subscriber that wants everything.

use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything written by the subscriber of [`capture`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// All lines so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// How many lines hold both `level` and `text`.
    pub fn lines_with(&self, level: &str, text: &str) -> usize {
        self.text()
            .lines()
            .filter(|l| l.contains(level) && l.contains(text))
            .count()
    }
}

/// A TRACE subscriber for this thread, writing to the returned buffer (spans as `spans` says),
/// until the guard drops. Tests run on a current-thread runtime, so every task they start runs
/// under it.
pub fn capture(spans: FmtSpan) -> (Captured, DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(spans)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
