//! Header injection through templates and spoofed identity headers, through
//! the chain (auth, then ratelimit, then headers). Documented: values with
//! CR, LF or NUL are never sent (claims, service headers, template
//! expansions; Envoy's codecs refuse them from clients); the identity and
//! forwarding headers are removed from every client request; templates
//! and rate-limit keys read Envoy's downstream address, which at the edge
//! (`use_remote_address: true`) is the connection's, never
//! `x-forwarded-for`. (Without that setting Envoy itself takes the address
//! from `x-forwarded-for`, for its own `%DOWNSTREAM_REMOTE_ADDRESS%` as for
//! the filters: an edge proxy must set it.)

use crate::common::{assert_refused, start_edge, Upstream};
use serde_json::json;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{send_raw, Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

fn start() -> (serde_json::Value, EchoServer, Envoy) {
    let m = tollgate_tests::pyjwt::mint("injection");
    let auth = json!({
        "jwt": {"providers": {"idp": {
            "issuer": "https://issuer.test",
            "local_jwks": {"inline_string": m["jwks"].to_string()},
            "claim_to_headers": [{"header_name": "x-jwt-team", "claim_name": "org.team"}],
            "forward_payload_header": "x-jwt-payload"
        }}},
        "api_key": {"credentials": [{"key": "key-one", "client": "one"}], "key_sources": [{"header": "x-api-key"}],
                    "forwarding": {"header": "x-api-client"}},
        "rules": [{"match": {"path": {"prefix": "/jwt"}}, "requires": {"provider_name": "idp"}},
                  {"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}}],
        "default_requires": {"allow_missing_or_failed": {}}
    });
    let ratelimit = json!({"descriptors": [
        {"name": "per_client", "match": {"path": {"prefix": "/rl"}}, "key": [{"remote_address": {}}],
         "token_bucket": {"max_tokens": 2, "tokens_per_fill": 2, "fill_interval": "1h"}}]});
    let add = |k: &str, v: &str| json!({"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"});
    let headers = json!({
        "request_headers_to_add": [add("x-client-ip", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
            add("x-team-seen", "team %REQ(x-jwt-team)%"), add("x-who", "%REQ(x-tollgate-identity)%"),
            add("x-path-seen", "%PATH%"), add("x-user-seen", "%REQ(x-user)%")],
        "response_headers_to_add": [add("x-user-echo", "%REQ(x-user)%")]
    });
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = start_edge(
        &Bootstrap::new(echo.port())
            .wasm("auth", &auth)
            .wasm("ratelimit", &ratelimit)
            .wasm("headers", &headers),
    );
    (m, echo, envoy)
}

/// No header the upstream saw or the client got carries CR, LF or NUL, or
/// a header smuggled in by them.
fn assert_clean(r: &Response, what: &str) {
    let upstream = r.json();
    for (name, value) in upstream["headers"].as_object().into_iter().flatten() {
        let text = value.to_string();
        assert!(
            !text.contains("\\r") && !text.contains("\\n") && !text.contains("\\u0000"),
            "{what}: {name}: {text}"
        );
        assert!(
            !["x-admin", "x-injected", "x-folded"].contains(&name.as_str()),
            "{what}: {name} injected"
        );
    }
    for (name, value) in &r.headers {
        assert!(
            !value.contains(['\r', '\n', '\0']),
            "{what}: response {name}"
        );
        assert!(
            !name.eq_ignore_ascii_case("x-injected"),
            "{what}: response header injected"
        );
    }
}

#[test]
fn cr_lf_nul_never_reach_a_header_through_claims_or_templates() {
    let (m, _echo, envoy) = start();
    let port = envoy.port;
    let tok = |k: &str| format!("Bearer {}", m[k].as_str().unwrap_or_default());
    for proto in BOTH {
        let r = Request::get("/jwt/a")
            .header("authorization", &tok("good"))
            .send(port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.upstream_header_values("x-team-seen"), ["team blue"]);
        assert_eq!(r.upstream_header_values("x-who"), ["alice"]);
        for k in ["crlf", "nul"] {
            let what = format!("{k} claims {proto:?}");
            let r = Request::get("/jwt/b")
                .header("authorization", &tok(k))
                .send(port, proto);
            assert_eq!(r.status, 200, "{what}: a valid token: {}", r.text());
            assert_clean(&r, &what);
            assert!(
                r.upstream_header_values("x-tollgate-identity").is_empty(),
                "{what}: no usable identity"
            );
            assert!(r.upstream_header_values("x-jwt-team").is_empty(), "{what}");
        }
        // Encoded CR LF in the path: control characters make the path
        // ambiguous, refused (400) by the auth filter's path rules before
        // any template could copy it; %PATH% would be inert anyway (the
        // path as received).
        let r = Request::get("/open/%0d%0ax-injected:%201").send(port, proto);
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"], "ambiguous_path");
        assert!(r.header("x-injected").is_none());
        assert_clean(&r, "encoded CR LF in the path");
    }
    // Raw CR, LF, NUL and obs-fold from an HTTP/1.1 client: Envoy refuses
    // the request, or what it accepts expands to one clean value.
    for bad in [
        "a\rb",
        "a\nx-injected: 1",
        "a\r\n x-folded: 1",
        "a\0b",
        "a\x0bb",
        "a\x7fb",
    ] {
        let raw =
            format!("GET /open HTTP/1.1\r\nhost: x\r\nx-user: {bad}\r\nconnection: close\r\n\r\n");
        let r = send_raw(port, raw.as_bytes()).expect("send");
        if r.status != 400 {
            // (A bare LF ends the header line: `x-injected` is then the
            // client's own header, which it may send anyway.)
            assert_eq!(r.status, 200, "{bad:?}");
            let seen = r.upstream_header_values("x-user-seen");
            assert!(
                seen.len() <= 1 && seen.iter().all(|v| !v.contains(['\r', '\n', '\0'])),
                "{bad:?}: {seen:?}"
            );
            for v in r.header_values("x-user-echo") {
                assert!(!v.contains(['\r', '\n', '\0']), "{bad:?}: {v:?}");
            }
        }
    }
    let r = Request::get("/open")
        .header("x-user", "bob")
        .send(port, Proto::H1);
    assert_eq!(
        r.header_values("x-user-echo"),
        ["bob"],
        "the VMs keep serving"
    );
}

#[test]
fn spoofed_identity_and_forwarding_headers_are_replaced_not_trusted() {
    let (m, echo, envoy) = start();
    let port = envoy.port;
    let good = format!("Bearer {}", m["good"].as_str().unwrap_or_default());
    let spoofs = [
        ("x-tollgate-identity", "root"),
        ("X-Tollgate-Identity", "root2"),
        ("x-jwt-team", "red"),
        ("x-jwt-payload", "e30"),
        ("x-api-client", "admin"),
        ("x-forwarded-for", "10.9.9.9"),
        ("x-real-ip", "10.9.9.9"),
    ];
    for proto in BOTH {
        for (path, auth) in [
            ("/open", None),
            ("/jwt/x", Some(("authorization", good.as_str()))),
            ("/api/x", Some(("x-api-key", "key-one"))),
        ] {
            let mut req = Request::get(path);
            for (n, v) in spoofs.iter().chain(spoofs.iter().take(2)) {
                req = req.header(n, v);
            }
            if let Some((n, v)) = auth {
                req = req.header(n, v);
            }
            let r = req.send(port, proto);
            let what = format!("{path} {proto:?}");
            assert_eq!(r.status, 200, "{what}: {}", r.text());
            let want: &[&str] = match path {
                "/jwt/x" => &["alice"],
                "/api/x" => &["one"],
                _ => &[],
            };
            assert_eq!(
                r.upstream_header_values("x-tollgate-identity"),
                want,
                "{what}"
            );
            assert_eq!(
                r.upstream_header_values("x-who"),
                want,
                "{what}: the template read the spoof"
            );
            let team: &[&str] = if path == "/jwt/x" { &["blue"] } else { &[] };
            assert_eq!(r.upstream_header_values("x-jwt-team"), team, "{what}");
            let client: &[&str] = if path == "/api/x" { &["one"] } else { &[] };
            assert_eq!(r.upstream_header_values("x-api-client"), client, "{what}");
            if path != "/jwt/x" {
                assert!(
                    r.upstream_header_values("x-jwt-payload").is_empty(),
                    "{what}"
                );
            }
            assert_eq!(
                r.upstream_header_values("x-client-ip"),
                ["127.0.0.1"],
                "{what}: from x-forwarded-for"
            );
        }
    }
    // The per-client limit keys on the connection's address: a new
    // x-forwarded-for (or identity) per request buys no new bucket.
    let upstream_before = echo.received_under("/rl").len();
    let statuses: Vec<u16> = (0..3)
        .map(|i| {
            Request::get("/rl")
                .header("x-forwarded-for", &format!("10.0.0.{i}"))
                .header("x-tollgate-identity", &format!("user-{i}"))
                .send(port, Proto::H1)
                .status
        })
        .collect();
    assert_eq!(statuses, [200, 200, 429]);
    let upstream = Upstream::watch(&echo, &envoy);
    let r = Request::get("/rl")
        .header("x-forwarded-for", "10.1.1.1")
        .send(port, Proto::H2);
    assert_refused(&r, 429, "rate_limited", "spoofed address");
    upstream.assert_nothing("limited despite spoofed addresses");
    assert_eq!(upstream_before, 0);
}

/// The files users run are edge configurations: each sets
/// `use_remote_address`, and the chain's client address (its
/// `x-client-ip` template, its per-client bucket) ignores a spoofed
/// `x-forwarded-for`.
#[test]
fn shipped_files_do_not_trust_x_forwarded_for() {
    let dir = tollgate_tests::repo_root().join("envoy");
    for entry in std::fs::read_dir(&dir).expect("envoy/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let managers = text
            .matches("http_connection_manager.v3.HttpConnectionManager")
            .count();
        let edge = text.matches("use_remote_address: true").count();
        assert_eq!(
            managers,
            edge,
            "{}: every HTTP connection manager sets use_remote_address",
            path.display()
        );
    }
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let (text, port, admin) = tollgate_tests::bootstrap::user_file("chain.yaml", echo.port());
    let envoy = Envoy::try_start_text(&text, "yaml", port, admin, 1)
        .unwrap_or_else(|f| panic!("{}", f.log));
    for proto in BOTH {
        let r = Request::get("/anything")
            .header("x-forwarded-for", "10.9.9.9")
            .header("x-real-ip", "10.9.9.9")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.upstream_header_values("x-client-ip"),
            ["127.0.0.1"],
            "{proto:?}"
        );
    }
}
