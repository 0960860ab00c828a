use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use tollgate_common::testing::request;
use tollgate_common::testing::MemoryStore;

fn methods_config() -> crate::policy::config::Config {
    crate::policy::config::parse(json!({
        "api_key": {"credentials": [{"key": "k1", "client": "one"}, {"key": "k2", "client": "two"}],
                    "key_sources": [{"header": "x-api-key"}],
                    "forwarding": {"header": "x-api-client"}},
        "basic": {"users": "bob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO",
                  "forward_username_header": "x-user"}
    }).to_string().as_bytes()).unwrap()
}

fn req(r: serde_json::Value) -> Requirement {
    serde_json::from_value(r).unwrap()
}

fn eval(r: serde_json::Value, headers: &[(&str, &str)]) -> Outcome {
    let config = methods_config();
    let request = request(headers);
    let store = MemoryStore::default();
    Evaluator::new(config.methods(), &request, &store).eval(&req(r))
}

fn granted(id: Option<&str>) -> impl Fn(&Outcome) -> bool + '_ {
    move |o| matches!(o, Outcome::Granted(g) if g.identity.as_deref() == id)
}

const KEY1: (&str, &str) = ("x-api-key", "k1");
const KEY2: (&str, &str) = ("x-api-key", "k2");
const BAD_KEY: (&str, &str) = ("x-api-key", "nope");

fn basic(pw: &str) -> (&'static str, String) {
    (
        "authorization",
        format!("Basic {}", STANDARD.encode(format!("bob:{pw}"))),
    )
}

#[test]
fn leaves() {
    let any_key = json!({"api_key": {}});
    assert!(granted(Some("one"))(&eval(any_key.clone(), &[KEY1])));
    assert_eq!(eval(any_key.clone(), &[]), Outcome::Missing);
    assert!(matches!(
        eval(any_key, &[BAD_KEY]),
        Outcome::Denied(Reason::Invalid, _)
    ));
    let only_two = json!({"api_key": {"allowed_clients": ["two"]}});
    assert!(matches!(
        eval(only_two.clone(), &[KEY1]),
        Outcome::Denied(Reason::Forbidden, _)
    ));
    match eval(only_two, &[KEY2]) {
        Outcome::Granted(g) => assert_eq!(
            g.headers,
            vec![("x-api-client".to_string(), "two".to_string())]
        ),
        o => panic!("{o:?}"),
    }
    let (n, v) = basic("secret");
    match eval(json!({"basic": {}}), &[(n, &v)]) {
        Outcome::Granted(g) => {
            assert_eq!(g.identity.as_deref(), Some("bob"));
            assert_eq!(g.headers, vec![("x-user".to_string(), "bob".to_string())]);
        }
        o => panic!("{o:?}"),
    }
    let (n, v) = basic("wrong");
    assert!(matches!(
        eval(json!({"basic": {}}), &[(n, &v)]),
        Outcome::Denied(Reason::Invalid, _)
    ));
    assert!(matches!(
        eval(json!({"basic": {}}), &[("authorization", "Basic =")]),
        Outcome::Denied(Reason::Invalid, _)
    ));
}

#[test]
fn requires_any() {
    let r = json!({"requires_any": [{"api_key": {"allowed_clients": ["two"]}}, {"basic": {}}]});
    let (n, good) = basic("secret");
    let (_, bad) = basic("wrong");
    assert!(granted(Some("two"))(&eval(r.clone(), &[KEY2])));
    assert!(granted(Some("bob"))(&eval(r.clone(), &[(n, &good)])));
    // First success wins, a failure before it does not matter.
    assert!(granted(Some("bob"))(&eval(r.clone(), &[KEY1, (n, &good)])));
    assert_eq!(eval(r.clone(), &[]), Outcome::Missing);
    // A failure outranks a missing credential.
    assert!(matches!(
        eval(r.clone(), &[KEY1]),
        Outcome::Denied(Reason::Forbidden, _)
    ));
    assert!(matches!(
        eval(r, &[(n, &bad)]),
        Outcome::Denied(Reason::Invalid, _)
    ));
}

#[test]
fn requires_all() {
    let r = json!({"requires_all": [{"api_key": {}}, {"basic": {}}]});
    let (n, good) = basic("secret");
    match eval(r.clone(), &[KEY1, (n, &good)]) {
        Outcome::Granted(g) => {
            assert_eq!(g.identity.as_deref(), Some("one"));
            assert_eq!(g.headers.len(), 2);
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(eval(r.clone(), &[KEY1]), Outcome::Missing);
    assert!(matches!(
        eval(r, &[BAD_KEY, (n, &good)]),
        Outcome::Denied(Reason::Invalid, _)
    ));
}

#[test]
fn allow_missing() {
    let r = json!({"requires_any": [{"api_key": {}}, {"allow_missing": {}}]});
    assert!(granted(Some("one"))(&eval(r.clone(), &[KEY1])));
    assert!(granted(None)(&eval(r.clone(), &[])));
    assert!(matches!(
        eval(r.clone(), &[BAD_KEY]),
        Outcome::Denied(Reason::Invalid, _)
    ));
    // A bad credential for any configured method fails it.
    let (n, bad) = basic("wrong");
    assert!(matches!(
        eval(json!({"allow_missing": {}}), &[(n, &bad)]),
        Outcome::Denied(Reason::Invalid, _)
    ));
    assert!(granted(Some("one"))(&eval(
        json!({"allow_missing": {}}),
        &[KEY1]
    )));
}

#[test]
fn allow_missing_or_failed() {
    let r = json!({"requires_any": [{"api_key": {}}, {"allow_missing_or_failed": {}}]});
    assert!(granted(Some("one"))(&eval(r.clone(), &[KEY1])));
    assert!(granted(None)(&eval(r.clone(), &[])));
    assert!(granted(None)(&eval(r, &[BAD_KEY])));
    let (n, good) = basic("secret");
    assert!(granted(Some("bob"))(&eval(
        json!({"allow_missing_or_failed": {}}),
        &[BAD_KEY, (n, &good)]
    )));
}

#[test]
fn each_method_checks_once() {
    let config = methods_config();
    let (n, bad) = basic("wrong");
    let request = request(&[(n, &bad)]);
    let store = MemoryStore::default();
    let e = Evaluator::new(config.methods(), &request, &store);
    let r = req(json!({"requires_any": [{"basic": {}}, {"basic": {}}, {"allow_missing": {}}]}));
    assert!(matches!(e.eval(&r), Outcome::Denied(Reason::Invalid, _)));
    // One failure recorded per subject (user and address), not three.
    let counts: Vec<String> = store
        .data
        .borrow()
        .iter()
        .filter(|(k, _)| *k != "tollgate.auth.fail.last")
        .map(|(_, (v, _))| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert_eq!(counts.len(), 2);
    assert!(
        counts.iter().all(|v| v.split(' ').nth(1) == Some("1")),
        "{counts:?}"
    );
}

#[test]
fn shape_errors() {
    let err = |j: serde_json::Value| {
        serde_json::from_value::<Requirement>(j)
            .err()
            .unwrap()
            .to_string()
    };
    assert_eq!(req(json!({})), Requirement::NotRequired);
    assert!(err(json!({"basic": {}, "api_key": {}})).contains("at most one"));
    assert!(err(json!({"requires_any": []})).contains("must not be empty"));
    assert!(err(json!({"basic": {"realm": "x"}})).contains("unknown field"));
    assert!(err(json!({"jwt": "p"})).contains("unknown field"));
    assert!(
        err(json!({"requires_all": [{"api_key": {"allowed_clients": "x"}}]})).contains("sequence")
    );
}
