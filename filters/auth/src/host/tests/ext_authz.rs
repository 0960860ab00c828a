//! The authorization service's call: allow, deny, errors and timeouts per
//! `failure_mode_allow` / `status_on_error`, a call not sent, and a check
//! whose context ended.

use super::*;
use serde_json::json;

const CHECK: &str = "http_call authz /check/ext";

fn config(extra: Value) -> Value {
    let mut ext_authz = json!({"http_service": {
        "server_uri": {"uri": "http://authz", "cluster": "authz", "timeout": "0.25s"},
        "path_prefix": "/check",
        "authorization_response": {
            "allowed_upstream_headers": {"patterns": [{"exact": "x-user"}]},
            "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}]},
            "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}}}});
    if let (Some(e), Some(more)) = (ext_authz.as_object_mut(), extra.as_object()) {
        e.extend(more.clone());
    }
    json!({
        "ext_authz": ext_authz,
        "rules": [{"match": {"path": {"prefix": "/"}}, "requires": {"ext_authz": {}}}]
    })
}

/// Request 2 to `/ext`, paused for the check (token 1).
fn asked(extra: Value) -> (Rc<FakeHost>, Root, Filter) {
    let (fake, root) = start(&config(extra));
    let (f, action) = request(&fake, &root, 2, &[(":path", "/ext")]);
    assert_eq!(
        (action, fake.take_actions()),
        (Action::Pause, vec![CHECK.to_string()])
    );
    (fake, root, f)
}

#[test]
fn an_allow_resumes_with_the_services_headers() {
    let (fake, _root, mut f) = asked(json!({}));
    let headers = [(":status", "200"), ("x-user", "alice"), ("x-quota", "9")];
    answer(&fake, &mut f, 2, 1, &headers, "");
    assert_eq!(fake.take_actions(), ["resume 2"]);
    assert_eq!(fake.request_header(2, "x-user").as_deref(), Some("alice"));
    // The success headers reach the client's response, once.
    fake.enter(2);
    f.on_http_response_headers(0, false);
    f.on_http_response_headers(0, false);
    assert_eq!(fake.response_header(2, "x-quota").as_deref(), Some("9"));
    let adds = fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("add_header 2 x-quota"))
        .count();
    assert_eq!(adds, 1);
    assert_eq!(fake.counter("tollgate.auth.allowed"), 1);
}

#[test]
fn a_deny_is_the_services_reply_with_its_status_headers_and_body() {
    let (fake, _root, mut f) = asked(json!({}));
    let headers = [
        (":status", "401"),
        ("x-authz-reason", "expired"),
        ("x-other", "no"),
    ];
    answer(&fake, &mut f, 2, 1, &headers, "go away");
    assert_eq!(fake.take_actions(), ["reply 2 401"]);
    let reply = fake.reply(2).unwrap();
    assert_eq!(reply.body, "go away");
    let has = |n: &str| reply.headers.iter().any(|h| h.0 == n);
    assert!(
        has("x-authz-reason") && !has("x-other"),
        "{:?}",
        reply.headers
    );
    assert_eq!(fake.counter("tollgate.auth.denied.ext_authz"), 1);
}

#[test]
fn errors_and_timeouts_fail_closed_with_status_on_error() {
    for (answer_with, extra, status) in [
        (Some("500"), json!({}), 403),
        (None, json!({}), 403),
        (Some("503"), json!({"status_on_error": {"code": 503}}), 503),
        (None, json!({"status_on_error": {"code": 503}}), 503),
    ] {
        let (fake, _root, mut f) = asked(extra);
        match answer_with {
            Some(s) => answer(&fake, &mut f, 2, 1, &[(":status", s)], "oops"),
            None => no_answer(&fake, &mut f, 2, 1),
        }
        assert_eq!(fake.take_actions(), [format!("reply 2 {status}")]);
        let body = fake.reply(2).map(|r| r.body).unwrap_or_default();
        assert!(body.starts_with(r#"{"error":"unavailable""#), "{body}");
        assert_eq!(fake.counter("tollgate.auth.ext_authz_errors"), 1);
    }
}

#[test]
fn with_failure_mode_allow_errors_let_the_request_through_marked() {
    let extra = json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true});
    let (fake, _root, mut f) = asked(extra);
    // Not HTTP at all: Envoy calls back without headers.
    no_answer(&fake, &mut f, 2, 1);
    assert_eq!(fake.take_actions(), ["resume 2"]);
    let marked = fake.request_header(2, "x-envoy-auth-failure-mode-allowed");
    assert_eq!(marked.as_deref(), Some("true"));
    assert_eq!(
        fake.counter("tollgate.auth.ext_authz_failure_mode_allowed"),
        1
    );
}

#[test]
fn a_check_that_cannot_be_sent_fails_at_once() {
    let (fake, root) = start(&config(json!({})));
    fake.refuse_calls(1);
    let (_f, action) = request(&fake, &root, 2, &[(":path", "/ext")]);
    assert_eq!(action, Action::Pause);
    assert_eq!(fake.take_actions(), [CHECK, "refused", "reply 2 403"]);
}

#[test]
fn an_unknown_token_is_not_an_answer() {
    let (fake, _root, mut f) = asked(json!({}));
    answer(&fake, &mut f, 2, 7, &[(":status", "200")], "");
    assert_eq!(fake.take_actions(), Vec::<String>::new());
    answer(&fake, &mut f, 2, 1, &[(":status", "200")], "");
    assert_eq!(fake.take_actions(), ["resume 2"]);
}

#[test]
fn a_check_whose_sender_ended_is_sent_again_by_the_tick() {
    let tokens: Value =
        serde_json::from_str(include_str!("../../jwt/testdata/tokens.json")).unwrap();
    let bearer = format!("Bearer {}", tokens["rs256"].as_str().unwrap());
    let mut config = config(json!({}));
    config["jwt"] = json!({"providers": {"idp": {
        "issuer": "https://issuer.example",
        "remote_jwks": {"http_uri": {"uri": "http://idp/keys", "cluster": "jwks", "timeout": "1s"}}
    }}});
    config["rules"] = json!([{"match": {"path": {"prefix": "/"}},
        "requires": {"requires_all": [{"provider_name": "idp"}, {"ext_authz": {}}]}}]);
    let (fake, mut root) = start(&config);
    let headers = [(":path", "/ext"), ("authorization", bearer.as_str())];
    let (mut first, _) = request(&fake, &root, 2, &headers);
    let (_second, _) = request(&fake, &root, 3, &headers);
    assert_eq!(fake.take_actions(), ["http_call jwks /keys"]);

    // The key set wakes request 3 in request 2's callback: its check's
    // answer would go to request 2 (tokens 2 and 3: 3's check, 2's).
    let jwks = include_str!("../../jwt/testdata/jwks.json");
    answer(&fake, &mut first, 2, 1, &[(":status", "200")], jwks);
    assert_eq!(
        fake.take_actions(),
        ["effective 3", CHECK, "effective 2", CHECK]
    );
    // Request 2 ends first; the root sends request 3's check again.
    first.on_done();
    fake.end(2);
    tick(&fake, &mut root);
    assert_eq!(fake.take_actions(), [CHECK]);
    answer(&fake, &mut root, 1, 4, &[(":status", "200")], "");
    assert_eq!(
        fake.take_actions(),
        ["effective 3", "resume 3", "effective 1"]
    );
}
