//! One request's filters, in chain order, and where the request stands.
//!
//! A filter that pauses the request (waiting for a key set, the
//! authorization service or the rate-limit service) later hands it back
//! through `host::resume_request`, which this module's VM defers: the chain
//! then runs the next filters and resumes the request itself once all of
//! them let it go on. A filter that answers the request itself also pauses
//! it, and nothing hands it back.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

/// Stage numbers, in request order.
pub const AUTH: usize = 0;
pub const RATELIMIT: usize = 1;
pub const HEADERS: usize = 2;
const STAGES: usize = 3;

pub struct Stages {
    pub auth: Option<tollgate_auth::Filter>,
    pub ratelimit: Option<tollgate_ratelimit::Filter>,
    pub headers: Option<tollgate_headers::Filter>,
    /// The stage the request is paused in, if it is.
    pub paused: Option<usize>,
}

impl Stages {
    fn request_headers(&mut self, stage: usize) -> Action {
        let filter: Option<&mut dyn HttpContext> = match stage {
            AUTH => self.auth.as_mut().map(|f| f as &mut dyn HttpContext),
            RATELIMIT => self.ratelimit.as_mut().map(|f| f as &mut dyn HttpContext),
            HEADERS => self.headers.as_mut().map(|f| f as &mut dyn HttpContext),
            _ => None,
        };
        filter.map_or(Action::Continue, |f| f.on_http_request_headers(0, false))
    }

    /// Runs the request's filters from stage `first` on, until one pauses.
    pub fn run_from(&mut self, first: usize) -> Action {
        for stage in first..STAGES {
            if let Action::Pause = self.request_headers(stage) {
                self.paused = Some(stage);
                return Action::Pause;
            }
        }
        self.paused = None;
        Action::Continue
    }

    /// The filters that have not seen the request yet, after a resume.
    pub fn resume(&mut self) -> Option<Action> {
        let stage = self.paused?;
        Some(self.run_from(stage + 1))
    }

    /// The response goes through the filters in reverse order, as through
    /// separate filters.
    pub fn response_headers(&mut self, headers: usize, end_of_stream: bool) {
        if let Some(f) = self.headers.as_mut() {
            f.on_http_response_headers(headers, end_of_stream);
        }
        if let Some(f) = self.ratelimit.as_mut() {
            f.on_http_response_headers(headers, end_of_stream);
        }
        if let Some(f) = self.auth.as_mut() {
            f.on_http_response_headers(headers, end_of_stream);
        }
    }

    /// Key set fetches and authorization checks are the auth filter's.
    pub fn http_call_response(&mut self, token: u32, headers: usize, body: usize, trailers: usize) {
        if let Some(f) = self.auth.as_mut() {
            f.on_http_call_response(token, headers, body, trailers);
        }
    }

    pub fn done(&mut self) {
        if let Some(f) = self.auth.as_mut() {
            f.on_done();
        }
    }

    /// Whether a later filter may call a service (so its answer must go to
    /// a context that outlives the request's own callbacks).
    pub fn calls_service(&self) -> bool {
        self.ratelimit.as_ref().is_some_and(|f| f.uses_service())
    }

    /// The rate-limit service call the request waits for, if any.
    pub fn pending_call(&self) -> Option<u32> {
        self.ratelimit.as_ref().and_then(|f| f.pending_call())
    }
}
