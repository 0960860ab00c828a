use super::*;

#[test]
fn ambiguous_path_action() {
    let c = parse(br#"{"ambiguous_path_action": "MATCH_NORMALIZED"}"#).unwrap();
    assert_eq!(
        c.ambiguous_path_action,
        AmbiguousPathAction::MatchNormalized
    );
    let c = parse(br#"{"ambiguous_path_action": "REJECT_REQUEST"}"#).unwrap();
    assert_eq!(c.ambiguous_path_action, AmbiguousPathAction::RejectRequest);
    for bad in [r#""KEEP_UNCHANGED""#, "true", r#""reject_request""#] {
        let e = err(&format!(r#"{{"ambiguous_path_action": {bad}}}"#));
        assert_eq!(e.field, "ambiguous_path_action", "{e}");
    }
    let e = err(r#"{"ambiguous_path_action": "KEEP_UNCHANGED"}"#);
    assert!(
        e.reason.contains("REJECT_REQUEST") && e.reason.contains("MATCH_NORMALIZED"),
        "{e}"
    );
}

fn err(json: &str) -> ConfigError {
    match parse(json.as_bytes()) {
        Ok(c) => panic!("{json} parsed as {c:?}"),
        Err(e) => e,
    }
}

const API: &str = r#""api_key": {"credentials": [{"key": "k", "client": "c"}], "key_sources": [{"header": "x-api-key"}]}"#;
const BASIC: &str =
    r#""basic": {"users": "bob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO"}"#;

#[test]
fn empty_and_full() {
    let c = parse(b"").unwrap();
    assert!(c.rules.is_empty() && c.default_requires.is_none());
    assert_eq!(c.identity_header, DEFAULT_IDENTITY_HEADER);
    assert!(!c.has_path_rules);
    let c = parse(format!(r#"{{{API}, {BASIC}, "identity_header": "X-Who",
        "rules": [{{"match": {{"methods": ["POST"]}}, "requires": {{"basic": {{}}}}}},
                  {{"match": {{"path": {{"prefix": "/api"}}}}, "requires": {{"api_key": {{"allowed_clients": ["c"]}}}}}}],
        "default_requires": {{"allow_missing": {{}}}}}}"#).as_bytes()).unwrap();
    assert_eq!(c.identity_header, "x-who");
    assert_eq!(c.rules.len(), 2);
    assert!(c.has_path_rules);
    assert_eq!(c.ambiguous_path_action, AmbiguousPathAction::RejectRequest);
    assert_eq!(c.default_requires, Some(Requirement::AllowMissing));
    assert_eq!(c.reserved_headers(), vec!["x-who"]);
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (r#"{"rules": [{"requires": {"api_key": {}}}]}"#.to_string(), "rules[0].requires.api_key", "top-level api_key"),
        (format!(r#"{{{API}, "rules": [{{"requires": {{"requires_any": [{{"api_key": {{}}}}, {{"basic": {{}}}}]}}}}]}}"#),
         "rules[0].requires.requires_any[1].basic", "top-level basic"),
        (format!(r#"{{{API}, "default_requires": {{"api_key": {{"allowed_clients": ["c", "x"]}}}}}}"#),
         "default_requires.api_key.allowed_clients[1]", "no credential has client \"x\""),
        (format!(r#"{{{API}, {BASIC}, "rules": [{{"requires": {{"api_key": {{}}, "basic": {{}}}}}}]}}"#), "rules[0].requires", "at most one"),
        (format!(r#"{{{API}, "rules": [{{"requires": {{"api_key": {{}}}}, "match": {{"path": {{"safe_regex": {{"regex": "("}}}}}}}}]}}"#),
         "rules[0].match.path.safe_regex.regex", "invalid regex"),
        (r#"{"rules": [{"match": {}, "requirement_name": "x"}]}"#.to_string(), "rules[0].requirement_name", "no requirement \"x\" in requirement_map"),
        (r#"{"basic": {"users": "a:b\nc:$apr1$x"}}"#.to_string(), "basic.users", "line 1 (user \"a\"): plaintext"),
        (r#"{"basic": {"users": "ok:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n\nd:RT3LryroMXGFM"}}"#.to_string(), "basic.users", "line 3 (user \"d\"): DES crypt"),
        (r#"{"api_key": {"credentials": [{"key": "k", "client": "c"}], "key_sources": [{"header": "x"}], "forwarding": {"header": "host"}}}"#.to_string(),
         "api_key.forwarding.header", "cannot be modified"),
        (r#"{"api_key": {"credentials": [{"key": "k"}], "key_sources": [{"header": "x"}]}}"#.to_string(), "api_key.credentials[0]", "missing field `client`"),
        (r#"{"identity_header": ":authority"}"#.to_string(), "identity_header", "cannot be modified"),
        (r#"{"jwt_providers": {}}"#.to_string(), "jwt_providers", "unknown field"),
        (format!(r#"{{{BASIC}, "basic": {{}}}}"#), "configuration", "duplicate field `basic`"),
    ];
    for (json, field, reason) in cases {
        let e = err(&json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

/// Every secret a configuration holds can come from the VM's environment
/// (`{"env": NAME}`, or Envoy's DataSource `environment_variable`); a missing
/// variable fails the start naming the field and the variable, not a value.
#[test]
fn secrets_from_the_vm_environment() {
    // Names unique to this test: tests share one process environment.
    std::env::set_var("TOLLGATE_CFG_TEST_KEY", "env-key-1");
    std::env::set_var(
        "TOLLGATE_CFG_TEST_USERS",
        "bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    );
    std::env::set_var("TOLLGATE_CFG_TEST_TOKEN", "Bearer 100%-secret");
    let c = parse(
        br#"{"api_key": {"credentials": [{"key": {"env": "TOLLGATE_CFG_TEST_KEY"}, "client": "c"}],
                         "key_sources": [{"header": "x-api-key"}]},
             "basic": {"users": {"env": "TOLLGATE_CFG_TEST_USERS"}},
             "ext_authz": {"http_service": {"server_uri": {"uri": "http://a", "cluster": "c"},
                 "authorization_request": {"headers_to_add": [
                     {"key": "authorization", "value": {"env": "TOLLGATE_CFG_TEST_TOKEN"}}]}}}}"#,
    )
    .unwrap();
    let api = c.api_key.as_ref().unwrap();
    assert_eq!(api.identify("env-key-1"), Some("c"));
    assert!(c.basic.as_ref().unwrap().users_map().contains_key("bob"));
    // Taken literally: the `%` is not an operator.
    let h = &c.ext_authz.as_ref().unwrap().headers_to_add[0];
    assert_eq!(h.value.as_static(), Some("Bearer 100%-secret"));
    let basic_env =
        parse(br#"{"basic": {"users": {"environment_variable": "TOLLGATE_CFG_TEST_USERS"}}}"#)
            .unwrap();
    assert!(basic_env.basic.unwrap().users_map().contains_key("bob"));

    for (json, field) in [
        (
            r#"{"api_key": {"credentials": [{"key_sha256": {"env": "TOLLGATE_CFG_TEST_UNSET"}, "client": "c"}], "key_sources": [{"header": "x"}]}}"#,
            "api_key.credentials[0].key_sha256",
        ),
        (
            r#"{"basic": {"users": {"env": "TOLLGATE_CFG_TEST_UNSET"}}}"#,
            "basic.users",
        ),
    ] {
        let e = err(json);
        assert_eq!(e.field, field, "{e}");
        assert!(
            e.reason
                .contains("environment variable TOLLGATE_CFG_TEST_UNSET is not set"),
            "{e}"
        );
    }
    // A bad value names the variable, never the value.
    std::env::set_var("TOLLGATE_CFG_TEST_BADHEX", "not-hex-secret");
    let e = err(
        r#"{"api_key": {"credentials": [{"key_sha256": {"env": "TOLLGATE_CFG_TEST_BADHEX"}, "client": "c"}], "key_sources": [{"header": "x"}]}}"#,
    );
    assert!(
        e.reason.contains("TOLLGATE_CFG_TEST_BADHEX") && !e.reason.contains("not-hex-secret"),
        "{e}"
    );
}

mod envoy;
