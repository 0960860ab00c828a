//! The `jwt` block of the auth filter's configuration, in Envoy
//! jwt_authn's vocabulary:
//!
//! ```json
//! "jwt": {
//!   "providers": {"name": JwtProvider, ...},
//!   "realm": "tollgate",
//!   "cache": {"max_entries": 1024, "max_ttl": "300s"},
//!   "unknown_kid_refetch_interval": "30s"
//! }
//! ```
//!
//! Requirements name a provider with `{"provider_name": "name"}` or
//! `{"provider_and_audiences": {"provider_name": "name", "audiences": [..]}}`
//! (the audiences replace the provider's). Each distinct (provider,
//! audiences) pair becomes a [`Variant`], prepared once at start; variant `i`
//! for `i < providers.len()` is provider `i` as configured.

use crate::basic::Realm;
use crate::jwt::JwtProvider;
use serde::Deserialize;
use std::collections::BTreeMap;
use tollgate_common::duration::Duration;

pub const DEFAULT_MAX_ENTRIES: u32 = 1024;
pub const DEFAULT_MAX_TTL_SECS: u64 = 300;
pub const DEFAULT_REFETCH_INTERVAL_SECS: u64 = 30;

#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Provider names, in name order; index = the provider's JWKS slot.
    pub names: Vec<String>,
    pub variants: Vec<Variant>,
    pub realm: String,
    pub max_entries: u32,
    pub max_ttl_secs: u64,
    pub refetch_interval_ms: u64,
    /// Distinguishes this configuration's shared-data entries (a hash of the
    /// whole plugin configuration), so a changed configuration never reads
    /// an old one's verified tokens or key sets.
    pub namespace: String,
    /// jwt_authn's `bypass_cors_preflight`: a CORS preflight satisfies every
    /// JWT requirement without a token (other methods are still checked).
    pub bypass_cors_preflight: bool,
}

/// A provider with the audiences one requirement asks for.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Index into `names` (and the JWKS slot).
    pub base: usize,
    /// The audiences that replace the provider's; None: the provider's own.
    pub audiences: Option<Vec<String>>,
    pub provider: JwtProvider,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJwtConfig {
    providers: BTreeMap<String, JwtProvider>,
    realm: Option<Realm>,
    #[serde(default)]
    cache: RawCache,
    unknown_kid_refetch_interval: Option<Duration>,
    #[serde(default)]
    bypass_cors_preflight: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCache {
    max_entries: Option<Entries>,
    max_ttl: Option<Duration>,
}

/// 1 to 1,000,000 slots.
#[derive(Deserialize)]
#[serde(try_from = "u64")]
struct Entries(u32);

impl TryFrom<u64> for Entries {
    type Error = &'static str;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        match u32::try_from(n) {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(Entries(n)),
            _ => Err("must be between 1 and 1000000"),
        }
    }
}

impl RawJwtConfig {
    pub(crate) fn build(self, namespace: String) -> Result<JwtConfig, String> {
        if self.providers.is_empty() {
            return Err("providers must name at least one provider".into());
        }
        let (names, variants) = self
            .providers
            .into_iter()
            .enumerate()
            .map(|(base, (name, provider))| {
                (
                    name,
                    Variant {
                        base,
                        audiences: None,
                        provider,
                    },
                )
            })
            .unzip();
        Ok(JwtConfig {
            names,
            variants,
            realm: self.realm.map_or_else(|| "tollgate".to_string(), |r| r.0),
            max_entries: self.cache.max_entries.map_or(DEFAULT_MAX_ENTRIES, |e| e.0),
            max_ttl_secs: self
                .cache
                .max_ttl
                .map_or(DEFAULT_MAX_TTL_SECS, |d| d.as_secs_ceil()),
            refetch_interval_ms: self
                .unknown_kid_refetch_interval
                .map_or(DEFAULT_REFETCH_INTERVAL_SECS * 1000, |d| d.as_millis()),
            namespace,
            bypass_cors_preflight: self.bypass_cors_preflight,
        })
    }
}

impl JwtConfig {
    pub fn base(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The variant for a requirement leaf, if prepared.
    pub fn variant(&self, name: &str, audiences: Option<&[String]>) -> Option<usize> {
        let base = self.base(name)?;
        self.variants
            .iter()
            .position(|v| v.base == base && v.audiences.as_deref() == audiences)
    }

    /// Prepares the variant for a leaf; None when no provider has that name.
    pub fn add_variant(&mut self, name: &str, audiences: Option<&[String]>) -> Option<usize> {
        if let Some(i) = self.variant(name, audiences) {
            return Some(i);
        }
        let base = self.base(name)?;
        let mut provider = self.variants.get(base)?.provider.clone();
        provider.audiences = audiences.map(<[String]>::to_vec).unwrap_or_default();
        self.variants.push(Variant {
            base,
            audiences: audiences.map(<[String]>::to_vec),
            provider,
        });
        Some(self.variants.len() - 1)
    }

    /// The name a verified-token cache key uses for a variant.
    pub fn cache_name(&self, variant: &Variant) -> String {
        let name = self.names.get(variant.base).map_or("", String::as_str);
        match &variant.audiences {
            None => name.to_string(),
            Some(a) => format!("{name}\n{}", a.join("\n")),
        }
    }

    /// Header names only the filter may set: every provider's
    /// `forward_payload_header` and `claim_to_headers`.
    pub fn reserved_headers(&self) -> impl Iterator<Item = &str> {
        self.variants.iter().take(self.names.len()).flat_map(|v| {
            let p = &v.provider;
            p.forward_payload_header
                .iter()
                .map(|h| h.as_str())
                .chain(p.claim_to_headers.iter().map(|c| c.header_name.as_str()))
        })
    }
}
