//! Header names and values as configured, and the target that header
//! mutations write to.

use crate::template::Template;
use serde::Deserialize;

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A lower-case RFC 9110 token, optionally after one `:` (HTTP/2
/// pseudo-headers such as `:path`). Loaders lower-case names first, so an
/// upper-case letter here means the caller skipped that step.
pub fn valid_header_name(name: &str) -> bool {
    let token = name.strip_prefix(':').unwrap_or(name);
    !token.is_empty()
        && token
            .bytes()
            .all(|b| is_tchar(b) && !b.is_ascii_uppercase())
}

/// Lower-cases and validates a configured header name.
pub fn header_name(s: &str) -> Result<String, String> {
    let name = s.to_ascii_lowercase();
    if valid_header_name(&name) {
        Ok(name)
    } else {
        Err(format!("invalid header name {s:?}"))
    }
}

/// A request header name to read: [`header_name`], with `host` read as
/// `:authority`, since Envoy keeps the `Host` header there (HTTP/1 too) and a
/// lookup of `host` would never find it.
pub fn request_header_name(s: &str) -> Result<String, String> {
    let name = header_name(s)?;
    Ok(if name == "host" {
        ":authority".to_string()
    } else {
        name
    })
}

/// False when `v` would split or truncate a header line (CR, LF or NUL).
pub fn safe_value(v: &str) -> bool {
    !v.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// A request header name to read, from [`request_header_name`]: valid,
/// lower-cased, pseudo-headers allowed, `host` read as `:authority`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HeaderName(String);

impl HeaderName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HeaderName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        request_header_name(&s).map(HeaderName)
    }
}

/// A header name that a filter may add, set or remove: valid, lower-cased,
/// and neither a pseudo-header nor `host` (Envoy refuses those too: they steer
/// routing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct MutableHeaderName(String);

impl MutableHeaderName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MutableHeaderName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let name = header_name(&s)?;
        if name.starts_with(':') || name == "host" {
            return Err(format!("header {name:?} cannot be modified"));
        }
        Ok(MutableHeaderName(name))
    }
}

/// Envoy's `HeaderValueOption.HeaderAppendAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppendAction {
    /// Add another value; the header may end up with several.
    #[default]
    AppendIfExistsOrAdd,
    /// Add only when the header is absent.
    AddIfAbsent,
    /// Replace any values, or add.
    OverwriteIfExistsOrAdd,
    /// Replace the values only when the header is present.
    OverwriteIfExists,
}

/// Envoy's `HeaderValue`: `{"key": ..., "value": ...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    pub key: MutableHeaderName,
    pub value: Template,
}

/// Envoy's `HeaderValueOption`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValueOption {
    pub header: HeaderValue,
    #[serde(default)]
    pub append_action: AppendAction,
    /// Envoy skips a header whose value expands to the empty string unless
    /// this is set.
    #[serde(default)]
    pub keep_empty_value: bool,
}

/// Where header mutations land: the glue implements it with host calls on the
/// request or response headers.
pub trait HeaderTarget {
    fn get(&self, name: &str) -> Option<String>;
    /// Replaces every value of `name` with `value` (adds it when absent).
    fn set(&mut self, name: &str, value: &str);
    /// Adds one more value.
    fn add(&mut self, name: &str, value: &str);
    fn remove(&mut self, name: &str);
    /// The names present, lower-case, each once, in first-seen order (for
    /// header_mutation's `remove_on_match`).
    fn names(&self) -> Vec<String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names() {
        for ok in [
            "x",
            "x-foo",
            "content-type",
            ":path",
            ":authority",
            "a1!#$%&'*+-.^_`|~",
        ] {
            assert!(valid_header_name(ok), "{ok}");
        }
        for bad in [
            "", ":", "X-Foo", "a b", "a:b", "::a", "a\r", "é", "a/b", "a\"b", "(a)",
        ] {
            assert!(!valid_header_name(bad), "{bad:?}");
        }
        assert_eq!(header_name("X-Foo").as_deref(), Ok("x-foo"));
        assert_eq!(header_name(":Path").as_deref(), Ok(":path"));
        assert!(header_name("x foo").unwrap_err().contains("\"x foo\""));
    }

    #[test]
    fn safe_values() {
        assert!(safe_value(""));
        assert!(safe_value("a b\tc é"));
        assert!(!safe_value("a\rb"));
        assert!(!safe_value("a\nb"));
        assert!(!safe_value("a\0b"));
    }

    #[test]
    fn mutable_names() {
        let ok = MutableHeaderName::try_from("X-Foo".to_string()).unwrap();
        assert_eq!(ok.as_str(), "x-foo");
        for bad in [":path", ":authority", "host", "Host", "x y", ""] {
            assert!(
                MutableHeaderName::try_from(bad.to_string()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            HeaderName::try_from(":Method".to_string())
                .unwrap()
                .as_str(),
            ":method"
        );
    }

    #[test]
    fn header_value_option_defaults_and_actions() {
        let o: HeaderValueOption =
            serde_json::from_str(r#"{"header":{"key":"X-A","value":"v"}}"#).unwrap();
        assert_eq!(o.header.key.as_str(), "x-a");
        assert_eq!(o.header.value.as_static(), Some("v"));
        assert_eq!(o.append_action, AppendAction::AppendIfExistsOrAdd);
        assert!(!o.keep_empty_value);
        for (s, a) in [
            ("APPEND_IF_EXISTS_OR_ADD", AppendAction::AppendIfExistsOrAdd),
            ("ADD_IF_ABSENT", AppendAction::AddIfAbsent),
            (
                "OVERWRITE_IF_EXISTS_OR_ADD",
                AppendAction::OverwriteIfExistsOrAdd,
            ),
            ("OVERWRITE_IF_EXISTS", AppendAction::OverwriteIfExists),
        ] {
            let json = format!(
                r#"{{"header":{{"key":"x","value":""}},"append_action":"{s}","keep_empty_value":true}}"#
            );
            let o: HeaderValueOption = serde_json::from_str(&json).unwrap();
            assert_eq!(o.append_action, a);
            assert!(o.keep_empty_value);
        }
    }

    #[test]
    fn header_value_option_errors() {
        let bad = [
            r#"{"header":{"key":"host","value":"v"}}"#,
            r#"{"header":{"key":":path","value":"v"}}"#,
            r#"{"header":{"key":"a b","value":"v"}}"#,
            r#"{"header":{"key":"x","value":"v","extra":1}}"#,
            r#"{"header":{"key":"x","value":"v"},"append":true}"#,
            r#"{"header":{"key":"x","value":"v"},"append_action":"APPEND"}"#,
            r#"{"header":{"key":"x","value":"a\r\nb"}}"#,
            r#"{"header":{"key":"x"}}"#,
        ];
        for json in bad {
            assert!(
                serde_json::from_str::<HeaderValueOption>(json).is_err(),
                "{json}"
            );
        }
    }
}
