//! Which header names and values may cross between the client, the
//! authorization service and the upstream.

use tollgate_common::syntax::{safe_value, valid_header_name};

/// Headers that frame an HTTP/1 message or hold per-hop state. Copying one
/// between messages could change how a body is read (request smuggling), so
/// none is ever copied: the check request has no body (`content-length: 0`
/// is set by the filter), and replies get their length from Envoy.
pub const FRAMING: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

pub fn is_framing(name: &str) -> bool {
    FRAMING.contains(&name)
}

/// A header name that may be copied: lower-cased, a valid token, not a
/// pseudo-header, not `host`, not a framing header. `None` otherwise.
pub fn copyable_name(raw: &str) -> Option<String> {
    let name = raw.to_ascii_lowercase();
    let ok =
        valid_header_name(&name) && !name.starts_with(':') && name != "host" && !is_framing(&name);
    ok.then_some(name)
}

/// A header value that may be copied: UTF-8 without CR, LF or NUL.
pub fn text_value(raw: &[u8]) -> Option<&str> {
    std::str::from_utf8(raw).ok().filter(|v| safe_value(v))
}

#[cfg(test)]
mod tests;
