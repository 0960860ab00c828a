//! The host's clock: the one time source of every filter (an unreadable
//! clock reads as the epoch).

use super::api::{current, Host};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> SystemTime {
    current().now()
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    since_epoch(|d| d.as_millis())
}

/// Nanoseconds since the epoch.
pub fn now_ns() -> u64 {
    since_epoch(|d| d.as_nanos())
}

fn since_epoch(unit: impl Fn(std::time::Duration) -> u128) -> u64 {
    now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(unit(d)).unwrap_or(u64::MAX))
}
