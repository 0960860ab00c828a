//! The rate-limit headers a response carries, allowed or limited.
//!
//! - `DRAFT_VERSION_03` (Envoy's `x-ratelimit-*`): `x-ratelimit-limit`
//!   (`max_tokens`), `x-ratelimit-remaining` (tokens left after this
//!   request), `x-ratelimit-reset` (seconds until the next fill).
//! - `IETF` (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy:
//!   "<name>";q=<max_tokens>;w=<seconds an empty bucket takes to fill>` and
//!   `RateLimit: "<name>";r=<remaining>;t=<seconds until the next fill>`.
//! - `OFF`: none.
//!
//! Seconds are rounded up and at least 1.

use crate::bucket::{ceil_secs, Decision, Limits};
use crate::config::HeaderMode;

pub fn values(
    mode: HeaderMode,
    name: &str,
    limits: &Limits,
    d: &Decision,
) -> Vec<(&'static str, String)> {
    let reset = ceil_secs(d.next_fill_ns);
    match mode {
        HeaderMode::Off => vec![],
        HeaderMode::DraftVersion03 => vec![
            ("x-ratelimit-limit", limits.max_tokens.to_string()),
            ("x-ratelimit-remaining", d.remaining.to_string()),
            ("x-ratelimit-reset", reset.to_string()),
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
                format!("\"{name}\";r={};t={reset}", d.remaining),
            ),
        ],
    }
}

/// `Retry-After` for a denied request: seconds until the next fill, at
/// least 1 (a fill always adds at least one token).
pub fn retry_after(d: &Decision) -> u64 {
    ceil_secs(d.next_fill_ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::take;

    const S: u64 = 1_000_000_000;

    #[test]
    fn all_modes() {
        let l = Limits {
            max_tokens: 10,
            tokens_per_fill: 3,
            fill_interval_ns: 2 * S,
        };
        let d = take(None, &l, 5 * S);
        assert_eq!(
            values(HeaderMode::DraftVersion03, "n", &l, &d),
            vec![
                ("x-ratelimit-limit", "10".to_string()),
                ("x-ratelimit-remaining", "9".to_string()),
                ("x-ratelimit-reset", "2".to_string()),
            ]
        );
        assert_eq!(
            values(HeaderMode::Ietf, "per_key", &l, &d),
            vec![
                ("ratelimit-policy", "\"per_key\";q=10;w=8".to_string()),
                ("ratelimit", "\"per_key\";r=9;t=2".to_string()),
            ]
        );
        assert!(values(HeaderMode::Off, "n", &l, &d).is_empty());
    }

    #[test]
    fn retry_after_rounds_up() {
        let l = Limits {
            max_tokens: 1,
            tokens_per_fill: 1,
            fill_interval_ns: 1_500_000_000,
        };
        let first = take(None, &l, 0);
        let denied = take(Some(first.state), &l, 1);
        assert!(!denied.allowed);
        assert_eq!(retry_after(&denied), 2);
        let l = Limits {
            fill_interval_ns: S / 10,
            ..l
        };
        let denied = take(Some(take(None, &l, 0).state), &l, 0);
        assert_eq!(retry_after(&denied), 1);
        assert_eq!(
            values(HeaderMode::DraftVersion03, "n", &l, &denied)[2].1,
            "1"
        );
    }
}
