//! The authorization service's part of the request flow: send the check
//! (`dispatch_http_call`), read the answer, decide again with the `ext_authz`
//! leaf set, and apply the result.
//!
//! The answer goes to the context whose callback sent the check (the SDK
//! routes it by the context that was running): the request itself, or,
//! when a JWKS fetch woke the request, the context that got the key set.
//! Each check remembers both; if the owner ends first, the root's tick
//! sends the check again.

use crate::ext_authz::{self, verdict, CheckRequest, Verdict};
use crate::host::stats::Stat;
use crate::host::vm::{AuthzCall, HostKeys, Plugin};
use crate::policy::decide::{self, Answer, Decision};
use crate::policy::outcome::{Grant, Outcome, Reason};
use crate::policy::requirement::{Checked, EXT_AUTHZ_DENIED};
use proxy_wasm::types::{Action, BufferType, MapType};
use tollgate_common::host::{self, in_context, Host, HostHeaders, HostRequest, HostStore};
use tollgate_common::reply::LocalReply;
use tollgate_common::Request;

/// Sends the check for request `ctx` (the effective context); the answer
/// goes to `owner`. Pauses, or decides at once when the call cannot be sent.
pub(crate) fn ask(p: &Plugin, ctx: u32, owner: u32, checked: Checked, resumed: bool) -> Action {
    let Some(cfg) = p.config.ext_authz.as_ref() else {
        return unexpected(p, "no ext_authz configuration");
    };
    let req = Request::new(HostRequest);
    let headers = host::current().get_map(MapType::HttpRequestHeaders);
    let check = ext_authz::check::build(cfg, &req, &headers, &p.config.reserved_headers());
    match send(&check) {
        Ok(token) => {
            p.vm.borrow_mut().authz.push(AuthzCall {
                token,
                ctx,
                owner,
                checked,
                check,
            });
            Action::Pause
        }
        Err(why) => conclude(p, ctx, verdict::failure(cfg, why), checked, resumed),
    }
}

fn send(check: &CheckRequest) -> Result<u32, String> {
    host::current()
        .dispatch_http_call(&check.cluster, check.header_pairs(), check.timeout)
        .map_err(|status| format!("call not sent: {status:?}"))
}

/// The answer to a check, in context `me`'s callback. False when `token`
/// is not a check (JWKS fetches share the callback).
pub(crate) fn on_response(
    p: &Plugin,
    me: u32,
    token: u32,
    headers: usize,
    body_size: usize,
) -> bool {
    let call = {
        let mut vm = p.vm.borrow_mut();
        let Some(i) = vm.authz.iter().position(|c| c.token == token) else {
            return false;
        };
        vm.authz.swap_remove(i)
    };
    let Some(cfg) = p.config.ext_authz.as_ref() else {
        return true;
    };
    // Read while the callback's own context is effective.
    let headers = if headers == 0 {
        Vec::new()
    } else {
        host::current().get_map(MapType::HttpCallResponseHeaders)
    };
    let body = host::current()
        .get_buffer(
            BufferType::HttpCallResponseBody,
            body_size.min(verdict::MAX_BODY + 1),
        )
        .unwrap_or_default();
    let verdict = verdict::interpret(cfg, &headers, &body);
    in_context(me, call.ctx, || {
        conclude(p, call.ctx, verdict, call.checked, true);
    });
    true
}

/// The root's tick: send again the checks whose owner ended.
pub(crate) fn resend_orphans(p: &Plugin, root: u32) {
    let orphans = std::mem::take(&mut p.vm.borrow_mut().orphans);
    for mut call in orphans {
        match send(&call.check) {
            Ok(token) => {
                call.token = token;
                call.owner = root;
                p.vm.borrow_mut().authz.push(call);
            }
            Err(why) => {
                let Some(cfg) = p.config.ext_authz.as_ref() else {
                    continue;
                };
                let verdict = verdict::failure(cfg, why);
                in_context(root, call.ctx, || {
                    conclude(p, call.ctx, verdict, call.checked, true);
                });
            }
        }
    }
}

/// Decides request `ctx` (the effective context) with the service's
/// verdict, and applies the decision.
fn conclude(p: &Plugin, ctx: u32, verdict: Verdict, checked: Checked, resumed: bool) -> Action {
    p.stats.ext_authz(verdict.event());
    let failure = match &verdict {
        Verdict::Allow(a) => a.failure.as_deref(),
        Verdict::Deny(d) => d.failure.as_deref(),
    };
    if let Some(why) = failure {
        log::warn!("tollgate.auth: authorization service failed: {why}");
    }
    let config = &p.config;
    let (leaf, allow, denial) = match verdict {
        Verdict::Allow(mut a) => {
            let identity = a.take_header(&config.identity_header);
            for name in config.reserved_headers() {
                a.take_header(name);
            }
            let grant = Grant {
                identity,
                headers: vec![],
            };
            (Outcome::Granted(grant), Some(a), None)
        }
        Verdict::Deny(d) => (
            Outcome::Denied(Reason::ExtAuthz, EXT_AUTHZ_DENIED.into()),
            None,
            Some(d),
        ),
    };
    let req = Request::new(HostRequest);
    let keys = HostKeys {
        plugin: p,
        wait: false,
    };
    let answer = Some(Answer { leaf, checked });
    let (decision, _) = decide::decide_answered(config, &req, &HostStore, &keys, answer);
    match decision {
        Decision::Allow { edits, .. } => {
            let mut upstream = HostHeaders::request();
            edits.apply(&mut upstream);
            if let Some(a) = allow {
                a.apply(&mut upstream);
                if !a.client_headers_on_success.is_empty() {
                    let on_success = &mut p.vm.borrow_mut().on_success;
                    on_success.push((ctx, a.client_headers_on_success));
                }
            }
            p.stats.inc(Stat::Allowed);
            if resumed {
                host::resume_request(ctx);
            }
            Action::Continue
        }
        Decision::Deny { reason, reply } => {
            p.stats.deny(reason);
            match (reason, denial) {
                (Reason::ExtAuthz, Some(d)) => {
                    host::current().send_http_response(
                        u32::from(d.status),
                        d.header_pairs(),
                        &d.body,
                    );
                }
                _ => host::send_reply(&reply),
            }
            Action::Pause
        }
        Decision::Wait(_) | Decision::AskExtAuthz(_) => {
            unexpected(p, "the decision did not settle after the service answered")
        }
    }
}

/// Fails closed on a state the flow never reaches.
fn unexpected(p: &Plugin, why: &str) -> Action {
    log::error!("tollgate.auth: {why}");
    p.stats.deny(Reason::Unavailable);
    host::send_reply(&LocalReply::unavailable("authorization cannot be decided"));
    Action::Pause
}

/// Adds the service's `allowed_client_headers_on_success` to request
/// `ctx`'s response, once (a local reply never has them).
pub(crate) fn on_response_headers(p: &Plugin, ctx: u32) {
    let headers = {
        let mut vm = p.vm.borrow_mut();
        let Some(i) = vm.on_success.iter().position(|e| e.0 == ctx) else {
            return;
        };
        vm.on_success.swap_remove(i).1
    };
    let mut response = HostHeaders::response();
    for (name, value) in &headers {
        tollgate_common::header::HeaderTarget::add(&mut response, name, value);
    }
}
