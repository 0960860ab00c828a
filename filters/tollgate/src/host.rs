//! The chain's proxy-wasm glue. Each request crosses the wasm ABI once
//! instead of once per filter. The filters are the filter
//! crates' own root and HTTP contexts (without their `module` feature), so
//! they behave exactly as the separate modules do; this crate only sequences
//! them (`stages`) and routes the callbacks of requests a filter paused.
//!
//! The SDK delivers a call's answer to the context whose callback sent it,
//! and drops it if that context has ended. When a request is handed back in
//! another request's callback (a key set fetched by one request wakes every
//! request waiting for it) and its later filters may call the rate-limit
//! service, they run in the root's next tick instead (1 ms ahead), so that
//! the root, which never ends, gets the answer; `Route` brings it back to
//! the request.

mod stages;
#[cfg(test)]
mod tests;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};
use stages::Stages;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tollgate_common::host::{self, Host, Stage};

/// A rate-limit service call sent for request `ctx` from the root's tick.
struct Route {
    token: u32,
    ctx: u32,
}

/// What the VM's contexts share: every live request's stages, the requests
/// waiting for the root's tick, and the routed calls.
#[derive(Default)]
struct Shared {
    requests: BTreeMap<u32, Rc<RefCell<Stages>>>,
    queue: Vec<u32>,
    routes: Vec<Route>,
}

/// How soon the root runs requests queued for it.
const QUEUE_TICK: Duration = Duration::from_millis(1);
/// The auth filter's own tick (remote key sets).
const AUTH_TICK_MS: u64 = 1000;

type SharedRef = Rc<RefCell<Shared>>;

pub struct Root {
    id: u32,
    auth: Option<tollgate_auth::Root>,
    ratelimit: Option<tollgate_ratelimit::Root>,
    headers: Option<tollgate_headers::Root>,
    shared: SharedRef,
    /// When the auth filter's tick last ran (ms since the epoch).
    auth_ticked: u64,
}

impl Root {
    pub fn new(id: u32) -> Root {
        Root {
            id,
            auth: None,
            ratelimit: None,
            headers: None,
            shared: SharedRef::default(),
            auth_ticked: 0,
        }
    }
}

impl Root {
    /// The HTTP context of request `id`, known to the VM's other contexts.
    fn filter(&self, id: u32) -> Filter {
        let mut list: Vec<Box<dyn Stage>> = Vec::new();
        if let Some(r) = &self.auth {
            list.push(Box::new(r.filter(id)));
        }
        if let Some(r) = &self.ratelimit {
            list.push(Box::new(r.filter(id)));
        }
        if let Some(r) = &self.headers {
            list.push(Box::new(r.filter()));
        }
        let stages = Rc::new(RefCell::new(Stages::new(list)));
        self.shared.borrow_mut().requests.insert(id, stages.clone());
        Filter {
            id,
            stages,
            shared: self.shared.clone(),
        }
    }
}

impl Context for Root {
    /// Key set fetches the auth filter's tick started.
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, trailers: usize) {
        if let Some(auth) = self.auth.as_mut() {
            auth.on_http_call_response(token, headers, body, trailers);
        }
        drain(&self.shared, self.id, true);
    }

    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, size: usize) {
        answer_routed(&self.shared, self.id, token, status_code, size);
        drain(&self.shared, self.id, true);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        host::defer_resumes();
        let Some(parts) = host::configure("chain", crate::config::parse) else {
            return false;
        };
        if let Some(bytes) = parts.auth {
            let mut root = tollgate_auth::Root::new(self.id);
            if !root.configure(&bytes) {
                return false;
            }
            self.auth = Some(root);
        }
        if let Some(bytes) = parts.ratelimit {
            let mut root = tollgate_ratelimit::Root::default();
            if !root.configure(&bytes) {
                return false;
            }
            self.ratelimit = Some(root);
        }
        if let Some(bytes) = parts.headers {
            let mut root = tollgate_headers::Root::default();
            if !root.configure(&bytes) {
                return false;
            }
            self.headers = Some(root);
        }
        true
    }

    /// Runs the queued requests' filters, and the auth filter's tick at its
    /// own pace.
    fn on_tick(&mut self) {
        let queued = std::mem::take(&mut self.shared.borrow_mut().queue);
        for ctx in queued {
            resume(&self.shared, self.id, ctx);
        }
        let now = host::now_ms();
        if let Some(auth) = self.auth.as_mut() {
            // (a tenth early: a 1 s period does not fire at exactly 1000 ms)
            if now.saturating_sub(self.auth_ticked) >= AUTH_TICK_MS * 9 / 10 {
                self.auth_ticked = now;
                auth.on_tick();
            }
        }
        drain(&self.shared, self.id, true);
        if self.shared.borrow().queue.is_empty() {
            let period = match self.auth {
                Some(_) => Duration::from_millis(AUTH_TICK_MS),
                None => Duration::ZERO,
            };
            host::current().set_tick_period(period);
        }
    }

    fn create_http_context(&self, id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(self.filter(id)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    id: u32,
    stages: Rc<RefCell<Stages>>,
    shared: SharedRef,
}

impl Context for Filter {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, _: usize) {
        self.stages
            .borrow_mut()
            .http_call_response(token, headers, body);
        drain(&self.shared, self.id, false);
    }

    fn on_grpc_call_response(&mut self, token: u32, status_code: u32, size: usize) {
        if !answer_routed(&self.shared, self.id, token, status_code, size) {
            let mut stages = self.stages.borrow_mut();
            let body = stages.read_grpc_answer(token, status_code, size);
            stages.grpc_call_response(token, status_code, size, body);
        }
        drain(&self.shared, self.id, false);
    }

    fn on_done(&mut self) -> bool {
        self.stages.borrow_mut().done();
        let me = self.id;
        let mut shared = self.shared.borrow_mut();
        shared.requests.remove(&me);
        shared.queue.retain(|c| *c != me);
        shared.routes.retain(|r| r.ctx != me);
        true
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.stages.borrow_mut().run()
    }

    /// The body waits while the request does (Envoy would otherwise let it
    /// carry the headers on).
    fn on_http_request_body(&mut self, _size: usize, _end_of_stream: bool) -> Action {
        self.hold()
    }

    fn on_http_request_trailers(&mut self, _trailers: usize) -> Action {
        self.hold()
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        self.stages.borrow_mut().response_headers();
        Action::Continue
    }
}

impl Filter {
    fn hold(&self) -> Action {
        if self.stages.borrow().paused.is_some() {
            Action::Pause
        } else {
            Action::Continue
        }
    }
}

/// Runs `f` on request `ctx`'s stages with `ctx` effective, then `me` again.
fn in_request(shared: &SharedRef, me: u32, ctx: u32, f: impl FnOnce(&mut Stages)) {
    let Some(stages) = shared.borrow().requests.get(&ctx).cloned() else {
        return;
    };
    host::in_context(me, ctx, || f(&mut stages.borrow_mut()));
}

/// Gives a routed rate-limit service answer to its request. False when
/// `token` was not routed (the answer is for `me`'s own request).
fn answer_routed(shared: &SharedRef, me: u32, token: u32, status_code: u32, size: usize) -> bool {
    let route = {
        let mut shared = shared.borrow_mut();
        let Some(i) = shared.routes.iter().position(|r| r.token == token) else {
            return false;
        };
        shared.routes.swap_remove(i)
    };
    // Read in the callback's own context, before switching.
    let body = shared
        .borrow()
        .requests
        .get(&route.ctx)
        .and_then(|s| s.borrow().read_grpc_answer(token, status_code, size));
    in_request(shared, me, route.ctx, |stages| {
        stages.grpc_call_response(token, status_code, size, body);
    });
    true
}

/// Runs the remaining filters of every request a filter handed back while
/// `me`'s callback ran, and resumes those all filters let go on. A request
/// other than `me` whose filters may call a service waits for the root's
/// tick, unless `me` is the root.
fn drain(shared: &SharedRef, me: u32, root: bool) {
    loop {
        let resumed = host::take_resumed();
        if resumed.is_empty() {
            return;
        }
        for ctx in resumed {
            let to_root = !root
                && ctx != me
                && shared
                    .borrow()
                    .requests
                    .get(&ctx)
                    .is_some_and(|s| s.borrow().calls_service());
            if to_root {
                shared.borrow_mut().queue.push(ctx);
                host::current().set_tick_period(QUEUE_TICK);
            } else {
                resume(shared, me, ctx);
            }
        }
    }
}

/// Runs request `ctx`'s filters after the one that handed it back; resumes
/// it when they all let it go on. A call they send from the root's callback
/// is routed back to `ctx`.
fn resume(shared: &SharedRef, me: u32, ctx: u32) {
    let mut call = None;
    in_request(shared, me, ctx, |stages| match stages.resume() {
        Some(Action::Continue) => {
            host::current().resume_http_request();
        }
        Some(_) if ctx != me => call = stages.pending_call(),
        _ => {}
    });
    if let Some(token) = call {
        shared.borrow_mut().routes.push(Route { token, ctx });
    }
}
