//! A rule's `match` block.

use super::{HeaderMatcher, StringMatcher};
use crate::request::{Request, RequestSource};
use serde::Deserialize;

/// The conditions of a rule; all given ones must hold, and an empty match
/// matches every request.
///
/// - `path` is matched against the normalized path
///   ([`crate::path::normalize`]); a request whose path cannot be normalized
///   matches no `path` condition.
/// - `methods`: any of them; compared ignoring ASCII case, since some
///   upstreams treat `get` as `GET`.
/// - `headers`: every [`HeaderMatcher`] must match.
/// - `authority` is matched against `:authority` as [`normalize_authority`]
///   returns it (lower-case, no port, no trailing dot); a request without
///   `:authority` matches no `authority` condition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMatch {
    #[serde(default)]
    path: Option<StringMatcher>,
    #[serde(default)]
    methods: Vec<Method>,
    #[serde(default)]
    headers: Vec<HeaderMatcher>,
    #[serde(default)]
    authority: Option<StringMatcher>,
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
        if crate::header::valid_header_name(&s.to_ascii_lowercase()) && !s.starts_with(':') {
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
            && self.authority.is_none()
    }

    /// True when the match has a `path` condition.
    pub fn has_path(&self) -> bool {
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
                Some(p) => m.matches(p),
                None => unnormalizable,
            };
            if !hit {
                return false;
            }
        }
        self.headers
            .iter()
            .all(|h| h.matches(req.header(h.name()).as_deref()))
    }
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
