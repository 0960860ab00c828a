//! Why a token was refused: a stable short reason (JSON body `reason`, stats
//! names) and a fixed detail for logs. Details are `&'static str` on purpose:
//! nothing a client sent is ever echoed back or logged through them.

use std::fmt;

/// The stable reasons. `as_str` values never change: operators alert on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No token in any configured location.
    Missing,
    /// The token is longer than [`super::MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not a compact JWS with canonical base64url parts and JSON objects, a
    /// duplicated JSON key, a `crit` header, a claim of the wrong type.
    Malformed,
    /// `alg` is `none`, unknown or unsupported, not allowed by the key the
    /// `kid` names, or `HS256` without a configured secret.
    AlgNotAllowed,
    /// The `kid` names no key in the JWKS (the glue may re-fetch a remote
    /// JWKS once, rate limited).
    UnknownKid,
    /// The signature does not verify with any candidate key.
    BadSignature,
    /// `exp` is in the past (beyond the clock skew).
    Expired,
    /// No `exp` while `require_expiration` or `max_lifetime` is set.
    MissingExp,
    /// `nbf` or `iat` is in the future (beyond the clock skew).
    NotYetValid,
    /// `exp` is further from now than `max_lifetime`.
    LifetimeTooLong,
    /// `iss` differs from the provider's `issuer`.
    BadIssuer,
    /// No `aud` is in the provider's `audiences`: authenticated but not for
    /// this service, hence 403.
    BadAudience,
    /// `sub` does not satisfy the provider's `subjects` matcher.
    BadSubject,
}

impl Reason {
    pub const ALL: [Reason; 13] = [
        Reason::Missing,
        Reason::TooLarge,
        Reason::Malformed,
        Reason::AlgNotAllowed,
        Reason::UnknownKid,
        Reason::BadSignature,
        Reason::Expired,
        Reason::MissingExp,
        Reason::NotYetValid,
        Reason::LifetimeTooLong,
        Reason::BadIssuer,
        Reason::BadAudience,
        Reason::BadSubject,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::TooLarge => "too_large",
            Reason::Malformed => "malformed",
            Reason::AlgNotAllowed => "alg_not_allowed",
            Reason::UnknownKid => "unknown_kid",
            Reason::BadSignature => "bad_signature",
            Reason::Expired => "expired",
            Reason::MissingExp => "missing_exp",
            Reason::NotYetValid => "not_yet_valid",
            Reason::LifetimeTooLong => "lifetime_too_long",
            Reason::BadIssuer => "bad_issuer",
            Reason::BadAudience => "bad_audience",
            Reason::BadSubject => "bad_subject",
        }
    }

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
        f.write_str(self.as_str())
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
