use super::*;
use crate::ext_authz::config::parse;
use tollgate_common::header::HeaderList;

fn cfg(extra: &str) -> ExtAuthzConfig {
    parse(
        format!(
            r#"{{"http_service": {{"server_uri": {{"uri": "http://authz", "cluster": "authz"}}{extra}}}}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

type Headers = Vec<(String, Vec<u8>)>;

fn response(status: &str, rest: &[(&str, &[u8])]) -> Headers {
    let mut h = vec![(":status".to_string(), status.as_bytes().to_vec())];
    h.extend(rest.iter().map(|(n, v)| (n.to_string(), v.to_vec())));
    h
}

const RESPONSE: &str = r#", "authorization_response": {
    "allowed_upstream_headers": {"patterns": [{"prefix": "x-user"}, {"exact": "host"}, {"exact": "content-length"}]},
    "allowed_upstream_headers_to_append": {"patterns": [{"exact": "x-tag"}]},
    "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}]},
    "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}}"#;

fn allow(v: Verdict) -> Allow {
    match v {
        Verdict::Allow(a) => a,
        other => panic!("expected allow, got {other:?}"),
    }
}

fn deny(v: Verdict) -> Denial {
    match v {
        Verdict::Deny(d) => d,
        other => panic!("expected deny, got {other:?}"),
    }
}

#[test]
fn allow_copies_only_what_is_allowed() {
    let c = cfg(RESPONSE);
    let h = response(
        "200",
        &[
            ("x-user", b"alice"),
            ("x-user-role", b"admin"),
            ("x-tag", b"t1"),
            ("x-tag", b"t2"),
            ("x-quota", b"9"),
            ("x-other", b"no"),
            ("host", b"evil"),
            ("content-length", b"0"),
            ("x-user-bad", b"a\r\nx-injected: 1"),
            ("x-user-bin", b"\xff"),
            (
                "x-envoy-auth-headers-to-remove",
                b"x-debug, Cookie ,:path,host,content-length,bad name",
            ),
        ],
    );
    let v = interpret(&c, &h, b"ignored");
    assert_eq!(v.event(), Event::Allowed);
    assert_eq!(v.event().counters(), &[Stat::Allowed]);
    let a = allow(v);
    assert_eq!(
        a.upstream_headers_to_set,
        HeaderList::of(&[("x-user", "alice"), ("x-user-role", "admin")])
    );
    assert_eq!(
        a.upstream_headers_to_append,
        HeaderList::of(&[("x-tag", "t1"), ("x-tag", "t2")])
    );
    assert_eq!(
        a.client_headers_on_success,
        HeaderList::of(&[("x-quota", "9")])
    );
    assert_eq!(a.upstream_headers_to_remove, vec!["x-debug", "cookie"]);
    assert_eq!(a.failure, None);
    assert_eq!(a.dropped, 2);

    let mut target = HeaderList::of(&[
        ("x-user", "spoofed"),
        ("x-tag", "t0"),
        ("cookie", "c"),
        ("x-debug", "1"),
    ]);
    a.apply(&mut target);
    assert_eq!(target.all("x-user"), vec!["alice"]);
    assert_eq!(target.all("x-tag"), vec!["t0", "t1", "t2"]);
    assert!(target.all("cookie").is_empty() && target.all("x-debug").is_empty());
}

#[test]
fn only_200_allows_and_nothing_is_copied_by_default() {
    let c = cfg("");
    let a = allow(interpret(&c, &response("200", &[("x-user", b"a")]), b""));
    assert_eq!(a, Allow::default());
    // Envoy allows only 200: any other 2xx is a denial with its status.
    for (status, want) in [
        ("201", 201),
        ("204", 204),
        ("299", 299),
        ("100", 403),
        ("199", 403),
    ] {
        match interpret(&c, &response(status, &[("x-user", b"a")]), b"no") {
            Verdict::Deny(d) => assert_eq!(d.status, want, "{status}"),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn take_header_extracts_the_identity() {
    let c = cfg(RESPONSE);
    let h = response(
        "200",
        &[
            ("x-user-id", b"1"),
            ("x-user-id", b"2"),
            ("x-tag", b"t"),
            ("x-envoy-auth-headers-to-remove", b"x-user-id"),
        ],
    );
    let mut a = allow(interpret(&c, &h, b""));
    assert_eq!(a.take_header("x-user-id").as_deref(), Some("2"));
    assert!(a.upstream_headers_to_set.is_empty() && a.upstream_headers_to_remove.is_empty());
    assert_eq!(a.take_header("x-user-id"), None);
    assert_eq!(a.take_header("x-tag").as_deref(), Some("t"));
}

#[test]
fn deny_passes_status_body_and_allowed_headers() {
    let c = cfg(RESPONSE);
    let h = response(
        "403",
        &[
            ("content-type", b"application/json"),
            ("x-authz-reason", b"no entry"),
            ("www-authenticate", b"Bearer"),
            ("location", b"/login"),
            ("x-internal", b"secret"),
            ("content-length", b"19"),
            ("transfer-encoding", b"chunked"),
        ],
    );
    let v = interpret(&c, &h, br#"{"denied": "yes"}"#);
    assert_eq!(v.event(), Event::Denied);
    assert_eq!(v.event().counters(), &[Stat::Denied]);
    let d = deny(v);
    assert_eq!(d.status, 403);
    assert_eq!(d.body, br#"{"denied": "yes"}"#);
    assert_eq!(
        d.headers,
        HeaderList::of(&[
            ("x-authz-reason", "no entry"),
            ("www-authenticate", "Bearer"),
            ("location", "/login")
        ])
    );
    assert_eq!(d.header_pairs()[0], ("x-authz-reason", "no entry"));
    assert_eq!(d.failure, None);
}

#[test]
fn deny_without_client_patterns_passes_all_but_unsafe() {
    let c = cfg("");
    let h = response(
        "302",
        &[
            ("location", b"https://login"),
            ("x-a", b"1"),
            ("host", b"h"),
            ("connection", b"close"),
            ("x-bad", b"\x00"),
        ],
    );
    let d = deny(interpret(&c, &h, b""));
    assert_eq!(d.status, 302);
    assert_eq!(
        d.headers,
        HeaderList::of(&[("location", "https://login"), ("x-a", "1")])
    );
    assert!(d.body.is_empty());
    assert_eq!(d.dropped, 1);
    for status in ["300", "401", "404", "429", "499"] {
        let d = deny(interpret(&c, &response(status, &[]), b"x"));
        assert_eq!(d.status.to_string(), status);
    }
}

#[test]
fn oversized_deny_body_is_replaced() {
    let c = cfg("");
    let big = vec![b'a'; MAX_BODY + 1];
    let d = deny(interpret(
        &c,
        &response("401", &[("content-type", b"text/html")]),
        &big,
    ));
    assert_eq!(d.status, 401);
    assert_eq!(
        d.headers,
        HeaderList::of(&[("content-type", "application/json")])
    );
    let body: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
    assert_eq!(body["error"], "denied");
    let exact = vec![b'a'; MAX_BODY];
    assert_eq!(
        deny(interpret(&c, &response("401", &[]), &exact))
            .body
            .len(),
        MAX_BODY
    );
}

#[test]
fn failures_close_with_status_on_error() {
    let c = cfg("");
    let cases: Vec<(Headers, &str)> = vec![
        (vec![], "no response"),
        (response("500", &[]), "answered 500"),
        (response("503", &[("x-a", b"1")]), "answered 503"),
        (response("2000", &[]), "invalid :status"),
        (response("20", &[]), "invalid :status"),
        (response("abc", &[]), "invalid :status"),
        (response("+20", &[]), "invalid :status"),
        (response("600", &[]), "invalid :status"),
        (response("\u{ff}", &[]), "invalid :status"),
    ];
    for (headers, why) in cases {
        let v = interpret(&c, &headers, b"body");
        assert_eq!(v.event(), Event::FailureDenied, "{why}");
        assert_eq!(v.event().counters(), &[Stat::Errors]);
        let d = deny(v);
        assert_eq!(d.status, 403);
        assert!(
            d.failure.as_deref().unwrap_or_default().contains(why),
            "{why}: {:?}",
            d.failure
        );
        assert_eq!(
            d.headers,
            HeaderList::of(&[("content-type", "application/json")])
        );
        let body: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "unavailable", "reason": "authorization service unavailable"})
        );
    }
    let c = parse(
        br#"{"http_service": {"server_uri": {"uri": "http://a", "cluster": "a"}},
             "status_on_error": {"code": 503}}"#,
    )
    .unwrap();
    assert_eq!(deny(failure(&c, "down")).status, 503);
}

#[test]
fn failure_mode_allow() {
    let c = parse(
        br#"{"http_service": {"server_uri": {"uri": "http://a", "cluster": "a"}},
             "failure_mode_allow": true}"#,
    )
    .unwrap();
    let v = interpret(&c, &[], b"");
    assert_eq!(v.event(), Event::FailureAllowed);
    assert_eq!(
        v.event().counters(),
        &[Stat::Errors, Stat::FailureModeAllowed]
    );
    let a = allow(v);
    assert!(a.upstream_headers_to_set.is_empty());
    assert!(a.failure.is_some());
    // a 5xx is a failure too; a deny stays a deny
    assert_eq!(
        interpret(&c, &response("502", &[]), b"").event(),
        Event::FailureAllowed
    );
    assert_eq!(
        interpret(&c, &response("403", &[]), b"").event(),
        Event::Denied
    );

    let c = parse(
        br#"{"http_service": {"server_uri": {"uri": "http://a", "cluster": "a"}},
             "failure_mode_allow": true, "failure_mode_allow_header_add": true}"#,
    )
    .unwrap();
    let a = allow(failure(&c, "call not sent"));
    assert_eq!(
        a.upstream_headers_to_set,
        HeaderList::of(&[(FAILURE_MODE_HEADER, "true")])
    );
    assert_eq!(a.failure.as_deref(), Some("call not sent"));
}
