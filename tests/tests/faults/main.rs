//! The fault matrix through a real Envoy (issue 8): every dependency a
//! filter calls (the JWKS endpoint, the authorization service, the
//! rate-limit service) down, slower than its timeout, answering a 5xx,
//! answering garbage with a 200, answering a body larger than any sane
//! limit; and the upstream down and slow. Each case runs with the filter
//! failing closed and failing open where it has that choice, and asserts:
//!
//! - the client gets the configured status within the timeout plus
//!   [`common::MARGIN`], with a JSON body that says why;
//! - a request the filter refuses never reaches the upstream;
//! - the same VM serves the next good request, and Envoy stays up;
//! - the filter's counters count the failure;
//! - no wasm panic or VM failure in Envoy's log (the harness checks it
//!   when each Envoy stops).
//!
//! One Envoy serves each table, so the whole binary stays quick.

mod authz;
mod common;
mod jwks;
mod rls;
mod upstream;
