//! `rate_limit_service`: the global mode's settings, with the field names of
//! Envoy's ratelimit filter (`envoy.extensions.filters.http.ratelimit.v3`),
//! gathered in one block because this filter also has a local mode:
//!
//! ```json
//! {"grpc_service": {"envoy_grpc": {"cluster_name": "ratelimit"}},
//!  "transport_api_version": "V3",
//!  "domain": "tollgate",
//!  "timeout": "20ms",
//!  "failure_mode_deny": false,
//!  "status_on_error": {"code": 503},
//!  "hits_addend": 1}
//! ```
//!
//! Envoy's own layout is accepted as well: `domain`, `timeout`,
//! `failure_mode_deny` and `status_on_error` at the top level of the
//! configuration, next to `rate_limit_service: {grpc_service,
//! transport_api_version}` ([`TopLevel`]). Each setting is given once, in
//! either place; both is an error naming the field.
//!
//! Only `grpc_service` and `domain` are required.

use crate::rls;
use serde::Deserialize;
use tollgate_common::config::Positive;
use tollgate_common::duration::Timeout;
use tollgate_common::status::HttpStatus;
use tollgate_common::ConfigError;

pub const DEFAULT_TIMEOUT_MS: u64 = 20;
pub use tollgate_common::duration::MAX_TIMEOUT_MS;
/// 503, the project's status for a dependency that is down when failing
/// closed (Envoy's ratelimit filter defaults to 500).
pub const DEFAULT_STATUS_ON_ERROR: u16 = 503;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub cluster_name: String,
    pub domain: String,
    pub timeout: std::time::Duration,
    pub failure_mode_deny: bool,
    pub status_on_error: u16,
    pub hits_addend: u32,
    /// Envoy's `x-ratelimit-*` headers from the service's descriptor
    /// statuses (`enable_x_ratelimit_headers` / `response_headers` set to
    /// `DRAFT_VERSION_03`; off when neither is set, as in Envoy).
    pub x_ratelimit_headers: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    grpc_service: GrpcService,
    #[serde(default)]
    transport_api_version: Option<V3>,
    #[serde(default)]
    domain: Option<Domain>,
    #[serde(default)]
    timeout: Option<Timeout>,
    #[serde(default)]
    failure_mode_deny: Option<bool>,
    #[serde(default)]
    status_on_error: Option<HttpStatus>,
    #[serde(default)]
    hits_addend: Option<Positive>,
}

/// The settings Envoy's ratelimit filter has at its top level.
#[derive(Default)]
pub(crate) struct TopLevel {
    pub domain: Option<Domain>,
    pub timeout: Option<Timeout>,
    pub failure_mode_deny: Option<bool>,
    pub status_on_error: Option<HttpStatus>,
}

impl TopLevel {
    /// The first field set, for "needs rate_limit_service".
    pub fn first_set(&self) -> Option<&'static str> {
        [
            (self.domain.is_some(), "domain"),
            (self.timeout.is_some(), "timeout"),
            (self.failure_mode_deny.is_some(), "failure_mode_deny"),
            (self.status_on_error.is_some(), "status_on_error"),
        ]
        .into_iter()
        .find_map(|(set, name)| set.then_some(name))
    }
}

/// One setting from one of its two places.
fn once<T>(nested: Option<T>, top: Option<T>, field: &str) -> Result<Option<T>, ConfigError> {
    match (nested, top) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            format!("rate_limit_service.{field}"),
            format!("also set at the top level (Envoy's layout); set {field} in one place"),
        )),
        (n, t) => Ok(n.or(t)),
    }
}

impl RawService {
    pub(crate) fn build(
        self,
        top: TopLevel,
        x_ratelimit_headers: bool,
    ) -> Result<Service, ConfigError> {
        let _ = self.transport_api_version;
        let Some(domain) = once(self.domain, top.domain, "domain")? else {
            return Err(ConfigError::new(
                "rate_limit_service",
                "missing field `domain` (at the top level, as Envoy's ratelimit filter has it, or here)",
            ));
        };
        let timeout = once(self.timeout, top.timeout, "timeout")?;
        let failure_mode_deny = once(
            self.failure_mode_deny,
            top.failure_mode_deny,
            "failure_mode_deny",
        )?;
        let status_on_error = once(self.status_on_error, top.status_on_error, "status_on_error")?;
        Ok(Service {
            cluster_name: self.grpc_service.envoy_grpc.cluster_name.0,
            domain: domain.0,
            timeout: timeout.map_or(std::time::Duration::from_millis(DEFAULT_TIMEOUT_MS), |t| {
                t.0.as_std()
            }),
            failure_mode_deny: failure_mode_deny.unwrap_or(false),
            status_on_error: status_on_error.map_or(DEFAULT_STATUS_ON_ERROR, HttpStatus::code),
            hits_addend: self.hits_addend.map_or(1, |h| h.0),
            x_ratelimit_headers,
        })
    }
}

/// Envoy's `GrpcService`, the `envoy_grpc` form only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrpcService {
    envoy_grpc: EnvoyGrpc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvoyGrpc {
    cluster_name: ClusterName,
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct ClusterName(String);

impl TryFrom<String> for ClusterName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() {
            Err("must not be empty".into())
        } else if rls::is_wire_format(s.as_bytes()) {
            // Envoy would read it as a serialized GrpcService, not a name.
            Err(format!(
                "{s:?} is read by Envoy's proxy-wasm host as a serialized GrpcService; rename the cluster"
            ))
        } else {
            Ok(ClusterName(s))
        }
    }
}

#[derive(Deserialize)]
enum V3 {
    V3,
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct Domain(String);

impl TryFrom<String> for Domain {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            Err("must not be empty (the rate-limit service's namespace)")
        } else {
            Ok(Domain(s))
        }
    }
}
