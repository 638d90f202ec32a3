//! The time seam: token freshness and rate-budget windows are decided by a [`Clock`], so tests
//! (ours and yours) can move time forward without waiting.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

/// A source of the current time for token freshness decisions.
///
/// Wall-clock time ([`SystemTime`]) is used so that an expiry can be shared between processes
/// (a token store); [`SystemClock`] is the default, [`ManualClock`] is for tests.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Resolves once [`now`](Self::now) has reached `deadline` (at once if it has). The
    /// default sleeps on tokio's timer for the time left; a clock that jumps (a test's
    /// [`ManualClock`]) wakes its sleepers when it is moved instead.
    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'static, ()> {
        let left = deadline.duration_since(self.now()).unwrap_or_default();
        Box::pin(tokio::time::sleep(left))
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to. Cheap to clone; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use wecom_kf::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(7200));
/// assert_eq!(clock.now().duration_since(t0).unwrap(), Duration::from_secs(7200));
/// ```
///
/// Waiting on it ([`Clock::sleep_until`], e.g. a call waiting for room in a rate budget) ends
/// when the clock is moved past the deadline, not after real time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<SystemTime>>,
    /// How many [`Clock::sleep_until`]s are waiting on it.
    sleepers: Arc<watch::Sender<usize>>,
}

impl ManualClock {
    /// A clock standing at the current wall-clock time.
    pub fn new() -> Self {
        Self::at(SystemTime::now())
    }

    /// A clock standing at `time`.
    pub fn at(time: SystemTime) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(time)),
            sleepers: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Returns once at least `n` callers wait on this clock ([`Clock::sleep_until`] with a
    /// deadline not reached yet): a test moves the clock after the waiter it means to wake
    /// is waiting, not before it got there.
    pub async fn sleepers(&self, n: usize) {
        let mut count = self.sleepers.subscribe();
        let _ = count.wait_for(|k| *k >= n).await;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }

    /// Sets the clock to `time`.
    pub fn set(&self, time: SystemTime) {
        self.now.send_replace(time);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: SystemTime) -> BoxFuture<'static, ()> {
        let mut moves = self.now.subscribe();
        let sleepers = self.sleepers.clone();
        Box::pin(async move {
            if *moves.borrow_and_update() >= deadline {
                return;
            }
            sleepers.send_modify(|n| *n += 1);
            let _awake = Awake(&sleepers);
            // The sender lives as long as any clone of the clock; if all are gone, nothing can
            // move it any more, and the sleeper is let go rather than left hanging.
            let _ = moves.wait_for(|now| *now >= deadline).await;
        })
    }
}

/// Counts a sleeper out however its wait ends (woken, or dropped).
struct Awake<'a>(&'a watch::Sender<usize>);

impl Drop for Awake<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Whole seconds since the Unix epoch (0 before it), as WeCom writes times.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Milliseconds since the Unix epoch (0 before it, saturating far after).
pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
