//! One request's decision: which rule applies, what its requirement says,
//! and the reply or the header edits that follow.

use crate::basic::Check;
use crate::cache::Store;
use crate::config::Config;
use crate::edits::Edits;
use crate::requirement::{Evaluator, Grant, Outcome, Reason, Requirement};
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
}

/// What the glue counts besides the decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub cache_hits: u64,
    pub cache_misses: u64,
}

pub fn decide<S: RequestSource>(
    config: &Config,
    req: &Request<S>,
    store: &dyn Store,
) -> (Decision, Counts) {
    let mut edits = Edits::default();
    for name in config.reserved_headers() {
        if req.header(name).is_some() {
            edits.remove(name);
        }
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
    let evaluator = Evaluator::new(config.methods(), req, store);
    let outcome = evaluator.eval(requirement);
    let counts = match evaluator.basic_check() {
        Some(Check::Verified { cached: true, .. }) => Counts {
            cache_hits: 1,
            cache_misses: 0,
        },
        Some(Check::Verified { cached: false, .. } | Check::Rejected) => Counts {
            cache_hits: 0,
            cache_misses: 1,
        },
        _ => Counts::default(),
    };
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
    };
    Decision::Deny { reason, reply }
}

/// `WWW-Authenticate` challenges for the methods a requirement uses.
fn challenges(config: &Config, requirement: &Requirement) -> Vec<String> {
    let (mut api_key, mut basic) = (false, false);
    uses(requirement, &mut api_key, &mut basic, config);
    let mut out = Vec::new();
    if let (true, Some(b)) = (basic, &config.basic) {
        out.push(format!("Basic realm=\"{}\"", b.realm.0));
    }
    if api_key {
        out.push("ApiKey".to_string());
    }
    out
}

fn uses(r: &Requirement, api_key: &mut bool, basic: &mut bool, config: &Config) {
    match r {
        Requirement::ApiKey { .. } => *api_key = true,
        Requirement::Basic => *basic = true,
        Requirement::Any(c) | Requirement::All(c) => {
            c.iter().for_each(|c| uses(c, api_key, basic, config))
        }
        Requirement::AllowMissing | Requirement::AllowMissingOrFailed => {
            *api_key |= config.api_key.is_some();
            *basic |= config.basic.is_some();
        }
    }
}

#[cfg(test)]
mod tests;
