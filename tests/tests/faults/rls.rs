//! The rate-limit service failing every way (ratelimit filter, global
//! mode), against `tollgate-rls` with its fault modes: `failure_mode_deny`
//! off (the request passes, counted `failure_mode_allowed`) and on (503 by
//! `status_on_error`, never reaching the upstream). "Down" comes last: the
//! service is stopped for good.

use crate::common::{
    assert_alive, assert_refused, assert_within, cluster_requests, counter, timed, HUGE,
};
use serde_json::json;
use std::time::Duration;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::rls::RateLimitService;

const TIMEOUT: Duration = Duration::from_millis(500);

/// (name, tollgate-rls fault command, delay in ms); "down" is handled apart.
fn table() -> Vec<(&'static str, String, u64)> {
    let slow = 4 * TIMEOUT.as_millis() as u64;
    vec![
        ("slow", "none".into(), slow),
        ("http_503", "http-status 503".into(), 0),
        ("grpc_unavailable", "status UNAVAILABLE".into(), 0),
        ("grpc_internal", "status INTERNAL".into(), 0),
        ("garbage_ok", "garbage".into(), 0),
        ("not_grpc_200", "not-grpc".into(), 0),
        ("huge", format!("huge {HUGE}"), 0),
    ]
}

fn config(deny: bool) -> serde_json::Value {
    json!({
        "rate_limit_service": {
            "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}},
            "domain": "tollgate",
            "timeout": "0.5s",
            "failure_mode_deny": deny
        },
        "descriptors": [{"name": "per_key",
                         "key": [{"request_headers": {"header_name": "x-api-key", "descriptor_key": "api_key"}}]}]
    })
}

fn get(port: u16, path: &str, proto: Proto) -> Response {
    Request::get(path)
        .header("x-api-key", "k")
        .send(port, proto)
}

/// The answer to a failed call in each mode.
fn check(r: &Response, took: Duration, deny: bool, what: &str) {
    assert_within(took, TIMEOUT, what);
    if deny {
        assert_refused(
            r,
            503,
            "unavailable",
            "the rate-limit service is unavailable",
            what,
        );
        assert!(r.header("retry-after").is_none(), "{what}");
    } else {
        assert_eq!(r.status, 200, "{what}: {}", r.text());
    }
}

fn matrix(deny: bool) {
    let mode = if deny {
        "failure_mode_deny"
    } else {
        "fail open"
    };
    let limits = json!([{"namespace": "tollgate", "max_value": 1000, "seconds": 60,
                         "variables": ["descriptors[0].api_key"]}]);
    let mut rls = RateLimitService::start(&limits, &[]);
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("ratelimit", &config(deny))
            .cluster(rls.cluster("ratelimit")),
    );
    let port = envoy.port;
    assert_eq!(get(port, "/warm", Proto::H1).status, 200);
    let table = table();
    let mut forwarded = 1;
    for (name, fault, delay) in &table {
        rls.fault(fault);
        rls.delay_ms(*delay);
        for proto in BOTH {
            let what = format!("RLS {name}, {mode}, {proto:?}");
            let (r, took) = timed(|| get(port, &format!("/f/{name}"), proto));
            check(&r, took, deny, &what);
            if *delay > 0 {
                assert!(
                    tollgate_tests::waited_for(took, TIMEOUT),
                    "{what}: answered before the timeout ({took:?})"
                );
            }
            forwarded += u64::from(!deny);
        }
        rls.fault("none");
        rls.delay_ms(0);
        // The same VM keeps serving: the service answers again.
        let r = get(port, "/next", Proto::H1);
        assert_eq!(r.status, 200, "after {name} ({mode}): {}", r.text());
        forwarded += 1;
        assert_alive(&envoy, name);
    }
    rls.stop();
    for proto in BOTH {
        let what = format!("RLS down, {mode}, {proto:?}");
        let (r, took) = timed(|| get(port, "/f/down", proto));
        check(&r, took, deny, &what);
        forwarded += u64::from(!deny);
    }
    // A request with no descriptor asks nothing and passes.
    assert_eq!(Request::get("/no-key").send(port, Proto::H2).status, 200);
    forwarded += 1;
    assert_alive(&envoy, "down");

    let failures = 2 * (table.len() as u64 + 1);
    if deny {
        assert!(
            echo.received_under("/f/").is_empty(),
            "a refused request reached the upstream"
        );
    } else {
        assert_eq!(echo.received_under("/f/").len() as u64, failures);
    }
    assert_eq!(cluster_requests(&envoy, "upstream"), forwarded);
    let c = |n: &str| counter(&envoy, "ratelimit", n);
    assert_eq!(c("service_errors"), failures, "{mode}");
    assert_eq!(c("service_ok"), 1 + table.len() as u64, "{mode}");
    let (allowed, denied) = if deny { (0, failures) } else { (failures, 0) };
    assert_eq!(c("failure_mode_allowed"), allowed, "{mode}");
    assert_eq!(c("failure_mode_denied"), denied, "{mode}");
}

#[test]
fn rate_limit_service_failures_fail_open_by_default() {
    matrix(false);
}

#[test]
fn rate_limit_service_failures_fail_closed_with_failure_mode_deny() {
    matrix(true);
}
