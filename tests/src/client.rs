//! HTTP clients for traffic tests. HTTP/1.1 is spoken by hand over a socket,
//! so tests can send exactly the bytes an attacker would (odd paths, raw
//! header values). HTTP/2 goes through `curl --http2-prior-knowledge`, a real
//! independent h2 client.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    H1,
    H2,
}

pub const BOTH: [Proto; 2] = [Proto::H1, Proto::H2];

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        crate::echo::values(&self.headers, name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).first().copied()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// For an echo-upstream response: every value of a header the upstream saw.
    pub fn upstream_header_values(&self, name: &str) -> Vec<String> {
        match &self.json()["headers"][name] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => vec![],
        }
    }
}

/// A request to send to Envoy.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            headers: vec![],
            body: vec![],
        }
    }

    pub fn method(mut self, m: &str) -> Request {
        self.method = m.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: &[u8]) -> Request {
        self.body = body.to_vec();
        self
    }

    /// Send to `127.0.0.1:port` with the given protocol.
    pub fn send(&self, port: u16, proto: Proto) -> Response {
        match proto {
            Proto::H1 => self.send_h1(port),
            Proto::H2 => self.send_h2(port),
        }
        .unwrap_or_else(|e| panic!("{proto:?} {} {}: {e}", self.method, self.path))
    }

    fn send_h1(&self, port: u16) -> std::io::Result<Response> {
        let mut raw = format!(
            "{} {} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
            self.method,
            self.path,
            self.body.len()
        )
        .into_bytes();
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            raw.extend_from_slice(b"host: localhost\r\n");
        }
        for (n, v) in &self.headers {
            raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&self.body);
        send_raw(port, &raw)
    }

    fn send_h2(&self, port: u16) -> std::io::Result<Response> {
        let dir = std::env::temp_dir().join(format!(
            "tollgate-curl-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir)?;
        let (head, body) = (dir.join("head"), dir.join("body"));
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--http2-prior-knowledge", "--path-as-is", "-m", "30"])
            .args(["-X", &self.method])
            .arg("-D")
            .arg(&head)
            .arg("-o")
            .arg(&body);
        for (n, v) in &self.headers {
            cmd.arg("-H").arg(format!("{n}: {v}"));
        }
        if !self.body.is_empty() {
            cmd.arg("--data-binary")
                .arg(String::from_utf8_lossy(&self.body).into_owned());
        }
        cmd.arg(format!("http://127.0.0.1:{port}{}", self.path));
        let out = cmd.output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "curl failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let head_text = std::fs::read_to_string(&head)?;
        let body = std::fs::read(&body).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        parse_head(&head_text, body)
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A response from curl's `-D` header dump and the body.
fn parse_head(head_text: &str, body: Vec<u8>) -> std::io::Result<Response> {
    let mut lines = head_text.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status in {head_text:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Send raw bytes as an HTTP/1.1 request and read the response to its end
/// (the request should carry `connection: close`).
pub fn send_raw(port: u16, raw: &[u8]) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(raw)?;
    let mut r = BufReader::new(s);
    let line = crate::echo::read_line(&mut r)?.unwrap_or_default();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let headers = crate::echo::read_headers(&mut r)?;
    let has_len = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-length")
            || (n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"))
    });
    let body = if has_len {
        crate::echo::read_body(&mut r, &headers)?
    } else {
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        b
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A plain GET over HTTP/1.1 (admin endpoint and the like).
pub fn get(port: u16, path: &str) -> std::io::Result<Response> {
    Request::get(path).send_h1(port)
}

/// An `Authorization: Basic` value for `user` and `password`.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", b64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 (no crate needed for a test helper).
pub fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
