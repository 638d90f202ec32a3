//! The HTTP side: a hyper server on a local port, one task per connection, each call counted,
//! matched against the fault script, and executed.

use crate::spec;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

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

/// Accepts connections until the task is aborted; aborting it also closes every connection
/// (they live in the task's `JoinSet`).
pub(crate) async fn run(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer.ip(), shared.clone()));
                }
                Err(error) => {
                    tracing::debug!(%error, "simulator: accept failed");
                    tokio::task::yield_now().await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, peer: IpAddr, shared: Arc<Shared>) {
    let service = service_fn(move |request| handle(request, peer, shared.clone()));
    if let Err(error) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%error, "simulator: connection closed");
    }
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
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, HangUp> {
    let (parts, body) = request.into_parts();
    let limit = if path_key(parts.uri.path()) == spec::MEDIA_UPLOAD.name() {
        MAX_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let Some(body) = read_body(body, limit).await? else {
        return Ok(response(Reply::http_status(StatusCode::PAYLOAD_TOO_LARGE)));
    };
    let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let path = path_key(parts.uri.path()).to_owned();
    let upload = if path == spec::MEDIA_UPLOAD.name() {
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
