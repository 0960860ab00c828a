//! This VM's own copy of verified tokens, in front of the shared-data cache.
//! A repeated token is then found by comparing the token itself, without
//! hashing it (SHA-256 over the whole token was a fifth of a cached
//! request's time in `cargo xtask profile`), reading shared data or parsing
//! the stored entry (the token is compared with [`crate::ct::eq`]). It holds exactly what the shared cache answered or was
//! given, with the same expiry, so it never grants what the shared cache
//! would not; an entry evicted from shared data may still be found here
//! until its expiry, as it would have been had it not been evicted.
//!
//! Bounded: a fixed table of slots, direct-mapped, and tokens over
//! [`MAX_TOKEN_BYTES`] are not kept.

use super::Entry;
use std::cell::RefCell;

const SLOTS: usize = 256;
/// Longer tokens go to the shared cache only (the table stays under about
/// 1 MiB of tokens per VM).
pub const MAX_TOKEN_BYTES: usize = 4096;

struct Slot {
    /// The shared cache's namespace and the provider's cache name.
    namespace: String,
    provider: String,
    token: String,
    expiry: u64,
    entry: Entry,
}

thread_local! {
    // A wasm VM is single-threaded: this is one table per VM.
    static TABLE: RefCell<Vec<Option<Slot>>> = RefCell::new((0..SLOTS).map(|_| None).collect());
}

/// FNV-1a over the provider and the token's last 32 bytes (its signature,
/// random for real tokens). Not secret: a chosen collision only evicts.
fn slot_of(provider: &str, token: &str) -> usize {
    let tail = token.as_bytes();
    let tail = tail.get(tail.len().saturating_sub(32)..).unwrap_or(tail);
    let mut h: u32 = 0x811c_9dc5;
    for b in provider.as_bytes().iter().chain(tail) {
        h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
    }
    h as usize % SLOTS
}

/// The entry for `token`, when this VM holds it and `now` is before its expiry.
pub fn get(namespace: &str, provider: &str, token: &str, now: u64) -> Option<Entry> {
    TABLE.with(|t| {
        let table = t.borrow();
        let slot = table.get(slot_of(provider, token))?.as_ref()?;
        let same = crate::ct::eq(slot.token.as_bytes(), token.as_bytes())
            && slot.namespace == namespace
            && slot.provider == provider;
        (same && now < slot.expiry).then(|| slot.entry.clone())
    })
}

/// Keeps `entry` for `token` until `expiry` (Unix seconds).
pub fn put(namespace: &str, provider: &str, token: &str, entry: &Entry, expiry: u64, now: u64) {
    if expiry <= now || token.len() > MAX_TOKEN_BYTES {
        return;
    }
    TABLE.with(|t| {
        if let Some(slot) = t.borrow_mut().get_mut(slot_of(provider, token)) {
            *slot = Some(Slot {
                namespace: namespace.to_string(),
                provider: provider.to_string(),
                token: token.to_string(),
                expiry,
                entry: entry.clone(),
            });
        }
    });
}

#[cfg(test)]
mod tests;
