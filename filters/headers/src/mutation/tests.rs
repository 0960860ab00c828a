use super::*;
use crate::config::parse;
/// Headers as a list of pairs; `set` replaces every value, as Envoy does.
use tollgate_common::header::HeaderList as Headers;
use tollgate_common::testing::FakeSource;

fn req(headers: Vec<(&'static str, &'static str)>) -> Request<FakeSource> {
    FakeSource::new(&headers)
        .client(Some("[2001:db8::7]:50000"))
        .request()
}

fn get_req(path: &'static str) -> Request<FakeSource> {
    req(vec![
        (":path", path),
        (":method", "GET"),
        (":authority", "example.com"),
        (":scheme", "https"),
    ])
}

#[test]
fn empty_config_plans_nothing() {
    let plan = plan(&parse(b"").unwrap(), &get_req("/"));
    assert_eq!(plan, Plan::default());
    assert!(plan.request_is_empty() && plan.response_is_empty());
}

const RULES: &str = r#"{
  "request_headers_to_add": [{"header": {"key": "x-top", "value": "t"}}],
  "response_headers_to_remove": ["server"],
  "rules": [
    {"match": {"path": {"prefix": "/admin"}},
     "request_headers_to_add": [{"header": {"key": "x-admin", "value": "yes"}}],
     "request_headers_to_remove": ["x-top"],
     "response_headers_to_add": [{"header": {"key": "cache-control", "value": "no-store"}}]},
    {"match": {"methods": ["POST"]},
     "request_headers_to_add": [{"header": {"key": "x-post", "value": "1"}}]},
    {"request_headers_to_add": [{"header": {"key": "x-last", "value": "1"}}]}
  ]
}"#;

#[test]
fn top_level_then_matching_rules_in_order() {
    let config = parse(RULES.as_bytes()).unwrap();
    let p = plan(&config, &get_req("/public"));
    assert_eq!(p.rules_matched, 1);
    assert_eq!(p.request.remove, Vec::<String>::new());
    let names: Vec<&str> = p.request.add.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["x-top", "x-last"]);
    assert_eq!(p.response.remove, ["server"]);
    assert!(p.response.add.is_empty());

    let p = plan(&config, &get_req("/admin/users"));
    assert_eq!(p.rules_matched, 2);
    assert_eq!(p.request.remove, ["x-top"]);
    let names: Vec<&str> = p.request.add.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["x-top", "x-admin", "x-last"]);
    assert_eq!(
        p.response.add,
        [(
            "cache-control".to_string(),
            "no-store".to_string(),
            AppendAction::AppendIfExistsOrAdd
        )]
    );

    // Removals run before additions whatever their origin: x-top is removed
    // (the client's copy) and then added by the top level.
    let mut h = Headers::of(&[("x-top", "from-client")]);
    let applied = apply(&p.request, &mut h);
    assert_eq!(h.all("x-top"), ["t"]);
    assert_eq!(
        applied,
        Applied {
            added: 3,
            removed: 1
        }
    );
}

#[test]
fn path_bypass_spellings_still_match_the_admin_rule() {
    let config = parse(RULES.as_bytes()).unwrap();
    for path in [
        "/admin",
        "/admin/",
        "//admin",
        "/ADMIN/../admin",
        "/%61dmin/x",
        "/admin%2Fx",
        "/x/../admin",
        "/./admin",
        "/admin;jsessionid=1",
        "/x/..;/admin",
        "/admin\\x",
        "/x/%2e%2e/admin",
        "/admin?q",
    ] {
        let p = plan(&config, &get_req(path));
        assert!(
            p.request.add.iter().any(|(n, _, _)| n == "x-admin"),
            "{path}"
        );
    }
    for path in ["/", "/adm", "/public/admin", "/%zz/admin", "/Admin"] {
        let p = plan(&config, &get_req(path));
        assert!(
            !p.request.add.iter().any(|(n, _, _)| n == "x-admin"),
            "{path}"
        );
    }
}

#[test]
fn templates_expand_at_request_time_on_both_sides() {
    let config = parse(
        br#"{
      "request_headers_to_add": [
        {"header": {"key": "x-path", "value": "%PATH%"}},
        {"header": {"key": "x-method", "value": "%METHOD%"}},
        {"header": {"key": "x-host", "value": "%AUTHORITY%"}},
        {"header": {"key": "x-scheme", "value": "%SCHEME%"}},
        {"header": {"key": "x-user", "value": "user=%REQ(X-User)%"}},
        {"header": {"key": "x-client", "value": "%DOWNSTREAM_REMOTE_ADDRESS%"}},
        {"header": {"key": "x-client-ip", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}},
        {"header": {"key": "x-time", "value": "%START_TIME%"}},
        {"header": {"key": "x-epoch", "value": "%START_TIME(%s)%"}},
        {"header": {"key": "x-id", "value": "%UNIQUE_ID%"}},
        {"header": {"key": "x-pct", "value": "100%%"}}
      ],
      "response_headers_to_add": [{"header": {"key": "x-echo-user", "value": "%REQ(x-user)%"}}]
    }"#,
    )
    .unwrap();
    let r = req(vec![
        (":path", "/a?b=c"),
        (":method", "PUT"),
        (":authority", "h:1"),
        (":scheme", "http"),
        ("x-user", "bob"),
    ]);
    let p = plan(&config, &r);
    let got: Vec<(&str, &str)> = p
        .request
        .add
        .iter()
        .map(|(n, v, _)| (n.as_str(), v.as_str()))
        .collect();
    let id = got[9].1;
    assert_eq!(
        got,
        [
            ("x-path", "/a?b=c"),
            ("x-method", "PUT"),
            ("x-host", "h:1"),
            ("x-scheme", "http"),
            ("x-user", "user=bob"),
            ("x-client", "[2001:db8::7]:50000"),
            ("x-client-ip", "2001:db8::7"),
            ("x-time", "2026-11-25T08:30:00Z"),
            ("x-epoch", "1795595400"),
            ("x-id", id),
            ("x-pct", "100%"),
        ]
    );
    assert_eq!(id.len(), 36);
    assert_eq!(
        p.response.add,
        [(
            "x-echo-user".to_string(),
            "bob".to_string(),
            AppendAction::AppendIfExistsOrAdd
        )]
    );
}

#[test]
fn injected_line_breaks_are_dropped_and_counted() {
    let config = parse(
        br#"{
      "request_headers_to_add": [
        {"header": {"key": "x-a", "value": "%REQ(x-evil)%"}},
        {"header": {"key": "x-b", "value": "ok"}},
        {"header": {"key": "x-c", "value": "pre-%REQ(x-nul)%"}}
      ],
      "response_headers_to_add": [{"header": {"key": "x-d", "value": "%REQ(x-lf)%"}}]
    }"#,
    )
    .unwrap();
    let r = req(vec![
        ("x-evil", "v\r\nset-cookie: admin=1"),
        ("x-nul", "a\0b"),
        ("x-lf", "a\nb"),
    ]);
    let p = plan(&config, &r);
    assert_eq!(p.values_dropped, 3);
    assert_eq!(
        p.request.add,
        [(
            "x-b".to_string(),
            "ok".to_string(),
            AppendAction::AppendIfExistsOrAdd
        )]
    );
    assert!(p.response_is_empty());
}

#[test]
fn empty_values_are_skipped_unless_kept() {
    let config = parse(
        br#"{
      "request_headers_to_add": [
        {"header": {"key": "x-a", "value": "%REQ(x-missing)%"}},
        {"header": {"key": "x-b", "value": "%REQ(x-missing)%"}, "keep_empty_value": true},
        {"header": {"key": "x-c", "value": ""}},
        {"header": {"key": "x-d", "value": ""}, "keep_empty_value": true}
      ]
    }"#,
    )
    .unwrap();
    let p = plan(&config, &get_req("/"));
    let names: Vec<&str> = p.request.add.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["x-b", "x-d"]);
    assert_eq!(p.values_dropped, 0);
}

#[test]
fn rules_on_headers_and_authority() {
    let config = parse(
        br#"{"rules": [
      {"match": {"headers": [{"name": "x-debug", "string_match": {"exact": "1"}}]},
       "response_headers_to_add": [{"header": {"key": "x-debug-path", "value": "%PATH%"}}]},
      {"match": {"authority": {"exact": "example.com"}},
       "request_headers_to_add": [{"header": {"key": "x-site", "value": "main"}}]}
    ]}"#,
    )
    .unwrap();
    let p = plan(
        &config,
        &req(vec![
            (":path", "/p"),
            (":authority", "Example.com:443"),
            ("x-debug", "1"),
        ]),
    );
    assert_eq!(p.rules_matched, 2);
    assert!(!p.response_is_empty() && !p.request_is_empty());
    let p = plan(
        &config,
        &req(vec![(":path", "/p"), (":authority", "other.com")]),
    );
    assert_eq!(p.rules_matched, 0);
    assert!(p.response_is_empty() && p.request_is_empty());
}

mod apply;
mod header_mutation;
