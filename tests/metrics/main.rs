//! `cargo run --example metrics` as a test, in a binary of its own (the recorder is global: no
//! other test's calls may reach it). The example's flow runs on the simulator, `/metrics` is
//! scraped over HTTP, and the SDK's counters are held exactly to the simulator's.

#[path = "../../examples/metrics.rs"]
#[allow(dead_code)]
mod example;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use wecom_kf::Error;
use wecom_kf::budget::RateBudgets;
use wecom_kf::clock::ManualClock;
use wecom_kf::kf::account::ListAccounts;
use wecom_kf::simulator::{Fault, Simulator};
use wecom_kf::token::{Lease, SharedToken, StoreError, StoreKey, TokenStore};

/// A shared token store that is down: every call fails, so the provider fetches by itself.
#[derive(Debug)]
struct DownStore;

#[async_trait]
impl TokenStore for DownStore {
    async fn get(&self, _: &StoreKey) -> Result<Option<SharedToken>, StoreError> {
        Err(StoreError::new("down"))
    }
    async fn put(&self, _: &StoreKey, _: &SharedToken) -> Result<(), StoreError> {
        Err(StoreError::new("down"))
    }
    async fn invalidate_if(&self, _: &StoreKey, _: &str) -> Result<bool, StoreError> {
        Err(StoreError::new("down"))
    }
    async fn try_lease(&self, _: &StoreKey) -> Result<Option<Lease>, StoreError> {
        Err(StoreError::new("down"))
    }
    async fn release(&self, _: &StoreKey, _: &Lease) -> Result<(), StoreError> {
        Err(StoreError::new("down"))
    }
    fn lease_lifetime(&self) -> Duration {
        Duration::from_secs(10)
    }
}

/// One sample line of the Prometheus text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples, and the metric names with their type (`# TYPE name kind`).
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap();
                let labels = body
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap();
                        let v = v.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
                        (k.to_owned(), v.to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

struct Scrape(Vec<Sample>);

impl Scrape {
    /// The sum of `name` over the series whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let total: f64 = self
            .0
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum();
        assert_eq!(total.fract(), 0.0, "{name} {labels:?} = {total}");
        total as u64
    }

    fn at(&self, name: &str, endpoint: &str) -> u64 {
        self.sum(name, &[("endpoint", endpoint)])
    }
}

const ADD: &str = "/cgi-bin/kf/account/add";
const LIST: &str = "/cgi-bin/kf/account/list";
const DEL: &str = "/cgi-bin/kf/account/del";
const SYNC: &str = "/cgi-bin/kf/sync_msg";
const GETTOKEN: &str = "/cgi-bin/gettoken";

#[tokio::test]
async fn the_metrics_of_a_run_match_the_simulator_exactly_and_carry_no_secret() {
    let handle = example::install_prometheus().unwrap();
    let sim = Simulator::start().await.unwrap();
    let mut out = Vec::new();
    let mut ran = example::run_on_simulator(&sim, &mut out).await.unwrap();
    // One more client, whose shared token store is down: it fetches its own token (the
    // store's fallback), and lists once.
    let down = sim.client_builder().token_store(DownStore).build().unwrap();
    down.kf().account().list(ListAccounts::new()).await.unwrap();
    let token = down.access_token().await.unwrap();
    ran.secrets.push(token.as_str().to_owned());
    // And one with rate budgets that wait for nothing: a 45009 closes the list's scope, so the
    // next list is refused unsent. Their clock stands still: the minute cannot end between.
    let budgets = RateBudgets::builder()
        .clock(ManualClock::at(
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ))
        .max_wait(Duration::ZERO)
        .build();
    let limited = sim.client_builder().rate_budgets(budgets).build().unwrap();
    let lists = limited.kf().account();
    sim.inject("kf/account/list", Fault::Errcode(45009), 1);
    let closed = lists.list(ListAccounts::new()).await.unwrap_err();
    assert!(
        matches!(&closed, Error::Api(e) if e.code() == 45009),
        "{closed:?}"
    );
    let refused = lists.list(ListAccounts::new()).await.unwrap_err();
    assert!(matches!(refused, Error::RateLimited { .. }), "{refused:?}");
    let token = limited.access_token().await.unwrap();
    ran.secrets.push(token.as_str().to_owned());
    // And one whose budget of one call a minute makes its second list wait for the next
    // minute (40 s on its clock), which the test moves there.
    let clock = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let patient = sim
        .client_builder()
        .rate_budgets(
            RateBudgets::builder()
                .corp(1, 100)
                .clock(clock.clone())
                .max_wait(Duration::from_secs(60))
                .build(),
        )
        .build()
        .unwrap();
    patient
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .unwrap();
    let waiting = tokio::spawn({
        let patient = patient.clone();
        async move { patient.kf().account().list(ListAccounts::new()).await }
    });
    clock.sleepers(1).await;
    clock.advance(Duration::from_secs(40));
    waiting.await.unwrap().unwrap();
    let token = patient.access_token().await.unwrap();
    ran.secrets.push(token.as_str().to_owned());
    let counters = &sim.counters();
    let (addr, server) = example::serve(handle).await.unwrap();
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    server.abort();
    let (samples, types) = parse(&text);
    let m = Scrape(samples);
    let log = String::from_utf8(out).unwrap();
    let context = format!("{log}\n{text}\n{counters}");

    // Attempts: what the retry layer sent. The simulator also counts the token layer's replay,
    // which is part of the attempt it repairs, and never sees an attempt a budget refused.
    for (endpoint, path) in [
        (ADD, "kf/account/add"),
        (LIST, "kf/account/list"),
        (DEL, "kf/account/del"),
        (SYNC, "kf/sync_msg"),
    ] {
        assert_eq!(
            m.at("wecom_kf_attempts_total", endpoint)
                + m.at("wecom_kf_token_replays_total", endpoint),
            counters.calls(path) + m.at("wecom_kf_budget_refusals_total", endpoint),
            "{endpoint}\n{context}"
        );
    }
    assert_eq!(m.at("wecom_kf_attempts_total", "other"), 1, "{context}");
    assert_eq!(
        m.at("wecom_kf_attempts_total", GETTOKEN),
        counters.gettoken_calls(),
        "{context}"
    );

    // Tokens: one at the start, one after the server expired it, one for the client whose
    // store is down, one for each client with budgets.
    assert_eq!(counters.gettoken_calls(), 5, "{context}");
    assert_eq!(
        m.sum(
            "wecom_kf_token_fetches_total",
            &[("kind", "corp"), ("result", "ok")]
        ),
        counters.gettoken_calls()
    );
    assert_eq!(m.sum("wecom_kf_token_fetches_total", &[]), 5);
    assert_eq!(
        m.sum(
            "wecom_kf_token_fetch_duration_seconds_count",
            &[("kind", "corp")]
        ),
        5
    );
    // Every attempt that carries a token picks one (the replay uses the refreshed one).
    let with_token: u64 = [ADD, LIST, DEL, SYNC, "other"]
        .iter()
        .map(|e| m.at("wecom_kf_attempts_total", e))
        .sum();
    assert_eq!(
        m.sum("wecom_kf_token_age_seconds_count", &[("kind", "corp")]),
        with_token
    );
    assert_eq!(m.sum("wecom_kf_token_store_fallbacks_total", &[]), 1);

    // One replay after one expiry; one retry for the 502 and one for the -1.
    assert_eq!(m.at("wecom_kf_token_replays_total", LIST), 1);
    assert_eq!(m.sum("wecom_kf_token_replays_total", &[]), 1);
    assert_eq!(m.at("wecom_kf_retries_total", LIST), 2);
    assert_eq!(m.sum("wecom_kf_retries_total", &[]), 2);

    // Calls as the user saw them.
    let calls = |endpoint: &str, outcome: &str| {
        m.sum(
            "wecom_kf_calls_total",
            &[("endpoint", endpoint), ("outcome", outcome)],
        )
    };
    // 5 in the demo and the down-store client's, 2 by the patient client.
    assert_eq!(calls(LIST, "ok"), 7, "{context}");
    // 45009 twice (the demo's, the budgeted client's) and the budget's refusal.
    assert_eq!(calls(LIST, "rate_limited"), 3);
    assert_eq!(calls(LIST, "errcode"), 1);
    assert_eq!(m.at("wecom_kf_calls_total", LIST), 11);
    assert_eq!(m.at("wecom_kf_call_duration_seconds_count", LIST), 11);
    assert_eq!(
        calls(LIST, "ok"),
        counters.effects("kf/account/list"),
        "each answered list took effect once"
    );
    assert_eq!(calls(ADD, "ok"), 2);
    assert_eq!(calls(ADD, "outcome_unknown"), 1);
    assert_eq!(
        calls(ADD, "ok") + calls(ADD, "outcome_unknown"),
        counters.effects("kf/account/add")
    );
    assert_eq!(m.at("wecom_kf_outcome_unknown_total", ADD), 1);
    assert_eq!(m.sum("wecom_kf_outcome_unknown_total", &[]), 1);
    assert_eq!(calls(DEL, "ok"), counters.effects("kf/account/del"));
    assert_eq!(calls(SYNC, "ok"), counters.effects("kf/sync_msg"));
    assert_eq!(calls(GETTOKEN, "ok"), counters.gettoken_calls());
    assert_eq!(calls("other", "transport"), 1);

    // Errcodes: named codes by number, any other as `other`.
    let errcodes = |code: &str| {
        m.sum(
            "wecom_kf_errcodes_total",
            &[("endpoint", LIST), ("errcode", code)],
        )
    };
    assert_eq!(errcodes("45009"), 2);
    assert_eq!(errcodes("other"), 1);
    assert_eq!(m.sum("wecom_kf_errcodes_total", &[]), 3);

    // Budgets: the 45009 closed the list's scope for the rest of the minute, and the next
    // list was refused there (it never reached the simulator).
    assert_eq!(
        m.sum(
            "wecom_kf_scopes_closed_total",
            &[("endpoint", LIST), ("window", "minute")]
        ),
        1
    );
    assert_eq!(m.sum("wecom_kf_scopes_closed_total", &[]), 1);
    assert_eq!(
        m.sum(
            "wecom_kf_budget_refusals_total",
            &[("endpoint", LIST), ("scope", "corp"), ("reason", "closed")]
        ),
        1
    );
    assert_eq!(m.sum("wecom_kf_budget_refusals_total", &[]), 1);
    // The patient client's second list waited once, 40 s by its budgets' clock.
    assert_eq!(
        m.sum(
            "wecom_kf_budget_waits_total",
            &[("endpoint", LIST), ("scope", "corp")]
        ),
        1
    );
    assert_eq!(m.sum("wecom_kf_budget_waits_total", &[]), 1);
    assert_eq!(m.sum("wecom_kf_budget_wait_seconds_sum", &[]), 40);

    // The bot's side: two messages pulled for the account, and how late the newest was.
    let kf = [("open_kfid", ran.open_kfid.as_str())];
    assert_eq!(m.sum("wecom_kf_messages_synced_total", &kf), 2);
    assert!(
        m.0.iter()
            .any(|s| s.name == "wecom_kf_sync_lag_seconds" && s.value >= 0.0),
        "{context}"
    );

    // Bounded, secret-free labels: only these keys, endpoints of the table or `other`.
    let keys: BTreeSet<&str> =
        m.0.iter()
            .flat_map(|s| s.labels.keys().map(String::as_str))
            .collect();
    let allowed = [
        "endpoint",
        "outcome",
        "errcode",
        "kind",
        "result",
        "open_kfid",
        "scope",
        "reason",
        "window",
        "le",
    ];
    assert!(keys.iter().all(|k| allowed.contains(k)), "{keys:?}");
    for sample in &m.0 {
        if let Some(endpoint) = sample.labels.get("endpoint") {
            assert!(
                endpoint == "other" || endpoint.starts_with("/cgi-bin/"),
                "{endpoint}"
            );
            assert_ne!(endpoint, example::UNKNOWN_PATH);
        }
    }
    assert!(ran.secrets.len() >= 8);
    for secret in &ran.secrets {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret.as_str()),
            "the scrape carries {secret:?}:\n{text}"
        );
    }

    // Every metric the run produced is documented in the README's table.
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Metrics")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Metrics section in the README");
    assert!(!types.is_empty());
    for name in types.keys() {
        assert!(
            section.contains(&format!("`{name}`")),
            "{name} is not in the README's Metrics table"
        );
        // And described: `describe_metrics` gave it a help line.
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no help text"
        );
    }
}
