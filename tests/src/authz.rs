//! An HTTP authorization service for the ext_authz traffic tests: it answers
//! check requests by rules the test sets, and records every check it
//! received so tests can assert what the filter sent.
//!
//! Default rules: allow (200) when the check carries `x-allow: yes` or an
//! `authorization` value the test allowed ([`AuthzServer::allow_authorization`]);
//! otherwise deny with 403, `x-authz-reason: denied by the test service` and
//! the JSON body [`DENY_BODY`]; a check carrying `x-authz-status` gets that
//! status, and `x-authz-header: name: value` adds a header to any answer (several,
//! `a: 1 | b: 2`: the check may join repeated headers into one). [`AuthzServer::allow_header_present`] replaces
//! the `x-allow` rule (the demo service, [`crate::demo`]). Faults ([`Fault`]) and a delay apply to every
//! later check. The server stops when dropped.

use crate::echo::{read_request, Received};
use serde_json::Value;
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One check request as the service saw it (method, path, headers).
pub type Check = Received;

pub const DENY_BODY: &str = r#"{"error":"forbidden","reason":"denied by the test service"}"#;

/// How the service misbehaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answers by the rules.
    None,
    /// Reads the check, then closes the connection without a word.
    Close,
    /// Answers bytes that are not HTTP, then closes.
    Garbage,
    /// Answers every check with this status (e.g. 503) and a short body.
    Status(u16),
}

#[derive(Clone, Debug)]
struct Rules {
    allow_header: (String, String),
    /// Replaces `allow_header`: allow when this header is present with a
    /// value not listed.
    allow_present: Option<(String, Vec<String>)>,
    /// Response headers on allow copying a request header: (response, request).
    allow_response_headers_from: Vec<(String, String)>,
    allow_authorization: Vec<String>,
    allow_response_headers: Vec<(String, String)>,
    deny_status: u16,
    deny_body: String,
    deny_headers: Vec<(String, String)>,
    delay_ms: u64,
    fault: Fault,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            allow_header: ("x-allow".into(), "yes".into()),
            allow_present: None,
            allow_response_headers_from: Vec::new(),
            allow_authorization: Vec::new(),
            allow_response_headers: Vec::new(),
            deny_status: 403,
            deny_body: DENY_BODY.into(),
            deny_headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-authz-reason".into(), "denied by the test service".into()),
            ],
            delay_ms: 0,
            fault: Fault::None,
        }
    }
}

#[derive(Default)]
struct State {
    rules: Rules,
    received: Vec<Check>,
}

pub struct AuthzServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

/// Starts the service on a free loopback port.
pub fn start() -> AuthzServer {
    AuthzServer::start()
}

impl AuthzServer {
    pub fn start() -> AuthzServer {
        AuthzServer::start_on("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("authz server cannot listen: {e}"))
    }

    /// Like [`AuthzServer::start`] on a given address (e.g. `0.0.0.0:18082`).
    pub fn start_on(addr: &str) -> std::io::Result<AuthzServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, halt) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let st = st.clone();
                    thread::spawn(move || serve(conn, st));
                }
            }
        });
        Ok(AuthzServer { addr, state, stop })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// An Envoy cluster named `name` pointing at this service.
    pub fn cluster(&self, name: &str) -> Value {
        crate::bootstrap::cluster(name, self.port())
    }

    fn with(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }

    /// Allows checks whose request header `name` has `value` (default
    /// `x-allow: yes`).
    pub fn allow_header(&self, name: &str, value: &str) {
        self.with(|s| s.rules.allow_header = (name.to_ascii_lowercase(), value.into()));
    }

    /// Allows checks carrying request header `name` with any value but the
    /// ones in `except`, instead of the `allow_header` rule.
    pub fn allow_header_present(&self, name: &str, except: &[&str]) {
        self.with(|s| {
            s.rules.allow_present = Some((
                name.to_ascii_lowercase(),
                except.iter().map(|v| v.to_string()).collect(),
            ))
        });
    }

    /// On allow, sends response header `name` with the value of the check's
    /// request header `from` (when it has one).
    pub fn allow_response_header_from(&self, name: &str, from: &str) {
        self.with(|s| {
            s.rules
                .allow_response_headers_from
                .push((name.into(), from.to_ascii_lowercase()))
        });
    }

    /// Allows checks carrying `authorization: value`.
    pub fn allow_authorization(&self, value: &str) {
        self.with(|s| s.rules.allow_authorization.push(value.into()));
    }

    /// A header the service sends with every allow (e.g. `x-user: alice`).
    pub fn allow_response_header(&self, name: &str, value: &str) {
        self.with(|s| {
            s.rules
                .allow_response_headers
                .push((name.into(), value.into()))
        });
    }

    /// How the service denies: status, body and headers (replacing the
    /// default 403, [`DENY_BODY`], `content-type` and `x-authz-reason`).
    pub fn deny_with(&self, status: u16, body: &str, headers: &[(&str, &str)]) {
        self.with(|s| {
            s.rules.deny_status = status;
            s.rules.deny_body = body.into();
            s.rules.deny_headers = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
        });
    }

    /// Answers every later check `ms` late (0: at once).
    pub fn delay_ms(&self, ms: u64) {
        self.with(|s| s.rules.delay_ms = ms);
    }

    pub fn fault(&self, fault: Fault) {
        self.with(|s| s.rules.fault = fault);
    }

    /// Every check received so far, in order.
    pub fn received(&self) -> Vec<Check> {
        self.state
            .lock()
            .map(|s| s.received.clone())
            .unwrap_or_default()
    }

    pub fn calls(&self) -> usize {
        self.state.lock().map(|s| s.received.len()).unwrap_or(0)
    }

    /// Forgets the checks received (between phases of one test).
    pub fn clear(&self) {
        self.with(|s| s.received.clear());
    }
}

impl Drop for AuthzServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(conn: TcpStream, state: Arc<Mutex<State>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    while let Ok(Some(check)) = read_request(&mut reader) {
        let rules = match state.lock() {
            Ok(mut s) => {
                s.received.push(check.clone());
                s.rules.clone()
            }
            Err(_) => break,
        };
        if rules.delay_ms > 0 {
            thread::sleep(Duration::from_millis(rules.delay_ms));
        }
        let close = check
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let written = match &rules.fault {
            Fault::Close => break,
            Fault::Garbage => {
                let _ = writer.write_all(b"this is not HTTP\r\n\r\n\x00\xff");
                break;
            }
            Fault::Status(status) => write(&mut writer, *status, &[], "authz fault"),
            Fault::None => answer(&mut writer, &rules, &check),
        };
        if written.is_err() || close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn answer(w: &mut TcpStream, rules: &Rules, check: &Check) -> std::io::Result<()> {
    let by_header = match &rules.allow_present {
        Some((name, except)) => check
            .header(name)
            .is_some_and(|v| !except.iter().any(|e| e == v)),
        None => {
            let (name, value) = &rules.allow_header;
            check.header_values(name).contains(&value.as_str())
        }
    };
    let allowed = by_header
        || check
            .header_values("authorization")
            .iter()
            .any(|a| rules.allow_authorization.iter().any(|ok| ok == a));
    // Per-check controls (twin tests, which send many shapes to one
    // service): `x-authz-status: 401` answers that status with the deny
    // body, `x-authz-header: name: value` adds a header to the answer.
    let extra = check
        .header_values("x-authz-header")
        .into_iter()
        .flat_map(|h| h.split(" | "))
        .filter_map(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        })
        .collect::<Vec<_>>();
    if let Some(status) = check.header("x-authz-status").and_then(|s| s.parse().ok()) {
        let mut headers = rules.deny_headers.clone();
        headers.extend(extra);
        let body = if status == 200 { "" } else { &rules.deny_body };
        return write(w, status, &headers, body);
    }
    if allowed {
        let mut headers = rules.allow_response_headers.clone();
        headers.extend(extra.clone());
        for (name, from) in &rules.allow_response_headers_from {
            if let Some(v) = check.header(from) {
                headers.push((name.clone(), v.to_string()));
            }
        }
        write(w, 200, &headers, "")
    } else {
        let mut headers = rules.deny_headers.clone();
        headers.extend(extra);
        write(w, rules.deny_status, &headers, &rules.deny_body)
    }
}

fn write(
    w: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} Authz\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body.as_bytes())?;
    w.flush()
}
