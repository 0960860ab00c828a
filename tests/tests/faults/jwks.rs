//! The JWKS endpoint failing every way (auth filter, `remote_jwks`).
//!
//! The auth filter has no switch for this: what a rule does when a key set
//! cannot be had is its requirement (README, "Remote JWKS"). A
//! `provider_name` rule fails closed with 503 `{"error": "unavailable"}`;
//! `requires_any [provider, allow_missing_or_failed]` (Envoy's optional JWT)
//! fails open: the request passes with no identity.
//!
//! Fail closed: each fault gets its own server and provider, so one Envoy
//! runs the table and every case starts with a fetch of its own.
//! Fail open: `allow_missing_or_failed` consults every provider of the
//! configuration, so that Envoy has one remote provider on one server whose
//! fault changes between rows (after the one-second backoff that follows a
//! failed fetch), and a local provider with another key for the requests
//! that show the VM still serves.

use crate::common::{assert_alive, assert_refused, assert_within, counter, timed, HUGE};
use serde_json::{json, Map, Value};
use std::time::Duration;
use tollgate_tests::bootstrap::{cluster, Bootstrap};
use tollgate_tests::client::{Proto, Request, Response};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::faulty::{Fault, FaultyServer};

const TIMEOUT: Duration = Duration::from_millis(500);

struct Minted {
    jwks: String,
    token: String,
    /// Signed by the same key, for another issuer.
    foreign: String,
    local: String,
    local_token: String,
}

fn mint() -> Minted {
    let m = tollgate_tests::pyjwt::mint("faults");
    let text = |k: &str| m[k].as_str().expect(k).to_string();
    Minted {
        jwks: m["jwks"].to_string(),
        token: text("token"),
        foreign: text("foreign"),
        local: m["local"].to_string(),
        local_token: text("local_token"),
    }
}

/// (name, fault): every way the endpoint fails.
fn faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("down", Fault::Down),
        ("slow", Fault::Slow(TIMEOUT * 4)),
        ("5xx", Fault::Status(503)),
        ("garbage", Fault::Garbage200),
        (
            "no_usable_key",
            Fault::Body200(
                r#"{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}]}"#.into(),
            ),
        ),
        ("not_http", Fault::NotHttp),
        ("huge", Fault::Huge(200, HUGE)),
    ]
}

fn provider(cluster: &str) -> Value {
    json!({
        "issuer": "https://issuer.test",
        "audiences": ["api.test"],
        "remote_jwks": {
            "http_uri": {"uri": "http://jwks.test/keys", "cluster": cluster, "timeout": "0.5s"},
            "cache_duration": "300s"
        }
    })
}

fn bearer(port: u16, path: &str, token: &str) -> Response {
    Request::get(path)
        .header("authorization", &format!("Bearer {token}"))
        .header("x-tollgate-identity", "spoofed")
        .send(port, Proto::H1)
}

fn assert_identity(r: &Response, want: &[&str], what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    let identity = r.upstream_header_values("x-tollgate-identity");
    assert_eq!(identity, want, "{what}: {}", r.text());
}

/// A slow endpoint is waited for up to the timeout (Envoy's timer may fire
/// a little early).
fn assert_waited(took: Duration, what: &str) {
    assert!(
        tollgate_tests::waited_for(took, TIMEOUT),
        "{what}: answered before the timeout ({took:?})"
    );
}

#[test]
fn jwks_endpoint_failures_fail_closed_on_provider_rules() {
    let m = mint();
    let faults = faults();
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let good = FaultyServer::start(&m.jwks);
    let servers: Vec<FaultyServer> = faults
        .iter()
        .map(|_| FaultyServer::start(&m.jwks))
        .collect();
    let mut providers = Map::new();
    providers.insert("ok".into(), provider("jwks_ok"));
    let mut rules =
        vec![json!({"match": {"path": {"prefix": "/ok"}}, "requires": {"provider_name": "ok"}})];
    let mut b = Bootstrap::new(echo.port()).cluster(good.cluster("jwks_ok"));
    for ((name, _), s) in faults.iter().zip(&servers) {
        providers.insert(format!("c_{name}"), provider(&format!("jwks_{name}")));
        rules.push(
            json!({"match": {"path": {"prefix": format!("/closed/{name}")}},
                          "requires": {"provider_name": format!("c_{name}")}}),
        );
        b = b.cluster(cluster(&format!("jwks_{name}"), s.port()));
    }
    let config = json!({"jwt": {"providers": providers, "realm": "test"}, "rules": rules});
    let envoy = Envoy::start(&b.wasm("auth", &config));
    let port = envoy.port;
    assert_identity(
        &bearer(port, "/ok/warm", &m.token),
        &["alice"],
        "the good provider",
    );

    for ((name, fault), server) in faults.iter().zip(&servers) {
        server.set(fault.clone());
        let what = format!("JWKS {name}, fail closed");
        let (r, took) = timed(|| bearer(port, &format!("/closed/{name}/x"), &m.token));
        let reason = format!("the key set of JWT provider \"c_{name}\"");
        assert_refused(&r, 503, "unavailable", &reason, &what);
        assert_within(took, TIMEOUT, &what);
        if *name == "slow" {
            assert_waited(took, &what);
        }
        // The same VM keeps serving.
        assert_identity(&bearer(port, "/ok/next", &m.token), &["alice"], name);
        assert_alive(&envoy, name);
        let hits = if *fault == Fault::Down { 0 } else { 1 };
        assert_eq!(server.hits(), hits, "{name}: one fetch");
    }
    assert!(
        echo.received_under("/closed").is_empty(),
        "a refused request reached the upstream"
    );
    let n = faults.len() as u64;
    assert_eq!(counter(&envoy, "auth", "jwks_fetches"), 1 + n);
    assert_eq!(counter(&envoy, "auth", "jwks_fetch_failures"), n);
    assert_eq!(counter(&envoy, "auth", "denied.unavailable"), n);

    // After the failure backoff (1 s) a request would wait for a fetch
    // again, but a token for another issuer is refused at once: it waits
    // for no provider's keys, and fetches none (as Envoy's jwt_authn).
    std::thread::sleep(Duration::from_millis(1100));
    for (name, _) in &faults {
        let what = format!("another issuer, JWKS {name}");
        let (r, took) = timed(|| bearer(port, &format!("/closed/{name}/x"), &m.foreign));
        assert_refused(&r, 401, "unauthorized", "bad_issuer", &what);
        assert_within(took, Duration::ZERO, &what);
    }
    assert_eq!(
        counter(&envoy, "auth", "jwks_fetches"),
        1 + n,
        "no fetch for another issuer"
    );
    // The endpoints come back: every provider fetches again and lets good
    // tokens through.
    for s in &servers {
        s.set(Fault::None);
    }
    for (name, _) in &faults {
        let r = bearer(port, &format!("/closed/{name}/again"), &m.token);
        assert_identity(&r, &["alice"], &format!("{name} recovered"));
    }
    assert_eq!(counter(&envoy, "auth", "jwks_fetch_failures"), n);
}

#[test]
fn jwks_endpoint_failures_fail_open_on_allow_missing_or_failed() {
    let m = mint();
    let faults = faults();
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let server = FaultyServer::start(&m.jwks);
    let mut local = provider("unused");
    if let Some(o) = local.as_object_mut() {
        o.remove("remote_jwks");
    }
    local["local_jwks"] = json!({"inline_string": m.local});
    let config = json!({
        "jwt": {"providers": {"o": provider("jwks"), "local": local}, "realm": "test"},
        "rules": [
            {"match": {"path": {"prefix": "/local"}}, "requires": {"provider_name": "local"}},
            {"match": {"path": {"prefix": "/open"}},
             "requires": {"requires_any": [{"provider_name": "o"}, {"allow_missing_or_failed": {}}]}}
        ]
    });
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &config)
            .cluster(server.cluster("jwks")),
    );
    let port = envoy.port;
    for (i, (name, fault)) in faults.iter().enumerate() {
        server.set(fault.clone());
        if i > 0 {
            // The previous row's failure holds fetches back for a second.
            std::thread::sleep(Duration::from_millis(1100));
        }
        let what = format!("JWKS {name}, fail open");
        let (r, took) = timed(|| bearer(port, &format!("/open/{name}"), &m.token));
        assert_identity(&r, &[], &what);
        assert_within(took, TIMEOUT, &what);
        if *name == "slow" {
            assert_waited(took, &what);
        }
        assert_identity(&bearer(port, "/local/next", &m.local_token), &["bob"], name);
        assert_alive(&envoy, name);
    }
    let n = faults.len() as u64;
    assert_eq!(
        server.hits(),
        n - 1,
        "one fetch per row (none reaches a down server)"
    );
    assert_eq!(echo.received_under("/open").len() as u64, n);
    assert_eq!(counter(&envoy, "auth", "jwks_fetches"), n);
    assert_eq!(counter(&envoy, "auth", "jwks_fetch_failures"), n);
    assert_eq!(counter(&envoy, "auth", "denied.unavailable"), 0);
    // Back: the optional token is verified again and names its subject.
    server.set(Fault::None);
    std::thread::sleep(Duration::from_millis(1100));
    assert_identity(
        &bearer(port, "/open/again", &m.token),
        &["alice"],
        "recovered",
    );
}
