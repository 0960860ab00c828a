//! The JSON form of a requirement: an object with at most one key (jwt_authn's
//! `JwtRequirement`; the empty object requires nothing, as in Envoy).

use super::{Group, Requirement};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequirement {
    api_key: Option<ApiKeyRequirement>,
    basic: Option<Empty>,
    provider_name: Option<String>,
    provider_and_audiences: Option<ProviderAndAudiences>,
    requires_any: Option<List>,
    requires_all: Option<List>,
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

/// Envoy's `ProviderWithAudiences`; no (or empty) `audiences` keeps the
/// provider's own, as in Envoy.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderAndAudiences {
    provider_name: String,
    #[serde(default)]
    audiences: Vec<String>,
}

/// The children of `requires_any` / `requires_all`: Tollgate's bare list
/// (`[...]`) or Envoy's `JwtRequirementOrList` / `JwtRequirementAndList`
/// (`{"requirements": [...]}`). Both mean the same.
struct List {
    children: Vec<Requirement>,
    /// True for Envoy's form (error paths then go through `requirements`).
    envoy: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvoyList {
    requirements: Vec<Requirement>,
}

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of requirements, or {\"requirements\": [...]}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<List, A::Error> {
                Ok(List {
                    children: Vec::deserialize(SeqAccessDeserializer::new(seq))?,
                    envoy: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List, A::Error> {
                Ok(List {
                    children: EnvoyList::deserialize(MapAccessDeserializer::new(map))?.requirements,
                    envoy: true,
                })
            }
        }
        d.deserialize_any(ListVisitor)
    }
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
            found.push(Requirement::Jwt {
                provider: p.provider_name,
                audiences: (!p.audiences.is_empty()).then_some(p.audiences),
            });
        }
        for (list, name, make) in [
            (
                r.requires_any,
                "requires_any",
                Requirement::Any as fn(Group) -> Requirement,
            ),
            (r.requires_all, "requires_all", Requirement::All),
        ] {
            match list {
                Some(l) if l.children.is_empty() => {
                    return Err(format!("{name} must not be empty"));
                }
                Some(l) => found.push(make(Group {
                    children: l.children,
                    field: match (name, l.envoy) {
                        ("requires_any", false) => "requires_any",
                        ("requires_any", true) => "requires_any.requirements",
                        (_, false) => "requires_all",
                        (_, true) => "requires_all.requirements",
                    },
                })),
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
            // jwt_authn: "An empty message means JWT verification is not
            // required" (its AllowAllVerifier).
            (None, _) => Ok(Requirement::NotRequired),
            _ => Err(
                "a requirement has at most one of api_key, basic, provider_name, \
                 provider_and_audiences, requires_any, requires_all, allow_missing, \
                 allow_missing_or_failed, ext_authz"
                    .into(),
            ),
        }
    }
}
