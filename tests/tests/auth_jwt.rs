//! JWT traffic tests of the auth filter through a real Envoy: tokens and key
//! sets minted at test time by PyJWT (an independent implementation), the
//! JWKS served over HTTP by a server the tests slow, stop and rotate.

use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::http_server::HttpServer;

const ISS: &str = "https://issuer.test";
const AUD: &str = "api.test";

fn minted() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| tollgate_tests::pyjwt::mint("auth_jwt"))
}

fn token(name: &str) -> String {
    minted()["tokens"][name].as_str().expect(name).to_string()
}

fn jwks(n: u8) -> String {
    minted()[format!("jwks{n}")].to_string()
}

fn config(timeout: &str) -> Value {
    json!({
        "jwt": {
            "providers": {"idp": {
                "issuer": ISS,
                "audiences": [AUD],
                "remote_jwks": {
                    "http_uri": {"uri": "http://jwks.test/.well-known/jwks.json", "cluster": "jwks", "timeout": timeout},
                    "cache_duration": "300s"
                },
                "forward_payload_header": "x-jwt-payload",
                "claim_to_headers": [{"header_name": "x-jwt-team", "claim_name": "org.team"}]
            }},
            "realm": "test",
            "unknown_kid_refetch_interval": "1s"
        },
        "rules": [
            {"match": {"path": {"prefix": "/open"}}, "requires": {"allow_missing_or_failed": {}}},
            {"match": {"path": {"prefix": "/jwt"}}, "requires": {"provider_name": "idp"}},
            {"match": {"path": {"prefix": "/direct"}}, "requires": {"provider_name": "idp"}}
        ]
    })
}

struct Rig {
    echo: EchoServer,
    jwks: HttpServer,
    envoy: Envoy,
}

fn rig(timeout: &str) -> Rig {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let jwks = HttpServer::start(&jwks(1));
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &config(timeout))
            .cluster(jwks.cluster("jwks"))
            .direct_response("/direct", 200, "ok"),
    );
    Rig { echo, jwks, envoy }
}

fn bearer(path: &str, token: &str, proto: Proto, port: u16) -> Response {
    Request::get(path)
        .header("authorization", &format!("Bearer {token}"))
        .send(port, proto)
}

fn assert_reason(r: &Response, status: u16, reason: &str) {
    assert_eq!(r.status, status, "{reason}: {}", r.text());
    let body = r.json();
    let want = match status {
        401 => "unauthorized",
        403 => "forbidden",
        _ => "unavailable",
    };
    assert_eq!(body["error"], want, "{}", r.text());
    assert!(
        body["reason"].as_str().unwrap_or("").starts_with(reason),
        "want {reason}: {}",
        r.text()
    );
}

#[test]
fn good_tokens_pass_with_identity_and_claims() {
    let rig = rig("2s");
    // The first request waits while the key set is fetched.
    rig.jwks.set_delay(Duration::from_millis(300));
    let t = Instant::now();
    let r = bearer("/jwt/a", &token("rs256"), Proto::H1, rig.envoy.port);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(r.status, 200, "{}", r.text());
    rig.jwks.set_delay(Duration::ZERO);
    let heads = rig.jwks.heads();
    assert!(
        heads[0].starts_with("GET /.well-known/jwks.json HTTP/1.1"),
        "{heads:?}"
    );
    assert!(
        heads[0].to_ascii_lowercase().contains("host: jwks.test"),
        "{heads:?}"
    );
    for proto in BOTH {
        for (name, sub) in [("rs256", "alice"), ("es256", "erin"), ("eddsa", "dave")] {
            let r = Request::get("/jwt/b")
                .header("authorization", &format!("Bearer {}", token(name)))
                .header("x-tollgate-identity", "spoofed")
                .header("x-jwt-team", "red")
                .send(rig.envoy.port, proto);
            assert_eq!(r.status, 200, "{name} {proto:?}: {}", r.text());
            assert_eq!(r.upstream_header_values("x-tollgate-identity"), [sub]);
            assert_eq!(r.upstream_header_values("x-jwt-team"), ["blue"]);
            let payload = token(name).split('.').nth(1).unwrap().to_string();
            assert_eq!(r.upstream_header_values("x-jwt-payload"), [payload]);
            assert!(
                r.upstream_header_values("authorization").is_empty(),
                "forward: false"
            );
        }
        // From the access_token parameter (Envoy's default second location).
        let r = Request::get(&format!("/jwt/q?x=1&access_token={}", token("eddsa")))
            .send(rig.envoy.port, proto);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["path"], "/jwt/q?x=1");
        // An open path: spoofed headers never reach the upstream.
        let r = Request::get("/open")
            .header("x-tollgate-identity", "admin")
            .header("x-jwt-team", "red")
            .header("x-jwt-payload", "e30")
            .send(rig.envoy.port, proto);
        assert_eq!(r.status, 200);
        for h in ["x-tollgate-identity", "x-jwt-team", "x-jwt-payload"] {
            assert!(r.upstream_header_values(h).is_empty(), "{h} spoofed");
        }
    }
    assert_eq!(rig.jwks.hits(), 1, "one fetch serves every request");
    assert_eq!(rig.envoy.counter("tollgate.auth.jwks_fetches"), 1);
}

#[test]
fn classic_attacks_are_refused_and_never_reach_the_upstream() {
    let rig = rig("2s");
    assert_eq!(
        bearer("/jwt/warm", &token("rs256"), Proto::H1, rig.envoy.port).status,
        200
    );
    rig.echo.clear();
    let oversized = format!("{}.{}.{}", "e".repeat(9000), "e".repeat(9000), "e");
    let cases = [
        ("alg_none", token("alg_none"), 401, "alg_not_allowed"),
        (
            "hs256_with_rsa_public_key",
            token("hs256_with_rsa_public_key"),
            401,
            "alg_not_allowed",
        ),
        ("never_known", token("never_known"), 401, "unknown_kid"),
        ("expired", token("expired"), 401, "expired"),
        ("nbf_future", token("nbf_future"), 401, "not_yet_valid"),
        ("wrong_iss", token("wrong_iss"), 401, "bad_issuer"),
        ("wrong_aud", token("wrong_aud"), 403, "bad_audience"),
        ("malformed", "abc.def".to_string(), 401, "malformed"),
        ("oversized", oversized, 401, "too_large"),
    ];
    for proto in BOTH {
        for (name, tok, status, reason) in &cases {
            let r = bearer("/jwt/x", tok, proto, rig.envoy.port);
            assert_reason(&r, *status, reason);
            if *status == 401 {
                assert_eq!(
                    r.header("www-authenticate"),
                    Some(r#"Bearer realm="test", error="invalid_token""#),
                    "{name}"
                );
            }
        }
        let r = Request::get("/jwt/x").send(rig.envoy.port, proto);
        assert_reason(&r, 401, "credentials are missing");
        assert_eq!(r.header("www-authenticate"), Some(r#"Bearer realm="test""#));
    }
    assert!(rig.echo.received_under("/jwt").is_empty());
    let c = |n: &str| rig.envoy.counter(&format!("tollgate.auth.{n}"));
    assert_eq!(c("denied.jwt.expired"), 2);
    assert_eq!(c("denied.jwt.bad_audience"), 2);
    assert_eq!(c("denied.forbidden"), 2);
    assert_eq!(c("denied.missing"), 2);
    assert_eq!(c("denied.invalid"), 16);
    // The unknown kid came within the re-fetch interval of the first fetch.
    assert_eq!(rig.jwks.hits(), 1);
}

#[test]
fn key_rotation_refetches_on_unknown_kid_rate_limited() {
    let rig = rig("2s");
    let port = rig.envoy.port;
    assert_eq!(
        bearer("/jwt/a", &token("rs256"), Proto::H1, port).status,
        200
    );
    rig.jwks.set_body(&jwks(2));
    // Within the interval: no re-fetch, the new key is unknown.
    assert_reason(
        &bearer("/jwt/a", &token("rotated"), Proto::H1, port),
        401,
        "unknown_kid",
    );
    assert_eq!(rig.jwks.hits(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    let r = bearer("/jwt/a", &token("rotated"), Proto::H1, port);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.upstream_header_values("x-tollgate-identity"), ["rotated"]);
    assert_eq!(rig.jwks.hits(), 2);
    // A kid no set has: refused at once, no third fetch within the interval.
    assert_reason(
        &bearer("/jwt/a", &token("never_known"), Proto::H2, port),
        401,
        "unknown_kid",
    );
    assert_eq!(rig.jwks.hits(), 2);
    assert_eq!(rig.envoy.counter("tollgate.auth.jwks_fetches"), 2);
}

#[test]
fn jwks_down_is_503_unless_failure_is_allowed() {
    let rig = rig("2s");
    rig.jwks.stop();
    let r = bearer("/jwt/a", &token("rs256"), Proto::H1, rig.envoy.port);
    assert_reason(&r, 503, "the key set of JWT provider \"idp\"");
    let r = bearer("/open", &token("rs256"), Proto::H2, rig.envoy.port);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.upstream_header_values("x-tollgate-identity").is_empty());
    assert!(rig.echo.received_under("/jwt").is_empty());
    assert!(rig.envoy.counter("tollgate.auth.jwks_fetch_failures") >= 1);
    assert!(rig.envoy.counter("tollgate.auth.denied.unavailable") >= 1);
}

#[test]
fn jwks_slower_than_timeout_is_503_in_time_then_recovers() {
    let rig = rig("500ms");
    rig.jwks.set_delay(Duration::from_secs(3));
    let t = Instant::now();
    let r = bearer("/jwt/a", &token("rs256"), Proto::H1, rig.envoy.port);
    let took = t.elapsed();
    assert_reason(&r, 503, "the key set");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    rig.jwks.set_delay(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(1100)); // the failure backoff
    let r = bearer("/jwt/a", &token("rs256"), Proto::H1, rig.envoy.port);
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn concurrent_first_requests_share_one_fetch() {
    let rig = rig("2s");
    rig.jwks.set_delay(Duration::from_millis(400));
    let port = rig.envoy.port;
    let names = ["rs256", "rs256_b", "rs256_c", "es256", "eddsa"];
    let handles: Vec<_> = names
        .iter()
        .map(|n| {
            let t = token(n);
            std::thread::spawn(move || bearer("/jwt/c", &t, Proto::H1, port))
        })
        .collect();
    for h in handles {
        let r = h.join().expect("thread");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(rig.jwks.hits(), 1, "waiters joined the one fetch");
}

#[test]
fn verified_tokens_are_cached_and_timed() {
    let rig = rig("2s");
    let port = rig.envoy.port;
    // One write, no Nagle: the time is Envoy's, not the client's.
    let time = |name: &str| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let req = format!(
            "GET /direct/t HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer {}\r\n\r\n",
            token(name)
        );
        let t = Instant::now();
        s.write_all(req.as_bytes()).expect("write");
        // Until the whole answer (body "ok"): Envoy closes only later.
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while !out.ends_with(b"\r\n\r\nok") {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&buf[..n]);
        }
        let took = t.elapsed();
        assert!(
            out.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        took
    };
    // Envoy answers /direct itself (no upstream): the time is the filter's.
    let first = time("rs256");
    let cached = time("rs256");
    assert_eq!(rig.envoy.counter("tollgate.auth.jwt_cache_misses"), 1);
    assert_eq!(rig.envoy.counter("tollgate.auth.jwt_cache_hits"), 1);
    let uncached = time("rs256_b");
    let uncached2 = time("rs256_c");
    let mut hits: Vec<Duration> = (0..20).map(|_| time("rs256_b")).collect();
    hits.sort();
    println!(
        "RS256 through Envoy: first request (JWKS fetch + verify) {first:?}; \
         new token (verify only) {uncached:?} / {uncached2:?}; cached {cached:?}, \
         20 cached: min {:?} median {:?}",
        hits[0], hits[10]
    );
}
