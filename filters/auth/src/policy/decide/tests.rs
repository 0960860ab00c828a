use super::*;
use crate::edits::Op;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use tollgate_common::path::AmbiguousPathAction;
use tollgate_common::testing::request;
use tollgate_common::testing::MemoryStore;

fn config() -> Config {
    crate::policy::config::parse(json!({
        "api_key": {"credentials": [{"key": "k1", "client": "one"}],
                    "key_sources": [{"header": "x-api-key"}, {"query": "api_key"}],
                    "forwarding": {"header": "x-api-client", "hide_credentials": true}},
        "basic": {"users": "bob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO",
                  "realm": "staff", "forward_username_header": "x-user"},
        "rules": [
            {"match": {"path": {"prefix": "/public"}}, "requires": {"allow_missing_or_failed": {}}},
            {"match": {"path": {"prefix": "/key"}}, "requires": {"api_key": {}}},
            {"match": {"path": {"prefix": "/staff"}}, "requires": {"basic": {}}},
            {"match": {"path": {"prefix": "/either"}}, "requires": {"requires_any": [{"api_key": {}}, {"basic": {}}]}}
        ]
    }).to_string().as_bytes()).unwrap()
}

fn run(headers: &[(&str, &str)]) -> (Decision, Counts) {
    decide(&config(), &request(headers), &MemoryStore::default())
}

fn deny(headers: &[(&str, &str)]) -> (Reason, LocalReply) {
    match run(headers).0 {
        Decision::Deny { reason, reply } => (reason, reply),
        d => panic!("{headers:?} allowed: {d:?}"),
    }
}

fn allow(headers: &[(&str, &str)]) -> (Option<String>, Edits) {
    match run(headers).0 {
        Decision::Allow { identity, edits } => (identity, edits),
        d => panic!("{headers:?} denied: {d:?}"),
    }
}

#[test]
fn unmatched_requests_pass_with_spoofed_headers_stripped() {
    let (id, edits) = allow(&[
        (":path", "/other"),
        ("x-tollgate-identity", "admin"),
        ("x-user", "root"),
    ]);
    assert_eq!(id, None);
    assert_eq!(
        edits.0,
        vec![
            Op::Remove("x-tollgate-identity".into()),
            Op::Remove("x-user".into())
        ]
    );
}

#[test]
fn default_requires_applies_to_unmatched() {
    let mut c = config();
    c.default_requires = Some(Requirement::Basic);
    let (d, _) = decide(
        &c,
        &request(&[(":path", "/other")]),
        &MemoryStore::default(),
    );
    assert!(matches!(
        d,
        Decision::Deny {
            reason: Reason::Missing,
            ..
        }
    ));
}

#[test]
fn api_key_allowed_with_identity_forwarding_and_hiding() {
    let (id, edits) = allow(&[
        (":path", "/key/x?a=1&api_key=k1"),
        ("x-tollgate-identity", "spoof"),
    ]);
    assert_eq!(id.as_deref(), Some("one"));
    assert_eq!(
        edits.0,
        vec![
            Op::Remove("x-tollgate-identity".into()),
            Op::Set("x-tollgate-identity".into(), "one".into()),
            Op::Set("x-api-client".into(), "one".into()),
            Op::Set(":path".into(), "/key/x?a=1".into()),
        ]
    );
    let (_, edits) = allow(&[(":path", "/key"), ("x-api-key", "Bearer k1")]);
    assert!(edits.0.contains(&Op::Remove("x-api-key".into())));
}

#[test]
fn replies() {
    let (reason, reply) = deny(&[(":path", "/key")]);
    assert_eq!((reason, reply.status), (Reason::Missing, 401));
    assert!(reply
        .header_pairs()
        .contains(&("www-authenticate", "ApiKey")));
    let (reason, reply) = deny(&[(":path", "/staff"), ("authorization", "Basic Ym9iOndyb25n")]);
    assert_eq!((reason, reply.status), (Reason::Invalid, 401));
    assert!(reply
        .header_pairs()
        .contains(&("www-authenticate", "Basic realm=\"staff\"")));
    assert_eq!(
        reply.body(),
        r#"{"error":"unauthorized","reason":"wrong user name or password"}"#
    );
    let (_, reply) = deny(&[(":path", "/either")]);
    let challenges: Vec<_> = reply
        .header_pairs()
        .into_iter()
        .filter(|(n, _)| *n == "www-authenticate")
        .collect();
    assert_eq!(challenges.len(), 2);
    let (reason, reply) = deny(&[(":path", "/staff/../key/%zz")]);
    assert_eq!((reason, reply.status), (Reason::AmbiguousPath, 400));
    assert_eq!(reply.error, "ambiguous_path");
    let mut c = config();
    c.ambiguous_path_action = AmbiguousPathAction::MatchNormalized;
    let req = request(&[(":path", "/staff/../key/%zz")]);
    match decide(&c, &req, &MemoryStore::default()).0 {
        Decision::Deny { reason, reply } => {
            assert_eq!((reason, reply.status), (Reason::BadRequest, 400));
            assert_eq!(reply.error, "bad_request");
        }
        d => panic!("allowed: {d:?}"),
    }
}

#[test]
fn path_spellings_cannot_bypass() {
    for p in ["//staff", "/%73taff/x", "/staff/?a", "/staff?/../public"] {
        let (reason, _) = deny(&[(":path", p)]);
        assert_eq!(reason, Reason::Missing, "{p}");
    }
    for p in [
        "/public/../staff",
        "/staff;x=1",
        "/staff/..;/public",
        "/staff\\..\\public",
        "/staff/%5c..%5cpublic",
        "/public%2f..%2fstaff",
        "/public/%2e%2e/staff",
        "/%2573taff",
    ] {
        let (reason, reply) = deny(&[(":path", p)]);
        assert_eq!(reason, Reason::AmbiguousPath, "{p}");
        assert_eq!(reply.status, 400, "{p}");
        assert!(reply.body().contains("ambiguous_path"), "{p}");
    }
}

#[test]
fn match_normalized_judges_the_normalized_path() {
    let mut c = config();
    c.ambiguous_path_action = AmbiguousPathAction::MatchNormalized;
    for p in ["/public/../staff", "/staff;x=1", "/public/..;/staff"] {
        let req = request(&[(":path", p)]);
        match decide(&c, &req, &MemoryStore::default()).0 {
            Decision::Deny { reason, .. } => assert_eq!(reason, Reason::Missing, "{p}"),
            d => panic!("{p} allowed: {d:?}"),
        }
    }
    // What the issue reported: judged under /public, while nginx serves /staff.
    let req = request(&[(":path", "/staff/..;/public")]);
    assert!(matches!(
        decide(&c, &req, &MemoryStore::default()).0,
        Decision::Allow { .. }
    ));
}

#[test]
fn without_path_rules_ambiguous_paths_pass() {
    let c = crate::policy::config::parse(
        json!({"basic": {"users": "bob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO"},
               "rules": [{"match": {"methods": ["POST"]}, "requires": {"basic": {}}}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert!(!c.has_path_rules);
    let req = request(&[(":path", "/a/..;/b"), (":method", "GET")]);
    assert!(matches!(
        decide(&c, &req, &MemoryStore::default()).0,
        Decision::Allow { .. }
    ));
}

#[test]
fn public_passes_and_identifies_when_it_can() {
    let (id, _) = allow(&[(":path", "/public"), ("x-api-key", "wrong")]);
    assert_eq!(id, None);
    let (id, _) = allow(&[(":path", "/public"), ("x-api-key", "k1")]);
    assert_eq!(id.as_deref(), Some("one"));
}

#[test]
fn cache_counts() {
    let c = config();
    let store = MemoryStore::default();
    let auth = format!("Basic {}", STANDARD.encode("bob:secret"));
    let h = [(":path", "/staff"), ("authorization", auth.as_str())];
    let (d, n) = decide(&c, &request(&h), &store);
    assert!(matches!(d, Decision::Allow { .. }));
    assert_eq!(
        n,
        Counts {
            cache_hits: 0,
            cache_misses: 1,
            ..Counts::default()
        }
    );
    let (d, n) = decide(&c, &request(&h), &store);
    match d {
        Decision::Allow { identity, edits } => {
            assert_eq!(identity.as_deref(), Some("bob"));
            assert_eq!(edits.value("x-user"), Some("bob"));
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(
        n,
        Counts {
            cache_hits: 1,
            cache_misses: 0,
            ..Counts::default()
        }
    );
}

mod ext_authz;
mod jwt;
