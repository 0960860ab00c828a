//! SHA-256 and SHA-512 crypt (`$5$`, `$6$`; `htpasswd -2` / `-5`), Ulrich
//! Drepper's specification, `rounds=N$` honoured (default 5000, clamped to
//! 1000..=999999999 as the specification says).

use sha2::{Digest, Sha256, Sha512};

const DEFAULT_ROUNDS: u32 = 5000;
const MIN_ROUNDS: u32 = 1000;
const MAX_ROUNDS: u32 = 999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Sha256,
    Sha512,
}

#[derive(Debug, Clone)]
pub struct ShaCrypt {
    variant: Variant,
    rounds: u32,
    salt: String,
    encoded: String,
}

impl ShaCrypt {
    pub fn parse(stored: &str) -> Result<ShaCrypt, String> {
        let (variant, rest) = if let Some(r) = stored.strip_prefix("$5$") {
            (Variant::Sha256, r)
        } else if let Some(r) = stored.strip_prefix("$6$") {
            (Variant::Sha512, r)
        } else {
            return Err("not a SHA crypt hash".to_string());
        };
        let (rounds, rest) = match rest.strip_prefix("rounds=") {
            Some(r) => {
                let Some((n, rest)) = r.split_once('$') else {
                    return Err("SHA crypt rounds= without '$'".to_string());
                };
                let n: u32 = n
                    .parse()
                    .map_err(|_| format!("SHA crypt rounds={n} is not a number"))?;
                (n.clamp(MIN_ROUNDS, MAX_ROUNDS), rest)
            }
            None => (DEFAULT_ROUNDS, rest),
        };
        let Some((salt, encoded)) = rest.split_once('$') else {
            return Err("SHA crypt hash has no '$' after the salt".to_string());
        };
        // Salts longer than 16 characters are truncated by the specification.
        let salt: String = salt.chars().take(16).collect();
        let want = match variant {
            Variant::Sha256 => 43,
            Variant::Sha512 => 86,
        };
        if encoded.len() != want || !encoded.bytes().all(super::is_crypt64) {
            return Err(format!(
                "SHA crypt hash must be {want} characters of ./0-9A-Za-z"
            ));
        }
        Ok(ShaCrypt {
            variant,
            rounds,
            salt,
            encoded: encoded.to_string(),
        })
    }

    pub fn verify(&self, password: &[u8]) -> bool {
        let computed = match self.variant {
            Variant::Sha256 => encode256(&sha_crypt::<Sha256>(
                password,
                self.salt.as_bytes(),
                self.rounds,
            )),
            Variant::Sha512 => encode512(&sha_crypt::<Sha512>(
                password,
                self.salt.as_bytes(),
                self.rounds,
            )),
        };
        crate::ct::eq(computed.as_bytes(), self.encoded.as_bytes())
    }
}

/// `bytes` repeated to `len` bytes.
fn repeat_to(bytes: &[u8], len: usize) -> Vec<u8> {
    bytes.iter().copied().cycle().take(len).collect()
}

/// The raw digest of SHA crypt (steps 1 to 21 of the specification).
fn sha_crypt<D: Digest + Clone>(pw: &[u8], salt: &[u8], rounds: u32) -> Vec<u8> {
    let b = D::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut a = D::new().chain_update(pw).chain_update(salt);
    a.update(repeat_to(&b, pw.len()));
    let mut n = pw.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(&b);
        } else {
            a.update(pw);
        }
        n >>= 1;
    }
    let a = a.finalize();
    let mut dp = D::new();
    for _ in 0..pw.len() {
        dp.update(pw);
    }
    let p = repeat_to(&dp.finalize(), pw.len());
    let mut ds = D::new();
    let first = a.first().copied().unwrap_or(0);
    for _ in 0..16 + usize::from(first) {
        ds.update(salt);
    }
    let s = repeat_to(&ds.finalize(), salt.len());
    let mut c = a.to_vec();
    for round in 0..rounds {
        let mut h = D::new();
        if round & 1 == 1 {
            h.update(&p);
        } else {
            h.update(&c);
        }
        if round % 3 != 0 {
            h.update(&s);
        }
        if round % 7 != 0 {
            h.update(&p);
        }
        if round & 1 == 1 {
            h.update(&c);
        } else {
            h.update(&p);
        }
        c = h.finalize().to_vec();
    }
    c
}

fn encode256(c: &[u8]) -> String {
    super::encode(
        c,
        &[
            (0, 10, 20),
            (21, 1, 11),
            (12, 22, 2),
            (3, 13, 23),
            (24, 4, 14),
            (15, 25, 5),
            (6, 16, 26),
            (27, 7, 17),
            (18, 28, 8),
            (9, 19, 29),
        ],
        (Some(31), 30),
        3,
    )
}

fn encode512(c: &[u8]) -> String {
    super::encode(
        c,
        &[
            (0, 21, 42),
            (22, 43, 1),
            (44, 2, 23),
            (3, 24, 45),
            (25, 46, 4),
            (47, 5, 26),
            (6, 27, 48),
            (28, 49, 7),
            (50, 8, 29),
            (9, 30, 51),
            (31, 52, 10),
            (53, 11, 32),
            (12, 33, 54),
            (34, 55, 13),
            (56, 14, 35),
            (15, 36, 57),
            (37, 58, 16),
            (59, 17, 38),
            (18, 39, 60),
            (40, 61, 19),
            (62, 20, 41),
        ],
        (None, 63),
        2,
    )
}
