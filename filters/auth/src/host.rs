//! The auth filter's proxy-wasm glue: the root and HTTP contexts. They read
//! the request through the host, hand it to `policy::decide`, fetch remote
//! key sets and apply the decision (`flow`), call the authorization service
//! (`ext_authz`), keep the VM's state (`vm`) and count (`stats`).

mod ext_authz;
mod flow;
mod stats;
#[cfg(test)]
mod tests;
mod vm;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};
use std::time::Duration;
use tollgate_common::host;
use tollgate_common::host::{Host, HostStore, Stage};
use vm::Plugin;

/// How often a root context checks its remote key sets.
const TICK: Duration = Duration::from_secs(1);

pub struct Root {
    id: u32,
    plugin: Plugin,
}

impl Root {
    /// The root context `id`, not configured yet.
    pub fn new(id: u32) -> Root {
        Root {
            id,
            plugin: Plugin::default(),
        }
    }

    /// Loads configuration `bytes` (JSON); false (after one log line) when
    /// they are invalid. Starts the tick that refreshes remote key sets.
    pub fn configure(&mut self, bytes: &[u8]) -> bool {
        let stats = stats::Stats::define();
        let Some(config) = host::configure_from("auth", bytes, crate::policy::config::parse) else {
            return false;
        };
        self.plugin = Plugin::new(config, stats);
        let remotes = self.plugin.remotes();
        for &base in &remotes {
            crate::jwt::jwks_store::init_lease(&HostStore, self.plugin.lease_key(base));
        }
        if !remotes.is_empty() {
            host::current().set_tick_period(TICK);
        }
        true
    }

    /// The HTTP context of request `id`.
    pub fn filter(&self, id: u32) -> Filter {
        Filter {
            id,
            plugin: self.plugin.clone(),
        }
    }
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, _: usize) {
        flow::on_response(&self.plugin, self.id, token, headers, body);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.configure(&host::plugin_configuration())
    }

    fn on_tick(&mut self) {
        flow::tick(&self.plugin, self.id);
    }

    fn create_http_context(&self, id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(self.filter(id)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

pub struct Filter {
    id: u32,
    plugin: Plugin,
}

impl Context for Filter {
    fn on_http_call_response(&mut self, token: u32, headers: usize, body: usize, _: usize) {
        flow::on_response(&self.plugin, self.id, token, headers, body);
    }

    fn on_done(&mut self) -> bool {
        self.plugin.vm.borrow_mut().forget(self.id);
        true
    }
}

/// The only response headers the filter adds are the authorization
/// service's `allowed_client_headers_on_success`, kept for allowed requests
/// only and taken once, so a local reply passing back through
/// `on_http_response_headers` gets nothing.
impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        flow::run(&self.plugin, self.id, self.id, true, false)
    }

    /// The body waits while the request does (Envoy would otherwise let it
    /// carry the headers on).
    fn on_http_request_body(&mut self, _size: usize, _end_of_stream: bool) -> Action {
        self.hold()
    }

    fn on_http_request_trailers(&mut self, _trailers: usize) -> Action {
        self.hold()
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        ext_authz::on_response_headers(&self.plugin, self.id);
        Action::Continue
    }
}

/// The auth stage of the chain. Its calls' answers go to the context that
/// sent them and reach their requests through the VM's state (`flow`), so
/// the chain routes none of them.
impl Stage for Filter {
    fn request_headers(&mut self) -> Action {
        self.on_http_request_headers(0, false)
    }

    fn response_headers(&mut self) {
        self.on_http_response_headers(0, false);
    }

    fn http_call_response(&mut self, token: u32, headers: usize, body: usize) {
        self.on_http_call_response(token, headers, body, 0);
    }

    fn done(&mut self) {
        self.on_done();
    }
}

impl Filter {
    fn hold(&self) -> Action {
        if self.plugin.vm.borrow().paused(self.id) {
            Action::Pause
        } else {
            Action::Continue
        }
    }
}
