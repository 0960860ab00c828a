//! A JWT provider's configuration: Envoy jwt_authn's `JwtProvider` fields,
//! with the same names and defaults, plus two Tollgate fields
//! (`local_hmac_secret`, `identity_claim`). Everything is checked while
//! deserializing, so an error names its field (`providers.a.local_jwks: ...`).
//!
//! Envoy fields not accepted (an unknown-field error): `payload_in_metadata`,
//! `header_in_metadata`, `failed_status_in_metadata`,
//! `normalize_payload_in_metadata`, `jwt_cache_config`, `clear_route_cache`
//! (dynamic metadata and Envoy's own cache do not exist for a wasm filter),
//! and `remote_jwks.async_fetch` / `retry_policy`.

use super::jwks::SkippedKey;
pub use super::sources::{HmacSecret, LocalJwks, RemoteJwks};
use serde::Deserialize;
use std::time::Duration;
use tollgate_common::config::NonEmpty;
use tollgate_common::duration::Duration as ConfigDuration;
use tollgate_common::header::{HeaderName, MutableHeaderName};
use tollgate_common::matcher::StringMatcher;
use tollgate_common::ConfigError;

/// Envoy's default `remote_jwks.cache_duration`: 10 minutes.
pub const DEFAULT_CACHE_DURATION: Duration = Duration::from_secs(600);
/// Envoy's default `clock_skew_seconds`.
pub const DEFAULT_CLOCK_SKEW_SECONDS: u32 = 60;
/// RFC 7518 3.2: an HS256 key must be at least as long as the hash.
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawProvider")]
pub struct JwtProvider {
    /// `iss` must equal this when set (Envoy: an empty `issuer` checks nothing).
    pub issuer: Option<String>,
    /// When non-empty, some `aud` of the token must be one of these.
    pub audiences: Vec<String>,
    /// When set, `sub` must be present and match.
    pub subjects: Option<StringMatcher>,
    /// `exp` must be present (Envoy's default: false).
    pub require_expiration: bool,
    /// `exp - now` may not exceed this; implies `require_expiration` (Envoy).
    pub max_lifetime: Option<Duration>,
    /// Where keys come from.
    pub jwks: JwksSource,
    /// Tollgate: the HS256 secret. HS256 tokens are refused without it.
    pub local_hmac_secret: Option<HmacSecret>,
    /// Keep the token in the request after success (Envoy: header only).
    pub forward: bool,
    /// Where to look for the token, in order; Envoy's defaults when the
    /// configuration names no location.
    pub locations: Vec<Location>,
    pub forward_payload_header: Option<MutableHeaderName>,
    pub pad_forward_payload_header: bool,
    pub claim_to_headers: Vec<ClaimToHeader>,
    pub clock_skew_seconds: u32,
    /// Tollgate: the claim naming who was authenticated (default `sub`).
    pub identity_claim: String,
}

/// The provider's key set.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// `local_jwks`, parsed at configuration time.
    Local(LocalJwks),
    /// `remote_jwks`, fetched by the glue.
    Remote(RemoteJwks),
    /// Neither: only HS256 with `local_hmac_secret`.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `from_headers`: the token is the value after `value_prefix`.
    Header { name: String, value_prefix: String },
    /// `from_params`: a query parameter.
    Param(String),
    /// `from_cookies`: a cookie.
    Cookie(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimToHeader {
    pub header_name: MutableHeaderName,
    /// A claim name; dots reach into objects (`org.team.name`).
    pub claim_name: NonEmpty,
}

impl JwtProvider {
    /// A provider from its JSON alone (tests, tools); the filter parses it
    /// inside its whole configuration.
    pub fn from_json(json: &str) -> Result<JwtProvider, ConfigError> {
        tollgate_common::config::parse(json.as_bytes())
    }

    /// Keys of `local_jwks` that were skipped, for the configuration log.
    pub fn skipped_keys(&self) -> &[SkippedKey] {
        match &self.jwks {
            JwksSource::Local(l) => &l.skipped,
            _ => &[],
        }
    }
}

/// Envoy's `JwtHeader`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromHeader {
    name: HeaderName,
    #[serde(default)]
    value_prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    audiences: Vec<String>,
    subjects: Option<StringMatcher>,
    #[serde(default)]
    require_expiration: bool,
    max_lifetime: Option<ConfigDuration>,
    local_jwks: Option<LocalJwks>,
    remote_jwks: Option<RemoteJwks>,
    local_hmac_secret: Option<HmacSecret>,
    #[serde(default)]
    forward: bool,
    #[serde(default)]
    from_headers: Vec<FromHeader>,
    #[serde(default)]
    from_params: Vec<NonEmpty>,
    #[serde(default)]
    from_cookies: Vec<NonEmpty>,
    forward_payload_header: Option<MutableHeaderName>,
    #[serde(default)]
    pad_forward_payload_header: bool,
    #[serde(default)]
    claim_to_headers: Vec<ClaimToHeader>,
    clock_skew_seconds: Option<u32>,
    identity_claim: Option<NonEmpty>,
}

impl TryFrom<RawProvider> for JwtProvider {
    type Error = String;
    fn try_from(r: RawProvider) -> Result<Self, String> {
        let jwks = match (r.local_jwks, r.remote_jwks) {
            (Some(l), None) => JwksSource::Local(l),
            (None, Some(rm)) => JwksSource::Remote(rm),
            (None, None) if r.local_hmac_secret.is_some() => JwksSource::None,
            (None, None) => {
                return Err(
                    "needs local_jwks or remote_jwks (or local_hmac_secret for HS256)".into(),
                )
            }
            (Some(_), Some(_)) => return Err("local_jwks and remote_jwks are exclusive".into()),
        };
        let mut locations: Vec<Location> = r
            .from_headers
            .into_iter()
            .map(|h| Location::Header {
                name: h.name.as_str().to_string(),
                value_prefix: h.value_prefix,
            })
            .chain(r.from_params.into_iter().map(|p| Location::Param(p.0)))
            .chain(r.from_cookies.into_iter().map(|c| Location::Cookie(c.0)))
            .collect();
        if locations.is_empty() {
            locations = vec![
                Location::Header {
                    name: "authorization".to_string(),
                    value_prefix: "Bearer ".to_string(),
                },
                Location::Param("access_token".to_string()),
            ];
        }
        Ok(JwtProvider {
            issuer: Some(r.issuer).filter(|i| !i.is_empty()),
            audiences: r.audiences,
            subjects: r.subjects,
            require_expiration: r.require_expiration,
            max_lifetime: r.max_lifetime.map(ConfigDuration::as_std),
            jwks,
            local_hmac_secret: r.local_hmac_secret,
            forward: r.forward,
            locations,
            forward_payload_header: r.forward_payload_header,
            pad_forward_payload_header: r.pad_forward_payload_header,
            claim_to_headers: r.claim_to_headers,
            clock_skew_seconds: r.clock_skew_seconds.unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS),
            identity_claim: r.identity_claim.map_or_else(|| "sub".to_string(), |c| c.0),
        })
    }
}
