//! A server on 127.0.0.1 that answers every connection the same hostile way, at the TCP level
//! (what wiremock cannot do: declare a gigabyte, stream for ever, or not speak HTTP), and
//! counts connections and the bytes it managed to write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the server answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// A 200 JSON answer that declares `Content-Length: n`, then streams zeros until the
    /// client goes away (or `n` bytes are out).
    Declared(u64),
    /// A 200 chunked JSON answer that never ends.
    EndlessChunks,
    /// A few bytes that are not HTTP.
    NotHttp,
}

/// The running server; stops when dropped.
pub struct Hostile {
    pub base: String,
    connections: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let (c, w) = (connections.clone(), written.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let w = w.clone();
                tokio::spawn(async move {
                    // The request head (a GET, or a small POST) arrives in one read here.
                    let mut request = [0u8; 16 * 1024];
                    let _ = stream.read(&mut request).await;
                    let head = match answer {
                        Answer::Declared(n) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n"
                        ),
                        Answer::EndlessChunks => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
                        Answer::NotHttp => {
                            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
                            return;
                        }
                    };
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let block = vec![b' '; 64 * 1024];
                    let chunk = [
                        format!("{:x}\r\n", block.len()).into_bytes(),
                        block.clone(),
                        b"\r\n".to_vec(),
                    ]
                    .concat();
                    let mut left = match answer {
                        Answer::Declared(n) => n,
                        _ => u64::MAX,
                    };
                    while left > 0 {
                        let out: &[u8] = match answer {
                            Answer::EndlessChunks => &chunk,
                            _ => &block[..block.len().min(left as usize)],
                        };
                        if stream.write_all(out).await.is_err() {
                            return;
                        }
                        w.fetch_add(out.len() as u64, Ordering::SeqCst);
                        left = left.saturating_sub(out.len() as u64);
                    }
                });
            }
        });
        Self {
            base,
            connections,
            written,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Body bytes written so far, over all connections.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}
