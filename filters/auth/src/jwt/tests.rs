//! Fixture-based tests: keys and tokens minted by PyJWT (`testdata/mint.py`),
//! verified at the fixed instant the fixtures were minted for.

mod attacks;
mod config;
mod extract;
mod jwks;
mod verify;

use super::*;
use serde_json::{json, Value};

/// tollgate_common::testing::FAKE_NOW_SECS, the `NOW` of mint.py.
pub const NOW: u64 = tollgate_common::testing::FAKE_NOW_SECS;
pub const EXP: u64 = 4_102_444_800;
pub const ISS: &str = "https://issuer.example";
pub const AUD: &str = "api.example";
pub const JWKS: &str = include_str!("testdata/jwks.json");
pub const JWKS_MIXED: &str = include_str!("testdata/jwks_mixed.json");
pub const HMAC_SECRET: &str = include_str!("testdata/hmac_secret.txt");
const TOKENS: &str = include_str!("testdata/tokens.json");

/// The fixture token `name`.
pub fn tok(name: &str) -> String {
    let all: Value = serde_json::from_str(TOKENS).unwrap();
    all[name]
        .as_str()
        .unwrap_or_else(|| panic!("no fixture token {name}"))
        .to_string()
}

/// The base provider (issuer, audience, the fixture JWKS and HMAC secret)
/// with `overrides` merged in; a `null` override removes the field.
pub fn provider(overrides: Value) -> JwtProvider {
    let mut base = json!({
        "issuer": ISS,
        "audiences": [AUD],
        "local_jwks": {"inline_string": JWKS},
        "local_hmac_secret": {"inline_string": HMAC_SECRET},
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    JwtProvider::from_json(&base.to_string()).unwrap()
}

/// Verifies fixture `name` with `p` at `now`.
pub fn check_at(p: &JwtProvider, name: &str, now: u64) -> Result<Verified, JwtError> {
    verify(
        &tok(name),
        p,
        p.local_jwks().unwrap_or(&Jwks::default()),
        now,
    )
}

pub fn check(p: &JwtProvider, name: &str) -> Result<Verified, JwtError> {
    check_at(p, name, NOW)
}

/// The reason `name` is refused with, or "ok".
pub fn outcome(p: &JwtProvider, name: &str) -> &'static str {
    match check(p, name) {
        Ok(_) => "ok",
        Err(e) => e.reason.name(),
    }
}
