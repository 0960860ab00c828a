//! Configurations in the forms Envoy's own filters write them, through a real
//! Envoy: jwt_authn's requirement tree and `RouteMatch` rules (side by side
//! with Envoy's native jwt_authn on the same configuration and requests), and
//! the ratelimit filter in the layout of Envoy's `envoy.filters.http.ratelimit`
//! against a real rate-limit service.

use serde_json::{json, Value};
use std::sync::OnceLock;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Proto, Request};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::rls::RateLimitService;

const ISS: &str = "https://issuer.test";
const AUD: &str = "api.test";
const MINT: &str = include_str!("auth_jwt_mint.py");

fn minted() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| tollgate_tests::pyjwt::run_json(MINT, &[]))
}

fn token(name: &str) -> String {
    minted()["tokens"][name].as_str().expect(name).to_string()
}

/// jwt_authn's providers and rules, written as Envoy's documentation writes
/// them; the same JSON configures both filters.
fn jwt_authn() -> (Value, Value) {
    let jwks = json!({"inline_string": minted()["jwks1"].to_string()});
    let providers = json!({
        "provider1": {"issuer": ISS, "audiences": [AUD], "local_jwks": jwks},
        "provider2": {"issuer": "https://other.test", "local_jwks": jwks},
        "strict": {"issuer": ISS, "audiences": [AUD], "local_jwks": jwks, "clock_skew_seconds": 0},
        "forwarding": {"issuer": ISS, "audiences": [AUD], "local_jwks": jwks, "forward": true}
    });
    let p = |name: &str| json!({"provider_name": name});
    let rules = json!([
        {"match": {"prefix": "/health"}},
        {"match": {"path": "/exact"}, "requires": p("provider1")},
        {"match": {"safe_regex": {"regex": "/re/[0-9]+"}}, "requires": p("provider1")},
        {"match": {"prefix": "/q", "query_parameters": [{"name": "open", "present_match": true}]}},
        {"match": {"prefix": "/hdr", "headers": [{"name": "x-open", "string_match": {"exact": "yes"}}]}},
        {"match": {"prefix": "/CaSe", "case_sensitive": false}},
        {"match": {"prefix": "/any"}, "requires": {"requires_any": {"requirements": [p("provider1"), p("provider2")]}}},
        {"match": {"prefix": "/all"}, "requires": {"requires_all": {"requirements": [p("provider1"), p("provider2")]}}},
        {"match": {"prefix": "/nest"}, "requires": {"requires_all": {"requirements": [
            p("provider1"), {"requires_any": {"requirements": [p("provider2"), p("strict")]}}]}}},
        {"match": {"prefix": "/fwdnest"}, "requires": {"requires_all": {"requirements": [
            p("forwarding"), {"requires_any": {"requirements": [p("provider2"), p("strict")]}}]}}},
        {"match": {"prefix": "/twice"}, "requires": {"requires_all": {"requirements": [p("provider1"), p("provider1")]}}},
        {"match": {"prefix": "/opt"}, "requires": {"requires_any": {"requirements": [p("provider1"), {"allow_missing": {}}]}}},
        {"match": {"prefix": "/failed"}, "requires": {"allow_missing_or_failed": {}}},
        {"match": {"prefix": "/aud"}, "requires": {"provider_and_audiences": {"provider_name": "provider1", "audiences": ["other.test"]}}},
        {"match": {"prefix": "/skew"}, "requires": p("strict")},
        {"match": {"prefix": "/slash/"}, "requires": p("provider1")},
        {"match": {"path_separated_prefix": "/sep"}, "requires": p("provider1")},
        {"match": {"prefix": "/other"}, "requires": p("provider1")},
        {"match": {"prefix": "/"}}
    ]);
    (providers, rules)
}

/// Statuses Tollgate gives on purpose where Envoy's jwt_authn gives another
/// (the README's table of differences): `clock_skew_seconds: 0` is no skew
/// in Tollgate and 60 s in Envoy, whose proto3 field cannot tell 0 from
/// unset.
fn listed_difference(path: &str, tok: &str) -> Option<(u16, u16)> {
    let strict = path.starts_with("/skew") || path.starts_with("/fwdnest");
    (strict && tok == "expired_30s").then_some((401, 200))
}

#[test]
fn jwt_authn_forms_behave_as_envoys_jwt_authn() {
    let (providers, rules) = jwt_authn();
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let tollgate = Envoy::start(&Bootstrap::new(echo.port()).wasm(
        "auth",
        &json!({"jwt": {"providers": providers}, "rules": rules}),
    ));
    let native = Envoy::start(&Bootstrap::new(echo.port()).filter(json!({
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": providers,
            "rules": rules
        }
    })));
    let paths = [
        "/health",
        "/health/x",
        "/exact",
        "/exact/x",
        "/re/12",
        "/re/12?a=b",
        "/re/1a",
        "/q?open",
        "/q?open=1&x",
        "/q?opened",
        "/q",
        "/hdr",
        "/case/x",
        "/CASE",
        "/any",
        "/all",
        "/nest",
        "/opt",
        "/failed",
        "/aud",
        "/skew",
        "/other",
        "/slash/",
        "/slash",
        "/slash/x",
        "/sep",
        "/sep/x",
        "/sepx",
        "/fwdnest",
        "/twice",
        "/open",
    ];
    let tokens = [
        "",
        "rs256",
        "es256",
        "expired",
        "expired_30s",
        "wrong_iss",
        "wrong_aud",
        "garbage",
    ];
    let mut compared = 0;
    let mut unexpected = Vec::new();
    for path in paths {
        for tok in tokens {
            let send = |envoy: &Envoy, proto: Proto| {
                let mut r =
                    Request::get(path).header("x-open", if path == "/hdr" { "yes" } else { "no" });
                match tok {
                    "" => {}
                    "garbage" => r = r.header("authorization", "Bearer not.a.jwt"),
                    t => r = r.header("authorization", &format!("Bearer {}", token(t))),
                };
                r.send(envoy.port, proto)
            };
            let proto = if compared % 2 == 0 {
                Proto::H1
            } else {
                Proto::H2
            };
            let (t, n) = (send(&tollgate, proto), send(&native, proto));
            let want = listed_difference(path, tok).unwrap_or((n.status, n.status));
            if (t.status, n.status) != want {
                unexpected.push(format!(
                    "{path} {tok}: tollgate {} / envoy {} ({})",
                    t.status,
                    n.status,
                    n.text()
                ));
            }
            compared += 1;
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!(compared, paths.len() * tokens.len());
}

/// `max` per minute per `api_key` (the first descriptor).
fn per_key(max: u64) -> Value {
    json!([{"namespace": "tollgate", "max_value": max, "seconds": 60, "name": "per-key",
            "variables": ["descriptors[0].api_key"]}])
}

/// Envoy's ratelimit filter layout, the documentation's example plus
/// Tollgate's descriptors (Envoy takes them from the route).
fn envoy_layout(extra: Value) -> Value {
    let mut c = json!({
        "domain": "tollgate",
        "rate_limit_service": {
            "transport_api_version": "V3",
            "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}}
        },
        "descriptors": [{"name": "per_api_key",
                         "key": [{"request_headers": {"header_name": "x-api-key", "descriptor_key": "api_key"}}]}]
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    c
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

#[test]
fn envoys_ratelimit_layout_with_x_ratelimit_headers_from_the_service() {
    // The service adds no headers itself: these come from its statuses.
    let rls = RateLimitService::start(&per_key(3), &[]);
    let (echo, envoy) = start(
        &rls,
        &envoy_layout(json!({"timeout": "2s", "enable_x_ratelimit_headers": "DRAFT_VERSION_03"})),
    );
    for (i, remaining) in ["2", "1", "0"].into_iter().enumerate() {
        let proto = if i % 2 == 0 { Proto::H1 } else { Proto::H2 };
        let r = Request::get("/g")
            .header("x-api-key", "a")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header_values("x-ratelimit-limit"),
            ["3, 3;w=60;name=\"per-key\""]
        );
        assert_eq!(r.header_values("x-ratelimit-remaining"), [remaining]);
        let reset: u64 = r
            .header("x-ratelimit-reset")
            .and_then(|v| v.parse().ok())
            .expect("reset");
        assert!(reset <= 60, "{reset}");
    }
    let r = Request::get("/g")
        .header("x-api-key", "a")
        .send(envoy.port, Proto::H1);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(
        r.header_values("x-ratelimit-remaining"),
        ["0"],
        "{:?}",
        r.headers
    );
    assert_eq!(r.header_values("x-ratelimit-limit").len(), 1);
    assert_eq!(echo.received_under("/g").len(), 3);

    // Unset, as in Envoy: no x-ratelimit-* from the service.
    let (_echo, quiet) = start(&rls, &envoy_layout(json!({"timeout": "2s"})));
    let r = Request::get("/g")
        .header("x-api-key", "b")
        .send(quiet.port, Proto::H1);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header_values("x-ratelimit-limit").is_empty(),
        "{:?}",
        r.headers
    );
}

#[test]
fn envoys_ratelimit_layout_fails_as_configured_at_the_top_level() {
    let mut rls = RateLimitService::start(&per_key(100), &[]);
    let (_e1, closed) = start(
        &rls,
        &envoy_layout(
            json!({"timeout": "0.2s", "failure_mode_deny": true, "status_on_error": {"code": "InternalServerError"}}),
        ),
    );
    let (_e2, open) = start(&rls, &envoy_layout(json!({"timeout": "0.2s"})));
    for envoy in [&closed, &open] {
        let r = Request::get("/g")
            .header("x-api-key", "a")
            .send(envoy.port, Proto::H1);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    rls.stop();
    let r = Request::get("/g")
        .header("x-api-key", "a")
        .send(closed.port, Proto::H1);
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.json()["error"], "unavailable");
    let r = Request::get("/g")
        .header("x-api-key", "a")
        .send(open.port, Proto::H1);
    assert_eq!(
        r.status,
        200,
        "failure_mode_deny defaults to false: {}",
        r.text()
    );
    assert_eq!(closed.counter("tollgate.ratelimit.failure_mode_denied"), 1);
    assert_eq!(open.counter("tollgate.ratelimit.failure_mode_allowed"), 1);
}

/// header_mutation's form, side by side with Envoy's native header_mutation
/// filter on the same configuration: upstream-visible request headers and
/// the client's response headers, names, values and order of repeats.
#[test]
fn header_mutation_form_behaves_as_envoys_header_mutation() {
    let add = |key: &str, value: &str, action: &str| json!({"append": {"header": {"key": key, "value": value}, "append_action": action}});
    let mutations = json!({
        "request_mutations": [
            {"remove": "flag-header"},
            add("flag-header", "%REQ(another-flag-header)%", "APPEND_IF_EXISTS_OR_ADD"),
            {"remove_on_match": {"key_matcher": {"prefix": "x-secret-"}}},
            add("x-added", "static", "ADD_IF_ABSENT"),
            add("x-over", "o", "OVERWRITE_IF_EXISTS"),
            add("x-both", "1", "APPEND_IF_EXISTS_OR_ADD"),
            {"remove": "x-both"},
            add("x-both", "2", "APPEND_IF_EXISTS_OR_ADD")
        ],
        "response_mutations": [
            add("flag-header", "%REQ(another-flag-header)%", "APPEND_IF_EXISTS_OR_ADD"),
            {"remove_on_match": {"key_matcher": {"safe_regex": {"regex": "x-powered-.*"}}}},
            {"remove": "x-drop"},
            add("x-r", "1", "OVERWRITE_IF_EXISTS_OR_ADD")
        ]
    });
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let tollgate = Envoy::start(
        &Bootstrap::new(echo.port()).wasm("headers", &json!({"mutations": mutations})),
    );
    let native = Envoy::start(&Bootstrap::new(echo.port()).filter(json!({
        "name": "envoy.filters.http.header_mutation",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": mutations
        }
    })));
    let long = "v".repeat(4000);
    let shapes: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("flag-header", "a")],
        vec![("flag-header", "a"), ("flag-header", "b")],
        vec![("another-flag-header", "v")],
        vec![("another-flag-header", "")],
        vec![("Another-Flag-Header", "V")],
        vec![("another-flag-header", &long)],
        vec![("flag-header", "a"), ("another-flag-header", "v")],
        vec![
            ("x-secret-a", "1"),
            ("X-Secret-B", "2"),
            ("x-keep", "k"),
            ("x-secret-", "3"),
        ],
        vec![("x-added", "client")],
        vec![("x-over", "client")],
        vec![("x-over", "c1"), ("x-over", "c2")],
        vec![("x-both", "client")],
        vec![
            ("x-echo-response-header", "x-powered-by: php"),
            ("x-echo-response-header", "x-powered-as: a"),
        ],
        vec![
            ("x-echo-response-header", "x-drop: 1"),
            ("x-echo-response-header", "x-r: up"),
        ],
        vec![
            ("x-echo-response-header", "flag-header: up"),
            ("another-flag-header", "v"),
        ],
    ];
    let watched_up = [
        "flag-header",
        "another-flag-header",
        "x-secret-a",
        "x-secret-b",
        "x-secret-",
        "x-keep",
        "x-added",
        "x-over",
        "x-both",
    ];
    let watched_down = [
        "flag-header",
        "x-powered-by",
        "x-powered-as",
        "x-drop",
        "x-r",
    ];
    for (i, shape) in shapes.iter().enumerate() {
        let proto = if i % 2 == 0 { Proto::H1 } else { Proto::H2 };
        let send = |envoy: &Envoy| {
            shape
                .iter()
                .fold(Request::get("/m"), |r, (n, v)| r.header(n, v))
                .send(envoy.port, proto)
        };
        let (t, n) = (send(&tollgate), send(&native));
        assert_eq!(t.status, n.status, "{shape:?}");
        for h in watched_up {
            assert_eq!(
                t.upstream_header_values(h),
                n.upstream_header_values(h),
                "{shape:?}: upstream {h}"
            );
        }
        for h in watched_down {
            assert_eq!(
                t.header_values(h),
                n.header_values(h),
                "{shape:?}: response {h}"
            );
        }
    }
}
