//! The attack suite through a real Envoy (issue 8): forged and malformed
//! JWTs, guarded paths spelled every other way, credentials in odd
//! encodings, header injection through templates, spoofed identity
//! headers. Every attempt gets its documented status, and the tests check
//! with the echo upstream's record and Envoy's own `upstream_rq_total`
//! that no refused request reached the upstream.
//!
//! The classic JWT cases (`alg: none`, HS256 with the RSA public key, an
//! unknown `kid`, expired, future `nbf`, wrong `iss`/`aud`, 18 KB) are in
//! `auth_jwt.rs`; this suite adds the rest of the list.

mod common;
mod credentials;
mod injection;
mod jwt;
mod paths;
