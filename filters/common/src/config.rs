//! Configuration loading shared by every filter: JSON in, a typed config or an
//! error that names the offending field out.
//!
//! Semantic checks (regexes, templates, header names) run inside
//! deserialization (`#[serde(try_from = ...)]` types), so
//! `serde_path_to_error` names the field for those too, e.g.
//! `rules[0].match.path.safe_regex.regex: invalid regex: ...`.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::fmt;

/// The field reported for problems that belong to no field: invalid JSON, a
/// top-level value that is not an object, trailing characters.
pub const ROOT_FIELD: &str = "configuration";

/// A rejected configuration: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// A string that must not be empty.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NonEmpty(pub String);

impl TryFrom<String> for NonEmpty {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.is_empty() {
            Err("must not be empty")
        } else {
            Ok(NonEmpty(s))
        }
    }
}

/// A count that must be at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u32")]
pub struct Positive(pub u32);

impl TryFrom<u32> for Positive {
    type Error = &'static str;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        if n == 0 {
            Err("must be at least 1")
        } else {
            Ok(Positive(n))
        }
    }
}

/// The one line a filter logs when it refuses its configuration
/// (`tollgate.auth: invalid configuration: rules[0]...`); `tollgate check`
/// prints the same line, so both come from here.
pub fn refusal_line(filter: &str, e: &ConfigError) -> String {
    format!("tollgate.{filter}: invalid configuration: {e}")
}

/// Parses a filter configuration. Empty input (or only whitespace) is `{}`, so
/// a filter whose fields are all optional runs with no configuration at all.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ConfigError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // serde's derived structs also accept a JSON array of field values; a
    // configuration is always an object.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| matches!(b, b'[' | b'"' | b'n' | b't' | b'f' | b'-' | b'0'..=b'9')) {
        return Err(ConfigError::new(ROOT_FIELD, "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        from_json_error(path, e.inner())
    })?;
    // Trailing characters after the value (`{} x`) are invalid JSON too.
    de.end().map_err(|e| from_json_error(String::new(), &e))?;
    Ok(value)
}

fn from_json_error(path: String, e: &serde_json::Error) -> ConfigError {
    let full = e.to_string();
    // serde_json appends " at line N column M"; the field path locates data
    // errors better, but a syntax error has nothing else, so keep it there.
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.is_syntax() || e.is_eof() {
        let reason = if e.line() > 0 {
            format!(
                "invalid JSON at line {} column {}: {}",
                e.line(),
                e.column(),
                message
            )
        } else {
            format!("invalid JSON: {message}")
        };
        return ConfigError::new(ROOT_FIELD, reason);
    }
    // serde_path_to_error renders the root as ".".
    let field = if path.is_empty() || path == "." {
        ROOT_FIELD.to_string()
    } else {
        path
    };
    ConfigError::new(field, message)
}

#[cfg(test)]
mod tests;
