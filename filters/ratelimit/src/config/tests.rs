use super::*;

fn err(json: &str) -> ConfigError {
    match parse(json.as_bytes()) {
        Ok(c) => panic!("{json} parsed as {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn minimal_and_full() {
    let c = parse(br#"{"token_bucket": {"max_tokens": 20, "fill_interval": "1s"}}"#).unwrap();
    assert_eq!(
        c.token_bucket,
        Some(Limits {
            max_tokens: 20,
            tokens_per_fill: 1,
            fill_interval_ns: 1_000_000_000,
            refill: Refill::Continuous,
        })
    );
    assert!(c.descriptors.is_empty());
    assert_eq!(c.max_keys, DEFAULT_MAX_KEYS);
    assert_eq!(c.identity_header.as_str(), "x-tollgate-identity");
    assert_eq!(
        (c.filter_enabled, c.filter_enforced),
        (Fraction::ALL, Fraction::ALL)
    );
    assert_eq!(c.response_headers, HeaderMode::DraftVersion03);

    let c = parse(
        br#"{
      "descriptors": [{"name": "by-key", "match": {"methods": ["POST"]},
                       "key": [{"request_headers": {"header_name": "x-api-key"}}],
                       "token_bucket": {"max_tokens": 3, "tokens_per_fill": 2, "fill_interval": "500ms",
                                        "refill": "INTERVAL"}}],
      "identity_header": "X-User",
      "max_keys": 10,
      "filter_enabled": {"default_value": {"numerator": 50}},
      "filter_enforced": {"default_value": {"numerator": 0, "denominator": "MILLION"}, "runtime_key": "rl"},
      "response_headers": "IETF"
    }"#,
    )
    .unwrap();
    assert_eq!(c.token_bucket, None);
    let d = &c.descriptors[0];
    assert_eq!(d.name, "by-key");
    assert_eq!(
        d.limits,
        Some(Limits {
            max_tokens: 3,
            tokens_per_fill: 2,
            fill_interval_ns: 500_000_000,
            refill: Refill::Interval,
        })
    );
    assert_eq!(c.identity_header.as_str(), "x-user");
    assert_eq!(c.max_keys, 10);
    assert_eq!(c.filter_enabled.per_million, 500_000);
    assert_eq!(c.filter_enforced.per_million, 0);
    assert_eq!(c.response_headers, HeaderMode::Ietf);
}

#[test]
fn errors_name_the_field() {
    let tb = r#"{"max_tokens": 1, "fill_interval": "1s"}"#;
    let cases = [
        (
            "{}",
            "token_bucket",
            "required when there are no descriptors",
        ),
        ("", "token_bucket", "required"),
        (
            r#"{"token_bucket": {"max_tokens": 0, "fill_interval": "1s"}}"#,
            "token_bucket.max_tokens",
            "at least 1",
        ),
        (
            r#"{"token_bucket": {"max_tokens": -1, "fill_interval": "1s"}}"#,
            "token_bucket.max_tokens",
            "invalid value",
        ),
        (
            r#"{"token_bucket": {"max_tokens": 1, "tokens_per_fill": 0, "fill_interval": "1s"}}"#,
            "token_bucket.tokens_per_fill",
            "at least 1",
        ),
        (
            r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1d"}}"#,
            "token_bucket.fill_interval",
            "invalid duration",
        ),
        (
            r#"{"token_bucket": {"max_tokens": 1, "fill_interval": 1}}"#,
            "token_bucket.fill_interval",
            "duration string",
        ),
        (
            r#"{"token_bucket": {"max_tokens": 1}}"#,
            "token_bucket",
            "missing field `fill_interval`",
        ),
        (
            r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s", "refill": "continuous"}}"#,
            "token_bucket.refill",
            "unknown variant",
        ),
        (
            r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s", "burst": 2}}"#,
            "token_bucket.burst",
            "unknown field",
        ),
        (
            &format!(
                r#"{{"descriptors": [{{"key": [{{"header": "x"}}], "token_bucket": {tb}}}]}}"#
            ),
            "descriptors[0].key[0]",
            "unknown variant `header`",
        ),
        (
            &format!(
                r#"{{"descriptors": [{{"key": [{{"request_headers": {{"header_name": "bad name"}}}}], "token_bucket": {tb}}}]}}"#
            ),
            "descriptors[0].key[0].request_headers.header_name",
            "invalid header name",
        ),
        (
            &format!(
                r#"{{"descriptors": [{{"key": [{{"remote_address": {{"x": 1}}}}], "token_bucket": {tb}}}]}}"#
            ),
            "descriptors[0].key[0].remote_address.x",
            "unknown field",
        ),
        (
            &format!(r#"{{"descriptors": [{{"token_bucket": {tb}}}, {{"key": []}}]}}"#),
            "descriptors[1]",
            "missing field `token_bucket`",
        ),
        (
            &format!(r#"{{"descriptors": [{{"name": "a b", "token_bucket": {tb}}}]}}"#),
            "descriptors[0].name",
            "invalid name",
        ),
        (
            &format!(
                r#"{{"descriptors": [{{"match": {{"path": {{"safe_regex": {{"regex": "("}}}}}}, "token_bucket": {tb}}}]}}"#
            ),
            "descriptors[0].match.path.safe_regex.regex",
            "invalid regex",
        ),
        (
            &format!(r#"{{"token_bucket": {tb}, "max_keys": 0}}"#),
            "max_keys",
            "between 1 and 65536",
        ),
        (
            &format!(r#"{{"token_bucket": {tb}, "max_keys": 100000}}"#),
            "max_keys",
            "between 1 and 65536",
        ),
        (
            &format!(r#"{{"token_bucket": {tb}, "filter_enabled": 50}}"#),
            "filter_enabled",
            "invalid type",
        ),
        (
            &format!(
                r#"{{"token_bucket": {tb}, "filter_enforced": {{"default_value": {{"numerator": 200}}}}}}"#
            ),
            "filter_enforced",
            "above the denominator",
        ),
        (
            &format!(r#"{{"token_bucket": {tb}, "response_headers": "DRAFT_VERSION_02"}}"#),
            "response_headers",
            "unknown variant",
        ),
        (
            &format!(r#"{{"token_bucket": {tb}, "identity_header": ""}}"#),
            "identity_header",
            "invalid header name",
        ),
        (
            &format!(r#"{{"token_bucket": {tb}, "domain": "x"}}"#),
            "domain",
            "needs rate_limit_service",
        ),
        ("[]", "configuration", "must be a JSON object"),
    ];
    for (json, field, reason) in cases {
        let e = err(json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

const RLS: &str = r#""grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}}, "domain": "d""#;
const GLOBAL_DESC: &str =
    r#""descriptors": [{"key": [{"request_headers": {"header_name": "x-api-key"}}]}]"#;

#[test]
fn global_mode_defaults_and_full() {
    let c =
        parse(format!(r#"{{"rate_limit_service": {{{RLS}}}, {GLOBAL_DESC}}}"#).as_bytes()).unwrap();
    let s = c.rate_limit_service.unwrap();
    assert_eq!(
        (s.cluster_name.as_str(), s.domain.as_str()),
        ("ratelimit", "d")
    );
    assert_eq!(s.timeout, std::time::Duration::from_millis(20));
    assert_eq!(
        (s.failure_mode_deny, s.status_on_error, s.hits_addend),
        (false, 503, 1)
    );
    assert_eq!(c.descriptors[0].limits, None);
    let c = parse(
        format!(
            r#"{{"rate_limit_service": {{{RLS}, "transport_api_version": "V3", "timeout": "0.25s",
                 "failure_mode_deny": true, "status_on_error": {{"code": "InternalServerError"}}, "hits_addend": 3}},
               {GLOBAL_DESC}}}"#
        )
        .as_bytes(),
    )
    .unwrap();
    let s = c.rate_limit_service.unwrap();
    assert_eq!(s.timeout, std::time::Duration::from_millis(250));
    assert_eq!(
        (s.failure_mode_deny, s.status_on_error, s.hits_addend),
        (true, 500, 3)
    );
}

#[test]
fn global_mode_errors_name_the_field() {
    let svc = |extra: &str| format!(r#"{{"rate_limit_service": {{{RLS}{extra}}}, {GLOBAL_DESC}}}"#);
    let cases = [
        (
            svc(r#", "timeout": "2m""#),
            "rate_limit_service.timeout",
            "at most 60000ms",
        ),
        (
            svc(r#", "timeout": 20"#),
            "rate_limit_service.timeout",
            "duration string",
        ),
        (
            svc(r#", "status_on_error": {"code": 200}"#),
            "rate_limit_service.status_on_error.code",
            "4xx or 5xx",
        ),
        (
            svc(r#", "status_on_error": {"code": "Teapot"}"#),
            "rate_limit_service.status_on_error.code",
            "4xx or 5xx",
        ),
        (
            svc(r#", "hits_addend": 0"#),
            "rate_limit_service.hits_addend",
            "at least 1",
        ),
        (
            svc(r#", "transport_api_version": "V2""#),
            "rate_limit_service.transport_api_version",
            "unknown variant",
        ),
        (
            svc(r#", "stage": 0"#),
            "rate_limit_service.stage",
            "unknown field",
        ),
        (
            format!(
                r#"{{"rate_limit_service": {{"grpc_service": {{"envoy_grpc": {{"cluster_name": ""}}}}, "domain": "d"}}, {GLOBAL_DESC}}}"#
            ),
            "rate_limit_service.grpc_service.envoy_grpc.cluster_name",
            "must not be empty",
        ),
        (
            format!(
                r#"{{"rate_limit_service": {{"grpc_service": {{"envoy_grpc": {{"cluster_name": "\n\u0000"}}}}, "domain": "d"}}, {GLOBAL_DESC}}}"#
            ),
            "rate_limit_service.grpc_service.envoy_grpc.cluster_name",
            "serialized GrpcService",
        ),
        (
            format!(
                r#"{{"rate_limit_service": {{"grpc_service": {{"google_grpc": {{}}}}, "domain": "d"}}, {GLOBAL_DESC}}}"#
            ),
            "rate_limit_service.grpc_service.google_grpc",
            "unknown field",
        ),
        (
            format!(
                r#"{{"rate_limit_service": {{"grpc_service": {{"envoy_grpc": {{"cluster_name": "r"}}}}, "domain": ""}}, {GLOBAL_DESC}}}"#
            ),
            "rate_limit_service.domain",
            "must not be empty",
        ),
        (
            format!(r#"{{"rate_limit_service": {{{RLS}}}, "descriptors": [{{"key": []}}]}}"#),
            "descriptors[0].key",
            "must not be empty",
        ),
        (
            format!(
                r#"{{"rate_limit_service": {{{RLS}}}, "token_bucket": {{"max_tokens": 1, "fill_interval": "1s"}}}}"#
            ),
            "descriptors",
            "descriptor without token_bucket",
        ),
        (
            GLOBAL_DESC.replace("\"descriptors\"", "{\"descriptors\"") + "}",
            "descriptors[0]",
            "missing field `token_bucket`",
        ),
    ];
    for (json, field, reason) in cases {
        let e = err(&json);
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

#[test]
fn ambiguous_path_action_and_path_conditions() {
    let c = parse(br#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}}"#).unwrap();
    assert_eq!(c.ambiguous_path_action, AmbiguousPathAction::RejectRequest);
    assert!(!c.has_path_conditions);
    let c = parse(
        br#"{"descriptors": [{"match": {"path": {"prefix": "/login"}}, "token_bucket": {"max_tokens": 1, "fill_interval": "1s"}}],
             "ambiguous_path_action": "MATCH_NORMALIZED"}"#,
    )
    .unwrap();
    assert_eq!(
        c.ambiguous_path_action,
        AmbiguousPathAction::MatchNormalized
    );
    assert!(c.has_path_conditions);
    let c = parse(
        br#"{"descriptors": [{"key": [{"path": {"segments": 1}}], "token_bucket": {"max_tokens": 1, "fill_interval": "1s"}}]}"#,
    )
    .unwrap();
    assert!(c.has_path_conditions, "a path key entry reads the path too");
    let e = err(
        r#"{"token_bucket": {"max_tokens": 1, "fill_interval": "1s"}, "ambiguous_path_action": "REJECT"}"#,
    );
    assert_eq!(e.field, "ambiguous_path_action", "{e}");
    assert!(e.reason.contains("MATCH_NORMALIZED"), "{e}");
}

mod envoy;
