//! Every rule that guards a path, tried with the path spelled otherwise:
//! the auth filter's `/admin` (Basic, `ignore_case`) and `/api` (API key,
//! case-sensitive), and the ratelimit filter's `/login` bucket (one request
//! per hour). Documented (README, "Paths: the guarantee" and "Path
//! normalization"): by default an ambiguous path (separators, parameters,
//! dot segments, double encoding, what cannot be normalized) is 400
//! `ambiguous_path`; with `ambiguous_path_action: MATCH_NORMALIZED`
//! matching sees the path decoded once, `\` as `/`, segment parameters cut,
//! `//`, `.` and `..` resolved, query and fragment cut, and a path that
//! cannot be normalized is 400 when an auth rule has a path condition.
//! Envoy's own HTTP/1.1 codec refuses a fragment first (400, its own body).
//! Either way nothing reaches the upstream. The same guard against real
//! upstreams is `tests/tests/path_guard.rs`.

use crate::common::{assert_refused, is_filter_reply, Upstream};
use serde_json::json;
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{send_raw, Proto, Request, Response, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

/// Spellings of `{p}/x` (p = `/admin`, `/api`, `/login`, without the slash
/// as `{n}`) that normalize to a path under p.
const SAME_PATH: &[&str] = &[
    "{p}/x",
    "{p}",
    "{p}/",
    "//{n}/x",
    "///{n}//x",
    "/./{n}/x",
    "/public/../{n}/x",
    "/public/./../{n}/x",
    "/a/b/../../{n}/x",
    "/../{n}/x",
    "/{n}%2Fx",
    "/{n}%2fx",
    "/%2F{n}/x",
    "/%2e/{n}/x",
    "/public/%2e%2e/{n}/x",
    "/public/%2E%2E/{n}/x",
    "/public/..%2f{n}/x",
    "/public/%2e%2e%2f{n}/x",
    "/public%2f..%2f{n}/x",
    "/public/.%2e/{n}/x",
    "/{n};/x",
    "/{n};x=1/x",
    "/{n};",
    "/{n}/x;",
    "/public;/../{n}",
    "/{n}%5cx",
    "/public%5c..%5c{n}",
    "/public\\..\\{n}/x",
    "/{n}\\x",
    "/{n}?/public",
    "/{n}/x?a=/../public",
    "/{n}#/public",
    "/{n}%3F/public",
    "/{n}%23/public",
    "/%{h1}{h2}{rest}/x",
];

/// Paths that cannot be normalized.
const INVALID: &[&str] = &[
    "/{n}%00/x",
    "/{n}/%zz",
    "/{n}%",
    "/%c0%ae%c0%ae/{n}",
    "/{n}/%ff",
];

fn spell(template: &str, p: &str) -> String {
    let n = &p[1..];
    let hex = format!("{:02X}", n.as_bytes()[0]);
    template
        .replace("{p}", p)
        .replace("{n}", n)
        .replace("{h1}", &hex[..1])
        .replace("{h2}", &hex[1..])
        .replace("{rest}", &n[1..])
}

/// `ambiguous_path_action` of both filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Reject,
    MatchNormalized,
}

impl Action {
    fn apply(self, mut config: serde_json::Value) -> serde_json::Value {
        if self == Action::MatchNormalized {
            config["ambiguous_path_action"] = json!("MATCH_NORMALIZED");
        }
        config
    }
}

fn start(action: Action) -> (EchoServer, Envoy) {
    let auth = json!({
        "basic": {"users": "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", "realm": "r"},
        "api_key": {"credentials": [{"key": "key-one", "client": "one"}], "key_sources": [{"header": "x-api-key"}]},
        "rules": [
            {"match": {"path": {"prefix": "/public"}}, "requires": {"allow_missing_or_failed": {}}},
            {"match": {"path": {"prefix": "/admin", "ignore_case": true}}, "requires": {"basic": {}}},
            {"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}}
        ]
    });
    let ratelimit = json!({"descriptors": [{"name": "login", "match": {"path": {"prefix": "/login"}}, "key": [],
        "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "1h"}}]});
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("auth", &action.apply(auth))
            .wasm("ratelimit", &action.apply(ratelimit)),
    );
    (echo, envoy)
}

/// HTTP/1.1 sends the path byte for byte; HTTP/2 goes through curl with
/// `--path-as-is` (which cuts a `#...` fragment itself).
fn send(port: u16, path: &str, proto: Proto) -> Option<Response> {
    match proto {
        Proto::H1 => {
            let raw =
                format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
            Some(send_raw(port, raw.as_bytes()).expect("send"))
        }
        // curl refuses a URL with a backslash or a raw '%' it cannot encode.
        Proto::H2 if path.contains('\\') => None,
        Proto::H2 => Some(Request::get(path).send(port, proto)),
    }
}

/// The documented refusal. Envoy 1.40's HTTP/1.1 codec refuses a request
/// target with a fragment (`#`) itself, before any filter (400, its own
/// body); every other spelling here reaches the filters, so this cannot
/// pass by Envoy refusing everything.
fn assert_guarded(r: &Response, status: u16, error: &str, what: &str) {
    if r.status == 400 && !is_filter_reply(r) {
        assert!(
            what.contains('#'),
            "{what}: refused by Envoy, not by the filter: {}",
            r.text()
        );
        return;
    }
    assert_refused(r, status, error, what);
}

/// By default an ambiguous spelling is refused as such; the others get the
/// guard's own refusal.
fn assert_guarded_or_ambiguous(r: &Response, status: u16, error: &str, what: &str) {
    if r.status == 400 && is_filter_reply(r) && r.json()["error"] == "ambiguous_path" {
        return;
    }
    assert_guarded(r, status, error, what);
}

/// Spellings that have one reading: the default guards them as the
/// normalized path says, with the guard's own status.
const ONE_READING: &[&str] = &[
    "{p}/x",
    "{p}",
    "{p}/",
    "//{n}/x",
    "///{n}//x",
    "/{n}?/public",
    "/{n}/x?a=/../public",
    "/{n}%3F/public",
    "/{n}%23/public",
    "/%{h1}{h2}{rest}/x",
];

#[test]
fn by_default_guarded_paths_are_guarded_or_refused_as_ambiguous() {
    let (echo, envoy) = start(Action::Reject);
    let port = envoy.port;
    assert_eq!(Request::get("/login").send(port, Proto::H1).status, 200);
    let upstream = Upstream::watch(&echo, &envoy);
    let guards = [
        ("/admin", 401, "unauthorized"),
        ("/api", 401, "unauthorized"),
        ("/login", 429, "rate_limited"),
    ];
    for proto in BOTH {
        for (p, status, error) in guards {
            for t in SAME_PATH {
                let path = spell(t, p);
                let Some(r) = send(port, &path, proto) else {
                    continue;
                };
                let what = format!("{path} {proto:?}");
                if ONE_READING.contains(t) {
                    assert_guarded(&r, status, error, &what);
                } else if !path.contains('#') {
                    assert_refused(&r, 400, "ambiguous_path", &what);
                } else {
                    assert_guarded_or_ambiguous(&r, status, error, &what);
                }
            }
            for t in INVALID {
                let path = spell(t, p);
                if let Some(r) = send(port, &path, proto) {
                    assert_guarded(&r, 400, "ambiguous_path", &format!("{path} {proto:?}"));
                }
            }
        }
    }
    upstream.assert_nothing("guarded paths spelled otherwise");
    // The auth filter (first, with path rules) refuses them before the
    // ratelimit filter sees them; `limit_alone` has the ratelimit filter's.
    assert!(envoy.counter("wasmcustom.tollgate.auth.ambiguous_paths") > 0);
}

#[test]
fn guarded_paths_spelled_otherwise_are_still_guarded() {
    let (echo, envoy) = start(Action::MatchNormalized);
    let port = envoy.port;
    // The one token of /login's bucket.
    assert_eq!(Request::get("/login").send(port, Proto::H1).status, 200);
    let upstream = Upstream::watch(&echo, &envoy);
    let guards = [
        ("/admin", 401, "unauthorized"),
        ("/api", 401, "unauthorized"),
        ("/login", 429, "rate_limited"),
    ];
    for proto in BOTH {
        for (p, status, error) in guards {
            for t in SAME_PATH {
                let path = spell(t, p);
                if let Some(r) = send(port, &path, proto) {
                    assert_guarded(&r, status, error, &format!("{path} {proto:?}"));
                }
            }
        }
        // Case: /admin ignores case, by configuration.
        for path in ["/ADMIN/x", "/Admin", "/%41DMIN/x", "/aDmIn;x/y"] {
            let r = send(port, path, proto).expect("sent");
            assert_guarded(&r, 401, "unauthorized", &format!("{path} {proto:?}"));
        }
        // Absolute-form request target (HTTP/1.1 proxies' form).
        if proto == Proto::H1 {
            for target in [
                "http://localhost/admin/x",
                "http://localhost//api/x",
                "http://localhost/public/../api",
            ] {
                let raw = format!(
                    "GET {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
                );
                let r = send_raw(port, raw.as_bytes()).expect("send");
                assert_guarded(&r, 401, "unauthorized", target);
            }
        }
        for (p, _, _) in guards {
            for t in INVALID {
                let path = spell(t, p);
                if let Some(r) = send(port, &path, proto) {
                    assert_guarded(&r, 400, "bad_request", &format!("{path} {proto:?}"));
                }
            }
        }
    }
    upstream.assert_nothing("guarded paths spelled otherwise");
}

/// What the rules let through under `MATCH_NORMALIZED`, as documented: `/api` is case-sensitive (as
/// Envoy's routes), so `/API` is another path; `%252e%252e` is decoded
/// once, to the text `%2e%2e`, never to `..`; a `?` starts the query. Each
/// goes upstream exactly as sent, so no later decoding turns it into a
/// guarded path.
#[test]
fn what_the_rules_let_through_reaches_the_upstream_unchanged() {
    let (echo, envoy) = start(Action::MatchNormalized);
    let port = envoy.port;
    for proto in BOTH {
        for path in [
            "/API/x",
            "/public/%252e%252e/admin/x",
            "/%252e%252e/api/x",
            "/public?/admin",
            "/public/%2561dmin",
        ] {
            echo.clear();
            let r = send(port, path, proto).expect("sent");
            assert_eq!(r.status, 200, "{path} {proto:?}: {}", r.text());
            assert_eq!(
                r.json()["path"],
                path,
                "{proto:?}: the upstream saw another path"
            );
            assert!(r.upstream_header_values("x-tollgate-identity").is_empty());
        }
    }
}

/// The default refuses what MATCH_NORMALIZED lets through only because it
/// decodes once: a second decoding upstream would read another path.
#[test]
fn by_default_double_encoding_is_refused_and_one_reading_paths_pass_unchanged() {
    let (echo, envoy) = start(Action::Reject);
    let port = envoy.port;
    for proto in BOTH {
        for path in [
            "/public/%252e%252e/admin/x",
            "/%252e%252e/api/x",
            "/public/%2561dmin",
        ] {
            let r = send(port, path, proto).expect("sent");
            assert_refused(&r, 400, "ambiguous_path", &format!("{path} {proto:?}"));
        }
        for path in ["/API/x", "/public?/admin", "/public/x?a=..;/admin"] {
            echo.clear();
            let r = send(port, path, proto).expect("sent");
            assert_eq!(r.status, 200, "{path} {proto:?}: {}", r.text());
            assert_eq!(
                r.json()["path"],
                path,
                "{proto:?}: the upstream saw another path"
            );
        }
    }
}

/// The ratelimit filter alone (no auth rule answering 400 first): a path
/// that cannot be normalized matches every `path` condition there, so no
/// spelling of `/login` escapes its limit, normalizable or not.
#[test]
fn no_spelling_escapes_a_path_limit_of_the_ratelimit_filter_alone() {
    for action in [Action::Reject, Action::MatchNormalized] {
        limit_alone(action);
    }
}

fn limit_alone(action: Action) {
    let ratelimit = action.apply(
        json!({"descriptors": [{"name": "login", "match": {"path": {"prefix": "/login"}}, "key": [],
        "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "1h"}}]}),
    );
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(&Bootstrap::new(echo.port()).wasm("ratelimit", &ratelimit));
    let port = envoy.port;
    assert_eq!(Request::get("/login").send(port, Proto::H1).status, 200);
    let upstream = Upstream::watch(&echo, &envoy);
    for proto in BOTH {
        for t in SAME_PATH.iter().chain(INVALID) {
            let path = spell(t, "/login");
            if let Some(r) = send(port, &path, proto) {
                let what = format!("{path} {proto:?} {action:?}");
                match action {
                    Action::Reject => assert_guarded_or_ambiguous(&r, 429, "rate_limited", &what),
                    Action::MatchNormalized => assert_guarded(&r, 429, "rate_limited", &what),
                }
            }
        }
    }
    upstream.assert_nothing("spellings of a limited path");
    let refused = envoy.counter("wasmcustom.tollgate.ratelimit.ambiguous_paths");
    match action {
        Action::Reject => assert!(refused > 0, "ratelimit.ambiguous_paths"),
        Action::MatchNormalized => assert_eq!(refused, 0),
    }
    assert_eq!(
        Request::get("/other").send(port, Proto::H2).status,
        200,
        "other paths are not limited"
    );
}
