//! A small HTTP/1.1 server for dependencies that the filters call (a JWKS
//! endpoint, an authorization service): it answers every request with the
//! configured status, body and delay, counts requests, and can be stopped
//! (its port then refuses connections) to play a dead dependency. With
//! [`HttpServer::only_path`] other paths get 404 (the demo JWKS endpoint).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub delay: Duration,
}

struct Shared {
    reply: Mutex<Reply>,
    hits: AtomicU64,
    /// Request heads (request line and headers), in arrival order.
    heads: Mutex<Vec<String>>,
    /// When set, requests for any other path get 404.
    only_path: Mutex<Option<String>>,
    stop: AtomicBool,
}

pub struct HttpServer {
    port: u16,
    shared: Arc<Shared>,
}

impl HttpServer {
    /// Listens on 127.0.0.1 (any free port), answering 200 with `body` as JSON.
    pub fn start(body: &str) -> HttpServer {
        HttpServer::start_on("127.0.0.1:0", body).expect("bind test HTTP server")
    }

    /// Like [`HttpServer::start`] on a given address (e.g. `0.0.0.0:18083`).
    pub fn start_on(addr: &str, body: &str) -> std::io::Result<HttpServer> {
        let listener = TcpListener::bind(addr)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            reply: Mutex::new(Reply {
                status: 200,
                content_type: "application/json".into(),
                body: body.as_bytes().to_vec(),
                delay: Duration::ZERO,
            }),
            hits: AtomicU64::new(0),
            heads: Mutex::new(Vec::new()),
            only_path: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break; // drops the listener: the port now refuses
                }
                if let Ok(conn) = conn {
                    let s = s.clone();
                    thread::spawn(move || serve(conn, &s));
                }
            }
        });
        Ok(HttpServer { port, shared })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A static cluster named `name` pointing at this server.
    pub fn cluster(&self, name: &str) -> serde_json::Value {
        crate::bootstrap::cluster(name, self.port)
    }

    pub fn set_body(&self, body: &str) {
        self.update(|r| r.body = body.as_bytes().to_vec());
    }

    pub fn set_status(&self, status: u16) {
        self.update(|r| r.status = status);
    }

    pub fn set_delay(&self, delay: Duration) {
        self.update(|r| r.delay = delay);
    }

    /// Answers only requests for `path` (query ignored); others get 404.
    pub fn only_path(&self, path: &str) {
        if let Ok(mut p) = self.shared.only_path.lock() {
            *p = Some(path.to_string());
        }
    }

    fn update(&self, f: impl FnOnce(&mut Reply)) {
        if let Ok(mut r) = self.shared.reply.lock() {
            f(&mut r);
        }
    }

    /// Requests received so far.
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The heads of the requests received so far.
    pub fn heads(&self) -> Vec<String> {
        self.shared
            .heads
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    /// Forgets the request heads received (a long-running server).
    pub fn clear_heads(&self) {
        if let Ok(mut h) = self.shared.heads.lock() {
            h.clear();
        }
    }

    /// Stops accepting: later connections are refused.
    pub fn stop(&self) {
        if !self.shared.stop.swap(true, Ordering::SeqCst) {
            let _ = TcpStream::connect(("127.0.0.1", self.port));
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(mut conn: TcpStream, s: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match conn.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        if s.stop.load(Ordering::SeqCst) {
            return;
        }
        s.hits.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut h) = s.heads.lock() {
            h.push(String::from_utf8_lossy(&head).into_owned());
        }
        let mut reply = match s.reply.lock() {
            Ok(r) => r.clone(),
            Err(_) => return,
        };
        let only = s.only_path.lock().ok().and_then(|p| p.clone());
        if let Some(only) = only {
            let target = head
                .split(|b| *b == b' ')
                .nth(1)
                .and_then(|t| t.split(|b| *b == b'?').next())
                .unwrap_or_default();
            if target != only.as_bytes() {
                reply.status = 404;
                reply.content_type = "text/plain".into();
                reply.body = b"not found".to_vec();
            }
        }
        thread::sleep(reply.delay);
        let mut out = format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        )
        .into_bytes();
        out.extend_from_slice(&reply.body);
        if conn.write_all(&out).is_err() {
            return;
        }
    }
}
