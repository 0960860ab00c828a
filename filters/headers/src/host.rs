//! The headers filter's proxy-wasm glue: a root context that loads the
//! configuration and defines the counters, and an HTTP context that plans the
//! mutations once per request (`mutation::plan`) and applies them to the
//! request and, later, the response. All decisions live in `config` and
//! `mutation`, tested natively.

use crate::config::{self, Config};
use crate::mutation::{self, Ops};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType};
use std::rc::Rc;
use tollgate_common::host::{self, Counters, HostHeaders, HostRequest, Stage};
use tollgate_common::Request;

tollgate_common::counters! {
    /// Counters under `tollgate.headers.`.
    pub enum Stat under "tollgate.headers." {
        Requests = "requests",
        RulesMatched = "rules_matched",
        HeadersAdded = "headers_added",
        HeadersRemoved = "headers_removed",
        ValuesDropped = "values_dropped",
        AmbiguousPaths = "ambiguous_paths",
    }
}

type Stats = Counters<Stat>;

#[derive(Default)]
pub struct Root {
    config: Rc<Config>,
    has_path_rules: bool,
    stats: Stats,
}

impl Root {
    /// Loads configuration `bytes` (JSON); false (after one log line) when
    /// they are invalid.
    pub fn configure(&mut self, bytes: &[u8]) -> bool {
        self.stats = Stats::define();
        match host::configure_from("headers", bytes, config::parse) {
            Some(config) => {
                self.has_path_rules = config.has_path_rules();
                self.config = Rc::new(config);
                true
            }
            None => false,
        }
    }

    /// The HTTP context of one request.
    pub fn filter(&self) -> Filter {
        Filter {
            config: self.config.clone(),
            has_path_rules: self.has_path_rules,
            stats: self.stats,
            response: None,
        }
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.configure(&host::plugin_configuration())
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(self.filter()))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

pub struct Filter {
    config: Rc<Config>,
    has_path_rules: bool,
    stats: Stats,
    /// Response mutations planned at request time; taken when applied, so a
    /// response (a local reply included) gets them exactly once.
    response: Option<Ops>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let req = Request::new(HostRequest);
        self.stats.inc(Stat::Requests);
        if let Some(a) =
            req.ambiguous_path_to_refuse(self.config.ambiguous_path_action, self.has_path_rules)
        {
            // A rule on a path an upstream may read otherwise would apply
            // (or not) to the wrong resource.
            self.stats.inc(Stat::AmbiguousPaths);
            host::send_reply(&tollgate_common::path::ambiguous_path_reply(a));
            return Action::Pause;
        }
        let plan = mutation::plan(&self.config, &req);
        let applied = mutation::apply(&plan.request, &mut HostHeaders::request());
        self.stats
            .add(Stat::RulesMatched, plan.rules_matched.into());
        self.stats
            .add(Stat::ValuesDropped, plan.values_dropped.into());
        self.count(applied);
        if !plan.response.is_empty() {
            self.response = Some(plan.response);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if let Some(ops) = self.response.take() {
            let applied = mutation::apply(&ops, &mut HostHeaders::response());
            self.count(applied);
        }
        Action::Continue
    }
}

/// The headers stage of the chain; it calls nothing.
impl Stage for Filter {
    fn request_headers(&mut self) -> Action {
        self.on_http_request_headers(0, false)
    }

    fn response_headers(&mut self) {
        self.on_http_response_headers(0, false);
    }
}

impl Filter {
    fn count(&self, applied: mutation::Applied) {
        self.stats.add(Stat::HeadersAdded, applied.added.into());
        self.stats.add(Stat::HeadersRemoved, applied.removed.into());
    }
}

#[cfg(test)]
mod tests;
