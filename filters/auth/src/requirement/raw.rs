//! The JSON form of a requirement: an object with exactly one key.

use super::Requirement;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequirement {
    api_key: Option<ApiKeyRequirement>,
    basic: Option<Empty>,
    provider_name: Option<String>,
    provider_and_audiences: Option<ProviderAndAudiences>,
    requires_any: Option<Vec<Requirement>>,
    requires_all: Option<Vec<Requirement>>,
    allow_missing: Option<Empty>,
    allow_missing_or_failed: Option<Empty>,
    ext_authz: Option<Empty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyRequirement {
    allowed_clients: Option<Vec<String>>,
}

/// Envoy's `ProviderWithAudiences`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderAndAudiences {
    provider_name: String,
    audiences: Vec<String>,
}

impl TryFrom<RawRequirement> for Requirement {
    type Error = String;
    fn try_from(r: RawRequirement) -> Result<Self, String> {
        let mut found = Vec::new();
        if let Some(a) = r.api_key {
            found.push(Requirement::ApiKey {
                allowed_clients: a.allowed_clients,
            });
        }
        if r.basic.is_some() {
            found.push(Requirement::Basic);
        }
        if let Some(provider) = r.provider_name {
            found.push(Requirement::Jwt {
                provider,
                audiences: None,
            });
        }
        if let Some(p) = r.provider_and_audiences {
            if p.audiences.is_empty() {
                return Err("provider_and_audiences.audiences must not be empty".into());
            }
            found.push(Requirement::Jwt {
                provider: p.provider_name,
                audiences: Some(p.audiences),
            });
        }
        for (list, make) in [
            (
                r.requires_any,
                Requirement::Any as fn(Vec<Requirement>) -> Requirement,
            ),
            (r.requires_all, Requirement::All),
        ] {
            match list {
                Some(l) if l.is_empty() => {
                    return Err("requires_any / requires_all must not be empty".into())
                }
                Some(l) => found.push(make(l)),
                None => {}
            }
        }
        if r.allow_missing.is_some() {
            found.push(Requirement::AllowMissing);
        }
        if r.allow_missing_or_failed.is_some() {
            found.push(Requirement::AllowMissingOrFailed);
        }
        if r.ext_authz.is_some() {
            found.push(Requirement::ExtAuthz);
        }
        let mut it = found.into_iter();
        match (it.next(), it.next()) {
            (Some(req), None) => Ok(req),
            _ => Err(
                "a requirement has exactly one of api_key, basic, provider_name, \
                 provider_and_audiences, requires_any, requires_all, allow_missing, \
                 allow_missing_or_failed, ext_authz"
                    .into(),
            ),
        }
    }
}
