//! Twin of Envoy's `envoy.filters.http.basic_auth`: the same htpasswd users
//! (written by Apache's `htpasswd -s`, the `{SHA}` scheme, which is all
//! Envoy's filter reads) and `forward_username_header`, through the native
//! filter and through the auth module (`default_requires: {"basic": {}}`),
//! the same requests to both (see `tollgate_tests::twin`).

use serde_json::json;
use std::process::Command;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{b64, basic_auth, Request};
use tollgate_tests::twin::{Case, Diff, Twin};

const IDENTITY: &str = "`identity_header`";
/// Tollgate's 401 names the realm and has a JSON body.
const CHALLENGE: &str = "Basic realm=";
/// The scheme's case and the spaces after it (RFC 9110 11.1, 11.4).
const SCHEME: &str = "`basic`, `BASIC`";
/// Base64 without its padding.
const PADDING: &str = "base64 without its `=` padding";

/// htpasswd lines made by Apache's binary (`-b` batch, `-n` to stdout, `-s` SHA).
fn htpasswd(users: &[(&str, &str)]) -> String {
    let bin = tollgate_tests::tools::ensure("htpasswd", "apache2-utils");
    users
        .iter()
        .map(|(u, p)| {
            let out = Command::new(&bin)
                .args(["-bns", u, p])
                .output()
                .expect("htpasswd");
            assert!(out.status.success(), "htpasswd {u}");
            String::from_utf8_lossy(&out.stdout).trim().to_string() + "\n"
        })
        .collect()
}

fn users() -> String {
    htpasswd(&[
        ("alice", "wonderland"),
        ("bob", "pa:ss:word"),
        ("carol", ""),
        ("dave", &"p".repeat(250)),
        ("émile", "mot de passe"),
    ])
}

fn twin(test: &str, authentication_header: Option<&str>) -> Twin {
    let users = users();
    let native = users.clone();
    let mut basic = json!({"users": {"inline_string": users}, "forward_username_header": "x-user"});
    if let Some(h) = authentication_header {
        basic["authentication_header"] = json!(h);
    }
    let mut native_basic = basic.clone();
    native_basic["users"] = json!({"inline_string": native});
    native_basic["@type"] =
        json!("type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth");
    Twin::start(
        test,
        |port| {
            Bootstrap::new(port).filter(json!({
                "name": "envoy.filters.http.basic_auth",
                "typed_config": native_basic
            }))
        },
        |port| {
            Bootstrap::new(port).wasm(
                "auth",
                &json!({"basic": basic, "default_requires": {"basic": {}}}),
            )
        },
    )
    .watch(&["www-authenticate"])
    .tollgate_adds("x-tollgate-identity", IDENTITY)
}

/// The shapes, with the credentials in `header`.
fn shapes(header: &'static str) -> Vec<Case> {
    let auth = |shape: &str, values: &[&str]| {
        Case::new(
            shape,
            values
                .iter()
                .fold(Request::get("/b"), |r, v| r.header(header, v)),
        )
    };
    let denied = |c: Case| c.listed(Diff::Response("www-authenticate"), CHALLENGE);
    // RFC 9110 11.1: the scheme is case-insensitive; 1*SP before the token68.
    let rfc = |c: Case| {
        c.listed(Diff::Status(401, 200), SCHEME)
            .listed(Diff::Response("www-authenticate"), SCHEME)
    };
    let good = basic_auth("alice", "wonderland");
    let b = |raw: &str| format!("Basic {}", b64(raw.as_bytes()));
    vec![
        denied(Case::new("no credentials", Request::get("/b"))),
        auth("good", &[&good]),
        auth("good, HTTP/2", &[&good]).h2(),
        denied(auth("wrong password", &[&basic_auth("alice", "wonder")])),
        denied(auth(
            "unknown user",
            &[&basic_auth("mallory", "wonderland")],
        )),
        denied(auth(
            "user in other case",
            &[&basic_auth("Alice", "wonderland")],
        )),
        auth("password with colons", &[&basic_auth("bob", "pa:ss:word")]),
        denied(auth("password cut at a colon", &[&basic_auth("bob", "pa")])),
        auth("empty password", &[&basic_auth("carol", "")]),
        auth("long password", &[&basic_auth("dave", &"p".repeat(250))]),
        auth("non-ASCII user", &[&basic_auth("émile", "mot de passe")]),
        rfc(auth(
            "scheme in lower case",
            &[&good.replacen("Basic", "basic", 1)],
        )),
        rfc(auth(
            "scheme in upper case",
            &[&good.replacen("Basic", "BASIC", 1)],
        )),
        rfc(auth(
            "two spaces after the scheme",
            &[&good.replacen(' ', "  ", 1)],
        )),
        denied(auth(
            "no space after the scheme",
            &[&good.replacen(' ', "", 1)],
        )),
        denied(auth(
            "Bearer scheme",
            &[&good.replacen("Basic", "Bearer", 1)],
        )),
        denied(auth("scheme only", &["Basic"])),
        denied(auth("scheme and a space", &["Basic "])),
        denied(auth("empty header", &[""])),
        denied(auth("not base64", &["Basic !!!!"])),
        denied(auth("no colon", &[&b("alicewonderland")])),
        denied(auth("empty user and password", &[&b(":")])),
        auth("base64 without padding", &[good.trim_end_matches('=')])
            .listed(Diff::Status(200, 401), PADDING)
            .listed(Diff::Response("www-authenticate"), PADDING),
        denied(auth("base64 with extra padding", &[&format!("{good}==")])),
        denied(auth(
            "trailing text after the credentials",
            &[&format!("{good} x")],
        )),
        // Envoy and the host join a repeated Authorization (refused) but
        // hand over the first value of another header.
        match header {
            "authorization" => denied(auth(
                "repeated header, good then bad",
                &[&good, &basic_auth("alice", "x")],
            )),
            _ => auth(
                "repeated header, good then bad",
                &[&good, &basic_auth("alice", "x")],
            ),
        },
        denied(auth(
            "repeated header, bad then good",
            &[&basic_auth("alice", "x"), &good],
        )),
        Case::new(
            "spoofed username header",
            Request::get("/b")
                .header(header, &good)
                .header("x-user", "root"),
        ),
        denied(Case::new(
            "spoofed username header, no credentials",
            Request::get("/b").header("x-user", "root"),
        )),
        denied(auth(
            "huge header",
            &[&b(&format!("alice:{}", "x".repeat(20000)))],
        )),
        denied(auth("not UTF-8 after decoding", &["Basic /w=="])),
    ]
}

#[test]
fn basic_auth_twin() {
    let twin = twin("twin_basic::basic_auth_twin", None);
    let cases = shapes("authorization");
    assert!(cases.len() >= 25);
    let seen = twin.run(&cases);
    tollgate_tests::twin::assert_answered(&seen, &[200, 401]);
}

/// `authentication_header`: the same shapes with the credentials in
/// `x-authorization`, and good credentials in `Authorization` only.
#[test]
fn basic_auth_twin_with_authentication_header() {
    let twin = twin(
        "twin_basic::basic_auth_twin_with_authentication_header",
        Some("x-authorization"),
    );
    let mut cases = shapes("x-authorization");
    cases.push(
        Case::new(
            "good credentials in Authorization only",
            Request::get("/b").header("authorization", &basic_auth("alice", "wonderland")),
        )
        .listed(Diff::Response("www-authenticate"), CHALLENGE),
    );
    let seen = twin.run(&cases);
    tollgate_tests::twin::assert_answered(&seen, &[200, 401]);
}
