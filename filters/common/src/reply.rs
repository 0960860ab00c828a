//! The project's rejection format: a stable status and a JSON body
//! `{"error": ..., "reason": ...}`.

use crate::header::HeaderList;
use serde::Serialize;

/// A response a filter sends instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    /// A short machine word, stable across releases.
    pub error: &'static str,
    /// For humans; never parse it.
    pub reason: String,
    /// Sent as is; `content-type: application/json` is always present.
    pub headers: HeaderList,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    reason: &'a str,
}

impl LocalReply {
    pub fn new(status: u16, error: &'static str, reason: impl Into<String>) -> Self {
        LocalReply {
            status,
            error,
            reason: reason.into(),
            headers: HeaderList::of(&[("content-type", "application/json")]),
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(400, "bad_request", reason)
    }

    /// 401: missing or bad credentials. The caller adds `WWW-Authenticate`.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", reason)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(403, "forbidden", reason)
    }

    /// 429 with `Retry-After` in seconds.
    pub fn too_many_requests(reason: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(429, "rate_limited", reason)
            .with_header("retry-after", retry_after_secs.to_string())
    }

    /// 503: a dependency is down and the filter fails closed.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(503, "unavailable", reason)
    }

    /// Adds a header (e.g. `www-authenticate`).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(name, value);
        self
    }

    /// The JSON body, escaped by serde_json.
    pub fn body(&self) -> String {
        let body = Body {
            error: self.error,
            reason: &self.reason,
        };
        // Serializing two strings cannot fail; fall back to a fixed body
        // rather than panic if it ever did.
        serde_json::to_string(&body)
            .unwrap_or_else(|_| format!(r#"{{"error":"{}","reason":""}}"#, self.error))
    }

    /// The headers in the borrowed form proxy-wasm's `send_http_response`
    /// takes.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().collect()
    }
}

#[cfg(test)]
mod tests;
