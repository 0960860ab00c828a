//! htpasswd files as Apache's `htpasswd` writes them, one scheme per file:
//! `{SHA}` (`-s`), `$apr1$` (`-m`, also glibc's `$1$`), SHA-256/512 crypt
//! (`-2`/`-5`) and bcrypt (`-B`). Plaintext and DES crypt are refused when the
//! configuration loads. Every comparison of a computed hash with the stored
//! one runs in constant time.

mod bcrypt;
mod md5_crypt;
mod sha1;
mod sha_crypt;

use std::collections::HashMap;

/// A parsed stored hash, ready to verify passwords against.
#[derive(Debug, Clone)]
pub enum Hash {
    Sha1(sha1::Sha1Hash),
    Md5Crypt(md5_crypt::Md5Crypt),
    ShaCrypt(sha_crypt::ShaCrypt),
    Bcrypt(bcrypt::Bcrypt),
}

impl Hash {
    /// Parses the part of a line after `user:`.
    pub fn parse(stored: &str) -> Result<Hash, String> {
        if let Some(rest) = stored.strip_prefix("{SHA}") {
            return sha1::Sha1Hash::parse(rest).map(Hash::Sha1);
        }
        if stored.starts_with("$apr1$") || stored.starts_with("$1$") {
            return md5_crypt::Md5Crypt::parse(stored).map(Hash::Md5Crypt);
        }
        if stored.starts_with("$5$") || stored.starts_with("$6$") {
            return sha_crypt::ShaCrypt::parse(stored).map(Hash::ShaCrypt);
        }
        if stored.starts_with("$2") {
            return bcrypt::Bcrypt::parse(stored).map(Hash::Bcrypt);
        }
        if stored.len() == 13 && stored.bytes().all(is_crypt64) {
            return Err("DES crypt is not supported (8-character passwords, weak); \
                        rehash with htpasswd -B"
                .to_string());
        }
        if stored.starts_with('$') || stored.starts_with('{') {
            return Err("unknown hash scheme; use htpasswd -B, -5, -2, -m or -s".to_string());
        }
        Err("plaintext passwords are not supported; hash them with htpasswd -B".to_string())
    }

    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Hash::Sha1(h) => h.verify(password),
            Hash::Md5Crypt(h) => h.verify(password),
            Hash::ShaCrypt(h) => h.verify(password),
            Hash::Bcrypt(h) => h.verify(password),
        }
    }

    /// True for schemes worth caching (everything but one SHA-1).
    pub fn is_slow(&self) -> bool {
        !matches!(self, Hash::Sha1(_))
    }
}

/// One user's stored hash and its line, the line being part of cache keys so
/// that a changed password invalidates cached successes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub hash: Hash,
    pub line: String,
}

/// Parses htpasswd text: `user:hash` lines; blank lines and `#` comments are
/// skipped. Errors name the 1-based line number.
pub fn parse_users(text: &str) -> Result<HashMap<String, Entry>, String> {
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((user, stored)) = trimmed.split_once(':') else {
            return Err(format!("line {n}: expected user:hash"));
        };
        if user.is_empty() {
            return Err(format!("line {n}: empty user name"));
        }
        let hash = Hash::parse(stored).map_err(|e| format!("line {n} (user {user:?}): {e}"))?;
        let entry = Entry {
            hash,
            line: trimmed.to_string(),
        };
        if users.insert(user.to_string(), entry).is_some() {
            return Err(format!("line {n}: user {user:?} appears twice"));
        }
    }
    if users.is_empty() {
        return Err("no users".to_string());
    }
    Ok(users)
}

/// The alphabet of crypt(3)'s base-64: `./0-9A-Za-z`.
const CRYPT64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_crypt64(b: u8) -> bool {
    CRYPT64.contains(&b)
}

/// crypt(3)'s `b64_from_24bit`: `n` characters of `(b2 << 16 | b1 << 8 | b0)`,
/// least significant six bits first.
fn push_b64(out: &mut String, b2: u8, b1: u8, b0: u8, n: usize) {
    let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
    for _ in 0..n {
        let c = CRYPT64.get((w & 0x3f) as usize).copied().unwrap_or(b'.');
        out.push(char::from(c));
        w >>= 6;
    }
}

/// Encodes `digest` with crypt's byte order: each triple of indices gives 4
/// characters, the tail `(i1, i0)` (`None` for a missing byte) gives the rest.
fn encode(
    digest: &[u8],
    triples: &[(usize, usize, usize)],
    tail: (Option<usize>, usize),
    tail_chars: usize,
) -> String {
    let at = |i: usize| digest.get(i).copied().unwrap_or(0);
    let mut out = String::with_capacity(triples.len() * 4 + tail_chars);
    for &(a, b, c) in triples {
        push_b64(&mut out, at(a), at(b), at(c), 4);
    }
    push_b64(&mut out, 0, tail.0.map_or(0, at), at(tail.1), tail_chars);
    out
}

#[cfg(test)]
mod tests;
