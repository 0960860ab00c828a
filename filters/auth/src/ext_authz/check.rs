//! The check request: what the glue hands to
//! `dispatch_http_call(cluster, headers, None, vec![], timeout)`.
//!
//! As Envoy's HTTP ext_authz client builds it:
//! - `:method` is the client's; `:path` is `path_prefix` + the client's
//!   `:path` (query included); `content-length: 0`, no body.
//! - Client headers copied: `authorization` and every name
//!   `allowed_headers` matches (a repeated one as one header, its values
//!   joined with `,` in order, as Envoy does). Never copied:
//!   pseudo-headers, `host`, framing headers, the names in `exclude` (the
//!   auth filter's reserved headers, which clients cannot set), values that
//!   are not UTF-8 or carry CR, LF or NUL.
//! - `:authority` is `server_uri`'s host; the client's `:authority` goes as
//!   `x-forwarded-host` (Envoy sends it as the check's `Host` instead).
//! - `headers_to_add` last, each replacing copied headers of its name; a
//!   value that expands to nothing is skipped, one with CR, LF or NUL is
//!   dropped.

use super::config::{listed, ExtAuthzConfig};
use super::headers::{copyable_name, text_value};
use tollgate_common::request::{Request, RequestSource};
use tollgate_common::syntax::safe_value;

/// The client's host, for the service (the check's own `:authority` is the
/// service's).
pub const FORWARDED_HOST: &str = "x-forwarded-host";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    pub cluster: String,
    /// Pseudo-headers first, then regular headers, names lower-case.
    pub headers: Vec<(String, String)>,
    pub timeout: std::time::Duration,
    /// Client header values left out because they were not UTF-8 or carried
    /// CR, LF or NUL (for a debug log).
    pub dropped: u32,
}

impl CheckRequest {
    /// The headers in the borrowed form `dispatch_http_call` takes.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    /// The first value of `name` (tests, logs).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Builds the check for `req`. `client_headers` are the request's headers as
/// the host holds them (`get_map_bytes(HttpRequestHeaders)`); `exclude` are
/// lower-case names never sent.
pub fn build<S: RequestSource>(
    cfg: &ExtAuthzConfig,
    req: &Request<S>,
    client_headers: &[(String, Vec<u8>)],
    exclude: &[&str],
) -> CheckRequest {
    let mut dropped = 0;
    let pseudo = |name: &str, default: &str| {
        req.header(name)
            .filter(|v| !v.is_empty() && safe_value(v))
            .unwrap_or_else(|| default.to_string())
    };
    let mut headers = vec![
        (":method".to_string(), pseudo(":method", "GET")),
        (
            ":path".to_string(),
            format!("{}{}", cfg.path_prefix, pseudo(":path", "/")),
        ),
        (":authority".to_string(), cfg.authority.clone()),
        ("content-length".to_string(), "0".to_string()),
    ];
    for (raw, value) in client_headers {
        let Some(name) = copyable_name(raw) else {
            continue;
        };
        let wanted = name == "authorization" || listed(cfg.allowed_headers.as_ref(), &name);
        if !wanted || name == FORWARDED_HOST || exclude.contains(&name.as_str()) {
            continue;
        }
        match text_value(value) {
            // Repeated client headers go as one, joined with ',' as Envoy's
            // check does: a service reading the first value would otherwise
            // see a different request through each (found by the twin).
            Some(v) => match headers.iter_mut().find(|(n, _)| *n == name) {
                Some((_, joined)) => {
                    joined.push(',');
                    joined.push_str(v);
                }
                None => headers.push((name, v.to_string())),
            },
            None => dropped += 1,
        }
    }
    if let Some(host) = req.header(":authority").filter(|h| safe_value(h)) {
        headers.push((FORWARDED_HOST.to_string(), host));
    }
    for h in &cfg.headers_to_add {
        let name = h.key.as_str();
        let value = h.value.expand(req);
        if value.is_empty() {
            continue;
        }
        if !safe_value(&value) {
            dropped += 1;
            continue;
        }
        headers.retain(|(n, _)| n != name);
        headers.push((name.to_string(), value));
    }
    CheckRequest {
        cluster: cfg.cluster.clone(),
        headers,
        timeout: cfg.timeout,
        dropped,
    }
}

#[cfg(test)]
mod tests;
