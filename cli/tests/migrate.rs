//! `tollgate migrate` through a real Envoy: Envoy-docs-style bootstraps
//! using each native filter (tests/native/) are migrated, both validate
//! (`envoy --mode validate`), `tollgate check` passes on the output, and the
//! same requests get the same statuses (and upstream-visible headers) from
//! the native original and the migrated copy.

use serde_json::json;
use std::process::Command;
use tollgate_tests::client::{Proto, Request, Response};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::{self, Envoy};
use tollgate_tests::rls::RateLimitService;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate");
const TOKEN: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6ImRlbW8iLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoidG9sbGdhdGUtZGVtbyIsInN1YiI6ImRlbW8tdXNlciIsImlhdCI6MTc2NDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwLCJvcmciOnsidGVhbSI6ImJsdWUifX0.C0PVGffmJ3yFqSpfewe6L4O7bUmVQCvNwYRdbVTdaD-mL1ssP6uyWSxjNabA4uiIA-47KxsW_4UmsinY3SFZDQ";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// tests/native/<name>.yaml spliced into the skeleton, with the ports.
fn native(name: &str, ports: &[(&str, u16)]) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/native");
    let skeleton = std::fs::read_to_string(dir.join("_skeleton.yaml")).expect("skeleton");
    let fragment = std::fs::read_to_string(dir.join(format!("{name}.yaml"))).expect("fragment");
    let (routes, filters) = fragment
        .split_once("#filters\n")
        .expect("#filters in fragment");
    let mut text = skeleton
        .replace("${ROUTES}\n", routes)
        .replace("${FILTERS}\n", filters);
    for (k, v) in ports {
        text = text.replace(&format!("${{{k}}}"), &v.to_string());
    }
    text
}

/// Runs the binary; (exit code, stdout, stderr).
fn tollgate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run tollgate");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// What the comparison reads from a response.
fn seen(r: &Response, client: &[&str], upstream: &[&str]) -> String {
    let mut s = format!("{}", r.status);
    for h in client {
        s += &format!(" {h}={:?}", r.header(h));
    }
    if r.status == 200 {
        for h in upstream {
            s += &format!(" upstream {h}={:?}", r.upstream_header_values(h));
        }
    }
    s
}

struct Case<'a> {
    name: &'a str,
    one_vm: bool,
    requests: Vec<Request>,
    client_headers: &'a [&'a str],
    upstream_headers: &'a [&'a str],
    /// The native original's statuses, so that a comparison of two Envoys
    /// that both do nothing cannot pass.
    statuses: &'a [u16],
    /// What the migration must say it left out.
    reported: &'a [&'a str],
}

/// Migrates the case's bootstrap and sends its requests to the original and
/// the copy, each with its own upstream, services and Envoy.
fn compare(case: Case) {
    let run = |migrated: bool| -> Vec<String> {
        let echo = EchoServer::start("127.0.0.1:0").expect("echo");
        let demo =
            tollgate_tests::demo::start("127.0.0.1:0", "127.0.0.1:0").expect("demo services");
        let limits = json!([{"namespace": "migrate", "max_value": 2, "seconds": 60, "name": "per-key",
                             "variables": ["descriptors[0].api_key"]}]);
        let rls = RateLimitService::start(&limits, &[]);
        let (port, admin) = (free_port(), free_port());
        let ports = [
            ("PORT", port),
            ("ADMIN", admin),
            ("UPSTREAM", echo.port()),
            ("AUTHZ", demo.authz_port()),
            ("RLS", rls.port()),
        ];
        let mut text = native(case.name, &ports);
        if migrated {
            let dir = tempdir(case.name);
            let file = dir.join("native.yaml");
            std::fs::write(&file, &text).expect("write");
            let modules = tollgate_tests::dist_dir().display().to_string();
            tollgate_tests::module("tollgate");
            let mut args = vec!["migrate", "--module-dir", &modules];
            if case.one_vm {
                args.push("--one-vm");
            }
            let file_arg = file.display().to_string();
            args.push(&file_arg);
            let (code, out, err) = tollgate(&args);
            assert_eq!(code, 0, "migrate {}: {err}", case.name);
            for r in case.reported {
                assert!(
                    err.contains(r),
                    "migrate {} should report {r:?}; said:\n{err}",
                    case.name
                );
            }
            for native in [
                "header_mutation.v3",
                "api_key_auth.v3",
                "basic_auth.v3",
                "jwt_authn.v3",
                "ext_authz.v3",
                "local_ratelimit.v3",
                "ratelimit.v3.RateLimit\n",
            ] {
                assert!(
                    !out.contains(native),
                    "{}: {native} left in the output:\n{out}",
                    case.name
                );
            }
            let migrated_file = dir.join("migrated.yaml");
            std::fs::write(&migrated_file, &out).expect("write");
            let (code, check_out, _) = tollgate(&["check", &migrated_file.display().to_string()]);
            assert_eq!(
                (code, check_out.as_str()),
                (0, ""),
                "check of the migrated {}",
                case.name
            );
            text = out;
        }
        envoy::validate(&text, "yaml").unwrap_or_else(|e| {
            panic!(
                "{} (migrated: {migrated}) does not validate:\n{e}\n{text}",
                case.name
            )
        });
        let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 1).unwrap_or_else(|f| {
            panic!(
                "{} (migrated: {migrated}) did not start: {}",
                case.name, f.log
            )
        });
        let seen: Vec<String> = case
            .requests
            .iter()
            .map(|r| {
                seen(
                    &r.send(envoy.port, Proto::H1),
                    case.client_headers,
                    case.upstream_headers,
                )
            })
            .collect();
        drop(envoy);
        seen
    };
    let (original, migrated) = (run(false), run(true));
    let statuses: Vec<u16> = original
        .iter()
        .filter_map(|s| s.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(
        statuses, case.statuses,
        "{}: the native original's statuses",
        case.name
    );
    assert_eq!(
        original, migrated,
        "{}: native (left) and migrated (right) differ",
        case.name
    );
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-migrate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn get(path: &str) -> Request {
    Request::get(path)
}

#[test]
fn header_mutation() {
    compare(Case {
        name: "header_mutation",
        statuses: &[200, 200],
        one_vm: false,
        requests: vec![
            get("/x").header("x-remove", "1").header("x-from", "abc"),
            get("/y"),
        ],
        client_headers: &["x-served-by"],
        upstream_headers: &["x-added", "x-remove"],
        reported: &["routes[0].typed_per_filter_config: a per-route configuration"],
    });
}

#[test]
fn api_key_auth() {
    let key = |k: &str| get("/api").header("x-api-key", k);
    compare(Case {
        name: "api_key_auth",
        statuses: &[401, 200, 200, 401],
        one_vm: false,
        requests: vec![get("/api"), key("key1"), key("key2"), key("nope")],
        client_headers: &[],
        upstream_headers: &["x-client-id", "x-api-key"],
        reported: &[],
    });
}

#[test]
fn basic_auth() {
    let basic = |u: &str, p: &str| {
        get("/").header("authorization", &tollgate_tests::client::basic_auth(u, p))
    };
    compare(Case {
        name: "basic_auth",
        statuses: &[401, 200, 401, 401],
        one_vm: false,
        requests: vec![
            get("/"),
            basic("alice", "password"),
            basic("alice", "wrong"),
            basic("bob", "password"),
        ],
        client_headers: &[],
        upstream_headers: &["x-username"],
        reported: &[],
    });
}

#[test]
fn jwt_authn() {
    let bearer = |p: &str, t: &str| get(p).header("authorization", &format!("Bearer {t}"));
    let tampered = format!("{}x", &TOKEN[..TOKEN.len() - 1]);
    compare(Case {
        name: "jwt_authn",
        statuses: &[200, 401, 200, 401, 200, 200, 200],
        one_vm: false,
        requests: vec![
            get("/health"),
            get("/api"),
            bearer("/api", TOKEN),
            bearer("/api", &tampered),
            get("/optional"),
            bearer("/optional", TOKEN),
            get("/other"),
        ],
        client_headers: &[],
        upstream_headers: &["x-jwt-sub"],
        reported: &[
            "clock_skew_seconds: 0 is 60 s in Envoy",
            "payload_in_metadata: not supported",
        ],
    });
}

#[test]
fn ext_authz() {
    let user = |u: &str| get("/ext").header("x-demo-user", u);
    compare(Case {
        name: "ext_authz",
        statuses: &[200, 403, 403],
        one_vm: false,
        requests: vec![user("alice"), user("mallory"), get("/ext")],
        client_headers: &[],
        upstream_headers: &[],
        reported: &["with_request_body: Tollgate sends no request body"],
    });
}

#[test]
fn local_ratelimit() {
    compare(Case {
        name: "local_ratelimit",
        statuses: &[200, 200, 200, 429, 429],
        one_vm: false,
        requests: (0..5).map(|_| get("/")).collect(),
        client_headers: &["x-ratelimit-limit", "x-ratelimit-remaining"],
        upstream_headers: &[],
        reported: &["filter_enabled.runtime_key: Tollgate does not read Envoy's runtime"],
    });
}

#[test]
fn ratelimit_descriptors_from_route_actions() {
    let key = |k: &str| get("/api/x").header("x-api-key", k);
    compare(Case {
        name: "ratelimit",
        statuses: &[200, 200, 429, 200, 200, 200],
        one_vm: false,
        requests: vec![
            key("a"),
            key("a"),
            key("a"),
            key("b"),
            get("/api/x"),
            get("/other"),
        ],
        client_headers: &[],
        upstream_headers: &[],
        reported: &["request_type: Tollgate has no such setting"],
    });
}

fn chain_requests() -> Vec<Request> {
    let key = |k: &str| get("/x").header("x-api-key", k).header("x-from", "f");
    vec![
        get("/x"),
        key("key1"),
        key("key2"),
        key("key1"),
        key("key1"),
        key("nope"),
    ]
}

#[test]
fn chain_as_separate_filters() {
    compare(Case {
        name: "chain",
        statuses: &[401, 200, 200, 200, 429, 401],
        one_vm: false,
        requests: chain_requests(),
        client_headers: &[],
        upstream_headers: &["x-added", "x-client-id"],
        reported: &[],
    });
}

#[test]
fn chain_in_one_vm() {
    compare(Case {
        name: "chain",
        statuses: &[401, 200, 200, 200, 429, 401],
        one_vm: true,
        requests: chain_requests(),
        client_headers: &[],
        upstream_headers: &["x-added", "x-client-id"],
        reported: &["differs from the one-VM module's fixed order"],
    });
}
