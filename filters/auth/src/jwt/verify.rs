//! The whole check of one token for one provider: structure, key and
//! signature, then claims. Time is the caller's `now` (Unix seconds), never
//! read here.

use super::error::{JwtError, Reason};
use super::jwks::Jwks;
use super::provider::JwtProvider;
use super::signature;
use super::token;
use serde_json::{Map, Value};

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: Map<String, Value>,
    /// The provider's `identity_claim` (default `sub`) as text, when present
    /// and a string, number or boolean.
    pub identity: Option<String>,
    /// `exp`, when present: a cache of verified tokens must drop the entry
    /// by then.
    pub exp: Option<u64>,
    /// The payload part as sent, for `forward_payload_header` (Envoy
    /// forwards exactly this base64url text).
    pub payload_segment: String,
}

/// Verifies `token` for `provider` with `jwks` (the provider's local set, or
/// the remote set the glue fetched; an empty set when there is none yet) at
/// `now`.
pub fn verify(
    token: &str,
    provider: &JwtProvider,
    jwks: &Jwks,
    now: u64,
) -> Result<Verified, JwtError> {
    let decoded = token::decode(token)?;
    signature::check(&decoded, jwks, provider.local_hmac_secret.as_ref())?;
    let claims = decoded.claims()?;
    let exp = check_claims(&claims, provider, now)?;
    Ok(Verified {
        identity: claim_text(&claims, &provider.identity_claim),
        exp,
        payload_segment: decoded.payload_segment.to_string(),
        claims,
    })
}

/// The checks that need no key, for a provider whose remote key set is not
/// here yet: the token's structure, and its `iss` (read unverified, as
/// Envoy's jwt_authn does before fetching) against the provider's `issuer`.
/// So a token meant for another issuer, or no token at all, neither waits
/// for nor fetches this provider's keys. None: the keys are needed.
pub fn refused_without_keys(token: &str, provider: &JwtProvider) -> Option<JwtError> {
    let decoded = match token::decode(token) {
        Ok(d) => d,
        Err(e) => return Some(e),
    };
    provider.issuer.as_ref()?;
    match decoded.claims() {
        Ok(claims) => check_issuer(&claims, provider).err(),
        Err(e) => Some(e),
    }
}

/// The token's `iss` against the provider's `issuer`, when it has one.
fn check_issuer(claims: &Map<String, Value>, provider: &JwtProvider) -> Result<(), JwtError> {
    match &provider.issuer {
        Some(issuer) if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) => Err(
            JwtError::new(Reason::BadIssuer, "iss is not the provider's issuer"),
        ),
        _ => Ok(()),
    }
}

/// Checks times, issuer, audience and subject; returns `exp`.
pub fn check_claims(
    claims: &Map<String, Value>,
    provider: &JwtProvider,
    now: u64,
) -> Result<Option<u64>, JwtError> {
    let skew = u64::from(provider.clock_skew_seconds);
    let exp = numeric_date(claims, "exp")?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    match exp {
        // RFC 7519 4.1.4: valid only before exp (plus the skew).
        Some(exp) if now >= exp.saturating_add(skew) => {
            return Err(JwtError::new(Reason::Expired, "exp is past"));
        }
        Some(exp) => {
            if let Some(max) = provider.max_lifetime {
                if exp.saturating_sub(now) > max.as_secs() {
                    return Err(JwtError::new(
                        Reason::LifetimeTooLong,
                        "exp is beyond max_lifetime",
                    ));
                }
            }
        }
        None if provider.require_expiration || provider.max_lifetime.is_some() => {
            return Err(JwtError::new(Reason::MissingExp, "no exp"));
        }
        None => {}
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
        return Err(JwtError::new(Reason::NotYetValid, "nbf is in the future"));
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(skew)) {
        return Err(JwtError::new(Reason::NotYetValid, "iat is in the future"));
    }
    check_issuer(claims, provider)?;
    if !provider.audiences.is_empty() {
        let allowed = |a: &str| provider.audiences.iter().any(|x| x == a);
        let ok = match claims.get("aud") {
            None => false,
            Some(Value::String(a)) => allowed(a),
            Some(Value::Array(list)) => {
                let mut ok = false;
                for a in list {
                    ok |= allowed(a.as_str().ok_or(JwtError::malformed(
                        "aud is not a string or list of strings",
                    ))?);
                }
                ok
            }
            Some(_) => {
                return Err(JwtError::malformed(
                    "aud is not a string or list of strings",
                ))
            }
        };
        if !ok {
            return Err(JwtError::new(Reason::BadAudience, "no aud is allowed"));
        }
    }
    if let Some(subjects) = &provider.subjects {
        if !claims
            .get("sub")
            .and_then(Value::as_str)
            .is_some_and(|s| subjects.matches(s))
        {
            return Err(JwtError::new(Reason::BadSubject, "sub is not allowed"));
        }
    }
    Ok(exp)
}

/// A NumericDate claim (RFC 7519 2): a non-negative number of seconds. A
/// fraction is dropped; a negative, non-number or larger than 2^53 value
/// (`1e300`) is malformed.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, JwtError> {
    let bad = || {
        JwtError::malformed(match name {
            "exp" => "exp is not a NumericDate",
            "nbf" => "nbf is not a NumericDate",
            _ => "iat is not a NumericDate",
        })
    };
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            match n.as_f64() {
                Some(f) if (0.0..=MAX_EXACT).contains(&f) => Ok(Some(f.floor() as u64)),
                _ => Err(bad()),
            }
        }
        Some(_) => Err(bad()),
    }
}

/// A claim as header text, as Envoy's `claim_to_headers` does: strings as
/// they are, numbers and booleans as JSON writes them; objects, arrays and
/// null give None, and so does text with CR, LF or NUL. `name` is tried as one key first, then as a dotted path
/// into objects (`org.team.name`), so claims named by URLs still work.
pub fn claim_text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    let text = match claim(claims, name)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    // Never a value that would split a header line.
    tollgate_common::syntax::safe_value(&text).then_some(text)
}

/// The claim `name` (one key, else a dotted path into objects).
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    match claims.get(name) {
        Some(v) => Some(v),
        None => {
            let mut parts = name.split('.');
            let first = claims.get(parts.next()?)?;
            parts.try_fold(first, |v, p| v.as_object()?.get(p))
        }
    }
}

/// A claim as the value of a `claim_to_headers` header, as Envoy's jwt_authn
/// writes it (the twin compares them): strings as they are, whole numbers
/// as integers and others with six decimals (C's `%f`), booleans as
/// `true`/`false`, objects and arrays as standard base64 of their compact
/// JSON; an empty string, null or unsafe text gives no header.
pub fn claim_header(claims: &Map<String, Value>, name: &str) -> Option<String> {
    use base64::Engine;
    let text = match claim(claims, name)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
            (_, _, Some(f)) => format!("{f:.6}"),
            _ => return None,
        },
        Value::Bool(b) => b.to_string(),
        v @ (Value::Object(_) | Value::Array(_)) => {
            base64::engine::general_purpose::STANDARD.encode(v.to_string())
        }
        Value::Null => return None,
    };
    (!text.is_empty() && tollgate_common::syntax::safe_value(&text)).then_some(text)
}
