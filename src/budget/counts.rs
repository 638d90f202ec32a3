//! This process's counts: calls per scope and window, and the scopes WeCom closed with 45009.
//! The budgets' only state without a shared store, and their fallback when it is down.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use super::Limits;
use crate::rate_limit::{Refusal, Scope, Window};

/// A scope: its kind, its id (a corp id or an egress name) and its API. Built per call from
/// shared parts (an `Arc` and, for the SDK's endpoints, a static path): no allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ScopeKey {
    pub(crate) scope: Scope,
    pub(crate) id: Arc<str>,
    pub(crate) api: Cow<'static, str>,
}

impl fmt::Display for ScopeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scope.as_str(), self.id, self.api)
    }
}

/// One scope's place in the budget check: its key and its budget.
pub(crate) struct Slot {
    pub(crate) key: ScopeKey,
    pub(crate) limits: Limits,
}

/// The slots of one check: the corp's, then the egress IP's.
pub(crate) type Slots = [Slot; 2];

/// A refusal and when the room comes back.
pub(crate) type Refused = (Refusal, SystemTime);

/// Counts per scope: the corps' bounded in entries (least used dropped first) and idle time,
/// each holding its egress IP's count, so that a check looks up one entry, not two. The IP
/// scopes (an egress per API) are few and never dropped: a dropped one would split the count
/// that every corp entry holding it shares.
pub(crate) struct Counts {
    corps: moka::sync::Cache<ScopeKey, Arc<CorpCount>>,
    ips: RwLock<HashMap<ScopeKey, Arc<Mutex<ScopeCount>>>>,
}

/// A corp scope's count, and its egress IP scope's.
struct CorpCount {
    corp: Mutex<ScopeCount>,
    ip: Arc<Mutex<ScopeCount>>,
}

impl CorpCount {
    /// Both counts, locked corp before ip, always, so two checks never deadlock.
    fn lock(&self) -> [std::sync::MutexGuard<'_, ScopeCount>; 2] {
        [&self.corp, &*self.ip].map(|s| s.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// One call more in the minute and the hour of each count.
fn count_one(counts: &mut [std::sync::MutexGuard<'_, ScopeCount>; 2], now: SystemTime) {
    for count in counts {
        *count.minute.at(Window::Minute, now) += 1;
        *count.hour.at(Window::Hour, now) += 1;
    }
}

/// A scope's calls in the current minute and hour, and whether WeCom closed it.
#[derive(Default)]
struct ScopeCount {
    minute: WindowCount,
    hour: WindowCount,
    /// Closed until then, for the rest of that window.
    closed: Option<(SystemTime, Window)>,
    /// 45009s in the current hour (index, count), and hour-long closes today.
    closes_in_hour: (u64, u32),
    hour_closes_in_day: (u64, u32),
}

/// Calls counted in the window with this index.
#[derive(Default, Clone, Copy)]
struct WindowCount {
    index: u64,
    calls: u64,
}

impl WindowCount {
    /// The count in the window `now` falls in (zero in a new one).
    fn at(&mut self, window: Window, now: SystemTime) -> &mut u64 {
        let index = window.index(now);
        if self.index != index {
            *self = WindowCount { index, calls: 0 };
        }
        &mut self.calls
    }
}

/// An hour longer than an hour window: an hour's count, or a day-long close, must outlive a
/// quiet scope (a scope idle longer than its windows has nothing left worth keeping).
const IDLE: Duration = Duration::from_secs(25 * 3600);

impl Counts {
    pub(crate) fn new(max_scopes: u64) -> Self {
        Self {
            corps: moka::sync::Cache::builder()
                .max_capacity(max_scopes)
                .time_to_idle(IDLE)
                .build(),
            ips: RwLock::new(HashMap::new()),
        }
    }

    /// The entry of corp scope `corp`, made (with its egress scope `ip`) if new.
    fn entry(&self, corp: &ScopeKey, ip: &ScopeKey) -> Arc<CorpCount> {
        self.corps.get_with_by_ref(corp, || {
            Arc::new(CorpCount {
                corp: Mutex::default(),
                ip: self.ip(ip),
            })
        })
    }

    fn ip(&self, key: &ScopeKey) -> Arc<Mutex<ScopeCount>> {
        let known = self
            .ips
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        known.unwrap_or_else(|| {
            self.ips
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.clone())
                .or_default()
                .clone()
        })
    }

    /// Counts one call in every slot if each has room in its minute and hour (and the first,
    /// the corp's, is not closed); otherwise counts nothing and says which refusal frees last.
    pub(crate) fn admit(&self, slots: &Slots, now: SystemTime) -> Result<(), Refused> {
        let entry = self.entry(&slots[0].key, &slots[1].key);
        let mut locked = entry.lock();
        let mut refused: Option<Refused> = None;
        let mut refuse = |refusal: Refusal, until: SystemTime| {
            if refused.as_ref().is_none_or(|(_, at)| *at < until) {
                refused = Some((refusal, until));
            }
        };
        for (count, slot) in locked.iter_mut().zip(slots) {
            if let Some((until, window)) = count.closed
                && now < until
            {
                refuse(Refusal::Closed { window }, until);
            }
            for (window, limit, calls) in [
                (
                    Window::Minute,
                    slot.limits.per_minute,
                    *count.minute.at(Window::Minute, now),
                ),
                (
                    Window::Hour,
                    slot.limits.per_hour,
                    *count.hour.at(Window::Hour, now),
                ),
            ] {
                if calls >= limit {
                    let refusal = Refusal::Budget {
                        scope: slot.key.scope,
                        window,
                        limit,
                    };
                    refuse(refusal, window.end(now));
                }
            }
        }
        if let Some(refused) = refused {
            return Err(refused);
        }
        count_one(&mut locked, now);
        Ok(())
    }

    /// Counts one call in every slot without checking (the shared store admitted it): the
    /// counts to keep to a share of if the store fails.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn record(&self, slots: &Slots, now: SystemTime) {
        let entry = self.entry(&slots[0].key, &slots[1].key);
        count_one(&mut entry.lock(), now);
    }

    /// WeCom answered 45009 in scope `key`: closed for the rest of the minute; a second close
    /// within the hour closes it for the rest of the hour, a second hour-long close within the
    /// day for the rest of the day (WeCom bans for the window that was exceeded, and does not
    /// say which: a ban that outlives the minute shows as 45009 again after it). Answers the
    /// window and its end.
    pub(crate) fn close(
        &self,
        corp: &ScopeKey,
        ip: &ScopeKey,
        now: SystemTime,
    ) -> (Window, SystemTime) {
        let entry = self.entry(corp, ip);
        let mut count = entry.corp.lock().unwrap_or_else(PoisonError::into_inner);
        let hour = Window::Hour.index(now);
        count.closes_in_hour = match count.closes_in_hour {
            (index, n) if index == hour => (hour, n.saturating_add(1)),
            _ => (hour, 1),
        };
        let mut window = if count.closes_in_hour.1 >= 2 {
            Window::Hour
        } else {
            Window::Minute
        };
        if window == Window::Hour {
            let day = Window::Day.index(now);
            count.hour_closes_in_day = match count.hour_closes_in_day {
                (index, n) if index == day => (day, n.saturating_add(1)),
                _ => (day, 1),
            };
            if count.hour_closes_in_day.1 >= 2 {
                window = Window::Day;
            }
        }
        let until = window.end(now);
        count.closed = match count.closed {
            Some((at, w)) if at > until => Some((at, w)),
            _ => Some((until, window)),
        };
        (window, until)
    }

    /// Scope `key` was closed elsewhere (another replica saw the 45009) until `until`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn closed_elsewhere(&self, slots: &Slots, until: SystemTime, window: Window) {
        let entry = self.entry(&slots[0].key, &slots[1].key);
        let mut count = entry.corp.lock().unwrap_or_else(PoisonError::into_inner);
        if count.closed.is_none_or(|(at, _)| at < until) {
            count.closed = Some((until, window));
        }
    }

    /// Whether scope `key` is closed at `now`: until when, and for which window.
    pub(crate) fn closed(&self, corp: &ScopeKey, now: SystemTime) -> Option<(SystemTime, Window)> {
        let entry = self.corps.get(corp)?;
        let count = entry.corp.lock().unwrap_or_else(PoisonError::into_inner);
        count.closed.filter(|(until, _)| now < *until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn key(scope: Scope, id: &str) -> ScopeKey {
        ScopeKey {
            scope,
            id: Arc::from(id),
            api: Cow::Borrowed("some-api"),
        }
    }

    fn slot(scope: Scope, id: &str, per_minute: u64, per_hour: u64) -> Slot {
        Slot {
            key: key(scope, id),
            limits: Limits::new(per_minute, per_hour),
        }
    }

    /// A check of corp `id`'s budget alone (its egress never binds).
    fn one(id: &str, per_minute: u64, per_hour: u64) -> Slots {
        [
            slot(Scope::Corp, id, per_minute, per_hour),
            slot(Scope::Ip, "egress", u64::MAX, u64::MAX),
        ]
    }

    fn close(counts: &Counts, id: &str, now: SystemTime) -> (Window, SystemTime) {
        counts.close(&key(Scope::Corp, id), &key(Scope::Ip, "egress"), now)
    }

    #[test]
    fn a_minute_budget_admits_its_calls_then_refuses_until_the_minute_ends() {
        let counts = Counts::new(100);
        let t0 = at(1_700_000_100); // 40 s into a minute
        for _ in 0..3 {
            counts.admit(&one("a", 3, 100), t0).unwrap();
        }
        let (refusal, until) = counts.admit(&one("a", 3, 100), t0).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Budget {
                scope: Scope::Corp,
                window: Window::Minute,
                limit: 3
            }
        );
        assert_eq!(until, at(1_700_000_160));
        // Another scope is not affected; the next minute has room again.
        counts.admit(&one("b", 3, 100), t0).unwrap();
        counts.admit(&one("a", 3, 100), until).unwrap();
    }

    #[test]
    fn a_refused_check_counts_in_no_slot() {
        let counts = Counts::new(100);
        let t0 = at(1_700_000_100);
        let both = |corp: &str| {
            [
                slot(Scope::Corp, corp, 1, 100),
                slot(Scope::Ip, "nat", 1, 100),
            ]
        };
        counts.admit(&both("first"), t0).unwrap();
        // The corp has room, the ip has none: neither counts.
        assert!(counts.admit(&both("second"), t0).is_err());
        counts.admit(&one("second", 1, 100), t0).unwrap();
    }

    #[test]
    fn the_hour_budget_binds_across_minutes() {
        let counts = Counts::new(100);
        let t0 = at(1_699_999_200); // the start of an hour
        for minute in 0..3 {
            let t = t0 + Duration::from_secs(60 * minute);
            counts.admit(&one("a", 2, 5), t).unwrap();
            if minute < 2 {
                counts.admit(&one("a", 2, 5), t).unwrap();
            }
        }
        let (refusal, until) = counts
            .admit(&one("a", 2, 5), t0 + Duration::from_secs(600))
            .unwrap_err();
        assert!(matches!(
            refusal,
            Refusal::Budget {
                window: Window::Hour,
                ..
            }
        ));
        assert_eq!(until, t0 + Duration::from_secs(3600));
    }

    #[test]
    fn closes_escalate_from_minute_to_hour_to_day() {
        let counts = Counts::new(100);
        let t0 = at(1_699_999_200 + 10);
        assert_eq!(close(&counts, "a", t0), (Window::Minute, at(1_699_999_260)));
        assert!(
            counts
                .closed(&key(Scope::Corp, "a"), t0 + Duration::from_secs(49))
                .is_some()
        );
        assert!(
            counts
                .closed(&key(Scope::Corp, "a"), at(1_699_999_260))
                .is_none()
        );
        // Banned again right after the minute: the hour it is.
        let t1 = at(1_699_999_261);
        assert_eq!(close(&counts, "a", t1), (Window::Hour, at(1_700_002_800)));
        // And again in the next hour, twice: the day.
        let t2 = at(1_700_002_801);
        assert_eq!(close(&counts, "a", t2).0, Window::Minute);
        let (window, until) = close(&counts, "a", t2 + Duration::from_secs(61));
        assert_eq!(window, Window::Day);
        assert_eq!(until, Window::Day.end(t2));
    }
}
