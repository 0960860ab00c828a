//! The `ext_authz` leaf in decisions: when the service is asked, and the
//! decision after its answer.

use super::*;
use crate::jwt::leaf::NoKeys;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use tollgate_common::testing::request;
use tollgate_common::testing::MemoryStore;

fn config() -> Config {
    crate::policy::config::parse(json!({
        "api_key": {"credentials": [{"key": "k1", "client": "one"}],
                    "key_sources": [{"header": "x-api-key"}]},
        "basic": {"users": "bob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO"},
        "ext_authz": {"http_service": {"server_uri": {"uri": "http://authz", "cluster": "authz"}}},
        "rules": [
            {"match": {"path": {"prefix": "/ext"}}, "requires": {"ext_authz": {}}},
            {"match": {"path": {"prefix": "/all"}},
             "requires": {"requires_all": [{"basic": {}}, {"ext_authz": {}}]}},
            {"match": {"path": {"prefix": "/any"}},
             "requires": {"requires_any": [{"api_key": {}}, {"ext_authz": {}}]}},
            {"match": {"path": {"prefix": "/open"}}, "requires": {"allow_missing": {}}}
        ]
    }).to_string().as_bytes()).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn run(headers: &[(&str, &str)], answer: Option<Answer>) -> (Decision, Counts) {
    decide_answered(
        &config(),
        &request(headers),
        &MemoryStore::default(),
        &NoKeys,
        answer,
    )
}

fn denied() -> Outcome {
    Outcome::Denied(Reason::ExtAuthz, EXT_AUTHZ_DENIED.into())
}

#[test]
fn the_service_is_asked_only_when_its_answer_matters() {
    assert!(matches!(
        run(&[(":path", "/ext")], None).0,
        Decision::AskExtAuthz(_)
    ));
    assert!(matches!(
        run(&[(":path", "/any")], None).0,
        Decision::AskExtAuthz(_)
    ));
    // A good key decides requires_any; a missing or wrong password decides requires_all.
    let (d, _) = run(&[(":path", "/any"), ("x-api-key", "k1")], None);
    assert!(
        matches!(d, Decision::Allow { identity: Some(ref i), .. } if i == "one"),
        "{d:?}"
    );
    let (d, _) = run(&[(":path", "/all")], None);
    assert!(
        matches!(
            d,
            Decision::Deny {
                reason: Reason::Missing,
                ..
            }
        ),
        "{d:?}"
    );
    let (d, counts) = run(
        &[(":path", "/all"), ("authorization", &basic("bob", "wrong"))],
        None,
    );
    assert!(
        matches!(
            d,
            Decision::Deny {
                reason: Reason::Invalid,
                ..
            }
        ),
        "{d:?}"
    );
    assert_eq!(counts.cache_misses, 1, "checked once for both evaluations");
    // allow_missing never consults the service.
    assert!(matches!(
        run(&[(":path", "/open")], None).0,
        Decision::Allow { .. }
    ));
}

#[test]
fn the_answer_decides_with_the_carried_method_results() {
    let good = basic("bob", "secret");
    let (d, counts) = run(&[(":path", "/all"), ("authorization", &good)], None);
    assert_eq!(counts.cache_misses, 1);
    let Decision::AskExtAuthz(checked) = d else {
        panic!("{d:?}");
    };
    // The carried Basic result is used: the request is not checked again.
    let answer = |leaf| {
        Some(Answer {
            leaf,
            checked: checked.clone(),
        })
    };
    let (d, counts) = run(
        &[(":path", "/all")],
        answer(Outcome::Granted(Grant::default())),
    );
    assert!(
        matches!(d, Decision::Allow { identity: Some(ref i), .. } if i == "bob"),
        "{d:?}"
    );
    assert_eq!(counts.cache_misses + counts.cache_hits, 1);
    let (d, _) = run(&[(":path", "/all")], answer(denied()));
    assert!(
        matches!(
            d,
            Decision::Deny {
                reason: Reason::ExtAuthz,
                ..
            }
        ),
        "{d:?}"
    );
    // The service's identity when no credential names one.
    let grant = Grant {
        identity: Some("svc".into()),
        headers: vec![],
    };
    let (d, _) = run(
        &[(":path", "/ext")],
        Some(Answer {
            leaf: Outcome::Granted(grant),
            checked: Checked::default(),
        }),
    );
    assert!(
        matches!(d, Decision::Allow { identity: Some(ref i), .. } if i == "svc"),
        "{d:?}"
    );
}

#[test]
fn the_leaf_needs_the_top_level_block() {
    let e = crate::policy::config::parse(br#"{"rules": [{"requires": {"ext_authz": {}}}]}"#)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("rules[0].requires.ext_authz: needs the top-level ext_authz"),
        "{e}"
    );
}
