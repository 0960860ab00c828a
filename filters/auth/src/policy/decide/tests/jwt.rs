//! The JWT leaf through `decide`: fixtures from `jwt/testdata` (local JWKS),
//! at the instant they were minted for.

use super::*;
use crate::edits::Op;
use serde_json::{json, Value};
use tollgate_common::testing::request;
use tollgate_common::testing::MemoryStore;

const JWKS: &str = include_str!("../../../jwt/testdata/jwks.json");
const TOKENS: &str = include_str!("../../../jwt/testdata/tokens.json");

fn tok(name: &str) -> String {
    let all: Value = serde_json::from_str(TOKENS).unwrap();
    all[name].as_str().unwrap().to_string()
}

fn config() -> Config {
    crate::policy::config::parse(
        json!({
            "jwt": {"providers": {"idp": {
                "issuer": "https://issuer.example",
                "audiences": ["api.example"],
                "local_jwks": {"inline_string": JWKS},
                "claim_to_headers": [{"header_name": "x-sub", "claim_name": "sub"}],
                "forward_payload_header": "x-payload"
            }}, "realm": "r"},
            "rules": [
                {"match": {"path": {"prefix": "/other-aud"}},
                 "requires": {"provider_and_audiences": {"provider_name": "idp", "audiences": ["elsewhere"]}}},
                {"match": {"path": {"prefix": "/open"}}, "requires": {"allow_missing_or_failed": {}}},
                {"match": {"path": {"prefix": "/"}}, "requires": {"provider_name": "idp"}}
            ]
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

fn run(c: &Config, store: &MemoryStore, path: &str, token: Option<&str>) -> (Decision, Counts) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h = vec![(":path", path), ("x-sub", "spoofed")];
    if let Some(a) = &auth {
        h.push(("authorization", a.as_str()));
    }
    decide(c, &request(&h), store)
}

#[test]
fn verified_once_then_cached_with_headers() {
    let (c, store) = (config(), MemoryStore::default());
    let (d, n) = run(&c, &store, "/a", Some(&tok("rs256")));
    let Decision::Allow { identity, edits } = d else {
        panic!("{d:?}")
    };
    assert_eq!(identity.as_deref(), Some("alice"));
    assert_eq!(edits.value("x-sub"), Some("alice"));
    assert!(edits.value("x-payload").is_some());
    assert!(
        edits.0.contains(&Op::Remove("authorization".into())),
        "forward: false"
    );
    assert_eq!((n.jwt_cache_hits, n.jwt_cache_misses), (0, 1));
    let (d2, n) = run(&c, &store, "/a", Some(&tok("rs256")));
    assert_eq!((n.jwt_cache_hits, n.jwt_cache_misses), (1, 0));
    assert!(matches!(d2, Decision::Allow { identity: Some(ref i), .. } if i == "alice"));
}

fn challenge(reply: &LocalReply) -> Vec<&str> {
    reply.headers.all("www-authenticate")
}

#[test]
fn denials_carry_status_challenge_and_reason() {
    let (c, store) = (config(), MemoryStore::default());
    let deny = |path: &str, t: Option<&str>| match run(&c, &store, path, t).0 {
        Decision::Deny { reason, reply } => (reason, reply),
        d => panic!("{path} {t:?}: {d:?}"),
    };
    let (r, reply) = deny("/a", None);
    assert_eq!((r, reply.status), (Reason::Missing, 401));
    assert_eq!(challenge(&reply), ["Bearer realm=\"r\""]);
    let (r, reply) = deny("/a", Some(&tok("expired")));
    assert_eq!(r, Reason::Jwt(crate::jwt::Reason::Expired));
    assert!(reply.reason.starts_with("expired"));
    assert_eq!(
        challenge(&reply),
        ["Bearer realm=\"r\", error=\"invalid_token\""]
    );
    let (r, reply) = deny("/a", Some(&tok("wrong_aud")));
    assert_eq!(
        (r, reply.status),
        (Reason::Jwt(crate::jwt::Reason::BadAudience), 403)
    );
    // provider_and_audiences replaces the provider's audiences.
    let (_, reply) = deny("/other-aud", Some(&tok("rs256")));
    assert_eq!(reply.status, 403);
    // allow_missing_or_failed: a bad token passes without identity.
    let d = run(&c, &store, "/open", Some(&tok("alg_none"))).0;
    assert!(matches!(d, Decision::Allow { identity: None, .. }), "{d:?}");
}

#[test]
fn unknown_provider_is_a_config_error_with_its_path() {
    let bad = |rules: Value| {
        crate::policy::config::parse(
            json!({"jwt": {"providers": {"idp": {"local_jwks": {"inline_string": JWKS}}}},
                   "rules": rules})
            .to_string()
            .as_bytes(),
        )
        .unwrap_err()
        .to_string()
    };
    let e = bad(json!([{"requires": {"requires_any": [{"provider_name": "nope"}]}}]));
    assert!(
        e.contains("rules[0].requires.requires_any[0].provider_name"),
        "{e}"
    );
    assert!(e.contains("\"nope\""), "{e}");
    let e = bad(
        json!([{"requires": {"provider_and_audiences": {"provider_name": "x", "audiences": ["a"]}}}]),
    );
    assert!(
        e.contains("rules[0].requires.provider_and_audiences.provider_name"),
        "{e}"
    );
    let e = crate::policy::config::parse(br#"{"rules": [{"requires": {"provider_name": "p"}}]}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs the top-level jwt configuration"), "{e}");
}

/// Remote keys never here, a wait always allowed: what the glue sees while
/// a provider's JWKS endpoint is down or slow.
struct Waiting;

impl KeySets for Waiting {
    fn get(&self, _: usize, _: &crate::jwt::RemoteJwks) -> Option<std::rc::Rc<crate::jwt::Jwks>> {
        None
    }
    fn may_wait(&self, _: usize) -> bool {
        true
    }
    fn may_refetch(&self, _: usize, _: u64) -> bool {
        false
    }
}

#[test]
fn tokens_a_remote_provider_refuses_anyway_cost_no_wait_for_its_keys() {
    let c = crate::policy::config::parse(
        json!({
            "jwt": {"providers": {"idp": {
                "issuer": "https://issuer.example",
                "remote_jwks": {"http_uri": {"uri": "http://j/k", "cluster": "j", "timeout": "1s"}}
            }}},
            "rules": [{"match": {"path": {"prefix": "/"}}, "requires": {"provider_name": "idp"}}]
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let store = MemoryStore::default();
    let ask = |name: &str| {
        let auth = format!("Bearer {}", tok(name));
        decide_with(
            &c,
            &request(&[(":path", "/a"), ("authorization", &auth)]),
            &store,
            &Waiting,
        )
        .0
    };
    // Its own issuer: the request waits for the key set.
    assert!(
        matches!(ask("rs256"), Decision::Wait(ref b) if b == &[0]),
        "{:?}",
        ask("rs256")
    );
    // Another issuer, none, or a token refused before any key is used: at
    // once, with the reason it would get with the keys (Envoy's jwt_authn
    // too checks `iss` before fetching).
    use crate::jwt::Reason as J;
    for (name, want) in [
        ("wrong_iss", J::BadIssuer),
        ("no_iss", J::BadIssuer),
        ("dup_claim_sub", J::Malformed),
        ("alg_none", J::AlgNotAllowed),
        ("two_parts", J::Malformed),
    ] {
        let d = ask(name);
        assert!(
            matches!(d, Decision::Deny { reason: Reason::Jwt(r), .. } if r == want),
            "{name}: {d:?}"
        );
    }
}
