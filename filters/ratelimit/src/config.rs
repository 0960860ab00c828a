//! The ratelimit filter's configuration, local mode (Envoy's
//! local_ratelimit vocabulary):
//!
//! ```json
//! {
//!   "token_bucket": {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "1s",
//!                    "refill": "CONTINUOUS"},
//!   "descriptors": [
//!     {"name": "per_key", "match": RequestMatch,
//!      "key": [{"request_headers": {"header_name": "x-api-key"}}],
//!      "token_bucket": {...}}
//!   ],
//!   "identity_header": "x-tollgate-identity",
//!   "max_keys": 4096,
//!   "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
//!   "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
//!   "response_headers": "DRAFT_VERSION_03",
//!   "ambiguous_path_action": "REJECT_REQUEST"
//! }
//! ```
//!
//! Unknown fields are errors; at least one of `token_bucket` and
//! `descriptors` must be given.
//!
//! Global mode (`rate_limit_service`, see [`crate::config::service`]): descriptors
//! without a `token_bucket` are sent to the rate-limit service; those with
//! one stay local limits, checked first.

use crate::bucket::{Limits, Refill};
use crate::config::service::{Domain, RawService, Service, TopLevel};
use crate::percent::Fraction;
use serde::Deserialize;
use tollgate_common::config::Positive;
use tollgate_common::duration::Duration;
use tollgate_common::duration::Timeout;
use tollgate_common::header::{HeaderName, HeaderValueOption};
use tollgate_common::matcher::RequestMatch;
use tollgate_common::path::AmbiguousPathAction;
use tollgate_common::status::HttpStatus;
use tollgate_common::ConfigError;

pub const DEFAULT_MAX_KEYS: u32 = 4096;
pub const MAX_MAX_KEYS: u32 = 65_536;
pub const DEFAULT_IDENTITY_HEADER: &str = "x-tollgate-identity";

#[derive(Debug, Clone)]
pub struct Config {
    /// The bucket of requests no descriptor takes; `None`: they pass.
    pub token_bucket: Option<Limits>,
    pub descriptors: Vec<Descriptor>,
    pub identity_header: HeaderName,
    /// Slots (distinct keys kept) per keyed descriptor.
    pub max_keys: u32,
    pub filter_enabled: Fraction,
    pub filter_enforced: Fraction,
    pub response_headers: HeaderMode,
    /// Global mode: the rate-limit service asked for every request.
    pub rate_limit_service: Option<Service>,
    pub ambiguous_path_action: AmbiguousPathAction,
    /// Some descriptor has a `path` condition or a `path` key entry.
    pub has_path_conditions: bool,
    /// Envoy's local_ratelimit `response_headers_to_add`: on the 429 of a
    /// request a local bucket refused.
    pub response_headers_to_add: Vec<HeaderValueOption>,
    /// Envoy's local_ratelimit `status`: the status of that answer
    /// (default 429).
    pub limited_status: u16,
}

/// A limit for the requests its `match` selects, one bucket per distinct
/// combination of its `key` values.
#[derive(Debug, Clone)]
pub struct Descriptor {
    /// The policy name in IETF headers; `descriptor_<index>` by default.
    pub name: String,
    pub matcher: RequestMatch,
    pub key: Vec<KeyEntry>,
    /// The local bucket; `None` only in global mode (the service decides).
    pub limits: Option<Limits>,
}

/// Where one part of a descriptor's key comes from. Names follow Envoy's
/// rate-limit actions where Envoy has one; the descriptor key (for the
/// rate-limit service) is given after each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyEntry {
    /// A request header's value (`descriptor_key`, default the header name).
    RequestHeaders {
        header_name: HeaderName,
        #[serde(default)]
        descriptor_key: Option<String>,
    },
    /// The client IP without port (`remote_address`).
    RemoteAddress {},
    /// The normalized path, or its first `segments` segments (`path`).
    Path {
        #[serde(default)]
        segments: Option<u32>,
    },
    /// The request method (`method`).
    Method {},
    /// The identity header set by the auth filter (`identity`).
    Identity {},
    /// A constant (`descriptor_key`, default `generic_key`).
    GenericKey {
        descriptor_value: String,
        #[serde(default)]
        descriptor_key: Option<String>,
    },
}

/// Which rate-limit headers responses carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum HeaderMode {
    /// `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`.
    #[default]
    #[serde(rename = "DRAFT_VERSION_03")]
    DraftVersion03,
    /// `RateLimit` and `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
    #[serde(rename = "IETF")]
    Ietf,
    #[serde(rename = "OFF")]
    Off,
}

/// Envoy's `token_bucket`, plus `refill` (Tollgate's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokenBucket {
    max_tokens: Positive,
    #[serde(default)]
    tokens_per_fill: Option<Positive>,
    fill_interval: Duration,
    #[serde(default)]
    refill: RawRefill,
}

/// `token_bucket.refill`: `CONTINUOUS` (default, Envoy's) or `INTERVAL`.
#[derive(Deserialize, Default)]
enum RawRefill {
    #[default]
    #[serde(rename = "CONTINUOUS")]
    Continuous,
    #[serde(rename = "INTERVAL")]
    Interval,
}

#[derive(Deserialize)]
#[serde(from = "RawTokenBucket")]
struct TokenBucket(Limits);

impl From<RawTokenBucket> for TokenBucket {
    fn from(r: RawTokenBucket) -> Self {
        TokenBucket(Limits {
            max_tokens: r.max_tokens.0,
            tokens_per_fill: r.tokens_per_fill.map_or(1, |p| p.0),
            fill_interval_ns: r.fill_interval.nanos,
            refill: match r.refill {
                RawRefill::Continuous => Refill::Continuous,
                RawRefill::Interval => Refill::Interval,
            },
        })
    }
}

/// A policy name: 1 to 64 of `A-Z a-z 0-9 _ - .` (it is quoted in a
/// structured header).
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct PolicyName(String);

impl TryFrom<String> for PolicyName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
        if s.is_empty() || s.len() > 64 || !s.bytes().all(ok) {
            Err(format!(
                "invalid name {s:?}: use 1 to 64 of A-Z a-z 0-9 _ - ."
            ))
        } else {
            Ok(PolicyName(s))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDescriptor {
    #[serde(default)]
    name: Option<PolicyName>,
    #[serde(default, rename = "match")]
    matcher: RequestMatch,
    #[serde(default)]
    key: Vec<KeyEntry>,
    #[serde(default)]
    token_bucket: Option<TokenBucket>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    token_bucket: Option<TokenBucket>,
    #[serde(default)]
    descriptors: Vec<RawDescriptor>,
    #[serde(default)]
    identity_header: Option<HeaderName>,
    #[serde(default)]
    max_keys: Option<MaxKeys>,
    #[serde(default)]
    filter_enabled: Option<Fraction>,
    #[serde(default)]
    filter_enforced: Option<Fraction>,
    #[serde(default)]
    response_headers: Option<HeaderMode>,
    /// Envoy's name for `response_headers` (its values `OFF` and
    /// `DRAFT_VERSION_03`).
    #[serde(default)]
    enable_x_ratelimit_headers: Option<XRateLimitHeaders>,
    #[serde(default)]
    rate_limit_service: Option<RawService>,
    #[serde(default)]
    ambiguous_path_action: AmbiguousPathAction,
    // Envoy's ratelimit filter has these at the top level; Tollgate's own
    // layout has them in rate_limit_service.
    #[serde(default)]
    domain: Option<Domain>,
    #[serde(default)]
    timeout: Option<Timeout>,
    #[serde(default)]
    failure_mode_deny: Option<bool>,
    #[serde(default)]
    status_on_error: Option<HttpStatus>,
    // Envoy's local_ratelimit fields its documentation's example sets.
    /// Accepted and unused: the counters are always `tollgate.ratelimit.*`.
    #[serde(default)]
    stat_prefix: Option<String>,
    #[serde(default)]
    response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    local_rate_limit_per_downstream_connection: bool,
    /// Envoy's local_ratelimit `status` (its ratelimit filter's
    /// `rate_limited_status` is another field).
    #[serde(default)]
    status: Option<HttpStatus>,
}

/// Envoy's `XRateLimitHeadersRFCVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum XRateLimitHeaders {
    #[serde(rename = "OFF")]
    Off,
    #[serde(rename = "DRAFT_VERSION_03")]
    DraftVersion03,
}

#[derive(Deserialize)]
#[serde(try_from = "u32")]
struct MaxKeys(u32);

impl TryFrom<u32> for MaxKeys {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        if (1..=MAX_MAX_KEYS).contains(&n) {
            Ok(MaxKeys(n))
        } else {
            Err(format!("must be between 1 and {MAX_MAX_KEYS}"))
        }
    }
}

/// Parses the plugin configuration.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    let raw: RawConfig = tollgate_common::config::parse(bytes)?;
    if raw.local_rate_limit_per_downstream_connection {
        return Err(ConfigError::new(
            "local_rate_limit_per_downstream_connection",
            "true is not supported: buckets are shared by every connection and worker",
        ));
    }
    let _ = raw.stat_prefix;
    let global = raw.rate_limit_service.is_some();
    let header_mode = match (raw.response_headers, raw.enable_x_ratelimit_headers) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "enable_x_ratelimit_headers",
                "response_headers sets the same thing; set one of them",
            ))
        }
        (Some(m), None) => Some(m),
        (None, Some(XRateLimitHeaders::Off)) => Some(HeaderMode::Off),
        (None, Some(XRateLimitHeaders::DraftVersion03)) => Some(HeaderMode::DraftVersion03),
        (None, None) => None,
    };
    let top = TopLevel {
        domain: raw.domain,
        timeout: raw.timeout,
        failure_mode_deny: raw.failure_mode_deny,
        status_on_error: raw.status_on_error,
    };
    let rate_limit_service = match raw.rate_limit_service {
        Some(s) => Some(s.build(top, header_mode == Some(HeaderMode::DraftVersion03))?),
        None => match top.first_set() {
            Some(field) => {
                return Err(ConfigError::new(
                    field,
                    "is a setting of the rate-limit service: needs rate_limit_service",
                ))
            }
            None => None,
        },
    };
    for (i, d) in raw.descriptors.iter().enumerate() {
        if d.token_bucket.is_none() && !global {
            return Err(ConfigError::new(
                format!("descriptors[{i}]"),
                "missing field `token_bucket` (required without rate_limit_service)",
            ));
        }
        if d.token_bucket.is_none() && d.key.is_empty() {
            return Err(ConfigError::new(
                format!("descriptors[{i}].key"),
                "must not be empty without a token_bucket (the rate-limit service gets no empty descriptor)",
            ));
        }
    }
    if global && raw.descriptors.iter().all(|d| d.token_bucket.is_some()) {
        return Err(ConfigError::new(
            "descriptors",
            "rate_limit_service needs a descriptor without token_bucket (those are sent to the service)",
        ));
    }
    if raw.token_bucket.is_none() && raw.descriptors.is_empty() {
        return Err(ConfigError::new(
            "token_bucket",
            "required when there are no descriptors (nothing would be limited)",
        ));
    }
    let identity_header = match raw.identity_header {
        Some(h) => h,
        None => HeaderName::try_from(DEFAULT_IDENTITY_HEADER.to_string())
            .map_err(|e| ConfigError::new("identity_header", e))?,
    };
    let has_path_conditions = raw.descriptors.iter().any(|d| {
        d.matcher.has_path_condition() || d.key.iter().any(|k| matches!(k, KeyEntry::Path { .. }))
    });
    Ok(Config {
        token_bucket: raw.token_bucket.map(|t| t.0),
        descriptors: raw
            .descriptors
            .into_iter()
            .enumerate()
            .map(|(i, d)| Descriptor {
                name: d.name.map_or_else(|| format!("descriptor_{i}"), |n| n.0),
                matcher: d.matcher,
                key: d.key,
                limits: d.token_bucket.map(|t| t.0),
            })
            .collect(),
        identity_header,
        max_keys: raw.max_keys.map_or(DEFAULT_MAX_KEYS, |m| m.0),
        filter_enabled: raw.filter_enabled.unwrap_or_default(),
        filter_enforced: raw.filter_enforced.unwrap_or_default(),
        response_headers: header_mode.unwrap_or_default(),
        rate_limit_service,
        ambiguous_path_action: raw.ambiguous_path_action,
        has_path_conditions,
        response_headers_to_add: raw.response_headers_to_add,
        limited_status: raw.status.map_or(429, HttpStatus::code),
    })
}

pub mod service;

#[cfg(test)]
mod tests;
