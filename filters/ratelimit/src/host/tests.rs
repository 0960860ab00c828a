//! The rate-limit service call over a [`FakeHost`]: the host calls the
//! filter makes for OK, OVER_LIMIT and failed answers, per
//! `failure_mode_deny`.

use super::Root;
use super::Stat;
use crate::rls::{self, HeaderValue, RateLimitResponse};
use prost::Message as _;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;
use serde_json::{json, Value};
use std::rc::Rc;
use tollgate_common::counters::stat_names;
use tollgate_common::host::FakeHost;

const CALL: &str = "grpc_call rls envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
/// gRPC statuses Envoy calls back with.
const UNAVAILABLE: u32 = 14;
const DEADLINE_EXCEEDED: u32 = 4;

fn config(service: Value) -> Value {
    let mut rls = json!({"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}, "domain": "d"});
    if let (Some(r), Some(more)) = (rls.as_object_mut(), service.as_object()) {
        r.extend(more.clone());
    }
    json!({
        "rate_limit_service": rls,
        "descriptors": [{"key": [{"request_headers": {"header_name": "x-api-key"}}]}]
    })
}

/// Request 2 with an API key, paused for the service's answer (token 1).
fn asked(service: Value) -> (Rc<FakeHost>, super::Filter) {
    let fake = FakeHost::install();
    let mut root = Root::default();
    assert!(root.configure(config(service).to_string().as_bytes()));
    let mut f = root.filter(2);
    fake.set_request(2, &[(":path", "/"), ("x-api-key", "k1")]);
    fake.enter(2);
    assert_eq!(f.on_http_request_headers(2, true), Action::Pause);
    assert_eq!(fake.take_actions(), [CALL]);
    assert_eq!(
        f.on_http_request_body(10, true),
        Action::Pause,
        "the body waits too"
    );
    (fake, f)
}

fn header(key: &str, value: &str) -> HeaderValue {
    HeaderValue {
        key: key.into(),
        value: value.into(),
        raw_value: vec![],
    }
}

fn response(code: i32) -> Vec<u8> {
    RateLimitResponse {
        overall_code: code,
        statuses: vec![],
        response_headers_to_add: vec![header("x-ratelimit-limit", "2")],
        request_headers_to_add: vec![header("x-rls", "yes")],
    }
    .encode_to_vec()
}

/// The service's answer to token 1, delivered to request 2.
fn answer(fake: &FakeHost, f: &mut super::Filter, status: u32, message: Vec<u8>) {
    let size = message.len();
    fake.respond_grpc(message);
    fake.enter(2);
    f.on_grpc_call_response(1, status, size);
}

#[test]
fn ok_resumes_with_the_services_headers() {
    let (fake, mut f) = asked(json!({}));
    answer(&fake, &mut f, 0, response(rls::CODE_OK));
    assert_eq!(fake.take_actions(), ["resume 2"]);
    assert_eq!(fake.request_header(2, "x-rls").as_deref(), Some("yes"));
    assert_eq!(f.on_http_request_body(10, true), Action::Continue);
    fake.enter(2);
    f.on_http_response_headers(0, false);
    assert_eq!(
        fake.response_header(2, "x-ratelimit-limit").as_deref(),
        Some("2")
    );
    assert_eq!(fake.counter("tollgate.ratelimit.service_ok"), 1);
}

#[test]
fn over_limit_is_a_429_with_the_services_headers() {
    let (fake, mut f) = asked(json!({}));
    answer(&fake, &mut f, 0, response(rls::CODE_OVER_LIMIT));
    assert_eq!(fake.take_actions(), ["reply 2 429"]);
    let reply = fake.reply(2).unwrap();
    assert!(
        reply
            .headers
            .contains(&("x-ratelimit-limit".into(), "2".into())),
        "{reply:?}"
    );
    // The local reply carries them; the response pass adds nothing.
    f.on_http_response_headers(0, false);
    assert_eq!(fake.response_header(2, "x-ratelimit-limit"), None);
    assert_eq!(fake.counter("tollgate.ratelimit.limited"), 1);
}

#[test]
fn failures_let_requests_through_by_default() {
    for (status, message) in [
        (UNAVAILABLE, vec![]),
        (DEADLINE_EXCEEDED, vec![]),
        (0, b"not a message".to_vec()),
        (0, response(rls::CODE_UNKNOWN)),
    ] {
        let (fake, mut f) = asked(json!({}));
        answer(&fake, &mut f, status, message);
        assert_eq!(fake.take_actions(), ["resume 2"], "status {status}");
        assert_eq!(fake.counter("tollgate.ratelimit.failure_mode_allowed"), 1);
    }
}

#[test]
fn failures_are_status_on_error_with_failure_mode_deny() {
    let deny = json!({"failure_mode_deny": true, "status_on_error": {"code": 500}});
    for (status, message) in [(UNAVAILABLE, vec![]), (DEADLINE_EXCEEDED, vec![])] {
        let (fake, mut f) = asked(deny.clone());
        answer(&fake, &mut f, status, message);
        assert_eq!(fake.take_actions(), ["reply 2 500"]);
        assert_eq!(fake.counter("tollgate.ratelimit.failure_mode_denied"), 1);
    }
}

#[test]
fn a_call_that_cannot_be_sent_is_a_failure_decided_at_once() {
    for (service, action, actions) in [
        (json!({}), Action::Continue, vec![CALL, "refused"]),
        (
            json!({"failure_mode_deny": true}),
            Action::Pause,
            vec![CALL, "refused", "reply 2 503"],
        ),
    ] {
        let fake = FakeHost::install();
        let mut root = Root::default();
        assert!(root.configure(config(service).to_string().as_bytes()));
        fake.refuse_calls(1);
        let mut f = root.filter(2);
        fake.set_request(2, &[(":path", "/"), ("x-api-key", "k1")]);
        fake.enter(2);
        assert_eq!(f.on_http_request_headers(2, true), action);
        assert_eq!(fake.take_actions(), actions, "nothing to resume");
    }
}

#[test]
fn an_answer_to_another_call_is_ignored() {
    let (fake, mut f) = asked(json!({}));
    fake.respond_grpc(response(rls::CODE_OK));
    f.on_grpc_call_response(9, 0, 4);
    assert_eq!(fake.take_actions(), Vec::<String>::new());
}

#[test]
fn every_counter_has_its_own_unchanged_name() {
    let names = stat_names::<Stat>();
    let expected = [
        "tollgate.ratelimit.allowed",
        "tollgate.ratelimit.limited",
        "tollgate.ratelimit.shadow_limited",
        "tollgate.ratelimit.cas_retries",
        "tollgate.ratelimit.cas_exhausted",
        "tollgate.ratelimit.keys_evicted",
        "tollgate.ratelimit.service_ok",
        "tollgate.ratelimit.service_over_limit",
        "tollgate.ratelimit.service_errors",
        "tollgate.ratelimit.failure_mode_allowed",
        "tollgate.ratelimit.failure_mode_denied",
        "tollgate.ratelimit.ambiguous_paths",
    ];
    assert_eq!(names, expected);
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len());
}
