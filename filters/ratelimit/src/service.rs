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
//! Only `grpc_service` and `domain` are required.

use crate::rls;
use serde::Deserialize;
use tollgate_common::duration::Timeout;
use tollgate_common::status::HttpStatus;

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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    grpc_service: GrpcService,
    #[serde(default)]
    transport_api_version: Option<V3>,
    domain: Domain,
    #[serde(default)]
    timeout: Option<Timeout>,
    #[serde(default)]
    failure_mode_deny: bool,
    #[serde(default)]
    status_on_error: Option<HttpStatus>,
    #[serde(default)]
    hits_addend: Option<Hits>,
}

impl From<RawService> for Service {
    fn from(r: RawService) -> Service {
        let _ = r.transport_api_version;
        Service {
            cluster_name: r.grpc_service.envoy_grpc.cluster_name.0,
            domain: r.domain.0,
            timeout: r
                .timeout
                .map_or(std::time::Duration::from_millis(DEFAULT_TIMEOUT_MS), |t| {
                    t.0.as_std()
                }),
            failure_mode_deny: r.failure_mode_deny,
            status_on_error: r
                .status_on_error
                .map_or(DEFAULT_STATUS_ON_ERROR, HttpStatus::code),
            hits_addend: r.hits_addend.map_or(1, |h| h.0),
        }
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
struct Domain(String);

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

#[derive(Deserialize)]
#[serde(try_from = "u32")]
struct Hits(u32);

impl TryFrom<u32> for Hits {
    type Error = &'static str;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        if n == 0 {
            Err("must be at least 1")
        } else {
            Ok(Hits(n))
        }
    }
}
