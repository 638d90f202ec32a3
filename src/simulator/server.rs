//! The HTTP side: a hyper server on a local port, one task per connection, each call counted,
//! matched against the fault script, and executed.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::fault::Fault;
use super::state::{Call, Shared, path_key};
use super::wire::Reply;

/// Bodies above this are refused with 413 before they are parsed.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// An oversized body is still read (and discarded) up to this size before the 413, so that the
/// caller, still writing, sees the answer rather than a reset connection.
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
    let Some(body) = read_body(body).await? else {
        return Ok(response(Reply::http_status(StatusCode::PAYLOAD_TOO_LARGE)));
    };
    let query = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let call = Call {
        method: parts.method,
        path: path_key(parts.uri.path()).to_owned(),
        query,
        body,
        peer,
    };
    let reply = match shared.begin(&call) {
        None => shared.execute(&call),
        Some(Fault::HttpStatus(code)) => Reply::http_status(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        ),
        Some(Fault::Errcode(code)) => shared.refusal(code, &call),
        Some(Fault::Delay(delay)) => {
            // In its own task, so the call takes effect even if the caller hangs up meanwhile.
            let shared = shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                shared.execute(&call)
            })
            .await
            .map_err(|_| HangUp)?
        }
        Some(Fault::DropBeforeAnswer) => return Err(HangUp),
        Some(Fault::DropAfterEffect) => {
            shared.execute(&call);
            return Err(HangUp);
        }
    };
    Ok(response(reply))
}

/// The body, or `None` if it is larger than [`MAX_BODY_BYTES`].
async fn read_body(mut body: Incoming) -> Result<Option<Bytes>, HangUp> {
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| HangUp)?.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_BYTES {
            return Err(HangUp);
        }
        if seen <= MAX_BODY_BYTES {
            kept.extend_from_slice(&data);
        }
    }
    Ok((seen <= MAX_BODY_BYTES).then(|| kept.freeze()))
}

fn response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    response
}
