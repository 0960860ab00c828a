//! Header name and value syntax (RFC 9110): what both header configuration
//! and templates check, kept apart so neither module depends on the other
//! for it.

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

#[cfg(test)]
mod tests;
