//! Path normalization for matching, so that a rule guarding `/admin` cannot be
//! bypassed by spelling the path differently. The normalized path is only used
//! to match; the request goes upstream unchanged.
//!
//! Every spelling that Envoy or a common upstream may resolve to the same
//! resource normalizes to the same string. In order:
//!
//! 1. The query (`?...`) and fragment (`#...`) are cut off.
//! 2. The raw path must start with `/` (so `*`, `admin` and `` are errors).
//! 3. Every `%XX` is decoded, once: `%2F` becomes `/` and `%5C` becomes `\`
//!    (both then act as separators), `%2e%2e` becomes `..`, while `%252F`
//!    becomes the three characters `%2F`. A `%` without two hex digits, a NUL
//!    byte (encoded or not) and a result that is not UTF-8 are errors.
//! 4. `\` is a separator like `/` (Windows and some Java servers treat it so).
//! 5. Each segment loses its parameters: `;` and everything after it up to
//!    the next `/` (Tomcat and Jetty ignore them, so `/admin;x=1/secret` and
//!    `/x/..;/admin` reach `/admin/...` there).
//! 6. Empty segments disappear (`//` is `/`), `.` segments disappear and `..`
//!    removes the previous segment (RFC 3986 5.2.4); `..` at the root stays
//!    at the root.
//! 7. A trailing `/` is dropped (`/admin/` is `/admin`; the root stays `/`):
//!    frameworks that serve `/admin` commonly serve `/admin/` too. So write
//!    path prefixes without the trailing slash (`/admin`, or the regex
//!    `/admin(/.*)?` to leave out `/administrator`).
//!
//! Case is preserved: matchers have `ignore_case` for case-insensitive
//! upstreams.
//!
//! Normalizing is only safe when the upstream reads the path the same way;
//! [`ambiguity`] tells the paths for which some upstream does not, which
//! filters with path conditions refuse by default ([`AmbiguousPathAction`]).

use std::fmt;

mod ambiguity;
pub use ambiguity::{ambiguity, reply as ambiguous_path_reply, Ambiguity, AmbiguousPathAction};

/// Why a path cannot be normalized. A filter that guards paths should reject
/// such a request rather than let it pass every path rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    Empty,
    NotAbsolute,
    BadPercentEncoding,
    Nul,
    NotUtf8,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Empty => "empty path",
            PathError::NotAbsolute => "path does not start with '/'",
            PathError::BadPercentEncoding => "'%' not followed by two hex digits",
            PathError::Nul => "NUL byte in path",
            PathError::NotUtf8 => "path is not UTF-8 once percent-decoded",
        })
    }
}

impl std::error::Error for PathError {}

/// Normalizes a `:path` value as the module documentation describes.
pub fn normalize(raw: &str) -> Result<String, PathError> {
    let path = raw.split(['?', '#']).next().unwrap_or_default();
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let decoded = percent_decode(path)?;

    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        let segment = segment.split(';').next().unwrap_or_default();
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }

    let mut out = String::with_capacity(decoded.len());
    if segments.is_empty() {
        out.push('/');
    }
    for s in segments {
        out.push('/');
        out.push_str(s);
    }
    Ok(out)
}

/// Decodes every `%XX` exactly once.
fn percent_decode(s: &str) -> Result<String, PathError> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        let byte = if b == b'%' {
            let hi = bytes.next().and_then(hex_value);
            let lo = bytes.next().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => (hi << 4) | lo,
                _ => return Err(PathError::BadPercentEncoding),
            }
        } else {
            b
        };
        if byte == 0 {
            return Err(PathError::Nul);
        }
        out.push(byte);
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
