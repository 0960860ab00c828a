//! The auth filter's configuration:
//!
//! ```json
//! {
//!   "rules": [{"match": RequestMatch, "requires": Requirement}],
//!   "default_requires": Requirement,
//!   "requirement_map": {"name": Requirement},          (jwt_authn's)
//!   "identity_header": "x-tollgate-identity",
//!   "api_key": ApiKeyConfig,
//!   "basic": BasicConfig,
//!   "jwt": {"providers": {"name": JwtProvider}, ...},  (see jwt_config)
//!   "ext_authz": {"http_service": {...}, ...},          (see ext_authz::config)
//!   "ambiguous_path_action": "REJECT_REQUEST"          (or "MATCH_NORMALIZED")
//! }
//! ```
//!
//! The first rule whose `match` holds decides; a request no rule matches
//! passes unless `default_requires` is set. As in jwt_authn, a rule names its
//! requirement with `requires` or with `requirement_name` (a key of
//! `requirement_map`), and a rule with neither requires nothing. Unknown
//! fields are errors, and so is a requirement naming a method that is not
//! configured or a client that no credential has.

use crate::api_key::ApiKeyConfig;
use crate::basic::BasicConfig;
use crate::ext_authz::ExtAuthzConfig;
use crate::jwt::config::{JwtConfig, RawJwtConfig};
use crate::policy::requirement::{Methods, Requirement};
use serde::Deserialize;
use std::collections::BTreeMap;
use tollgate_common::header::MutableHeaderName;
use tollgate_common::matcher::RequestMatch;
use tollgate_common::path::AmbiguousPathAction;
use tollgate_common::ConfigError;

pub const DEFAULT_IDENTITY_HEADER: &str = "x-tollgate-identity";

#[derive(Debug, Clone)]
pub struct Rule {
    pub matcher: RequestMatch,
    /// `requires`, or the `requirement_map` entry `requirement_name` names;
    /// [`Requirement::NotRequired`] when the rule has neither.
    pub requires: Requirement,
}

/// A rule as written: jwt_authn's `RequirementRule`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default, rename = "match")]
    matcher: RequestMatch,
    requires: Option<Requirement>,
    requirement_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub rules: Vec<Rule>,
    pub default_requires: Option<Requirement>,
    /// Always removed from the client's request; set on success.
    pub identity_header: String,
    pub api_key: Option<ApiKeyConfig>,
    pub basic: Option<BasicConfig>,
    pub jwt: Option<JwtConfig>,
    pub ext_authz: Option<ExtAuthzConfig>,
    /// True when some rule has a `path` condition: a request whose path
    /// cannot be normalized is then refused (400) rather than let past it,
    /// and so is an ambiguous one unless `ambiguous_path_action` says
    /// `MATCH_NORMALIZED`.
    pub has_path_rules: bool,
    pub ambiguous_path_action: AmbiguousPathAction,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: vec![],
            default_requires: None,
            identity_header: DEFAULT_IDENTITY_HEADER.to_string(),
            api_key: None,
            basic: None,
            jwt: None,
            ext_authz: None,
            has_path_rules: false,
            ambiguous_path_action: AmbiguousPathAction::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    rules: Vec<RawRule>,
    default_requires: Option<Requirement>,
    #[serde(default)]
    requirement_map: BTreeMap<String, Requirement>,
    identity_header: Option<MutableHeaderName>,
    api_key: Option<ApiKeyConfig>,
    basic: Option<BasicConfig>,
    jwt: Option<RawJwtConfig>,
    ext_authz: Option<ExtAuthzConfig>,
    #[serde(default)]
    ambiguous_path_action: AmbiguousPathAction,
}

impl Config {
    pub fn methods(&self) -> Methods<'_> {
        Methods {
            api_key: self.api_key.as_ref(),
            basic: self.basic.as_ref(),
            jwt: self.jwt.as_ref(),
        }
    }

    /// Headers that only this filter may set: removed from every request.
    pub fn reserved_headers(&self) -> Vec<&str> {
        let mut names = vec![self.identity_header.as_str()];
        if let Some(h) = self
            .api_key
            .as_ref()
            .and_then(|a| a.forwarding.header.as_ref())
        {
            names.push(h.as_str());
        }
        if let Some(h) = self
            .basic
            .as_ref()
            .and_then(|b| b.forward_username_header.as_ref())
        {
            names.push(h.as_str());
        }
        if let Some(j) = &self.jwt {
            names.extend(j.reserved_headers());
        }
        names
    }
}

/// Parses the plugin configuration; empty configuration is `{}`.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    let raw: RawConfig = tollgate_common::config::parse(bytes)?;
    let namespace: String = crate::basic::cache::digest(&[bytes])
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let jwt = match raw.jwt {
        Some(j) => Some(j.build(namespace).map_err(|e| ConfigError::new("jwt", e))?),
        None => None,
    };
    let mut rules = Vec::with_capacity(raw.rules.len());
    for (i, rule) in raw.rules.into_iter().enumerate() {
        let requires = match (rule.requires, rule.requirement_name) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    format!("rules[{i}]"),
                    "give requires or requirement_name, not both",
                ))
            }
            (Some(r), None) => r,
            (None, Some(name)) => match raw.requirement_map.get(&name) {
                Some(r) => r.clone(),
                None => {
                    return Err(ConfigError::new(
                        format!("rules[{i}].requirement_name"),
                        format!("no requirement {name:?} in requirement_map"),
                    ))
                }
            },
            (None, None) => Requirement::NotRequired,
        };
        rules.push(Rule {
            matcher: rule.matcher,
            requires,
        });
    }
    let has_path_rules = rules.iter().any(|r| r.matcher.has_path_condition());
    let mut config = Config {
        rules,
        default_requires: raw.default_requires,
        identity_header: raw.identity_header.map_or_else(
            || DEFAULT_IDENTITY_HEADER.to_string(),
            |h| h.as_str().to_string(),
        ),
        api_key: raw.api_key,
        basic: raw.basic,
        jwt,
        ext_authz: raw.ext_authz,
        has_path_rules,
        ambiguous_path_action: raw.ambiguous_path_action,
    };
    for (name, r) in &raw.requirement_map {
        check(&config, r, &format!("requirement_map.{name}"))?;
    }
    for (i, rule) in config.rules.iter().enumerate() {
        check(&config, &rule.requires, &format!("rules[{i}].requires"))?;
    }
    if let Some(r) = &config.default_requires {
        check(&config, r, "default_requires")?;
    }
    let leaves: Vec<Requirement> = config
        .rules
        .iter()
        .map(|r| &r.requires)
        .chain(config.default_requires.as_ref())
        .cloned()
        .collect();
    if let Some(j) = config.jwt.as_mut() {
        leaves.iter().for_each(|r| prepare(j, r));
    }
    Ok(config)
}

/// A requirement may only name configured methods and known clients.
fn check(config: &Config, r: &Requirement, path: &str) -> Result<(), ConfigError> {
    match r {
        Requirement::ApiKey { allowed_clients } => {
            let Some(api_key) = &config.api_key else {
                return Err(ConfigError::new(
                    format!("{path}.api_key"),
                    "needs the top-level api_key configuration",
                ));
            };
            for (i, c) in allowed_clients.iter().flatten().enumerate() {
                if !api_key.has_client(c) {
                    return Err(ConfigError::new(
                        format!("{path}.api_key.allowed_clients[{i}]"),
                        format!("no credential has client {c:?}"),
                    ));
                }
            }
            Ok(())
        }
        Requirement::Basic if config.basic.is_none() => Err(ConfigError::new(
            format!("{path}.basic"),
            "needs the top-level basic configuration",
        )),
        Requirement::ExtAuthz if config.ext_authz.is_none() => Err(ConfigError::new(
            format!("{path}.ext_authz"),
            "needs the top-level ext_authz configuration",
        )),
        Requirement::Jwt {
            provider,
            audiences,
        } => {
            let field = match audiences {
                None => format!("{path}.provider_name"),
                Some(_) => format!("{path}.provider_and_audiences.provider_name"),
            };
            match &config.jwt {
                None => Err(ConfigError::new(
                    field,
                    "needs the top-level jwt configuration",
                )),
                Some(j) if j.base(provider).is_none() => Err(ConfigError::new(
                    field,
                    format!("no provider {provider:?} in jwt.providers"),
                )),
                Some(_) => Ok(()),
            }
        }
        Requirement::Any(group) | Requirement::All(group) => {
            for (i, c) in group.iter().enumerate() {
                check(config, c, &format!("{path}.{}[{i}]", group.field))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Prepares the provider variant of every `provider_and_audiences` leaf.
fn prepare(jwt: &mut JwtConfig, r: &Requirement) {
    match r {
        Requirement::Jwt {
            provider,
            audiences: Some(a),
        } => {
            jwt.add_variant(provider, Some(a));
        }
        Requirement::Any(c) | Requirement::All(c) => c.iter().for_each(|c| prepare(jwt, c)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
