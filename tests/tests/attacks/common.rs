//! Shared checks of the attack suite.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::Response;
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

/// A refusal by a Tollgate filter: `status`, JSON `{"error": error, ...}`.
pub fn assert_refused(r: &Response, status: u16, error: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{what}: {}",
        r.text()
    );
    assert_eq!(r.json()["error"], error, "{what}: {}", r.text());
}

/// Whether a response is a Tollgate filter's JSON refusal (else Envoy's own).
pub fn is_filter_reply(r: &Response) -> bool {
    r.header("content-type") == Some("application/json")
        && serde_json::from_slice::<serde_json::Value>(&r.body)
            .is_ok_and(|b| b["error"].is_string() && b["reason"].is_string())
}

/// Counts what reached the upstream, two independent ways: the echo
/// upstream's record and Envoy's `cluster.upstream.upstream_rq_total`.
pub struct Upstream<'a> {
    echo: &'a EchoServer,
    envoy: &'a Envoy,
    sent: u64,
}

impl<'a> Upstream<'a> {
    /// Starts counting from now.
    pub fn watch(echo: &'a EchoServer, envoy: &'a Envoy) -> Upstream<'a> {
        echo.clear();
        let sent = envoy.counter("cluster.upstream.upstream_rq_total");
        Upstream { echo, envoy, sent }
    }

    /// Nothing reached the upstream since [`Upstream::watch`].
    pub fn assert_nothing(&self, what: &str) {
        let received = self.echo.received();
        assert!(
            received.is_empty(),
            "{what}: the upstream received {:?}",
            received.iter().map(|r| &r.path).collect::<Vec<_>>()
        );
        let sent = self.envoy.counter("cluster.upstream.upstream_rq_total");
        assert_eq!(sent, self.sent, "{what}: Envoy sent requests upstream");
    }
}

/// Sends a request too large for Envoy's limits over HTTP/1.1: Envoy may
/// answer and close before it is all written, so a failed write is not an
/// error. Returns the status, or None when Envoy closed without one.
pub fn send_oversized_h1(port: u16, raw: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_write_timeout(Some(Duration::from_secs(10))).ok();
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    for chunk in raw.chunks(64 * 1024) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
        if out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out);
    text.lines().next()?.split_whitespace().nth(1)?.parse().ok()
}

/// Sends a GET over HTTP/2 with `curl`, the header read from a file (it
/// may be larger than a command line); returns the status, or None when
/// Envoy reset the stream.
pub fn send_oversized_h2(port: u16, path: &str, header: &str) -> Option<u16> {
    let file =
        std::env::temp_dir().join(format!("tollgate-attack-{}-{port}.hdr", std::process::id()));
    std::fs::write(&file, header).expect("write header file");
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--http2-prior-knowledge",
            "-m",
            "30",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("-H")
        .arg(format!("@{}", file.display()))
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    let _ = std::fs::remove_file(&file);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|s| *s != 0)
}

/// Envoy as an edge proxy: the HTTP connection manager with
/// `use_remote_address: true`, so the downstream address is the
/// connection's and not taken from a client's `x-forwarded-for`.
pub fn start_edge(b: &Bootstrap) -> Envoy {
    let mut config = b.to_json();
    config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        ["use_remote_address"] = serde_json::Value::Bool(true);
    let text = serde_json::to_string_pretty(&config).expect("json");
    Envoy::try_start_text(&text, "json", b.listener_port, b.admin_port, b.concurrency)
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log))
}
