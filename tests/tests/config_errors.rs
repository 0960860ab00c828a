//! A bad plugin configuration fails the plugin's start with one log line
//! naming the field and why — checked through a real Envoy.

use tollgate_tests::envoy::rejected;

#[test]
fn bad_headers_configurations_name_the_field() {
    let cases = [
        (
            r#"{"request_headers_to_add": [{"header": {"key": "x", "value": "%BOGUS%"}}]}"#,
            "request_headers_to_add[0].header.value",
            "BOGUS",
        ),
        (
            r#"{"request_headers_to_ad": []}"#,
            "request_headers_to_ad",
            "unknown field",
        ),
        (
            r#"{"mutations": {"request_mutations": [{"remove": "a", "append": {"header": {"key": "b", "value": "c"}}}]}}"#,
            "mutations.request_mutations[0]",
            "exactly one of append, remove, remove_on_match",
        ),
        (
            r#"{"request_headers_to_remove": "x-a"}"#,
            "request_headers_to_remove",
            "sequence",
        ),
        (
            r#"{"request_headers_to_remove": ["host"]}"#,
            "request_headers_to_remove[0]",
            "host",
        ),
        (
            r#"{"response_headers_to_add": [{"header": {"key": "x", "value": "v"}, "append_action": "SOMETIMES"}]}"#,
            "response_headers_to_add[0].append_action",
            "SOMETIMES",
        ),
        (
            r#"{"rules": [{"match": {"path": {"safe_regex": {"regex": "(unclosed"}}}}]}"#,
            "rules[0].match.path.safe_regex.regex",
            "invalid regex",
        ),
        (
            r#"{"rules": [{"match": {"path": {"exact": "/a", "prefix": "/b"}}}]}"#,
            "rules[0].match.path",
            "exactly one",
        ),
        (
            r#"{"rules": [{"match": {"headers": [{"name": "bad name"}]}}]}"#,
            "rules[0].match.headers[0].name",
            "invalid header name",
        ),
        (
            r#"{"request_headers_to_add": [{"header": {"key": "x", "value": "%START_TIME(%Y)%"}}]}"#,
            "request_headers_to_add[0].header.value",
            "START_TIME",
        ),
        (
            r#"{"request_headers_to_add": [{"header": {"key": "x", "value": "%REQ(x"}}]}"#,
            "request_headers_to_add[0].header.value",
            "closing",
        ),
        ("{not json", "configuration", "invalid JSON"),
        ("[]", "configuration", "JSON object"),
        (
            r#"{"rules": [{"match": {"methods": "GET"}}]}"#,
            "rules[0].match.methods",
            "expected a sequence",
        ),
    ];
    for (config, field, reason) in cases {
        let line = rejected("headers", config);
        assert!(
            line.starts_with(&format!("{field}: ")),
            "{config}: field {field:?} not first in {line:?}"
        );
        assert!(
            line.contains(reason),
            "{config}: {reason:?} not in {line:?}"
        );
    }
}

#[test]
fn bad_auth_configurations_name_the_field() {
    let api = r#""api_key": {"credentials": [{"key": "k", "client": "c"}], "key_sources": [{"header": "x-api-key"}]}"#;
    let cases = [
        (r#"{"basic": {"users": "alice:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\nbob:plain-text"}}"#.to_string(),
         "basic.users", "line 2 (user \"bob\"): plaintext"),
        (r#"{"basic": {"users": "dave:RT3LryroMXGFM"}}"#.to_string(), "basic.users", "DES crypt"),
        (r#"{"basic": {"users": "a:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", "lockout": {"window": 60}}}"#.to_string(),
         "basic.lockout.window", "duration"),
        (r#"{"rules": [{"requires": {"basic": {}}}]}"#.to_string(), "rules[0].requires.basic", "top-level basic"),
        (format!(r#"{{{api}, "rules": [{{"requires": {{"api_key": {{"allowed_clients": ["nobody"]}}}}}}]}}"#),
         "rules[0].requires.api_key.allowed_clients[0]", "no credential has client"),
        (format!(r#"{{{api}, "rules": [{{"requires": {{"api_key": {{}}, "basic": {{}}}}}}]}}"#),
         "rules[0].requires", "at most one"),
        // jwt_authn's forms: the path follows the spelling used.
        (r#"{"rules": [{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [{"allow_missing": {}}, {"provider_name": "idp"}]}}}]}"#.to_string(),
         "rules[0].requires.requires_any.requirements[1].provider_name", "needs the top-level jwt configuration"),
        (r#"{"rules": [{"match": {"prefix": "/", "path": "/x"}}]}"#.to_string(),
         "rules[0].match", "at most one of path, prefix, safe_regex, path_separated_prefix"),
        (r#"{"rules": [{"match": {"prefix": "/"}, "requirement_name": "r"}]}"#.to_string(),
         "rules[0].requirement_name", "no requirement \"r\" in requirement_map"),
        (r#"{"api_key": {"credentials": [{"key_sha256": "abc", "client": "c"}], "key_sources": [{"header": "x"}]}}"#.to_string(),
         "api_key.credentials[0]", "64 hex digits"),
        (format!(r#"{{{api}, "identity_header": "host"}}"#), "identity_header", "cannot be modified"),
        (r#"{"jwt": {}}"#.to_string(), "jwt", "missing field `providers`"),
        (r#"{"rules": [{"requires": {"requires_all": [{"ext_authz": {}}]}}]}"#.to_string(),
         "rules[0].requires.requires_all[0].ext_authz", "top-level ext_authz"),
        (r#"{"ext_authz": {"http_service": {"server_uri": {"uri": "http://authz", "cluster": "authz"}}, "status_on_error": {"code": 200}}}"#.to_string(),
         "ext_authz.status_on_error.code", "4xx or 5xx"),
        (r#"{"ext_authz": {"http_service": {"server_uri": {"uri": "ftp://authz", "cluster": "authz"}}}}"#.to_string(),
         "ext_authz.http_service.server_uri.uri", "invalid uri"),
        (r#"{"ext_authz": {"grpc_service": {}, "http_service": {"server_uri": {"uri": "http://a", "cluster": "a"}}}}"#.to_string(),
         "ext_authz.grpc_service", "not supported"),
    ];
    for (config, field, reason) in cases {
        let line = rejected("auth", &config);
        assert!(
            line.starts_with(&format!("{field}: ")),
            "{config}: field {field:?} not first in {line:?}"
        );
        assert!(
            line.contains(reason),
            "{config}: {reason:?} not in {line:?}"
        );
    }
}
