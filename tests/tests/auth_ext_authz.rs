//! External authorization traffic tests of the auth filter through a real
//! Envoy, against the test authorization service (`tollgate_tests::authz`):
//! what the check carries, allow and deny as the service says, requirements
//! that skip the call, and every way the service can fail, with
//! `failure_mode_allow` off and on.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tollgate_tests::authz::{AuthzServer, Fault, DENY_BODY};
use tollgate_tests::bootstrap::{cluster, Bootstrap};
use tollgate_tests::client::{Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

const TIMEOUT_MS: u64 = 250;

fn config(failure_mode_allow: bool) -> Value {
    json!({
        "api_key": {
            "credentials": [{"key": "key-one", "client": "one"}],
            "key_sources": [{"header": "x-api-key"}]
        },
        "ext_authz": {
            "http_service": {
                "server_uri": {"uri": "http://authz.test", "cluster": "authz", "timeout": format!("{TIMEOUT_MS}ms")},
                "path_prefix": "/check",
                "authorization_request": {
                    "allowed_headers": {"patterns": [
                        {"exact": "x-allow"}, {"prefix": "x-pass-"}, {"exact": "x-tollgate-identity"}
                    ]},
                    "headers_to_add": [{"key": "x-authz-caller", "value": "tollgate"}]
                },
                "authorization_response": {
                    "allowed_upstream_headers": {"patterns": [{"exact": "x-user"}, {"exact": "x-tollgate-identity"}]},
                    "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}]},
                    "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}
                }
            },
            "failure_mode_allow": failure_mode_allow,
            "failure_mode_allow_header_add": failure_mode_allow,
            "status_on_error": {"code": 503}
        },
        "rules": [
            {"match": {"path": {"prefix": "/ext"}}, "requires": {"ext_authz": {}}},
            {"match": {"path": {"prefix": "/both"}},
             "requires": {"requires_all": [{"api_key": {}}, {"ext_authz": {}}]}},
            {"match": {"path": {"prefix": "/any"}},
             "requires": {"requires_any": [{"api_key": {}}, {"ext_authz": {}}]}}
        ]
    })
}

struct Rig {
    echo: EchoServer,
    authz: AuthzServer,
    envoy: Envoy,
}

fn rig(failure_mode_allow: bool) -> Rig {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let authz = tollgate_tests::authz::start();
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &config(failure_mode_allow))
            .cluster(authz.cluster("authz")),
    );
    Rig { echo, authz, envoy }
}

fn get(path: &str, port: u16, proto: Proto, headers: &[(&str, &str)]) -> Response {
    let mut r = Request::get(path);
    for (n, v) in headers {
        r = r.header(n, v);
    }
    r.send(port, proto)
}

fn timed(f: impl FnOnce() -> Response) -> (Response, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

#[test]
fn allow_deny_and_what_the_check_carries() {
    let rig = rig(false);
    let port = rig.envoy.port;
    for (n, v) in [
        ("x-user", "alice"),
        ("x-tollgate-identity", "svc-alice"),
        ("x-quota", "7"),
        ("x-other", "no"),
    ] {
        rig.authz.allow_response_header(n, v);
    }
    for proto in BOTH {
        rig.authz.clear();
        let headers = [
            ("x-allow", "yes"),
            ("x-pass-one", "1"),
            ("x-secret", "s"),
            ("x-tollgate-identity", "spoofed"),
            ("authorization", "Bearer abc"),
        ];
        let r = get("/ext/a?q=1", port, proto, &headers);
        assert_eq!(r.status, 200, "{proto:?}: {}", r.text());
        assert_eq!(r.upstream_header_values("x-user"), ["alice"]);
        assert_eq!(
            r.upstream_header_values("x-tollgate-identity"),
            ["svc-alice"]
        );
        assert!(r.upstream_header_values("x-other").is_empty());
        assert_eq!(r.header_values("x-quota"), ["7"], "on success, once");
        let checks = rig.authz.received();
        assert_eq!(checks.len(), 1, "{checks:?}");
        let c = &checks[0];
        assert_eq!(
            (c.method.as_str(), c.path.as_str()),
            ("GET", "/check/ext/a?q=1")
        );
        assert_eq!(c.header("x-allow"), Some("yes"));
        assert_eq!(c.header("x-pass-one"), Some("1"));
        assert_eq!(c.header("authorization"), Some("Bearer abc"));
        assert_eq!(c.header("x-authz-caller"), Some("tollgate"));
        assert!(c.header("x-forwarded-host").is_some(), "{c:?}");
        assert!(c.header("x-secret").is_none(), "not allowed: {c:?}");
        assert!(c.header("x-tollgate-identity").is_none(), "reserved: {c:?}");
    }

    // Denials: the service's status, body and allowed client headers.
    rig.echo.clear();
    for proto in BOTH {
        let r = get("/ext/b", port, proto, &[("x-allow", "no")]);
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.text(), DENY_BODY);
        assert_eq!(
            r.header("x-authz-reason"),
            Some("denied by the test service")
        );
        assert!(r.header("x-quota").is_none());
    }
    rig.authz.deny_with(
        401,
        "go away",
        &[
            ("www-authenticate", "Custom"),
            ("x-authz-reason", "r"),
            ("x-hidden", "h"),
        ],
    );
    let r = get("/ext/c", port, Proto::H1, &[]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.text(), "go away");
    assert_eq!(r.header("www-authenticate"), Some("Custom"));
    assert_eq!(r.header("x-authz-reason"), Some("r"));
    assert!(
        r.header("x-hidden").is_none(),
        "not an allowed client header"
    );
    assert!(
        rig.echo.received().is_empty(),
        "denied requests reached the upstream"
    );

    // requires_all [api_key, ext_authz]: no or a bad key costs the service nothing.
    rig.authz.clear();
    assert_eq!(
        get("/both", port, Proto::H1, &[("x-allow", "yes")]).status,
        401
    );
    assert_eq!(
        get(
            "/both",
            port,
            Proto::H1,
            &[("x-api-key", "bad"), ("x-allow", "yes")]
        )
        .status,
        401
    );
    assert_eq!(rig.authz.calls(), 0);
    let r = get(
        "/both",
        port,
        Proto::H1,
        &[("x-api-key", "key-one"), ("x-allow", "yes")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.upstream_header_values("x-tollgate-identity"),
        ["one"],
        "the key's client first"
    );
    let r = get("/both", port, Proto::H1, &[("x-api-key", "key-one")]);
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(rig.authz.calls(), 2);
    // requires_any [api_key, ext_authz]: a good key needs no call.
    rig.authz.clear();
    assert_eq!(
        get("/any", port, Proto::H1, &[("x-api-key", "key-one")]).status,
        200
    );
    assert_eq!(get("/open", port, Proto::H1, &[]).status, 200);
    assert_eq!(rig.authz.calls(), 0);
    assert_eq!(
        get("/any", port, Proto::H1, &[("x-allow", "yes")]).status,
        200
    );
    assert_eq!(rig.authz.calls(), 1);

    // A body arriving while the check is under way waits for it.
    rig.authz.delay_ms(100);
    for proto in BOTH {
        let r = Request::get("/ext/post")
            .method("POST")
            .header("x-allow", "yes")
            .body(b"hello")
            .send(port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["body"], "hello");
    }
    rig.authz.delay_ms(0);

    // Latency of a check through Envoy (the test service answers at once).
    let n: u32 = 20;
    let mut allow = Duration::ZERO;
    let mut deny = Duration::ZERO;
    let mut open = Duration::ZERO;
    for _ in 0..n {
        let (r, t) = timed(|| get("/open", port, Proto::H1, &[]));
        assert_eq!(r.status, 200);
        open += t;
        let (r, t) = timed(|| get("/ext/t", port, Proto::H1, &[("x-allow", "yes")]));
        assert_eq!(r.status, 200);
        allow += t;
        let (r, t) = timed(|| get("/ext/t", port, Proto::H1, &[]));
        assert_eq!(r.status, 401);
        deny += t;
    }
    eprintln!(
        "ext_authz latency: allow {:?}, deny {:?}, no check (/open) {:?} (mean of {n}, client to client)",
        allow / n,
        deny / n,
        open / n
    );

    let c = |name: &str| rig.envoy.counter(&format!("tollgate.auth.{name}"));
    assert_eq!(c("ext_authz_allowed"), 2 + 1 + 1 + 2 + u64::from(n));
    assert_eq!(c("ext_authz_denied"), 2 + 1 + 1 + u64::from(n));
    assert_eq!(c("denied.ext_authz"), 2 + 1 + 1 + u64::from(n));
    assert_eq!(c("ext_authz_errors"), 0);
}

fn assert_fails_closed(rig: &Rig, what: &str) -> Duration {
    let (r, t) = timed(|| get("/ext/f", rig.envoy.port, Proto::H1, &[("x-allow", "yes")]));
    assert_eq!(r.status, 503, "{what}: {}", r.text());
    assert_eq!(r.json()["error"], "unavailable", "{what}");
    assert!(t < Duration::from_millis(TIMEOUT_MS + 750), "{what}: {t:?}");
    t
}

#[test]
fn a_failing_service_fails_closed_within_the_timeout() {
    let rig = rig(false);
    for (fault, what) in [
        (Fault::Close, "closed"),
        (Fault::Garbage, "garbage"),
        (Fault::Status(500), "5xx"),
        (Fault::Status(503), "503"),
    ] {
        rig.authz.fault(fault);
        assert_fails_closed(&rig, what);
    }
    rig.authz.fault(Fault::None);
    rig.authz.delay_ms(1000);
    let t = assert_fails_closed(&rig, "slow");
    assert!(
        tollgate_tests::waited_for(t, Duration::from_millis(TIMEOUT_MS)),
        "answered before the timeout: {t:?}"
    );
    eprintln!("ext_authz timeout of {TIMEOUT_MS}ms: 503 after {t:?}");
    rig.authz.delay_ms(0);
    // The VM keeps serving.
    let r = get("/ext/ok", rig.envoy.port, Proto::H2, &[("x-allow", "yes")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        rig.echo.received_under("/ext/f").is_empty(),
        "failed checks reached the upstream"
    );
    let c = |name: &str| rig.envoy.counter(&format!("tollgate.auth.{name}"));
    assert_eq!(c("ext_authz_errors"), 5);
    assert_eq!(c("denied.ext_authz"), 5);
    assert_eq!(c("ext_authz_failure_mode_allowed"), 0);
    assert_eq!(c("ext_authz_allowed"), 1);
}

#[test]
fn a_service_that_is_down_fails_closed() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &config(false))
            .cluster(cluster("authz", tollgate_tests::free_port())),
    );
    for proto in BOTH {
        let (r, t) = timed(|| get("/ext/down", envoy.port, proto, &[("x-allow", "yes")]));
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(t < Duration::from_millis(TIMEOUT_MS + 750), "{t:?}");
    }
    assert_eq!(get("/open", envoy.port, Proto::H1, &[]).status, 200);
    assert!(echo.received_under("/ext").is_empty());
    assert_eq!(envoy.counter("tollgate.auth.ext_authz_errors"), 2);
}

#[test]
fn failure_mode_allow_lets_requests_through_and_counts_them() {
    let rig = rig(true);
    let port = rig.envoy.port;
    rig.authz.fault(Fault::Status(503));
    let r = get("/ext/a", port, Proto::H1, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.upstream_header_values("x-envoy-auth-failure-mode-allowed"),
        ["true"]
    );
    rig.authz.fault(Fault::Garbage);
    assert_eq!(get("/ext/b", port, Proto::H2, &[]).status, 200);
    rig.authz.fault(Fault::None);
    rig.authz.delay_ms(1000);
    let (r, t) = timed(|| get("/ext/c", port, Proto::H1, &[]));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        tollgate_tests::waited_for(t, Duration::from_millis(TIMEOUT_MS))
            && t < Duration::from_millis(TIMEOUT_MS + 750),
        "{t:?}"
    );
    rig.authz.delay_ms(0);
    // A denial is not a failure: still denied.
    let r = get("/ext/d", port, Proto::H1, &[]);
    assert_eq!(r.status, 403, "{}", r.text());
    let c = |name: &str| rig.envoy.counter(&format!("tollgate.auth.{name}"));
    assert_eq!(c("ext_authz_errors"), 3);
    assert_eq!(c("ext_authz_failure_mode_allowed"), 3);
    assert_eq!(c("ext_authz_denied"), 1);
    assert_eq!(c("allowed"), 3);
}
