//! The project's rejection format: a stable status and a JSON body
//! `{"error": ..., "reason": ...}`.

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
    pub headers: Vec<(String, String)>,
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
            headers: vec![("content-type".to_string(), "application/json".to_string())],
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
        self.headers.push((name.into(), value.into()));
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
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(r: &LocalReply) -> serde_json::Value {
        serde_json::from_str(&r.body()).unwrap()
    }

    #[test]
    fn constructors() {
        let cases = [
            (LocalReply::bad_request("r"), 400, "bad_request"),
            (LocalReply::unauthorized("r"), 401, "unauthorized"),
            (LocalReply::forbidden("r"), 403, "forbidden"),
            (LocalReply::too_many_requests("r", 7), 429, "rate_limited"),
            (LocalReply::unavailable("r"), 503, "unavailable"),
        ];
        for (r, status, error) in cases {
            assert_eq!(r.status, status);
            assert_eq!(r.error, error);
            assert_eq!(json(&r), serde_json::json!({"error": error, "reason": "r"}));
            assert_eq!(
                r.headers.first(),
                Some(&("content-type".to_string(), "application/json".to_string()))
            );
        }
    }

    #[test]
    fn retry_after() {
        let r = LocalReply::too_many_requests("slow down", 30);
        assert_eq!(
            r.header_pairs(),
            vec![("content-type", "application/json"), ("retry-after", "30")]
        );
    }

    #[test]
    fn extra_headers() {
        let r = LocalReply::unauthorized("no token").with_header("www-authenticate", "Bearer");
        assert!(r.header_pairs().contains(&("www-authenticate", "Bearer")));
    }

    #[test]
    fn body_is_escaped() {
        let r = LocalReply::forbidden("quote \" backslash \\ newline \n tag </x> é");
        let body = r.body();
        assert!(!body.contains('\n'));
        assert_eq!(
            json(&r)["reason"],
            "quote \" backslash \\ newline \n tag </x> é"
        );
        assert_eq!(
            LocalReply::bad_request("x").body(),
            r#"{"error":"bad_request","reason":"x"}"#
        );
    }
}
