//! A dependency that fails on demand, for the fault matrix: an HTTP/1.1
//! server (a JWKS endpoint, an authorization service) whose every answer
//! follows the [`Fault`] set at the time, including being down (its port
//! refuses connections) and coming back on the same port.
//!
//! Every answer carries `connection: close` and the connection ends with it,
//! so Envoy keeps no pooled connection: a fault applies to the very next
//! call, and "down" is a refused connection, not a reset of an idle one.

use crate::echo::read_request;
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the server answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 200 with the good body given at start.
    None,
    /// Nothing listens: connections are refused.
    Down,
    /// The good answer, this late.
    Slow(Duration),
    /// This status (e.g. 503) with a short text body.
    Status(u16),
    /// 200 whose body is bytes that are neither JSON nor UTF-8.
    Garbage200,
    /// 200 with this body (e.g. JSON the client cannot use).
    Body200(String),
    /// Bytes that are not HTTP at all, then the connection closes.
    NotHttp,
    /// This status with a body of this many bytes (valid JSON: only a size
    /// limit can refuse it).
    Huge(u16, usize),
}

struct Shared {
    fault: Mutex<Fault>,
    good: Vec<u8>,
    hits: AtomicU64,
    stop: AtomicBool,
}

pub struct FaultyServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultyServer {
    /// Listens on a free loopback port; answers 200 `application/json` with
    /// `good` until told otherwise.
    pub fn start(good: &str) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind faulty server");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::None),
            good: good.as_bytes().to_vec(),
            hits: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, addr, &s));
        FaultyServer { addr, shared }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A static cluster named `name` pointing at this server.
    pub fn cluster(&self, name: &str) -> serde_json::Value {
        crate::bootstrap::cluster(name, self.port())
    }

    /// Sets how later requests are answered; `Down` closes the port within
    /// a few milliseconds, anything else opens it again.
    pub fn set(&self, fault: Fault) {
        if let Ok(mut f) = self.shared.fault.lock() {
            *f = fault;
        }
        // Let the accept loop (polling every 5 ms) close or reopen the port.
        thread::sleep(Duration::from_millis(30));
    }

    /// Requests that reached the server (answered or not).
    pub fn hits(&self) -> u64 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    fn fault(&self) -> Fault {
        fault(&self.shared)
    }

    /// Whether the port refuses connections now.
    pub fn is_down(&self) -> bool {
        self.fault() == Fault::Down
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn fault(s: &Shared) -> Fault {
    s.fault.lock().map(|f| f.clone()).unwrap_or(Fault::None)
}

/// Accepts while up; drops the listener while down and binds the same
/// address again when up (std sets SO_REUSEADDR, so the port is free at once).
fn accept_loop(listener: TcpListener, addr: SocketAddr, s: &Arc<Shared>) {
    let mut listener = Some(listener);
    while !s.stop.load(Ordering::SeqCst) {
        let down = fault(s) == Fault::Down;
        if down {
            listener = None;
        } else if listener.is_none() {
            listener = TcpListener::bind(addr).ok();
        }
        let Some(l) = &listener else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = l.set_nonblocking(true);
        match l.accept() {
            Ok((conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let s = s.clone();
                thread::spawn(move || serve(conn, &s));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve(conn: TcpStream, s: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    if !matches!(read_request(&mut reader), Ok(Some(_))) {
        return;
    }
    s.hits.fetch_add(1, Ordering::SeqCst);
    let _ = match fault(s) {
        Fault::None | Fault::Down => answer(&mut w, 200, "application/json", &s.good),
        Fault::Slow(d) => {
            thread::sleep(d);
            answer(&mut w, 200, "application/json", &s.good)
        }
        Fault::Status(status) => answer(&mut w, status, "text/plain", b"injected fault"),
        Fault::Garbage200 => answer(&mut w, 200, "application/json", b"\x00\xff{not json\xfe"),
        Fault::Body200(body) => answer(&mut w, 200, "application/json", body.as_bytes()),
        Fault::NotHttp => w.write_all(b"this is not HTTP\r\n\r\n\x00\xff"),
        Fault::Huge(status, size) => answer(&mut w, status, "application/json", &huge_json(size)),
    };
    let _ = w.flush();
    let _ = w.shutdown(Shutdown::Both);
}

/// `{"keys":[],"pad":"xxx..."}` of exactly `size` bytes (at least its frame).
pub fn huge_json(size: usize) -> Vec<u8> {
    let (head, tail) = (br#"{"keys":[],"pad":""#.as_slice(), br#""}"#.as_slice());
    let pad = size.saturating_sub(head.len() + tail.len());
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(head);
    body.resize(head.len() + pad, b'x');
    body.extend_from_slice(tail);
    body
}

fn answer(w: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} Fault\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body)
}
