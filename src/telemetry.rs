//! Metrics (feature `metrics`): every `wecom_kf_*` series the SDK emits, through the `metrics`
//! facade, so the application picks the exporter (Prometheus, OpenTelemetry, ...). The README's
//! "Metrics" section lists them.
//!
//! The functions here are the only emitters; without the feature they are empty, so the call
//! sites carry no `#[cfg]`. Labels stay bounded and free of secrets: an endpoint is a path of
//! the endpoint table (else `other`), an errcode one the SDK names (else `other`), a token kind
//! one of three words, and an `open_kfid` one the application asked about. Never a token, a
//! secret, a permanent code, a corp id or a customer id.

// Without the feature every argument is unused: the bodies are compiled out.
#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

// Only leaf modules here: the layers, the token cache and the handles all call in.
use std::time::{Duration, SystemTime};

use http::Extensions;

use crate::clock::Clock;
use crate::error::Result;
use crate::spec::TokenKind;

/// When something measured began; nothing (and no clock read) without the feature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timer {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Timer {
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }
}

/// An endpoint as a label: its path in the endpoint table, or `other` (a `post_json` path is
/// the caller's string; a series per string would be unbounded). Nothing without the feature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    #[cfg(feature = "metrics")]
    label: &'static str,
}

/// The label of the endpoint at `path`.
#[inline]
pub(crate) fn endpoint(path: &str) -> Endpoint {
    Endpoint {
        #[cfg(feature = "metrics")]
        label: on::endpoint_label(path),
    }
}

/// One logical call ended (all its attempts): `wecom_kf_calls_total`,
/// `wecom_kf_call_duration_seconds`, and `wecom_kf_errcodes_total` /
/// `wecom_kf_outcome_unknown_total` when they apply.
#[inline]
pub(crate) fn call_finished<T>(endpoint: Endpoint, timer: Timer, result: &Result<T>) {
    #[cfg(feature = "metrics")]
    on::call_finished(endpoint.label, timer, result);
}

/// The retry layer starts an attempt of the request whose extensions are `ext`
/// (`wecom_kf_attempts_total`; after the first, also `wecom_kf_retries_total`). The token
/// layer's replay is part of the attempt it repairs.
#[inline]
pub(crate) fn attempt(endpoint: Endpoint, ext: &mut Extensions) {
    #[cfg(feature = "metrics")]
    on::attempt(endpoint.label, ext);
}

/// The token layer refreshed a rejected token and replays the call:
/// `wecom_kf_token_replays_total`.
#[inline]
pub(crate) fn token_replay(endpoint: Endpoint) {
    #[cfg(feature = "metrics")]
    on::token_replay(endpoint.label);
}

/// The token layer picked a token of `kind` obtained at `obtained_at` for an attempt:
/// `wecom_kf_token_age_seconds`.
#[inline]
pub(crate) fn token_used(kind: TokenKind, obtained_at: SystemTime, clock: &dyn Clock) {
    #[cfg(feature = "metrics")]
    on::token_used(kind, obtained_at, clock);
}

/// The token cache asked its source for a token of `kind`: `wecom_kf_token_fetches_total`,
/// `wecom_kf_token_fetch_duration_seconds`.
#[inline]
pub(crate) fn token_fetched(kind: TokenKind, timer: Timer, ok: bool) {
    #[cfg(feature = "metrics")]
    on::token_fetched(kind, timer, ok);
}

/// The shared token store failed (or stayed empty under another's lease) and this process
/// fetches by itself: `wecom_kf_token_store_fallbacks_total`.
#[inline]
pub(crate) fn token_store_fallback() {
    #[cfg(feature = "metrics")]
    on::token_store_fallback();
}

/// The account a `kf/sync_msg` request asked about, kept for its page's metrics (the request
/// itself is consumed by the call); nothing without the feature.
pub(crate) struct SyncLabel {
    #[cfg(feature = "metrics")]
    open_kfid: String,
}

impl SyncLabel {
    #[inline]
    pub(crate) fn of(open_kfid: &str) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            open_kfid: open_kfid.to_owned(),
        }
    }
}

/// A `kf/sync_msg` page arrived with messages sent at `send_times` (Unix seconds):
/// `wecom_kf_messages_synced_total` and `wecom_kf_sync_lag_seconds`, labelled with the account
/// the application asked about (not one the server names: that would be the server's to
/// multiply). `now` is only read with the feature.
#[inline]
pub(crate) fn synced(
    asked: SyncLabel,
    send_times: impl Iterator<Item = u64>,
    now: impl FnOnce() -> SystemTime,
) {
    #[cfg(feature = "metrics")]
    on::synced(asked.open_kfid, send_times, now);
}

/// A call waited `waited` for its budget in `scope` (`"corp"` or `"ip"`):
/// `wecom_kf_budget_waits_total`, `wecom_kf_budget_wait_seconds`.
#[inline]
pub(crate) fn budget_wait(endpoint: &str, scope: &'static str, waited: Duration) {
    #[cfg(feature = "metrics")]
    on::budget_wait(endpoint, scope, waited);
}

/// A call was refused by its budget in `scope` for `reason`: `wecom_kf_budget_refusals_total`.
#[inline]
pub(crate) fn budget_refused(endpoint: &str, scope: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    on::budget_refused(endpoint, scope, reason);
}

/// A 45009 closed the endpoint's scope until `window` ends: `wecom_kf_scopes_closed_total`.
#[inline]
pub(crate) fn scope_closed(endpoint: &str, window: &'static str) {
    #[cfg(feature = "metrics")]
    on::scope_closed(endpoint, window);
}

/// The shared budget store failed and budgets are kept in this process:
/// `wecom_kf_budget_store_fallbacks_total`.
#[cfg_attr(not(feature = "redis"), allow(dead_code))] // only a shared store falls back
#[inline]
pub(crate) fn budget_store_fallback() {
    #[cfg(feature = "metrics")]
    on::budget_store_fallback();
}

/// Describes every `wecom_kf_*` series to the installed recorder: its help text and unit
/// (Prometheus prints them as `# HELP` lines). Call it once, after installing the recorder;
/// the series are recorded whether or not it was called. Feature `metrics`.
///
/// ```ignore
/// let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
/// wecom_kf::describe_metrics();
/// ```
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "wecom_kf_calls_total",
        "Calls as the caller sees them, by outcome (retries and the token replay included in one)."
    );
    describe_histogram!(
        "wecom_kf_call_duration_seconds",
        Unit::Seconds,
        "The whole call, its retries and backoff included."
    );
    describe_counter!(
        "wecom_kf_errcodes_total",
        "Calls that ended with a non-zero errcode (the codes the SDK names, else other)."
    );
    describe_counter!(
        "wecom_kf_outcome_unknown_total",
        "Calls that may or may not have taken effect (not replayed)."
    );
    describe_counter!(
        "wecom_kf_attempts_total",
        "Attempts the retry layer made: the first and each retry."
    );
    describe_counter!(
        "wecom_kf_retries_total",
        "Retries: attempts after the first."
    );
    describe_counter!(
        "wecom_kf_token_replays_total",
        "Calls replayed once with a refreshed token after WeCom refused theirs."
    );
    describe_counter!(
        "wecom_kf_token_fetches_total",
        "Tokens asked of their source, by kind and result."
    );
    describe_histogram!(
        "wecom_kf_token_fetch_duration_seconds",
        Unit::Seconds,
        "How long each token fetch took."
    );
    describe_histogram!(
        "wecom_kf_token_age_seconds",
        Unit::Seconds,
        "The age of the token each attempt carries."
    );
    describe_counter!(
        "wecom_kf_token_store_fallbacks_total",
        "A shared token store failed (or stayed empty under another's lease) and this process fetched the token itself."
    );
    describe_counter!(
        "wecom_kf_messages_synced_total",
        "Messages and events kf/sync_msg brought, per kf account."
    );
    describe_gauge!(
        "wecom_kf_sync_lag_seconds",
        Unit::Seconds,
        "Now minus the send_time of the newest message of the last page that brought any, per kf account."
    );
    describe_counter!(
        "wecom_kf_budget_waits_total",
        "Attempts that waited for room in their rate budgets."
    );
    describe_histogram!(
        "wecom_kf_budget_wait_seconds",
        Unit::Seconds,
        "How long attempts waited for room in their rate budgets."
    );
    describe_counter!(
        "wecom_kf_budget_refusals_total",
        "Attempts a rate budget refused unsent, by scope and reason."
    );
    describe_counter!(
        "wecom_kf_scopes_closed_total",
        "Scopes a 45009 closed for the rest of their window."
    );
    describe_counter!(
        "wecom_kf_budget_store_fallbacks_total",
        "The shared budget store failed and the budgets were kept in this process."
    );
}

/// The emitters themselves.
#[cfg(feature = "metrics")]
mod on {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use http::Extensions;
    use metrics::{counter, gauge, histogram};

    use super::Timer;
    use crate::clock::Clock;
    use crate::errcode;
    use crate::error::{Error, Result};
    use crate::spec::{self, TokenKind};

    /// Marks a request's extensions once its first attempt started: later ones are retries.
    #[derive(Clone, Copy)]
    struct Attempted;

    /// The endpoint as a label: its path in the table, or `other` (a `post_json` path is the
    /// caller's; a label per path would let any string become a series). Given with or
    /// without `/cgi-bin/` (the budgets name APIs without it).
    pub(super) fn endpoint_label(path: &str) -> &'static str {
        // Built once: a lookup per call and per attempt, instead of a scan of the table.
        static LABELS: std::sync::OnceLock<std::collections::HashMap<&'static str, &'static str>> =
            std::sync::OnceLock::new();
        let labels = LABELS.get_or_init(|| {
            spec::ALL
                .iter()
                .map(|e| (spec::api_name(e.path), e.path))
                .collect()
        });
        labels.get(spec::api_name(path)).copied().unwrap_or("other")
    }

    /// An errcode as a label: one the SDK names in [`errcode`], else `other` (a hostile server
    /// could answer a new code on every call).
    pub(super) fn errcode_label(code: i64) -> String {
        if errcode::describe(code).is_some() {
            code.to_string()
        } else {
            "other".to_owned()
        }
    }

    fn kind_label(kind: TokenKind) -> &'static str {
        match kind {
            TokenKind::Corp => "corp",
            TokenKind::Suite => "suite",
            TokenKind::Provider => "provider",
            TokenKind::None => "none",
        }
    }

    /// What the call came to, as the user sees it.
    pub(super) fn outcome<T>(result: &Result<T>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(Error::Api(e))
                if matches!(
                    e.code(),
                    errcode::API_FREQUENCY_LIMIT | errcode::API_CONCURRENCY_LIMIT
                ) =>
            {
                "rate_limited"
            }
            Err(Error::Api(_)) => "errcode",
            Err(Error::HttpStatus { status: 429, .. } | Error::RateLimited { .. }) => {
                "rate_limited"
            }
            Err(Error::Transport(_) | Error::HttpStatus { .. }) => "transport",
            Err(Error::OutcomeUnknown { .. }) => "outcome_unknown",
            Err(_) => "other",
        }
    }

    pub(super) fn call_finished<T>(endpoint: &'static str, timer: Timer, result: &Result<T>) {
        let outcome = outcome(result);
        counter!("wecom_kf_calls_total", "endpoint" => endpoint, "outcome" => outcome).increment(1);
        histogram!("wecom_kf_call_duration_seconds", "endpoint" => endpoint)
            .record(timer.started.elapsed());
        match result {
            Err(Error::Api(e)) => {
                counter!("wecom_kf_errcodes_total", "endpoint" => endpoint,
                    "errcode" => errcode_label(e.code()))
                .increment(1);
            }
            Err(Error::OutcomeUnknown { .. }) => {
                counter!("wecom_kf_outcome_unknown_total", "endpoint" => endpoint).increment(1);
            }
            _ => {}
        }
    }

    pub(super) fn attempt(endpoint: &'static str, ext: &mut Extensions) {
        counter!("wecom_kf_attempts_total", "endpoint" => endpoint).increment(1);
        if ext.insert(Attempted).is_some() {
            counter!("wecom_kf_retries_total", "endpoint" => endpoint).increment(1);
        }
    }

    pub(super) fn token_replay(endpoint: &'static str) {
        counter!("wecom_kf_token_replays_total", "endpoint" => endpoint).increment(1);
    }

    pub(super) fn token_used(kind: TokenKind, obtained_at: SystemTime, clock: &dyn Clock) {
        // A clock set back reads as age zero.
        let age = clock.now().duration_since(obtained_at).unwrap_or_default();
        histogram!("wecom_kf_token_age_seconds", "kind" => kind_label(kind)).record(age);
    }

    pub(super) fn token_fetched(kind: TokenKind, timer: Timer, ok: bool) {
        let kind = kind_label(kind);
        let result = if ok { "ok" } else { "error" };
        counter!("wecom_kf_token_fetches_total", "kind" => kind, "result" => result).increment(1);
        histogram!("wecom_kf_token_fetch_duration_seconds", "kind" => kind)
            .record(timer.started.elapsed());
    }

    pub(super) fn token_store_fallback() {
        counter!("wecom_kf_token_store_fallbacks_total").increment(1);
    }

    pub(super) fn synced(
        open_kfid: String,
        send_times: impl Iterator<Item = u64>,
        now: impl FnOnce() -> SystemTime,
    ) {
        let (count, newest) = send_times.fold((0_u64, None), |(n, newest), t| {
            (n + 1, Some(newest.map_or(t, |m: u64| m.max(t))))
        });
        counter!("wecom_kf_messages_synced_total", "open_kfid" => open_kfid.clone())
            .increment(count);
        // The lag is that of the newest message the page brought; an empty page says nothing.
        if let Some(newest) = newest {
            let sent = UNIX_EPOCH + Duration::from_secs(newest);
            let lag = now().duration_since(sent).unwrap_or_default();
            gauge!("wecom_kf_sync_lag_seconds", "open_kfid" => open_kfid).set(lag);
        }
    }

    pub(super) fn budget_wait(endpoint: &str, scope: &'static str, waited: Duration) {
        let endpoint = endpoint_label(endpoint);
        counter!("wecom_kf_budget_waits_total", "endpoint" => endpoint, "scope" => scope)
            .increment(1);
        histogram!("wecom_kf_budget_wait_seconds", "endpoint" => endpoint, "scope" => scope)
            .record(waited);
    }

    pub(super) fn budget_refused(endpoint: &str, scope: &'static str, reason: &'static str) {
        counter!("wecom_kf_budget_refusals_total", "endpoint" => endpoint_label(endpoint),
            "scope" => scope, "reason" => reason)
        .increment(1);
    }

    pub(super) fn scope_closed(endpoint: &str, window: &'static str) {
        counter!("wecom_kf_scopes_closed_total", "endpoint" => endpoint_label(endpoint),
            "window" => window)
        .increment(1);
    }

    pub(super) fn budget_store_fallback() {
        counter!("wecom_kf_budget_store_fallbacks_total").increment(1);
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use super::on::{endpoint_label, errcode_label, outcome};
    use crate::error::{ApiError, Error};

    #[test]
    fn endpoint_labels_are_table_paths_or_other() {
        assert_eq!(
            endpoint_label("/cgi-bin/kf/account/list"),
            "/cgi-bin/kf/account/list"
        );
        assert_eq!(
            endpoint_label("cgi-bin/kf/account/list"),
            "/cgi-bin/kf/account/list"
        );
        assert_eq!(
            endpoint_label("kf/account/list"),
            "/cgi-bin/kf/account/list"
        );
        assert_eq!(endpoint_label("/cgi-bin/anything/else"), "other");
        assert_eq!(endpoint_label("/cgi-bin/kf/account/list?x=1"), "other");
    }

    #[test]
    fn errcode_labels_are_named_codes_or_other() {
        assert_eq!(errcode_label(crate::errcode::KF_SESSION_ENDED), "95013");
        assert_eq!(errcode_label(-1), "-1");
        assert_eq!(errcode_label(987_654_321), "other");
    }

    #[test]
    fn outcomes_name_what_the_user_sees() {
        let api = |code| Err::<(), _>(Error::Api(ApiError::new(code, "x", "/e")));
        assert_eq!(outcome(&Ok::<(), Error>(())), "ok");
        assert_eq!(outcome(&api(95013)), "errcode");
        assert_eq!(outcome(&api(45009)), "rate_limited");
        assert_eq!(outcome(&Err::<(), _>(Error::Config("x".into()))), "other");
    }

    /// The budget layer's hooks, on a recorder of this test's own (not the global one).
    #[test]
    fn budget_hooks_render_bounded_labels() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let list = "/cgi-bin/kf/account/list";
            super::budget_wait(list, "corp", std::time::Duration::from_millis(250));
            super::budget_wait("/cgi-bin/made/up?corpid=ww1", "ip", Default::default());
            super::budget_refused(list, "corp", "window_closed");
            super::scope_closed("kf/account/list", "minute");
            super::budget_store_fallback();
        });
        let text = handle.render();
        for line in [
            r#"wecom_kf_budget_waits_total{endpoint="/cgi-bin/kf/account/list",scope="corp"} 1"#,
            r#"wecom_kf_budget_waits_total{endpoint="other",scope="ip"} 1"#,
            r#"wecom_kf_budget_wait_seconds_sum{endpoint="/cgi-bin/kf/account/list",scope="corp"} 0.25"#,
            r#"wecom_kf_budget_refusals_total{endpoint="/cgi-bin/kf/account/list",scope="corp",reason="window_closed"} 1"#,
            r#"wecom_kf_scopes_closed_total{endpoint="/cgi-bin/kf/account/list",window="minute"} 1"#,
            "wecom_kf_budget_store_fallbacks_total 1",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(!text.contains("ww1"), "{text}");
    }
}
