//! Traffic tests of the auth filter through a real Envoy: API keys from each
//! source, HTTP Basic against htpasswd files written by Apache's own
//! `htpasswd` for every scheme it offers, the lockout, the shared cache, the
//! identity header, and that denied requests never reach the upstream.

use serde_json::{json, Value};
use std::process::Command;
use std::time::Instant;
use tollgate_tests::bootstrap::{user_file, Bootstrap};
use tollgate_tests::client::{Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

fn start(config: Value, concurrency: u32) -> (EchoServer, Envoy) {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &config)
            .concurrency(concurrency),
    );
    (echo, envoy)
}

use tollgate_tests::client::{b64, basic_auth as basic};

fn assert_denied(r: &Response, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json()["error"], error, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
}

fn api_key_config() -> Value {
    json!({
        "api_key": {
            "credentials": [
                {"key": "key-one", "client": "one"},
                // printf %s key-two | sha256sum
                {"key_sha256": sha256_hex("key-two"), "client": "two"}
            ],
            "key_sources": [{"header": "x-api-key"}, {"query": "api_key"}, {"cookie": "api_key"}],
            "forwarding": {"header": "x-api-client", "hide_credentials": true}
        },
        "rules": [
            {"match": {"path": {"prefix": "/only-two"}}, "requires": {"api_key": {"allowed_clients": ["two"]}}},
            {"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}}
        ]
    })
}

fn sha256_hex(s: &str) -> String {
    let out = Command::new("sha256sum")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(s.as_bytes())?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn api_keys_from_every_source() {
    let (echo, envoy) = start(api_key_config(), 1);
    for proto in BOTH {
        // Header, with and without a Bearer prefix; the key is hidden upstream.
        for value in ["key-one", "Bearer key-one"] {
            let r = Request::get("/api/a")
                .header("x-api-key", value)
                .header("x-tollgate-identity", "admin")
                .header("x-api-client", "spoofed")
                .send(envoy.port, proto);
            assert_eq!(r.status, 200, "{proto:?} {value}: {}", r.text());
            assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["one"]);
            assert_eq!(r.upstream_header_values("x-api-client"), ["one"]);
            assert!(r.upstream_header_values("x-api-key").is_empty());
        }
        // Query: the parameter is removed from the path the upstream sees.
        let r = Request::get("/api/q?a=1&api_key=key-two&b=2").send(envoy.port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["path"], "/api/q?a=1&b=2");
        assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["two"]);
        // Cookie: the cookie is removed, the others kept.
        let r = Request::get("/api/c")
            .header("cookie", "session=s1; api_key=key-one")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream_header_values("cookie"), ["session=s1"]);
        assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["one"]);
        // Allowed clients: a known key of another client is 403.
        let r = Request::get("/only-two")
            .header("x-api-key", "key-one")
            .send(envoy.port, proto);
        assert_denied(&r, 403, "forbidden");
        let r = Request::get("/only-two")
            .header("x-api-key", "key-two")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200);
        // Unknown and missing keys are 401 with a challenge.
        let r = Request::get("/api/a")
            .header("x-api-key", "key-onE")
            .send(envoy.port, proto);
        assert_denied(&r, 401, "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("ApiKey"));
        let r = Request::get("/api/a").send(envoy.port, proto);
        assert_denied(&r, 401, "unauthorized");
        // Spoofed identity stripped on requests no rule covers.
        let r = Request::get("/open")
            .header("x-tollgate-identity", "admin")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200);
        assert!(r.upstream_header_values("x-tollgate-identity").is_empty());
    }
    assert!(
        echo.received_under("/only-two").len() == 2,
        "only the allowed request reached the upstream"
    );
    assert!(echo
        .received()
        .iter()
        .all(|r| r.header("x-api-key") != Some("key-onE")));
    assert_eq!(envoy.counter("tollgate.auth.denied.forbidden"), 2);
    assert_eq!(envoy.counter("tollgate.auth.denied.invalid"), 2);
    assert_eq!(envoy.counter("tollgate.auth.denied.missing"), 2);
    assert_eq!(envoy.counter("tollgate.auth.denied"), 6);
    assert_eq!(envoy.counter("tollgate.auth.allowed"), 2 * 6);
}

/// `htpasswd` from Debian's apache2-utils, through the suite's one
/// serialized installer (parallel tests would otherwise race for dpkg's lock).
fn htpasswd() -> std::path::PathBuf {
    tollgate_tests::tools::ensure("htpasswd", "apache2-utils")
}

/// One htpasswd line for `user`/`password` written by Apache's tool.
fn htpasswd_line(flag: &str, user: &str, password: &str) -> String {
    let out = Command::new(htpasswd())
        .arg(format!("-nb{flag}"))
        .arg(user)
        .arg(password)
        .output()
        .expect("run htpasswd");
    assert!(
        out.status.success(),
        "htpasswd -nb{flag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const SCHEMES: [(&str, &str); 5] = [
    ("s", "sha1"),
    ("m", "apr1"),
    ("2", "sha256"),
    ("5", "sha512"),
    ("B", "bcrypt"),
];

fn basic_config(users: &str, lockout: Value) -> Value {
    json!({
        "basic": {"users": users, "realm": "staff only", "forward_username_header": "x-user", "lockout": lockout},
        "rules": [{"match": {"path": {"prefix": "/staff"}}, "requires": {"basic": {}}}]
    })
}

#[test]
fn basic_with_every_htpasswd_scheme() {
    let mut users = String::new();
    for (flag, name) in SCHEMES {
        users += &htpasswd_line(flag, name, &format!("pw-{name}: é"));
        users.push('\n');
    }
    // The cache is a direct-mapped table: with the default 1,024 slots two of
    // the four cached users share one about once in 170 runs (their salts
    // change every run), and each then misses once. The most slots makes
    // the counts below exact.
    let mut config = basic_config(&users, json!({"max_failures": 1000}));
    config["basic"]["cache"] = json!({"max_entries": 1_000_000});
    let (echo, envoy) = start(config, 1);
    for proto in BOTH {
        for (_, name) in SCHEMES {
            let good = basic(name, &format!("pw-{name}: é"));
            let r = Request::get("/staff/x")
                .header("authorization", &good)
                .header("x-tollgate-identity", "root")
                .header("x-user", "root")
                .send(envoy.port, proto);
            assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
            assert_eq!(r.upstream_header_values("x-tollgate-identity"), [name]);
            assert_eq!(r.upstream_header_values("x-user"), [name]);
            let r = Request::get("/staff/x")
                .header("authorization", &basic(name, "wrong"))
                .send(envoy.port, proto);
            assert_denied(&r, 401, "unauthorized");
            assert_eq!(
                r.header("www-authenticate"),
                Some("Basic realm=\"staff only\"")
            );
        }
        // Malformed credentials are 401, not a crash.
        for bad in [
            "Basic !!!",
            "Basic",
            &format!("Basic {}", b64(b"nocolon")),
            &format!("Basic {}", b64(b"sha1:\xff\xfe")),
        ] {
            let r = Request::get("/staff/x")
                .header("authorization", bad)
                .send(envoy.port, proto);
            assert_denied(&r, 401, "unauthorized");
        }
        let r = Request::get("/staff/x").send(envoy.port, proto);
        assert_denied(&r, 401, "unauthorized");
    }
    let reached = echo.received_under("/staff");
    assert_eq!(
        reached.len(),
        2 * SCHEMES.len(),
        "denied requests reached the upstream"
    );
    // First success of each user per protocol: H1 misses, H2 hits the cache;
    // `{SHA}` (-s) is cheaper than the cache and is never cached.
    assert_eq!(
        envoy.counter("tollgate.auth.cache_hits"),
        SCHEMES.len() as u64 - 1
    );
    assert_eq!(envoy.counter("tollgate.auth.denied.missing"), 2);
}

#[test]
fn lockout_answers_429_without_hashing_and_cache_is_shared_across_workers() {
    let users = htpasswd_line("B", "alice", "right") + "\n" + &htpasswd_line("B", "bob", "right");
    let (echo, envoy) = start(
        basic_config(&users, json!({"max_failures": 3, "window": "60s"})),
        2,
    );
    // The cache: many requests, one bcrypt check; every worker sees it.
    let started = Instant::now();
    let r = Request::get("/staff/first")
        .header("authorization", &basic("alice", "right"))
        .send(envoy.port, Proto::H1);
    let first = started.elapsed();
    assert_eq!(r.status, 200);
    for _ in 0..10 {
        let r = Request::get("/staff/again")
            .header("authorization", &basic("alice", "right"))
            .send(envoy.port, Proto::H1);
        assert_eq!(r.status, 200);
    }
    assert_eq!(envoy.counter("tollgate.auth.cache_misses"), 1);
    assert_eq!(envoy.counter("tollgate.auth.cache_hits"), 10);
    eprintln!("first bcrypt (cost 5) request through Envoy: {first:?}");
    // Three failures for bob lock bob out; the fourth is 429 with Retry-After.
    for _ in 0..3 {
        let r = Request::get("/staff/x")
            .header("authorization", &basic("bob", "guess"))
            .send(envoy.port, Proto::H1);
        assert_denied(&r, 401, "unauthorized");
    }
    for password in ["guess", "right"] {
        let r = Request::get("/staff/x")
            .header("authorization", &basic("bob", password))
            .send(envoy.port, Proto::H2);
        assert_denied(&r, 429, "rate_limited");
        let retry: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("retry-after");
        assert!((1..=60).contains(&retry), "{retry}");
    }
    // The address made three failures too: locked out for every user, except
    // a cached success (alice already verified) which costs no hashing.
    let r = Request::get("/staff/y")
        .header("authorization", &basic("carol", "x"))
        .send(envoy.port, Proto::H1);
    assert_denied(&r, 429, "rate_limited");
    let r = Request::get("/staff/ok")
        .header("authorization", &basic("alice", "right"))
        .send(envoy.port, Proto::H1);
    assert_eq!(r.status, 200);
    assert_eq!(envoy.counter("tollgate.auth.denied.locked_out"), 3);
    assert_eq!(
        envoy.counter("tollgate.auth.cache_misses"),
        1 + 3,
        "locked-out requests must not hash"
    );
    assert!(echo.received_under("/staff/x").is_empty());
    assert!(echo.received_under("/staff/y").is_empty());
}

#[test]
fn unnormalizable_path_is_400_when_path_rules_exist() {
    let (echo, envoy) = start(api_key_config(), 1);
    // By default a path that cannot be normalized is an ambiguous one.
    let raw = b"GET /api/%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let r = tollgate_tests::client::send_raw(envoy.port, raw).expect("send");
    assert_denied(&r, 400, "ambiguous_path");
    assert!(echo.received_under("/api").is_empty());
    assert_eq!(envoy.counter("tollgate.auth.ambiguous_paths"), 1);
    // A guarded path spelled differently is still guarded, or refused when
    // upstreams may read it otherwise.
    for p in ["//api/x", "/%61pi/x"] {
        let r = Request::get(p).send(envoy.port, Proto::H1);
        assert_eq!(r.status, 401, "{p}: {}", r.text());
    }
    for p in ["/open/../api/x", "/api;x=1/y", "/open/..;/api"] {
        let r = Request::get(p).send(envoy.port, Proto::H1);
        assert_denied(&r, 400, "ambiguous_path");
    }
    drop(envoy);
    // With MATCH_NORMALIZED: 400 bad_request, the normalized path judged.
    let mut config = api_key_config();
    config["ambiguous_path_action"] = serde_json::json!("MATCH_NORMALIZED");
    let (echo, envoy) = start(config, 1);
    let r = tollgate_tests::client::send_raw(envoy.port, raw).expect("send");
    assert_denied(&r, 400, "bad_request");
    assert!(echo.received_under("/api").is_empty());
    assert_eq!(envoy.counter("tollgate.auth.denied.bad_request"), 1);
    for p in ["//api/x", "/open/../api/x", "/%61pi/x", "/api;x=1/y"] {
        let r = Request::get(p).send(envoy.port, Proto::H1);
        assert_eq!(r.status, 401, "{p}: {}", r.text());
    }
}

#[test]
fn shipped_auth_yaml_works() {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (text, port, admin) = user_file("auth.yaml", echo.port());
    let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 2)
        .unwrap_or_else(|f| panic!("{}", f.log));
    let get = |path: &str, h: &[(&str, &str)]| {
        h.iter()
            .fold(Request::get(path), |r, (n, v)| r.header(n, v))
            .send(envoy.port, Proto::H1)
    };
    let r = get("/api/x", &[("x-api-key", "demo-key-1")]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header_values("x-tollgate-identity"),
        ["mobile-app"]
    );
    let started = Instant::now();
    let r = get("/api/x", &[("x-api-key", "demo-key-1")]);
    eprintln!(
        "API key request (no hashing beyond one SHA-256): {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 200);
    let r = get("/api/x?api_key=partner-key-2", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["path"], "/api/x");
    assert_eq!(get("/api/x", &[]).status, 401);
    let started = Instant::now();
    let r = get(
        "/admin",
        &[("authorization", &basic("alice", "alice-password"))],
    );
    eprintln!(
        "bcrypt cost 10 check through Envoy (first request): {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.upstream_header_values("x-user"), ["alice"]);
    let started = Instant::now();
    let r = get(
        "/admin",
        &[("authorization", &basic("alice", "alice-password"))],
    );
    eprintln!("same credentials, cached: {:?}", started.elapsed());
    assert_eq!(r.status, 200);
    assert_eq!(
        get(
            "/admin",
            &[("authorization", &basic("bob", "bob-password"))]
        )
        .status,
        200
    );
    assert_eq!(get("/admin", &[("x-api-key", "demo-key-1")]).status, 403);
    assert_eq!(get("/admin", &[("x-api-key", "partner-key-2")]).status, 200);
    let r = get("/public", &[("x-api-key", "nope")]);
    assert_eq!(r.status, 200);
    assert!(r.upstream_header_values("x-tollgate-identity").is_empty());
    assert_eq!(
        get("/public", &[("x-api-key", "demo-key-1")])
            .upstream_header_values("x-tollgate-identity"),
        ["mobile-app"]
    );
}
