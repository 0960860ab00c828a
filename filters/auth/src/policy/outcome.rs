//! What a requirement's leaves yield and why a request is refused: shared by
//! the requirement tree and the leaves (the JWT one lives in `jwt::leaf`), so
//! neither depends on the other for them.

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No credential (401).
    Missing,
    /// A bad credential (401).
    Invalid,
    /// Authenticated, not allowed here (403).
    Forbidden,
    /// Too many failures; seconds until the next try (429).
    LockedOut(u64),
    /// The request cannot be judged (400).
    BadRequest,
    /// The path has more than one reading and a rule has a path condition
    /// (400 `ambiguous_path`).
    AmbiguousPath,
    /// A bad JWT: 401, or 403 for `bad_audience`.
    Jwt(crate::jwt::Reason),
    /// A JWT provider's key set cannot be had (503).
    Unavailable,
    /// The authorization service denied, or failed closed: the reply is its
    /// own (`ext_authz::Denial`).
    ExtAuthz,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub identity: Option<String>,
    /// Upstream headers naming who was authenticated (forwarding headers).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Granted(Grant),
    Missing,
    Denied(Reason, String),
}
