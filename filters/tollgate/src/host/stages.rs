//! One request's filters, in chain order, and where the request stands.
//!
//! A filter that pauses the request (waiting for a key set, the
//! authorization service or the rate-limit service) later hands it back
//! through `host::resume_request`, which this module's VM defers: the chain
//! then runs the next filters and resumes the request itself once all of
//! them let it go on. A filter that answers the request itself also pauses
//! it, and nothing hands it back.

use proxy_wasm::types::Action;
use tollgate_common::host::Stage;

pub struct Stages {
    /// The configured filters, in request order.
    list: Vec<Box<dyn Stage>>,
    /// The index of the stage the request is paused in, if it is.
    pub paused: Option<usize>,
}

impl Stages {
    pub fn new(list: Vec<Box<dyn Stage>>) -> Stages {
        Stages { list, paused: None }
    }

    /// Runs the request's filters from the first, until one pauses.
    pub fn run(&mut self) -> Action {
        self.run_from(0)
    }

    fn run_from(&mut self, first: usize) -> Action {
        for (i, stage) in self.list.iter_mut().enumerate().skip(first) {
            if let Action::Pause = stage.request_headers() {
                self.paused = Some(i);
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
    pub fn response_headers(&mut self) {
        for stage in self.list.iter_mut().rev() {
            stage.response_headers();
        }
    }

    pub fn http_call_response(&mut self, token: u32, headers: usize, body: usize) {
        for stage in &mut self.list {
            stage.http_call_response(token, headers, body);
        }
    }

    /// Gives gRPC answer `token` to the stage waiting for it; `body`: its
    /// message, as [`Stages::read_grpc_answer`] read it.
    pub fn grpc_call_response(
        &mut self,
        token: u32,
        status: u32,
        size: usize,
        body: Option<Vec<u8>>,
    ) {
        if let Some(stage) = self
            .list
            .iter_mut()
            .find(|s| s.pending_call() == Some(token))
        {
            stage.grpc_call_response(token, status, size, body);
        }
    }

    /// The message of gRPC answer `token`, read by the stage waiting for it
    /// (in the callback's own context).
    pub fn read_grpc_answer(&self, token: u32, status: u32, size: usize) -> Option<Vec<u8>> {
        let stage = self.list.iter().find(|s| s.pending_call() == Some(token))?;
        stage.read_grpc_answer(status, size)
    }

    pub fn done(&mut self) {
        for stage in &mut self.list {
            stage.done();
        }
    }

    /// Whether a filter may call a service (so its answer must go to a
    /// context that outlives the request's own callbacks).
    pub fn calls_service(&self) -> bool {
        self.list.iter().any(|s| s.calls_service())
    }

    /// The call the request waits for, if any.
    pub fn pending_call(&self) -> Option<u32> {
        self.list.iter().find_map(|s| s.pending_call())
    }
}
