//! Header values with Envoy-style command operators, parsed once at config
//! time:
//!
//! | operator | expands to |
//! |---|---|
//! | `%%` | a literal `%` |
//! | `%REQ(name)%` | request header `name` (pseudo-headers too; `host` is `:authority`), empty when absent |
//! | `%REQ(a?b)%` | header `a`, or `b` when `a` is absent |
//! | `%PATH%`, `%METHOD%`, `%AUTHORITY%`, `%SCHEME%` | the pseudo-header as received |
//! | `%DOWNSTREAM_REMOTE_ADDRESS%` | client `ip:port` |
//! | `%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%` | client IP (IPv6 without brackets) |
//! | `%START_TIME%` | request time, RFC 3339 UTC, seconds (`2026-11-25T08:30:00Z`) |
//! | `%START_TIME(%s)%` | request time, Unix seconds |
//! | `%UNIQUE_ID%` | a random UUID v4 |
//!
//! Anything else after a `%` is a configuration error, as is CR, LF or NUL in
//! the literal text. Expanded values may still hold CR/LF/NUL taken from the
//! request: callers check them with [`crate::syntax::safe_value`].

use crate::request::{Request, RequestSource};
use crate::syntax::{request_header_name, safe_value};
use crate::time::{epoch_seconds, rfc3339};
use serde::Deserialize;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// Header names in order of preference (`%REQ(a?b)%`).
    Header(Vec<String>),
    ClientAddress,
    ClientIp,
    StartTime,
    StartTimeEpoch,
    UniqueId,
}

/// A parsed header value template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Template::parse(&s)
    }
}

impl Template {
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = s;
        while let Some((before, after)) = rest.split_once('%') {
            literal.push_str(before);
            if let Some(after) = after.strip_prefix('%') {
                literal.push('%');
                rest = after;
                continue;
            }
            let (part, after) = parse_operator(after)?;
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = after;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        let has_unsafe_literal = parts
            .iter()
            .any(|p| matches!(p, Part::Literal(l) if !safe_value(l)));
        if has_unsafe_literal {
            return Err("value contains CR, LF or NUL".to_string());
        }
        Ok(Template {
            source: s.to_string(),
            parts,
        })
    }

    /// The text as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the value has no operators (it expands to the same text for
    /// every request).
    pub fn is_static(&self) -> bool {
        self.as_static().is_some()
    }

    /// The value when it has no operators (`%%` already unescaped).
    pub fn as_static(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    pub fn expand<S: RequestSource>(&self, req: &Request<S>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Header(names) => {
                    if let Some(v) = names.iter().find_map(|n| req.header(n)) {
                        out.push_str(&v);
                    }
                }
                Part::ClientAddress => {
                    if let Some(a) = req.client_address() {
                        out.push_str(&a);
                    }
                }
                Part::ClientIp => {
                    if let Some(a) = req.client_address() {
                        out.push_str(crate::request::without_port(&a));
                    }
                }
                Part::StartTime => out.push_str(&rfc3339(req.now())),
                Part::StartTimeEpoch => {
                    let _ = write!(out, "{}", epoch_seconds(req.now()));
                }
                Part::UniqueId => {
                    if let Some(id) = uuid_v4() {
                        out.push_str(&id);
                    }
                }
            }
        }
        out
    }
}

/// Parses what follows an operator's opening `%`; returns the part and the
/// text after the closing `%`.
fn parse_operator(s: &str) -> Result<(Part, &str), String> {
    let name_len = s
        .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    let (name, tail) = s.split_at(name_len);
    if name.is_empty() {
        return Err(
            "'%' must start an operator such as %REQ(name)% (write %% for a literal '%')"
                .to_string(),
        );
    }
    let (arg, tail) = match tail.strip_prefix('(') {
        Some(t) => match t.split_once(')') {
            Some((arg, t)) => (Some(arg), t),
            None => return Err(format!("operator %{name}( has no closing ')'")),
        },
        None => (None, tail),
    };
    let shown = match arg {
        Some(a) => format!("%{name}({a})%"),
        None => format!("%{name}%"),
    };
    let Some(tail) = tail.strip_prefix('%') else {
        return Err(format!("operator %{name} is not closed by '%'"));
    };
    let no_arg = |part: Part| match arg {
        None => Ok(part),
        Some(_) => Err(format!("operator {shown} takes no argument")),
    };
    let part = match name {
        "REQ" => match arg {
            Some(arg) => parse_req(arg, &shown)?,
            None => return Err("%REQ% needs a header name, as in %REQ(x-foo)%".to_string()),
        },
        "PATH" => no_arg(Part::Header(vec![":path".to_string()]))?,
        "METHOD" => no_arg(Part::Header(vec![":method".to_string()]))?,
        "AUTHORITY" => no_arg(Part::Header(vec![":authority".to_string()]))?,
        "SCHEME" => no_arg(Part::Header(vec![":scheme".to_string()]))?,
        "DOWNSTREAM_REMOTE_ADDRESS" => no_arg(Part::ClientAddress)?,
        "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" => no_arg(Part::ClientIp)?,
        "UNIQUE_ID" => no_arg(Part::UniqueId)?,
        "START_TIME" => match arg {
            None => Part::StartTime,
            Some("%s") => Part::StartTimeEpoch,
            Some(_) => {
                return Err(format!(
                    "unsupported time format in {shown}: use %START_TIME% or %START_TIME(%s)%"
                ))
            }
        },
        _ => return Err(format!("unknown operator {shown}")),
    };
    Ok((part, tail))
}

fn parse_req(arg: &str, shown: &str) -> Result<Part, String> {
    let names: Vec<&str> = arg.split('?').collect();
    if names.len() > 2 {
        return Err(format!("{shown}: at most one alternative header (a?b)"));
    }
    let names = names
        .into_iter()
        .map(|n| request_header_name(n).map_err(|e| format!("{shown}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Part::Header(names))
}

/// A random UUID v4, or `None` when the host gives no randomness (the
/// header then expands empty rather than the filter failing).
fn uuid_v4() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    Some(format_uuid_v4(b))
}

fn format_uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{byte:02x}");
    }
    s
}

#[cfg(test)]
mod tests;
