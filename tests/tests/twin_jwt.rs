//! Twin of Envoy's `envoy.filters.http.jwt_authn`: the same providers and
//! rules through the native filter and through the auth module's `jwt`
//! (Tollgate's `rules` are jwt_authn's), the same requests to both (see
//! `tollgate_tests::twin`): token sources (header with a custom prefix,
//! query parameter, cookie), token removal, `forward`,
//! `forward_payload_header` (with and without padding) and
//! `claim_to_headers`.

use serde_json::{json, Value};
use std::sync::OnceLock;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::Request;
use tollgate_tests::twin::{Case, Diff, Twin};

const ISS: &str = "https://issuer.test";
const AUD: &str = "api.test";
const IDENTITY: &str = "`identity_header`";
const CHALLENGE: &str = "Bearer realm=";
const SCHEME: &str = "`bearer` in any case";
const COOKIE: &str = "removed from its cookie";

fn minted() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| tollgate_tests::pyjwt::mint("auth_jwt"))
}

fn token(name: &str) -> String {
    minted()["tokens"][name].as_str().expect(name).to_string()
}

fn claims() -> Value {
    json!([
        {"header_name": "x-sub", "claim_name": "sub"},
        {"header_name": "x-team", "claim_name": "org.team"},
        {"header_name": "x-n", "claim_name": "org.n"},
        {"header_name": "x-deep", "claim_name": "org.deep"},
        {"header_name": "x-num", "claim_name": "num"},
        {"header_name": "x-flag", "claim_name": "flag"},
        {"header_name": "x-ratio", "claim_name": "ratio"},
        {"header_name": "x-list", "claim_name": "list"},
        {"header_name": "x-text", "claim_name": "text"},
        {"header_name": "x-empty", "claim_name": "empty"},
        {"header_name": "x-none", "claim_name": "nope"}
    ])
}

fn config() -> Value {
    let jwks = json!({"inline_string": minted()["jwks1"].to_string()});
    let provider = |extra: Value| {
        let mut p = json!({"issuer": ISS, "audiences": [AUD], "local_jwks": jwks,
                           "forward_payload_header": "x-jwt-payload", "claim_to_headers": claims()});
        for (k, v) in extra.as_object().into_iter().flatten() {
            p[k] = v.clone();
        }
        p
    };
    json!({
        "providers": {
            "default": provider(json!({})),
            "custom": provider(json!({"from_headers": [{"name": "x-jwt", "value_prefix": "Token "}]})),
            "param": provider(json!({"from_params": ["jwt"]})),
            "cookie": provider(json!({"from_cookies": ["jwt"]})),
            "fwd": provider(json!({"forward": true, "pad_forward_payload_header": true}))
        },
        "rules": [
            {"match": {"prefix": "/custom"}, "requires": {"provider_name": "custom"}},
            {"match": {"prefix": "/param"}, "requires": {"provider_name": "param"}},
            {"match": {"prefix": "/cookie"}, "requires": {"provider_name": "cookie"}},
            {"match": {"prefix": "/fwd"}, "requires": {"provider_name": "fwd"}},
            {"match": {"prefix": "/"}, "requires": {"provider_name": "default"}}
        ]
    })
}

fn shapes() -> Vec<Case> {
    let (good, rich, long) = (token("rs256"), token("rich"), token("rich_long"));
    let bearer = |t: &str| format!("Bearer {t}");
    let h = |shape: &str, path: &str, headers: &[(&str, &str)]| {
        Case::new(
            shape,
            headers
                .iter()
                .fold(Request::get(path), |r, (n, v)| r.header(n, v)),
        )
    };
    let denied = |c: Case| c.listed(Diff::Response("www-authenticate"), CHALLENGE);
    // RFC 9110 11.1: the auth-scheme is case-insensitive.
    let rfc = |c: Case| {
        c.listed(Diff::Status(401, 200), SCHEME)
            .listed(Diff::Response("www-authenticate"), SCHEME)
    };
    // Envoy leaves a verified token in the cookie it came in.
    let kept = |c: Case| c.listed(Diff::UpstreamHeader("cookie"), COOKIE);
    let p = |path: &str| format!("/param?a=1&jwt={path}&b=2");
    vec![
        denied(h("no token", "/h", &[])),
        h("good token", "/h", &[("authorization", &bearer(&good))]),
        h("rich claims", "/h", &[("authorization", &bearer(&rich))]).h2(),
        h("long claim", "/h", &[("authorization", &bearer(&long))]),
        denied(h(
            "expired",
            "/h",
            &[("authorization", &bearer(&token("expired")))],
        )),
        denied(h(
            "wrong issuer",
            "/h",
            &[("authorization", &bearer(&token("wrong_iss")))],
        )),
        denied(h(
            "wrong audience",
            "/h",
            &[("authorization", &bearer(&token("wrong_aud")))],
        )),
        denied(h("garbage", "/h", &[("authorization", "Bearer not.a.jwt")])),
        denied(h(
            "alg none",
            "/h",
            &[("authorization", &bearer(&token("alg_none")))],
        )),
        rfc(h(
            "bearer in lower case",
            "/h",
            &[("authorization", &format!("bearer {good}"))],
        )),
        denied(h(
            "Bearer without token",
            "/h",
            &[("authorization", "Bearer ")],
        )),
        h(
            "token as access_token parameter",
            &format!("/h?access_token={good}&x=1"),
            &[],
        ),
        denied(h(
            "two authorization headers",
            "/h",
            &[
                ("authorization", &bearer(&good)),
                ("authorization", &bearer(&rich)),
            ],
        )),
        denied(h(
            "bad then good authorization",
            "/h",
            &[
                ("authorization", "Bearer x.y.z"),
                ("authorization", &bearer(&good)),
            ],
        )),
        h(
            "spoofed claim headers",
            "/h",
            &[
                ("authorization", &bearer(&good)),
                ("x-sub", "root"),
                ("x-jwt-payload", "e30"),
            ],
        ),
        denied(h(
            "spoofed claim headers, no token",
            "/h",
            &[("x-sub", "root"), ("x-team", "red")],
        )),
        h(
            "custom header and prefix",
            "/custom",
            &[("x-jwt", &format!("Token {rich}"))],
        ),
        denied(h(
            "custom header, wrong prefix",
            "/custom",
            &[("x-jwt", &bearer(&good))],
        )),
        denied(h(
            "custom provider, authorization only",
            "/custom",
            &[("authorization", &bearer(&good))],
        )),
        h("query parameter", &p(&good), &[]),
        h("query parameter, rich", &p(&rich), &[]).h2(),
        h(
            "query parameter twice",
            &format!("/param?jwt={good}&jwt={rich}"),
            &[],
        ),
        denied(h("query parameter, garbage", &p("x.y.z"), &[])),
        h("query parameter alone", &format!("/param?jwt={good}"), &[]),
        kept(h(
            "cookie",
            "/cookie",
            &[("cookie", &format!("a=1; jwt={good}; b=2"))],
        )),
        kept(h(
            "cookie alone",
            "/cookie",
            &[("cookie", &format!("jwt={rich}"))],
        )),
        kept(h(
            "two cookie headers",
            "/cookie",
            &[("cookie", "a=1"), ("cookie", &format!("jwt={good}"))],
        )),
        denied(h("cookie, garbage", "/cookie", &[("cookie", "jwt=x.y.z")])),
        h(
            "forward with padding",
            "/fwd",
            &[("authorization", &bearer(&rich))],
        ),
        h(
            "forward, long",
            "/fwd",
            &[("authorization", &bearer(&long))],
        ),
        h(
            "forward, HTTP/2",
            "/fwd",
            &[("authorization", &bearer(&good))],
        )
        .h2(),
    ]
}

#[test]
fn jwt_authn_sources_forwarding_and_claims_twin() {
    let c = config();
    let native = c.clone();
    let twin = Twin::start(
        "twin_jwt::jwt_authn_sources_forwarding_and_claims_twin",
        |port| {
            Bootstrap::new(port).filter(json!({
                "name": "envoy.filters.http.jwt_authn",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                    "providers": native["providers"],
                    "rules": native["rules"]
                }
            }))
        },
        |port| {
            Bootstrap::new(port).wasm(
                "auth",
                &json!({"jwt": {"providers": c["providers"]}, "rules": c["rules"]}),
            )
        },
    )
    .watch(&["www-authenticate"])
    .tollgate_adds("x-tollgate-identity", IDENTITY);
    let cases = shapes();
    assert!(cases.len() >= 25);
    let seen = twin.run(&cases);
    let passed = seen.iter().filter(|(n, _)| n.status == 200).count();
    assert!(
        passed >= 10 && passed < seen.len(),
        "{passed} of {} passed",
        seen.len()
    );
}

/// jwt_authn's `bypass_cors_preflight` (Tollgate: under `jwt`): a CORS
/// preflight (`OPTIONS` with `origin` and `access-control-request-method`)
/// passes without a token; every other combination still needs one.
#[test]
fn jwt_authn_bypass_cors_preflight_twin() {
    let c = config();
    let rules = json!([{"match": {"prefix": "/"}, "requires": {"provider_name": "default"}}]);
    let (native_providers, native_rules) = (c["providers"].clone(), rules.clone());
    let twin = Twin::start(
        "twin_jwt::jwt_authn_bypass_cors_preflight_twin",
        |port| {
            Bootstrap::new(port).filter(json!({
                "name": "envoy.filters.http.jwt_authn",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                    "providers": native_providers,
                    "rules": native_rules,
                    "bypass_cors_preflight": true
                }
            }))
        },
        |port| {
            Bootstrap::new(port).wasm(
                "auth",
                &json!({"jwt": {"providers": c["providers"], "bypass_cors_preflight": true}, "rules": rules}),
            )
        },
    )
    .watch(&["www-authenticate"])
    .tollgate_adds("x-tollgate-identity", IDENTITY);
    let mut cases = vec![];
    for method in ["OPTIONS", "GET", "POST"] {
        for origin in [None, Some(""), Some("https://app.test")] {
            for acrm in [None, Some(""), Some("GET")] {
                let mut r = Request::get("/cors").method(method);
                if let Some(o) = origin {
                    r = r.header("origin", o);
                }
                if let Some(a) = acrm {
                    r = r.header("access-control-request-method", a);
                }
                let preflight = method == "OPTIONS"
                    && origin == Some("https://app.test")
                    && acrm == Some("GET");
                let c = Case::new(&format!("{method} origin {origin:?} acrm {acrm:?}"), r);
                cases.push(if preflight {
                    c
                } else {
                    c.listed(Diff::Response("www-authenticate"), CHALLENGE)
                });
            }
        }
    }
    let preflight = |r: Request| {
        r.method("OPTIONS")
            .header("origin", "https://app.test")
            .header("access-control-request-method", "POST")
    };
    cases.push(Case::new(
        "preflight with a good token",
        preflight(Request::get("/cors"))
            .header("authorization", &format!("Bearer {}", token("rs256"))),
    ));
    cases.push(Case::new(
        "preflight with a garbage token",
        preflight(Request::get("/cors")).header("authorization", "Bearer not.a.jwt"),
    ));
    let seen = twin.run(&cases);
    assert_eq!(seen.iter().filter(|(n, _)| n.status == 200).count(), 3);
}
