//! Metrics (placeholder until the metrics feature lands): the budget hooks.

use std::time::Duration;

#[inline]
pub(crate) fn budget_wait(_endpoint: &str, _scope: &'static str, _waited: Duration) {}

#[inline]
pub(crate) fn budget_refused(_endpoint: &str, _scope: &'static str, _reason: &'static str) {}

#[inline]
pub(crate) fn scope_closed(_endpoint: &str, _window: &'static str) {}

#[inline]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn budget_store_fallback() {}
