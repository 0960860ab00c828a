//! Envoy's `envoy.filters.http.ratelimit` layout: the service's settings at
//! the top level, `rate_limit_service: {grpc_service, transport_api_version}`
//! and `enable_x_ratelimit_headers`, next to Tollgate's own layout.

use super::*;
use serde_json::{json, Value};

const DESC: &str = r#"[{"key": [{"request_headers": {"header_name": "x-api-key"}}]}]"#;

fn parse_value(mut v: Value) -> Result<Config, ConfigError> {
    if let Some(o) = v.as_object_mut() {
        o.insert("descriptors".into(), serde_json::from_str(DESC).unwrap());
    }
    parse(v.to_string().as_bytes())
}

/// The example of Envoy's rate limit filter documentation, as written there
/// (Tollgate adds the descriptors Envoy takes from the route).
#[test]
fn envoys_documented_layout_loads() {
    let c = parse_value(json!({
        "domain": "some_domain",
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limit_service": {
            "transport_api_version": "V3",
            "grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}}
        }
    }))
    .unwrap();
    let s = c.rate_limit_service.unwrap();
    assert_eq!(
        s,
        Service {
            cluster_name: "ratelimit".into(),
            domain: "some_domain".into(),
            timeout: std::time::Duration::from_millis(20),
            failure_mode_deny: false,
            status_on_error: 503,
            hits_addend: 1,
            x_ratelimit_headers: true,
        }
    );
    assert_eq!(c.response_headers, HeaderMode::DraftVersion03);
}

/// Every top-level setting means what its nested twin means.
#[test]
fn both_layouts_mean_the_same() {
    let nested = parse_value(json!({
        "rate_limit_service": {
            "grpc_service": {"envoy_grpc": {"cluster_name": "rls"}},
            "domain": "d", "timeout": "0.25s", "failure_mode_deny": true,
            "status_on_error": {"code": "ServiceUnavailable"}
        },
        "response_headers": "OFF"
    }))
    .unwrap();
    let top = parse_value(json!({
        "domain": "d", "timeout": "0.25s", "failure_mode_deny": true,
        "status_on_error": {"code": 503},
        "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}, "transport_api_version": "V3"},
        "enable_x_ratelimit_headers": "OFF"
    }))
    .unwrap();
    assert_eq!(nested.rate_limit_service, top.rate_limit_service);
    assert_eq!(nested.response_headers, top.response_headers);
    assert_eq!(top.response_headers, HeaderMode::Off);
    // Mixed: some here, some there.
    let mixed = parse_value(json!({
        "domain": "d", "failure_mode_deny": true,
        "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}},
                               "timeout": "0.25s", "status_on_error": {"code": 503}},
        "response_headers": "OFF"
    }))
    .unwrap();
    assert_eq!(mixed.rate_limit_service, top.rate_limit_service);
    // Unset: Envoy's defaults, except status_on_error (503, the project's
    // status for a dependency down; Envoy's 500) and local buckets' headers
    // (DRAFT_VERSION_03; the service's answers get none, as in Envoy).
    let bare = parse_value(json!({
        "domain": "d",
        "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}}
    }))
    .unwrap();
    let s = bare.rate_limit_service.unwrap();
    assert_eq!(
        (
            s.timeout.as_millis(),
            s.failure_mode_deny,
            s.status_on_error,
            s.x_ratelimit_headers
        ),
        (20, false, 503, false)
    );
    assert_eq!(bare.response_headers, HeaderMode::DraftVersion03);
    // IETF, Tollgate's own, is for local buckets only.
    let ietf = parse_value(json!({
        "domain": "d", "response_headers": "IETF",
        "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}}
    }))
    .unwrap();
    assert!(!ietf.rate_limit_service.unwrap().x_ratelimit_headers);
}

#[test]
fn a_setting_given_both_ways_is_an_error_naming_it() {
    let svc = |extra: Value| {
        let mut s = json!({"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}});
        if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        s
    };
    let cases = [
        (
            json!({"domain": "a", "rate_limit_service": svc(json!({"domain": "a"}))}),
            "rate_limit_service.domain",
            "also set at the top level (Envoy's layout); set domain in one place",
        ),
        (
            json!({"domain": "a", "timeout": "1s", "rate_limit_service": svc(json!({"timeout": "1s"}))}),
            "rate_limit_service.timeout",
            "set timeout in one place",
        ),
        (
            json!({"domain": "a", "failure_mode_deny": false, "rate_limit_service": svc(json!({"failure_mode_deny": false}))}),
            "rate_limit_service.failure_mode_deny",
            "set failure_mode_deny in one place",
        ),
        (
            json!({"domain": "a", "status_on_error": {"code": 500}, "rate_limit_service": svc(json!({"status_on_error": {"code": 503}}))}),
            "rate_limit_service.status_on_error",
            "set status_on_error in one place",
        ),
        (
            json!({"domain": "a", "response_headers": "OFF", "enable_x_ratelimit_headers": "OFF", "rate_limit_service": svc(json!({}))}),
            "enable_x_ratelimit_headers",
            "response_headers sets the same thing; set one of them",
        ),
        (
            json!({"domain": "a", "enable_x_ratelimit_headers": "IETF", "rate_limit_service": svc(json!({}))}),
            "enable_x_ratelimit_headers",
            "unknown variant `IETF`",
        ),
        (
            json!({"rate_limit_service": svc(json!({}))}),
            "rate_limit_service",
            "missing field `domain` (at the top level",
        ),
        (
            json!({"domain": "", "rate_limit_service": svc(json!({}))}),
            "domain",
            "must not be empty",
        ),
        (
            json!({"domain": "a", "timeout": "1h", "rate_limit_service": svc(json!({}))}),
            "timeout",
            "",
        ),
        (
            json!({"domain": "a", "timeout": "0s", "rate_limit_service": svc(json!({}))}),
            "timeout",
            "",
        ),
        (
            json!({"domain": "a", "status_on_error": {"code": 200}, "rate_limit_service": svc(json!({}))}),
            "status_on_error.code",
            "",
        ),
        (
            json!({"failure_mode_deny": true, "token_bucket": {"max_tokens": 1, "fill_interval": "1s"}}),
            "failure_mode_deny",
            "needs rate_limit_service",
        ),
        (
            json!({"domain": "a", "stage": 1, "rate_limit_service": svc(json!({}))}),
            "stage",
            "unknown field",
        ),
    ];
    for (json, field, reason) in cases {
        let e = match parse_value(json.clone()) {
            Ok(c) => panic!("{json} parsed as {c:?}"),
            Err(e) => e,
        };
        assert_eq!(e.field, field, "{json}: {e}");
        assert!(e.reason.contains(reason), "{json}: {e}");
    }
}

/// The example of Envoy's local_ratelimit documentation
/// (`local-rate-limit-global-configuration.yaml`), as written there.
#[test]
fn envoys_documented_local_ratelimit_example_loads() {
    let c = parse(
        json!({
            "stat_prefix": "http_local_rate_limiter",
            "token_bucket": {"max_tokens": 10000, "tokens_per_fill": 1000, "fill_interval": "1s"},
            "filter_enabled": {"runtime_key": "local_rate_limit_enabled",
                               "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
            "filter_enforced": {"runtime_key": "local_rate_limit_enforced",
                                "default_value": {"numerator": 100, "denominator": "HUNDRED"}},
            "response_headers_to_add": [{"append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                         "header": {"key": "x-local-rate-limit", "value": "true"}}],
            "local_rate_limit_per_downstream_connection": false
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(c.response_headers_to_add.len(), 1);
    let per_connection = json!({"token_bucket": {"max_tokens": 1, "fill_interval": "1s"},
                                "local_rate_limit_per_downstream_connection": true});
    let e = parse(per_connection.to_string().as_bytes()).unwrap_err();
    assert!(
        e.to_string()
            .contains("local_rate_limit_per_downstream_connection"),
        "{e}"
    );
}

#[test]
fn status_as_envoy_writes_it() {
    let tb = json!({"max_tokens": 1, "fill_interval": "1s"});
    let c = |v: Value| {
        parse(
            json!({"token_bucket": tb, "status": v})
                .to_string()
                .as_bytes(),
        )
    };
    assert_eq!(c(json!({"code": 503})).unwrap().limited_status, 503);
    assert_eq!(
        c(json!({"code": "ServiceUnavailable"}))
            .unwrap()
            .limited_status,
        503
    );
    assert!(c(json!({"code": 200})).is_err());
    let default = parse(json!({"token_bucket": tb}).to_string().as_bytes()).unwrap();
    assert_eq!(default.limited_status, 429);
}
