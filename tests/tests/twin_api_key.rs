//! Twin of Envoy's `envoy.filters.http.api_key_auth`: the same credentials,
//! key sources and forwarding through the native filter and through the
//! auth module (`default_requires: {"api_key": {}}`), the same requests to
//! both (see `tollgate_tests::twin`).

use serde_json::{json, Value};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::Request;
use tollgate_tests::twin::{Case, Diff, Twin};

/// The README row of the identity header Tollgate sets upstream.
const IDENTITY: &str = "`identity_header`";
/// The README row of the `WWW-Authenticate` challenge on a 401.
const CHALLENGE: &str = "401 carries `WWW-Authenticate: ApiKey`";
/// The README row of the query a hidden key is removed from.
const QUERY_ORDER: &str = "the other parameters keep their order";

fn api_key_auth(hide: bool) -> Value {
    json!({
        "credentials": [
            {"key": "key-a", "client": "alice"},
            {"key": "key-b", "client": "bob"},
            {"key": "k y+%/=", "client": "odd"},
            {"key": "L".repeat(3000), "client": "long"}
        ],
        "key_sources": [
            {"header": "x-api-key"},
            {"query": "api_key"},
            {"cookie": "api_key"},
            {"header": "authorization"}
        ],
        "forwarding": {"header": "x-client-id", "hide_credentials": hide}
    })
}

fn twin(test: &str, config: Value) -> Twin {
    let native = config.clone();
    Twin::start(
        test,
        |port| {
            Bootstrap::new(port).filter(json!({
                "name": "envoy.filters.http.api_key_auth",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth",
                    "credentials": native["credentials"],
                    "key_sources": native["key_sources"],
                    "forwarding": native["forwarding"]
                }
            }))
        },
        |port| {
            Bootstrap::new(port).wasm(
                "auth",
                &json!({"api_key": config, "default_requires": {"api_key": {}}}),
            )
        },
    )
    .watch(&["www-authenticate", "content-type"])
    .tollgate_adds("x-tollgate-identity", IDENTITY)
}

/// Request shapes built to find differences: every source alone and
/// together, repeats, case, encodings, empty and long values, spoofing.
fn shapes(hide: bool) -> Vec<Case> {
    let get = Request::get;
    let h = |shape: &str, headers: &[(&str, &str)]| {
        Case::new(
            shape,
            headers
                .iter()
                .fold(get("/p?x=1"), |r, (n, v)| r.header(n, v)),
        )
    };
    let q = |shape: &str, path: &str| Case::new(shape, get(path));
    let long = "L".repeat(3000);
    // Envoy rebuilds the query it hides a key from, sorted by name.
    let reordered = |c: Case| match hide {
        true => c.listed(Diff::UpstreamPath, QUERY_ORDER),
        false => c,
    };
    let denied = |c: Case| {
        c.listed(Diff::Response("www-authenticate"), CHALLENGE)
            .listed(Diff::Response("content-type"), CHALLENGE)
    };
    vec![
        denied(h("no key", &[])),
        h("header, good key", &[("x-api-key", "key-a")]),
        denied(h("header, unknown key", &[("x-api-key", "nope")])),
        denied(h("header, empty value", &[("x-api-key", "")])),
        h("header name in upper case", &[("X-API-KEY", "key-b")]),
        denied(h("key in other case", &[("x-api-key", "KEY-A")])),
        h(
            "header with Bearer prefix",
            &[("x-api-key", "Bearer key-a")],
        ),
        h(
            "authorization: Bearer",
            &[("authorization", "Bearer key-b")],
        ),
        denied(h(
            "authorization: bearer (lower case)",
            &[("authorization", "bearer key-b")],
        )),
        denied(h(
            "authorization: Basic",
            &[("authorization", "Basic a2V5LWE6")],
        )),
        h(
            "repeated header, two good keys",
            &[("x-api-key", "key-a"), ("x-api-key", "key-b")],
        )
        .h2(),
        denied(h(
            "repeated header, bad then good",
            &[("x-api-key", "nope"), ("x-api-key", "key-a")],
        )),
        q("query, good key", "/p?api_key=key-a"),
        q("query, percent-encoded key", "/p?api_key=key%2Da"),
        q("query, odd key encoded", "/p?api_key=k%20y%2B%25%2F%3D"),
        denied(q("query, odd key with +", "/p?api_key=k+y%2B%25%2F%3D")),
        denied(q("query, unknown key", "/p?api_key=nope")),
        denied(q("query, empty key", "/p?api_key=")),
        q("query, key twice", "/p?api_key=key-b&api_key=key-a"),
        reordered(q("query among others", "/p?a=1&api_key=key-a&b=2&a=3")),
        reordered(q(
            "query among others, encoded",
            "/p?b=%41+c&api_key=key-b&a",
        )),
        q("query among others, in order", "/p?a=1&b=2&api_key=key-b"),
        denied(q("query name in other case", "/p?API_KEY=key-a")),
        q("query name encoded", "/p?api%5Fkey=key-a"),
        denied(q(
            "query without value then good",
            "/p?api_key&api_key=key-b",
        )),
        h("cookie, good key", &[("cookie", "api_key=key-a")]),
        h(
            "cookie among others",
            &[("cookie", "x=1; api_key=key-b; y=2")],
        )
        .h2(),
        denied(h("cookie, unknown key", &[("cookie", "api_key=nope")])),
        h(
            "two cookie headers",
            &[("cookie", "x=1"), ("cookie", "api_key=key-a")],
        ),
        h("cookie, quoted value", &[("cookie", "api_key=\"key-a\"")]),
        Case::new(
            "header empty, query good",
            get("/p?api_key=key-b").header("x-api-key", ""),
        ),
        denied(Case::new(
            "header bad, query good (both sent)",
            get("/p?api_key=key-a").header("x-api-key", "nope"),
        )),
        denied(Case::new(
            "no header, query bad, cookie good",
            get("/p?api_key=nope").header("cookie", "api_key=key-a"),
        )),
        Case::new(
            "all sources good",
            get("/p?api_key=key-b")
                .header("x-api-key", "key-a")
                .header("cookie", "api_key=key-b")
                .header("authorization", "Bearer key-a"),
        )
        .h2(),
        h("long key", &[("x-api-key", &long)]),
        denied(h("long unknown key", &[("x-api-key", &"M".repeat(8000))])),
        h(
            "spoofed forwarding header with a good key",
            &[("x-api-key", "key-a"), ("x-client-id", "root")],
        ),
        denied(h(
            "spoofed forwarding header, no key",
            &[("x-client-id", "root")],
        )),
        h("key with surrounding spaces", &[("x-api-key", "  key-a  ")]),
        denied(h(
            "Bearer and two spaces",
            &[("x-api-key", "Bearer  key-a")],
        )),
        denied(h("Bearer in upper case", &[("x-api-key", "BEARER key-a")])),
        h("odd key in header", &[("x-api-key", "k y+%/=")]),
    ]
}

#[test]
fn api_key_auth_twin_hiding_credentials() {
    let twin = twin(
        "twin_api_key::api_key_auth_twin_hiding_credentials",
        api_key_auth(true),
    );
    let cases = shapes(true);
    assert!(cases.len() >= 25);
    let seen = twin.run(&cases);
    tollgate_tests::twin::assert_answered(&seen, &[200, 401]);
}

#[test]
fn api_key_auth_twin_keeping_credentials() {
    let twin = twin(
        "twin_api_key::api_key_auth_twin_keeping_credentials",
        api_key_auth(false),
    );
    let cases = shapes(false);
    let seen = twin.run(&cases);
    let forwarded = seen
        .iter()
        .filter_map(|(n, _)| n.upstream.as_ref())
        .filter(|(_, _, h)| h.contains_key("x-api-key"))
        .count();
    assert!(forwarded > 0, "no key reached the upstream");
}
