//! Verified JWTs in shared data, so a token is verified once per Envoy
//! process rather than once per worker and request. A fixed number of slots
//! (shared data has no delete): slot key `tollgate.auth.jwt.<n>`,
//! value `<hex key> <expiry secs>\n<JSON [identity, [[header, value], ...]]>`
//! where the key is the SHA-256 of the configuration, the provider (and
//! audiences) and the token. An entry lives until the token's `exp` (plus the clock skew the
//! verification allowed) and at most `max_ttl`.

use crate::basic::cache::{digest, hex, Store};

pub mod local;

/// What a verified token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub identity: Option<String>,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
pub struct TokenCache {
    pub slots: u32,
}

/// The cache key of a token for a provider (see [`crate::jwt::config::JwtConfig::cache_name`]).
pub fn key(namespace: &str, provider: &str, token: &str) -> [u8; 32] {
    digest(&[namespace.as_bytes(), provider.as_bytes(), token.as_bytes()])
}

impl TokenCache {
    fn slot(&self, key: &[u8; 32]) -> String {
        let n = u32::from_be_bytes([key[0], key[1], key[2], key[3]]) % self.slots.max(1);
        // Not named by configuration, so configuration updates reuse the
        // slots instead of adding theirs for good; the entry's key digests
        // the configuration, so no entry outlives its configuration's use.
        format!("tollgate.auth.jwt.{n}")
    }

    /// The entry for `key` and its expiry, when stored and not expired.
    pub fn get(&self, store: &dyn Store, key: &[u8; 32], now: u64) -> Option<(Entry, u64)> {
        let (value, _) = store.get(&self.slot(key));
        let text = String::from_utf8(value?).ok()?;
        let (head, body) = text.split_once('\n')?;
        let (id, expiry) = head.split_once(' ')?;
        let wanted = hex(key);
        if !crate::ct::eq(id.as_bytes(), wanted.as_bytes()) {
            return None;
        }
        let expiry = expiry.parse::<u64>().ok()?;
        if now >= expiry {
            return None;
        }
        let (identity, headers): (Option<String>, Vec<(String, String)>) =
            serde_json::from_str(body).ok()?;
        Some((Entry { identity, headers }, expiry))
    }

    /// Stores an entry until `expiry` (Unix seconds); nothing when already past.
    pub fn insert(&self, store: &dyn Store, key: &[u8; 32], entry: &Entry, expiry: u64, now: u64) {
        if expiry <= now {
            return;
        }
        let Ok(body) = serde_json::to_string(&(&entry.identity, &entry.headers)) else {
            return;
        };
        let value = format!("{} {expiry}\n{body}", hex(key));
        store.set(&self.slot(key), value.as_bytes(), None);
    }
}

#[cfg(test)]
mod tests;
