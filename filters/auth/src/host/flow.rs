//! The request flow over the host: decide, act on the decision, and the
//! JWKS fetches a decision may wait for.
//!
//! A request whose JWT provider has no usable key set (or whose token names
//! an unknown `kid` while a re-fetch is allowed) is paused and joins the
//! provider's waiters in this VM; the first one dispatches the fetch
//! (`dispatch_http_call`), later ones only wait. The context that gets the
//! answer stores the set in shared data, then wakes every waiter: with
//! `set_effective_context` it decides each waiting request again and
//! resumes or answers it. If the context that would get the answer ends
//! first, the root's tick fetches again for the remaining waiters. The
//! root's tick also refreshes sets in the background before they expire,
//! one VM at a time (a lease in shared data).

use crate::host::stats::Stat;
use crate::host::vm::{Call, HostKeys, Plugin};
use crate::jwt::jwks::MAX_JWKS_BYTES;
use crate::jwt::jwks_store;
use crate::jwt::Jwks;
use crate::policy::decide::{self, Decision};
use proxy_wasm::types::{Action, BufferType, MapType};
use std::rc::Rc;
use tollgate_common::host::{self, now_ms, Host, HostHeaders, HostRequest, HostStore};
use tollgate_common::Request;

/// Decides for context `ctx` (the effective context). `owner`: the context
/// whose callback is running (gets any fetch this starts); `resumed`: the
/// request is paused and must be resumed when allowed.
pub(crate) fn run(p: &Plugin, ctx: u32, owner: u32, wait: bool, resumed: bool) -> Action {
    let req = Request::new(HostRequest);
    let wait = wait && p.vm.borrow().rounds(ctx) <= p.remotes().len();
    let keys = HostKeys { plugin: p, wait };
    let (decision, counts) = decide::decide_with(&p.config, &req, &HostStore, &keys);
    p.stats.count(counts);
    match decision {
        Decision::Allow { edits, .. } => {
            edits.apply(&mut HostHeaders::request());
            p.stats.inc(Stat::Allowed);
            if resumed {
                host::resume_request(ctx);
            }
            Action::Continue
        }
        Decision::Deny { reason, reply } => {
            p.stats.deny(reason);
            host::send_reply(&reply);
            Action::Pause
        }
        Decision::Wait(bases) => {
            let mut waiting = true;
            for base in bases {
                waiting = waiting && start(p, base, ctx, owner);
            }
            if waiting {
                p.vm.borrow_mut().add_round(ctx);
                return Action::Pause;
            }
            for s in &mut p.vm.borrow_mut().slots {
                s.waiters.retain(|w| *w != ctx);
            }
            run(p, ctx, owner, false, resumed)
        }
        Decision::AskExtAuthz(checked) => {
            crate::host::ext_authz::ask(p, ctx, owner, checked, resumed)
        }
    }
}

/// Makes `waiter` wait for provider `base`'s set, fetching it unless this
/// VM already is. False when no fetch can be had now.
fn start(p: &Plugin, base: usize, waiter: u32, owner: u32) -> bool {
    let Some(remote) = p.remote(base) else {
        return false;
    };
    {
        let mut vm = p.vm.borrow_mut();
        let Some(slot) = vm.slots.get_mut(base) else {
            return false;
        };
        if slot.in_flight.is_some() {
            if !slot.waiters.contains(&waiter) {
                slot.waiters.push(waiter);
            }
            return true;
        }
    }
    // A usable set exists: this is a re-fetch for an unknown kid, which one
    // VM at a time may do. A first fetch is this VM's own.
    let now = now_ms();
    let duration = u64::try_from(remote.cache_duration.as_millis()).unwrap_or(u64::MAX);
    let fresh = jwks_store::fetched_at(&HostStore, p.key(base))
        .is_some_and(|at| jwks_store::usable(at, now, duration));
    if fresh && !jwks_store::take_lease(&HostStore, p.lease_key(base), now, lease_ms(p, base)) {
        return false;
    }
    let Some(token) = dispatch(p, base, owner) else {
        return false;
    };
    let mut vm = p.vm.borrow_mut();
    vm.calls.push(Call { token, base, owner });
    if let Some(slot) = vm.slots.get_mut(base) {
        slot.in_flight = Some(token);
        slot.waiters.push(waiter);
    }
    true
}

fn lease_ms(p: &Plugin, base: usize) -> u64 {
    p.remote(base).map_or(0, |r| {
        u64::try_from(r.timeout.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1000)
    })
}

/// Sends the GET for provider `base`'s JWKS; the answer goes to `owner`.
fn dispatch(p: &Plugin, base: usize, owner: u32) -> Option<u32> {
    let remote = p.remote(base)?;
    let headers = vec![
        (":method", "GET"),
        (":path", remote.path.as_str()),
        (":authority", remote.authority.as_str()),
        ("accept", "application/json"),
    ];
    p.stats.inc(Stat::JwksFetches);
    match host::current().dispatch_http_call(&remote.cluster, headers, remote.timeout) {
        Ok(token) => Some(token),
        Err(status) => {
            log::warn!(
                "tollgate.auth: JWKS fetch from cluster {:?} not sent ({status:?}) (context {owner})",
                remote.cluster
            );
            fetch_failed(p, base);
            None
        }
    }
}

fn fetch_failed(p: &Plugin, base: usize) {
    p.stats.inc(Stat::JwksFetchFailures);
    if let Some(s) = p.vm.borrow_mut().slots.get_mut(base) {
        s.failed_at = Some(now_ms());
    }
}

/// The answer to a fetch or a check, in the callback of context `me`.
pub(crate) fn on_response(p: &Plugin, me: u32, token: u32, headers: usize, body_size: usize) {
    if crate::host::ext_authz::on_response(p, me, token, headers, body_size) {
        return;
    }
    let (base, waiters) = {
        let mut vm = p.vm.borrow_mut();
        let Some(i) = vm.calls.iter().position(|c| c.token == token) else {
            return;
        };
        let call = vm.calls.swap_remove(i);
        let Some(slot) = vm.slots.get_mut(call.base) else {
            return;
        };
        slot.in_flight = None;
        (call.base, std::mem::take(&mut slot.waiters))
    };
    let now = now_ms();
    let fetched =
        read_response(headers, body_size).and_then(|text| Ok((Jwks::parse(&text)?.0, text)));
    let ok = fetched.is_ok();
    match fetched {
        Ok((jwks, text)) => {
            jwks_store::write(&HostStore, p.key(base), now, &text);
            if let Some(s) = p.vm.borrow_mut().slots.get_mut(base) {
                s.parsed = Some((now, Rc::new(jwks)));
                s.failed_at = None;
            }
        }
        Err(why) => {
            let uri = p.remote(base).map_or("", |r| r.uri.as_str());
            log::warn!("tollgate.auth: JWKS fetch from {uri} failed: {why}");
            fetch_failed(p, base);
        }
    }
    jwks_store::release_lease(&HostStore, p.lease_key(base), now, ok);
    wake(p, me, waiters);
}

fn read_response(headers: usize, body_size: usize) -> Result<String, String> {
    if headers == 0 {
        return Err("no response (timeout, reset or connection failure)".into());
    }
    let status = host::current()
        .get_map_value(MapType::HttpCallResponseHeaders, ":status")
        .unwrap_or_default();
    if status != b"200" {
        return Err(format!("status {}", String::from_utf8_lossy(&status)));
    }
    if body_size > MAX_JWKS_BYTES {
        return Err(format!(
            "body of {body_size} bytes is over {MAX_JWKS_BYTES}"
        ));
    }
    let body = host::current()
        .get_buffer(BufferType::HttpCallResponseBody, body_size)
        .unwrap_or_default();
    String::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())
}

/// Decides again for every waiter, then for `me` if it waits too.
fn wake(p: &Plugin, me: u32, waiters: Vec<u32>) {
    let mut own = false;
    for w in waiters {
        if w == me {
            own = true;
        } else {
            host::in_context(me, w, || run(p, w, me, true, true));
        }
    }
    if own {
        run(p, me, me, true, true);
    }
}

/// The root's tick: fetch for waiters whose fetch was lost, and refresh sets
/// that near the end of their `cache_duration`.
pub(crate) fn tick(p: &Plugin, root: u32) {
    crate::host::ext_authz::resend_orphans(p, root);
    let now = now_ms();
    for base in p.remotes() {
        let (busy, orphans) = {
            let vm = p.vm.borrow();
            vm.slots.get(base).map_or((true, false), |s| {
                (s.in_flight.is_some(), !s.waiters.is_empty())
            })
        };
        if busy {
            continue;
        }
        let due = || {
            let duration = p.remote(base).map_or(0, |r| {
                u64::try_from(r.cache_duration.as_millis()).unwrap_or(u64::MAX)
            });
            jwks_store::fetched_at(&HostStore, p.key(base))
                .is_some_and(|at| jwks_store::refresh_due(at, now, duration))
                && jwks_store::take_lease(&HostStore, p.lease_key(base), now, lease_ms(p, base))
        };
        if !orphans && !due() {
            continue;
        }
        match dispatch(p, base, root) {
            Some(token) => {
                let mut vm = p.vm.borrow_mut();
                vm.calls.push(Call {
                    token,
                    base,
                    owner: root,
                });
                if let Some(s) = vm.slots.get_mut(base) {
                    s.in_flight = Some(token);
                }
            }
            None if orphans => {
                let waiters =
                    p.vm.borrow_mut()
                        .slots
                        .get_mut(base)
                        .map(|s| std::mem::take(&mut s.waiters))
                        .unwrap_or_default();
                wake(p, root, waiters);
            }
            None => {}
        }
    }
}
