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
        (format!(r#"{{{API}, "rules": [{{"requires": {{}}}}]}}"#), "rules[0].requires", "exactly one"),
        (format!(r#"{{{API}, "rules": [{{"requires": {{"api_key": {{}}}}, "match": {{"path": {{"safe_regex": {{"regex": "("}}}}}}}}]}}"#),
         "rules[0].match.path.safe_regex.regex", "invalid regex"),
        (r#"{"rules": [{"match": {}}]}"#.to_string(), "rules[0]", "missing field `requires`"),
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
