//! The glue's state machines over a [`FakeHost`]: each test plays Envoy's
//! part (which context a callback goes to, what a call answers) and checks
//! the host calls the filter makes, in order.

mod ext_authz;
mod jwks;

use super::{Filter, Root};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::Action;
use serde_json::Value;
use std::rc::Rc;
use tollgate_common::host::FakeHost;

/// The root context (id 1) configured with `config`; its start's calls
/// are taken.
fn start(config: &Value) -> (Rc<FakeHost>, Root) {
    let fake = FakeHost::install();
    let mut root = Root::new(1);
    assert!(root.configure(config.to_string().as_bytes()));
    fake.take_actions();
    (fake, root)
}

/// Request `id` with these headers reaches the filter.
fn request(fake: &FakeHost, root: &Root, id: u32, headers: &[(&str, &str)]) -> (Filter, Action) {
    let mut f = root.filter(id);
    fake.set_request(id, headers);
    fake.enter(id);
    let action = f.on_http_request_headers(headers.len(), true);
    (f, action)
}

/// Call `token`'s answer, delivered to context `id` (`to`). Generic, not
/// `dyn Context`: a vtable would link every default method's host call.
fn answer<C: Context>(
    fake: &FakeHost,
    to: &mut C,
    id: u32,
    token: u32,
    headers: &[(&str, &str)],
    body: &str,
) {
    fake.respond(headers, body);
    fake.enter(id);
    to.on_http_call_response(token, headers.len(), body.len(), 0);
}

/// A call that failed or timed out: Envoy calls back without headers.
fn no_answer<C: Context>(fake: &FakeHost, to: &mut C, id: u32, token: u32) {
    answer(fake, to, id, token, &[], "");
}

fn tick(fake: &FakeHost, root: &mut Root) {
    fake.enter(1);
    root.on_tick();
}
