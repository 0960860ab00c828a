//! The service's answer, interpreted as Envoy's HTTP ext_authz client does:
//!
//! | the service | verdict |
//! |---|---|
//! | 200 | allow: `allowed_upstream_headers` set on the request, `allowed_upstream_headers_to_append` appended, names in `x-envoy-auth-headers-to-remove` removed, `allowed_client_headers_on_success` added to the response |
//! | any other 2xx, 3xx, 4xx | deny: the service's status and body, and its headers that `allowed_client_headers` matches (all when unset; `www-authenticate` and `location` always). Only 200 allows, as in Envoy |
//! | 1xx | deny as above with 403: Envoy passes the 1xx on, which no client takes as an answer; never an allow, whatever `failure_mode_allow` says |
//! | 5xx, no or invalid `:status` (connection refused, reset, timeout, garbage) | failure: `failure_mode_allow` ? allow (nothing copied) : deny with `status_on_error` and `{"error":"unavailable","reason":"authorization service unavailable"}` |
//!
//! Never copied anywhere: invalid names, pseudo-headers, `host`, framing
//! headers (`content-length`, `transfer-encoding`, `connection`, ...),
//! values that are not UTF-8 or carry CR, LF or NUL (counted in `dropped`).
//! A deny body over [`MAX_BODY`] bytes is replaced by the project's JSON.

use super::config::{listed, ExtAuthzConfig};
use super::headers::{copyable_name, text_value};
use super::Stat;
use tollgate_common::header::{HeaderList, HeaderTarget};
use tollgate_common::reply::LocalReply;

/// Largest deny body passed to the client. The glue reads at most
/// `MAX_BODY + 1` bytes of the call's body.
pub const MAX_BODY: usize = 64 * 1024;
/// Envoy's: on a 200, names of request headers to remove (comma-separated).
pub const HEADERS_TO_REMOVE: &str = "x-envoy-auth-headers-to-remove";
/// Envoy's marker for requests let through by `failure_mode_allow`.
pub const FAILURE_MODE_HEADER: &str = "x-envoy-auth-failure-mode-allowed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow(Allow),
    Deny(Denial),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allow {
    pub upstream_headers_to_set: HeaderList,
    pub upstream_headers_to_append: HeaderList,
    pub upstream_headers_to_remove: Vec<String>,
    /// For the upstream's response (not for a later local reply's twice).
    pub client_headers_on_success: HeaderList,
    /// Why the service failed, when `failure_mode_allow` let the request by.
    pub failure: Option<String>,
    pub dropped: u32,
}

/// A reply the glue sends with `send_http_response(status, headers, body)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub status: u16,
    pub headers: HeaderList,
    pub body: Vec<u8>,
    /// Why the service failed, when this is `status_on_error`.
    pub failure: Option<String>,
    pub dropped: u32,
}

/// What happened, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Allowed,
    Denied,
    FailureAllowed,
    FailureDenied,
}

impl Event {
    /// The counters this event increments.
    pub fn counters(self) -> &'static [Stat] {
        match self {
            Event::Allowed => &[Stat::Allowed],
            Event::Denied => &[Stat::Denied],
            Event::FailureAllowed => &[Stat::Errors, Stat::FailureModeAllowed],
            Event::FailureDenied => &[Stat::Errors],
        }
    }
}

impl Verdict {
    pub fn event(&self) -> Event {
        match self {
            Verdict::Allow(a) if a.failure.is_some() => Event::FailureAllowed,
            Verdict::Allow(_) => Event::Allowed,
            Verdict::Deny(d) if d.failure.is_some() => Event::FailureDenied,
            Verdict::Deny(_) => Event::Denied,
        }
    }
}

impl Allow {
    /// Takes `name` out of every list and returns the value the service set
    /// (else appended) for it: the glue takes the identity header this way,
    /// and drops its other reserved headers.
    pub fn take_header(&mut self, name: &str) -> Option<String> {
        let pick = |list: &mut HeaderList| {
            let v = list.all(name).last().map(|v| v.to_string());
            list.remove_all(name);
            v
        };
        let set = pick(&mut self.upstream_headers_to_set);
        let appended = pick(&mut self.upstream_headers_to_append);
        self.upstream_headers_to_remove.retain(|n| n != name);
        set.or(appended)
    }

    /// Edits the upstream request in Envoy's order: set, append, remove.
    pub fn apply(&self, target: &mut impl HeaderTarget) {
        for (n, v) in &self.upstream_headers_to_set {
            target.set(n, v);
        }
        for (n, v) in &self.upstream_headers_to_append {
            target.add(n, v);
        }
        for n in &self.upstream_headers_to_remove {
            target.remove(n);
        }
    }
}

impl Denial {
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().collect()
    }

    fn from_reply(reply: &LocalReply, failure: Option<String>) -> Denial {
        Denial {
            status: reply.status,
            headers: reply.headers.clone(),
            body: reply.body().into_bytes(),
            failure,
            dropped: 0,
        }
    }
}

/// The call failed (not sent, connection refused, reset, timed out) or the
/// answer is unusable.
pub fn failure(cfg: &ExtAuthzConfig, why: impl Into<String>) -> Verdict {
    let why = why.into();
    if cfg.failure_mode_allow {
        let mut allow = Allow {
            failure: Some(why),
            ..Allow::default()
        };
        if cfg.failure_mode_allow_header_add {
            allow
                .upstream_headers_to_set
                .push(FAILURE_MODE_HEADER, "true");
        }
        return Verdict::Allow(allow);
    }
    let reply = LocalReply::new(
        cfg.status_on_error,
        "unavailable",
        "authorization service unavailable",
    );
    Verdict::Deny(Denial::from_reply(&reply, Some(why)))
}

/// The status of an answer: `:status`, three digits.
fn status(headers: &[(String, Vec<u8>)]) -> Result<u16, String> {
    let raw = headers
        .iter()
        .find(|(n, _)| n == ":status")
        .map(|(_, v)| v.as_slice())
        .ok_or("no response (connection refused, reset or timed out)")?;
    let text = std::str::from_utf8(raw).unwrap_or_default();
    match text.parse::<u16>() {
        Ok(s @ 100..=599) if text.len() == 3 => Ok(s),
        _ => Err(format!(
            "invalid :status {:?}",
            String::from_utf8_lossy(raw)
        )),
    }
}

/// Interprets an answer: the call's headers (`:status` included, as
/// `get_map_bytes(HttpCallResponseHeaders)` returns them; none when the call
/// failed) and up to `MAX_BODY + 1` bytes of its body.
pub fn interpret(cfg: &ExtAuthzConfig, headers: &[(String, Vec<u8>)], body: &[u8]) -> Verdict {
    let status = match status(headers) {
        Ok(s) => s,
        Err(why) => return failure(cfg, why),
    };
    match status {
        200 => Verdict::Allow(allow(cfg, headers)),
        100..=199 => Verdict::Deny(deny(cfg, 403, headers, body)),
        201..=499 => Verdict::Deny(deny(cfg, status, headers, body)),
        _ => failure(cfg, format!("the service answered {status}")),
    }
}

/// Copyable (name, value) pairs; `dropped` counts unusable values.
fn copyable<'a>(
    headers: &'a [(String, Vec<u8>)],
    dropped: &'a mut u32,
) -> impl Iterator<Item = (String, String)> + 'a {
    headers.iter().filter_map(move |(raw, value)| {
        let name = copyable_name(raw)?;
        if name == HEADERS_TO_REMOVE {
            return None;
        }
        match text_value(value) {
            Some(v) => Some((name, v.to_string())),
            None => {
                *dropped += 1;
                None
            }
        }
    })
}

fn allow(cfg: &ExtAuthzConfig, headers: &[(String, Vec<u8>)]) -> Allow {
    let mut out = Allow::default();
    let mut dropped = 0;
    for (name, value) in copyable(headers, &mut dropped) {
        if listed(cfg.allowed_upstream_headers.as_ref(), &name) {
            out.upstream_headers_to_set.push(&name, &value);
        }
        if listed(cfg.allowed_upstream_headers_to_append.as_ref(), &name) {
            out.upstream_headers_to_append.push(&name, &value);
        }
        if listed(cfg.allowed_client_headers_on_success.as_ref(), &name) {
            out.client_headers_on_success.push(&name, &value);
        }
    }
    out.dropped = dropped;
    for (raw, value) in headers {
        if raw.eq_ignore_ascii_case(HEADERS_TO_REMOVE) {
            let list = String::from_utf8_lossy(value);
            for name in list.split(',').map(|n| n.trim().to_ascii_lowercase()) {
                // Only names the filter could copy: never a pseudo-header,
                // `host` or a framing header of the client's request.
                if copyable_name(&name).is_some() {
                    out.upstream_headers_to_remove.push(name);
                }
            }
        }
    }
    out
}

fn deny(cfg: &ExtAuthzConfig, status: u16, headers: &[(String, Vec<u8>)], body: &[u8]) -> Denial {
    let mut dropped = 0;
    let passes = |name: &str| match &cfg.allowed_client_headers {
        None => true,
        Some(m) => m.matches(name) || name == "www-authenticate" || name == "location",
    };
    let mut out: HeaderList = copyable(headers, &mut dropped)
        .filter(|(n, _)| passes(n))
        .collect();
    let body = if body.len() > MAX_BODY {
        out.remove_all("content-type");
        out.push("content-type", "application/json");
        LocalReply::new(status, "denied", "denied by the authorization service")
            .body()
            .into_bytes()
    } else {
        body.to_vec()
    };
    Denial {
        status,
        headers: out,
        body,
        failure: None,
        dropped,
    }
}

#[cfg(test)]
mod tests;
