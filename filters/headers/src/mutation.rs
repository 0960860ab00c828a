//! What the filter does to one request: planned once when the request headers
//! arrive, then applied to the request headers at once and to the response
//! headers later.
//!
//! Every template, response side included, is expanded at request time, so
//! `%REQ(x)%` in a response header refers to the request (as in Envoy).
//!
//! Order, as in Envoy with a header_mutation filter and the route's lists
//! (the router applies `request_headers_to_add` after the filters have run,
//! and `response_headers_to_add` before they see the response): on the
//! request, header_mutation's `request_mutations` (top level, then matching
//! rules, each list in order), then every `request_headers_to_remove`, then
//! every `request_headers_to_add`; on the response, every
//! `response_headers_to_remove`, every `response_headers_to_add`, then the
//! `response_mutations`.

use crate::config::{Config, HeaderMutation, Mutations};
use std::rc::Rc;
use tollgate_common::header::{AppendAction, HeaderTarget, HeaderValueOption};
use tollgate_common::matcher::StringMatcher;
use tollgate_common::syntax::safe_value;
use tollgate_common::{Request, RequestSource};

/// Header operations for one direction: `before` in order, all removals, all
/// additions, then `after` in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ops {
    pub remove: Vec<String>,
    /// (name, expanded value, action), in configuration order.
    pub add: Vec<(String, String, AppendAction)>,
    /// header_mutation's request mutations.
    pub before: Vec<Step>,
    /// header_mutation's response mutations.
    pub after: Vec<Step>,
}

impl Ops {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.add.is_empty()
            && self.before.is_empty()
            && self.after.is_empty()
    }
}

/// One header_mutation action, its value expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Add(String, String, AppendAction),
    Remove(String),
    RemoveMatching(Matcher),
}

/// A `remove_on_match` key matcher, shared with the configuration (equal
/// when it is the same one).
#[derive(Debug, Clone)]
pub struct Matcher(pub Rc<StringMatcher>);

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Matcher {}

/// The mutations planned for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub request: Ops,
    pub response: Ops,
    /// Rules whose `match` held.
    pub rules_matched: u32,
    /// Values dropped because they expanded to CR, LF or NUL (header
    /// injection from request data); never sent.
    pub values_dropped: u32,
}

impl Plan {
    pub fn request_is_empty(&self) -> bool {
        self.request.is_empty()
    }

    pub fn response_is_empty(&self) -> bool {
        self.response.is_empty()
    }
}

/// What [`apply`] did, for stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: u32,
    pub removed: u32,
}

/// Plans the mutations for a request: the top-level ones, then those of each
/// rule whose `match` holds, in order.
pub fn plan<S: RequestSource>(config: &Config, req: &Request<S>) -> Plan {
    let mut plan = Plan::default();
    collect(&config.mutations, req, &mut plan);
    for rule in &config.rules {
        if rule.matcher.matches(req) {
            plan.rules_matched = plan.rules_matched.saturating_add(1);
            collect(&rule.mutations, req, &mut plan);
        }
    }
    plan
}

fn collect<S: RequestSource>(m: &Mutations, req: &Request<S>, plan: &mut Plan) {
    let names = |v: &[tollgate_common::header::MutableHeaderName]| {
        v.iter().map(|n| n.as_str().to_string()).collect::<Vec<_>>()
    };
    plan.request
        .remove
        .extend(names(&m.request_headers_to_remove));
    plan.response
        .remove
        .extend(names(&m.response_headers_to_remove));
    let dropped = expand_into(&m.request_headers_to_add, req, &mut plan.request).saturating_add(
        expand_into(&m.response_headers_to_add, req, &mut plan.response),
    );
    plan.values_dropped = plan.values_dropped.saturating_add(dropped);
    let dropped = steps_into(&m.request_mutations, req, &mut plan.request.before).saturating_add(
        steps_into(&m.response_mutations, req, &mut plan.response.after),
    );
    plan.values_dropped = plan.values_dropped.saturating_add(dropped);
}

/// header_mutation's actions as steps; returns how many were dropped as
/// unsafe.
fn steps_into<S: RequestSource>(
    mutations: &[HeaderMutation],
    req: &Request<S>,
    steps: &mut Vec<Step>,
) -> u32 {
    let mut dropped = 0u32;
    for m in mutations {
        match m {
            HeaderMutation::Remove(name) => steps.push(Step::Remove(name.as_str().to_string())),
            HeaderMutation::RemoveOnMatch(matcher) => {
                steps.push(Step::RemoveMatching(Matcher(Rc::clone(matcher))))
            }
            HeaderMutation::Append(option) => {
                let mut ops = Ops::default();
                dropped = dropped.saturating_add(expand_into(
                    std::slice::from_ref(option),
                    req,
                    &mut ops,
                ));
                steps.extend(ops.add.into_iter().map(|(n, v, a)| Step::Add(n, v, a)));
            }
        }
    }
    dropped
}

/// Expands each option into `ops`; returns how many were dropped as unsafe.
fn expand_into<S: RequestSource>(
    options: &[HeaderValueOption],
    req: &Request<S>,
    ops: &mut Ops,
) -> u32 {
    let mut dropped = 0u32;
    for o in options {
        let value = match o.header.value.as_static() {
            // Static values were checked for CR/LF/NUL at load.
            Some(s) => s.to_string(),
            None => {
                let v = o.header.value.expand(req);
                if !safe_value(&v) {
                    dropped = dropped.saturating_add(1);
                    continue;
                }
                v
            }
        };
        // Envoy skips a header whose value is empty unless told to keep it.
        if value.is_empty() && !o.keep_empty_value {
            continue;
        }
        ops.add
            .push((o.header.key.as_str().to_string(), value, o.append_action));
    }
    dropped
}

/// Applies `ops` to `target`: `before` in order, removals, additions in
/// order, then `after` in order.
pub fn apply(ops: &Ops, target: &mut impl HeaderTarget) -> Applied {
    let mut applied = Applied::default();
    steps(&ops.before, target, &mut applied);
    for name in &ops.remove {
        remove(name, target, &mut applied);
    }
    for (name, value, action) in &ops.add {
        add(name, value, *action, target, &mut applied);
    }
    steps(&ops.after, target, &mut applied);
    applied
}

fn steps(steps: &[Step], target: &mut impl HeaderTarget, applied: &mut Applied) {
    for step in steps {
        match step {
            Step::Add(name, value, action) => add(name, value, *action, target, applied),
            Step::Remove(name) => remove(name, target, applied),
            Step::RemoveMatching(m) => {
                for name in target.names() {
                    // Pseudo-headers and `host` steer routing: never removed.
                    if !name.starts_with(':') && name != "host" && m.0.matches(&name) {
                        remove(&name, target, applied);
                    }
                }
            }
        }
    }
}

fn remove(name: &str, target: &mut impl HeaderTarget, applied: &mut Applied) {
    // Only count (and ask the host to remove) what is there.
    if target.get(name).is_some() {
        target.remove(name);
        applied.removed = applied.removed.saturating_add(1);
    }
}

fn add(
    name: &str,
    value: &str,
    action: AppendAction,
    target: &mut impl HeaderTarget,
    applied: &mut Applied,
) {
    let wrote = match action {
        AppendAction::AppendIfExistsOrAdd => {
            target.add(name, value);
            true
        }
        AppendAction::AddIfAbsent => {
            let absent = target.get(name).is_none();
            if absent {
                target.add(name, value);
            }
            absent
        }
        AppendAction::OverwriteIfExistsOrAdd => {
            target.set(name, value);
            true
        }
        AppendAction::OverwriteIfExists => {
            let present = target.get(name).is_some();
            if present {
                target.set(name, value);
            }
            present
        }
    };
    if wrote {
        applied.added = applied.added.saturating_add(1);
    }
}

#[cfg(test)]
mod tests;
