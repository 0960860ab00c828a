//! Choosing the key and checking the signature. The key must allow the
//! token's `alg` by type (RS*/PS* an RSA key, ES256 P-256, ES384 P-384, EdDSA
//! Ed25519) and by its own `alg` when it has one; HS256 uses only the
//! provider's `local_hmac_secret`. So an HS256 token "signed" with the RSA
//! public key is refused: no RSA key ever serves as an HMAC secret.

use super::alg::Alg;
use super::error::{JwtError, Reason};
use super::jwks::{Jwk, Jwks, PublicKey};
use super::provider::HmacSecret;
use super::rsa_pkcs1;
use super::token::Token;
use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::signature::Verifier;
use rsa::pss::Pss;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A token without `kid` is tried against at most this many keys that allow
/// its `alg` (in JWKS order), so a kid-less forgery costs a bounded number of
/// RSA operations however large the key set.
pub const MAX_KIDLESS_CANDIDATES: usize = 4;

/// Checks the signature of `token` with the keys the provider allows.
pub fn check(token: &Token<'_>, jwks: &Jwks, secret: Option<&HmacSecret>) -> Result<(), JwtError> {
    let alg = token.header.alg;
    let input = token.signing_input.as_bytes();
    let sig = token.signature.as_slice();
    if alg == Alg::Hs256 {
        let Some(secret) = secret else {
            return Err(JwtError::new(
                Reason::AlgNotAllowed,
                "HS256 without a configured local_hmac_secret",
            ));
        };
        return hs256(&secret.0, input, sig);
    }
    let verified = match &token.header.kid {
        Some(kid) => {
            let mut named = jwks
                .keys()
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .peekable();
            if named.peek().is_none() {
                return Err(JwtError::new(Reason::UnknownKid, "kid names no key"));
            }
            try_keys(named.filter(|k| k.allows(alg)), alg, input, sig).ok_or(JwtError::new(
                Reason::AlgNotAllowed,
                "the key named by kid does not allow alg",
            ))?
        }
        None => try_keys(
            jwks.keys()
                .iter()
                .filter(|k| k.allows(alg))
                .take(MAX_KIDLESS_CANDIDATES),
            alg,
            input,
            sig,
        )
        .ok_or(JwtError::new(Reason::AlgNotAllowed, "no key allows alg"))?,
    };
    if verified {
        Ok(())
    } else {
        Err(JwtError::new(
            Reason::BadSignature,
            "signature does not verify",
        ))
    }
}

/// None when there was no candidate; else whether one verified.
fn try_keys<'a>(
    keys: impl Iterator<Item = &'a Jwk>,
    alg: Alg,
    input: &[u8],
    sig: &[u8],
) -> Option<bool> {
    let mut any = false;
    for k in keys {
        any = true;
        if verify_with(alg, &k.key, input, sig) {
            return Some(true);
        }
    }
    any.then_some(false)
}

/// One signature check; false on any mismatch, wrong length or wrong key type.
pub fn verify_with(alg: Alg, key: &PublicKey, input: &[u8], sig: &[u8]) -> bool {
    match (alg, key) {
        // PKCS#1 v1.5 through our own verifier (rsa_pkcs1: the same key and
        // arithmetic, a cheaper exponentiation).
        (Alg::Rs256, PublicKey::Rsa(k)) => {
            rsa_pkcs1::verify(k, &rsa_pkcs1::SHA256_PREFIX, &Sha256::digest(input), sig)
        }
        (Alg::Rs384, PublicKey::Rsa(k)) => {
            rsa_pkcs1::verify(k, &rsa_pkcs1::SHA384_PREFIX, &Sha384::digest(input), sig)
        }
        (Alg::Rs512, PublicKey::Rsa(k)) => {
            rsa_pkcs1::verify(k, &rsa_pkcs1::SHA512_PREFIX, &Sha512::digest(input), sig)
        }
        // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash.
        (Alg::Ps256, PublicKey::Rsa(k)) => k
            .verify(Pss::<Sha256>::new(), &Sha256::digest(input), sig)
            .is_ok(),
        (Alg::Ps384, PublicKey::Rsa(k)) => k
            .verify(Pss::<Sha384>::new(), &Sha384::digest(input), sig)
            .is_ok(),
        (Alg::Ps512, PublicKey::Rsa(k)) => k
            .verify(Pss::<Sha512>::new(), &Sha512::digest(input), sig)
            .is_ok(),
        // JWS ECDSA signatures are r || s of fixed length (not DER).
        (Alg::Es256, PublicKey::P256(k)) => {
            p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(input, &s).is_ok())
        }
        (Alg::Es384, PublicKey::P384(k)) => {
            p384::ecdsa::Signature::from_slice(sig).is_ok_and(|s| k.verify(input, &s).is_ok())
        }
        // verify_strict also refuses non-canonical and small-order points.
        (Alg::EdDsa, PublicKey::Ed25519(k)) => ed25519_dalek::Signature::from_slice(sig)
            .is_ok_and(|s| k.verify_strict(input, &s).is_ok()),
        _ => false,
    }
}

/// HMAC-SHA256; `verify_slice` compares in constant time (subtle).
fn hs256(secret: &[u8], input: &[u8], sig: &[u8]) -> Result<(), JwtError> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| JwtError::new(Reason::AlgNotAllowed, "unusable HMAC secret"))?;
    mac.update(input);
    mac.verify_slice(sig)
        .map_err(|_| JwtError::new(Reason::BadSignature, "signature does not verify"))
}
