//! Finding a provider's token in a request: its `from_headers` (value after
//! `value_prefix`), `from_params` (query of `:path`) and `from_cookies`
//! locations, in that order, or Envoy's defaults (`Authorization: Bearer`,
//! then `?access_token=`). The first location holding a non-empty token wins.

use super::provider::Location;
use tollgate_common::{Request, RequestSource};

/// A token and where it was found (the glue removes it from a header when
/// the provider does not `forward` it).
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted<'a> {
    pub token: String,
    pub location: &'a Location,
}

/// The first token found in `locations`, or None (reason `missing`).
pub fn extract<'a, S: RequestSource>(
    req: &Request<S>,
    locations: &'a [Location],
) -> Option<Extracted<'a>> {
    locations.iter().find_map(|location| {
        let token = match location {
            Location::Header { name, value_prefix } => {
                from_header(&req.header(name)?, value_prefix)
            }
            Location::Param(name) => from_query(&req.header(":path")?, name),
            Location::Cookie(name) => from_cookies(&req.header("cookie")?, name),
        }?;
        Some(Extracted { token, location })
    })
}

/// The value after `prefix`; the prefix compares ASCII case-insensitively
/// (`bearer ` is the `Bearer ` scheme, RFC 7235 2.1).
pub fn from_header(value: &str, prefix: &str) -> Option<String> {
    let value = value.trim_matches([' ', '\t']);
    let head = value.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    non_empty(value.get(prefix.len()..)?.trim_matches([' ', '\t']))
}

/// The first value of query parameter `name` in a `:path`, percent-decoded.
pub fn from_query(path: &str, name: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if percent_decode(k)? == name {
            non_empty(&percent_decode(v)?)
        } else {
            None
        }
    })
}

/// The first cookie `name` in a `cookie` header (several headers arrive
/// joined with `,`, which no cookie value contains, RFC 6265 4.1.1).
pub fn from_cookies(header: &str, name: &str) -> Option<String> {
    header.split([';', ',']).find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k.trim() != name {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(v);
        non_empty(v)
    })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// `%XX` decoded once; None when an escape is broken or the result is not
/// UTF-8 (such a parameter is ignored).
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = hex(bytes.next()?)?;
            let lo = hex(bytes.next()?)?;
            out.push(hi << 4 | lo);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}
