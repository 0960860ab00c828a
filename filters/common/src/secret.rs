//! Secrets kept out of the plugin configuration. An Istio `pluginConfig` is
//! readable by everyone who can read the WasmPlugin, so a configuration may
//! name an environment variable of the VM instead of carrying the secret:
//! `{"env": "NAME"}`. Envoy gives a wasm VM the variables listed in
//! `vm_config.environment_variables` (`key_values`, and `host_env_keys` from
//! Envoy's own environment); Istio fills them from `vmConfig.env`. WASI's
//! `environ_get` hands them to the module, so `std::env` reads them.
//!
//! Errors name the variable, never its value.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

use crate::template::Template;

/// The value of the VM's environment variable `name`: set, non-empty, UTF-8.
pub fn read_env(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("env needs a variable name".into());
    }
    match std::env::var(name) {
        Ok(v) if v.is_empty() => Err(format!("environment variable {name} is empty")),
        Ok(v) => Ok(v),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "environment variable {name} is not set in the VM \
             (vm_config.environment_variables; Istio: vmConfig.env)"
        )),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("environment variable {name} is not UTF-8"))
        }
    }
}

/// Text given inline (`"text"`) or read from the VM's environment at start
/// (`{"env": "NAME"}`). Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    text: String,
    env: Option<String>,
}

impl Secret {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_text(self) -> String {
        self.text
    }

    /// The variable it came from, when it did.
    pub fn env(&self) -> Option<&str> {
        self.env.as_deref()
    }

    /// Whatever is wrong with the text, said without showing it.
    pub fn describe(&self, what: &str) -> String {
        match &self.env {
            Some(name) => format!("{what} (from environment variable {name})"),
            None => what.to_string(),
        }
    }
}

/// A header value: a template, or `{"env": "NAME"}` whose text is taken
/// literally (a credential is data, never operators).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "Secret")]
pub struct ValueOrSecret(pub Template);

impl TryFrom<Secret> for ValueOrSecret {
    type Error = String;
    fn try_from(s: Secret) -> Result<Self, String> {
        match s.env() {
            Some(_) => Template::parse(&s.text().replace('%', "%%"))
                .map(ValueOrSecret)
                .map_err(|_| s.describe("holds CR, LF or NUL")),
            None => Template::parse(s.text()).map(ValueOrSecret),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.env {
            Some(name) => write!(f, "Secret(env {name})"),
            None => f.write_str("Secret(..)"),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or {\"env\": \"NAME\"}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret {
            text: v.to_string(),
            env: None,
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret { text: v, env: None })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let mut name: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "env" {
                return Err(de::Error::unknown_field(&key, &["env"]));
            }
            if name.is_some() {
                return Err(de::Error::duplicate_field("env"));
            }
            name = Some(map.next_value()?);
        }
        let name = name.ok_or_else(|| de::Error::missing_field("env"))?;
        let text = read_env(&name).map_err(de::Error::custom)?;
        Ok(Secret {
            text,
            env: Some(name),
        })
    }
}

#[cfg(test)]
mod tests;
