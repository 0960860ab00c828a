//! jwt_authn's own forms, as Envoy's documentation writes them: requirement
//! lists under `requirements`, rules without `requires`, `requirement_map`
//! and `requirement_name`, and `RouteMatch`'s path forms and query
//! parameters.

use super::*;
use crate::policy::decide::{decide, Decision};
use serde_json::{json, Value};
use tollgate_common::testing::request;
use tollgate_common::testing::MemoryStore;

const JWKS: &str = include_str!("../../../jwt/testdata/jwks.json");
const TOKENS: &str = include_str!("../../../jwt/testdata/tokens.json");

fn tok(name: &str) -> String {
    let all: Value = serde_json::from_str(TOKENS).unwrap();
    all[name].as_str().unwrap().to_string()
}

/// Two providers: `provider1` accepts the fixtures' tokens, `provider2` (another
/// issuer) refuses them. `rules` as in jwt_authn's `JwtAuthentication` example.
fn with_rules(rules: Value, extra: Value) -> Config {
    let mut c = json!({
        "jwt": {"providers": {
            "provider1": {"issuer": "https://issuer.example", "local_jwks": {"inline_string": JWKS}},
            "provider2": {"issuer": "issuer2", "local_jwks": {"inline_string": JWKS}},
            "forwarding": {"issuer": "https://issuer.example", "local_jwks": {"inline_string": JWKS}, "forward": true}
        }},
        "rules": rules
    });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(extra.clone());
    }
    parse(c.to_string().as_bytes()).unwrap()
}

fn status(c: &Config, path: &str, token: Option<&str>) -> u16 {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![(":path", path), (":method", "GET")];
    if let Some(a) = &auth {
        h.push(("authorization", a.as_str()));
    }
    match decide(c, &request(&h), &MemoryStore::default()).0 {
        Decision::Allow { .. } => 200,
        Decision::Deny { reply, .. } => reply.status,
        d => panic!("{d:?}"),
    }
}

/// jwt_authn's `JwtAuthentication` example, rules copied as they are.
#[test]
fn jwt_authn_example_rules() {
    let c = with_rules(
        json!([
            {"match": {"prefix": "/health"}},
            {"match": {"prefix": "/prefix"}, "requires": {"provider_name": "provider1"}},
            {"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "provider1"}, {"provider_name": "provider2"}]}}}
        ]),
        json!({}),
    );
    let good = tok("rs256");
    assert!(c.has_path_rules);
    // A rule without `requires` requires nothing, and later rules do not apply.
    assert_eq!(status(&c, "/health", None), 200);
    assert_eq!(status(&c, "/health", Some("garbage")), 200);
    assert_eq!(status(&c, "/prefix/x", None), 401);
    assert_eq!(status(&c, "/prefix/x", Some(&good)), 200);
    assert_eq!(status(&c, "/other", None), 401);
    assert_eq!(status(&c, "/other", Some(&good)), 200);
    assert_eq!(status(&c, "/other", Some(&tok("expired"))), 401);
    // The same tree in Tollgate's bare-list spelling means the same.
    let bare = with_rules(
        json!([{"match": {"prefix": "/"}, "requires": {"requires_any": [
            {"provider_name": "provider1"}, {"provider_name": "provider2"}]}}]),
        json!({}),
    );
    assert_eq!(bare.rules[0].requires.clone(), {
        let Requirement::Any(g) = &c.rules[2].requires else {
            panic!()
        };
        Requirement::Any(crate::policy::requirement::Group {
            children: g.children.clone(),
            field: "requires_any",
        })
    });
}

/// `JwtRequirement`'s documented examples 3 to 8.
#[test]
fn jwt_requirement_examples() {
    let rule = |requires: Value| {
        with_rules(
            json!([{"match": {"prefix": "/"}, "requires": requires}]),
            json!({}),
        )
    };
    let good = tok("rs256");
    let bad = tok("expired");
    // Example 4: require A and B (B refuses the fixtures' issuer).
    let all = rule(json!({"requires_all": {"requirements": [
        {"provider_name": "provider1"}, {"provider_name": "provider2"}]}}));
    assert_eq!(status(&all, "/", Some(&good)), 401);
    // Example 5: require A and (B or C).
    let nested = rule(json!({"requires_all": {"requirements": [
        {"provider_name": "provider1"},
        {"requires_any": {"requirements": [{"provider_name": "provider2"}, {"provider_name": "provider1"}]}}]}}));
    // One token for A and C: A verifies it and, with `forward: false`,
    // takes it away, so C finds none (Envoy's jwt_authn removes it the same
    // way; tests/tests/envoy_forms.rs compares the two).
    assert_eq!(status(&nested, "/", Some(&good)), 401);
    assert_eq!(status(&nested, "/", None), 401);
    // With `forward: true` A leaves it for C.
    let nested = rule(json!({"requires_all": {"requirements": [
        {"provider_name": "forwarding"},
        {"requires_any": {"requirements": [{"provider_name": "provider2"}, {"provider_name": "provider1"}]}}]}}));
    assert_eq!(status(&nested, "/", Some(&good)), 200);
    // Example 6: require A or (B and C).
    let either = rule(json!({"requires_any": {"requirements": [
        {"provider_name": "provider1"},
        {"requires_all": {"requirements": [{"provider_name": "provider2"}, {"provider_name": "provider1"}]}}]}}));
    assert_eq!(status(&either, "/", Some(&good)), 200);
    // Example 7: A is optional: a token must be valid, none is fine.
    let optional = rule(json!({"requires_any": {"requirements": [
        {"provider_name": "provider1"}, {"allow_missing": {}}]}}));
    assert_eq!(status(&optional, "/", None), 200);
    assert_eq!(status(&optional, "/", Some(&good)), 200);
    assert_eq!(status(&optional, "/", Some(&bad)), 401);
    // Example 1: the empty requirement requires nothing.
    let nothing = rule(json!({}));
    assert_eq!(status(&nothing, "/", Some("garbage")), 200);
    // allow_missing_or_failed as a top-level requirement.
    let failed = rule(json!({"allow_missing_or_failed": {}}));
    assert_eq!(status(&failed, "/", Some(&bad)), 200);
    // provider_and_audiences without audiences keeps the provider's (none here).
    let pa = rule(json!({"provider_and_audiences": {"provider_name": "provider1"}}));
    assert_eq!(status(&pa, "/", Some(&good)), 200);
    let pa = rule(
        json!({"provider_and_audiences": {"provider_name": "provider1", "audiences": ["elsewhere"]}}),
    );
    assert_eq!(status(&pa, "/", Some(&good)), 403);
}

#[test]
fn requirement_map_and_requirement_name() {
    let c = with_rules(
        json!([
            {"match": {"path": "/open"}},
            {"match": {"prefix": "/"}, "requirement_name": "strict"}
        ]),
        json!({"requirement_map": {"strict": {"provider_name": "provider1"}}}),
    );
    assert_eq!(status(&c, "/open", None), 200);
    assert_eq!(status(&c, "/open/x", None), 401, "path is exact");
    assert_eq!(status(&c, "/x", Some(&tok("rs256"))), 200);
}

#[test]
fn route_match_forms() {
    let c = with_rules(
        json!([
            {"match": {"safe_regex": {"regex": "/re/[0-9]+"}}},
            {"match": {"prefix": "/CI", "case_sensitive": false}},
            {"match": {"path_separated_prefix": "/sep"}},
            {"match": {"prefix": "/q", "query_parameters": [{"name": "debug", "string_match": {"exact": "1"}}]}},
            {"match": {"prefix": "/p", "query_parameters": [{"name": "flag", "present_match": true}]}},
            {"match": {"prefix": "/h", "headers": [{"name": "x-open", "string_match": {"exact": "yes"}}]}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "provider1"}}
        ]),
        json!({}),
    );
    for (path, want) in [
        ("/re/42", 200),
        ("/re/42?x=1", 200),
        ("/re/4a", 401),
        ("/ci/x", 200),
        ("/Ci/x", 200),
        ("/sep", 200),
        ("/sep/x", 200),
        ("/separate", 401),
        ("/q?debug=1", 200),
        ("/q?a=b&debug=1", 200),
        ("/q?debug=1&debug=2", 200),
        ("/q?debug=2&debug=1", 401), // only the first value counts, as in Envoy
        ("/q?debug=%31", 401),       // not decoded, as in Envoy
        ("/q", 401),
        ("/p?flag", 200),
        ("/p?flag=", 200),
        ("/p?flags=1", 401),
        ("/h", 401),
    ] {
        assert_eq!(status(&c, path, None), want, "{path}");
    }
}

#[test]
fn envoy_form_errors_name_the_field() {
    let err = |rules: Value| {
        match parse(
        json!({"jwt": {"providers": {"p": {"local_jwks": {"inline_string": JWKS}}}}, "rules": rules})
            .to_string()
            .as_bytes(),
    ) {
        Ok(c) => panic!("{rules} parsed as {c:?}"),
        Err(e) => (e.field.clone(), e.reason.clone()),
    }
    };
    let cases = [
        (
            json!([{"requires": {"requires_any": {"requirements": [{"provider_name": "p"}, {"provider_name": "q"}]}}}]),
            "rules[0].requires.requires_any.requirements[1].provider_name",
            "no provider \"q\" in jwt.providers",
        ),
        (
            json!([{"requires": {"requires_all": {"requirements": [
                {"requires_any": {"requirements": [{"provider_and_audiences": {"provider_name": "x", "audiences": ["a"]}}]}}]}}}]),
            "rules[0].requires.requires_all.requirements[0].requires_any.requirements[0].provider_and_audiences.provider_name",
            "no provider \"x\"",
        ),
        (
            json!([{"requires": {"requires_any": {"requirement": []}}}]),
            "rules[0].requires.requires_any.requirement",
            "unknown field `requirement`",
        ),
        (
            json!([{"requires": {"requires_any": {"requirements": []}}}]),
            "rules[0].requires",
            "requires_any must not be empty",
        ),
        (
            json!([{"requires": {"requires_all": "p"}}]),
            "rules[0].requires.requires_all",
            "a list of requirements, or {\"requirements\": [...]}",
        ),
        (
            json!([{"requires": {"provider_name": "p"}, "requirement_name": "r"}]),
            "rules[0]",
            "give requires or requirement_name, not both",
        ),
        (
            json!([{"match": {"prefix": "/a", "path": "/b"}}]),
            "rules[0].match",
            "at most one of path, prefix, safe_regex, path_separated_prefix",
        ),
        (
            json!([{"match": {"path": {"exact": "/a"}, "case_sensitive": false}}]),
            "rules[0].match",
            "case_sensitive applies to prefix",
        ),
        (
            json!([{"match": {"safe_regex": {"regex": "("}}}]),
            "rules[0].match.safe_regex.regex",
            "invalid regex",
        ),
        (
            json!([{"match": {"path_separated_prefix": "/a/"}}]),
            "rules[0].match.path_separated_prefix",
            "trailing /",
        ),
        (
            json!([{"match": {"query_parameters": [{"name": "a", "present_match": true, "string_match": {"exact": "b"}}]}}]),
            "rules[0].match.query_parameters[0]",
            "string_match or present_match, not both",
        ),
        (
            json!([{"match": {"path": 3}}]),
            "rules[0].match.path",
            "an exact path (a string) or a string matcher (an object)",
        ),
        (
            json!([{"match": {"grpc": {}}}]),
            "rules[0].match.grpc",
            "unknown field `grpc`",
        ),
    ];
    for (rules, field, reason) in cases {
        let (f, r) = err(rules.clone());
        assert_eq!(f, field, "{rules}: {r}");
        assert!(r.contains(reason), "{rules}: {r}");
    }
    // requirement_map entries are checked where they are written.
    let e = parse(
        json!({"requirement_map": {"m": {"requires_any": {"requirements": [{"basic": {}}]}}}})
            .to_string()
            .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        e.field,
        "requirement_map.m.requires_any.requirements[0].basic"
    );
}
