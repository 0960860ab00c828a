use super::Stat;
use crate::{ext_authz, jwt};
use tollgate_common::counters::stat_names;

#[test]
fn every_counter_has_its_own_unchanged_name() {
    let mut names = stat_names::<Stat>();
    names.extend(stat_names::<ext_authz::Stat>());
    names.extend(stat_names::<jwt::Reason>());
    let expected = [
        "tollgate.auth.allowed",
        "tollgate.auth.denied",
        "tollgate.auth.denied.missing",
        "tollgate.auth.denied.invalid",
        "tollgate.auth.denied.forbidden",
        "tollgate.auth.denied.locked_out",
        "tollgate.auth.denied.bad_request",
        "tollgate.auth.ambiguous_paths",
        "tollgate.auth.denied.unavailable",
        "tollgate.auth.denied.ext_authz",
        "tollgate.auth.cache_hits",
        "tollgate.auth.cache_misses",
        "tollgate.auth.jwt_cache_hits",
        "tollgate.auth.jwt_cache_misses",
        "tollgate.auth.jwks_fetches",
        "tollgate.auth.jwks_fetch_failures",
        "tollgate.auth.ext_authz_allowed",
        "tollgate.auth.ext_authz_denied",
        "tollgate.auth.ext_authz_errors",
        "tollgate.auth.ext_authz_failure_mode_allowed",
        "tollgate.auth.denied.jwt.missing",
        "tollgate.auth.denied.jwt.too_large",
        "tollgate.auth.denied.jwt.malformed",
        "tollgate.auth.denied.jwt.alg_not_allowed",
        "tollgate.auth.denied.jwt.unknown_kid",
        "tollgate.auth.denied.jwt.bad_signature",
        "tollgate.auth.denied.jwt.expired",
        "tollgate.auth.denied.jwt.missing_exp",
        "tollgate.auth.denied.jwt.not_yet_valid",
        "tollgate.auth.denied.jwt.lifetime_too_long",
        "tollgate.auth.denied.jwt.bad_issuer",
        "tollgate.auth.denied.jwt.bad_audience",
        "tollgate.auth.denied.jwt.bad_subject",
    ];
    assert_eq!(names, expected);
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len());
}
