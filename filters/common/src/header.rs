//! Header names and values as configured, and the target that header
//! mutations write to.

use crate::syntax::{header_name, request_header_name};
use crate::template::Template;
use serde::Deserialize;

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

/// Header pairs in order, with repeated names, like Envoy's header maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList(Vec<(String, String)>);

impl HeaderList {
    pub fn of(pairs: &[(&str, &str)]) -> HeaderList {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Appends a pair (after any of the same name).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// Removes every pair named `name`.
    pub fn remove_all(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.into_iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a HeaderList {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a str, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

impl FromIterator<(String, String)> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        HeaderList(pairs.into_iter().collect())
    }
}

/// The first value wins on `get`, as in Envoy's `get_map_value`.
impl HeaderTarget for HeaderList {
    fn get(&self, name: &str) -> Option<String> {
        self.all(name).first().map(|v| v.to_string())
    }

    fn set(&mut self, name: &str, value: &str) {
        self.remove_all(name);
        self.push(name, value);
    }

    fn add(&mut self, name: &str, value: &str) {
        self.push(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.remove_all(name);
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (n, _) in self.iter() {
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        }
        names
    }
}

#[cfg(test)]
mod tests;
