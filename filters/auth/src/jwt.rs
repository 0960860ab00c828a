//! JWT verification core of the auth filter, in Envoy jwt_authn's vocabulary.
//! Pure Rust, no proxy-wasm calls: the glue extracts, verifies, and acts on
//! the result.
//!
//! ```text
//! let provider: JwtProvider = ...;            // from the filter configuration
//! let jwks = provider.local_jwks()            // or the remote set the glue fetched
//!     .unwrap_or(&EMPTY);
//! match jwt::extract(&request, &provider.locations) {
//!     None => deny(Reason::Missing),          // 401, WWW-Authenticate: Bearer realm=".."
//!     Some(found) => match jwt::verify(&found.token, &provider, jwks, now_secs) {
//!         Ok(verified) => allow(verified.identity, verified.claims, ...),
//!         Err(e) => deny(e.reason),           // e.reason.status(): 401, or 403 for bad_audience
//!     },
//! }
//! ```
//!
//! Modules: [`provider`] (configuration), [`sources`] (local and remote key
//! sources, HS256 secret), [`jwks`] (key sets), [`token`]
//! (compact JWS decoding), [`signature`] (key choice and signature),
//! [`verify`] (claims, and the whole check), [`extract`] (finding the token),
//! [`error`] (stable reasons).

pub mod alg;
pub mod config;
pub mod error;
pub mod extract;
pub mod hide;
pub mod jwks;
pub mod jwks_store;
pub mod leaf;
pub mod provider;
pub mod rsa_pkcs1;
pub mod signature;
pub mod sources;
pub mod strict_json;
pub mod token;
pub mod token_cache;
pub mod verify;

#[cfg(test)]
mod tests;

pub use alg::Alg;
pub use error::{JwtError, Reason};
pub use extract::{extract, Extracted};
pub use jwks::{Jwk, Jwks, PublicKey, SkippedKey};
pub use provider::{JwksSource, JwtProvider, Location, RemoteJwks};
pub use token::MAX_TOKEN_BYTES;
pub use verify::{claim_header, claim_text, refused_without_keys, verify, Verified};

impl JwtProvider {
    /// The key set of `local_jwks`, if that is the provider's source.
    pub fn local_jwks(&self) -> Option<&Jwks> {
        match &self.jwks {
            JwksSource::Local(l) => Some(&l.jwks),
            _ => None,
        }
    }
}

/// The `WWW-Authenticate` value of a 401 for this provider (RFC 6750 3):
/// `Bearer realm="<realm>"`, plus `, error="invalid_token"` unless the token
/// was missing. `realm` must not contain `"` or `\` (the glue's configured
/// realm; quotes are dropped here to keep the header well-formed).
pub fn www_authenticate(realm: &str, reason: Reason) -> String {
    let realm: String = realm
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n' | '\0'))
        .collect();
    match reason.bearer_error() {
        Some(error) => format!("Bearer realm=\"{realm}\", error=\"{error}\""),
        None => format!("Bearer realm=\"{realm}\""),
    }
}
