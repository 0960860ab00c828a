//! The auth filter's configuration:
//!
//! ```json
//! {
//!   "rules": [{"match": RequestMatch, "requires": Requirement}],
//!   "default_requires": Requirement,
//!   "identity_header": "x-tollgate-identity",
//!   "api_key": ApiKeyConfig,
//!   "basic": BasicConfig
//! }
//! ```
//!
//! The first rule whose `match` holds decides; a request no rule matches
//! passes unless `default_requires` is set. Unknown fields are errors, and so
//! is a requirement naming a method that is not configured or a client that
//! no credential has.

use crate::api_key::ApiKeyConfig;
use crate::basic::BasicConfig;
use crate::requirement::{Methods, Requirement};
use serde::Deserialize;
use tollgate_common::header::MutableHeaderName;
use tollgate_common::matcher::RequestMatch;
use tollgate_common::ConfigError;

pub const DEFAULT_IDENTITY_HEADER: &str = "x-tollgate-identity";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default, rename = "match")]
    pub matcher: RequestMatch,
    pub requires: Requirement,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub rules: Vec<Rule>,
    pub default_requires: Option<Requirement>,
    /// Always removed from the client's request; set on success.
    pub identity_header: String,
    pub api_key: Option<ApiKeyConfig>,
    pub basic: Option<BasicConfig>,
    /// True when some rule has a `path` condition: a request whose path
    /// cannot be normalized is then refused (400) rather than let past it.
    pub has_path_rules: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: vec![],
            default_requires: None,
            identity_header: DEFAULT_IDENTITY_HEADER.to_string(),
            api_key: None,
            basic: None,
            has_path_rules: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    rules: Vec<Rule>,
    default_requires: Option<Requirement>,
    identity_header: Option<MutableHeaderName>,
    api_key: Option<ApiKeyConfig>,
    basic: Option<BasicConfig>,
}

impl Config {
    pub fn methods(&self) -> Methods<'_> {
        Methods {
            api_key: self.api_key.as_ref(),
            basic: self.basic.as_ref(),
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
        names
    }
}

/// Parses the plugin configuration; empty configuration is `{}`.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    let raw: RawConfig = tollgate_common::config::parse(bytes)?;
    let config = Config {
        rules: raw.rules,
        default_requires: raw.default_requires,
        identity_header: raw.identity_header.map_or_else(
            || DEFAULT_IDENTITY_HEADER.to_string(),
            |h| h.as_str().to_string(),
        ),
        api_key: raw.api_key,
        basic: raw.basic,
        has_path_rules: has_path_rules(bytes),
    };
    for (i, rule) in config.rules.iter().enumerate() {
        check(&config, &rule.requires, &format!("rules[{i}].requires"))?;
    }
    if let Some(r) = &config.default_requires {
        check(&config, r, "default_requires")?;
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
        Requirement::Any(children) | Requirement::All(children) => {
            let name = if matches!(r, Requirement::Any(_)) {
                "requires_any"
            } else {
                "requires_all"
            };
            for (i, c) in children.iter().enumerate() {
                check(config, c, &format!("{path}.{name}[{i}]"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether any rule's `match` has a `path` (the typed matcher hides it, and
/// the JSON already parsed once, so this look cannot fail).
fn has_path_rules(bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return false;
    };
    value
        .get("rules")
        .and_then(|r| r.as_array())
        .is_some_and(|rules| {
            rules.iter().any(|r| {
                r.get("match")
                    .and_then(|m| m.get("path"))
                    .is_some_and(|p| !p.is_null())
            })
        })
}

#[cfg(test)]
mod tests;
