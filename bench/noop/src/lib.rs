//! The bench's floor: the cheapest proxy-wasm HTTP filter, so that what a
//! Tollgate filter costs above it is its own work, not the ABI crossing.
//!
//! With an empty configuration both header callbacks return `Continue` and
//! touch nothing. With the configuration `add-response-header` the response
//! gets `x-noop: 1` (one host call), the "trivial filter adding one response
//! header" of the team's baseline.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

/// The configuration that turns on the one response header.
pub const ADD_RESPONSE_HEADER: &[u8] = b"add-response-header";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { add_header: false }) });
}}

struct Root {
    add_header: bool,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.add_header = wants_header(self.get_plugin_configuration().as_deref());
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Noop {
            add_header: self.add_header,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Noop {
    add_header: bool,
}

impl Context for Noop {}

impl HttpContext for Noop {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.add_header {
            self.add_http_response_header("x-noop", "1");
        }
        Action::Continue
    }
}

/// Whether the plugin configuration asks for the response header
/// (surrounding whitespace ignored; anything else means a pure no-op).
pub fn wants_header(config: Option<&[u8]>) -> bool {
    config.is_some_and(|c| c.trim_ascii() == ADD_RESPONSE_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_word_adds_a_header() {
        assert!(wants_header(Some(b"add-response-header")));
        assert!(wants_header(Some(b" add-response-header\n")));
        assert!(!wants_header(None));
        assert!(!wants_header(Some(b"")));
        assert!(!wants_header(Some(b"{}")));
    }
}
