//! The requirement tree, with jwt_authn's semantics, and its evaluation.
//!
//! A requirement is a JSON object with at most one key:
//! `{"api_key": {"allowed_clients": [...]}}`, `{"basic": {}}`,
//! `{"provider_name": "p"}`, `{"provider_and_audiences": {..}}` (JWT),
//! `{"requires_any": [...]}`, `{"requires_all": [...]}` (or jwt_authn's
//! `{"requires_any": {"requirements": [...]}}`, same meaning),
//! `{"allow_missing": {}}`, `{"allow_missing_or_failed": {}}`,
//! `{"ext_authz": {}}` (the authorization service's answer, set by the glue),
//! and `{}`, which requires nothing (jwt_authn's empty `JwtRequirement`).
//! New methods (JWT providers, external authorization) are new leaves: a
//! leaf yields an [`Outcome`] and the combinators do not care which method
//! produced it.

use crate::api_key::ApiKeyConfig;
use crate::basic::cache::Store;
use crate::basic::{BasicConfig, Check};
use crate::jwt::config::JwtConfig;
use crate::jwt::leaf::{JwtState, KeySets, NoKeys};
use crate::policy::outcome::{Grant, Outcome, Reason};
use serde::Deserialize;
use std::cell::{OnceCell, RefCell};
use tollgate_common::request::{Request, RequestSource};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "raw::RawRequirement")]
pub enum Requirement {
    /// A known API key; with `allowed_clients`, one of those clients.
    ApiKey {
        allowed_clients: Option<Vec<String>>,
    },
    /// Valid HTTP Basic credentials.
    Basic,
    /// A JWT of the named provider; `audiences` replace the provider's.
    Jwt {
        provider: String,
        audiences: Option<Vec<String>>,
    },
    /// The first child that succeeds; when none does, the first failure
    /// (a bad credential outranks a missing one).
    Any(Group),
    /// Every child; stops at the first that does not succeed.
    All(Group),
    /// Passes when the request carries no credential for any configured
    /// method; a credential that is present must be valid.
    AllowMissing,
    /// Always passes; the identity is set only when a credential is valid.
    AllowMissingOrFailed,
    /// The external authorization service allows. Not a credential:
    /// `allow_missing*` never consult it.
    ExtAuthz,
    /// Nothing is required and nothing is checked: `{}`, or a rule without
    /// `requires` (jwt_authn's empty `JwtRequirement`). No identity is set.
    NotRequired,
}

/// The children of `requires_any` / `requires_all`, and the field they were
/// written under (for error paths): `requires_any`, or
/// `requires_any.requirements` in jwt_authn's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub children: Vec<Requirement>,
    pub field: &'static str,
}

impl std::ops::Deref for Group {
    type Target = [Requirement];
    fn deref(&self) -> &[Requirement] {
        &self.children
    }
}

mod ext;
mod raw;

/// A requirement node's identity within one evaluation: its address (the
/// tree is borrowed from the configuration for the whole request).
fn node_id(r: &Requirement) -> usize {
    std::ptr::from_ref(r) as usize
}

pub use ext::{uses_ext_authz, Checked};

/// What the service's leaf yields before its answer is known (tests and
/// evaluation without the glue).
pub const EXT_AUTHZ_DENIED: &str = "denied by the authorization service";

/// The configured methods a requirement can use.
#[derive(Clone, Copy)]
pub struct Methods<'a> {
    pub api_key: Option<&'a ApiKeyConfig>,
    pub basic: Option<&'a BasicConfig>,
    pub jwt: Option<&'a JwtConfig>,
}

/// Evaluates requirements for one request. Each method checks the request
/// at most once, however often the tree names it.
pub struct Evaluator<'a, S> {
    methods: Methods<'a>,
    req: &'a Request<S>,
    store: &'a dyn Store,
    api_key: OnceCell<Option<Result<String, ()>>>,
    basic: OnceCell<Check>,
    jwt: JwtState<'a>,
    ext_authz: RefCell<Option<Outcome>>,
}

impl<'a, S: RequestSource> Evaluator<'a, S> {
    pub fn new(methods: Methods<'a>, req: &'a Request<S>, store: &'a dyn Store) -> Self {
        Evaluator {
            methods,
            req,
            store,
            api_key: OnceCell::new(),
            basic: OnceCell::new(),
            jwt: JwtState::new(&NoKeys),
            ext_authz: RefCell::new(None),
        }
    }

    /// Remote JWT key sets (the glue's; none by default).
    pub fn with_keys(mut self, keys: &'a dyn KeySets) -> Self {
        self.jwt = JwtState::new(keys);
        self
    }

    /// The JWT checks that ran (cache counters, key sets to wait for).
    pub fn jwt_state(&self) -> &JwtState<'a> {
        &self.jwt
    }

    /// The Basic check, if one ran (for the cache counters).
    pub fn basic_check(&self) -> Option<&Check> {
        self.basic.get()
    }

    pub fn eval(&self, r: &Requirement) -> Outcome {
        match r {
            Requirement::ApiKey { allowed_clients } => self.api_key(allowed_clients.as_deref()),
            Requirement::Basic => self.basic(),
            Requirement::Jwt {
                provider,
                audiences,
            } => match self.methods.jwt {
                // As jwt_authn: a preflight carries no credentials.
                Some(j) if j.bypass_cors_preflight && cors_preflight(self.req) => {
                    Outcome::Granted(Grant::default())
                }
                Some(j) => match j.variant(provider, audiences.as_deref()) {
                    Some(v) => self.jwt.eval(j, v, node_id(r), self.req, self.store),
                    None => Outcome::Denied(Reason::Invalid, "unknown JWT provider".into()),
                },
                None => Outcome::Denied(Reason::Invalid, "JWT is not configured".into()),
            },
            Requirement::NotRequired => Outcome::Granted(Grant::default()),
            Requirement::Any(children) => {
                let mut failure = None;
                for c in children.iter() {
                    match self.eval(c) {
                        Outcome::Granted(g) => return Outcome::Granted(g),
                        Outcome::Missing => {}
                        denied => {
                            failure.get_or_insert(denied);
                        }
                    }
                }
                failure.unwrap_or(Outcome::Missing)
            }
            Requirement::All(children) => {
                let mut grant = Grant::default();
                for c in children.iter() {
                    match self.eval(c) {
                        Outcome::Granted(g) => {
                            grant.identity = grant.identity.or(g.identity);
                            grant.headers.extend(g.headers);
                        }
                        other => return other,
                    }
                }
                Outcome::Granted(grant)
            }
            Requirement::ExtAuthz => self
                .ext_authz
                .borrow()
                .clone()
                .unwrap_or_else(|| Outcome::Denied(Reason::ExtAuthz, EXT_AUTHZ_DENIED.into())),
            Requirement::AllowMissing | Requirement::AllowMissingOrFailed => {
                let outcomes = self.every_method(node_id(r));
                let granted = outcomes
                    .iter()
                    .find(|o| matches!(o, Outcome::Granted(_)))
                    .cloned();
                let denied = outcomes
                    .into_iter()
                    .find(|o| matches!(o, Outcome::Denied(..)));
                match (r, denied, granted) {
                    (Requirement::AllowMissing, Some(d), _) => d,
                    (_, _, Some(g)) => g,
                    _ => Outcome::Granted(Grant::default()),
                }
            }
        }
    }

    /// Every configured method, unrestricted.
    fn every_method(&self, node: usize) -> Vec<Outcome> {
        let mut out = Vec::new();
        if self.methods.api_key.is_some() {
            out.push(self.api_key(None));
        }
        if self.methods.basic.is_some() {
            out.push(self.basic());
        }
        if let Some(j) = self.methods.jwt {
            for v in 0..j.names.len() {
                out.push(self.jwt.eval(j, v, node, self.req, self.store));
            }
        }
        out
    }

    fn api_key(&self, allowed: Option<&[String]>) -> Outcome {
        let Some(config) = self.methods.api_key else {
            return Outcome::Denied(Reason::Invalid, "API keys are not configured".into());
        };
        let result = self.api_key.get_or_init(|| {
            let key = config.extract(self.req)?;
            Some(config.identify(&key).map(str::to_string).ok_or(()))
        });
        match result {
            None => Outcome::Missing,
            Some(Err(())) => Outcome::Denied(Reason::Invalid, "unknown API key".into()),
            Some(Ok(client)) => {
                if allowed.is_some_and(|a| !a.iter().any(|c| c == client)) {
                    return Outcome::Denied(
                        Reason::Forbidden,
                        format!("client {client:?} is not allowed here"),
                    );
                }
                let headers = config
                    .forwarding
                    .header
                    .iter()
                    .map(|h| (h.as_str().to_string(), client.clone()))
                    .collect();
                Outcome::Granted(Grant {
                    identity: Some(client.clone()),
                    headers,
                })
            }
        }
    }

    fn basic(&self) -> Outcome {
        let Some(config) = self.methods.basic else {
            return Outcome::Denied(Reason::Invalid, "HTTP Basic is not configured".into());
        };
        match self
            .basic
            .get_or_init(|| config.check(self.req, self.store))
        {
            Check::Missing => Outcome::Missing,
            Check::Malformed(why) => Outcome::Denied(
                Reason::Invalid,
                format!("malformed Basic credentials: {why}"),
            ),
            Check::Rejected => {
                Outcome::Denied(Reason::Invalid, "wrong user name or password".into())
            }
            Check::LockedOut { retry_after } => Outcome::Denied(
                Reason::LockedOut(*retry_after),
                "too many failed attempts; try again later".into(),
            ),
            Check::Verified { user, .. } => {
                let headers = config
                    .forward_username_header
                    .iter()
                    .map(|h| (h.as_str().to_string(), user.clone()))
                    .collect();
                Outcome::Granted(Grant {
                    identity: Some(user.clone()),
                    headers,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;

/// A CORS preflight as Envoy tells one: `OPTIONS` with a non-empty `origin`
/// and `access-control-request-method`.
fn cors_preflight<S: RequestSource>(req: &Request<S>) -> bool {
    let present = |h: &str| req.header(h).is_some_and(|v| !v.is_empty());
    req.header(":method").as_deref() == Some("OPTIONS")
        && present("origin")
        && present("access-control-request-method")
}
