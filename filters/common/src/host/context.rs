//! Running code as another context. A callback runs as the context that
//! receives it; to act on another request (a waiter woken by a key set, the
//! request a routed answer is for), that request's context must be made
//! effective first, and the callback's own made effective again after.

use super::api::{current, Host};

/// Runs `f` with context `ctx` effective, then `me` again. `None` (and `f`
/// not run) when the host refuses `ctx`, e.g. because it has ended.
pub fn in_context<R>(me: u32, ctx: u32, f: impl FnOnce() -> R) -> Option<R> {
    if ctx == me {
        return Some(f());
    }
    if !current().set_effective_context(ctx) {
        return None;
    }
    let r = f();
    current().set_effective_context(me);
    Some(r)
}
