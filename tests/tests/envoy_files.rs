//! The files users run (`envoy/*.yaml`) validate and carry traffic as shipped.

use tollgate_tests::bootstrap::{user_file, FILE_UPSTREAM_PORT};
use tollgate_tests::client::{Proto, Request, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::{find_envoy, Envoy};

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
    let envoy = find_envoy(&tollgate_tests::repo_root()).expect("envoy");
    let files = user_files();
    assert!(files.contains(&"chain.yaml".to_string()) && files.contains(&"headers.yaml".to_string()));
    for name in files {
        let (text, _, _) = user_file(&name, FILE_UPSTREAM_PORT);
        let path = std::env::temp_dir().join(format!("tollgate-validate-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write");
        let out = std::process::Command::new(&envoy)
            .args(["--mode", "validate", "--use-dynamic-base-id", "-c"])
            .arg(&path)
            .output()
            .expect("run envoy");
        let _ = std::fs::remove_file(&path);
        assert!(out.status.success(), "{name} does not validate:\n{}{}",
            String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}

/// What the README promises after `cargo xtask up`:
/// `curl -s localhost:10000/anything -H 'x-user: a'`.
fn check_shipped_file(name: &str) -> (EchoServer, Envoy) {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (text, port, admin) = user_file(name, echo.port());
    let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 2)
        .unwrap_or_else(|f| panic!("{name}: {}", f.log));
    for proto in BOTH {
        let r = Request::get("/anything")
            .header("x-user", "a")
            .header("x-debug-internal", "leak")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
        let body = r.json();
        assert_eq!(body["path"], "/anything");
        let up = |n: &str| r.upstream_header_values(n);
        assert_eq!(up("x-greeting"), ["hello a"], "{name} {proto:?}");
        assert_eq!(up("x-client-ip"), ["127.0.0.1"]);
        assert!(up("x-request-start")[0].parse::<u64>().is_ok());
        assert_eq!(up("x-correlation-id")[0].len(), 36);
        assert!(up("x-debug-internal").is_empty());
        assert_eq!(r.header("x-served-by"), Some("tollgate"));
        assert_eq!(r.header("x-user-seen"), Some("a"));
    }
    (echo, envoy)
}

#[test]
fn headers_yaml_carries_traffic() {
    let (_echo, envoy) = check_shipped_file("headers.yaml");
    let r = Request::get("/admin/panel").send(envoy.port, Proto::H1);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("x-user-seen").is_none());
}

/// The chain: auth sets the identity, ratelimit keys on it, headers reads it.
#[test]
fn chain_yaml_carries_traffic() {
    let (echo, envoy) = check_shipped_file("chain.yaml");
    for proto in BOTH {
        echo.clear();
        let r = Request::get("/api/x").send(envoy.port, proto);
        assert_eq!(r.status, 401, "{proto:?}");
        assert_eq!(r.json()["error"], "unauthorized");
        assert!(echo.received_under("/api").is_empty());

        let r = Request::get("/api/x")
            .header("x-api-key", "demo-key-1")
            .header("x-tollgate-identity", "spoofed")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{proto:?}: {}", r.text());
        assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["mobile-app"]);
        assert!(r.upstream_header_values("x-api-key").is_empty(), "key hidden upstream");
        assert_eq!(r.header("x-authenticated-as"), Some("mobile-app"));
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"));

        let r = Request::get("/anything")
            .header("x-tollgate-identity", "spoofed")
            .send(envoy.port, proto);
        assert!(r.upstream_header_values("x-tollgate-identity").is_empty());
        assert!(r.header("x-authenticated-as").is_none());
        assert_eq!(r.header("x-ratelimit-limit"), Some("100"));
    }
}
