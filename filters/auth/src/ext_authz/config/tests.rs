use super::*;

fn err(json: &str) -> ConfigError {
    match parse(json.as_bytes()) {
        Ok(c) => panic!("{json} parsed as {c:?}"),
        Err(e) => e,
    }
}

const MIN: &str =
    r#"{"http_service": {"server_uri": {"uri": "http://authz.local", "cluster": "authz"}}}"#;

#[test]
fn minimal_has_envoy_defaults() {
    let c = parse(MIN.as_bytes()).unwrap();
    assert_eq!(c.cluster, "authz");
    assert_eq!(c.authority, "authz.local");
    assert_eq!(c.timeout, std::time::Duration::from_millis(200));
    assert_eq!(c.path_prefix, "");
    assert!(c.allowed_headers.is_none() && c.headers_to_add.is_empty());
    assert!(c.allowed_upstream_headers.is_none());
    assert!(c.allowed_upstream_headers_to_append.is_none());
    assert!(c.allowed_client_headers.is_none());
    assert!(c.allowed_client_headers_on_success.is_none());
    assert!(!c.failure_mode_allow && !c.failure_mode_allow_header_add);
    assert_eq!(c.status_on_error, 403);
}

#[test]
fn full() {
    let c = parse(
        br#"{"http_service": {
            "server_uri": {"uri": "https://Authz.Example:8443/ignored?x", "cluster": "authz", "timeout": "0.25s"},
            "path_prefix": "/check",
            "authorization_request": {
                "allowed_headers": {"patterns": [{"prefix": "x-"}, {"exact": "cookie"}]},
                "headers_to_add": [{"key": "X-Caller", "value": "tollgate %REQ(x-a)%"}]},
            "authorization_response": {
                "allowed_upstream_headers": {"patterns": [{"exact": "x-user"}]},
                "allowed_upstream_headers_to_append": {"patterns": [{"exact": "x-tag"}]},
                "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}]},
                "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}}},
          "failure_mode_allow": true,
          "failure_mode_allow_header_add": true,
          "status_on_error": {"code": "ServiceUnavailable"},
          "transport_api_version": "V3"}"#,
    )
    .unwrap();
    assert_eq!(c.authority, "authz.example:8443");
    assert_eq!(c.timeout, std::time::Duration::from_millis(250));
    assert_eq!(c.path_prefix, "/check");
    let allowed = c.allowed_headers.as_ref().unwrap();
    assert!(allowed.matches("x-anything") && allowed.matches("cookie"));
    assert!(!allowed.matches("accept"));
    assert_eq!(c.headers_to_add.len(), 1);
    assert_eq!(c.headers_to_add[0].key.as_str(), "x-caller");
    assert!(c
        .allowed_upstream_headers
        .as_ref()
        .unwrap()
        .matches("x-user"));
    assert!(c
        .allowed_upstream_headers_to_append
        .as_ref()
        .unwrap()
        .matches("x-tag"));
    assert!(c
        .allowed_client_headers
        .as_ref()
        .unwrap()
        .matches("x-authz-reason"));
    assert!(c
        .allowed_client_headers_on_success
        .as_ref()
        .unwrap()
        .matches("x-quota"));
    assert!(c.failure_mode_allow && c.failure_mode_allow_header_add);
    assert_eq!(c.status_on_error, 503);
}

#[test]
fn top_level_allowed_headers() {
    let c = parse(
        br#"{"allowed_headers": {"patterns": [{"exact": "x-a"}]},
             "http_service": {"server_uri": {"uri": "http://a", "cluster": "c"}}}"#,
    )
    .unwrap();
    assert!(c.allowed_headers.unwrap().matches("x-a"));
    let e = err(r#"{"allowed_headers": {"patterns": [{"exact": "x-a"}]},
            "http_service": {"server_uri": {"uri": "http://a", "cluster": "c"},
              "authorization_request": {"allowed_headers": {"patterns": [{"exact": "x-b"}]}}}}"#);
    assert_eq!(e.field, "configuration");
    assert!(e.reason.contains("both set"), "{e}");
}

#[test]
fn errors_name_the_field() {
    let su = r#""server_uri": {"uri": "http://a", "cluster": "c"}"#;
    let cases = [
        (r#"{}"#.to_string(), "configuration", "missing field `http_service`"),
        (r#"{"grpc_service": {"envoy_grpc": {"cluster_name": "x"}}}"#.into(), "grpc_service", "not supported"),
        (format!(r#"{{"http_service": {{{su}}}, "bogus": 1}}"#), "bogus", "unknown field"),
        (r#"{"http_service": {"server_uri": {"uri": "ftp://authz.local", "cluster": "c"}}}"#.into(),
         "http_service.server_uri.uri", "expected [http://]"),
        (r#"{"http_service": {"server_uri": {"uri": "http://", "cluster": "c"}}}"#.into(),
         "http_service.server_uri.uri", "no host"),
        (r#"{"http_service": {"server_uri": {"uri": "http://u@h", "cluster": "c"}}}"#.into(),
         "http_service.server_uri.uri", "may hold only"),
        (r#"{"http_service": {"server_uri": {"uri": "http://a", "cluster": ""}}}"#.into(),
         "http_service.server_uri.cluster", "must not be empty"),
        (r#"{"http_service": {"server_uri": {"uri": "http://a"}}}"#.into(),
         "http_service.server_uri", "missing field `cluster`"),
        (r#"{"http_service": {"server_uri": {"uri": "http://a", "cluster": "c", "timeout": 1}}}"#.into(),
         "http_service.server_uri.timeout", "duration"),
        (r#"{"http_service": {"server_uri": {"uri": "http://a", "cluster": "c", "timeout": "2m"}}}"#.into(),
         "http_service.server_uri.timeout", "at most 60000ms"),
        (format!(r#"{{"http_service": {{{su}, "path_prefix": "check"}}}}"#),
         "http_service.path_prefix", "start with '/'"),
        (format!(r#"{{"http_service": {{{su}, "path_prefix": "/a?b"}}}}"#),
         "http_service.path_prefix", "must not hold"),
        (format!(r#"{{"http_service": {{{su}, "authorization_request": {{"allowed_headers": {{"patterns": []}}}}}}}}"#),
         "http_service.authorization_request.allowed_headers.patterns", "at least one pattern"),
        (format!(r#"{{"http_service": {{{su}, "authorization_request": {{"allowed_headers": {{"patterns": [{{"exact": "a", "prefix": "b"}}]}}}}}}}}"#),
         "http_service.authorization_request.allowed_headers.patterns[0]", "exactly one"),
        (format!(r#"{{"http_service": {{{su}, "authorization_request": {{"headers_to_add": [{{"key": ":path", "value": "/x"}}]}}}}}}"#),
         "http_service.authorization_request.headers_to_add[0].key", "cannot be modified"),
        (format!(r#"{{"http_service": {{{su}, "authorization_request": {{"headers_to_add": [{{"key": "content-length", "value": "5"}}]}}}}}}"#),
         "http_service.authorization_request.headers_to_add[0]", "cannot be added"),
        (format!(r#"{{"http_service": {{{su}, "authorization_request": {{"headers_to_add": [{{"key": "x", "value": "%NOPE%"}}]}}}}}}"#),
         "http_service.authorization_request.headers_to_add[0].value", ""),
        (format!(r#"{{"http_service": {{{su}, "authorization_response": {{"dynamic_metadata_from_headers": {{"patterns": [{{"exact": "a"}}]}}}}}}}}"#),
         "http_service.authorization_response.dynamic_metadata_from_headers", "unknown field"),
        (format!(r#"{{"http_service": {{{su}}}, "status_on_error": {{"code": 200}}}}"#),
         "status_on_error.code", "4xx or 5xx"),
        (format!(r#"{{"http_service": {{{su}}}, "failure_mode_allow": "yes"}}"#),
         "failure_mode_allow", "invalid type"),
        (format!(r#"{{"http_service": {{{su}}}, "failure_mode_allow_header_add": true}}"#),
         "configuration", "needs failure_mode_allow"),
        (format!(r#"{{"http_service": {{{su}}}, "transport_api_version": "V2"}}"#),
         "transport_api_version", "unknown variant"),
    ];
    for (json, field, reason) in cases {
        let e = err(&json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

#[test]
fn authorities() {
    assert_eq!(authority_of("http://a.b").as_deref(), Ok("a.b"));
    assert_eq!(authority_of("HTTP://A.B:80/x").as_deref(), Ok("a.b:80"));
    assert_eq!(
        authority_of("https://[::1]:8443").as_deref(),
        Ok("[::1]:8443")
    );
    assert_eq!(authority_of("http://h?q").as_deref(), Ok("h"));
    // Without a scheme, as Envoy's documentation writes it.
    assert_eq!(
        authority_of("127.0.0.1:10003").as_deref(),
        Ok("127.0.0.1:10003")
    );
    assert_eq!(
        authority_of("authz.local/check").as_deref(),
        Ok("authz.local")
    );
    for bad in [
        "ftp://a",
        "http:/a",
        "http://a b",
        "http://a\r\n",
        "//a",
        "",
        "a b",
    ] {
        assert!(authority_of(bad).is_err(), "{bad:?}");
    }
}
