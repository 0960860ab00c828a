use super::*;
use tollgate_common::header::AppendAction;

fn err(json: &str) -> ConfigError {
    match parse(json.as_bytes()) {
        Ok(c) => panic!("{json} parsed as {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn empty_configs() {
    for input in ["", " ", "{}", r#"{"rules":[]}"#] {
        let c = parse(input.as_bytes()).unwrap();
        assert!(c.mutations.is_empty() && c.rules.is_empty());
        assert!(!c.has_response());
    }
}

#[test]
fn full_config() {
    let c = parse(
        br#"{
          "request_headers_to_add": [{"header": {"key": "X-Request-Id", "value": "%UNIQUE_ID%"},
                                      "append_action": "ADD_IF_ABSENT"}],
          "request_headers_to_remove": ["X-Internal"],
          "response_headers_to_add": [{"header": {"key": "x-frame-options", "value": "DENY"}}],
          "response_headers_to_remove": ["server"],
          "rules": [
            {"match": {"path": {"prefix": "/admin"}, "methods": ["GET"]},
             "request_headers_to_add": [{"header": {"key": "x-admin", "value": "1"},
                                         "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                         "keep_empty_value": true}]},
            {"response_headers_to_remove": ["x-powered-by"]}
          ]
        }"#,
    )
    .unwrap();
    let m = &c.mutations;
    let add = &m.request_headers_to_add[0];
    assert_eq!(add.header.key.as_str(), "x-request-id");
    assert!(!add.header.value.is_static());
    assert_eq!(add.append_action, AppendAction::AddIfAbsent);
    assert_eq!(m.request_headers_to_remove[0].as_str(), "x-internal");
    assert_eq!(
        m.response_headers_to_add[0].header.value.as_static(),
        Some("DENY")
    );
    assert_eq!(m.response_headers_to_remove[0].as_str(), "server");
    assert_eq!(c.rules.len(), 2);
    assert!(!c.rules[0].matcher.is_empty());
    assert!(c.rules[0].mutations.request_headers_to_add[0].keep_empty_value);
    assert!(!c.rules[0].mutations.has_response());
    assert!(c.rules[1].matcher.is_empty());
    assert!(c.rules[1].mutations.has_response());
    assert!(c.has_response());
}

#[test]
fn ambiguous_path_action() {
    let c = parse(b"{}").unwrap();
    assert_eq!(c.ambiguous_path_action, AmbiguousPathAction::RejectRequest);
    assert!(!c.has_path_rules());
    let c = parse(
        br#"{"rules": [{"match": {"path": {"prefix": "/a"}}}], "ambiguous_path_action": "MATCH_NORMALIZED"}"#,
    )
    .unwrap();
    assert_eq!(
        c.ambiguous_path_action,
        AmbiguousPathAction::MatchNormalized
    );
    assert!(c.has_path_rules());
    let e = err(r#"{"ambiguous_path_action": 1}"#);
    assert_eq!(e.field, "ambiguous_path_action", "{e}");
    let e = err(r#"{"ambiguous_path_action": "KEEP"}"#);
    assert_eq!(e.field, "ambiguous_path_action", "{e}");
    assert!(e.reason.contains("REJECT_REQUEST"), "{e}");
}

#[test]
fn has_response_only_from_rules() {
    let c = parse(br#"{"rules":[{"response_headers_to_remove":["a"]}]}"#).unwrap();
    assert!(c.mutations.is_empty());
    assert!(c.has_response());
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            r#"{"request_headers_to_add":[{"header":{"key":"x","value":"%BOGUS%"}}]}"#,
            "request_headers_to_add[0].header.value",
            "unknown operator %BOGUS%",
        ),
        (
            r#"{"rules":[{"match":{"path":{"safe_regex":{"regex":"(a"}}}}]}"#,
            "rules[0].match.path.safe_regex.regex",
            "invalid regex",
        ),
        (
            r#"{"rules":[{},{"response_headers_to_add":[{"header":{"key":"a","value":"b"}},{"header":{"key":"bad name","value":"v"}}]}]}"#,
            "rules[1].response_headers_to_add[1].header.key",
            "invalid header name",
        ),
        (
            r#"{"request_headers_to_remove":["ok",":path"]}"#,
            "request_headers_to_remove[1]",
            "cannot be modified",
        ),
        (
            r#"{"response_headers_to_remove":["Host"]}"#,
            "response_headers_to_remove[0]",
            "cannot be modified",
        ),
        (
            r#"{"request_headers_to_add":[{"header":{"key":"host","value":"x"}}]}"#,
            "request_headers_to_add[0].header.key",
            "cannot be modified",
        ),
        (
            r#"{"request_header_to_add":[]}"#,
            "request_header_to_add",
            "unknown field",
        ),
        (
            r#"{"rules":[{"matches":{}}]}"#,
            "rules[0].matches",
            "unknown field",
        ),
        (
            r#"{"rules":[{"match":{"paths":{}}}]}"#,
            "rules[0].match.paths",
            "unknown field",
        ),
        (
            r#"{"rules":[{"match":{"path":{"prefix":"/a"}},"request_headers_to_add":[{"header":{"key":"x","value":"v"},"append":true}]}]}"#,
            "rules[0].request_headers_to_add[0].append",
            "unknown field",
        ),
        (
            r#"{"rules":{}}"#,
            "rules",
            "invalid type: map, expected a sequence",
        ),
        (
            r#"{"request_headers_to_remove":"x"}"#,
            "request_headers_to_remove",
            "invalid type",
        ),
        (
            r#"{"request_headers_to_add":[{"header":{"key":"x","value":"v"},"append_action":"APPEND"}]}"#,
            "request_headers_to_add[0].append_action",
            "unknown variant `APPEND`",
        ),
        (
            r#"{"request_headers_to_add":[{"header":{"key":"x","value":"v"},"keep_empty_value":"yes"}]}"#,
            "request_headers_to_add[0].keep_empty_value",
            "invalid type",
        ),
        (
            r#"{"request_headers_to_add":[{"header":{"key":"x","value":"a\nb"}}]}"#,
            "request_headers_to_add[0].header.value",
            "CR, LF or NUL",
        ),
        (
            r#"{"request_headers_to_add":[{"header":{"key":"x"}}]}"#,
            "request_headers_to_add[0].header",
            "missing field `value`",
        ),
        (
            r#"{"rules":[{"match":{"headers":[{"name":"x","present_match":true,"string_match":{"exact":"a"}}]}}]}"#,
            "rules[0].match.headers[0]",
            "not both",
        ),
        (r#"{"rules":[}"#, "configuration", "invalid JSON at line 1"),
        ("[]", "configuration", "must be a JSON object"),
    ];
    for (json, field, reason) in cases {
        let e = err(json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
        assert!(
            !e.reason.contains(" at line 1 column") || field == "configuration",
            "{e}"
        );
    }
}
