//! What a rate limit is: the windows WeCom counts calls in (natural minutes and hours, and days
//! in China time for how long a scope stays closed), the scopes it counts per, and why a rate
//! budget refused a call. Shared by the budgets (`crate::budget`) and the error they raise.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What WeCom counts calls per (each also per API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// One corp (its own app, or an authorised corp of a provider).
    Corp,
    /// One egress IP.
    Ip,
}

impl Scope {
    /// Its name in errors and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Corp => "corp",
            Scope::Ip => "ip",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a rate budget refused a call (nothing was sent).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The scope's budget for the window is used up.
    Budget {
        /// Whose budget.
        scope: Scope,
        /// Which window.
        window: Window,
        /// The budget: calls per window.
        limit: u64,
    },
    /// WeCom answered 45009 in this scope: it stays closed until the window ends (calling
    /// would extend the ban and spend quota).
    Closed {
        /// How long it is closed: the rest of this window.
        window: Window,
    },
    /// As many calls of this API for this corp are in flight as its concurrency cap allows.
    Concurrency {
        /// The cap.
        limit: u32,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Budget {
                scope,
                window,
                limit,
            } => write!(
                f,
                "the {scope} budget of {limit} calls a {window} is used up"
            ),
            Refusal::Closed { window } => write!(
                f,
                "WeCom answered 45009 (frequency limit): closed for the rest of the {window}"
            ),
            Refusal::Concurrency { limit } => {
                write!(f, "{limit} calls in flight, the concurrency cap")
            }
        }
    }
}

/// A counting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Window {
    /// A natural minute (`hh:mm:00` to the next).
    Minute,
    /// A natural hour.
    Hour,
    /// A natural day in China time (UTC+8), as WeCom's "the rest of the day".
    Day,
}

/// China time is UTC+8 all year: WeCom's days start at 16:00 UTC.
const CHINA_OFFSET: Duration = Duration::from_secs(8 * 3600);

impl Window {
    /// The window's length.
    pub fn length(self) -> Duration {
        Duration::from_secs(match self {
            Window::Minute => 60,
            Window::Hour => 3600,
            Window::Day => 86_400,
        })
    }

    /// Its name in errors and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }

    /// The index of the window `at` falls in (windows since the epoch, days counted in China
    /// time). Two instants in the same window have the same index.
    pub(crate) fn index(self, at: SystemTime) -> u64 {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let since = match self {
            Window::Day => since + CHINA_OFFSET,
            _ => since,
        };
        since.as_secs() / self.length().as_secs()
    }

    /// When the window with `index` ends (the next one begins).
    pub(crate) fn end_of(self, index: u64) -> SystemTime {
        let secs = index
            .saturating_add(1)
            .saturating_mul(self.length().as_secs());
        let end = UNIX_EPOCH + Duration::from_secs(secs);
        match self {
            Window::Day => end - CHINA_OFFSET,
            _ => end,
        }
    }

    /// When the window `at` falls in ends.
    pub(crate) fn end(self, at: SystemTime) -> SystemTime {
        self.end_of(self.index(at))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn windows_are_natural_minutes_hours_and_china_days() {
        let t = at(1_700_000_123); // 2023-11-14 22:15:23 UTC
        assert_eq!(Window::Minute.end(t), at(1_700_000_160));
        assert_eq!(Window::Hour.end(t), at(1_700_002_800));
        // 22:15 UTC is 06:15 the next day in China; that day ends at 16:00 UTC.
        assert_eq!(Window::Day.end(t), at(1_700_064_000));
        assert_eq!(
            Window::Minute.index(at(1_700_000_159)),
            Window::Minute.index(t)
        );
        assert_ne!(
            Window::Minute.index(at(1_700_000_160)),
            Window::Minute.index(t)
        );
        // 15:59:59 UTC and 16:00:00 UTC are on two China days.
        assert_ne!(
            Window::Day.index(at(1_700_063_999)),
            Window::Day.index(at(1_700_064_000))
        );
    }
}
