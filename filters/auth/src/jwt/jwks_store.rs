//! Remote key sets in shared data, one copy for every worker's VM:
//!
//! - `tollgate.auth.jwks.<source>`: `<fetched_at ms>\n<JWKS JSON>` (written
//!   only after the JSON parsed as a usable key set);
//! - `tollgate.auth.jwks.<source>.lease`: `<until ms>`, taken with
//!   compare-and-swap by the one VM that refreshes the set, so workers do
//!   not all fetch at once.
//!
//! `<source>` is a digest of the cluster and URI the set is fetched from, not
//! of the configuration: shared data has no delete, so keys named by
//! configuration would add a set for every configuration update (every
//! Istio `pluginConfig` change) for good. A new configuration reuses a set
//! fetched from the same place while it is fresh.
//!
//! Timing: a set is used until `cache_duration` after its fetch; root
//! contexts refresh it in the background from [`refresh_due`] on (the last
//! tenth of its life, at most one minute before it runs out). A request that
//! finds no usable set waits while its VM fetches one.

use crate::basic::cache::Store;

/// How long a VM that failed to fetch a set answers without retrying.
pub const FAILURE_BACKOFF_MS: u64 = 1000;

/// The key of the set fetched from `uri` through `cluster`.
pub fn key(cluster: &str, uri: &str) -> String {
    let d = crate::basic::cache::digest(&[cluster.as_bytes(), uri.as_bytes()]);
    format!(
        "tollgate.auth.jwks.{}",
        crate::basic::cache::hex(d.get(..8).unwrap_or_default())
    )
}

pub fn lease_key(cluster: &str, uri: &str) -> String {
    format!("{}.lease", key(cluster, uri))
}

/// The stored set: (fetched at, JSON text).
pub fn read(store: &dyn Store, key: &str) -> Option<(u64, String)> {
    let text = String::from_utf8(store.get(key).0?).ok()?;
    let (at, json) = text.split_once('\n')?;
    Some((at.parse().ok()?, json.to_string()))
}

/// Only the fetch time (for the tick's refresh check).
pub fn fetched_at(store: &dyn Store, key: &str) -> Option<u64> {
    let value = store.get(key).0?;
    let end = value.iter().position(|&b| b == b'\n')?;
    std::str::from_utf8(value.get(..end)?).ok()?.parse().ok()
}

pub fn write(store: &dyn Store, key: &str, now_ms: u64, json: &str) -> bool {
    store.set(key, format!("{now_ms}\n{json}").as_bytes(), None)
}

/// Creates the lease key if missing, so that taking it is always a CAS.
pub fn init_lease(store: &dyn Store, key: &str) {
    if store.get(key).0.is_none() {
        store.set(key, b"0", None);
    }
}

/// Takes the lease for `lease_ms` unless another VM holds a live one.
pub fn take_lease(store: &dyn Store, key: &str, now_ms: u64, lease_ms: u64) -> bool {
    let (value, cas) = store.get(key);
    let Some(cas) = cas else {
        return false;
    };
    let until = value
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
    now_ms >= until
        && store.set(
            key,
            now_ms.saturating_add(lease_ms).to_string().as_bytes(),
            Some(cas),
        )
}

/// Releases the lease after a fetch; a failed fetch keeps it for a backoff.
pub fn release_lease(store: &dyn Store, key: &str, now_ms: u64, ok: bool) {
    let until = if ok { 0 } else { now_ms + FAILURE_BACKOFF_MS };
    store.set(key, until.to_string().as_bytes(), None);
}

/// Whether a set fetched at `at` may still be used.
pub fn usable(at: u64, now_ms: u64, cache_duration_ms: u64) -> bool {
    now_ms < at.saturating_add(cache_duration_ms)
}

/// Whether the background refresh of a set fetched at `at` should start.
pub fn refresh_due(at: u64, now_ms: u64, cache_duration_ms: u64) -> bool {
    let margin = (cache_duration_ms / 10).min(60_000);
    now_ms >= at.saturating_add(cache_duration_ms.saturating_sub(margin))
}

#[cfg(test)]
mod tests;
