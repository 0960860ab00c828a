//! Which paths upstreams may read differently from [`super::normalize`], and
//! what a filter with path conditions does about them
//! ([`AmbiguousPathAction`], named after Envoy's
//! `path_with_escaped_slashes_action`).
//!
//! A path condition judges the normalized path, but the request goes
//! upstream as Envoy forwards it. Wherever the upstream reads the path less
//! aggressively than `normalize` (nginx and Apache take `..;` and `\`
//! literally, Tomcat cuts `;` parameters and resolves `..;` as `..`, nginx
//! decodes `%5c` to a literal `\`), a request judged "not under /admin" can
//! be served from `/admin`. So, by default, a filter with a path condition
//! refuses every path whose reading depends on such rules: what remains has
//! one reading, the one every upstream measured (nginx, Apache httpd,
//! Tomcat; `tests/tests/path_guard.rs`) and `normalize` agree on.
//!
//! Ambiguous, in the part before the first `?` or `#`:
//! - anything `normalize` refuses (a `%` without two hex digits, NUL, a
//!   result that is not UTF-8, overlong UTF-8 included; a raw byte that is
//!   not UTF-8, which Envoy's HTTP/2 codec forwards while HTTP/1.1 refuses
//!   it, reaches the filter as U+FFFD and counts as such);
//! - a raw `\` or `%5C`, and `%2F`: separators to some readers, not others;
//! - a `;` or `%3B`: segment parameters (Tomcat and Jetty cut them, nginx
//!   and Apache do not);
//! - a dot segment (`.` or `..`) in any spelling once decoded (`%2e%2e`,
//!   `.%2E`): Envoy's `normalize_path` resolves some, upstreams others;
//! - `%25` followed by two hex digits: decoded twice by some stacks;
//! - a control character, raw or decoded (`%0a`), which regex matchers do
//!   not match with `.`.
//!
//! Not ambiguous, as measured: `//` (every upstream above merges it, as
//! `normalize` does; one that does not reads a path outside the prefix, the
//! guard's stricter reading), percent-encoded unreserved characters such as
//! `%61dmin` (every reader decodes them to `admin`, Envoy's `normalize_path`
//! too), other percent-encoded characters (decoded once by every reader),
//! case (every reader is case-sensitive), a trailing `.` in a segment name.

use super::{percent_decode, PathError};
use crate::reply::LocalReply;
use serde::Deserialize;
use std::fmt;

/// What a filter with at least one path condition does with an ambiguous
/// path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum AmbiguousPathAction {
    /// 400 `ambiguous_path` (the default).
    #[default]
    RejectRequest,
    /// Judge the normalized path and forward the request unchanged (the
    /// behaviour before this option existed): safe only when the upstream
    /// reads every path exactly as `normalize` does.
    MatchNormalized,
}

impl TryFrom<String> for AmbiguousPathAction {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "REJECT_REQUEST" => Ok(AmbiguousPathAction::RejectRequest),
            "MATCH_NORMALIZED" => Ok(AmbiguousPathAction::MatchNormalized),
            _ => Err(format!(
                "unknown value {s:?}: expected \"REJECT_REQUEST\" (the default) or \"MATCH_NORMALIZED\""
            )),
        }
    }
}

/// Why a path is ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ambiguity {
    /// `normalize` refuses it.
    Invalid(PathError),
    /// A raw `\` or `%5C`.
    Backslash,
    /// `%2F`.
    EncodedSlash,
    /// `;` or `%3B`.
    SegmentParameter,
    /// A `.` or `..` segment, in any spelling.
    DotSegment,
    /// `%25` followed by two hex digits.
    DoubleEncoding,
    /// A control character (below U+0020, or U+007F), raw or encoded.
    ControlCharacter,
}

impl Ambiguity {
    /// A short stable word for logs and tests.
    pub fn word(&self) -> &'static str {
        match self {
            Ambiguity::Invalid(_) => "invalid",
            Ambiguity::Backslash => "backslash",
            Ambiguity::EncodedSlash => "encoded_slash",
            Ambiguity::SegmentParameter => "segment_parameter",
            Ambiguity::DotSegment => "dot_segment",
            Ambiguity::DoubleEncoding => "double_encoding",
            Ambiguity::ControlCharacter => "control_character",
        }
    }
}

impl fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ambiguity::Invalid(e) => write!(f, "{e}"),
            Ambiguity::Backslash => f.write_str("the path has a backslash ('\\' or %5C)"),
            Ambiguity::EncodedSlash => f.write_str("the path has an encoded slash (%2F)"),
            Ambiguity::SegmentParameter => {
                f.write_str("the path has a segment parameter (';' or %3B)")
            }
            Ambiguity::DotSegment => f.write_str("the path has a '.' or '..' segment"),
            Ambiguity::DoubleEncoding => {
                f.write_str("the path is percent-encoded twice (%25 and two hex digits)")
            }
            Ambiguity::ControlCharacter => f.write_str("the path has a control character"),
        }
    }
}

/// Whether upstreams may read `raw` (a `:path` value) otherwise than
/// [`super::normalize`], and why; `None` when it has one reading.
pub fn ambiguity(raw: &str) -> Option<Ambiguity> {
    if let Err(e) = super::normalize(raw) {
        return Some(Ambiguity::Invalid(e));
    }
    let path = raw.split(['?', '#']).next().unwrap_or_default();
    if path.contains('\u{FFFD}') {
        // What a raw byte that is not UTF-8 becomes on its way in.
        return Some(Ambiguity::Invalid(PathError::NotUtf8));
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let (byte, encoded) = if b == b'%' {
            // normalize accepted the path: two hex digits follow.
            let hex = |j: usize| bytes.get(j).copied().and_then(super::hex_value);
            match (hex(i + 1), hex(i + 2)) {
                (Some(hi), Some(lo)) => ((hi << 4) | lo, true),
                _ => return Some(Ambiguity::Invalid(PathError::BadPercentEncoding)),
            }
        } else {
            (b, false)
        };
        match byte {
            b'\\' => return Some(Ambiguity::Backslash),
            b'/' if encoded => return Some(Ambiguity::EncodedSlash),
            b';' => return Some(Ambiguity::SegmentParameter),
            b'%' if encoded => {
                let hex = |j: usize| bytes.get(j).copied().and_then(super::hex_value);
                if hex(i + 3).is_some() && hex(i + 4).is_some() {
                    return Some(Ambiguity::DoubleEncoding);
                }
            }
            0..=0x1f | 0x7f => return Some(Ambiguity::ControlCharacter),
            _ => {}
        }
        i += if encoded { 3 } else { 1 };
    }
    let Ok(decoded) = percent_decode(path) else {
        return Some(Ambiguity::Invalid(PathError::BadPercentEncoding));
    };
    if decoded.split('/').any(|s| s == "." || s == "..") {
        return Some(Ambiguity::DotSegment);
    }
    None
}

/// The 400 a filter answers an ambiguous path with.
pub fn reply(a: Ambiguity) -> LocalReply {
    LocalReply::new(
        400,
        "ambiguous_path",
        format!("ambiguous request path: {a}; upstreams may read it otherwise, so it is refused"),
    )
}

#[cfg(test)]
mod tests;
