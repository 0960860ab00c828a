//! One request's decision: which rule applies, what its requirement says,
//! and the reply or the header edits that follow.

use crate::basic::cache::Store;
use crate::basic::Check;
use crate::edits::Edits;
use crate::jwt::leaf::{KeySets, NoKeys};
use crate::policy::config::Config;
use crate::policy::outcome::{Grant, Outcome, Reason};
use crate::policy::requirement::{
    uses_ext_authz, Checked, Evaluator, Requirement, EXT_AUTHZ_DENIED,
};
use tollgate_common::reply::LocalReply;
use tollgate_common::request::{Request, RequestSource};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward the request with these edits.
    Allow {
        identity: Option<String>,
        edits: Edits,
    },
    Deny {
        reason: Reason,
        reply: LocalReply,
    },
    /// Pause until these JWT providers' key sets are fetched, then decide
    /// again.
    Wait(Vec<usize>),
    /// The authorization service's answer decides: ask it, then decide
    /// again with [`Answer`] (these method results carried over).
    AskExtAuthz(Checked),
}

/// The authorization service's answer as the `ext_authz` leaf's outcome,
/// with the method results of the first evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub leaf: Outcome,
    pub checked: Checked,
}

/// What the glue counts besides the decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub jwt_cache_hits: u64,
    pub jwt_cache_misses: u64,
}

pub fn decide<S: RequestSource>(
    config: &Config,
    req: &Request<S>,
    store: &dyn Store,
) -> (Decision, Counts) {
    decide_with(config, req, store, &NoKeys)
}

/// [`decide`] with the glue's remote JWT key sets.
pub fn decide_with<S: RequestSource>(
    config: &Config,
    req: &Request<S>,
    store: &dyn Store,
    keys: &dyn KeySets,
) -> (Decision, Counts) {
    decide_answered(config, req, store, keys, None)
}

/// [`decide_with`], after the authorization service answered (`answer`):
/// never [`Decision::AskExtAuthz`] then.
pub fn decide_answered<S: RequestSource>(
    config: &Config,
    req: &Request<S>,
    store: &dyn Store,
    keys: &dyn KeySets,
    answer: Option<Answer>,
) -> (Decision, Counts) {
    let mut edits = Edits::default();
    for name in config.reserved_headers() {
        if req.header(name).is_some() {
            edits.remove(name);
        }
    }
    if let Some(a) =
        req.ambiguous_path_to_refuse(config.ambiguous_path_action, config.has_path_rules)
    {
        return (
            Decision::Deny {
                reason: Reason::AmbiguousPath,
                reply: tollgate_common::path::ambiguous_path_reply(a),
            },
            Counts::default(),
        );
    }
    if config.has_path_rules && req.normalized_path().is_none() {
        let reply = LocalReply::bad_request("the request path cannot be normalized");
        return (
            Decision::Deny {
                reason: Reason::BadRequest,
                reply,
            },
            Counts::default(),
        );
    }
    let requirement = config
        .rules
        .iter()
        .find(|r| r.matcher.matches(req))
        .map(|r| &r.requires)
        .or(config.default_requires.as_ref());
    let Some(requirement) = requirement else {
        return (
            allow(config, req, Grant::default(), edits),
            Counts::default(),
        );
    };
    let mut evaluator = Evaluator::new(config.methods(), req, store).with_keys(keys);
    let ask = answer.is_none() && uses_ext_authz(requirement);
    if let Some(a) = answer {
        evaluator = evaluator.with_checked(a.checked);
        evaluator.set_ext_authz(a.leaf);
    }
    // With the leaf granted and denied: when both agree, the service's
    // answer cannot change the result and it is not asked.
    let granted = ask.then(|| {
        evaluator.set_ext_authz(Outcome::Granted(Grant::default()));
        let o = evaluator.eval(requirement);
        evaluator.set_ext_authz(Outcome::Denied(Reason::ExtAuthz, EXT_AUTHZ_DENIED.into()));
        o
    });
    let outcome = evaluator.eval(requirement);
    let jwt = evaluator.jwt_state();
    let mut counts = Counts {
        jwt_cache_hits: jwt.cache_hits.get(),
        jwt_cache_misses: jwt.cache_misses.get(),
        ..Counts::default()
    };
    match evaluator.basic_check() {
        Some(Check::Verified { cached: true, .. }) => counts.cache_hits = 1,
        Some(Check::Verified { cached: false, .. } | Check::Rejected) => counts.cache_misses = 1,
        _ => {}
    }
    let needs = jwt.needs.take();
    let identified = |o: &Outcome| matches!(o, Outcome::Granted(g) if g.identity.is_some());
    let both_identified = identified(&outcome) && granted.as_ref().is_none_or(identified);
    if !needs.is_empty() && !both_identified {
        return (Decision::Wait(needs), counts);
    }
    if granted.is_some_and(|g| g != outcome) {
        return (Decision::AskExtAuthz(evaluator.checked()), counts);
    }
    for location in jwt.hide.take() {
        crate::jwt::hide::token(&location, req, &mut edits);
    }
    let decision = match outcome {
        Outcome::Granted(grant) => allow(config, req, grant, edits),
        Outcome::Missing => deny(
            config,
            requirement,
            Reason::Missing,
            "credentials are missing".into(),
        ),
        Outcome::Denied(reason, why) => deny(config, requirement, reason, why),
    };
    (decision, counts)
}

fn allow<S: RequestSource>(
    config: &Config,
    req: &Request<S>,
    grant: Grant,
    mut edits: Edits,
) -> Decision {
    if let Some(id) = &grant.identity {
        edits.set(&config.identity_header, id);
    }
    for (name, value) in &grant.headers {
        edits.set(name, value);
    }
    if let Some(api_key) = &config.api_key {
        api_key.hide(req, &mut edits);
    }
    Decision::Allow {
        identity: grant.identity,
        edits,
    }
}

fn deny(config: &Config, requirement: &Requirement, reason: Reason, why: String) -> Decision {
    let reply = match reason {
        Reason::Missing | Reason::Invalid => {
            let mut reply = LocalReply::unauthorized(why);
            for challenge in challenges(config, requirement) {
                reply = reply.with_header("www-authenticate", challenge);
            }
            reply
        }
        Reason::Forbidden => LocalReply::forbidden(why),
        Reason::LockedOut(secs) => LocalReply::too_many_requests(why, secs),
        Reason::BadRequest => LocalReply::bad_request(why),
        Reason::AmbiguousPath => LocalReply::new(400, "ambiguous_path", why),
        Reason::Jwt(r) if r.status() == 403 => LocalReply::forbidden(why),
        Reason::Jwt(r) => {
            let mut reply = LocalReply::unauthorized(why);
            for challenge in challenges(config, requirement) {
                let challenge = match &config.jwt {
                    Some(j) if challenge.starts_with("Bearer") => {
                        crate::jwt::www_authenticate(&j.realm, r)
                    }
                    _ => challenge,
                };
                reply = reply.with_header("www-authenticate", challenge);
            }
            reply
        }
        Reason::Unavailable => LocalReply::unavailable(why),
        // The glue answers with the service's own reply instead.
        Reason::ExtAuthz => LocalReply::forbidden(why),
    };
    Decision::Deny { reason, reply }
}

/// `WWW-Authenticate` challenges for the methods a requirement uses.
fn challenges(config: &Config, requirement: &Requirement) -> Vec<String> {
    let mut used = [false; 3];
    uses(requirement, &mut used, config);
    let [api_key, basic, jwt] = used;
    let mut out = Vec::new();
    if let (true, Some(j)) = (jwt, &config.jwt) {
        out.push(crate::jwt::www_authenticate(
            &j.realm,
            crate::jwt::Reason::Missing,
        ));
    }
    if let (true, Some(b)) = (basic, &config.basic) {
        out.push(format!("Basic realm=\"{}\"", b.realm.0));
    }
    if api_key {
        out.push("ApiKey".to_string());
    }
    out
}

/// Which of api_key, basic and JWT a requirement uses.
fn uses(r: &Requirement, used: &mut [bool; 3], config: &Config) {
    match r {
        Requirement::ApiKey { .. } => used[0] = true,
        Requirement::Basic => used[1] = true,
        Requirement::Jwt { .. } => used[2] = true,
        Requirement::ExtAuthz | Requirement::NotRequired => {}
        Requirement::Any(c) | Requirement::All(c) => c.iter().for_each(|c| uses(c, used, config)),
        Requirement::AllowMissing | Requirement::AllowMissingOrFailed => {
            used[0] |= config.api_key.is_some();
            used[1] |= config.basic.is_some();
            used[2] |= config.jwt.is_some();
        }
    }
}

#[cfg(test)]
mod tests;
