//! Counters under `tollgate.auth.` (read at Envoy's admin `/stats` as
//! `wasmcustom.tollgate.auth.*`).

use crate::ext_authz;
use crate::jwt;
use crate::policy::decide::Counts;
use crate::policy::outcome::Reason;
use tollgate_common::host::Counters;

tollgate_common::counters! {
    /// The auth filter's own counters (besides the service's and JWT's).
    pub enum Stat under "tollgate.auth." {
        Allowed = "allowed",
        Denied = "denied",
        DeniedMissing = "denied.missing",
        DeniedInvalid = "denied.invalid",
        DeniedForbidden = "denied.forbidden",
        DeniedLockedOut = "denied.locked_out",
        DeniedBadRequest = "denied.bad_request",
        AmbiguousPaths = "ambiguous_paths",
        DeniedUnavailable = "denied.unavailable",
        DeniedExtAuthz = "denied.ext_authz",
        CacheHits = "cache_hits",
        CacheMisses = "cache_misses",
        JwtCacheHits = "jwt_cache_hits",
        JwtCacheMisses = "jwt_cache_misses",
        JwksFetches = "jwks_fetches",
        JwksFetchFailures = "jwks_fetch_failures",
    }
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Stats {
    own: Counters<Stat>,
    ext_authz: Counters<ext_authz::Stat>,
    /// `denied.jwt.<reason>`.
    denied_jwt: Counters<jwt::Reason>,
}

impl Stats {
    pub(crate) fn define() -> Stats {
        Stats {
            own: Counters::define(),
            ext_authz: Counters::define(),
            denied_jwt: Counters::define(),
        }
    }

    pub(crate) fn inc(&self, stat: Stat) {
        self.own.inc(stat);
    }

    pub(crate) fn count(&self, counts: Counts) {
        self.own.add(Stat::CacheHits, counts.cache_hits);
        self.own.add(Stat::CacheMisses, counts.cache_misses);
        self.own.add(Stat::JwtCacheHits, counts.jwt_cache_hits);
        self.own.add(Stat::JwtCacheMisses, counts.jwt_cache_misses);
    }

    /// Counts a denial: `denied`, its reason, and a JWT's own reason.
    pub(crate) fn deny(&self, reason: Reason) {
        self.own.inc(Stat::Denied);
        self.own.inc(generic(reason));
        if let Reason::Jwt(r) = reason {
            self.denied_jwt.inc(r);
        }
    }

    /// Counts one answer (or failure) of the authorization service.
    pub(crate) fn ext_authz(&self, event: ext_authz::Event) {
        for stat in event.counters() {
            self.ext_authz.inc(*stat);
        }
    }
}

/// The counter of a denial's reason (a JWT's by its status).
fn generic(reason: Reason) -> Stat {
    match reason {
        Reason::Missing => Stat::DeniedMissing,
        Reason::Invalid => Stat::DeniedInvalid,
        Reason::Forbidden => Stat::DeniedForbidden,
        Reason::LockedOut(_) => Stat::DeniedLockedOut,
        Reason::BadRequest => Stat::DeniedBadRequest,
        Reason::AmbiguousPath => Stat::AmbiguousPaths,
        Reason::Unavailable => Stat::DeniedUnavailable,
        Reason::ExtAuthz => Stat::DeniedExtAuthz,
        Reason::Jwt(r) if r.status() == 403 => Stat::DeniedForbidden,
        Reason::Jwt(_) => Stat::DeniedInvalid,
    }
}

#[cfg(test)]
mod tests;
