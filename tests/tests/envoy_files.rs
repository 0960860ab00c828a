//! The files users run (`envoy/*.yaml`) validate and carry traffic as shipped.

use tollgate_tests::bootstrap::{user_file, FILE_UPSTREAM_PORT};
use tollgate_tests::chain::Target;
use tollgate_tests::client::{Proto, Request};
use tollgate_tests::demo::{self, Demo};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::{self, Envoy};
use tollgate_tests::one_vm::one_vm_yaml;

fn user_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(tollgate_tests::repo_root().join("envoy"))
        .expect("envoy/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_envoy_file_passes_validate_mode() {
    let files = user_files();
    assert!(
        files.contains(&"chain.yaml".to_string()) && files.contains(&"headers.yaml".to_string())
    );
    for name in files {
        let (text, _, _) = user_file(&name, FILE_UPSTREAM_PORT);
        if let Err(out) = envoy::validate(&text, "yaml") {
            panic!("{name} does not validate:\n{out}");
        }
    }
}

/// The demo services `cargo xtask up` runs (authz and JWKS), on free ports.
fn start_demo() -> Demo {
    demo::start("127.0.0.1:0", "127.0.0.1:0").unwrap_or_else(|e| panic!("demo services: {e}"))
}

/// What the README promises after `cargo xtask up`:
/// `curl -s localhost:10000/anything -H 'x-user: a'`. The file's `authz` and
/// `jwks` clusters (if any) point at `demo`.
fn check_shipped_file(name: &str, demo: &Demo) -> (EchoServer, Envoy) {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (text, port, admin) = user_file(name, echo.port());
    let text = demo.point_at(&text);
    let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 2)
        .unwrap_or_else(|f| panic!("{name}: {}", f.log));
    let target = Target {
        port,
        admin_port: admin,
        client_ip: "127.0.0.1".into(),
        echo: Some(&echo),
    };
    target.check_open_path(name);
    (echo, envoy)
}

#[test]
fn headers_yaml_carries_traffic() {
    let demo = start_demo();
    let (_echo, envoy) = check_shipped_file("headers.yaml", &demo);
    let r = Request::get("/admin/panel").send(envoy.port, Proto::H1);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("x-user-seen").is_none());
}

/// The chain: auth sets the identity, ratelimit keys on it, headers reads it;
/// ext_authz and the remote JWKS against the demo services `up` runs.
#[test]
fn chain_yaml_carries_traffic() {
    check_chain_file("chain.yaml");
}

/// The same chain in one VM (`dist/tollgate.wasm`) passes the same checks.
#[test]
fn tollgate_yaml_carries_chain_traffic() {
    check_chain_file("tollgate.yaml");
}

/// envoy/tollgate.yaml is envoy/chain.yaml's three filters in one.
#[test]
fn tollgate_yaml_matches_chain_yaml() {
    tollgate_tests::check_derived_from_chain(
        "tollgate.yaml",
        one_vm_yaml,
        "cargo test -p tollgate-tests --test envoy_files tollgate_yaml",
    );
}

fn check_chain_file(name: &str) {
    let demo = start_demo();
    let (echo, envoy) = check_shipped_file(name, &demo);
    // The same checks run through docker-compose in tests/tests/compose.rs.
    let target = Target {
        port: envoy.port,
        admin_port: envoy.admin_port,
        client_ip: "127.0.0.1".into(),
        echo: Some(&echo),
    };
    target.check_chain();
    assert!(
        demo.jwks.hits() >= 1,
        "the JWKS was not fetched from the demo"
    );
    assert!(
        demo.authz.calls() >= 6,
        "ext_authz checks did not reach the demo"
    );
}

/// The demo JWT that `envoy/auth.yaml` and `envoy/chain.yaml` list (`TOKEN=`)
/// verifies against their inline key set and, on `/jwt-remote`, against the
/// demo JWKS; `/ext` asks the demo authorization service.
#[test]
fn shipped_files_accept_their_demo_jwt() {
    for name in ["auth.yaml", "chain.yaml", "tollgate.yaml"] {
        let demo = start_demo();
        let echo = EchoServer::start("127.0.0.1:0").expect("echo");
        let (text, port, admin) = user_file(name, echo.port());
        let text = demo.point_at(&text);
        let token = text
            .lines()
            .find_map(|l| l.strip_prefix("#   TOKEN="))
            .unwrap_or_else(|| panic!("{name} lists no TOKEN="))
            .to_string();
        assert_eq!(
            token,
            demo::TOKEN,
            "{name}: TOKEN= is not tollgate_tests::demo::TOKEN"
        );
        assert!(
            text.contains(&demo::JWKS.replace('"', "\\\"")),
            "{name}: the inline key set is not tollgate_tests::demo::JWKS"
        );
        let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 1)
            .unwrap_or_else(|f| panic!("{name}: {}", f.log));
        for proto in tollgate_tests::client::BOTH {
            let r = Request::get("/jwt/x")
                .header("authorization", &format!("Bearer {token}"))
                .header("x-jwt-team", "spoofed")
                .send(envoy.port, proto);
            assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
            assert_eq!(
                r.upstream_header_values("x-tollgate-identity"),
                ["demo-user"]
            );
            assert_eq!(r.upstream_header_values("x-jwt-team"), ["blue"]);
            let r = Request::get("/jwt/x").send(envoy.port, proto);
            assert_eq!(r.status, 401, "{name}");
            assert_eq!(
                r.header("www-authenticate"),
                Some(r#"Bearer realm="tollgate demo""#)
            );
        }
        let target = Target {
            port: envoy.port,
            admin_port: envoy.admin_port,
            client_ip: "127.0.0.1".into(),
            echo: Some(&echo),
        };
        target.check_remote_jwt(name);
        target.check_ext_authz(name);
    }
}
