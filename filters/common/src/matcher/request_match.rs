//! A rule's `match` block.

use super::{HeaderMatcher, Kind, SafeRegex, StringMatcher};
use crate::request::{Request, RequestSource};
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// The conditions of a rule; all given ones must hold, and an empty match
/// matches every request. The fields are Envoy's `RouteMatch` (`prefix`,
/// `path`, `safe_regex`, `path_separated_prefix`, `case_sensitive`,
/// `headers`, `query_parameters`) plus Tollgate's own (`path` as a
/// `StringMatcher`, `methods`, `authority`).
///
/// - The path condition (at most one of `path`, `prefix`, `safe_regex`,
///   `path_separated_prefix`) is matched against the normalized path
///   ([`crate::path::normalize`], no query); a request whose path cannot be
///   normalized matches no path condition. `path` is a `StringMatcher`
///   object, or a string: RouteMatch's exact path.
/// - In RouteMatch's forms (`prefix`, a string `path`, `safe_regex`,
///   `path_separated_prefix`) the normalized path keeps the request's trailing
///   `/` (`/api/` stays `/api/`, so `{"prefix": "/api/"}` copied from Envoy
///   still guards `/api/` itself); a `StringMatcher` `path` sees it dropped.
/// - `case_sensitive` (default true) applies to `prefix`, a string `path`
///   and `path_separated_prefix`, as in Envoy (a `StringMatcher` has
///   `ignore_case`; a regex ignores it, as in Envoy).
/// - `methods`: any of them; compared ignoring ASCII case, since some
///   upstreams treat `get` as `GET`.
/// - `headers`: every [`HeaderMatcher`] must match.
/// - `query_parameters`: every [`QueryParameterMatcher`] must match.
/// - `authority` is matched against `:authority` as [`normalize_authority`]
///   returns it (lower-case, no port, no trailing dot); a request without
///   `:authority` matches no `authority` condition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "RawRequestMatch")]
pub struct RequestMatch {
    path: Option<StringMatcher>,
    /// The path condition is in one of RouteMatch's forms: it sees the
    /// request's trailing `/`.
    route_path: bool,
    methods: Vec<Method>,
    headers: Vec<HeaderMatcher>,
    query_parameters: Vec<QueryParameterMatcher>,
    authority: Option<StringMatcher>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequestMatch {
    path: Option<PathField>,
    prefix: Option<String>,
    safe_regex: Option<SafeRegex>,
    path_separated_prefix: Option<SeparatedPrefix>,
    case_sensitive: Option<bool>,
    #[serde(default)]
    methods: Vec<Method>,
    #[serde(default)]
    headers: Vec<HeaderMatcher>,
    #[serde(default)]
    query_parameters: Vec<QueryParameterMatcher>,
    authority: Option<StringMatcher>,
}

/// `path`: RouteMatch's exact path (a string) or a `StringMatcher` (an
/// object).
enum PathField {
    Exact(String),
    Matcher(StringMatcher),
}

impl<'de> Deserialize<'de> for PathField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct PathVisitor;
        impl<'de> Visitor<'de> for PathVisitor {
            type Value = PathField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an exact path (a string) or a string matcher (an object)")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PathField, E> {
                Ok(PathField::Exact(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PathField, A::Error> {
                StringMatcher::deserialize(MapAccessDeserializer::new(map)).map(PathField::Matcher)
            }
        }
        d.deserialize_any(PathVisitor)
    }
}

/// Envoy's rule for `path_separated_prefix`: no `?` or `#`, and no trailing
/// `/` (the `/` boundary is implied).
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct SeparatedPrefix(String);

impl TryFrom<String> for SeparatedPrefix {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.len() < 2 || s.contains(['?', '#']) || s.ends_with('/') {
            Err("must be at least 2 characters, without ?, # or a trailing /")
        } else {
            Ok(SeparatedPrefix(s))
        }
    }
}

impl TryFrom<RawRequestMatch> for RequestMatch {
    type Error = &'static str;
    fn try_from(raw: RawRequestMatch) -> Result<Self, Self::Error> {
        let sensitive = raw.case_sensitive.unwrap_or(true);
        let mut paths = Vec::new();
        let mut takes_case = false;
        match raw.path {
            Some(PathField::Exact(p)) => {
                takes_case = true;
                paths.push(StringMatcher::route(Kind::Exact, p, sensitive));
            }
            Some(PathField::Matcher(m)) => paths.push(m),
            None => {}
        }
        if let Some(p) = raw.prefix {
            takes_case = true;
            paths.push(StringMatcher::route(Kind::Prefix, p, sensitive));
        }
        if let Some(SeparatedPrefix(p)) = raw.path_separated_prefix {
            takes_case = true;
            paths.push(StringMatcher::route(Kind::SeparatedPrefix, p, sensitive));
        }
        if let Some(r) = raw.safe_regex {
            takes_case = true; // accepted and ignored, as in Envoy
            paths.push(StringMatcher {
                kind: Kind::Regex(r.regex.anchored),
                ignore_case: false,
            });
        }
        if paths.len() > 1 {
            return Err("give at most one of path, prefix, safe_regex, path_separated_prefix");
        }
        if raw.case_sensitive.is_some() && !takes_case {
            return Err(
                "case_sensitive applies to prefix, a string path, path_separated_prefix \
                 or safe_regex; a string matcher has ignore_case",
            );
        }
        Ok(RequestMatch {
            path: paths.pop(),
            route_path: takes_case,
            methods: raw.methods,
            headers: raw.headers,
            query_parameters: raw.query_parameters,
            authority: raw.authority,
        })
    }
}

/// Envoy's route `QueryParameterMatcher`: `name` plus `string_match` or
/// `present_match` (neither means "present"). As in Envoy's router and
/// jwt_authn, the query is read from `:path` as sent (not percent-decoded)
/// and only a parameter's first value counts; `present_match: false` matches
/// a request without the parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawQueryParameterMatcher")]
pub struct QueryParameterMatcher {
    name: String,
    test: QueryTest,
}

#[derive(Debug, Clone)]
enum QueryTest {
    Present(bool),
    Value(StringMatcher),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueryParameterMatcher {
    name: String,
    string_match: Option<StringMatcher>,
    present_match: Option<bool>,
}

impl TryFrom<RawQueryParameterMatcher> for QueryParameterMatcher {
    type Error = &'static str;
    fn try_from(raw: RawQueryParameterMatcher) -> Result<Self, Self::Error> {
        if raw.name.is_empty() || raw.name.len() > 1024 {
            return Err("name must be 1 to 1024 characters long");
        }
        let test = match (raw.string_match, raw.present_match) {
            (Some(_), Some(_)) => {
                return Err(
                    "a query parameter matcher takes string_match or present_match, not both",
                )
            }
            (Some(m), None) => QueryTest::Value(m),
            (None, Some(p)) => QueryTest::Present(p),
            (None, None) => QueryTest::Present(true),
        };
        Ok(QueryParameterMatcher {
            name: raw.name,
            test,
        })
    }
}

impl QueryParameterMatcher {
    fn matches(&self, path: Option<&str>) -> bool {
        let value = path.and_then(|p| first_query_value(p, &self.name));
        match &self.test {
            QueryTest::Present(want) => value.is_some() == *want,
            QueryTest::Value(m) => value.is_some_and(|v| m.matches(v)),
        }
    }
}

/// The first value of query parameter `name` in `path`, as sent: `a` in
/// `?a` is present with the empty value.
fn first_query_value<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = path.split_once('?')?;
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .find_map(|p| match p.split_once('=') {
            Some((k, v)) if k == name => Some(v),
            None if p == name => Some(""),
            _ => None,
        })
}

/// An HTTP method name, upper-cased at load.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct Method(String);

impl TryFrom<String> for Method {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let upper = s.to_ascii_uppercase();
        // A method is an RFC 9110 token; reuse the header-name check on the
        // lower-case spelling.
        if crate::syntax::valid_header_name(&s.to_ascii_lowercase()) && !s.starts_with(':') {
            Ok(Method(upper))
        } else {
            Err(format!("invalid method {s:?}"))
        }
    }
}

impl RequestMatch {
    /// True when the match has no conditions.
    pub fn is_empty(&self) -> bool {
        self.path.is_none()
            && self.methods.is_empty()
            && self.headers.is_empty()
            && self.query_parameters.is_empty()
            && self.authority.is_none()
    }

    /// True when the match has a path condition (in any of its spellings).
    pub fn has_path_condition(&self) -> bool {
        self.path.is_some()
    }

    pub fn matches<S: RequestSource>(&self, req: &Request<S>) -> bool {
        self.matches_with(req, false)
    }

    /// Like [`RequestMatch::matches`], except that a path that cannot be
    /// normalized satisfies every `path` condition instead of none: for
    /// limits, which must not be escaped by spelling a path so that it
    /// cannot be normalized (`/login/%ff`) while the upstream still serves
    /// it. The other conditions still apply.
    pub fn matches_unnormalizable_path<S: RequestSource>(&self, req: &Request<S>) -> bool {
        self.matches_with(req, true)
    }

    fn matches_with<S: RequestSource>(&self, req: &Request<S>, unnormalizable: bool) -> bool {
        // Cheapest checks first: each reads one header at most.
        if !self.methods.is_empty() {
            let Some(method) = req.header(":method") else {
                return false;
            };
            if !self
                .methods
                .iter()
                .any(|m| m.0.eq_ignore_ascii_case(&method))
            {
                return false;
            }
        }
        if let Some(m) = &self.authority {
            let hit = req
                .header(":authority")
                .is_some_and(|a| m.matches(&normalize_authority(&a)));
            if !hit {
                return false;
            }
        }
        if let Some(m) = &self.path {
            let hit = match req.normalized_path() {
                Some(p) if self.route_path && p != "/" && raw_trailing_slash(req) => {
                    m.matches(&format!("{p}/"))
                }
                Some(p) => m.matches(p),
                None => unnormalizable,
            };
            if !hit {
                return false;
            }
        }
        if !self
            .headers
            .iter()
            .all(|h| h.matches(req.header(h.name()).as_deref()))
        {
            return false;
        }
        if self.query_parameters.is_empty() {
            return true;
        }
        let path = req.header(":path");
        self.query_parameters
            .iter()
            .all(|q| q.matches(path.as_deref()))
    }
}

/// Whether the request's path (before any query or fragment) ends with `/`.
fn raw_trailing_slash<S: RequestSource>(req: &Request<S>) -> bool {
    req.header(":path")
        .is_some_and(|p| p.split(['?', '#']).next().is_some_and(|p| p.ends_with('/')))
}

/// `:authority` as matched: lower-cased, without a `:port` suffix and without
/// one trailing dot (`Example.COM.:8443` → `example.com`; `[::1]:80` →
/// `[::1]`), since all of these name the same virtual host.
pub fn normalize_authority(authority: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    let host = if lower.starts_with('[') {
        // IPv6 literal: the port, if any, follows the closing bracket.
        match lower.split_once(']') {
            Some((v6, _)) => format!("{v6}]"),
            None => lower,
        }
    } else {
        match lower.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_string(),
            _ => lower,
        }
    };
    match host.strip_suffix('.') {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests;
