//! Why a token was refused: a stable short reason (JSON body `reason`, stats
//! names) and a fixed detail for logs. Details are `&'static str` on purpose:
//! nothing a client sent is ever echoed back or logged through them.

use std::fmt;

tollgate_common::counters! {
    /// The stable reasons. Names never change: operators alert on them
    /// (counters `tollgate.auth.denied.jwt.<name>`).
    pub enum Reason under "tollgate.auth.denied.jwt." {
        /// No token in any configured location.
        Missing = "missing",
        /// The token is longer than [`super::MAX_TOKEN_BYTES`].
        TooLarge = "too_large",
        /// Not a compact JWS with canonical base64url parts and JSON objects, a
        /// duplicated JSON key, a `crit` header, a claim of the wrong type.
        Malformed = "malformed",
        /// `alg` is `none`, unknown or unsupported, not allowed by the key the
        /// `kid` names, or `HS256` without a configured secret.
        AlgNotAllowed = "alg_not_allowed",
        /// The `kid` names no key in the JWKS (the glue may re-fetch a remote
        /// JWKS once, rate limited).
        UnknownKid = "unknown_kid",
        /// The signature does not verify with any candidate key.
        BadSignature = "bad_signature",
        /// `exp` is in the past (beyond the clock skew).
        Expired = "expired",
        /// No `exp` while `require_expiration` or `max_lifetime` is set.
        MissingExp = "missing_exp",
        /// `nbf` or `iat` is in the future (beyond the clock skew).
        NotYetValid = "not_yet_valid",
        /// `exp` is further from now than `max_lifetime`.
        LifetimeTooLong = "lifetime_too_long",
        /// `iss` differs from the provider's `issuer`.
        BadIssuer = "bad_issuer",
        /// No `aud` is in the provider's `audiences`: authenticated but not for
        /// this service, hence 403.
        BadAudience = "bad_audience",
        /// `sub` does not satisfy the provider's `subjects` matcher.
        BadSubject = "bad_subject",
    }
}

impl Reason {
    /// The HTTP status of the denial: 403 for an audience mismatch (as Envoy's
    /// jwt_authn), 401 for everything else.
    pub fn status(self) -> u32 {
        match self {
            Reason::BadAudience => 403,
            _ => 401,
        }
    }

    /// The RFC 6750 `error` attribute for `WWW-Authenticate: Bearer`: none
    /// when the token is missing, `invalid_token` otherwise (a 403 carries no
    /// challenge, so `BadAudience` has none either).
    pub fn bearer_error(self) -> Option<&'static str> {
        match self {
            Reason::Missing | Reason::BadAudience => None,
            _ => Some("invalid_token"),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused token: the reason and a fixed, client-independent detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtError {
    pub reason: Reason,
    pub detail: &'static str,
}

impl JwtError {
    pub const fn new(reason: Reason, detail: &'static str) -> JwtError {
        JwtError { reason, detail }
    }

    pub const fn malformed(detail: &'static str) -> JwtError {
        JwtError::new(Reason::Malformed, detail)
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for JwtError {}
