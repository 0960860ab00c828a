//! Keys and value formats in proxy-wasm shared data, which every worker's VM
//! of one `vm_id` sees. Two tables, each a fixed number of slots so that the
//! data stays bounded (shared data has no delete): a slot holds one entry, a
//! newer entry for another subject evicts it.
//!
//! - verified Basic credentials: slot key `tollgate.auth.ok.<n>`, value
//!   `<hex SHA-256 of user, password and stored line> <expiry secs>`;
//! - failure counters: slot key `tollgate.auth.fail.<n>`, value
//!   `<hex SHA-256 of the subject> <count> <window start secs>`.
//!
//! The host side is the common [`Store`] (shared data with CAS in the glue,
//! a map in tests); this module holds only the logic.

use sha2::{Digest, Sha256};
pub use tollgate_common::store::Store;

/// How many times an update is retried when another worker wrote first.
const CAS_ATTEMPTS: usize = 8;

/// The SHA-256 of the parts, each length-prefixed so that no two different
/// lists of parts hash alike.
pub fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Lower-case hex. On the request path: one allocation, no `format!` per
/// byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 0xf));
    }
    s
}

fn slot(prefix: &str, d: &[u8; 32], slots: u32) -> String {
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % slots.max(1);
    format!("tollgate.auth.{prefix}.{n}")
}

/// Parses `<hex> <n> [<n>]`.
fn fields(value: &[u8]) -> Option<(String, Vec<u64>)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut it = text.split(' ');
    let id = it.next()?.to_string();
    let nums = it.map(|n| n.parse().ok()).collect::<Option<Vec<u64>>>()?;
    Some((id, nums))
}

fn same_id(stored: &str, id: &str) -> bool {
    crate::ct::eq(stored.as_bytes(), id.as_bytes())
}

/// A table of verified credentials.
#[derive(Debug, Clone, Copy)]
pub struct SuccessCache {
    pub slots: u32,
    pub ttl_secs: u64,
}

impl SuccessCache {
    /// True when `key` (a [`digest`]) was verified and has not expired.
    pub fn hit(&self, store: &dyn Store, key: &[u8; 32], now: u64) -> bool {
        if self.ttl_secs == 0 {
            return false;
        }
        let (Some(value), _) = store.get(&slot("ok", key, self.slots)) else {
            return false;
        };
        match fields(&value) {
            Some((id, nums)) => {
                same_id(&id, &hex(key)) && nums.first().is_some_and(|&exp| now < exp)
            }
            None => false,
        }
    }

    pub fn insert(&self, store: &dyn Store, key: &[u8; 32], now: u64) {
        if self.ttl_secs == 0 {
            return;
        }
        let value = format!("{} {}", hex(key), now.saturating_add(self.ttl_secs));
        store.set(&slot("ok", key, self.slots), value.as_bytes(), None);
    }
}

/// Failure counters over a fixed window per subject (a user or an address).
#[derive(Debug, Clone, Copy)]
pub struct FailureCounter {
    pub slots: u32,
    pub max_failures: u32,
    pub window_secs: u64,
}

/// When the latest failure of any subject was counted (seconds), written
/// before the subject's own slot. A subject is locked only within
/// `window_secs` of its window's start, which is never after this time; so
/// while no failure is that recent nobody is locked out, and a request with
/// good credentials skips the per-subject digests, slot reads and the
/// client address lookup.
const LAST_FAILURE_KEY: &str = "tollgate.auth.fail.last";

impl FailureCounter {
    /// False when no subject can be locked out at `now` (see
    /// [`LAST_FAILURE_KEY`]); true when one may be, or the time is unreadable.
    pub fn any_recent(&self, store: &dyn Store, now: u64) -> bool {
        match store.get(LAST_FAILURE_KEY).0 {
            None => false,
            Some(v) => last_failure(&v).is_none_or(|at| now < at.saturating_add(self.window_secs)),
        }
    }

    /// Seconds until the subject may try again, when it is locked out.
    pub fn locked_for(&self, store: &dyn Store, subject: &[u8; 32], now: u64) -> Option<u64> {
        let (value, _) = store.get(&slot("fail", subject, self.slots));
        let (count, start) = self.current(value.as_deref(), subject, now)?;
        if count >= u64::from(self.max_failures) {
            Some(
                start
                    .saturating_add(self.window_secs)
                    .saturating_sub(now)
                    .max(1),
            )
        } else {
            None
        }
    }

    /// The subject's live (count, window start), if any.
    fn current(&self, value: Option<&[u8]>, subject: &[u8; 32], now: u64) -> Option<(u64, u64)> {
        let (id, nums) = fields(value?)?;
        let (&count, &start) = (nums.first()?, nums.get(1)?);
        let live = same_id(&id, &hex(subject)) && now < start.saturating_add(self.window_secs);
        live.then_some((count, start))
    }

    /// Counts one failure (compare-and-swap, retried); returns the new count.
    pub fn record(&self, store: &dyn Store, subject: &[u8; 32], now: u64) -> u64 {
        note_failure(store, now);
        let key = slot("fail", subject, self.slots);
        let mut count = 1;
        for _ in 0..CAS_ATTEMPTS {
            let (value, cas) = store.get(&key);
            let (c, start) = match self.current(value.as_deref(), subject, now) {
                Some((c, start)) => (c.saturating_add(1), start),
                None => (1, now),
            };
            count = c;
            let value = format!("{} {c} {start}", hex(subject));
            if store.set(&key, value.as_bytes(), cas) {
                break;
            }
        }
        count
    }
}

fn last_failure(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Raises [`LAST_FAILURE_KEY`] to `now` (compare-and-swap, retried).
fn note_failure(store: &dyn Store, now: u64) {
    for _ in 0..CAS_ATTEMPTS {
        let (value, cas) = store.get(LAST_FAILURE_KEY);
        if value
            .as_deref()
            .and_then(last_failure)
            .is_some_and(|at| at >= now)
        {
            return;
        }
        if store.set(LAST_FAILURE_KEY, now.to_string().as_bytes(), cas) {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
