//! The upstream down and slow, behind the whole chain (auth, then
//! ratelimit, then headers): Envoy's own 503 (connection refused) and 504
//! (route timeout) pass back through every filter's response path. No wasm
//! failure, each filter's response headers exactly once on Envoy's local
//! reply, and the same VMs serve the next request.

use crate::common::{assert_alive, assert_within, counter, timed};
use serde_json::json;
use std::time::Duration;
use tollgate_tests::bootstrap::{cluster, Bootstrap};
use tollgate_tests::client::{Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

const ROUTE_TIMEOUT: Duration = Duration::from_secs(1);

fn chain(b: Bootstrap) -> Bootstrap {
    b.wasm(
        "auth",
        &json!({
            "api_key": {"credentials": [{"key": "k1", "client": "one"}], "key_sources": [{"header": "x-api-key"}]},
            "rules": [{"match": {"path": {"prefix": "/"}}, "requires": {"api_key": {}}}]
        }),
    )
    .wasm(
        "ratelimit",
        &json!({"descriptors": [{"name": "per_identity", "key": [{"identity": {}}],
                "token_bucket": {"max_tokens": 1000, "tokens_per_fill": 1000, "fill_interval": "1m"}}]}),
    )
    .wasm(
        "headers",
        &json!({
            "request_headers_to_add": [{"header": {"key": "x-who", "value": "%REQ(x-tollgate-identity)%"}}],
            "response_headers_to_add": [{"header": {"key": "x-served-by", "value": "tollgate"}}]
        }),
    )
}

/// Routes `/dead` to a cluster where nothing listens and `/slow` to the
/// echo upstream with a one-second route timeout (the harness's default
/// route stays for everything else).
fn start(echo: &EchoServer) -> Envoy {
    let b =
        chain(Bootstrap::new(echo.port())).cluster(cluster("dead", tollgate_tests::free_port()));
    let mut config = b.to_json();
    let routes = &mut config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        ["typed_config"]["route_config"]["virtual_hosts"][0]["routes"];
    let extra = [
        json!({"match": {"prefix": "/dead"}, "route": {"cluster": "dead", "timeout": "1s"}}),
        json!({"match": {"prefix": "/slow"}, "route": {"cluster": "upstream", "timeout": "1s"}}),
    ];
    let list = routes.as_array_mut().expect("routes");
    for (i, r) in extra.into_iter().enumerate() {
        list.insert(i, r);
    }
    let text = serde_json::to_string_pretty(&config).expect("json");
    Envoy::try_start_text(&text, "json", b.listener_port, b.admin_port, b.concurrency)
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log))
}

fn get(port: u16, path: &str, proto: Proto, delay_ms: u64) -> Response {
    Request::get(path)
        .header("x-api-key", "k1")
        .header("x-echo-delay-ms", &delay_ms.to_string())
        .send(port, proto)
}

/// The filters' response headers, once each, on any response.
fn assert_response_headers(r: &Response, what: &str) {
    assert_eq!(
        r.header_values("x-served-by"),
        ["tollgate"],
        "{what}: {:?}",
        r.headers
    );
    assert_eq!(
        r.header_values("x-ratelimit-limit"),
        ["1000"],
        "{what}: {:?}",
        r.headers
    );
    assert_eq!(r.header_values("x-ratelimit-remaining").len(), 1, "{what}");
}

#[test]
fn upstream_down_or_slow_is_envoys_503_or_504_through_the_chain() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = start(&echo);
    let port = envoy.port;
    for proto in BOTH {
        let what = format!("upstream down, {proto:?}");
        let (r, took) = timed(|| get(port, "/dead/x", proto, 0));
        assert_eq!(r.status, 503, "{what}: {}", r.text());
        assert!(
            r.text().contains("upstream connect error"),
            "{what}: {}",
            r.text()
        );
        assert_response_headers(&r, &what);
        assert_within(took, ROUTE_TIMEOUT, &what);

        let what = format!("upstream slow, {proto:?}");
        let (r, took) = timed(|| get(port, "/slow/x", proto, 4000));
        assert_eq!(r.status, 504, "{what}: {}", r.text());
        assert_eq!(r.text(), "upstream request timeout", "{what}");
        assert_response_headers(&r, &what);
        assert!(
            tollgate_tests::waited_for(took, ROUTE_TIMEOUT),
            "{what}: {took:?}"
        );
        assert_within(took, ROUTE_TIMEOUT, &what);

        // The same VMs serve the next request, templates and all.
        let r = get(port, "/ok", proto, 0);
        assert_eq!(r.status, 200, "after, {proto:?}: {}", r.text());
        assert_eq!(r.upstream_header_values("x-who"), ["one"]);
        assert_response_headers(&r, "after");
        // A refusal by auth on the way in still works.
        let r = Request::get("/ok").send(port, proto);
        assert_eq!(r.status, 401, "{}", r.text());
        assert_alive(&envoy, &what);
    }
    // Each filter counted every request it let through, failed upstream or not.
    assert_eq!(counter(&envoy, "auth", "allowed"), 6);
    assert_eq!(counter(&envoy, "auth", "denied.missing"), 2);
    assert_eq!(counter(&envoy, "ratelimit", "allowed"), 6);
    assert_eq!(counter(&envoy, "headers", "requests"), 6);
    assert_eq!(envoy.counter("cluster.dead.upstream_cx_connect_fail"), 2);
    assert_eq!(envoy.counter("cluster.upstream.upstream_rq_timeout"), 2);
    assert_eq!(echo.received_under("/ok").len(), 2);
}
