//! Scripted failures: what the simulator plays instead of (or around) a normal answer.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// A failure the simulator plays on a call, scripted with
/// [`Simulator::inject`](super::Simulator::inject).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status (500, 502, 503, …) and an HTML body, as a WeCom gateway
    /// does. The call takes no effect.
    HttpStatus(u16),
    /// Answer HTTP 200 with this errcode, e.g. `-1` (system busy) or `45009` (rate limited).
    /// The call takes no effect.
    Errcode(i64),
    /// Wait this long, then handle the call normally. The call takes effect after the delay
    /// even if the caller has given up by then, as on a real server.
    Delay(Duration),
    /// Hold the call until [`Simulator::release`](super::Simulator::release) is called for its
    /// path, then handle it normally: a test decides when it lands, without a clock.
    Hold,
    /// Read the request, then close the connection without executing it or answering.
    DropBeforeAnswer,
    /// Execute the request, then close the connection without answering: the change happened
    /// but the caller saw no answer (the case [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown)
    /// exists for).
    DropAfterEffect,
}

/// Faults queued per path, played in order, each for its number of calls.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    queues: HashMap<String, VecDeque<(Fault, u32)>>,
}

impl FaultPlan {
    pub(crate) fn push(&mut self, path: String, fault: Fault, times: u32) {
        if times > 0 {
            self.queues
                .entry(path)
                .or_default()
                .push_back((fault, times));
        }
    }

    /// The fault for the next call on `path`, if one is scripted.
    pub(crate) fn take(&mut self, path: &str) -> Option<Fault> {
        let queue = self.queues.get_mut(path)?;
        let (fault, left) = queue.front_mut()?;
        let fault = fault.clone();
        *left -= 1;
        if *left == 0 {
            queue.pop_front();
        }
        Some(fault)
    }

    /// Calls on `path` that a queued fault will still hit.
    pub(crate) fn pending(&self, path: &str) -> u32 {
        self.queues.get(path).map_or(0, |q| {
            q.iter().fold(0, |sum, (_, n)| sum.saturating_add(*n))
        })
    }

    pub(crate) fn clear(&mut self) {
        self.queues.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_play_in_order_for_their_counts() {
        let mut plan = FaultPlan::default();
        plan.push("a".into(), Fault::HttpStatus(502), 2);
        plan.push("a".into(), Fault::Errcode(-1), 1);
        plan.push("a".into(), Fault::DropBeforeAnswer, 0);
        assert_eq!(plan.pending("a"), 3);
        assert_eq!(plan.take("b"), None);
        assert_eq!(plan.take("a"), Some(Fault::HttpStatus(502)));
        assert_eq!(plan.take("a"), Some(Fault::HttpStatus(502)));
        assert_eq!(plan.take("a"), Some(Fault::Errcode(-1)));
        assert_eq!(plan.take("a"), None);
    }
}
