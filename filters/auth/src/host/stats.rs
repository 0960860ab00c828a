//! Counters under `tollgate.auth.` (read at Envoy's admin `/stats` as
//! `wasmcustom.tollgate.auth.*`).

use crate::policy::decide::Counts;
use crate::ext_authz;
use crate::jwt;
use crate::policy::requirement::Reason;
use tollgate_common::host::Counter;

#[derive(Clone, Copy, Default)]
pub(crate) struct Stats {
    pub allowed: Counter,
    pub denied: Counter,
    denied_missing: Counter,
    denied_invalid: Counter,
    denied_forbidden: Counter,
    denied_locked_out: Counter,
    denied_bad_request: Counter,
    ambiguous_paths: Counter,
    denied_unavailable: Counter,
    denied_ext_authz: Counter,
    /// The service's calls, in the order of [`ext_authz::stats::ALL`].
    ext_authz: [Counter; 4],
    /// `denied.jwt.<reason>`, in the order of [`jwt::Reason::ALL`].
    denied_jwt: [Counter; 13],
    cache_hits: Counter,
    cache_misses: Counter,
    jwt_cache_hits: Counter,
    jwt_cache_misses: Counter,
    pub jwks_fetches: Counter,
    pub jwks_fetch_failures: Counter,
}

impl Stats {
    pub(crate) fn define() -> Stats {
        let c = |n: &str| Counter::define(&format!("tollgate.auth.{n}"));
        Stats {
            allowed: c("allowed"),
            denied: c("denied"),
            denied_missing: c("denied.missing"),
            denied_invalid: c("denied.invalid"),
            denied_forbidden: c("denied.forbidden"),
            denied_locked_out: c("denied.locked_out"),
            denied_bad_request: c("denied.bad_request"),
            ambiguous_paths: c("ambiguous_paths"),
            denied_unavailable: c("denied.unavailable"),
            denied_ext_authz: c("denied.ext_authz"),
            ext_authz: ext_authz::stats::ALL.map(Counter::define),
            denied_jwt: jwt::Reason::ALL.map(|r| c(&format!("denied.jwt.{r}"))),
            cache_hits: c("cache_hits"),
            cache_misses: c("cache_misses"),
            jwt_cache_hits: c("jwt_cache_hits"),
            jwt_cache_misses: c("jwt_cache_misses"),
            jwks_fetches: c("jwks_fetches"),
            jwks_fetch_failures: c("jwks_fetch_failures"),
        }
    }

    pub(crate) fn count(&self, counts: Counts) {
        self.cache_hits.add(counts.cache_hits);
        self.cache_misses.add(counts.cache_misses);
        self.jwt_cache_hits.add(counts.jwt_cache_hits);
        self.jwt_cache_misses.add(counts.jwt_cache_misses);
    }

    /// Counts a denial: `denied`, its reason, and a JWT's own reason.
    pub(crate) fn deny(&self, reason: Reason) {
        self.denied.inc();
        let generic = match reason {
            Reason::Missing => self.denied_missing,
            Reason::Invalid => self.denied_invalid,
            Reason::Forbidden => self.denied_forbidden,
            Reason::LockedOut(_) => self.denied_locked_out,
            Reason::BadRequest => self.denied_bad_request,
            Reason::AmbiguousPath => self.ambiguous_paths,
            Reason::Unavailable => self.denied_unavailable,
            Reason::ExtAuthz => self.denied_ext_authz,
            Reason::Jwt(r) if r.status() == 403 => self.denied_forbidden,
            Reason::Jwt(_) => self.denied_invalid,
        };
        generic.inc();
        if let Reason::Jwt(r) = reason {
            let i = jwt::Reason::ALL.iter().position(|x| *x == r);
            if let Some(c) = i.and_then(|i| self.denied_jwt.get(i)) {
                c.inc();
            }
        }
    }

    /// Counts one answer (or failure) of the authorization service.
    pub(crate) fn ext_authz(&self, event: ext_authz::Event) {
        for name in event.counters() {
            let i = ext_authz::stats::ALL.iter().position(|n| n == name);
            if let Some(c) = i.and_then(|i| self.ext_authz.get(i)) {
                c.inc();
            }
        }
    }
}
