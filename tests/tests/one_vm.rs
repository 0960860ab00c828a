//! The one-VM module (`dist/tollgate.wasm`) where it differs from separate
//! filters: a filter that pauses a request hands it back to the chain, which
//! runs the next filters itself. (Every filter's own suite also runs against
//! this module: `TOLLGATE_ONE_VM=1`, see tollgate_tests::bootstrap::wasm_filter;
//! envoy/tollgate.yaml passes the chain's checks in envoy_files.rs.)

use serde_json::json;
use std::time::{Duration, Instant};
use tollgate_tests::bootstrap::{wasm_filter_at, Bootstrap};
use tollgate_tests::client::{Proto, Request, Response};
use tollgate_tests::demo;
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::http_server::HttpServer;
use tollgate_tests::rls::RateLimitService;

/// JWT from a remote key set, then a global limit on the identity (8 a
/// minute), then a header from the identity.
fn config() -> serde_json::Value {
    json!({
        "auth": {
            "jwt": {"providers": {"demo": {
                "issuer": "https://issuer.example",
                "audiences": ["tollgate-demo"],
                "remote_jwks": {
                    "http_uri": {"uri": "http://jwks.test/.well-known/jwks.json", "cluster": "jwks", "timeout": "5s"},
                    "cache_duration": "300s"
                }
            }}},
            "rules": [{"match": {"path": {"prefix": "/"}}, "requires": {"provider_name": "demo"}}]
        },
        "ratelimit": {
            "rate_limit_service": {
                "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}},
                "domain": "tollgate",
                "timeout": "5s"
            },
            "descriptors": [{"name": "per_identity",
                             "key": [{"request_headers": {"header_name": "x-tollgate-identity", "descriptor_key": "user"}},
                                     {"request_headers": {"header_name": "x-tenant", "descriptor_key": "tenant"}}]}]
        },
        "headers": {
            "request_headers_to_add": [{"header": {"key": "x-chain-user", "value": "%REQ(x-tollgate-identity)%"}}],
            "response_headers_to_add": [{"header": {"key": "x-served-by", "value": "tollgate"}}]
        }
    })
}

/// A request with the demo token; `limited`: with the `x-tenant` header the
/// rate limit needs (without it, no limit applies).
fn send(port: u16, limited: bool) -> Response {
    let mut r = Request::get("/a").header("authorization", &format!("Bearer {}", demo::TOKEN));
    if limited {
        r = r.header("x-tenant", "t1");
    }
    r.send(port, Proto::H1)
}

/// Requests that wait for the key set are woken by the request whose
/// callback got it; their rate-limit calls go out from the root's tick (the
/// waking request usually ends before the service answers, and the SDK would
/// drop answers sent to it), come back to them, and run the headers filter
/// before they go on.
#[test]
fn requests_woken_by_another_run_the_rest_of_the_chain() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let jwks = HttpServer::start(demo::JWKS);
    jwks.set_delay(Duration::from_millis(500));
    let limits = json!([{"namespace": "tollgate", "max_value": 8, "seconds": 60, "name": "per-user",
                         "variables": ["descriptors[0].user"]}]);
    let rls = RateLimitService::start(&limits, &[]);
    // Every answer takes a while: the waking request's own comes first and
    // it ends while the others' are still out.
    rls.delay_ms(200);
    let module = tollgate_tests::module("tollgate");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .filter(wasm_filter_at(&module, "tollgate", &config().to_string()))
            .cluster(jwks.cluster("jwks"))
            .cluster(rls.cluster("ratelimit")),
    );
    let port = envoy.port;
    // The first request fetches the key set and needs no limit, so it ends
    // while the service still holds the others' answers.
    let (first, woken): (Response, Vec<Response>) = std::thread::scope(|s| {
        let first = s.spawn(move || send(port, false));
        let t = Instant::now();
        while jwks.hits() == 0 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let woken: Vec<_> = (0..5).map(|_| s.spawn(move || send(port, true))).collect();
        (
            first.join().expect("client"),
            woken
                .into_iter()
                .map(|t| t.join().expect("client"))
                .collect(),
        )
    });
    assert_eq!(first.status, 200, "{}", first.text());
    for r in &woken {
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream_header_values("x-chain-user"), ["demo-user"]);
        assert_eq!(r.header("x-served-by"), Some("tollgate"));
    }
    assert_eq!(jwks.hits(), 1, "one fetch for every waiting request");
    // The service counted each of them: 3 more pass, then 429.
    let statuses: Vec<u16> = (0..4).map(|_| send(port, true).status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(echo.received_under("/a").len(), 9);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_ok"), 8);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_over_limit"), 1);
    assert_eq!(envoy.counter("tollgate.ratelimit.service_errors"), 0);
    assert_eq!(envoy.counter("tollgate.auth.allowed"), 10);
    assert_eq!(envoy.counter("tollgate.headers.requests"), 9);
}

/// The configuration names what is wrong with it in one line.
#[test]
fn bad_configurations_name_the_member() {
    let module = tollgate_tests::module("tollgate");
    for (config, line) in [
        (r#"{"jwt": {}}"#, "tollgate.chain: invalid configuration: "),
        (
            "{}",
            "tollgate.chain: invalid configuration: configuration: names no filter",
        ),
        (
            r#"{"headers": {"request_headers_to_ad": []}}"#,
            "tollgate.headers: invalid configuration: request_headers_to_ad: unknown field",
        ),
    ] {
        let b = Bootstrap::new(tollgate_tests::free_port())
            .filter(wasm_filter_at(&module, "tollgate", config));
        let failure = match Envoy::try_start(&b) {
            Ok(_) => panic!("Envoy started with {config}"),
            Err(f) => f,
        };
        let lines = failure.log.lines().filter(|l| l.contains(line)).count();
        assert_eq!(lines, 1, "want one line with {line:?}:\n{}", failure.log);
    }
}
