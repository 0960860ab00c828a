//! Traffic tests of the ratelimit filter's global mode through a real Envoy,
//! against a real rate-limit service (`tests/rls`: limitador behind Envoy's
//! RLS v3 gRPC protocol), including the service failing every way it can.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tollgate_tests::bootstrap::{user_file_with_rls, Bootstrap};
use tollgate_tests::client::{Proto, Request, Response};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::rls::RateLimitService;

/// `max` per minute per `api_key` (the first descriptor).
fn per_key(max: u64) -> Value {
    json!([{"namespace": "tollgate", "max_value": max, "seconds": 60, "name": "per-key",
            "variables": ["descriptors[0].api_key"]}])
}

/// The filter's configuration: one global descriptor keyed by x-api-key.
fn config(service: Value) -> Value {
    let mut rls = json!({
        "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}},
        "domain": "tollgate"
    });
    if let (Some(rls), Some(extra)) = (rls.as_object_mut(), service.as_object()) {
        rls.extend(extra.clone());
    }
    json!({
        "rate_limit_service": rls,
        "descriptors": [{"name": "per_api_key",
                         "key": [{"request_headers": {"header_name": "x-api-key", "descriptor_key": "api_key"}}]}]
    })
}

fn start(rls: &RateLimitService, config: &Value) -> (EchoServer, Envoy) {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("ratelimit", config)
            .cluster(rls.cluster("ratelimit")),
    );
    (echo, envoy)
}

fn send(envoy: &Envoy, path: &str, key: &str) -> Response {
    Request::get(path)
        .header("x-api-key", key)
        .send(envoy.port, Proto::H1)
}

/// Sends and measures.
fn timed(envoy: &Envoy, path: &str, key: &str) -> (Response, Duration) {
    let t = Instant::now();
    let r = send(envoy, path, key);
    (r, t.elapsed())
}

#[test]
fn limited_by_the_service_per_key_with_its_headers() {
    let rls = RateLimitService::start(
        &per_key(3),
        &[
            "--rate-limit-headers",
            "--request-header",
            "x-rls-checked: yes",
        ],
    );
    let (echo, envoy) = start(&rls, &config(json!({"timeout": "2s"})));
    for (i, remaining) in ["2", "1", "0"].into_iter().enumerate() {
        let proto = if i % 2 == 0 { Proto::H1 } else { Proto::H2 };
        let r = Request::get("/g/a")
            .header("x-api-key", "a")
            .header("x-rls-checked", "spoofed")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        // The service's response_headers_to_add, exactly once; its
        // request_headers_to_add replace what the client sent.
        assert_eq!(r.header_values("x-ratelimit-remaining"), [remaining]);
        assert_eq!(
            r.header_values("x-ratelimit-limit"),
            ["3, 3;w=60;name=\"per-key\""]
        );
        assert_eq!(r.upstream_header_values("x-rls-checked"), ["yes"]);
    }
    // A body waits for the decision as well, then goes through.
    let r = Request::get("/g/b")
        .method("POST")
        .header("x-api-key", "b")
        .body(b"payload")
        .send(envoy.port, Proto::H1);
    assert_eq!(r.status, 200, "{}", r.text());

    let r = send(&envoy, "/g/a", "a");
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.json()["error"], "rate_limited");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        r.header_values("x-ratelimit-remaining"),
        ["0"],
        "{:?}",
        r.headers
    );
    assert_eq!(r.header_values("retry-after").len(), 1);
    assert_eq!(echo.received_under("/g/a").len(), 3);

    // No x-api-key: no descriptor, no call.
    let calls = rls.calls();
    assert_eq!(
        Request::get("/g/none").send(envoy.port, Proto::H1).status,
        200
    );
    assert_eq!(rls.calls(), calls);

    // What the service received is what the configuration says.
    let seen = rls.requests();
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen[0],
        json!({"domain": "tollgate", "hits_addend": 1,
               "descriptors": [{"entries": [{"key": "api_key", "value": "a"}]}]})
    );
    assert_eq!(seen[3]["descriptors"][0]["entries"][0]["value"], "b");
    assert_eq!(envoy.counter("tollgate.ratelimit.service_ok"), 4);
    assert_eq!(envoy.counter("tollgate.ratelimit.allowed"), 4);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_over_limit"), 1);
    assert_eq!(envoy.counter("tollgate.ratelimit.limited"), 1);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_errors"), 0);
}

#[test]
fn shadow_mode_and_hits_addend() {
    let rls = RateLimitService::start(&per_key(4), &[]);
    let mut c = config(json!({"timeout": "2s", "hits_addend": 2}));
    c["filter_enforced"] = json!({"default_value": {"numerator": 0}});
    let (echo, envoy) = start(&rls, &c);
    for _ in 0..3 {
        assert_eq!(send(&envoy, "/s", "a").status, 200);
    }
    assert_eq!(echo.received_under("/s").len(), 3);
    assert_eq!(rls.requests()[0]["hits_addend"], 2);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_ok"), 2);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_over_limit"), 1);
    assert_eq!(envoy.counter("tollgate.ratelimit.shadow_limited"), 1);
    assert_eq!(envoy.counter("tollgate.ratelimit.limited"), 0);
}

const TIMEOUT_MS: u64 = 100;
/// Envoy's timer and a loaded machine: the answer comes within the timeout
/// plus this.
const MARGIN_MS: u64 = 1_000;

/// Every failure in turn: garbage, not gRPC, a gRPC error, too slow, down.
/// Returns the responses and how long each took.
fn failures(deny: bool) -> (EchoServer, Envoy, Vec<(&'static str, Response, Duration)>) {
    let mut rls = RateLimitService::start(&per_key(100), &[]);
    let (echo, envoy) = start(
        &rls,
        &config(json!({"timeout": format!("{TIMEOUT_MS}ms"), "failure_mode_deny": deny})),
    );
    // Warm up the connection to the service (and check it works).
    assert_eq!(send(&envoy, "/warm", "w").status, 200);
    let mut out = vec![];
    for (name, fault) in [
        ("garbage", "garbage"),
        ("not-grpc", "not-grpc"),
        ("unavailable", "status UNAVAILABLE"),
    ] {
        rls.fault(fault);
        let (r, took) = timed(&envoy, &format!("/f/{name}"), "a");
        out.push((name, r, took));
    }
    rls.fault("none");
    rls.delay_ms(TIMEOUT_MS * 15); // longer than timeout + margin: a missed timeout shows
    let (r, took) = timed(&envoy, "/f/slow", "a");
    out.push(("slow", r, took));
    // A body does not slip past a pending decision.
    let t = Instant::now();
    let r = Request::get("/f/slow-post")
        .method("POST")
        .header("x-api-key", "a")
        .body(b"payload")
        .send(envoy.port, Proto::H1);
    out.push(("slow-post", r, t.elapsed()));
    rls.delay_ms(0);
    // The VM keeps serving: the service answers again.
    assert_eq!(send(&envoy, "/ok-again", "a").status, 200);
    rls.stop();
    let (r, took) = timed(&envoy, "/f/down", "a");
    out.push(("down", r, took));
    (echo, envoy, out)
}

fn check_timing(name: &str, took: Duration) {
    eprintln!("{name}: {took:?}");
    assert!(
        took < Duration::from_millis(TIMEOUT_MS + MARGIN_MS),
        "{name} took {took:?}"
    );
}

#[test]
fn service_failures_fail_open_by_default() {
    let (echo, envoy, out) = failures(false);
    for (name, r, took) in &out {
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        check_timing(name, *took);
    }
    let slow = out.iter().find(|(n, ..)| *n == "slow").map(|(_, _, t)| *t);
    assert!(
        slow.is_some_and(|t| tollgate_tests::waited_for(t, Duration::from_millis(TIMEOUT_MS))),
        "{slow:?}"
    );
    assert_eq!(echo.received_under("/f/").len(), out.len());
    assert_eq!(
        envoy.counter("tollgate.ratelimit.service_errors"),
        out.len() as u64
    );
    assert_eq!(
        envoy.counter("tollgate.ratelimit.failure_mode_allowed"),
        out.len() as u64
    );
    assert_eq!(envoy.counter("tollgate.ratelimit.failure_mode_denied"), 0);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_ok"), 2);
    assert_eq!(
        Request::get("/after").send(envoy.port, Proto::H2).status,
        200
    );
}

#[test]
fn service_failures_fail_closed_with_failure_mode_deny() {
    let (echo, envoy, out) = failures(true);
    for (name, r, took) in &out {
        assert_eq!(r.status, 503, "{name}: {}", r.text());
        assert_eq!(r.json()["error"], "unavailable", "{name}");
        assert!(r.header("retry-after").is_none());
        check_timing(name, *took);
    }
    assert!(
        echo.received_under("/f/").is_empty(),
        "a denied request reached the upstream"
    );
    assert_eq!(
        envoy.counter("tollgate.ratelimit.service_errors"),
        out.len() as u64
    );
    assert_eq!(
        envoy.counter("tollgate.ratelimit.failure_mode_denied"),
        out.len() as u64
    );
    assert_eq!(envoy.counter("tollgate.ratelimit.failure_mode_allowed"), 0);
    // Requests that ask nothing still pass.
    assert_eq!(
        Request::get("/after").send(envoy.port, Proto::H2).status,
        200
    );
}

#[test]
fn status_on_error_is_configurable() {
    let mut rls = RateLimitService::start(&per_key(1), &[]);
    rls.stop();
    let (_echo, envoy) = start(
        &rls,
        &config(
            json!({"failure_mode_deny": true, "status_on_error": {"code": "InternalServerError"}}),
        ),
    );
    let r = send(&envoy, "/x", "a");
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.json()["error"], "unavailable");
}

/// The shipped file: limited per key by the service, local bucket per client.
#[test]
fn ratelimit_global_yaml_carries_traffic() {
    let rls = RateLimitService::start(&per_key(2), &["--rate-limit-headers"]);
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (text, port, admin) = user_file_with_rls("ratelimit-global.yaml", echo.port(), rls.port());
    // The file keeps Envoy's 20 ms default, which a loaded CI machine can miss
    // (the request then fails open); this test is about the file's wiring,
    // the timeout itself is tested with a slow service above.
    assert!(text.contains(r#""timeout": "20ms""#));
    let text = text.replace(r#""timeout": "20ms""#, r#""timeout": "5s""#);
    let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 2)
        .unwrap_or_else(|f| panic!("ratelimit-global.yaml: {}", f.log));
    let statuses: Vec<u16> = (0..3)
        .map(|_| {
            Request::get("/y")
                .header("x-api-key", "k")
                .send(envoy.port, Proto::H1)
                .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    let r = Request::get("/y").send(envoy.port, Proto::H1);
    assert_eq!(r.status, 200);
    // The local per-client bucket's headers; no service call without a key.
    assert_eq!(r.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(rls.calls(), 3);
    assert_eq!(
        rls.requests()[0]["descriptors"],
        json!([{"entries": [{"key": "api_key", "value": "k"}]}])
    );
}
