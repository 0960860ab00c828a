//! Steady load for reload and soak tests: client threads each keep one
//! HTTP/1.1 keep-alive connection to Envoy and send requests on it
//! continuously, recording every outcome. A connection is reopened only when
//! Envoy ended the previous one gracefully (its last response carried
//! `connection: close`, as Envoy's HTTP/1 drain does); any other end of a
//! connection is a failed request, recorded as such.

use crate::client::{Request, Response};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One keep-alive HTTP/1.1 connection, opened on first use and again after
/// Envoy closes it gracefully.
pub struct Conn {
    port: u16,
    reader: Option<BufReader<TcpStream>>,
    /// Connections opened so far.
    pub opened: u64,
    /// The last response carried `connection: close` (Envoy then closes).
    pub closed_by_server: bool,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        Conn {
            port,
            reader: None,
            opened: 0,
            closed_by_server: false,
        }
    }

    /// Sends `req` on the connection and reads the whole response. An error
    /// drops the connection (the next request opens a new one).
    pub fn send(&mut self, req: &Request) -> std::io::Result<Response> {
        let out = self.exchange(req);
        if out.is_err() {
            self.reader = None;
        }
        out
    }

    fn exchange(&mut self, req: &Request) -> std::io::Result<Response> {
        if self.reader.is_none() {
            let s = TcpStream::connect(("127.0.0.1", self.port))?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            s.set_nodelay(true)?;
            self.reader = Some(BufReader::new(s));
            self.opened += 1;
        }
        let Some(reader) = self.reader.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        let mut raw = format!(
            "{} {} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n",
            req.method,
            req.path,
            req.body.len()
        )
        .into_bytes();
        for (n, v) in &req.headers {
            raw.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&req.body);
        reader.get_mut().write_all(&raw)?;
        let line = crate::echo::read_line(reader)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            )
        })?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let headers = crate::echo::read_headers(reader)?;
        // Envoy frames every keep-alive response (content-length or chunked).
        let body = crate::echo::read_body(reader, &headers)?;
        self.closed_by_server = crate::echo::values(&headers, "connection")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("close"));
        if self.closed_by_server {
            self.reader = None;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// What one request gave: `Ok(class)` for an expected response (the class
/// names the behaviour it showed), `Err(why)` for a failure.
pub type Outcome = Result<&'static str, String>;

#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub outcome: Outcome,
    /// Envoy closed the connection gracefully after this response.
    pub server_closed: bool,
}

/// Client threads sending until [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<(Vec<Sample>, u64)>>,
}

/// What each thread recorded: its samples in order and how many
/// connections it opened.
pub struct Recorded {
    pub threads: Vec<(Vec<Sample>, u64)>,
}

impl Load {
    /// `threads` clients against `127.0.0.1:port`, each waiting `pace`
    /// between requests. `each(thread, n, conn)` sends request `n` of that
    /// thread on `conn` and classifies the response.
    pub fn start<F>(port: u16, threads: usize, pace: Duration, each: F) -> Load
    where
        F: Fn(usize, u64, &mut Conn) -> Outcome + Send + Sync + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let each = Arc::new(each);
        let threads = (0..threads)
            .map(|t| {
                let (stop, each) = (stop.clone(), each.clone());
                std::thread::spawn(move || {
                    let mut conn = Conn::new(port);
                    let mut samples = Vec::new();
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        conn.closed_by_server = false;
                        let outcome = each(t, n, &mut conn);
                        samples.push(Sample {
                            at: Instant::now(),
                            outcome,
                            server_closed: conn.closed_by_server,
                        });
                        n += 1;
                        if !pace.is_zero() {
                            std::thread::sleep(pace);
                        }
                    }
                    (samples, conn.opened)
                })
            })
            .collect();
        Load { stop, threads }
    }

    /// Stops the clients and returns what they recorded.
    pub fn finish(self) -> Recorded {
        self.stop.store(true, Ordering::SeqCst);
        let threads = self
            .threads
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("a load thread panicked"))
            })
            .collect();
        Recorded { threads }
    }
}

impl Recorded {
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.threads.iter().flat_map(|(s, _)| s.iter())
    }

    pub fn total(&self) -> usize {
        self.samples().count()
    }

    /// Failed requests, at most `max` of them described.
    pub fn failures(&self, max: usize) -> (usize, Vec<String>) {
        let failed: Vec<&String> = self
            .samples()
            .filter_map(|s| s.outcome.as_ref().err())
            .collect();
        let shown = failed.iter().take(max).map(|s| s.to_string()).collect();
        (failed.len(), shown)
    }

    /// Requests whose outcome was `class`.
    pub fn count(&self, class: &str) -> usize {
        self.samples()
            .filter(|s| s.outcome.as_ref().is_ok_and(|c| *c == class))
            .count()
    }

    /// Graceful closes by Envoy, and connections opened in all.
    pub fn connections(&self) -> (usize, u64) {
        let closed = self.samples().filter(|s| s.server_closed).count();
        (closed, self.threads.iter().map(|(_, o)| o).sum())
    }
}
