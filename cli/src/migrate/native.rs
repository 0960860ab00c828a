//! Envoy's native filters and what each becomes: the Tollgate module and
//! its configuration, translated field by field. Fields with no Tollgate
//! counterpart are reported here with why; fields Tollgate's parser does
//! not know are left to `fit`.

use super::routes;
use super::Report;
use crate::module::Module;
use serde_json::{json, Map, Value};

const PREFIX: &str = "type.googleapis.com/envoy.extensions.filters.http.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Native {
    HeaderMutation,
    ApiKeyAuth,
    BasicAuth,
    JwtAuthn,
    ExtAuthz,
    LocalRateLimit,
    RateLimit,
}

impl Native {
    pub fn from_type(type_url: &str) -> Option<Native> {
        Some(match type_url.strip_prefix(PREFIX)? {
            "header_mutation.v3.HeaderMutation" => Native::HeaderMutation,
            "api_key_auth.v3.ApiKeyAuth" => Native::ApiKeyAuth,
            "basic_auth.v3.BasicAuth" => Native::BasicAuth,
            "jwt_authn.v3.JwtAuthentication" => Native::JwtAuthn,
            "ext_authz.v3.ExtAuthz" => Native::ExtAuthz,
            "local_ratelimit.v3.LocalRateLimit" => Native::LocalRateLimit,
            "ratelimit.v3.RateLimit" => Native::RateLimit,
            _ => return None,
        })
    }

    pub fn module(self) -> Module {
        match self {
            Native::HeaderMutation => Module::Headers,
            Native::LocalRateLimit | Native::RateLimit => Module::Ratelimit,
            _ => Module::Auth,
        }
    }
}

/// What the translation needs besides the filter's own configuration.
pub struct Context<'a> {
    /// The connection manager's `route_config` (route `rate_limits`).
    pub route_config: Option<&'a Value>,
    /// The bootstrap's `node.cluster` (the `source_cluster` action).
    pub node_cluster: Option<&'a str>,
}

/// The Tollgate configuration for a native filter's `typed_config`; Err
/// says why the filter stays native.
pub fn translate(
    native: Native,
    cfg: &Value,
    ctx: &Context,
    name: &str,
    report: &mut Report,
) -> Result<Value, String> {
    let mut cfg = match cfg {
        Value::Object(o) => o.clone(),
        _ => Map::new(),
    };
    cfg.remove("@type");
    let out = match native {
        Native::HeaderMutation => {
            let mut out = json!({});
            if let Some(m) = cfg.remove("mutations") {
                out["mutations"] = m;
            }
            out
        }
        Native::ApiKeyAuth => {
            json!({"api_key": Value::Object(std::mem::take(&mut cfg)), "default_requires": {"api_key": {}}})
        }
        Native::BasicAuth => {
            json!({"basic": Value::Object(std::mem::take(&mut cfg)), "default_requires": {"basic": {}}})
        }
        Native::JwtAuthn => jwt_authn(&mut cfg, name, report),
        Native::ExtAuthz => ext_authz(&mut cfg)?,
        Native::LocalRateLimit => local_ratelimit(&mut cfg, name, report)?,
        Native::RateLimit => ratelimit(&mut cfg, ctx, name, report)?,
    };
    for (field, _) in cfg {
        report.note(name, &field, why_not(&field));
    }
    Ok(out)
}

fn jwt_authn(cfg: &mut Map<String, Value>, name: &str, report: &mut Report) -> Value {
    let mut providers = cfg.remove("providers").unwrap_or_else(|| json!({}));
    if let Value::Object(ps) = &mut providers {
        for (p, provider) in ps.iter_mut() {
            // Envoy's proto3 field reads 0 as unset (60 s); Tollgate reads it
            // as no skew. Leaving it out keeps Envoy's behaviour.
            if provider.get("clock_skew_seconds").and_then(Value::as_u64) == Some(0) {
                if let Value::Object(o) = provider {
                    o.remove("clock_skew_seconds");
                }
                report.note(name, &format!("providers.{p}.clock_skew_seconds"),
                    "0 is 60 s in Envoy and no skew in Tollgate: left out, so Tollgate's default (60 s) keeps Envoy's behaviour");
            }
        }
    }
    let mut out = json!({"jwt": {"providers": providers}});
    for key in ["rules", "requirement_map"] {
        if let Some(v) = cfg.remove(key) {
            out[key] = v;
        }
    }
    out
}

fn ext_authz(cfg: &mut Map<String, Value>) -> Result<Value, String> {
    let Some(mut http) = cfg.remove("http_service") else {
        return Err("only an http_service authorization service is carried over (Tollgate has no grpc_service)".into());
    };
    // Envoy moved allowed_headers to the top level; Tollgate reads it in
    // the http_service's authorization_request, where Envoy had it first.
    if let Some(allowed) = cfg.remove("allowed_headers") {
        http["authorization_request"]["allowed_headers"] = allowed;
    }
    let mut block = json!({"http_service": http});
    for key in [
        "failure_mode_allow",
        "failure_mode_allow_header_add",
        "status_on_error",
    ] {
        if let Some(v) = cfg.remove(key) {
            block[key] = v;
        }
    }
    cfg.remove("transport_api_version");
    Ok(json!({"ext_authz": block, "default_requires": {"ext_authz": {}}}))
}

fn local_ratelimit(
    cfg: &mut Map<String, Value>,
    name: &str,
    report: &mut Report,
) -> Result<Value, String> {
    let Some(bucket) = cfg.remove("token_bucket") else {
        return Err("no token_bucket: its limits are per-route descriptors, which Tollgate does not take from routes".into());
    };
    let mut out = json!({"token_bucket": bucket});
    for key in ["filter_enabled", "filter_enforced"] {
        match cfg.remove(key) {
            Some(v) => {
                if v.get("runtime_key").is_some() {
                    report.note(
                        name,
                        &format!("{key}.runtime_key"),
                        "Tollgate does not read Envoy's runtime: default_value applies",
                    );
                }
                out[key] = v;
            }
            // Envoy's default is 0% (Tollgate's 100%): written out.
            None => {
                out[key] = json!({"default_value": {"numerator": 0, "denominator": "HUNDRED"}});
                report.note(name, key, "not set: Envoy's default, 0% (the filter only acts where a route enables it), written out; per-route settings are not carried over");
            }
        }
    }
    out["enable_x_ratelimit_headers"] = cfg
        .remove("enable_x_ratelimit_headers")
        .unwrap_or_else(|| json!("OFF"));
    if let Some(status) = cfg.remove("status") {
        if status.get("code").and_then(Value::as_u64) != Some(429) {
            report.note(name, "status", "Tollgate always answers 429");
        }
    }
    Ok(out)
}

fn ratelimit(
    cfg: &mut Map<String, Value>,
    ctx: &Context,
    name: &str,
    report: &mut Report,
) -> Result<Value, String> {
    let stage = cfg.remove("stage").and_then(|v| v.as_u64()).unwrap_or(0);
    let mut out = json!({});
    for key in [
        "domain",
        "timeout",
        "failure_mode_deny",
        "rate_limit_service",
        "enable_x_ratelimit_headers",
        "filter_enabled",
        "filter_enforced",
    ] {
        if let Some(v) = cfg.remove(key) {
            out[key] = v;
        }
    }
    // Envoy's default is 500, Tollgate's 503: written out.
    out["status_on_error"] = cfg
        .remove("status_on_error")
        .unwrap_or_else(|| json!({"code": 500}));
    let mut descriptors = Vec::new();
    if let Some(Value::Array(limits)) = cfg.remove("rate_limits") {
        for (i, rl) in limits.iter().enumerate() {
            let place = format!("rate_limits[{i}]");
            descriptors.extend(routes::descriptor(
                rl,
                stage,
                &json!({}),
                None,
                ctx,
                &place,
                name,
                report,
            ));
        }
    }
    descriptors.extend(routes::descriptors(ctx, stage, name, report));
    if descriptors.is_empty() {
        return Err("no rate_limits in the route configuration translate to descriptors (routes from RDS are not read)".into());
    }
    out["descriptors"] = Value::Array(descriptors);
    Ok(out)
}

/// Why a native field is not carried over.
fn why_not(field: &str) -> &'static str {
    match field {
        "stat_prefix" => "Tollgate's counters are always under tollgate.<filter>.",
        "most_specific_header_mutations_wins" => {
            "it orders per-route header_mutation configurations, which Tollgate does not have"
        }
        "filter_enabled" | "filter_enforced" | "deny_at_disable" | "failure_mode_deny_percent" => {
            "a runtime fraction: Tollgate's auth filter has none (every request is checked)"
        }
        "with_request_body" => "Tollgate sends no request body to the authorization service",
        "grpc_service" => "Tollgate's ext_authz speaks HTTP only",
        "bypass_cors_preflight" => "Tollgate checks CORS preflight requests like any other",
        "local_rate_limit_per_downstream_connection" => {
            "Tollgate's buckets are shared by every connection and worker"
        }
        "descriptors" => {
            "local descriptors pair with per-route rate_limits, which Tollgate does not read"
        }
        "response_headers_to_add" | "request_headers_to_add_when_not_enforced" => {
            "Tollgate adds only its rate-limit headers"
        }
        "disable_x_envoy_ratelimited_header"
        | "rate_limited_status"
        | "rate_limited_as_resource_exhausted" => {
            "Tollgate's 429 is fixed (no x-envoy-ratelimited header, no gRPC mapping)"
        }
        _ => "Tollgate has no such setting",
    }
}
