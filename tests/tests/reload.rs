//! Reloading a filter's configuration under load, for the headers, auth and
//! ratelimit filters: the listener comes from a file (LDS from the
//! filesystem) that is replaced under steady keep-alive load, first by a new
//! valid configuration, then by an invalid one. What is accepted and why is
//! in [`tollgate_tests::reload`].

use serde_json::json;
use std::time::{Duration, Instant};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Proto, Request, Response};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::lds::{listener, LdsFile};
use tollgate_tests::load::Conn;
use tollgate_tests::reload::{run, wait_stat, Case, APPLY_BOUND};

fn single(r: &Response, name: &str) -> Option<String> {
    match r.header_values(name).as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

#[test]
fn headers_config_reloads_under_load() {
    let config =
        |v: &str| json!({"response_headers_to_add": [{"header": {"key": "x-config", "value": v}}]});
    run(
        Case {
            module: "headers",
            old: config("old"),
            new: config("new"),
            invalid: r#"{"response_headers_to_add": [{"header": {"key": "x-config", "value": "%BOGUS%"}}]}"#,
            invalid_field: "response_headers_to_add[0].header.value",
            request: |t, n| Request::get(&format!("/r/{t}/{n}")),
            classify: |req, r| match (r.status, single(r, "x-config").as_deref()) {
                (200, Some("old")) => Ok("old"),
                (200, Some("new")) => Ok("new"),
                _ => Err(format!("{}: {} {:?}", req.path, r.status, r.headers)),
            },
        },
        |_| {},
    );
}

#[test]
fn auth_api_keys_reload_under_load() {
    let config = |key: &str, client: &str| {
        json!({
            "api_key": {"credentials": [{"key": key, "client": client}], "key_sources": [{"header": "x-api-key"}]},
            "rules": [{"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}}]
        })
    };
    run(
        Case {
            module: "auth",
            old: config("key-old", "client-old"),
            new: config("key-new", "client-new"),
            invalid: r#"{"api_key": {"credentials": [{"key": "k", "client": "c"}], "key_sources": [{"header": "x-api-key"}]},
                "rules": [{"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {"allowed_clients": ["nobody"]}}}]}"#,
            invalid_field: "rules[0].requires.api_key.allowed_clients[0]",
            // Each client alternates the two keys on its connection.
            request: |t, n| {
                let key = if n % 2 == 0 { "key-old" } else { "key-new" };
                Request::get(&format!("/api/{t}/{n}")).header("x-api-key", key)
            },
            classify: |req, r| {
                let key = req
                    .headers
                    .iter()
                    .find(|(n, _)| n == "x-api-key")
                    .map(|(_, v)| v.as_str());
                let identity = || r.upstream_header_values("x-tollgate-identity");
                match (key, r.status) {
                    (Some("key-old"), 200) if identity() == ["client-old"] => Ok("old"),
                    (Some("key-new"), 401) => Ok("old"),
                    (Some("key-old"), 401) => Ok("new"),
                    (Some("key-new"), 200) if identity() == ["client-new"] => Ok("new"),
                    _ => Err(format!("{key:?}: {} {}", r.status, r.text())),
                }
            },
        },
        |_| {},
    );
}

/// The new limits take effect at once: records carry their configuration's
/// fingerprint, so the new configuration starts from full buckets.
#[test]
fn ratelimit_limits_reload_under_load() {
    let per_client = |max: u32| {
        json!({"name": "per_client", "key": [{"request_headers": {"header_name": "x-client"}}],
               "token_bucket": {"max_tokens": max, "tokens_per_fill": max, "fill_interval": "1s"}})
    };
    let tight = json!({"name": "tight", "match": {"path": {"prefix": "/tight"}}, "key": [],
                       "token_bucket": {"max_tokens": 2, "tokens_per_fill": 2, "fill_interval": "60s"}});
    run(
        Case {
            module: "ratelimit",
            old: json!({"descriptors": [per_client(100_000)]}),
            new: json!({"descriptors": [tight, per_client(90_000)]}),
            invalid: r#"{"token_bucket": {"max_tokens": 0, "fill_interval": "1s"}}"#,
            invalid_field: "token_bucket.max_tokens",
            request: |t, _| Request::get("/r").header("x-client", &format!("c{t}")),
            classify: |req, r| match (r.status, single(r, "x-ratelimit-limit").as_deref()) {
                (200, Some("100000")) => Ok("old"),
                (200, Some("90000")) => Ok("new"),
                _ => Err(format!("{}: {} {:?}", req.path, r.status, r.headers)),
            },
        },
        |envoy| {
            let statuses: Vec<u16> = (0..3)
                .map(|_| Request::get("/tight").send(envoy.port, Proto::H1).status)
                .collect();
            assert_eq!(statuses, [200, 200, 429], "the new tight limit");
        },
    );
}

/// A listener whose first version is invalid is refused: Envoy runs (and
/// reports ready) without it, so connections are refused, until a valid
/// file comes.
#[test]
fn invalid_first_listener_is_refused_until_fixed() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let b = |config: &str| Bootstrap::new(echo.port()).wasm_text("headers", config);
    let bad = b(r#"{"rules": 1}"#);
    let mut lds = LdsFile::new(&listener(&bad));
    let boot = lds.bootstrap(&bad).to_string();
    let mut envoy = Envoy::try_start_text(&boot, "json", bad.listener_port, bad.admin_port, 1)
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    envoy.expect_vm_failure = true;
    wait_stat(&envoy, "listener_manager.lds.update_rejected", 1);
    let req = Request::get("/x");
    let refused = Conn::new(bad.listener_port)
        .send(&req)
        .expect_err("no listener");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    let mut good =
        b(r#"{"response_headers_to_add": [{"header": {"key": "x-config", "value": "fixed"}}]}"#);
    (good.listener_port, good.admin_port) = (bad.listener_port, bad.admin_port);
    lds.replace(&listener(&good));
    let since = Instant::now();
    let r = loop {
        if let Ok(r) = Conn::new(good.listener_port).send(&req) {
            break r;
        }
        assert!(
            since.elapsed() < APPLY_BOUND,
            "the fixed listener never came up"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((r.status, r.header("x-config")), (200, Some("fixed")));
    let log = envoy.stop();
    assert!(
        !log.contains("panicked at") && !log.contains("RuntimeError"),
        "{log}"
    );
}
