//! The authorization service failing every way (auth filter, ext_authz),
//! with `failure_mode_allow` off (503 by `status_on_error`) and on (the
//! request passes, marked `x-envoy-auth-failure-mode-allowed: true`).
//!
//! Not every odd answer is a failure, as in Envoy's HTTP ext_authz client:
//! a 200 whatever its body allows, and a 4xx is the service's denial (its
//! body replaced by the project's JSON when over 64 KiB). Those rows are in
//! the table too, with the same result in both modes.

use crate::common::{
    assert_alive, assert_refused, assert_within, cluster_requests, counter, timed, HUGE,
};
use serde_json::json;
use std::time::Duration;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::faulty::{Fault, FaultyServer};

const TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// A failed call: `failure_mode_allow` decides.
    Failure,
    /// The service allowed (any 2xx).
    Allowed,
    /// The service denied with 403 and a body too large to pass on.
    DeniedHuge,
}

fn table() -> Vec<(&'static str, Fault, Outcome)> {
    use Outcome::*;
    vec![
        ("down", Fault::Down, Failure),
        ("slow", Fault::Slow(TIMEOUT * 5), Failure),
        ("500", Fault::Status(500), Failure),
        ("503", Fault::Status(503), Failure),
        ("not_http", Fault::NotHttp, Failure),
        ("huge_503", Fault::Huge(503, HUGE), Failure),
        ("garbage_200", Fault::Garbage200, Allowed),
        ("huge_200", Fault::Huge(200, HUGE), Allowed),
        ("huge_403", Fault::Huge(403, HUGE), DeniedHuge),
    ]
}

fn config(failure_mode_allow: bool) -> serde_json::Value {
    json!({
        "ext_authz": {
            "http_service": {
                "server_uri": {"uri": "http://authz.test", "cluster": "authz", "timeout": "0.5s"},
                "path_prefix": "/check"
            },
            "failure_mode_allow": failure_mode_allow,
            "failure_mode_allow_header_add": failure_mode_allow,
            "status_on_error": {"code": 503}
        },
        "rules": [{"match": {"path": {"prefix": "/ext"}}, "requires": {"ext_authz": {}}}]
    })
}

fn get(port: u16, path: &str, proto: Proto) -> Response {
    Request::get(path)
        .header("x-tollgate-identity", "spoofed")
        .send(port, proto)
}

fn matrix(failure_mode_allow: bool) {
    let mode = if failure_mode_allow {
        "fail open"
    } else {
        "fail closed"
    };
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let authz = FaultyServer::start("");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &config(failure_mode_allow))
            .cluster(authz.cluster("authz")),
    );
    let port = envoy.port;
    assert_eq!(get(port, "/ext/warm", Proto::H1).status, 200);
    let table = table();
    let mut forwarded = 1;
    for (name, fault, outcome) in &table {
        authz.set(fault.clone());
        for proto in BOTH {
            let what = format!("ext_authz {name}, {mode}, {proto:?}");
            let path = format!("/ext/{name}");
            let (r, took) = timed(|| get(port, &path, proto));
            assert_within(took, TIMEOUT, &what);
            match (outcome, failure_mode_allow) {
                (Outcome::Failure, false) => {
                    assert_refused(
                        &r,
                        503,
                        "unavailable",
                        "authorization service unavailable",
                        &what,
                    );
                }
                (Outcome::Failure, true) => {
                    assert_eq!(r.status, 200, "{what}: {}", r.text());
                    let marker = r.upstream_header_values("x-envoy-auth-failure-mode-allowed");
                    assert_eq!(marker, ["true"], "{what}");
                    forwarded += 1;
                }
                (Outcome::Allowed, _) => {
                    assert_eq!(r.status, 200, "{what}: {}", r.text());
                    let marker = r.upstream_header_values("x-envoy-auth-failure-mode-allowed");
                    assert!(marker.is_empty(), "{what}: not a failure");
                    forwarded += 1;
                }
                (Outcome::DeniedHuge, _) => {
                    assert_refused(
                        &r,
                        403,
                        "denied",
                        "denied by the authorization service",
                        &what,
                    );
                }
            }
            if r.status == 200 {
                let identity = r.upstream_header_values("x-tollgate-identity");
                assert!(
                    identity.is_empty(),
                    "{what}: spoofed identity passed: {identity:?}"
                );
            }
            if *name == "slow" {
                assert!(
                    tollgate_tests::waited_for(took, TIMEOUT),
                    "{what}: answered before the timeout ({took:?})"
                );
            }
        }
        // The same VM serves the next request once the service is back.
        authz.set(Fault::None);
        let r = get(port, "/ext/next", Proto::H1);
        assert_eq!(r.status, 200, "after {name} ({mode}): {}", r.text());
        assert!(r
            .upstream_header_values("x-envoy-auth-failure-mode-allowed")
            .is_empty());
        forwarded += 1;
        assert_alive(&envoy, name);
    }
    assert_eq!(
        cluster_requests(&envoy, "upstream"),
        forwarded,
        "{mode}: only allowed requests went upstream"
    );
    assert_eq!(echo.received().len() as u64, forwarded);
    let count = |o: Outcome| 2 * table.iter().filter(|row| row.2 == o).count() as u64;
    let (failures, allowed, denied) = (
        count(Outcome::Failure),
        count(Outcome::Allowed),
        count(Outcome::DeniedHuge),
    );
    let c = |n: &str| counter(&envoy, "auth", n);
    assert_eq!(c("ext_authz_errors"), failures, "{mode}");
    assert_eq!(c("ext_authz_denied"), denied, "{mode}");
    assert_eq!(
        c("ext_authz_allowed"),
        allowed + 1 + table.len() as u64,
        "{mode}"
    );
    if failure_mode_allow {
        assert_eq!(c("ext_authz_failure_mode_allowed"), failures);
        assert_eq!(c("denied.ext_authz"), denied);
    } else {
        assert_eq!(c("ext_authz_failure_mode_allowed"), 0);
        assert_eq!(c("denied.ext_authz"), failures + denied);
    }
}

#[test]
fn authz_service_failures_fail_closed() {
    matrix(false);
}

#[test]
fn authz_service_failures_fail_open_with_failure_mode_allow() {
    matrix(true);
}
