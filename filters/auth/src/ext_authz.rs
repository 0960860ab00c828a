//! External authorization, as Envoy's ext_authz filter with an
//! `http_service`: the filter asks an HTTP service about each request and
//! lets it through on a 200 (only: as in Envoy, any other answer below 500
//! is a denial), passes the service's denial to the client, and applies `failure_mode_allow` / `status_on_error` when the
//! service fails (5xx, unreachable, past `timeout`, garbage).
//!
//! Plain Rust, no proxy-wasm calls: [`config`] (the `ext_authz` block),
//! [`check`] (the request to send), [`verdict`] (the answer's meaning).
//!
//! # Glue plan (not wired yet)
//!
//! What `lib.rs`, `config.rs`, `requirement.rs` and `decide.rs` must do;
//! nothing is left to decide.
//!
//! 1. **Configuration.** `config.rs`: `ext_authz: Option<ext_authz::ExtAuthzConfig>`
//!    in `RawConfig` and `Config` (serde parses it in place; field paths come
//!    out as `ext_authz.http_service.server_uri.uri: ...`).
//! 2. **Requirement leaf** `{"ext_authz": {}}`: `RawRequirement` gets
//!    `ext_authz: Option<Empty>` → `Requirement::ExtAuthz` (add it to the
//!    "exactly one of" message). `config::check`: without the top-level
//!    block, `{path}.ext_authz: needs the top-level ext_authz configuration`.
//!    `Reason::ExtAuthz`: the service denied, or failed closed; its reply is
//!    the [`verdict::Denial`], not one of the project's 401/403. The leaf is
//!    not a credential: `allow_missing` / `allow_missing_or_failed` never
//!    consult it (`every_method` unchanged), and it adds no
//!    `WWW-Authenticate` challenge (`uses` ignores it).
//! 3. **Does the request need the call?** The `Evaluator` gets a settable
//!    leaf outcome (`RefCell<Option<Outcome>>`). When the chosen requirement
//!    contains the leaf, evaluate it twice on the same evaluator (so each
//!    credential is checked once): leaf = `Granted(Grant::default())` and
//!    leaf = `Denied(Reason::ExtAuthz, ..)`. Equal outcomes: decide now, no
//!    call (`requires_all: [api_key, ext_authz]` without a key is a 401 that
//!    costs the service nothing). Otherwise `decide` returns a new
//!    `Decision::AskExtAuthz`, a sibling of the JWKS `Decision::Wait`, and
//!    `flow.rs` re-decides when the answer comes, as it does after a JWKS
//!    fetch, with the leaf's outcome set. Unlike a JWT check, a Basic check
//!    has side effects: carry the per-method results across the pause as an
//!    owned value (or skip re-running methods already checked), so a wrong
//!    password counts once toward the lockout and cache counters count once.
//!    JWKS waits come first: ask the service only once the rest of the tree
//!    can be evaluated.
//! 4. **Dispatch** (in `on_http_request_headers`):
//!    `let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).unwrap_or_default();`
//!    `let check = check::build(cfg, &req, &headers, &config.reserved_headers());`
//!    `hostcalls::dispatch_http_call(&check.cluster, check.header_pairs(), None, vec![], check.timeout)`.
//!    `Ok(token)`: keep `pending_ext_authz = Some(token)`, return
//!    `Action::Pause`; `on_http_request_body` returns `Action::Pause` while
//!    it is pending (as the ratelimit filter's `filter.rs`). `Err(status)`:
//!    `verdict::failure(cfg, format!("call not sent: {status:?}"))`, decided
//!    at once, nothing to resume.
//! 5. **Answer** (`Context::on_http_call_response(token, _, body_size, _)`):
//!    ignore a token other than `pending_ext_authz` (JWKS fetches share this
//!    callback); clear it. Headers with
//!    `hostcalls::get_map_bytes(MapType::HttpCallResponseHeaders).unwrap_or_default()`
//!    (never `get_map`: it panics on a value that is not UTF-8), body with
//!    `hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size.min(verdict::MAX_BODY + 1))`
//!    `.ok().flatten().unwrap_or_default()`, then
//!    `verdict::interpret(cfg, &headers, &body)`. Envoy calls back with no
//!    headers when the call failed or timed out: `interpret` reports that as
//!    a failure. Count `verdict.event().counters()`; `log::warn!` the
//!    `failure` reason when there is one.
//! 6. **Leaf outcome and final decision.** `Verdict::Allow(mut a)`: the
//!    leaf is `Granted(Grant { identity: a.take_header(identity_header), headers: vec![] })`,
//!    after `a.take_header(h)` (discarded) for every other reserved header.
//!    `Verdict::Deny(d)`: the leaf is `Denied(Reason::ExtAuthz, "denied by
//!    the authorization service")`, `d` kept. Re-evaluate with the leaf set
//!    and the carried method results, then:
//!    - Allow: the tree's edits as today, then `a.apply(&mut HostHeaders::request())`
//!      whenever the verdict was `Allow` (set, append, remove; reserved
//!      names already taken out); keep `a.client_headers_on_success`;
//!      `hostcalls::resume_http_request()`.
//!    - Deny with `Reason::ExtAuthz`:
//!      `hostcalls::send_http_response(d.status, d.header_pairs(), Some(&d.body))`
//!      (the service's reply as is); no resume; drop the kept headers.
//!    - Deny for another reason: `host::send_reply` as today; no resume.
//! 7. **Response.** `on_http_response_headers`: add each
//!    `client_headers_on_success` pair with `HostHeaders::response().add`,
//!    then clear the list, and never when the filter answered itself (a
//!    local reply passes back through this callback).
//! 8. **Stats** (`tollgate.auth.`): [`Stat`] per call as
//!    `Event::counters` says, plus `denied.ext_authz` for requests refused by
//!    `Reason::ExtAuthz` (besides `denied`, as for the other reasons).
//!
//! The traffic tests run `tollgate_tests::authz::AuthzServer`
//! (`tests/src/authz.rs`) as the service; `server.cluster("authz")` is its
//! Envoy cluster.

pub mod check;
pub mod config;
pub mod headers;
pub mod verdict;

pub use check::CheckRequest;
pub use config::ExtAuthzConfig;
pub use verdict::{Allow, Denial, Event, Verdict};

tollgate_common::counters! {
    /// The service's calls, counted under the auth filter's `tollgate.auth.`.
    pub enum Stat under "tollgate.auth." {
        /// The service allowed (200).
        Allowed = "ext_authz_allowed",
        /// The service denied (3xx, 4xx).
        Denied = "ext_authz_denied",
        /// The call failed: 5xx, unreachable, timed out, unusable answer, not sent.
        Errors = "ext_authz_errors",
        /// Failed calls whose request `failure_mode_allow` let through.
        FailureModeAllowed = "ext_authz_failure_mode_allowed",
    }
}
