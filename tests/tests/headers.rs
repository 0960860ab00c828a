//! Traffic tests of the headers filter through a real Envoy.

use serde_json::{json, Value};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{send_raw, Proto, Request, BOTH};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;

fn start(config: Value) -> (EchoServer, Envoy) {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = Envoy::start(
        &Bootstrap::new(echo.port())
            .wasm("headers", &config)
            .direct_response("/local", 204, ""),
    );
    (echo, envoy)
}

fn add(key: &str, value: &str, action: &str) -> Value {
    json!({"header": {"key": key, "value": value}, "append_action": action})
}

#[test]
fn append_actions_on_request_and_response() {
    let (_echo, envoy) = start(json!({
        "request_headers_to_add": [
            add("x-append", "new", "APPEND_IF_EXISTS_OR_ADD"),
            add("x-if-absent", "new", "ADD_IF_ABSENT"),
            add("x-if-absent-2", "new", "ADD_IF_ABSENT"),
            add("x-overwrite", "new", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-overwrite-2", "new", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-only-existing", "new", "OVERWRITE_IF_EXISTS"),
            add("x-only-existing-2", "new", "OVERWRITE_IF_EXISTS")
        ],
        "response_headers_to_add": [
            add("x-r-append", "new", "APPEND_IF_EXISTS_OR_ADD"),
            add("x-r-if-absent", "new", "ADD_IF_ABSENT"),
            add("x-r-overwrite", "new", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-r-only-existing", "new", "OVERWRITE_IF_EXISTS"),
            add("x-r-only-existing-2", "new", "OVERWRITE_IF_EXISTS")
        ]
    }));
    for proto in BOTH {
        let resp = Request::get("/anything")
            .header("x-append", "old")
            .header("x-if-absent", "old")
            .header("x-overwrite", "old")
            .header("x-only-existing", "old")
            .header("x-echo-response-header", "x-r-append: old")
            .header("x-echo-response-header", "x-r-if-absent: old")
            .header("x-echo-response-header", "x-r-overwrite: old")
            .header("x-echo-response-header", "x-r-only-existing: old")
            .send(envoy.port, proto);
        assert_eq!(resp.status, 200, "{proto:?}");
        let up = |n: &str| resp.upstream_header_values(n);
        assert_eq!(up("x-append").join(","), "old,new", "{proto:?}");
        assert_eq!(up("x-if-absent"), ["old"]);
        assert_eq!(up("x-if-absent-2"), ["new"]);
        assert_eq!(up("x-overwrite"), ["new"]);
        assert_eq!(up("x-overwrite-2"), ["new"]);
        assert_eq!(up("x-only-existing"), ["new"]);
        assert!(up("x-only-existing-2").is_empty());
        assert_eq!(
            resp.header_values("x-r-append").join(","),
            "old,new",
            "{proto:?}"
        );
        assert_eq!(resp.header_values("x-r-if-absent"), ["old"]);
        assert_eq!(resp.header_values("x-r-overwrite"), ["new"]);
        assert_eq!(resp.header_values("x-r-only-existing"), ["new"]);
        assert!(resp.header("x-r-only-existing-2").is_none());
    }
    assert_eq!(envoy.counter("tollgate.headers.headers_added"), 2 * 8);
}

#[test]
fn removals_happen_before_additions_and_are_counted() {
    let (_echo, envoy) = start(json!({
        "request_headers_to_remove": ["x-secret", "x-replaced"],
        "request_headers_to_add": [add("x-replaced", "ours", "ADD_IF_ABSENT")],
        "response_headers_to_remove": ["x-upstream-internal"]
    }));
    for proto in BOTH {
        let resp = Request::get("/")
            .header("x-secret", "s3cr3t")
            .header("x-replaced", "theirs")
            .header("x-echo-response-header", "x-upstream-internal: yes")
            .send(envoy.port, proto);
        assert_eq!(resp.status, 200);
        assert!(resp.upstream_header_values("x-secret").is_empty());
        assert_eq!(resp.upstream_header_values("x-replaced"), ["ours"]);
        assert!(resp.header("x-upstream-internal").is_none());
    }
    assert_eq!(envoy.counter("tollgate.headers.headers_removed"), 2 * 3);
}

#[test]
fn templates_expand_from_the_request() {
    let (_echo, envoy) = start(json!({
        "request_headers_to_add": [
            add("x-t-req", "user=%REQ(x-user)% missing=[%REQ(x-missing)%]", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-path", "%PATH%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-method", "%METHOD%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-authority", "%AUTHORITY%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-scheme", "%SCHEME%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-addr", "%DOWNSTREAM_REMOTE_ADDRESS%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-ip", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-time", "%START_TIME%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-epoch", "%START_TIME(%s)%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-id", "%UNIQUE_ID%", "OVERWRITE_IF_EXISTS_OR_ADD"),
            add("x-t-percent", "100%% sure", "OVERWRITE_IF_EXISTS_OR_ADD")
        ],
        "response_headers_to_add": [add("x-t-echo-user", "%REQ(x-user)%", "OVERWRITE_IF_EXISTS_OR_ADD")]
    }));
    let mut ids = vec![];
    for proto in BOTH {
        let before = now();
        let resp = Request::get("/some/path?q=1")
            .method("PUT")
            .header("x-user", "alice")
            .send(envoy.port, proto);
        assert_eq!(resp.status, 200);
        let up = |n: &str| resp.upstream_header_values(n).join(",");
        assert_eq!(up("x-t-req"), "user=alice missing=[]");
        assert_eq!(up("x-t-path"), "/some/path?q=1");
        assert_eq!(up("x-t-method"), "PUT");
        assert!(
            up("x-t-authority").starts_with("127.0.0.1:") || up("x-t-authority") == "localhost",
            "{}",
            up("x-t-authority")
        );
        assert_eq!(up("x-t-scheme"), "http");
        assert!(
            up("x-t-addr").starts_with("127.0.0.1:"),
            "{}",
            up("x-t-addr")
        );
        assert_eq!(up("x-t-ip"), "127.0.0.1");
        let epoch: u64 = up("x-t-epoch").parse().expect("epoch seconds");
        assert!(epoch >= before && epoch <= now() + 1, "{epoch} vs {before}");
        let time = up("x-t-time");
        assert!(
            time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{time}"
        );
        assert_eq!(up("x-t-percent"), "100% sure");
        let id = up("x-t-id");
        assert!(is_uuid_v4(&id), "{id}");
        ids.push(id);
        assert_eq!(resp.header("x-t-echo-user"), Some("alice"));
    }
    assert_ne!(ids[0], ids[1], "%UNIQUE_ID% repeats");
}

#[test]
fn rules_apply_only_when_their_match_holds() {
    let (echo, envoy) = start(json!({
        "rules": [
            {"match": {"path": {"prefix": "/admin"}},
             "request_headers_to_add": [add("x-zone", "admin", "OVERWRITE_IF_EXISTS_OR_ADD")],
             "response_headers_to_add": [add("cache-control", "no-store", "OVERWRITE_IF_EXISTS_OR_ADD")]},
            {"match": {"methods": ["POST"], "headers": [{"name": "x-tenant", "string_match": {"exact": "blue"}}]},
             "request_headers_to_add": [add("x-blue-post", "1", "OVERWRITE_IF_EXISTS_OR_ADD")]},
            {"match": {"headers": [{"name": "x-debug", "present_match": false}]},
             "request_headers_to_add": [add("x-no-debug", "1", "OVERWRITE_IF_EXISTS_OR_ADD")]},
            {"match": {"authority": {"exact": "api.example.com"}},
             "request_headers_to_add": [add("x-api-host", "1", "OVERWRITE_IF_EXISTS_OR_ADD")]},
            {"match": {"path": {"safe_regex": {"regex": "/v[0-9]+/items/[0-9]+"}}},
             "request_headers_to_add": [add("x-item", "1", "OVERWRITE_IF_EXISTS_OR_ADD")]}
        ]
    }));
    let get = |req: Request| req.send(envoy.port, Proto::H1);
    let r = get(Request::get("/admin/users"));
    assert_eq!(r.upstream_header_values("x-zone"), ["admin"]);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.upstream_header_values("x-no-debug"), ["1"]);
    let r = get(Request::get("/public").header("x-debug", "1"));
    assert!(r.upstream_header_values("x-zone").is_empty());
    assert!(r.header("cache-control").is_none());
    assert!(r.upstream_header_values("x-no-debug").is_empty());
    let r = get(Request::get("/").method("POST").header("x-tenant", "blue"));
    assert_eq!(r.upstream_header_values("x-blue-post"), ["1"]);
    let r = get(Request::get("/").method("GET").header("x-tenant", "blue"));
    assert!(r.upstream_header_values("x-blue-post").is_empty());
    let r = get(Request::get("/").method("POST").header("x-tenant", "bluey"));
    assert!(r.upstream_header_values("x-blue-post").is_empty());
    let r = get(Request::get("/").header("host", "API.example.com:443"));
    assert_eq!(
        r.upstream_header_values("x-api-host"),
        ["1"],
        "{}",
        r.text()
    );
    let r = get(Request::get("/v2/items/42?x=1"));
    assert_eq!(r.upstream_header_values("x-item"), ["1"]);
    let r = get(Request::get("/v2/items/42/more"));
    assert!(r.upstream_header_values("x-item").is_empty());
    assert!(envoy.counter("tollgate.headers.rules_matched") >= 6);
    drop(echo);
}

/// Spellings of `/admin/...` that Envoy (with default settings) forwards as
/// they are: a rule on `/admin` must still match each one.
#[test]
fn path_rules_cannot_be_bypassed_by_spelling() {
    let rules = json!([{"match": {"path": {"prefix": "/admin/"}},
                        "request_headers_to_add": [add("x-zone", "admin", "OVERWRITE_IF_EXISTS_OR_ADD")]}]);
    let one_reading = [
        "/admin/x",
        "//admin/x",
        "/admin//x",
        "/%61dmin/x",
        "/admin/x?y=/public",
    ];
    let ambiguous = [
        "/./admin/x",
        "/public/../admin/x",
        "/admin%2Fx",
        "/admin%2fx",
        "/admin;jsessionid=1/x",
        "/public/%2e%2e/admin/x",
        "/admin/..;/public",
        "/admin\\..\\public",
    ];
    let get = |envoy: &Envoy, path: &str| {
        let raw = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
        send_raw(envoy.port, raw.as_bytes()).expect("send")
    };
    // By default: the rule applies, or the path is refused as ambiguous.
    let (echo, envoy) = start(json!({"rules": rules}));
    for path in one_reading {
        let r = get(&envoy, path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(
            r.upstream_header_values("x-zone"),
            ["admin"],
            "{path} bypassed the rule"
        );
    }
    echo.clear();
    for path in ambiguous {
        let r = get(&envoy, path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.json()["error"], "ambiguous_path", "{path}");
    }
    assert!(
        echo.received().is_empty(),
        "an ambiguous path reached the upstream"
    );
    assert_eq!(
        envoy.counter("tollgate.headers.ambiguous_paths"),
        ambiguous.len() as u64
    );
    drop(envoy);
    // MATCH_NORMALIZED: every spelling gets the rule, as the normalized path says.
    let (_echo, envoy) =
        start(json!({"rules": rules, "ambiguous_path_action": "MATCH_NORMALIZED"}));
    for path in one_reading.iter().chain(&ambiguous[..6]) {
        let r = get(&envoy, path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(
            r.upstream_header_values("x-zone"),
            ["admin"],
            "{path} bypassed the rule"
        );
    }
    drop(envoy);
    // Without a path condition nothing is refused: no rule reads the path.
    let (_echo, envoy) = start(json!({"rules": [{"match": {"methods": ["GET"]},
        "request_headers_to_add": [add("x-get", "1", "OVERWRITE_IF_EXISTS_OR_ADD")]}]}));
    for path in ambiguous {
        let r = get(&envoy, path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    assert_eq!(envoy.counter("tollgate.headers.ambiguous_paths"), 0);
}

#[test]
fn local_replies_get_response_headers_once() {
    let (echo, envoy) = start(json!({
        "response_headers_to_add": [add("x-served-by", "tollgate", "APPEND_IF_EXISTS_OR_ADD")]
    }));
    for proto in BOTH {
        let r = Request::get("/local/reply").send(envoy.port, proto);
        assert_eq!(r.status, 204);
        assert_eq!(r.header_values("x-served-by"), ["tollgate"], "{proto:?}");
        let r = Request::get("/").send(envoy.port, proto);
        assert_eq!(r.header_values("x-served-by"), ["tollgate"], "{proto:?}");
    }
    assert_eq!(echo.received_under("/local").len(), 0);
}

#[test]
fn injection_attempts_are_refused_or_inert() {
    let (echo, envoy) = start(json!({
        "request_headers_to_add": [add("x-greeting", "hello %REQ(x-user)%", "OVERWRITE_IF_EXISTS_OR_ADD")],
        "response_headers_to_add": [add("x-user-seen", "%REQ(x-user)%", "OVERWRITE_IF_EXISTS_OR_ADD")]
    }));
    // A template in a client's value is data, never expanded again.
    let r = Request::get("/")
        .header("x-user", "%REQ(authorization)%")
        .header("authorization", "secret")
        .send(envoy.port, Proto::H1);
    assert_eq!(
        r.upstream_header_values("x-greeting"),
        ["hello %REQ(authorization)%"]
    );
    // CR, LF and NUL never reach a header the filter writes: Envoy's codec
    // refuses them, or what it accepts is expanded as one clean value.
    for bad in ["a\rb", "a\r\n x-folded: 1", "a\0b", "a\x0bb"] {
        echo.clear();
        let raw = format!(
            "GET /inject HTTP/1.1\r\nhost: localhost\r\nx-user: {bad}\r\nconnection: close\r\n\r\n"
        );
        let r = send_raw(envoy.port, raw.as_bytes()).expect("send");
        if r.status == 400 {
            assert!(echo.received().is_empty(), "{bad:?} reached the upstream");
            continue;
        }
        let greetings = r.upstream_header_values("x-greeting");
        assert_eq!(greetings.len(), 1, "{bad:?}: {greetings:?}");
        assert!(
            !greetings[0].contains(['\r', '\n', '\0']),
            "{bad:?}: {greetings:?}"
        );
        assert!(r.header("x-folded").is_none());
    }
    // Bytes that are not UTF-8 (obs-text) must not crash the VM.
    let mut raw =
        b"GET /latin1 HTTP/1.1\r\nhost: localhost\r\nx-user: caf\xe9\r\nconnection: close\r\n\r\n"
            .to_vec();
    let r = send_raw(envoy.port, &raw).expect("send");
    assert!(r.status == 200 || r.status == 400, "{}", r.status);
    raw.clear();
    let r = Request::get("/after")
        .header("x-user", "bob")
        .send(envoy.port, Proto::H1);
    assert_eq!(
        r.upstream_header_values("x-greeting"),
        ["hello bob"],
        "the VM must keep serving"
    );
}

#[test]
fn stats_count_every_decision() {
    let (_echo, envoy) = start(json!({
        "request_headers_to_add": [add("x-a", "1", "OVERWRITE_IF_EXISTS_OR_ADD")],
        "request_headers_to_remove": ["x-b"],
        "rules": [{"match": {"path": {"exact": "/m"}},
                   "request_headers_to_add": [add("x-c", "1", "OVERWRITE_IF_EXISTS_OR_ADD")]}]
    }));
    for path in ["/m", "/m", "/n"] {
        Request::get(path)
            .header("x-b", "1")
            .send(envoy.port, Proto::H1);
    }
    assert_eq!(envoy.counter("tollgate.headers.requests"), 3);
    assert_eq!(envoy.counter("tollgate.headers.rules_matched"), 2);
    assert_eq!(envoy.counter("tollgate.headers.headers_added"), 5);
    assert_eq!(envoy.counter("tollgate.headers.headers_removed"), 3);
    assert!(envoy
        .stats()
        .iter()
        .any(|(n, _)| n.ends_with("tollgate.headers.values_dropped")));
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn is_uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
        && parts[2].starts_with('4')
        && matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b'))
}
