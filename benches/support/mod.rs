//! What the benches share: a minimal canned-JSON server on 127.0.0.1 (so the server's own cost
//! is small and the same for the SDK and its baseline), the raw-reqwest baseline, and the
//! median/ratio arithmetic of the summary lines.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use wecom_kf::Client;
use wecom_kf::kf::account::{ListAccounts, ListAccountsResponse};

/// The canned `kf/account/list` answer: three accounts, as WeCom shapes them.
pub const LIST_BODY: &str = r#"{"errcode":0,"errmsg":"ok","account_list":[{"open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","name":"咨询客服","avatar":"https://wework.qpic.cn/wwhead/duc2TvpEgSSjibPZlNR6chpx9W3dtd9Ogp8XEmSNKGa6uufMWn2239HUPuwIFoYYZ7Ph580FPvo8/0","manage_privilege":true},{"open_kfid":"wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyAAA","name":"售前客服","avatar":"https://wework.qpic.cn/wwhead/duc2TvpEgSSjibPZlNR6chpx9W3dtd9Ogp8XEmSNKGa6uufMWn2239HUPuwIFoYYZ7Ph580FPvo8/0","manage_privilege":false},{"open_kfid":"wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyBBB","name":"售后客服","avatar":"https://wework.qpic.cn/wwhead/duc2TvpEgSSjibPZlNR6chpx9W3dtd9Ogp8XEmSNKGa6uufMWn2239HUPuwIFoYYZ7Ph580FPvo8/0","manage_privilege":true}]}"#;

/// How the canned server behaves.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// How long `gettoken` takes to answer.
    pub gettoken_delay: Duration,
    /// `expires_in` of the tokens it issues.
    pub token_ttl_secs: u64,
    /// Serve HTTP/2 with prior knowledge (one connection carries every call) instead of
    /// HTTP/1.1.
    pub http2: bool,
    /// Record each `gettoken`'s span and the tokens the other calls carry. Off where the
    /// recording itself would be measured (per-call overhead, memory).
    pub record: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            gettoken_delay: Duration::ZERO,
            token_ttl_secs: 7200,
            http2: false,
            record: false,
        }
    }
}

/// A `gettoken` as the server saw it: when it started and when it answered.
#[derive(Debug, Clone, Copy)]
pub struct GettokenSpan {
    pub start: Instant,
    pub end: Instant,
}

/// The length of the tokens the canned server mints. WeCom documents only a maximum (512
/// bytes); 64 is a plausible size for the memory figures.
pub const TOKEN_LEN: usize = 64;

/// What the canned server records when [`ServerConfig::record`] is set.
#[derive(Default)]
struct Record {
    spans: Mutex<Vec<GettokenSpan>>,
    tokens_used: Mutex<HashSet<String>>,
}

/// The canned server. Every `gettoken` (and `service/get_suite_token`, `service/get_corp_token`)
/// mints a new token (`T000…1`, `T000…2`, …, each
/// [`TOKEN_LEN`] bytes); every other path answers [`LIST_BODY`] without checking the token.
pub struct CannedServer {
    pub addr: SocketAddr,
    gettokens: Arc<AtomicU64>,
    record: Arc<Record>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CannedServer {
    pub async fn start(config: ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gettokens = Arc::new(AtomicU64::new(0));
        let record = Arc::new(Record::default());
        let (g, s) = (gettokens.clone(), record.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (g, s) = (g.clone(), s.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(req, config, g.clone(), s.clone()));
                    let io = TokioIo::new(stream);
                    if config.http2 {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .max_concurrent_streams(1024)
                            .serve_connection(io, service)
                            .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    }
                });
            }
        });
        Self {
            addr,
            gettokens,
            record,
            task,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn gettoken_calls(&self) -> u64 {
        self.gettokens.load(Ordering::SeqCst)
    }

    /// Every finished `gettoken` (needs [`ServerConfig::record`]).
    pub fn gettoken_spans(&self) -> Vec<GettokenSpan> {
        self.record.spans.lock().expect("spans").clone()
    }

    /// How many distinct tokens the API calls carried (needs [`ServerConfig::record`]).
    pub fn distinct_tokens_used(&self) -> usize {
        self.record.tokens_used.lock().expect("tokens").len()
    }
}

async fn answer(
    req: Request<hyper::body::Incoming>,
    config: ServerConfig,
    gettokens: Arc<AtomicU64>,
    record: Arc<Record>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt;
    // A corp's own token, or a provider's suite and authorised-corp tokens (bench 8).
    let is_gettoken = [
        "/gettoken",
        "/service/get_suite_token",
        "/service/get_corp_token",
    ]
    .iter()
    .any(|path| req.uri().path().ends_with(path));
    if config.record && !is_gettoken {
        let token = req.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("access_token="))
        });
        if let Some(token) = token {
            let mut used = record.tokens_used.lock().expect("tokens");
            if !used.contains(token) {
                used.insert(token.to_owned());
            }
        }
    }
    // Read the body fully, as a real server would.
    let _ = req.into_body().collect().await;
    let body = if is_gettoken {
        let start = Instant::now();
        let n = gettokens.fetch_add(1, Ordering::SeqCst) + 1;
        if !config.gettoken_delay.is_zero() {
            tokio::time::sleep(config.gettoken_delay).await;
        }
        if config.record {
            record.spans.lock().expect("spans").push(GettokenSpan {
                start,
                end: Instant::now(),
            });
        }
        Bytes::from(format!(
            r#"{{"errcode":0,"errmsg":"ok","access_token":"T{n:0width$}","expires_in":{}}}"#,
            config.token_ttl_secs,
            width = TOKEN_LEN - 1
        ))
    } else {
        Bytes::from_static(LIST_BODY.as_bytes())
    };
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    Ok(response)
}

/// Answers every request with [`LIST_BODY`], never calling the network (under the SDK's stack
/// with `bench_transport`, or under a bare reqwest-middleware client).
pub struct FakeTransport;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for FakeTransport {
    async fn handle(
        &self,
        _req: reqwest::Request,
        _ext: &mut http::Extensions,
        _next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let mut response = http::Response::new(LIST_BODY);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        Ok(reqwest::Response::from(response))
    }
}

/// A reqwest client configured as the SDK configures its own (no redirects, no Referer).
pub fn http_client(http2: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .no_proxy();
    if http2 {
        builder = builder.http2_prior_knowledge();
    }
    builder.build().expect("reqwest client")
}

/// The SDK side of every bench: one `kf/account/list` call, checked.
pub async fn sdk_list(client: &Client) {
    let page = client
        .kf()
        .account()
        .list(ListAccounts::new())
        .await
        .expect("sdk list");
    assert_eq!(page.account_list.len(), 3);
}

/// Where the raw baseline sends its calls: the API base and the token it holds.
#[derive(Debug, Clone)]
pub struct RawTarget {
    pub base: String,
    pub token: String,
}

impl RawTarget {
    /// The list URL with the token, built per call as a program without the SDK would (the
    /// token changes every two hours).
    pub fn list_url(&self) -> String {
        format!(
            "{}/cgi-bin/kf/account/list?access_token={}",
            self.base, self.token
        )
    }
}

/// The baseline: what a program without the SDK writes for the same call. The same URL with
/// the token, the same JSON body, the same struct decoded.
pub async fn raw_list(http: &reqwest::Client, target: &RawTarget) -> ListAccountsResponse {
    let response = http
        .post(target.list_url())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body("{}")
        .send()
        .await
        .expect("raw send");
    assert!(response.status().is_success());
    response
        .json::<ListAccountsResponse>()
        .await
        .expect("raw decode")
}

/// The median of `values` (which it sorts).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of `values` (which it sorts), nearest rank.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// Prints one summary line: the figure, the baseline, their ratio, and the target's verdict.
pub fn report(name: &str, sdk: &str, baseline: &str, ratio: f64, target: &str, met: bool) {
    println!(
        "SUMMARY {name}: sdk {sdk}, baseline {baseline}, ratio {ratio:.3} (target {target}: {})",
        if met { "met" } else { "NOT met" }
    );
}

/// Prints one summary line for a figure that has no target.
pub fn report_untargeted(name: &str, sdk: &str, baseline: &str, ratio: f64) {
    println!(
        "SUMMARY {name}: sdk {sdk}, baseline {baseline}, ratio {ratio:.3} (reported, no target)"
    );
}

/// Formats seconds as µs with two decimals.
pub fn micros(seconds: f64) -> String {
    format!("{:.2} µs", seconds * 1e6)
}
