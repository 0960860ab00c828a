//! The `ext_authz` block, in the vocabulary of Envoy's ext_authz filter
//! (`envoy.extensions.filters.http.ext_authz.v3.ExtAuthz`, `http_service`
//! form only):
//!
//! ```json
//! {"http_service": {
//!    "server_uri": {"uri": "http://authz.local", "cluster": "authz", "timeout": "0.25s"},
//!    "path_prefix": "/check",
//!    "authorization_request": {
//!      "allowed_headers": {"patterns": [{"prefix": "x-"}]},
//!      "headers_to_add": [{"key": "x-authz-caller", "value": "tollgate"}]},
//!    "authorization_response": {
//!      "allowed_upstream_headers": {"patterns": [{"exact": "x-user"}]},
//!      "allowed_upstream_headers_to_append": {"patterns": [{"exact": "x-tag"}]},
//!      "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}]},
//!      "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}}},
//!  "failure_mode_allow": false,
//!  "failure_mode_allow_header_add": false,
//!  "status_on_error": {"code": 403},
//!  "transport_api_version": "V3"}
//! ```
//!
//! Only `http_service.server_uri.uri` and `.cluster` are required. Envoy's
//! newer top-level `allowed_headers` is accepted in place of
//! `authorization_request.allowed_headers` (both at once is an error, as in
//! Envoy).

use fields::{AddedHeader, PathPrefix, Uri};
use serde::de::{Error as _, IgnoredAny};
use serde::{Deserialize, Deserializer};
use tollgate_common::config::NonEmpty;
use tollgate_common::duration::Timeout;
use tollgate_common::header::HeaderValue;
use tollgate_common::matcher::StringMatcher;
use tollgate_common::status::HttpStatus;
use tollgate_common::ConfigError;

/// Envoy's ext_authz default timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 200;
pub use fields::authority_of;
pub use tollgate_common::duration::MAX_TIMEOUT_MS;
/// Envoy's default `status_on_error`.
pub const DEFAULT_STATUS_ON_ERROR: u16 = 403;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawExtAuthz")]
pub struct ExtAuthzConfig {
    /// The Envoy cluster the check goes to (`server_uri.cluster`).
    pub cluster: String,
    /// `:authority` of the check request: `server_uri.uri`'s host[:port].
    pub authority: String,
    pub timeout: std::time::Duration,
    /// Put before the client's `:path` (query included), as in Envoy.
    pub path_prefix: String,
    /// Client headers sent along, besides the defaults (method, path,
    /// authorization; the client's host goes as `x-forwarded-host`).
    pub allowed_headers: Option<ListStringMatcher>,
    /// Set on the check request, replacing a copied client header of the
    /// same name; values are templates.
    pub headers_to_add: Vec<HeaderValue>,
    /// Service headers set on the upstream request when it allows.
    pub allowed_upstream_headers: Option<ListStringMatcher>,
    /// Service headers appended to the upstream request when it allows.
    pub allowed_upstream_headers_to_append: Option<ListStringMatcher>,
    /// Service headers passed to the client when it denies; `None`: all of
    /// them (Envoy's default).
    pub allowed_client_headers: Option<ListStringMatcher>,
    /// Service headers added to the client's response when it allows.
    pub allowed_client_headers_on_success: Option<ListStringMatcher>,
    pub failure_mode_allow: bool,
    /// With `failure_mode_allow`, mark requests let through on a failure
    /// with `x-envoy-auth-failure-mode-allowed: true`.
    pub failure_mode_allow_header_add: bool,
    pub status_on_error: u16,
}

/// Envoy's `ListStringMatcher`: a header name matches when any pattern does.
/// Names are lower-case: write patterns in lower case (or `ignore_case`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListStringMatcher {
    patterns: NonEmptyPatterns,
}

impl ListStringMatcher {
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.0.iter().any(|p| p.matches(name))
    }
}

/// Envoy requires at least one pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Vec<StringMatcher>")]
struct NonEmptyPatterns(Vec<StringMatcher>);

impl TryFrom<Vec<StringMatcher>> for NonEmptyPatterns {
    type Error = &'static str;
    fn try_from(v: Vec<StringMatcher>) -> Result<Self, Self::Error> {
        if v.is_empty() {
            Err("needs at least one pattern (leave the field out instead)")
        } else {
            Ok(NonEmptyPatterns(v))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtAuthz {
    http_service: RawHttpService,
    #[serde(default)]
    #[allow(dead_code)] // always an error
    grpc_service: Option<GrpcUnsupported>,
    #[serde(default)]
    #[allow(dead_code)] // only accepted
    transport_api_version: Option<V3>,
    #[serde(default)]
    failure_mode_allow: bool,
    #[serde(default)]
    failure_mode_allow_header_add: bool,
    status_on_error: Option<HttpStatus>,
    allowed_headers: Option<ListStringMatcher>,
    /// Accepted, as in Envoy's documented example: the certificate goes only
    /// into a gRPC check's attributes; an HTTP check never carries it.
    #[serde(default)]
    #[allow(dead_code)] // only accepted
    include_peer_certificate: bool,
}

#[derive(Deserialize)]
enum V3 {
    V3,
}

/// `grpc_service`: refused with a hint, at its own field path.
struct GrpcUnsupported;

impl<'de> Deserialize<'de> for GrpcUnsupported {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d)?;
        Err(D::Error::custom(
            "not supported: this filter calls an HTTP authorization service (http_service)",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpService {
    server_uri: HttpUri,
    #[serde(default)]
    path_prefix: PathPrefix,
    #[serde(default)]
    authorization_request: AuthorizationRequest,
    #[serde(default)]
    authorization_response: AuthorizationResponse,
}

/// Envoy's `HttpUri`; `timeout` defaults to ext_authz's 200ms.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpUri {
    uri: Uri,
    cluster: NonEmpty,
    timeout: Option<Timeout>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuthorizationRequest {
    allowed_headers: Option<ListStringMatcher>,
    #[serde(default)]
    headers_to_add: Vec<AddedHeader>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuthorizationResponse {
    allowed_upstream_headers: Option<ListStringMatcher>,
    allowed_upstream_headers_to_append: Option<ListStringMatcher>,
    allowed_client_headers: Option<ListStringMatcher>,
    allowed_client_headers_on_success: Option<ListStringMatcher>,
}

impl TryFrom<RawExtAuthz> for ExtAuthzConfig {
    type Error = String;
    fn try_from(r: RawExtAuthz) -> Result<Self, String> {
        let service = r.http_service;
        let request = service.authorization_request;
        let response = service.authorization_response;
        let allowed_headers = match (r.allowed_headers, request.allowed_headers) {
            (Some(_), Some(_)) => {
                return Err(
                    "allowed_headers and http_service.authorization_request.allowed_headers \
                     are both set; keep one (Envoy refuses this too)"
                        .into(),
                )
            }
            (a, b) => a.or(b),
        };
        if r.failure_mode_allow_header_add && !r.failure_mode_allow {
            return Err("failure_mode_allow_header_add needs failure_mode_allow: true".into());
        }
        Ok(ExtAuthzConfig {
            cluster: service.server_uri.cluster.0,
            authority: service.server_uri.uri.0,
            timeout: service
                .server_uri
                .timeout
                .map_or(std::time::Duration::from_millis(DEFAULT_TIMEOUT_MS), |t| {
                    t.0.as_std()
                }),
            path_prefix: service.path_prefix.0,
            allowed_headers,
            headers_to_add: request.headers_to_add.into_iter().map(|h| h.0).collect(),
            allowed_upstream_headers: response.allowed_upstream_headers,
            allowed_upstream_headers_to_append: response.allowed_upstream_headers_to_append,
            allowed_client_headers: response.allowed_client_headers,
            allowed_client_headers_on_success: response.allowed_client_headers_on_success,
            failure_mode_allow: r.failure_mode_allow,
            failure_mode_allow_header_add: r.failure_mode_allow_header_add,
            status_on_error: r
                .status_on_error
                .map_or(DEFAULT_STATUS_ON_ERROR, |s| s.code()),
        })
    }
}

/// Parses an `ext_authz` block on its own (tests; the auth filter's
/// configuration embeds [`ExtAuthzConfig`] as a field instead).
pub fn parse(bytes: &[u8]) -> Result<ExtAuthzConfig, ConfigError> {
    tollgate_common::config::parse(bytes)
}

/// True when `matcher` is set and matches `name`.
pub(crate) fn listed(matcher: Option<&ListStringMatcher>, name: &str) -> bool {
    matcher.is_some_and(|m| m.matches(name))
}

mod fields;

#[cfg(test)]
mod tests;
