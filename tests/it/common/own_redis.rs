//! A redis-server of the caller's own on a port of its choosing, so that a test can stop it and
//! start it again, and a bench need not share one with anything else. Shared by the Redis tests
//! and the Redis bench (which includes this file by path).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct OwnRedis {
    pub port: u16,
    child: Child,
}

impl OwnRedis {
    /// Starts `redis-server` (no persistence) on `port` and waits until it accepts connections.
    pub fn start(port: u16) -> std::io::Result<Self> {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()?;
        // Another process: there is nothing to await but its port.
        for _ in 0..250 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Self { port, child });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(std::io::Error::other(format!(
            "redis-server did not start on port {port}"
        )))
    }

    /// Starts one on a port that is free now.
    pub fn start_on_free_port() -> std::io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Self::start(port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server; returns its port, for starting it again.
    pub fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
