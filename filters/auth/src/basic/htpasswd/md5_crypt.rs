//! MD5 crypt: Apache's `$apr1$` (`htpasswd -m`, its default) and glibc's
//! `$1$`, the same algorithm under two magic strings (Poul-Henning Kamp's
//! md5crypt).

use md5::{Digest, Md5};

#[derive(Debug, Clone)]
pub struct Md5Crypt {
    magic: &'static str,
    salt: String,
    encoded: String,
}

impl Md5Crypt {
    pub fn parse(stored: &str) -> Result<Md5Crypt, String> {
        let (magic, rest) = if let Some(r) = stored.strip_prefix("$apr1$") {
            ("$apr1$", r)
        } else if let Some(r) = stored.strip_prefix("$1$") {
            ("$1$", r)
        } else {
            return Err("not an MD5 crypt hash".to_string());
        };
        let Some((salt, encoded)) = rest.split_once('$') else {
            return Err("MD5 crypt hash has no '$' after the salt".to_string());
        };
        if salt.is_empty() || salt.len() > 8 || !salt.bytes().all(super::is_crypt64) {
            return Err("MD5 crypt salt must be 1 to 8 characters of ./0-9A-Za-z".to_string());
        }
        if encoded.len() != 22 || !encoded.bytes().all(super::is_crypt64) {
            return Err("MD5 crypt hash must be 22 characters of ./0-9A-Za-z".to_string());
        }
        Ok(Md5Crypt {
            magic,
            salt: salt.to_string(),
            encoded: encoded.to_string(),
        })
    }

    pub fn verify(&self, password: &[u8]) -> bool {
        let computed = md5_crypt(password, self.magic.as_bytes(), self.salt.as_bytes());
        crate::ct::eq(computed.as_bytes(), self.encoded.as_bytes())
    }
}

/// The 22-character encoded digest of md5crypt.
pub fn md5_crypt(pw: &[u8], magic: &[u8], salt: &[u8]) -> String {
    let alt = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(pw)
        .chain_update(magic)
        .chain_update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(alt.get(..n).unwrap_or_default());
        left -= n;
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(pw.get(..1).unwrap_or_default());
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(pw);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(pw);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(pw);
        }
        fin = c.finalize();
    }
    super::encode(
        &fin,
        &[(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)],
        (None, 11),
        2,
    )
}
