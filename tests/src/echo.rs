//! The echo upstream: answers every request with JSON describing what it
//! received (method, path, headers, body) and records it, so tests can assert
//! what did or did not reach the upstream.
//!
//! Test-only controls, read from request headers:
//! - `x-echo-status: 418` answers with that status;
//! - `x-echo-response-header: name: value` (repeatable) adds a response header;
//! - `x-echo-delay-ms: 250` waits before answering.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the upstream saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// Every value of a header, in order (names compared case-insensitively).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        values(&self.headers, name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).first().copied()
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut headers = serde_json::Map::new();
        for (name, _) in &self.headers {
            let key = name.to_ascii_lowercase();
            if headers.contains_key(&key) {
                continue;
            }
            let values = self.header_values(name);
            let value = match values.as_slice() {
                [one] => serde_json::Value::from(*one),
                many => serde_json::Value::from(many.to_vec()),
            };
            headers.insert(key, value);
        }
        serde_json::json!({
            "method": self.method,
            "path": self.path,
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
        })
    }
}

pub struct EchoServer {
    addr: std::net::SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl EchoServer {
    /// Listen on `addr` (use `127.0.0.1:0` for any free port).
    pub fn start(addr: &str) -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, st) = (received.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let rec = rec.clone();
                    thread::spawn(move || serve(conn, rec));
                }
            }
        });
        Ok(EchoServer {
            addr,
            received,
            stop,
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Forget what was received (between phases of one test).
    pub fn clear(&self) {
        if let Ok(mut r) = self.received.lock() {
            r.clear();
        }
    }

    /// Requests received whose path starts with `prefix`.
    pub fn received_under(&self, prefix: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Every value of `name` in a header list, in order, names compared
/// case-insensitively.
pub fn values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn serve(conn: TcpStream, received: Arc<Mutex<Vec<Received>>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    // Head and body are two writes: without this, Nagle holds the body until
    // Envoy's delayed ACK (~40 ms per request on a kept-alive connection).
    let _ = conn.set_nodelay(true);
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    while let Ok(Some(req)) = read_request(&mut reader) {
        if let Ok(mut r) = received.lock() {
            r.push(req.clone());
        }
        if respond(&mut writer, &req).is_err() {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn respond(w: &mut TcpStream, req: &Received) -> std::io::Result<()> {
    if let Some(ms) = req.header("x-echo-delay-ms").and_then(|v| v.parse().ok()) {
        thread::sleep(Duration::from_millis(ms));
    }
    let status: u16 = req
        .header("x-echo-status")
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let body = serde_json::to_vec_pretty(&req.to_json()).unwrap_or_default();
    let mut head = format!(
        "HTTP/1.1 {status} Echo\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for extra in req.header_values("x-echo-response-header") {
        if let Some((n, v)) = extra.split_once(':') {
            head.push_str(&format!("{}: {}\r\n", n.trim(), v.trim()));
        }
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(&body)?;
    w.flush()
}

/// Reads one HTTP/1.1 request; `Ok(None)` on a clean end of the connection.
pub(crate) fn read_request(r: &mut impl BufRead) -> std::io::Result<Option<Received>> {
    let Some(line) = read_line(r)? else {
        return Ok(None);
    };
    let mut parts = line.split_whitespace();
    let (method, path) = match (parts.next(), parts.next()) {
        (Some(m), Some(p)) => (m.to_string(), p.to_string()),
        _ => return Err(bad("bad request line")),
    };
    let headers = read_headers(r)?;
    let body = read_body(r, &headers)?;
    Ok(Some(Received {
        method,
        path,
        headers,
        body,
    }))
}

pub(crate) fn read_headers(r: &mut impl BufRead) -> std::io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?.ok_or_else(|| bad("eof in headers"))?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Ok(headers);
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
}

/// Body by content-length or chunked encoding (what Envoy sends upstream).
pub(crate) fn read_body(
    r: &mut impl BufRead,
    headers: &[(String, String)],
) -> std::io::Result<Vec<u8>> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let size = read_line(r)?.unwrap_or_default();
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                read_headers(r)?; // trailers
                return Ok(body);
            }
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk)?;
            chunk.truncate(size);
            body.extend(chunk);
        }
    }
    let len: usize = get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// One line, bytes that are not UTF-8 (obs-text) replaced rather than fatal.
pub(crate) fn read_line(r: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}
