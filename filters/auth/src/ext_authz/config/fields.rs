//! The small typed values of the `ext_authz` block, each checked where it
//! is read so that errors name its field.

use super::super::headers::is_framing;
use serde::Deserialize;
use tollgate_common::header::{HeaderValue, MutableHeaderName};
use tollgate_common::secret::ValueOrSecret;

/// `[http(s)://]host[:port][/path]`; only the authority is used (Envoy sends
/// the check to `path_prefix` + the client's path, not to this path).
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(super) struct Uri(pub(super) String);

impl TryFrom<String> for Uri {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        authority_of(&s).map(Uri)
    }
}

pub fn authority_of(uri: &str) -> Result<String, String> {
    let bad = |why: &str| format!("invalid uri {uri:?}: {why}");
    let lower = uri.to_ascii_lowercase();
    // Envoy's documented example writes `uri: 127.0.0.1:10003`, no scheme:
    // Envoy reads only the host from it, and so does this filter.
    let rest = match lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    {
        Some(rest) => rest,
        None if !lower.contains(":/") => lower.as_str(),
        None => return Err(bad("expected [http://]host[:port][/path]")),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    let ok = |b: u8| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b);
    if !authority.bytes().all(ok) {
        return Err(bad(
            "the host may hold only letters, digits, '-', '.', ':', '[', ']'",
        ));
    }
    Ok(authority.to_string())
}

/// Empty, or `/` followed by path characters (no query, fragment, space or
/// control characters: it becomes part of `:path`).
#[derive(Deserialize, Default)]
#[serde(try_from = "String")]
pub(super) struct PathPrefix(pub(super) String);

impl TryFrom<String> for PathPrefix {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() {
            return Ok(PathPrefix(s));
        }
        if !s.starts_with('/') {
            return Err(format!("{s:?} must start with '/'"));
        }
        if s.bytes()
            .any(|b| b <= b' ' || b == 0x7f || b == b'?' || b == b'#')
        {
            return Err(format!(
                "{s:?} must not hold '?', '#', spaces or control characters"
            ));
        }
        Ok(PathPrefix(s))
    }
}

/// A `headers_to_add` entry: Envoy's `HeaderValue` (no pseudo-headers, no
/// `host`), and no header that frames the message (the check has no body).
/// The value is a template, or `{"env": "NAME"}` for a credential the
/// service expects (kept out of the configuration; taken literally).
#[derive(Deserialize)]
#[serde(try_from = "RawAddedHeader")]
pub(super) struct AddedHeader(pub(super) HeaderValue);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddedHeader {
    key: MutableHeaderName,
    value: ValueOrSecret,
}

impl TryFrom<RawAddedHeader> for AddedHeader {
    type Error = String;
    fn try_from(h: RawAddedHeader) -> Result<Self, String> {
        let name = h.key.as_str();
        if is_framing(name) {
            return Err(format!(
                "header {name:?} cannot be added to the check request"
            ));
        }
        let value = h.value.0;
        Ok(AddedHeader(HeaderValue { key: h.key, value }))
    }
}
