//! A filter's HTTP context as one stage of a chain in one VM (the
//! `tollgate` module): the callbacks the chain forwards, and what it must
//! know to route a stage's calls. Narrower than the SDK's `HttpContext` on
//! purpose: a chain holds stages as trait objects, and an `HttpContext`
//! vtable would link every default method (and host call) of the SDK.

use proxy_wasm::types::Action;

pub trait Stage {
    /// The request's headers reached this stage: go on, or pause (the stage
    /// answered, or hands the request back later through
    /// [`super::resume_request`]).
    fn request_headers(&mut self) -> Action;

    /// The response's headers, on their way back through the chain.
    fn response_headers(&mut self) {}

    /// An HTTP call's answer (calls the stage does not know are ignored).
    fn http_call_response(&mut self, _token: u32, _headers: usize, _body: usize) {}

    /// The message of the gRPC answer to [`Stage::pending_call`], read in the
    /// callback's own context: the host keeps it for that callback only, and
    /// the chain may switch to the request's context to deliver it.
    fn read_grpc_answer(&self, _status_code: u32, _size: usize) -> Option<Vec<u8>> {
        None
    }

    /// A gRPC call's answer with the message [`Stage::read_grpc_answer`] read.
    fn grpc_call_response(
        &mut self,
        _token: u32,
        _status: u32,
        _size: usize,
        _body: Option<Vec<u8>>,
    ) {
    }

    /// The request ended.
    fn done(&mut self) {}

    /// Whether the stage may call a service whose answer the chain must
    /// route to it (the stage's own context may be gone by then). A stage
    /// that routes its own answers (auth) says false.
    fn calls_service(&self) -> bool {
        false
    }

    /// The call the request waits for in this stage, if any.
    fn pending_call(&self) -> Option<u32> {
        None
    }
}
