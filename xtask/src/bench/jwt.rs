//! The JWT scenarios' keys and tokens. The tests' JWT minting script
//! (`tests/jwt/mint.py`, with the stable keys in `tests/jwt/keys/`, which
//! guard nothing) printed `jwt/jwks.json` and the "same token" tokens, and
//! mints the "new token every request" tokens before each run
//! (`cryptography`, from the harness's Python). wrk sends those with a Lua script that takes the next token from
//! the list for every request.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::proc;

/// The JWKS both Tollgate and `jwt_authn` get inline (`local_jwks`).
pub const JWKS: &str = include_str!("jwt/jwks.json");
pub const ISSUER: &str = "https://bench.tollgate.test";
pub const AUDIENCE: &str = "bench";

/// Distinct tokens minted per algorithm for the "new token" scenarios.
/// wrk goes through them in order, each run starting where the last one
/// stopped, and wraps around: a token comes back only after 16,383 others,
/// whose insertions have by then evicted it from Tollgate's verified-token
/// cache (1,024 slots by default, so a slot survives 16k insertions with
/// probability e^-16). The run prints the cache counters to prove it.
pub const FRESH_TOKENS: u64 = 16_384;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlg {
    Rs256,
    Es256,
}

impl JwtAlg {
    /// A token valid until 2100, sent on every request of the "same token" scenarios.
    pub fn same_token(self) -> &'static str {
        match self {
            JwtAlg::Rs256 => include_str!("jwt/same-rs256.jwt").trim(),
            JwtAlg::Es256 => include_str!("jwt/same-es256.jwt").trim(),
        }
    }

    /// The file (in the bench's directory) holding the fresh tokens.
    pub fn tokens_file(self) -> &'static str {
        match self {
            JwtAlg::Rs256 => "rs256.txt",
            JwtAlg::Es256 => "es256.txt",
        }
    }
}

/// Mints [`FRESH_TOKENS`] tokens per algorithm into `dir`.
pub fn mint(root: &Path, dir: &Path) -> Result<()> {
    let started = Instant::now();
    let python = tollgate_tests::pyjwt::python();
    let keys = root.join("tests/jwt/keys");
    let mut cmd = Command::new(python);
    cmd.arg("-c")
        .arg(tollgate_tests::pyjwt::MINT)
        .arg(&keys)
        .arg("bench")
        .arg(dir)
        .arg(FRESH_TOKENS.to_string());
    proc::output(&mut cmd).context("minting the JWT scenarios' tokens (tests/jwt/mint.py)")?;
    eprintln!(
        "bench: minted {FRESH_TOKENS} RS256 and ES256 tokens in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A wrk script sending the tokens of `tokens` (one a line) in turn as
/// `authorization: Bearer`, from line `args[1]` (0-based, wrapping).
pub fn lua_script(tokens: &Path) -> String {
    let path = tokens
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!(
        r#"-- Written by cargo xtask bench: a new JWT on every request.
local tokens, n, i = {{}}, 0, 0
function init(args)
  for line in io.lines("{path}") do
    n = n + 1
    tokens[n] = "Bearer " .. line
  end
  i = (tonumber(args[1]) or 0) % n
end
function request()
  i = i % n + 1
  wrk.headers["authorization"] = tokens[i]
  return wrk.format()
end
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_tokens_name_the_committed_keys() {
        for (alg, kid) in [
            (JwtAlg::Rs256, "bench-rs256"),
            (JwtAlg::Es256, "bench-es256"),
        ] {
            let head = alg.same_token().split('.').next().unwrap_or_default();
            let text =
                String::from_utf8(base64_url_decode(head).unwrap_or_default()).unwrap_or_default();
            assert!(text.contains(kid), "{text}");
            assert!(JWKS.contains(kid));
        }
    }

    #[test]
    fn script_reads_the_file_and_starts_at_the_offset() {
        let s = lua_script(Path::new("/tmp/x \"y\"/rs256.txt"));
        assert!(s.contains(r#"io.lines("/tmp/x \"y\"/rs256.txt")"#), "{s}");
        assert!(s.contains("tonumber(args[1])"));
    }

    /// Base64url without padding (enough for a JWS header in a test).
    fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in text.bytes() {
            let v = alphabet.iter().position(|a| *a == c)? as u32;
            bits = (bits << 6) | v;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
                bits &= (1 << n) - 1;
            }
        }
        Some(out)
    }
}
