//! Forged and malformed JWTs, each signed with the real key wherever a
//! signature is involved (`tests/jwt/mint.py`, set `attacks`), so the attack is the only thing
//! wrong. Documented reasons (README, "JWT"): the body's `reason` starts
//! with the stable code, and none of them reaches the upstream.

use crate::common::{assert_refused, send_oversized_h1, send_oversized_h2, Upstream};
use serde_json::{json, Value};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

/// (token name, expected reason code); all 401.
const REFUSED: &[(&str, &str)] = &[
    ("alg_none_signed", "alg_not_allowed"),
    ("alg_None", "alg_not_allowed"),
    ("alg_rs256_lowercase", "alg_not_allowed"),
    ("alg_missing", "malformed"),
    ("kid_path", "unknown_kid"),
    ("kid_url", "unknown_kid"),
    ("kid_empty", "unknown_kid"),
    ("kid_nul", "unknown_kid"),
    ("kid_number", "malformed"),
    ("kid_ec_for_rs256", "alg_not_allowed"),
    ("kid_rsa_for_es256", "alg_not_allowed"),
    ("jku_header", "unknown_kid"),
    ("crit", "malformed"),
    ("crit_empty", "malformed"),
    ("exp_1e300", "malformed"),
    ("exp_u64_overflow", "malformed"),
    ("exp_negative", "malformed"),
    ("exp_string", "malformed"),
    ("exp_nan_text", "malformed"),
    ("nbf_1e300", "malformed"),
    ("iat_future", "not_yet_valid"),
    ("sig_stripped", "malformed"),
    ("sig_two_parts", "malformed"),
    ("sig_of_other_token", "bad_signature"),
    ("payload_swapped", "bad_signature"),
    ("dup_header_alg", "malformed"),
    ("dup_claim_sub", "malformed"),
    ("dup_claim_exp", "malformed"),
    ("b64_padded_sig", "malformed"),
    ("b64_padded_payload", "malformed"),
    ("b64_std_alphabet", "malformed"),
    ("b64_trailing_bits", "malformed"),
    ("four_parts", "malformed"),
    ("whitespace_inside", "malformed"),
];

fn start() -> (Value, EchoServer, Envoy) {
    let minted = tollgate_tests::pyjwt::mint("attacks");
    let config = json!({
        "jwt": {
            "providers": {"idp": {
                "issuer": "https://issuer.test",
                "audiences": ["api.test"],
                "local_jwks": {"inline_string": minted["jwks"].to_string()},
                "forward_payload_header": "x-jwt-payload"
            }},
            "realm": "test"
        },
        "rules": [{"match": {"path": {"prefix": "/jwt"}}, "requires": {"provider_name": "idp"}}]
    });
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(&Bootstrap::new(echo.port()).wasm("auth", &config));
    (minted, echo, envoy)
}

fn token(minted: &Value, name: &str) -> String {
    minted["tokens"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no token {name}"))
        .to_string()
}

fn bearer(port: u16, token: &str, proto: tollgate_tests::client::Proto) -> Response {
    Request::get("/jwt/x")
        .header("authorization", &format!("Bearer {token}"))
        .header("x-tollgate-identity", "admin")
        .send(port, proto)
}

#[test]
fn forged_and_malformed_tokens_are_refused_with_their_reason() {
    let (minted, echo, envoy) = start();
    let port = envoy.port;
    for proto in BOTH {
        let r = bearer(port, &token(&minted, "good"), proto);
        assert_eq!(r.status, 200, "the good token: {}", r.text());
        assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["alice"]);
        // A huge but integral exp is a far-future expiry, as in Envoy (which
        // reads NumericDate as a double below 2^64): valid, and cacheable.
        let r = bearer(port, &token(&minted, "exp_i64_max_plus_1"), proto);
        assert_eq!(r.status, 200, "exp = 2^63: {}", r.text());
    }
    assert_eq!(
        envoy.counter("tollgate.auth.jwt_cache_hits"),
        2,
        "the second of each came from the cache"
    );

    let upstream = Upstream::watch(&echo, &envoy);
    for proto in BOTH {
        for (name, reason) in REFUSED {
            let what = format!("{name} {proto:?}");
            let r = bearer(port, &token(&minted, name), proto);
            assert_refused(&r, 401, "unauthorized", &what);
            let got = r.json()["reason"].as_str().unwrap_or_default().to_string();
            assert!(
                got.starts_with(reason),
                "{what}: reason {got:?}, want {reason}"
            );
            assert_eq!(
                r.header("www-authenticate"),
                Some(r#"Bearer realm="test", error="invalid_token""#),
                "{what}"
            );
        }
    }
    upstream.assert_nothing("forged tokens");
    assert_eq!(
        envoy.counter("tollgate.auth.denied.invalid"),
        2 * REFUSED.len() as u64
    );
    for code in [
        "malformed",
        "alg_not_allowed",
        "unknown_kid",
        "bad_signature",
        "not_yet_valid",
    ] {
        let want = 2 * REFUSED.iter().filter(|(_, r)| *r == code).count() as u64;
        assert_eq!(
            envoy.counter(&format!("tollgate.auth.denied.jwt.{code}")),
            want,
            "{code}"
        );
    }
    // The VM still serves.
    assert_eq!(bearer(port, &token(&minted, "good"), BOTH[0]).status, 200);
}

/// A token of many megabytes: Envoy's header limit (60 KiB by default)
/// refuses it before any filter runs: 431 over HTTP/1.1, the stream or
/// connection reset (or 431) over HTTP/2. Within the limit, the filter's
/// own 16 KiB bound answers `too_large`. Nothing reaches the upstream.
#[test]
fn a_token_of_megabytes_never_reaches_a_filter_or_the_upstream() {
    let (minted, echo, envoy) = start();
    let port = envoy.port;
    let upstream = Upstream::watch(&echo, &envoy);
    let huge = format!("{}.{}.{}", "e".repeat(2 << 20), "e".repeat(2 << 20), "e");
    let raw = format!(
        "GET /jwt/x HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nauthorization: Bearer {huge}\r\n\r\n"
    );
    assert_eq!(
        send_oversized_h1(port, raw.as_bytes()),
        Some(431),
        "header over Envoy's limit, HTTP/1.1"
    );
    let raw = format!(
        "GET /jwt/x?access_token={huge} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(
        send_oversized_h1(port, raw.as_bytes()),
        Some(431),
        "query over Envoy's limit, HTTP/1.1"
    );
    let h2 = send_oversized_h2(port, "/jwt/x", &format!("authorization: Bearer {huge}"));
    assert!(matches!(h2, None | Some(431)), "HTTP/2: {h2:?}");
    // 40 KB: under Envoy's limit, over the filter's.
    let big = format!("{}.{}.{}", "e".repeat(20_000), "e".repeat(20_000), "e");
    for proto in BOTH {
        let r = bearer(port, &big, proto);
        assert_refused(&r, 401, "unauthorized", "40 KB token");
        assert!(r.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("too_large"));
    }
    upstream.assert_nothing("oversized tokens");
    assert_eq!(envoy.counter("tollgate.auth.denied.jwt.too_large"), 2);
    assert_eq!(
        bearer(port, &token(&minted, "good"), BOTH[1]).status,
        200,
        "the VM still serves"
    );
}
