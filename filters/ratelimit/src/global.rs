//! Global mode's decision: what the filter does with the rate-limit
//! service's answer (or its failure). Pure functions, tested without a host.
//!
//! | answer | enforced | verdict |
//! |---|---|---|
//! | `OK` | — | allow; the service's `request_headers_to_add` go upstream, its `response_headers_to_add` to the client |
//! | `OVER_LIMIT` | yes | 429, `Retry-After` from `duration_until_reset`, `x-envoy-ratelimited: true`, plus `response_headers_to_add` |
//! | `OVER_LIMIT` | no (shadow) | allow as for `OK`, counted `shadow_limited` |
//! | error (gRPC status not OK, timeout, undecodable, over [`MAX_ANSWER_BYTES`], code not OK/OVER_LIMIT) | — | allow unless `failure_mode_deny`, then `status_on_error` |

use crate::config::service::Service;
use crate::rls::{self, HeaderValue, RateLimitResponse};
use tollgate_common::header::MutableHeaderName;
use tollgate_common::reply::LocalReply;
use tollgate_common::syntax::safe_value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request through with these headers (request: now; response:
    /// on the response). `shadow`: the service said OVER_LIMIT.
    Allow {
        request_headers: Vec<(String, String)>,
        response_headers: Vec<(String, String)>,
        shadow: bool,
    },
    /// Over the limit: answer 429.
    Limit {
        retry_after: u64,
        response_headers: Vec<(String, String)>,
    },
    /// The service failed and `failure_mode_deny` is false.
    FailOpen { reason: String },
    /// The service failed and `failure_mode_deny` is true.
    FailClosed { status: u16, reason: String },
}

/// Largest answer read from the service. A `RateLimitResponse` is a few
/// hundred bytes, a few KB with many descriptors and headers; anything
/// larger is treated as a failed call, without copying it into the VM.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The answer from the gRPC callback: `grpc_status` (0 = OK), the message's
/// `size`, and `read` to get its bytes, called only for an OK answer within
/// [`MAX_ANSWER_BYTES`].
pub fn sized_answer(
    grpc_status: u32,
    size: usize,
    read: impl FnOnce() -> Option<Vec<u8>>,
) -> Result<RateLimitResponse, String> {
    if grpc_status == 0 && size > MAX_ANSWER_BYTES {
        return Err(format!("answer of {size} bytes is over {MAX_ANSWER_BYTES}"));
    }
    let body = if grpc_status == 0 { read() } else { None };
    answer(grpc_status, body.as_deref())
}

/// The service's answer from the gRPC callback: `grpc_status` (0 = OK) and
/// the response message's bytes.
pub fn answer(grpc_status: u32, body: Option<&[u8]>) -> Result<RateLimitResponse, String> {
    if grpc_status != 0 {
        return Err(format!("gRPC status {}", grpc_status_name(grpc_status)));
    }
    let r = rls::decode_response(body.unwrap_or_default())
        .map_err(|e| format!("undecodable answer: {e}"))?;
    match r.overall_code {
        rls::CODE_OK | rls::CODE_OVER_LIMIT => Ok(r),
        code => Err(format!("answer with overall_code {code}")),
    }
}

/// The verdict for an answer. `enforced` is asked only for OVER_LIMIT.
pub fn verdict(
    answer: Result<RateLimitResponse, String>,
    service: &Service,
    enforced: impl FnOnce() -> bool,
) -> Verdict {
    let r = match answer {
        Ok(r) => r,
        Err(reason) if service.failure_mode_deny => {
            return Verdict::FailClosed {
                status: service.status_on_error,
                reason,
            }
        }
        Err(reason) => return Verdict::FailOpen { reason },
    };
    let mut response_headers = safe_headers(&r.response_headers_to_add);
    if service.x_ratelimit_headers {
        response_headers.extend(x_ratelimit_headers(&r));
    }
    let over = r.overall_code == rls::CODE_OVER_LIMIT;
    if over && enforced() {
        return Verdict::Limit {
            retry_after: retry_after(&r),
            response_headers,
        };
    }
    Verdict::Allow {
        request_headers: safe_headers(&r.request_headers_to_add),
        response_headers,
        shadow: over,
    }
}

/// The local reply of a verdict that refuses the request.
pub fn reply(v: &Verdict) -> Option<LocalReply> {
    match v {
        Verdict::Limit {
            retry_after,
            response_headers,
        } => Some(
            response_headers
                .iter()
                .filter(|(n, _)| n != "retry-after" && n != "content-type")
                .fold(
                    // Envoy's ratelimit filter marks its 429 so that a
                    // client or a proxy before it can tell it from the
                    // upstream's (found by the twin).
                    LocalReply::too_many_requests("rate limit exceeded", *retry_after)
                        .with_header("x-envoy-ratelimited", "true"),
                    |r, (n, v)| r.with_header(n.as_str(), v.as_str()),
                ),
        ),
        Verdict::FailClosed { status, .. } => Some(LocalReply::new(
            *status,
            "unavailable",
            "the rate-limit service is unavailable",
        )),
        Verdict::Allow { .. } | Verdict::FailOpen { .. } => None,
    }
}

/// `Retry-After`: the longest `duration_until_reset` of the OVER_LIMIT
/// statuses (of all statuses when none says), seconds rounded up, at least 1.
pub fn retry_after(r: &RateLimitResponse) -> u64 {
    let longest = |over_only: bool| {
        r.statuses
            .iter()
            .filter(|s| !over_only || s.code == rls::CODE_OVER_LIMIT)
            .filter_map(|s| s.duration_until_reset.map(|d| d.ceil_secs()))
            .max()
    };
    longest(true).or_else(|| longest(false)).unwrap_or(1).max(1)
}

/// Envoy's ratelimit filter's `x-ratelimit-*` headers
/// (`enable_x_ratelimit_headers: DRAFT_VERSION_03`) from the statuses that
/// carry a `current_limit`: the one with the fewest `limit_remaining` (the
/// first of equals) gives `x-ratelimit-limit` (its `requests_per_unit`, then
/// `, <requests_per_unit>;w=<window seconds>[;name="<name>"]` for every such
/// status of a known unit), `x-ratelimit-remaining` and `x-ratelimit-reset`
/// (whole seconds of its `duration_until_reset`, 0 without one). None when no
/// status carries a limit.
pub fn x_ratelimit_headers(r: &RateLimitResponse) -> Vec<(String, String)> {
    let limited = || {
        r.statuses
            .iter()
            .filter_map(|s| s.current_limit.as_ref().map(|l| (s, l)))
    };
    let mut min: Option<(&rls::DescriptorStatus, &rls::RateLimit)> = None;
    for (s, l) in limited() {
        if min.is_none_or(|(m, _)| s.limit_remaining < m.limit_remaining) {
            min = Some((s, l));
        }
    }
    let Some((status, limit)) = min else {
        return vec![];
    };
    let mut value = limit.requests_per_unit.to_string();
    for (_, l) in limited() {
        let Some(window) = unit_seconds(l.unit) else {
            continue;
        };
        value.push_str(&format!(", {};w={window}", l.requests_per_unit));
        if !l.name.is_empty() {
            value.push_str(&format!(";name=\"{}\"", l.name));
        }
    }
    let reset = status.duration_until_reset.map_or(0, |d| d.seconds);
    [
        ("x-ratelimit-limit", value),
        ("x-ratelimit-remaining", status.limit_remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ]
    .into_iter()
    .filter(|(_, v)| safe_value(v))
    .map(|(n, v)| (n.to_string(), v))
    .collect()
}

/// Seconds in a `RateLimitResponse.RateLimit.Unit` (Envoy's table: a month
/// is 30 days, a year 365); `None` for `UNKNOWN` and values it does not know.
fn unit_seconds(unit: i32) -> Option<u64> {
    Some(match unit {
        1 => 1,
        2 => 60,
        3 => 3_600,
        4 => 86_400,
        7 => 7 * 86_400,
        5 => 30 * 86_400,
        6 => 365 * 86_400,
        _ => return None,
    })
}

/// The service's headers that may be set: valid names (lower-cased), not
/// pseudo-headers or `host`, values without CR, LF or NUL. Others are
/// dropped.
pub fn safe_headers(headers: &[HeaderValue]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|h| {
            let name = MutableHeaderName::try_from(h.key.clone()).ok()?;
            let value = h.text();
            safe_value(&value).then(|| (name.as_str().to_string(), value))
        })
        .collect()
}

fn grpc_status_name(code: u32) -> String {
    let name = match code {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        4 => "DEADLINE_EXCEEDED",
        8 => "RESOURCE_EXHAUSTED",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        _ => return code.to_string(),
    };
    format!("{code} {name}")
}

#[cfg(test)]
mod tests;
