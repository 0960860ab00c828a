//! A token, verified against the fixture providers (RSA, EC, Ed25519 keys and
//! an HS256 secret, at the fixtures' instant); its claims checked on their
//! own too (the fuzzer cannot sign, so `check_claims` is reached directly);
//! and the same text read as a header, query and cookie.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tollgate_auth::jwt::{self, extract, token, verify, Jwks, JwtProvider};

const NOW: u64 = tollgate_common::testing::FAKE_NOW_SECS;
const JWKS: &str = include_str!("../../filters/auth/src/jwt/testdata/jwks.json");
const JWKS_MIXED: &str = include_str!("../../filters/auth/src/jwt/testdata/jwks_mixed.json");
const HMAC: &str = include_str!("../../filters/auth/src/jwt/testdata/hmac_secret.txt");

fn providers() -> &'static [JwtProvider] {
    static P: OnceLock<Vec<JwtProvider>> = OnceLock::new();
    P.get_or_init(|| {
        let base = serde_json::json!({
            "issuer": "https://issuer.example",
            "audiences": ["api.example"],
            "local_jwks": {"inline_string": JWKS},
            "local_hmac_secret": {"inline_string": HMAC},
        });
        let strict = serde_json::json!({
            "local_jwks": {"inline_string": JWKS_MIXED},
            "require_expiration": true,
            "max_lifetime": "3600s",
            "subjects": {"prefix": "a"},
            "clock_skew_seconds": 0,
            "identity_claim": "org.team",
            "claim_to_headers": [{"header_name": "x-team", "claim_name": "org.team"}],
        });
        [base, strict]
            .iter()
            .map(|p| JwtProvider::from_json(&p.to_string()).expect("fixture provider"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let empty = Jwks::default();
    for p in providers() {
        let _ = verify(text, p, p.local_jwks().unwrap_or(&empty), NOW);
        if let Ok(t) = token::decode(text) {
            if let Ok(claims) = t.claims() {
                let _ = jwt::verify::check_claims(&claims, p, NOW);
                let _ = jwt::claim_text(&claims, &p.identity_claim);
                let _ = jwt::claim_text(&claims, "org.team.name");
            }
        }
    }
    let _ = extract::from_header(text, "Bearer ");
    let _ = extract::from_query(text, "access_token");
    let _ = extract::from_cookies(text, "jwt");
});
