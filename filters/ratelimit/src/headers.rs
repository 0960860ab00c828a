//! The rate-limit headers a response carries, allowed or limited, from a
//! [`View`] of the bucket.
//!
//! - `DRAFT_VERSION_03` (Envoy's `x-ratelimit-*`): `x-ratelimit-limit`
//!   (`max_tokens`), `x-ratelimit-remaining` (whole tokens left),
//!   `x-ratelimit-reset`. Continuous refill, as Envoy 1.40 reports it: `0`
//!   while a token is left, else the seconds until the next token, rounded
//!   up. Interval refill: the seconds until the next fill, rounded up, at
//!   least 1.
//! - `IETF` (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy:
//!   "<name>";q=<max_tokens>;w=<seconds an empty bucket takes to fill>` and
//!   `RateLimit: "<name>";r=<remaining>;t=<seconds until one more token>`
//!   (rounded up, at least 1).
//! - `OFF`: none.

use crate::bucket::{ceil_secs, Limits, Refill, View};
use crate::config::HeaderMode;

/// `x-ratelimit-reset` for `view`.
pub fn reset(limits: &Limits, view: &View) -> u64 {
    match limits.refill {
        Refill::Continuous if view.remaining >= 1 => 0,
        _ => ceil_secs(view.wait_ns),
    }
}

pub fn values(
    mode: HeaderMode,
    name: &str,
    limits: &Limits,
    view: &View,
) -> Vec<(&'static str, String)> {
    match mode {
        HeaderMode::Off => vec![],
        HeaderMode::DraftVersion03 => vec![
            ("x-ratelimit-limit", limits.max_tokens.to_string()),
            ("x-ratelimit-remaining", view.remaining.to_string()),
            ("x-ratelimit-reset", reset(limits, view).to_string()),
        ],
        HeaderMode::Ietf => vec![
            (
                "ratelimit-policy",
                format!(
                    "\"{name}\";q={};w={}",
                    limits.max_tokens,
                    ceil_secs(limits.window_ns())
                ),
            ),
            (
                "ratelimit",
                format!(
                    "\"{name}\";r={};t={}",
                    view.remaining,
                    ceil_secs(view.wait_ns)
                ),
            ),
        ],
    }
}

/// `Retry-After` for a denied request: seconds until the next token (or
/// fill), rounded up, at least 1.
pub fn retry_after(view: &View) -> u64 {
    ceil_secs(view.wait_ns)
}

#[cfg(test)]
mod tests;
