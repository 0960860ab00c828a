//! Twin of Envoy's `envoy.filters.http.ratelimit`: the native filter with
//! the route's `rate_limits` actions and the ratelimit module with the same
//! descriptors in its own `descriptors`, both asking one rate-limit service
//! (`tollgate-rls` on limitador) with the same limits, the same requests to
//! both (see `tollgate_tests::twin`). The sides use different domains (the
//! service's namespaces) with identical limits, so that each has its own
//! counters.

use serde_json::{json, Value};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::Request;
use tollgate_tests::rls::RateLimitService;
use tollgate_tests::twin::{Case, Diff, Twin};

/// The README row of Tollgate's 429 (`Retry-After`, a JSON body).
const RETRY: &str = "`OVER_LIMIT` answer carries `Retry-After`";

fn limits() -> Value {
    let per = |ns: &str, name: &str, max: u64, vars: &[&str]| json!({"namespace": ns, "max_value": max, "seconds": 60, "name": name, "variables": vars});
    let mut all = vec![];
    for ns in ["native", "tollgate"] {
        all.push(per(ns, "per-key", 3, &["descriptors[0].api_key"]));
        all.push(per(ns, "per-path", 4, &["descriptors[1].path"]));
    }
    Value::Array(all)
}

/// Envoy's route actions, and the same descriptors as Tollgate writes them.
fn native_actions() -> Value {
    json!({"route": {"rate_limits": [
        {"actions": [{"request_headers": {"header_name": "x-api-key", "descriptor_key": "api_key"}}]},
        {"actions": [{"request_headers": {"header_name": ":path", "descriptor_key": "path"}}]}
    ]}})
}

fn tollgate_descriptors() -> Value {
    json!([
        {"name": "per_key", "key": [{"request_headers": {"header_name": "x-api-key", "descriptor_key": "api_key"}}]},
        {"name": "per_path", "key": [{"request_headers": {"header_name": ":path", "descriptor_key": "path"}}]}
    ])
}

fn shapes() -> Vec<Case> {
    let key = |shape: &str, path: &str, k: &str| {
        Case::new(shape, Request::get(path).header("x-api-key", k))
    };
    let limited = |c: Case| {
        c.listed(Diff::Response("retry-after"), RETRY)
            .listed(Diff::Response("content-type"), RETRY)
    };
    let mut cases = vec![
        Case::new("no key", Request::get("/g/none")),
        key("key a, 1", "/g/a1", "a"),
        key("key a, 2", "/g/a2", "a").h2(),
        key("key a, 3", "/g/a3", "a"),
        limited(key("key a, over", "/g/a4", "a")),
        limited(key("key a, over again", "/g/a5", "a")),
        key("key A (other case)", "/g/A", "A"),
        key("key b", "/g/b", "b"),
        key("empty key", "/g/empty", ""),
        key("empty key again", "/g/empty2", ""),
        Case::new(
            "header name in upper case",
            Request::get("/g/B").header("X-API-KEY", "b"),
        ),
        Case::new(
            "repeated key header",
            Request::get("/g/rep")
                .header("x-api-key", "b")
                .header("x-api-key", "c"),
        ),
        // The fourth request with the first value b: over its limit.
        limited(Case::new(
            "repeated key header, again",
            Request::get("/g/rep2")
                .header("x-api-key", "b")
                .header("x-api-key", "c"),
        )),
        key("long key", "/g/long", &"k".repeat(3000)),
        key("key with spaces", "/g/sp", "a b  c"),
        key("key with comma", "/g/comma", "a,b"),
        key("key with non-ASCII", "/g/utf", "ключ"),
    ];
    // The same path four times is its limit; a fifth is over it.
    for i in 0..4 {
        cases.push(key(
            &format!("same path {i}"),
            "/g/same?q=1",
            &format!("p{i}"),
        ));
    }
    cases.push(limited(key("same path, over", "/g/same?q=1", "p9")));
    cases.push(key("same path, other query", "/g/same?q=2", "p9"));
    cases.push(key("encoded path", "/g/s%61me?q=1", "p8"));
    cases.push(Case::new("same path, no key", Request::get("/g/same?q=1")));
    cases
}

#[test]
fn ratelimit_service_twin() {
    let rls = RateLimitService::start(&limits(), &[]);
    let cluster = rls.cluster("ratelimit");
    let native_cluster = cluster.clone();
    let twin = Twin::start(
        "twin_ratelimit_global::ratelimit_service_twin",
        |port| {
            Bootstrap::new(port)
                .filter(json!({
                    "name": "envoy.filters.http.ratelimit",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
                        "domain": "native",
                        "timeout": "2s",
                        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
                        "rate_limit_service": {
                            "transport_api_version": "V3",
                            "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}}
                        }
                    }
                }))
                .route_options(native_actions())
                .cluster(native_cluster)
        },
        |port| {
            Bootstrap::new(port)
                .wasm(
                    "ratelimit",
                    &json!({
                        "domain": "tollgate",
                        "timeout": "2s",
                        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
                        "rate_limit_service": {
                            "transport_api_version": "V3",
                            "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}}
                        },
                        "descriptors": tollgate_descriptors()
                    }),
                )
                .cluster(cluster)
        },
    )
    .watch(&[
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-envoy-ratelimited",
        "retry-after",
        "content-type",
    ]);
    let cases = shapes();
    assert!(cases.len() >= 25);
    let seen = twin.run(&cases);
    let limited = seen.iter().filter(|(n, _)| n.status == 429).count();
    assert!(limited >= 3, "{limited} limited");
}
