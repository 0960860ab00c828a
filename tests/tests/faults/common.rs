//! What every row of the fault matrix checks.

use std::time::{Duration, Instant};
use tollgate_tests::client::{self, Response};
use tollgate_tests::envoy::Envoy;

/// What a loaded CI machine may add to a dependency's timeout before the
/// client has its answer. Generous on purpose: the point is "bounded by the
/// timeout", not a benchmark.
pub const MARGIN: Duration = Duration::from_millis(1500);

/// A body of this many bytes is over every limit a filter could sanely
/// have (JWKS 512 KiB, ext_authz deny body 64 KiB, a rate-limit answer of
/// a few hundred bytes).
pub const HUGE: usize = 8 << 20;

/// Runs `f` and measures it.
pub fn timed(f: impl FnOnce() -> Response) -> (Response, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// The answer came within `timeout` plus [`MARGIN`].
pub fn assert_within(took: Duration, timeout: Duration, what: &str) {
    assert!(
        took < timeout + MARGIN,
        "{what}: answered after {took:?}, timeout {timeout:?} + margin {MARGIN:?}"
    );
}

/// A refusal in the project's format: `status`, JSON `{"error", "reason"}`
/// with that `error` and a reason starting with `reason`.
pub fn assert_refused(r: &Response, status: u16, error: &str, reason: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{what}: {:?}",
        r.headers
    );
    let body = r.json();
    assert_eq!(body["error"], error, "{what}: {}", r.text());
    let got = body["reason"].as_str().unwrap_or_default();
    assert!(
        got.starts_with(reason),
        "{what}: reason {got:?}, want {reason:?}..."
    );
}

/// Envoy still runs and says it is ready.
pub fn assert_alive(envoy: &Envoy, what: &str) {
    let r = client::get(envoy.admin_port, "/ready")
        .unwrap_or_else(|e| panic!("{what}: Envoy's admin endpoint is gone: {e}"));
    assert_eq!(r.status, 200, "{what}: Envoy is not ready: {}", r.text());
}

/// Requests Envoy sent to a cluster (Envoy's own count, independent of what
/// the upstream recorded).
pub fn cluster_requests(envoy: &Envoy, cluster: &str) -> u64 {
    envoy.counter(&format!("cluster.{cluster}.upstream_rq_total"))
}

/// A Tollgate counter of `filter` (e.g. `("auth", "ext_authz_errors")`).
pub fn counter(envoy: &Envoy, filter: &str, name: &str) -> u64 {
    envoy.counter(&format!("tollgate.{filter}.{name}"))
}
