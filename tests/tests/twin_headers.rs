//! Twin of Envoy's `envoy.filters.http.header_mutation` together with the
//! route's own `request_headers_to_add` / `_to_remove` and
//! `response_headers_to_add` / `_to_remove`: the native side has the filter
//! and the route-level lists, Tollgate's side the headers module with the
//! same `mutations` and the same lists at its top level (README: the
//! mutations run before the route's lists on the request, after them on the
//! response, as in Envoy). The same requests to both (see
//! `tollgate_tests::twin`).

use serde_json::{json, Value};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::Request;
use tollgate_tests::twin::{Case, Twin};

fn add(key: &str, value: &str, action: &str) -> Value {
    json!({"header": {"key": key, "value": value}, "append_action": action})
}

fn mutations() -> Value {
    let append = |k: &str, v: &str, a: &str| json!({"append": add(k, v, a)});
    json!({
        "request_mutations": [
            {"remove": "flag-header"},
            append("flag-header", "%REQ(another-flag-header)%", "APPEND_IF_EXISTS_OR_ADD"),
            {"remove_on_match": {"key_matcher": {"prefix": "x-secret-"}}},
            append("x-added", "static", "ADD_IF_ABSENT"),
            append("x-over", "o", "OVERWRITE_IF_EXISTS"),
            append("x-both", "1", "APPEND_IF_EXISTS_OR_ADD"),
            {"remove": "x-both"},
            append("x-both", "2", "APPEND_IF_EXISTS_OR_ADD"),
            append("x-route-sees", "m", "APPEND_IF_EXISTS_OR_ADD")
        ],
        "response_mutations": [
            append("flag-header", "%REQ(another-flag-header)%", "APPEND_IF_EXISTS_OR_ADD"),
            {"remove_on_match": {"key_matcher": {"safe_regex": {"regex": "x-powered-.*"}}}},
            {"remove": "x-drop"},
            append("x-r", "1", "OVERWRITE_IF_EXISTS_OR_ADD"),
            append("x-route-resp", "m", "APPEND_IF_EXISTS_OR_ADD")
        ]
    })
}

/// The route's lists (Envoy's `Route` fields; the headers module's top level).
fn route_lists() -> Value {
    json!({
        "request_headers_to_add": [
            add("x-route", "r1", "APPEND_IF_EXISTS_OR_ADD"),
            add("x-route", "r2", "APPEND_IF_EXISTS_OR_ADD"),
            add("x-route-sees", "r", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-copy", "%REQ(x-src)%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-absent", "a", "ADD_IF_ABSENT"),
            {"header": {"key": "x-empty", "value": ""}, "keep_empty_value": true},
            add("x-method", "%REQ(:method)%", "APPEND_IF_EXISTS_OR_ADD")
        ],
        "request_headers_to_remove": ["x-remove-me", "x-added"],
        "response_headers_to_add": [
            add("x-route-resp", "r", "APPEND_IF_EXISTS_OR_ADD"),
            add("x-served", "twin", "OVERWRITE_IF_EXISTS_OR_ADD")
        ],
        "response_headers_to_remove": ["x-upstream-internal"]
    })
}

fn shapes() -> Vec<Case> {
    let long = "v".repeat(4000);
    let shapes: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("nothing", vec![]),
        ("flag-header", vec![("flag-header", "a")]),
        (
            "flag-header twice",
            vec![("flag-header", "a"), ("flag-header", "b")],
        ),
        ("another-flag-header", vec![("another-flag-header", "v")]),
        (
            "another-flag-header empty",
            vec![("another-flag-header", "")],
        ),
        (
            "another-flag-header in upper case",
            vec![("Another-Flag-Header", "V")],
        ),
        (
            "another-flag-header twice",
            vec![("another-flag-header", "v1"), ("another-flag-header", "v2")],
        ),
        ("long value", vec![("another-flag-header", &long)]),
        (
            "both flags",
            vec![("flag-header", "a"), ("another-flag-header", "v")],
        ),
        (
            "secrets",
            vec![
                ("x-secret-a", "1"),
                ("X-Secret-B", "2"),
                ("x-keep", "k"),
                ("x-secret-", "3"),
            ],
        ),
        ("x-added from the client", vec![("x-added", "client")]),
        ("x-over from the client", vec![("x-over", "client")]),
        ("x-over twice", vec![("x-over", "c1"), ("x-over", "c2")]),
        ("x-both from the client", vec![("x-both", "client")]),
        ("x-route from the client", vec![("x-route", "c")]),
        ("x-route-sees from the client", vec![("x-route-sees", "c")]),
        ("x-copy source", vec![("x-src", "s")]),
        (
            "x-copy source repeated",
            vec![("x-src", "s1"), ("x-src", "s2")],
        ),
        ("x-copy spoofed", vec![("x-copy", "c")]),
        ("x-absent from the client", vec![("x-absent", "c")]),
        ("x-empty from the client", vec![("x-empty", "c")]),
        (
            "x-remove-me",
            vec![("x-remove-me", "1"), ("X-Remove-Me", "2")],
        ),
        (
            "odd value",
            vec![("another-flag-header", "a, b; c=\"d\" %41")],
        ),
        (
            "percent operator in a value",
            vec![("x-src", "%REQ(x-secret-a)%")],
        ),
        (
            "powered-by from upstream",
            vec![
                ("x-echo-response-header", "x-powered-by: php"),
                ("x-echo-response-header", "x-powered-as: a"),
            ],
        ),
        (
            "drop and r from upstream",
            vec![
                ("x-echo-response-header", "x-drop: 1"),
                ("x-echo-response-header", "x-r: up"),
            ],
        ),
        (
            "flag-header from upstream",
            vec![
                ("x-echo-response-header", "flag-header: up"),
                ("another-flag-header", "v"),
            ],
        ),
        (
            "route response headers from upstream",
            vec![
                ("x-echo-response-header", "x-route-resp: up"),
                ("x-echo-response-header", "x-served: up"),
                ("x-echo-response-header", "x-upstream-internal: 1"),
            ],
        ),
    ];
    shapes
        .into_iter()
        .enumerate()
        .map(|(i, (shape, headers))| {
            let request = headers
                .iter()
                .fold(Request::get("/m?a=1"), |r, (n, v)| r.header(n, v));
            let case = Case::new(shape, request);
            if i % 2 == 1 {
                case.h2()
            } else {
                case
            }
        })
        .collect()
}

#[test]
fn header_mutation_and_route_lists_twin() {
    let (m, lists) = (mutations(), route_lists());
    let native_m = m.clone();
    let native_lists = lists.clone();
    let mut config = lists;
    config["mutations"] = m;
    let twin = Twin::start(
        "twin_headers::header_mutation_and_route_lists_twin",
        |port| {
            Bootstrap::new(port)
                .filter(json!({
                    "name": "envoy.filters.http.header_mutation",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
                        "mutations": native_m
                    }
                }))
                .route_options(native_lists)
        },
        |port| Bootstrap::new(port).wasm("headers", &config),
    )
    .watch(&[
        "flag-header",
        "x-powered-by",
        "x-powered-as",
        "x-drop",
        "x-r",
        "x-route-resp",
        "x-served",
        "x-upstream-internal",
    ]);
    let cases = shapes();
    assert!(cases.len() >= 25);
    let seen = twin.run(&cases);
    // The lists did something on both sides.
    let up = seen[0].0.upstream.as_ref().expect("reached the upstream");
    assert_eq!(up.2.get("x-route").map(Vec::len), Some(2), "{up:?}");
}
