//! Request matching in Envoy's vocabulary: `StringMatcher`, `HeaderMatcher`
//! and a rule's `match` block ([`RequestMatch`]).

use crate::config::NonEmpty;
use crate::header::HeaderName;
use regex_lite::{Regex, RegexBuilder};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// Longest accepted regex, to bound the compile cost at config time (matching
/// is linear in the input with regex-lite whatever the pattern).
pub const MAX_REGEX_LEN: usize = 1024;

/// Envoy's `type.matcher.v3.StringMatcher`: one of `exact`, `prefix`,
/// `suffix`, `contains`, `safe_regex`, plus `ignore_case` (ASCII letters only,
/// as in Envoy; for `safe_regex` it compiles the pattern case-insensitively).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawStringMatcher")]
pub struct StringMatcher {
    kind: Kind,
    ignore_case: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// Anchored at both ends: Envoy's regex matchers match the whole value.
    Regex(Regex),
    /// RouteMatch's `path_separated_prefix`: the prefix, then the end or `/`.
    SeparatedPrefix(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStringMatcher {
    exact: Option<String>,
    prefix: Option<NonEmpty>,
    suffix: Option<NonEmpty>,
    contains: Option<NonEmpty>,
    safe_regex: Option<SafeRegex>,
    #[serde(default)]
    ignore_case: bool,
}

/// Envoy's `RegexMatcher`; `google_re2` is accepted and ignored so configs
/// copied from Envoy load.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SafeRegex {
    #[allow(dead_code)] // only accepted
    google_re2: Option<IgnoredAny>,
    regex: Pattern,
}

/// A pattern checked when its field is read, so errors name the field.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Pattern {
    source: String,
    anchored: Regex,
}

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(source: String) -> Result<Self, String> {
        if source.len() > MAX_REGEX_LEN {
            return Err(format!(
                "regex is {} bytes long; the limit is {MAX_REGEX_LEN}",
                source.len()
            ));
        }
        // Compiling the bare pattern first proves it is one well-formed
        // expression, so wrapping it cannot change its meaning.
        Regex::new(&source).map_err(|e| format!("invalid regex: {e}"))?;
        let anchored = anchored(&source, false)?;
        Ok(Pattern { source, anchored })
    }
}

fn anchored(source: &str, ignore_case: bool) -> Result<Regex, String> {
    RegexBuilder::new(&format!(r"\A(?:{source})\z"))
        .case_insensitive(ignore_case)
        .build()
        .map_err(|e| format!("invalid regex: {e}"))
}

impl TryFrom<RawStringMatcher> for StringMatcher {
    type Error = String;
    fn try_from(raw: RawStringMatcher) -> Result<Self, String> {
        let ignore_case = raw.ignore_case;
        let fold = |s: String| {
            if ignore_case {
                s.to_ascii_lowercase()
            } else {
                s
            }
        };
        let mut kinds = Vec::new();
        if let Some(s) = raw.exact {
            kinds.push(Kind::Exact(fold(s)));
        }
        if let Some(NonEmpty(s)) = raw.prefix {
            kinds.push(Kind::Prefix(fold(s)));
        }
        if let Some(NonEmpty(s)) = raw.suffix {
            kinds.push(Kind::Suffix(fold(s)));
        }
        if let Some(NonEmpty(s)) = raw.contains {
            kinds.push(Kind::Contains(fold(s)));
        }
        if let Some(r) = raw.safe_regex {
            let regex = if ignore_case {
                anchored(&r.regex.source, true)?
            } else {
                r.regex.anchored
            };
            kinds.push(Kind::Regex(regex));
        }
        let mut kinds = kinds.into_iter();
        match (kinds.next(), kinds.next()) {
            (Some(kind), None) => Ok(StringMatcher { kind, ignore_case }),
            _ => Err(
                "a string matcher needs exactly one of exact, prefix, suffix, contains, safe_regex"
                    .to_string(),
            ),
        }
    }
}

impl StringMatcher {
    pub fn matches(&self, value: &str) -> bool {
        let v = value.as_bytes();
        let ic = self.ignore_case;
        // Patterns were lower-cased at load when ignore_case is set.
        let eq = |a: &[u8], p: &str| {
            if ic {
                a.eq_ignore_ascii_case(p.as_bytes())
            } else {
                a == p.as_bytes()
            }
        };
        match &self.kind {
            Kind::Exact(p) => eq(v, p),
            Kind::Prefix(p) => v.get(..p.len()).is_some_and(|a| eq(a, p)),
            Kind::Suffix(p) => v
                .len()
                .checked_sub(p.len())
                .and_then(|start| v.get(start..))
                .is_some_and(|a| eq(a, p)),
            Kind::Contains(p) => {
                if p.is_empty() {
                    true // unreachable by config (NonEmpty); windows(0) would panic
                } else if ic {
                    v.windows(p.len()).any(|w| eq(w, p))
                } else {
                    value.contains(p.as_str())
                }
            }
            Kind::Regex(r) => r.is_match(value),
            Kind::SeparatedPrefix(p) => {
                v.get(..p.len()).is_some_and(|a| eq(a, p))
                    && matches!(v.get(p.len()), None | Some(b'/'))
            }
        }
    }

    /// A matcher of one of RouteMatch's path forms (`prefix`, `path`,
    /// `path_separated_prefix`), case-insensitive unless `case_sensitive`.
    fn route(kind: fn(String) -> Kind, s: String, case_sensitive: bool) -> Self {
        let ignore_case = !case_sensitive;
        let s = if ignore_case {
            s.to_ascii_lowercase()
        } else {
            s
        };
        StringMatcher {
            kind: kind(s),
            ignore_case,
        }
    }
}

/// Envoy's route `HeaderMatcher`: `name` plus one of `string_match` or
/// `present_match` (neither means "present"), and `invert_match`. An absent
/// header never satisfies a `string_match` (so with `invert_match` it
/// matches), as in Envoy. `name` `host` reads `:authority`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawHeaderMatcher")]
pub struct HeaderMatcher {
    name: HeaderName,
    test: HeaderTest,
    invert: bool,
}

#[derive(Debug, Clone)]
enum HeaderTest {
    Present(bool),
    Value(StringMatcher),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaderMatcher {
    name: HeaderName,
    string_match: Option<StringMatcher>,
    present_match: Option<bool>,
    #[serde(default)]
    invert_match: bool,
}

impl TryFrom<RawHeaderMatcher> for HeaderMatcher {
    type Error = &'static str;
    fn try_from(raw: RawHeaderMatcher) -> Result<Self, Self::Error> {
        let test = match (raw.string_match, raw.present_match) {
            (Some(_), Some(_)) => {
                return Err("a header matcher takes string_match or present_match, not both")
            }
            (Some(m), None) => HeaderTest::Value(m),
            (None, Some(p)) => HeaderTest::Present(p),
            (None, None) => HeaderTest::Present(true),
        };
        Ok(HeaderMatcher {
            name: raw.name,
            test,
            invert: raw.invert_match,
        })
    }
}

impl HeaderMatcher {
    /// The lower-cased header name to look up.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// `value` is the request's value for [`HeaderMatcher::name`].
    pub fn matches(&self, value: Option<&str>) -> bool {
        let hit = match &self.test {
            HeaderTest::Present(want) => value.is_some() == *want,
            HeaderTest::Value(m) => value.is_some_and(|v| m.matches(v)),
        };
        hit != self.invert
    }
}

mod request_match;
pub use request_match::{normalize_authority, RequestMatch};

#[cfg(test)]
mod tests;
