//! Twin of Envoy's `envoy.filters.http.ext_authz` with an `http_service`:
//! the same `http_service` block through the native filter and through the
//! auth module (`default_requires: {"ext_authz": {}}`), both asking the same
//! test authorization service (`tollgate_tests::authz`), the same requests
//! to both. Compared besides the twin's usual: the check each side sent
//! (method, path, headers) and the denial bodies.

use serde_json::{json, Value};
use tollgate_tests::authz::AuthzServer;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::Request;
use tollgate_tests::twin::{Case, Diff, Twin};

fn ext_authz() -> Value {
    json!({
        "http_service": {
            "server_uri": {"uri": "http://authz.test", "cluster": "authz", "timeout": "2s"},
            "path_prefix": "/check",
            "authorization_request": {
                "allowed_headers": {"patterns": [
                    {"exact": "x-allow"}, {"prefix": "x-pass-"}, {"exact": "x-authz-status"},
                    {"exact": "x-authz-header"}, {"exact": "cookie"}
                ]},
                "headers_to_add": [{"key": "x-authz-caller", "value": "twin"}]
            },
            "authorization_response": {
                "allowed_upstream_headers": {"patterns": [{"exact": "x-user"}, {"prefix": "x-up-"}]},
                "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}, {"exact": "content-type"}]},
                "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}
            }
        },
        "failure_mode_allow": false
    })
}

/// The README row of the answer when the service fails.
const FAILED: &str = "`{\"error\":\"unavailable\"";
/// The README row of the check's `:authority`.
const AUTHORITY: &str = "check's `:authority` is `server_uri`'s host";

/// What the service saw of each check since the last call, without the
/// random request id. Tollgate's check names the client's host in
/// `x-forwarded-host` and its own `server_uri`'s in `host` (a listed
/// difference): mapped back to Envoy's form, after checking it is so.
fn checks(authz: &AuthzServer, tollgate: bool) -> String {
    let seen: Vec<String> = authz
        .received()
        .iter()
        .map(|c| {
            let mut headers: Vec<(String, String)> = c
                .headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .filter(|(n, _)| n != "x-request-id" && n != "content-length")
                .collect();
            if tollgate {
                let forwarded = c.header("x-forwarded-host").unwrap_or("(none)").to_string();
                assert_eq!(c.header("host"), Some("authz.test"), "{headers:?}");
                headers.retain(|(n, _)| n != "x-forwarded-host");
                for (n, v) in headers.iter_mut() {
                    if n == "host" {
                        *v = forwarded.clone();
                    }
                }
            }
            headers.sort();
            format!("{} {} {headers:?}", c.method, c.path)
        })
        .collect();
    authz.clear();
    seen.join(" | ")
}

fn shapes() -> Vec<Case> {
    let get = |shape: &str, path: &str, headers: &[(&str, &str)]| {
        Case::new(
            shape,
            headers
                .iter()
                .fold(Request::get(path), |r, (n, v)| r.header(n, v)),
        )
    };
    let allow = ("x-allow", "yes");
    let say = |h: &'static str| ("x-authz-header", h);
    let failed = |c: Case| {
        c.listed(Diff::Body, FAILED)
            .listed(Diff::Response("content-type"), FAILED)
    };
    vec![
        get("no verdict header: denied", "/e", &[]),
        get("allowed", "/e", &[allow]),
        get("allowed, HTTP/2", "/e", &[allow]).h2(),
        get("x-allow in other case", "/e", &[("X-Allow", "yes")]),
        get("x-allow value in other case", "/e", &[("x-allow", "YES")]),
        get(
            "x-allow repeated",
            "/e",
            &[("x-allow", "no"), ("x-allow", "yes")],
        ),
        get("x-allow empty", "/e", &[("x-allow", "")]),
        get("path and query", "/e/a/b?x=1&y=%20", &[allow]),
        get("odd path encoding", "/e/%2e%2E/%41?%zz", &[allow]),
        get("root path", "/", &[allow]),
        Case::new(
            "POST with a body",
            Request::get("/e")
                .method("POST")
                .header("x-allow", "yes")
                .body(b"hello"),
        ),
        Case::new(
            "DELETE",
            Request::get("/e").method("DELETE").header("x-allow", "yes"),
        ),
        get(
            "allowed headers forwarded",
            "/e",
            &[
                allow,
                ("x-pass-a", "1"),
                ("x-pass-b", "2"),
                ("x-other", "3"),
            ],
        ),
        get(
            "allowed header repeated",
            "/e",
            &[allow, ("x-pass-a", "1"), ("x-pass-a", "2")],
        ),
        get("allowed header empty", "/e", &[allow, ("x-pass-a", "")]),
        get(
            "authorization always forwarded",
            "/e",
            &[allow, ("authorization", "Bearer t")],
        ),
        get(
            "cookie forwarded",
            "/e",
            &[allow, ("cookie", "a=1"), ("cookie", "b=2")],
        ),
        get(
            "service adds an upstream header",
            "/e",
            &[allow, say("x-user: alice")],
        ),
        get(
            "service replaces a client's header",
            "/e",
            &[allow, say("x-user: alice"), ("x-user", "mallory")],
        ),
        get(
            "service header not allowed upstream",
            "/e",
            &[allow, say("x-secret: s")],
        ),
        get(
            "two upstream headers",
            "/e",
            &[allow, say("x-up-a: 1 | x-up-b: 2")],
        ),
        get(
            "upstream header repeated",
            "/e",
            &[allow, say("x-up-a: 1 | x-up-a: 2")],
        ),
        get(
            "upstream header repeated, client sent one",
            "/e",
            &[allow, say("x-up-a: 1 | x-up-a: 2"), ("x-up-a", "c")],
        ),
        get(
            "two control headers",
            "/e",
            &[allow, say("x-up-a: 1"), say("x-up-b: 2")],
        ),
        get(
            "client header on success",
            "/e",
            &[allow, say("x-quota: 5")],
        ),
        get(
            "client-only header on success not sent",
            "/e",
            &[allow, say("x-authz-reason: ok")],
        ),
        get("denial with 401", "/e", &[("x-authz-status", "401")]),
        get(
            "denial with 401 and a challenge",
            "/e",
            &[("x-authz-status", "401"), say("www-authenticate: Bearer")],
        ),
        get(
            "denial with 302 and a location",
            "/e",
            &[("x-authz-status", "302"), say("location: /login")],
        ),
        get("denial with 429", "/e", &[("x-authz-status", "429")]),
        failed(get(
            "malformed answer (204 with a body)",
            "/e",
            &[("x-authz-status", "204")],
        )),
        get(
            "denial with 418 and extra headers",
            "/e",
            &[
                ("x-authz-status", "418"),
                say("x-other: o | x-authz-reason: teapot"),
            ],
        ),
        get(
            "denial with a repeated client header",
            "/e",
            &[("x-authz-status", "403"), say("x-other: 1 | x-other: 2")],
        ),
        failed(get("service error 500", "/e", &[("x-authz-status", "500")])),
        failed(get("service error 503", "/e", &[("x-authz-status", "503")])),
        get("on-success header on a denial", "/e", &[say("x-quota: 5")]),
        get(
            "header to add spoofed by the client",
            "/e",
            &[allow, ("x-authz-caller", "client")],
        ),
        get(
            "long header value",
            "/e",
            &[allow, ("x-pass-long", &"v".repeat(6000))],
        ),
    ]
}

#[test]
fn ext_authz_http_service_twin() {
    let authz = AuthzServer::start();
    let config = ext_authz();
    let native = config.clone();
    let cluster = authz.cluster("authz");
    let native_cluster = cluster.clone();
    let twin = Twin::start(
        "twin_ext_authz::ext_authz_http_service_twin",
        |port| {
            let mut filter = json!({
                "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
                "transport_api_version": "V3"
            });
            for (k, v) in native.as_object().into_iter().flatten() {
                filter[k] = v.clone();
            }
            Bootstrap::new(port)
                .filter(json!({"name": "envoy.filters.http.ext_authz", "typed_config": filter}))
                .cluster(native_cluster)
        },
        |port| {
            Bootstrap::new(port)
                .wasm(
                    "auth",
                    &json!({"ext_authz": config, "default_requires": {"ext_authz": {}}}),
                )
                .cluster(cluster)
        },
    )
    .watch(&[
        "x-authz-reason",
        "x-quota",
        "www-authenticate",
        "location",
        "x-other",
        "content-type",
    ])
    .compare_denial_bodies()
    .declare(AUTHORITY);
    let cases = shapes();
    assert!(cases.len() >= 25);
    let seen = twin.run_observing(&cases, &|tollgate| checks(&authz, tollgate));
    tollgate_tests::twin::assert_answered(&seen, &[200, 403]);
}
