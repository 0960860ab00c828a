use super::*;
use crate::ext_authz::config::parse;
use tollgate_common::testing::request;

fn cfg(extra: &str) -> ExtAuthzConfig {
    parse(
        format!(
            r#"{{"http_service": {{"server_uri": {{"uri": "http://authz.local:9000", "cluster": "authz", "timeout": "0.25s"}}{extra}}}}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

fn list(pairs: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect()
}

const REQ: &[(&str, &str)] = &[
    (":method", "POST"),
    (":path", "/api/x?y=1"),
    (":authority", "shop.example"),
    (":scheme", "https"),
    ("authorization", "Bearer t"),
    ("x-user", "a"),
    ("cookie", "c=1"),
    ("content-length", "12"),
];

fn client() -> Vec<(String, Vec<u8>)> {
    REQ.iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn defaults_as_envoy() {
    let c = cfg("");
    let check = build(&c, &request(REQ), &client(), &[]);
    assert_eq!(check.cluster, "authz");
    assert_eq!(check.timeout, std::time::Duration::from_millis(250));
    assert_eq!(
        check.headers,
        vec![
            (":method".to_string(), "POST".to_string()),
            (":path".to_string(), "/api/x?y=1".to_string()),
            (":authority".to_string(), "authz.local:9000".to_string()),
            ("content-length".to_string(), "0".to_string()),
            ("authorization".to_string(), "Bearer t".to_string()),
            ("x-forwarded-host".to_string(), "shop.example".to_string()),
        ]
    );
    assert_eq!(check.dropped, 0);
    assert_eq!(check.header_pairs()[1], (":path", "/api/x?y=1"));
}

#[test]
fn prefix_allowed_headers_and_additions() {
    let c = cfg(r#", "path_prefix": "/check",
        "authorization_request": {
          "allowed_headers": {"patterns": [{"prefix": "x-"}, {"exact": "cookie"}, {"exact": "content-length"}, {"exact": ":scheme"}]},
          "headers_to_add": [{"key": "x-user", "value": "from-config %REQ(x-user)%"},
                             {"key": "x-empty", "value": "%REQ(x-none)%"},
                             {"key": "x-client", "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}]}"#);
    let headers = client();
    let check = build(&c, &request(REQ), &headers, &[]);
    assert_eq!(check.header(":path"), Some("/check/api/x?y=1"));
    assert_eq!(check.header("cookie"), Some("c=1"));
    // framing and pseudo-headers are never copied, whatever the patterns say
    assert_eq!(check.header("content-length"), Some("0"));
    assert_eq!(
        check
            .headers
            .iter()
            .filter(|(n, _)| n == "content-length")
            .count(),
        1
    );
    assert_eq!(check.header(":scheme"), None);
    // headers_to_add replaces the copied value; an empty expansion is skipped
    let users: Vec<_> = check
        .headers
        .iter()
        .filter(|(n, _)| n == "x-user")
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].1, "from-config a");
    assert_eq!(check.header("x-empty"), None);
    assert_eq!(check.header("x-client"), Some("10.1.2.3"));
}

#[test]
fn repeated_headers_go_as_one_with_every_value_in_order() {
    let c = cfg(
        r#", "authorization_request": {"allowed_headers": {"patterns": [{"exact": "x-tag"}]}}"#,
    );
    let headers = list(&[("x-tag", b"1"), ("X-Tag", b"2"), ("x-other", b"no")]);
    let check = build(&c, &request(REQ), &headers, &[]);
    let tags: Vec<_> = check
        .headers
        .iter()
        .filter(|(n, _)| n == "x-tag")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(tags, vec!["1,2"]);
    assert_eq!(check.header("x-other"), None);
}

#[test]
fn unsafe_values_dropped_and_excluded_names_skipped() {
    let c = cfg(
        r#", "authorization_request": {"allowed_headers": {"patterns": [{"prefix": "x-"}]},
        "headers_to_add": [{"key": "x-echo", "value": "%REQ(x-bad)%"}]}"#,
    );
    let headers = list(&[
        ("x-bin", b"\xff\xfe"),
        ("x-nul", b"a\0b"),
        ("x-ok", b"fine"),
        ("x-tollgate-identity", b"spoofed"),
        ("x-forwarded-host", b"evil.example"),
        ("bad name", b"v"),
    ]);
    let req = request(&[
        (":method", "GET"),
        (":path", "/"),
        (":authority", "h"),
        ("x-bad", "a\r\nb"),
    ]);
    let check = build(&c, &req, &headers, &["x-tollgate-identity"]);
    assert_eq!(check.header("x-ok"), Some("fine"));
    for absent in [
        "x-bin",
        "x-nul",
        "x-tollgate-identity",
        "x-echo",
        "bad name",
    ] {
        assert_eq!(check.header(absent), None, "{absent}");
    }
    // the client cannot choose x-forwarded-host: it is the real :authority
    let hosts: Vec<_> = check
        .headers
        .iter()
        .filter(|(n, _)| n == "x-forwarded-host")
        .collect();
    assert_eq!(
        hosts,
        vec![&("x-forwarded-host".to_string(), "h".to_string())]
    );
    assert_eq!(check.dropped, 3);
}

#[test]
fn missing_pseudo_headers_get_safe_defaults() {
    let c = cfg(r#", "path_prefix": "/p""#);
    let check = build(&c, &request(&[]), &[], &[]);
    assert_eq!(check.header(":method"), Some("GET"));
    assert_eq!(check.header(":path"), Some("/p/"));
    assert_eq!(check.header(":authority"), Some("authz.local:9000"));
    assert_eq!(check.header("x-forwarded-host"), None);
}
