//! Configuration loading shared by every filter: JSON in, a typed config or an
//! error that names the offending field out.
//!
//! Semantic checks (regexes, templates, header names) run inside
//! deserialization (`#[serde(try_from = ...)]` types), so
//! `serde_path_to_error` names the field for those too, e.g.
//! `rules[0].match.path.safe_regex.regex: invalid regex: ...`.

use serde::de::DeserializeOwned;
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
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        n: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Cfg {
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        name: Option<String>,
    }

    fn err(json: &str) -> ConfigError {
        match parse::<Cfg>(json.as_bytes()) {
            Ok(v) => panic!("expected an error for {json}, got {v:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn empty_and_whitespace_are_empty_object() {
        for input in ["", "  \n\t", "{}"] {
            let cfg: Cfg = parse(input.as_bytes()).unwrap();
            assert_eq!(
                cfg,
                Cfg {
                    items: vec![],
                    name: None
                }
            );
        }
    }

    #[test]
    fn parses_nested() {
        let cfg: Cfg = parse(br#"{"items":[{"n":1},{"n":2}],"name":"x"}"#).unwrap();
        assert_eq!(cfg.items, vec![Inner { n: 1 }, Inner { n: 2 }]);
    }

    #[test]
    fn wrong_type_names_field_without_position() {
        let e = err(r#"{"items":[{"n":1},{"n":"two"}]}"#);
        assert_eq!(e.field, "items[1].n");
        assert!(e.reason.starts_with("invalid type: string \"two\""), "{e}");
        assert!(!e.reason.contains("line"), "{e}");
        assert_eq!(e.to_string(), format!("items[1].n: {}", e.reason));
    }

    #[test]
    fn unknown_field_is_reported() {
        let e = err(r#"{"items":[{"n":1,"m":2}]}"#);
        assert_eq!(e.field, "items[0].m");
        assert!(e.reason.contains("unknown field `m`"), "{e}");
        let e = err(r#"{"bogus":1}"#);
        assert_eq!(e.field, "bogus");
    }

    #[test]
    fn missing_field_is_reported_at_its_parent() {
        let e = err(r#"{"items":[{}]}"#);
        assert_eq!(e.field, "items[0]");
        assert!(e.reason.contains("missing field `n`"), "{e}");
    }

    #[test]
    fn invalid_json_is_root_level_with_position() {
        let e = err(r#"{"items": [}"#);
        assert_eq!(e.field, ROOT_FIELD);
        assert!(e.reason.starts_with("invalid JSON at line 1 column"), "{e}");
        let e = err(r#"{"items": "#);
        assert_eq!(e.field, ROOT_FIELD);
        assert!(e.reason.contains("EOF"), "{e}");
    }

    #[test]
    fn trailing_characters_are_rejected() {
        let e = err("{} x");
        assert_eq!(e.field, ROOT_FIELD);
        assert!(e.reason.contains("trailing characters"), "{e}");
    }

    #[test]
    fn non_object_root() {
        for input in ["[]", "[[], \"x\"]", "null", "1", "\"x\"", " true"] {
            let e = err(input);
            assert_eq!(e.field, ROOT_FIELD);
            assert_eq!(e.reason, "must be a JSON object", "{input}");
        }
        // Not JSON at all stays a syntax error.
        assert!(err("x").reason.starts_with("invalid JSON"));
    }

    #[test]
    fn is_std_error() {
        let e: Box<dyn std::error::Error> = Box::new(ConfigError::new("a", "b"));
        assert_eq!(e.to_string(), "a: b");
    }
}
