//! The HTTP side: a hyper server on a local port, one task per connection, each call counted,
//! matched against the fault script, and executed.
//!
//! Hostile or broken clients are bounded: at most [`Limits::max_connections`] connections at
//! once (more are closed as soon as they are accepted), headers that do not arrive within
//! [`Limits::header_timeout`] (an idle kept-alive connection included) and bodies that do not
//! arrive within [`Limits::body_timeout`] close the connection, and a failing `accept` (out of
//! file descriptors) is retried after a pause that doubles up to a second instead of at once.

use crate::spec;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, EXPECT, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::control::{self, Control};
use super::fault::Fault;
use super::media::UploadedPart;
use super::state::{Call, Shared, path_key};
use super::wire::Reply;

/// Bodies above this are refused with 413 before they are parsed.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// For `media/upload`: the largest file WeCom takes (20 MB) and the multipart framing.
const MAX_UPLOAD_BYTES: usize = 21 * 1024 * 1024;
/// An oversized body is still read (and discarded) up to this much beyond the limit before the
/// 413, so that the caller, still writing, sees the answer rather than a reset connection.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// The server's bounds on its clients, from the [`SimulatorBuilder`](super::SimulatorBuilder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// A request's headers (the wait for the next request on a kept-alive connection
    /// included) must arrive within this, or the connection is closed.
    pub(crate) header_timeout: Duration,
    /// A request's whole body must arrive within this, or the connection is closed.
    pub(crate) body_timeout: Duration,
    /// Connections open at once; more are closed as soon as they are accepted.
    pub(crate) max_connections: usize,
}

/// The first pause after a failed `accept`.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause after failed `accept`s in a row.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The pause after a failed `accept`, given the pause after the previous one (`None` when the
/// last `accept` succeeded): 10 ms, then doubling, at most 1 s. Failing at once again (out of
/// file descriptors, say) would spin a core and starve the connections being served.
pub(crate) fn accept_backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(ACCEPT_BACKOFF_MIN, |pause| {
        pause
            .saturating_mul(2)
            .clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX)
    })
}

/// Where connections come from: the TCP listener, or a stand-in in the unit tests.
pub(crate) trait Listener: Send + 'static {
    /// One accepted connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection and its peer.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send;
}

impl Listener for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        TcpListener::accept(self).await
    }
}

/// Accepts connections until the task is aborted; aborting it also closes every connection
/// (they live in the task's `JoinSet`). Calls under `/__sim/` go to the control plane.
pub(crate) async fn run(listener: TcpListener, control: Arc<Control>, limits: Limits) {
    serve(listener, control, limits, tokio::time::sleep).await;
}

/// [`run`] with its listener and its sleep as parameters, for the unit tests.
async fn serve<L, S, F>(mut listener: L, control: Arc<Control>, limits: Limits, sleep: S)
where
    L: Listener,
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut connections = JoinSet::new();
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut backoff = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    backoff = None;
                    // The permit lives as long as the connection's task.
                    match permits.clone().try_acquire_owned() {
                        Ok(permit) => {
                            connections.spawn(serve_connection(
                                stream,
                                peer.ip(),
                                control.clone(),
                                limits,
                                permit,
                            ));
                        }
                        Err(_) => {
                            tracing::debug!(
                                max = limits.max_connections,
                                "simulator: too many connections, closing a new one"
                            );
                            drop(stream);
                        }
                    }
                }
                Err(error) => {
                    let pause = accept_backoff(backoff);
                    backoff = Some(pause);
                    tracing::debug!(%error, ?pause, "simulator: accept failed");
                    sleep(pause).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection<I>(
    stream: I,
    peer: IpAddr,
    control: Arc<Control>,
    limits: Limits,
    permit: OwnedSemaphorePermit,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| handle(request, peer, control.clone(), limits));
    if let Err(error) = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%error, "simulator: connection closed");
    }
    drop(permit);
}

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
struct HangUp;

impl fmt::Display for HangUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose (fault injection)")
    }
}

impl std::error::Error for HangUp {}

async fn handle(
    request: Request<Incoming>,
    peer: IpAddr,
    control: Arc<Control>,
    limits: Limits,
) -> Result<Response<Full<Bytes>>, HangUp> {
    let (parts, body) = request.into_parts();
    if control::is_control_path(parts.uri.path()) {
        // Not a WeCom call: not counted, no token, no faults.
        let body = tokio::time::timeout(
            limits.body_timeout,
            read_body(body, control::MAX_CONTROL_BODY_BYTES),
        )
        .await
        .map_err(|_| HangUp)?;
        let Some(body) = body? else {
            return Ok(control::too_large());
        };
        return Ok(control.answer(&parts.method, parts.uri.path(), &body).await);
    }
    let shared = control.shared().clone();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let path = path_key(parts.uri.path()).to_owned();
    let limit = if path == spec::MEDIA_UPLOAD.name() {
        MAX_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    // The token is checked before the body is read: a call refused on its path, method or
    // token is answered at once, and its body is never held.
    let wants_body = shared.wants_body(&parts.method, &path, &query);
    let body = if wants_body {
        // A body that has not arrived in time closes the connection.
        let body = tokio::time::timeout(limits.body_timeout, read_body(body, limit))
            .await
            .map_err(|_| HangUp)?;
        let Some(body) = body? else {
            return Ok(response(Reply::http_status(StatusCode::PAYLOAD_TOO_LARGE)));
        };
        body
    } else {
        let expects_continue = parts.headers.contains_key(EXPECT);
        discard(body, expects_continue, limit, limits.body_timeout);
        Bytes::new()
    };
    let upload = if wants_body && path == spec::MEDIA_UPLOAD.name() {
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Some(media_part(content_type, body.clone()).await)
    } else {
        None
    };
    let call = Call {
        method: parts.method,
        path,
        query,
        body,
        peer,
        upload,
    };
    let reply = match shared.begin(&call) {
        None => shared.execute(&call),
        Some(Fault::HttpStatus(code)) => Reply::http_status(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        ),
        Some(Fault::Errcode(code)) => shared.refusal(code, &call),
        Some(Fault::Delay(delay)) => execute_after(shared, call, tokio::time::sleep(delay)).await?,
        Some(Fault::Hold) => {
            let (gate, path) = (shared.clone(), call.path.clone());
            execute_after(shared, call, async move { gate.held(&path).await }).await?
        }
        Some(Fault::DropBeforeAnswer) => return Err(HangUp),
        Some(Fault::DropAfterEffect) => {
            shared.execute(&call);
            return Err(HangUp);
        }
    };
    Ok(response(reply))
}

/// Executes `call` once `wait` is over, in a task of its own, so that it takes effect even if
/// the caller hangs up meanwhile, as on a real server.
async fn execute_after(
    shared: Arc<Shared>,
    call: Call,
    wait: impl Future<Output = ()> + Send + 'static,
) -> Result<Reply, HangUp> {
    tokio::spawn(async move {
        wait.await;
        shared.execute(&call)
    })
    .await
    .map_err(|_| HangUp)
}

/// Reads and drops, in the background, the body of a call answered without it, so that a
/// client still writing its body sees the answer rather than a reset connection: at most
/// `limit` plus [`DRAIN_BYTES`], within `timeout`; nothing is kept. If the client waits for
/// `100 Continue`, or gives more or slower than that, the body is dropped and hyper closes
/// the connection after the answer.
fn discard(body: Incoming, expects_continue: bool, limit: usize, timeout: Duration) {
    if expects_continue || body.is_end_stream() {
        return;
    }
    let most = limit.saturating_add(DRAIN_BYTES);
    tokio::spawn(tokio::time::timeout(timeout, async move {
        let mut body = body;
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen = seen.saturating_add(data.len());
                if seen > most {
                    return;
                }
            }
        }
    }));
}

/// The body, or `None` if it is larger than `limit`.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Option<Bytes>, HangUp> {
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| HangUp)?.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > limit.saturating_add(DRAIN_BYTES) {
            return Err(HangUp);
        }
        if seen <= limit {
            kept.extend_from_slice(&data);
        }
    }
    Ok((seen <= limit).then(|| kept.freeze()))
}

fn response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    // From bytes: a file name may be UTF-8, as WeCom sends it.
    if let Some(value) = reply
        .disposition
        .and_then(|d| HeaderValue::from_bytes(d.as_bytes()).ok())
    {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    response
}

/// The `media` part of a multipart upload, or why there is none.
async fn media_part(content_type: &str, body: Bytes) -> Result<UploadedPart, String> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| "the body must be multipart/form-data with a boundary".to_owned())?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("malformed multipart body: {e}"))?
    {
        if field.name() != Some("media") {
            continue;
        }
        // multer undoes the `\"` escape of a quoted file name but not `\\`.
        let filename = field
            .file_name()
            .map(|name| name.replace("\\\\", "\\"))
            .ok_or_else(|| "the media part needs a filename".to_owned())?;
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("malformed multipart body: {e}"))?;
        return Ok(UploadedPart { filename, bytes });
    }
    Err("no part named media".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use crate::clock::SystemClock;
    use crate::simulator::accounts::Accounts;
    use crate::simulator::media::Media;
    use crate::simulator::state::World;
    use crate::simulator::tokens::{TokenIssue, Tokens};

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_accept_backoff_doubles_up_to_a_second() {
        assert_eq!(accept_backoff(None), ms(10));
        assert_eq!(accept_backoff(Some(ms(10))), ms(20));
        assert_eq!(accept_backoff(Some(ms(640))), ms(1000));
        assert_eq!(accept_backoff(Some(ms(1000))), ms(1000));
        assert_eq!(accept_backoff(Some(Duration::MAX)), ms(1000));
        assert_eq!(accept_backoff(Some(Duration::ZERO)), ms(10));
    }

    /// A listener that plays a script: `false` an `accept` failing with EMFILE, `true` a
    /// connection; then it waits forever and says so.
    struct Scripted {
        steps: VecDeque<bool>,
        done: Option<tokio::sync::oneshot::Sender<()>>,
    }

    impl Listener for Scripted {
        type Io = tokio::io::DuplexStream;

        async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
            match self.steps.pop_front() {
                Some(true) => Ok((
                    tokio::io::duplex(64).0,
                    SocketAddr::from(([127, 0, 0, 1], 1)),
                )),
                Some(false) => Err(io::Error::from_raw_os_error(24)), // EMFILE
                None => {
                    if let Some(done) = self.done.take() {
                        let _ = done.send(());
                    }
                    std::future::pending().await
                }
            }
        }
    }

    /// The accept loop itself, with a stand-in listener and a sleep that records its pauses
    /// (so no clock is involved): failures in a row pause longer and longer, a connection
    /// starts again from the shortest pause.
    #[tokio::test]
    async fn the_accept_loop_pauses_after_failures_and_resets_on_success() {
        let world = World::new(
            "corp".into(),
            "secret".into(),
            Tokens::new(Duration::from_secs(60), TokenIssue::default(), 1),
            crate::simulator::provider::Providers::new(
                Duration::from_secs(60),
                TokenIssue::default(),
                1,
            ),
            Accounts::new(1, 1),
            Media::new(1024),
        );
        let shared = Arc::new(Shared::new(world, Arc::new(SystemClock)));
        let blank = crate::simulator::control::Blank {
            token_ttl: Duration::from_secs(60),
            token_issue: TokenIssue::default(),
            max_accounts: 1,
            max_media_bytes: 1024,
        };
        let control = Arc::new(Control::new(shared, blank));
        let limits = Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 4,
        };
        let mut steps = VecDeque::from([false; 9]);
        steps.extend([true, false, false]);
        let (done, finished) = tokio::sync::oneshot::channel();
        let listener = Scripted {
            steps,
            done: Some(done),
        };
        let pauses = Arc::new(Mutex::new(Vec::new()));
        let recorded = pauses.clone();
        let server = tokio::spawn(serve(listener, control, limits, move |pause| {
            recorded.lock().unwrap().push(pause);
            std::future::ready(())
        }));
        finished.await.unwrap();
        server.abort();
        let expected = [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 10, 20].map(ms);
        assert_eq!(*pauses.lock().unwrap(), expected);
    }
}
