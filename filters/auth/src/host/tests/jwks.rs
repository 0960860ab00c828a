//! Remote key sets: one fetch per VM and provider, its waiters, failures,
//! the lease other workers hold, and fetches whose context ended.

use super::*;
use crate::jwt::jwks_store;
use serde_json::json;
use std::time::Duration;

const JWKS: &str = include_str!("../../jwt/testdata/jwks.json");
const TOKENS: &str = include_str!("../../jwt/testdata/tokens.json");
const FETCH: &str = "http_call jwks /keys";

fn bearer() -> String {
    let all: Value = serde_json::from_str(TOKENS).unwrap_or_default();
    format!("Bearer {}", all["rs256"].as_str().unwrap_or_default())
}

fn config() -> Value {
    json!({
        "jwt": {"providers": {"idp": {
            "issuer": "https://issuer.example",
            "audiences": ["api.example"],
            "remote_jwks": {
                "http_uri": {"uri": "http://idp/keys", "cluster": "jwks", "timeout": "1s"},
                "cache_duration": "300s"
            },
            "claim_to_headers": [{"header_name": "x-sub", "claim_name": "sub"}]
        }}},
        "rules": [
            {"match": {"path": {"prefix": "/open"}}, "requires": {"allow_missing_or_failed": {}}},
            {"match": {"path": {"prefix": "/"}}, "requires": {"provider_name": "idp"}}
        ]
    })
}

fn get(fake: &FakeHost, root: &Root, id: u32, path: &str) -> (Filter, Action) {
    let auth = bearer();
    request(fake, root, id, &[(":path", path), ("authorization", &auth)])
}

#[test]
fn the_first_request_fetches_the_others_wait_and_the_answer_wakes_them_all() {
    let (fake, root) = start(&config());
    let (mut first, action) = get(&fake, &root, 2, "/a");
    assert_eq!(
        (action, fake.take_actions()),
        (Action::Pause, vec![FETCH.to_string()])
    );
    let (_second, action) = get(&fake, &root, 3, "/b");
    assert_eq!((action, fake.take_actions()), (Action::Pause, vec![]));

    answer(&fake, &mut first, 2, 1, &[(":status", "200")], JWKS);
    // The other waiter in its own context, then the callback's own request.
    assert_eq!(
        fake.take_actions(),
        ["effective 3", "resume 3", "effective 2", "resume 2"]
    );
    assert_eq!(fake.request_header(3, "x-sub").as_deref(), Some("alice"));
    assert_eq!(fake.counter("tollgate.auth.jwks_fetches"), 1);
    assert_eq!(fake.counter("tollgate.auth.allowed"), 2);
    // The set is stored: the next request neither fetches nor waits.
    let (_third, action) = get(&fake, &root, 4, "/c");
    assert_eq!((action, fake.take_actions()), (Action::Continue, vec![]));
}

#[test]
fn a_failed_fetch_fails_closed_unless_failure_is_allowed_then_backs_off() {
    let (fake, root) = start(&config());
    let (mut first, _) = get(&fake, &root, 2, "/a");
    let (_open, _) = get(&fake, &root, 3, "/open");
    assert_eq!(fake.take_actions(), [FETCH]);

    answer(&fake, &mut first, 2, 1, &[(":status", "500")], "oops");
    assert_eq!(
        fake.take_actions(),
        ["effective 3", "resume 3", "effective 2", "reply 2 503"]
    );
    let body = fake.reply(2).map(|r| r.body).unwrap_or_default();
    assert!(body.starts_with(r#"{"error":"unavailable""#), "{body}");
    assert_eq!(fake.counter("tollgate.auth.jwks_fetch_failures"), 1);

    // For a second no request waits (nor fetches); then one fetches again.
    let (_, action) = get(&fake, &root, 4, "/a");
    assert_eq!(
        (action, fake.take_actions()),
        (Action::Pause, vec!["reply 4 503".into()])
    );
    fake.advance(Duration::from_millis(1000));
    let (_, action) = get(&fake, &root, 5, "/a");
    assert_eq!(
        (action, fake.take_actions()),
        (Action::Pause, vec![FETCH.to_string()])
    );
}

#[test]
fn a_timed_out_fetch_is_a_failure() {
    let (fake, root) = start(&config());
    let (mut first, _) = get(&fake, &root, 2, "/a");
    fake.take_actions();
    no_answer(&fake, &mut first, 2, 1);
    assert_eq!(fake.take_actions(), ["reply 2 503"]);
    assert_eq!(fake.counter("tollgate.auth.jwks_fetch_failures"), 1);
}

#[test]
fn a_fetch_that_cannot_be_sent_decides_at_once() {
    let (fake, root) = start(&config());
    fake.refuse_calls(1);
    let (_, action) = get(&fake, &root, 2, "/a");
    assert_eq!(action, Action::Pause);
    assert_eq!(fake.take_actions(), [FETCH, "refused", "reply 2 503"]);
}

#[test]
fn the_tick_fetches_again_for_waiters_whose_fetch_was_lost() {
    let (fake, mut root) = start(&config());
    let (mut first, _) = get(&fake, &root, 2, "/a");
    let (_second, _) = get(&fake, &root, 3, "/b");
    fake.take_actions();
    // The request that would get the answer ends first.
    first.on_done();
    fake.end(2);
    tick(&fake, &mut root);
    assert_eq!(fake.take_actions(), [FETCH]);
    answer(&fake, &mut root, 1, 2, &[(":status", "200")], JWKS);
    assert_eq!(
        fake.take_actions(),
        ["effective 3", "resume 3", "effective 1"]
    );
}

#[test]
fn the_background_refresh_waits_for_the_lease_another_worker_holds() {
    let (fake, mut root) = start(&config());
    let key = jwks_store::key("jwks", "http://idp/keys");
    let lease = jwks_store::lease_key("jwks", "http://idp/keys");
    let now = tollgate_common::host::now_ms();
    // Fetched 280 s ago (of 300): due for the refresh, still in use.
    jwks_store::write(&fake.store, &key, now - 280_000, JWKS);
    assert!(jwks_store::take_lease(&fake.store, &lease, now, 2000));
    tick(&fake, &mut root);
    assert_eq!(fake.take_actions(), Vec::<String>::new());
    let (_, action) = get(&fake, &root, 2, "/a");
    assert_eq!(action, Action::Continue, "the stored set serves meanwhile");

    fake.advance(Duration::from_millis(2000));
    tick(&fake, &mut root);
    assert_eq!(fake.take_actions(), [FETCH]);
    answer(&fake, &mut root, 1, 1, &[(":status", "200")], JWKS);
    assert_eq!(fake.take_actions(), Vec::<String>::new());
    assert_eq!(jwks_store::fetched_at(&fake.store, &key), Some(now + 2000));
}
