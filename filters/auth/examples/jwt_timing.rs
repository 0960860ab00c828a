//! Native cost of one full JWT verification per algorithm (decode, key
//! choice, signature, claims), printed, never asserted:
//! `cargo run -p tollgate-auth --release --example jwt_timing`

use serde_json::{json, Value};
use std::time::Instant;
use tollgate_auth::jwt::{verify, Jwks, JwtProvider};

const JWKS: &str = include_str!("../src/jwt/testdata/jwks.json");
const HMAC_SECRET: &str = include_str!("../src/jwt/testdata/hmac_secret.txt");
const TOKENS: &str = include_str!("../src/jwt/testdata/tokens.json");
const NOW: u64 = tollgate_common::testing::FAKE_NOW_SECS;

fn main() -> Result<(), String> {
    let config = json!({
        "issuer": "https://issuer.example",
        "audiences": ["api.example"],
        "local_jwks": {"inline_string": JWKS},
        "local_hmac_secret": {"inline_string": HMAC_SECRET},
    });
    let p = JwtProvider::from_json(&config.to_string()).map_err(|e| e.to_string())?;
    let jwks = p.local_jwks().ok_or("no local JWKS")?;
    let tokens: Value = serde_json::from_str(TOKENS).map_err(|e| e.to_string())?;
    for name in [
        "rs256", "rs512", "ps256", "es256", "es384", "eddsa", "hs256",
    ] {
        let t = tokens
            .get(name)
            .and_then(Value::as_str)
            .ok_or(format!("no token {name}"))?;
        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            verify(t, &p, jwks, NOW).map_err(|e| format!("{name}: {}", e.reason.name()))?;
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
        println!("jwt verify {name:>6}: {us:8.1} us");
    }
    let start = Instant::now();
    for _ in 0..200 {
        Jwks::parse(JWKS)?;
    }
    println!(
        "JWKS parse (5 keys): {:8.1} us",
        start.elapsed().as_secs_f64() * 1e6 / 200.0
    );
    Ok(())
}
