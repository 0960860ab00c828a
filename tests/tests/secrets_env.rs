//! Secrets kept out of the plugin configuration: `{"env": "NAME"}` read from
//! the VM's environment, which Envoy fills from
//! `vm_config.environment_variables` (`key_values`, and `host_env_keys` from
//! Envoy's own environment), as Istio's `vmConfig.env` does (inline values
//! and `valueFrom: HOST`).

use serde_json::{json, Value};
use std::process::Command;
use tollgate_tests::bootstrap::{wasm_filter, Bootstrap};
use tollgate_tests::client::{basic_auth, Request, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

const API_KEY: &str = "vm-env-key-7f3a";
const PASSWORD: &str = "host-env-password-91c2";

/// The auth filter with an API key from `key_values` and Basic users from
/// `host_env_keys`.
fn auth_filter(config: &Value) -> Value {
    let mut filter = wasm_filter("auth", &config.to_string());
    filter["typed_config"]["config"]["vm_config"]["environment_variables"] = json!({
        "key_values": {"TOLLGATE_TEST_API_KEY": API_KEY},
        "host_env_keys": ["TOLLGATE_TEST_USERS"]
    });
    filter
}

fn config(key_var: &str) -> Value {
    json!({
        "api_key": {"credentials": [{"key": {"env": key_var}, "client": "from-env"}],
                    "key_sources": [{"header": "x-api-key"}]},
        "basic": {"users": {"env": "TOLLGATE_TEST_USERS"}},
        "rules": [
            {"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}},
            {"match": {"path": {"prefix": "/admin"}}, "requires": {"basic": {}}}
        ]
    })
}

/// An htpasswd line written by Apache's own tool ({SHA}).
fn users() -> String {
    let htpasswd = tollgate_tests::tools::ensure("htpasswd", "apache2-utils");
    let out = Command::new(htpasswd)
        .args(["-nbs", "alice", PASSWORD])
        .output()
        .expect("run htpasswd");
    assert!(out.status.success(), "htpasswd failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[test]
fn credentials_come_from_key_values_and_host_env_keys() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let b = Bootstrap::new(echo.port())
        .filter(auth_filter(&config("TOLLGATE_TEST_API_KEY")))
        .envoy_env("TOLLGATE_TEST_USERS", &users());
    let mut envoy = Envoy::start(&b);
    for proto in BOTH {
        let ok = Request::get("/api/x")
            .header("x-api-key", API_KEY)
            .send(envoy.port, proto);
        assert_eq!(ok.status, 200, "{proto:?}: {}", ok.text());
        assert_eq!(
            ok.upstream_header_values("x-tollgate-identity"),
            ["from-env"]
        );
        let bad = Request::get("/api/x")
            .header("x-api-key", "not-the-key")
            .send(envoy.port, proto);
        assert_eq!(bad.status, 401, "{proto:?}");
        let auth = basic_auth("alice", PASSWORD);
        let ok = Request::get("/admin")
            .header("authorization", &auth)
            .send(envoy.port, proto);
        assert_eq!(ok.status, 200, "{proto:?}: {}", ok.text());
        assert_eq!(ok.upstream_header_values("x-tollgate-identity"), ["alice"]);
    }
    let log = envoy.stop();
    assert!(
        !log.contains(API_KEY) && !log.contains(PASSWORD),
        "a secret reached Envoy's log"
    );
}

#[test]
fn a_missing_variable_fails_the_start_naming_field_and_variable() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    // TOLLGATE_TEST_USERS is listed in host_env_keys but not set for Envoy;
    // the key names a variable the VM does not have.
    let b = Bootstrap::new(echo.port()).filter(auth_filter(&config("TOLLGATE_TEST_NO_SUCH_KEY")));
    let failure = match Envoy::try_start(&b) {
        Ok(_) => panic!("Envoy started without the variables"),
        Err(f) => f,
    };
    let want = "tollgate.auth: invalid configuration: api_key.credentials[0].key: \
                environment variable TOLLGATE_TEST_NO_SUCH_KEY is not set";
    assert!(
        failure.log.contains(want),
        "want {want:?} in:\n{}",
        failure.log
    );
    assert!(
        !failure.log.contains(API_KEY),
        "a secret reached Envoy's log"
    );
}
