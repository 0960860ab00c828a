//! Envoy's header_mutation form: `mutations.request_mutations` and
//! `response_mutations`, applied in order, around the route-style lists.

use super::*;
use crate::config::parse;
use tollgate_common::testing::FakeSource;

fn req(headers: Vec<(&'static str, &'static str)>) -> Request<FakeSource> {
    FakeSource::new(&headers)
        .client(Some("10.0.0.1:5000"))
        .request()
}

fn run(
    config: &str,
    request: Vec<(&'static str, &'static str)>,
    response: &[(&str, &str)],
) -> (Headers, Headers) {
    let c = parse(config.as_bytes()).unwrap();
    let r = req(request.clone());
    let p = plan(&c, &r);
    let mut up = Headers::of(&request);
    apply(&p.request, &mut up);
    let mut down = Headers::of(response);
    apply(&p.response, &mut down);
    (up, down)
}

/// The example of Envoy's header_mutation documentation: remove, then append
/// from another request header, on both sides.
#[test]
fn envoys_documented_example() {
    let config = r#"{"mutations": {
        "request_mutations": [
            {"remove": "flag-header"},
            {"append": {"header": {"key": "flag-header", "value": "%REQ(ANOTHER-FLAG-HEADER)%"},
                        "append_action": "APPEND_IF_EXISTS_OR_ADD"}}],
        "response_mutations": [
            {"append": {"header": {"key": "flag-header", "value": "%REQ(ANOTHER-FLAG-HEADER)%"},
                        "append_action": "APPEND_IF_EXISTS_OR_ADD"}}]}}"#;
    let (up, down) = run(
        config,
        vec![
            (":path", "/"),
            ("flag-header", "client"),
            ("another-flag-header", "v"),
        ],
        &[("flag-header", "upstream")],
    );
    assert_eq!(up.all("flag-header"), ["v"]);
    assert_eq!(down.all("flag-header"), ["upstream", "v"]);
}

#[test]
fn mutations_run_in_order_around_the_route_lists() {
    let config = r#"{
        "request_headers_to_add": [{"header": {"key": "x-a", "value": "route"}}],
        "response_headers_to_add": [{"header": {"key": "x-b", "value": "route"}}],
        "mutations": {
            "request_mutations": [
                {"append": {"header": {"key": "x-a", "value": "1"}}},
                {"remove": "x-a"},
                {"append": {"header": {"key": "x-a", "value": "2"}}},
                {"remove_on_match": {"key_matcher": {"prefix": "x-secret-"}}}],
            "response_mutations": [
                {"remove": "x-b"},
                {"append": {"header": {"key": "x-b", "value": "last"}, "append_action": "ADD_IF_ABSENT"}},
                {"remove_on_match": {"key_matcher": {"safe_regex": {"regex": "server|x-powered-.*"}}}}]},
        "rules": [{"match": {"prefix": "/r"},
                   "mutations": {"request_mutations": [{"append": {"header": {"key": "x-a", "value": "rule"}}}]}}]
    }"#;
    let (up, down) = run(
        config,
        vec![
            (":path", "/r"),
            ("host", "h"),
            ("x-secret-1", "s"),
            ("x-secret-2", "t"),
            ("x-keep", "k"),
        ],
        &[
            (":status", "200"),
            ("server", "s"),
            ("x-powered-by", "p"),
            ("x-b", "upstream"),
        ],
    );
    // Request: mutations (top level, then the rule's), then the route list.
    assert_eq!(up.all("x-a"), ["2", "rule", "route"]);
    assert!(up.all("x-secret-1").is_empty() && up.all("x-secret-2").is_empty());
    assert_eq!(up.all("x-keep"), ["k"]);
    assert_eq!(up.all("host"), ["h"]);
    // Response: the route list first, then the mutations.
    assert_eq!(down.all("x-b"), ["last"]);
    assert!(down.all("server").is_empty() && down.all("x-powered-by").is_empty());
    assert_eq!(down.all(":status"), ["200"]);
    // remove_on_match never touches pseudo-headers or host.
    let (up, _) = run(
        r#"{"mutations": {"request_mutations": [{"remove_on_match": {"key_matcher": {"safe_regex": {"regex": ".*"}}}}]}}"#,
        vec![(":path", "/"), ("host", "h"), ("a", "1")],
        &[],
    );
    assert_eq!(up, Headers::of(&[(":path", "/"), ("host", "h")]));
}

#[test]
fn header_mutation_errors_name_the_field() {
    for (json, field, reason) in [
        (
            r#"{"mutations": {"request_mutations": [{}]}}"#,
            "mutations.request_mutations[0]",
            "exactly one of append, remove, remove_on_match",
        ),
        (
            r#"{"mutations": {"request_mutations": [{"remove": "a", "append": {"header": {"key": "b", "value": "c"}}}]}}"#,
            "mutations.request_mutations[0]",
            "exactly one of",
        ),
        (
            r#"{"mutations": {"response_mutations": [{"remove": ":path"}]}}"#,
            "mutations.response_mutations[0].remove",
            "cannot be modified",
        ),
        (
            r#"{"mutations": {"request_mutations": [{"remove_on_match": {}}]}}"#,
            "mutations.request_mutations[0].remove_on_match",
            "missing field `key_matcher`",
        ),
        (
            r#"{"mutations": {"request_mutations": [{"remove_on_match": {"key_matcher": {"safe_regex": {"regex": "("}}}}]}}"#,
            "mutations.request_mutations[0].remove_on_match.key_matcher.safe_regex.regex",
            "invalid regex",
        ),
        (
            r#"{"mutations": {"request_mutations": [{"append": {"header": {"key": "host", "value": "x"}}}]}}"#,
            "mutations.request_mutations[0].append.header.key",
            "cannot be modified",
        ),
        (
            r#"{"mutations": {"query_parameter_mutations": []}}"#,
            "mutations.query_parameter_mutations",
            "unknown field",
        ),
        (
            r#"{"rules": [{"mutations": {"request_mutations": [{"bogus": 1}]}}]}"#,
            "rules[0].mutations.request_mutations[0].bogus",
            "unknown field",
        ),
    ] {
        let e = parse(json.as_bytes()).unwrap_err();
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
    assert!(parse(br#"{"mutations": {}}"#).unwrap().mutations.is_empty());
    assert!(
        parse(br#"{"mutations": {"response_mutations": [{"remove": "server"}]}}"#)
            .unwrap()
            .has_response()
    );
}
