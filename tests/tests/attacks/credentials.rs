//! API keys and Basic credentials in odd encodings. Documented: the Basic
//! scheme is case-insensitive and its base64 is the standard, padded,
//! canonical alphabet; malformed credentials (bad base64, no `:`, not
//! UTF-8) are 401. API keys are compared exactly (after trimming and an
//! optional `Bearer ` prefix); query parameters are percent-decoded, and
//! `hide_credentials` removes every spelling of the parameter.

use crate::common::{assert_refused, Upstream};
use serde_json::json;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{send_raw, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

/// A password whose `alice:<password>` base64 has `+` or `/` and padding,
/// its `{SHA}` line, and the encodings the test needs.
const MINT: &str = r#"
import base64, hashlib, json
for n in range(10000):
    pw = "%d\u00ff\u00fe" % n
    cred = ("alice:" + pw).encode()
    b = base64.b64encode(cred).decode()
    if ("+" in b or "/" in b) and b.endswith("=") and not b.endswith("=="):
        break
sha = "{SHA}" + base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode()
A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
last = A.index(b[-2])  # one '=': the character before it has 2 unused bits
trailing = b[:-2] + A[last ^ 1] + "="
def e(x): return base64.b64encode(x).decode()
print(json.dumps({"users": "alice:" + sha + "\n", "good": b, "trailing": trailing,
  "urlsafe": b.replace("+", "-").replace("/", "_"), "unpadded": b.rstrip("="),
  "no_colon": e(("alice" + pw).encode()), "empty_user": e((":" + pw).encode()),
  "upper_user": e(("ALICE:" + pw).encode()), "latin1": e(b"alice:" + pw.encode("latin-1")),
  "nul": e(("alice:" + pw + "\0").encode()), "wrong": e(b"alice:wrong")}))
"#;

fn start() -> (serde_json::Value, EchoServer, Envoy) {
    let m = tollgate_tests::pyjwt::run_json(MINT, &[]);
    let config = json!({
        "basic": {"users": m["users"], "realm": "r", "lockout": {"max_failures": 1000}},
        "api_key": {
            "credentials": [{"key": "key-one", "client": "one"}],
            "key_sources": [{"header": "x-api-key"}, {"query": "api_key"}, {"cookie": "api_key"}],
            "forwarding": {"hide_credentials": true}
        },
        "rules": [
            {"match": {"path": {"prefix": "/admin"}}, "requires": {"basic": {}}},
            {"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}}
        ]
    });
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(&Bootstrap::new(echo.port()).wasm("auth", &config));
    (m, echo, envoy)
}

fn get(
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    proto: tollgate_tests::client::Proto,
) -> Response {
    headers
        .iter()
        .fold(Request::get(path), |r, (n, v)| r.header(n, v))
        .send(port, proto)
}

fn assert_passed(r: &Response, identity: &str, what: &str) {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    assert_eq!(
        r.upstream_header_values("x-tollgate-identity"),
        [identity],
        "{what}"
    );
}

#[test]
fn basic_credentials_in_odd_encodings() {
    let (m, echo, envoy) = start();
    let port = envoy.port;
    let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    for proto in BOTH {
        for header in [
            format!("Basic {}", s("good")),
            format!("basic {}", s("good")),
            format!("BASIC   {}", s("good")),
        ] {
            assert_passed(
                &get(port, "/admin", &[("authorization", &header)], proto),
                "alice",
                &header,
            );
        }
    }
    let upstream = Upstream::watch(&echo, &envoy);
    let refused: Vec<String> = [
        "trailing",
        "urlsafe",
        "unpadded",
        "no_colon",
        "empty_user",
        "upper_user",
        "latin1",
        "nul",
        "wrong",
    ]
    .iter()
    .map(|k| format!("Basic {}", s(k)))
    .chain([
        format!("Basic {}=", s("good")),
        format!("Basic\t{}", s("good")),
        format!("Bearer {}", s("good")),
        format!("Digest {}", s("good")),
        "Basic".to_string(),
        "Basic !!!!".to_string(),
        format!("Basic {}", s("good").replace('=', "%3D")),
    ])
    .collect();
    for proto in BOTH {
        for header in &refused {
            let r = get(port, "/admin", &[("authorization", header)], proto);
            assert_refused(&r, 401, "unauthorized", &format!("{header} {proto:?}"));
        }
        // A second, good credential does not rescue a bad first one.
        let r = get(
            port,
            "/admin",
            &[
                ("authorization", &format!("Basic {}", s("wrong"))),
                ("authorization", &format!("Basic {}", s("good"))),
            ],
            proto,
        );
        assert_refused(&r, 401, "unauthorized", "two authorization headers");
    }
    // Raw latin-1 bytes in the header (obs-text): refused, never a crash.
    let raw = b"GET /admin HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Basic \xe9\xe9\xe9\xe9\r\n\r\n";
    let r = send_raw(port, raw).expect("send");
    assert!(
        r.status == 401 || r.status == 400,
        "latin-1 bytes: {}",
        r.status
    );
    upstream.assert_nothing("odd Basic credentials");
    assert_passed(
        &get(
            port,
            "/admin",
            &[("authorization", &format!("Basic {}", s("good")))],
            BOTH[0],
        ),
        "alice",
        "after",
    );
}

#[test]
fn api_keys_in_odd_encodings_and_places() {
    let (_m, echo, envoy) = start();
    let port = envoy.port;
    for proto in BOTH {
        for (path, headers) in [
            ("/api/h", vec![("x-api-key", "key-one")]),
            ("/api/h", vec![("x-api-key", "Bearer key-one")]),
            ("/api/q?api_key=key%2Done", vec![]),
            ("/api/q?%61pi_key=key-one&x=1", vec![]),
            ("/api/q?api_key=key-one&api_key=evil", vec![]),
            ("/api/q?api_key=key-one", vec![("x-api-key", "")]),
            ("/api/c", vec![("cookie", "a=1; api_key=\"key-one\"")]),
        ] {
            let what = format!("{path} {headers:?} {proto:?}");
            let r = get(port, path, &headers, proto);
            assert_passed(&r, "one", &what);
            // hide_credentials: no spelling of the key goes upstream.
            let seen = r.json().to_string();
            assert!(
                !seen.contains("key-one") && !seen.contains("key%2Done") && !seen.contains("evil"),
                "{what}: {seen}"
            );
        }
    }
    let upstream = Upstream::watch(&echo, &envoy);
    for proto in BOTH {
        for (path, headers) in [
            ("/api/h", vec![("x-api-key", "KEY-ONE")]),
            // Only "Bearer " exactly is stripped, as by Envoy's api_key_auth
            // (tests/tests/twin_api_key.rs).
            ("/api/h", vec![("x-api-key", "bearer key-one")]),
            ("/api/h", vec![("x-api-key", "BEARER    key-one  ")]),
            ("/api/h", vec![("x-api-key", "key-on")]),
            ("/api/h", vec![("x-api-key", "key%2Done")]),
            ("/api/h", vec![("x-api-key", "Basic key-one")]),
            ("/api/h", vec![("x-api-key", "key-one\u{e9}")]),
            ("/api/q?API_KEY=key-one", vec![]),
            ("/api/q?api_key=wrong&api_key=key-one", vec![]),
            ("/api/q?api_key=key-one%00", vec![]),
            ("/api/c", vec![("cookie", "api_key=key%2Done")]),
            ("/api/c", vec![("cookie", "xapi_key=key-one")]),
        ] {
            let what = format!("{path} {headers:?} {proto:?}");
            assert_refused(
                &get(port, path, &headers, proto),
                401,
                "unauthorized",
                &what,
            );
        }
    }
    upstream.assert_nothing("odd API keys");
}
