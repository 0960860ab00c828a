//! The chain's hand-back over a [`FakeHost`]: a filter that paused hands
//! the request back, the chain runs the next filters and resumes the
//! request once; requests woken in another request's callback run their
//! rate-limit call from the root's tick, and its answer is routed back.

use super::{Filter, Root};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::Action;
use serde_json::{json, Value};
use std::rc::Rc;
use tollgate_common::host::FakeHost;

const JWKS: &str = include_str!("../../../auth/src/jwt/testdata/jwks.json");
const TOKENS: &str = include_str!("../../../auth/src/jwt/testdata/tokens.json");
const RLS: &str = "grpc_call rls envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
/// `RateLimitResponse { overall_code: OK }` on the wire.
const OK: [u8; 2] = [0x08, 0x01];

fn chain(auth: Value) -> Value {
    json!({
        "auth": auth,
        "ratelimit": {
            "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}, "domain": "d"},
            "descriptors": [{"key": [{"request_headers": {"header_name": "x-api-key"}}]}]
        },
        "headers": {"request_headers_to_add": [{"header": {"key": "x-chain", "value": "done"}}]}
    })
}

fn start(config: &Value) -> (Rc<FakeHost>, Root) {
    let fake = FakeHost::install();
    fake.set_configuration(config.to_string().as_bytes());
    let mut root = Root::new(1);
    fake.enter(1);
    assert!(root.on_configure(0));
    fake.take_actions();
    (fake, root)
}

fn request(fake: &FakeHost, root: &Root, id: u32, headers: &[(&str, &str)]) -> (Filter, Action) {
    let mut f = root.filter(id);
    fake.set_request(id, headers);
    fake.enter(id);
    let action = f.on_http_request_headers(headers.len(), true);
    (f, action)
}

fn grpc_answer<C: Context>(fake: &FakeHost, to: &mut C, id: u32, token: u32) {
    fake.respond_grpc(OK.to_vec());
    fake.enter(id);
    to.on_grpc_call_response(token, 0, OK.len());
}

#[test]
fn a_paused_filter_hands_back_and_the_request_resumes_once_after_the_last() {
    let auth = json!({
        "ext_authz": {"http_service": {"server_uri": {"uri": "http://authz", "cluster": "authz"}}},
        "rules": [{"match": {"path": {"prefix": "/"}}, "requires": {"ext_authz": {}}}]
    });
    let (fake, root) = start(&chain(auth));
    let (mut f, action) = request(&fake, &root, 2, &[(":path", "/a"), ("x-api-key", "k1")]);
    assert_eq!(
        (action, fake.take_actions()),
        (Action::Pause, vec!["http_call authz /a".into()])
    );

    // Auth allows: not resumed yet, the rate-limit stage asks its service.
    fake.respond(&[(":status", "200")], "");
    fake.enter(2);
    f.on_http_call_response(1, 1, 0, 0);
    assert_eq!(fake.take_actions(), [RLS]);
    assert_eq!(f.on_http_request_body(1, true), Action::Pause);
    assert_eq!(
        fake.request_header(2, "x-chain"),
        None,
        "headers not run yet"
    );

    // The service allows: the headers stage runs, then one resume.
    grpc_answer(&fake, &mut f, 2, 2);
    assert_eq!(fake.take_actions(), ["resume 2"]);
    assert_eq!(fake.request_header(2, "x-chain").as_deref(), Some("done"));
    assert_eq!(f.on_http_request_body(1, true), Action::Continue);
}

#[test]
fn requests_woken_by_another_request_ask_the_service_from_the_roots_tick() {
    let all: Value = serde_json::from_str(TOKENS).unwrap();
    let bearer = format!("Bearer {}", all["rs256"].as_str().unwrap());
    let auth = json!({
        "jwt": {"providers": {"idp": {
            "issuer": "https://issuer.example",
            "remote_jwks": {"http_uri": {"uri": "http://idp/keys", "cluster": "jwks", "timeout": "1s"}}
        }}},
        "rules": [{"match": {"path": {"prefix": "/"}}, "requires": {"provider_name": "idp"}}]
    });
    let (fake, mut root) = start(&chain(auth));
    let headers = [
        (":path", "/a"),
        ("x-api-key", "k1"),
        ("authorization", bearer.as_str()),
    ];
    let (mut first, _) = request(&fake, &root, 2, &headers);
    let (mut second, _) = request(&fake, &root, 3, &headers);
    assert_eq!(fake.take_actions(), ["http_call jwks /keys"]);

    // The key set wakes both; request 3 waits for the root (its answer
    // would be lost with request 2's callback), request 2 asks at once.
    fake.respond(&[(":status", "200")], JWKS);
    fake.enter(2);
    first.on_http_call_response(1, 1, JWKS.len(), 0);
    assert_eq!(
        fake.take_actions(),
        ["effective 3", "effective 2", "tick 1ms", RLS]
    );

    fake.enter(1);
    root.on_tick();
    assert_eq!(
        fake.take_actions(),
        ["effective 3", RLS, "effective 1", "tick 1000ms"]
    );

    // The root's answer is routed to request 3, which then resumes.
    grpc_answer(&fake, &mut root, 1, 3);
    assert_eq!(
        fake.take_actions(),
        [
            "effective 3",
            "effective 1",
            "effective 3",
            "resume 3",
            "effective 1"
        ]
    );
    grpc_answer(&fake, &mut first, 2, 2);
    assert_eq!(fake.take_actions(), ["resume 2"]);
    assert_eq!(fake.request_header(3, "x-chain").as_deref(), Some("done"));
    second.on_done();
    first.on_done();
}
