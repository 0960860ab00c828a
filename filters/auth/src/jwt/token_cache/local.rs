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
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            identity: Some(id.to_string()),
            headers: vec![("x-sub".into(), id.into())],
        }
    }

    #[test]
    fn found_until_expiry_in_its_own_scope_only() {
        let token = "aaa.bbb.signature-of-the-first-token";
        assert_eq!(get("ns", "p", token, 100), None);
        put("ns", "p", token, &entry("alice"), 200, 100);
        assert_eq!(get("ns", "p", token, 199), Some(entry("alice")));
        assert_eq!(get("ns", "p", token, 200), None, "expired");
        assert_eq!(get("ns", "q", token, 150), None, "another provider");
        assert_eq!(get("other", "p", token, 150), None, "another namespace");
        assert_eq!(
            get("ns", "p", "aaa.bbb.signature-of-the-first-tokeN", 150),
            None
        );
        assert_eq!(
            get("ns", "p", "aaa.bbb.signature-of-the-first-token!", 150),
            None
        );
    }

    #[test]
    fn expired_or_huge_tokens_are_not_kept() {
        put("ns", "p", "t.u.expired", &entry("a"), 100, 100);
        assert_eq!(get("ns", "p", "t.u.expired", 50), None);
        let huge = "x".repeat(MAX_TOKEN_BYTES + 1);
        put("ns", "p", &huge, &entry("a"), 200, 100);
        assert_eq!(get("ns", "p", &huge, 150), None);
    }

    #[test]
    fn a_slot_holds_the_latest_token() {
        // Same provider and last 32 bytes: the same slot.
        let tail = "s".repeat(32);
        let (a, b) = (format!("a.a.{tail}"), format!("b.b.{tail}"));
        put("ns", "p", &a, &entry("a"), 200, 100);
        put("ns", "p", &b, &entry("b"), 200, 100);
        assert_eq!(get("ns", "p", &a, 150), None, "evicted");
        assert_eq!(get("ns", "p", &b, 150), Some(entry("b")));
    }
}
