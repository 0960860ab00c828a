//! The auth filter's proxy-wasm glue. All decisions live in the plain
//! modules (`decide`, `requirement`, `api_key`, `basic`, `htpasswd`,
//! `cache`), tested natively; this file reads the request through the host,
//! applies the decision and counts it.

pub mod api_key;
pub mod basic;
pub mod cache;
pub mod config;
pub mod decide;
pub mod edits;
pub mod htpasswd;
pub mod jwt;
pub mod requirement;

use cache::Store;
use config::Config;
use decide::Decision;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use requirement::Reason;
use std::rc::Rc;
use tollgate_common::host::{self, Counter, HostHeaders, HostRequest};
use tollgate_common::Request;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::<Root>::default() });
}}

/// Counters under `tollgate.auth.`.
#[derive(Clone, Copy, Default)]
struct Stats {
    allowed: Counter,
    denied: Counter,
    denied_missing: Counter,
    denied_invalid: Counter,
    denied_forbidden: Counter,
    denied_locked_out: Counter,
    denied_bad_request: Counter,
    cache_hits: Counter,
    cache_misses: Counter,
}

impl Stats {
    fn define() -> Stats {
        let c = |n: &str| Counter::define(&format!("tollgate.auth.{n}"));
        Stats {
            allowed: c("allowed"),
            denied: c("denied"),
            denied_missing: c("denied.missing"),
            denied_invalid: c("denied.invalid"),
            denied_forbidden: c("denied.forbidden"),
            denied_locked_out: c("denied.locked_out"),
            denied_bad_request: c("denied.bad_request"),
            cache_hits: c("cache_hits"),
            cache_misses: c("cache_misses"),
        }
    }

    fn denied(&self, reason: Reason) -> Counter {
        match reason {
            Reason::Missing => self.denied_missing,
            Reason::Invalid => self.denied_invalid,
            Reason::Forbidden => self.denied_forbidden,
            Reason::LockedOut(_) => self.denied_locked_out,
            Reason::BadRequest => self.denied_bad_request,
        }
    }
}

/// Proxy-wasm shared data: one store for every worker's VM of this vm_id.
struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }
}

#[derive(Default)]
struct Root {
    config: Rc<Config>,
    stats: Stats,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.stats = Stats::define();
        match host::configure("auth", config::parse) {
            Some(config) => {
                self.config = Rc::new(config);
                true
            }
            None => false,
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            config: self.config.clone(),
            stats: self.stats,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    config: Rc<Config>,
    stats: Stats,
}

impl Context for Filter {}

/// The filter adds nothing to responses, so a local reply passing back
/// through `on_http_response_headers` (the default: continue) gets nothing
/// twice.
impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let req = Request::new(HostRequest);
        let (decision, counts) = decide::decide(&self.config, &req, &HostStore);
        self.stats.cache_hits.add(counts.cache_hits);
        self.stats.cache_misses.add(counts.cache_misses);
        match decision {
            Decision::Allow { edits, .. } => {
                edits.apply(&mut HostHeaders::request());
                self.stats.allowed.inc();
                Action::Continue
            }
            Decision::Deny { reason, reply } => {
                self.stats.denied.inc();
                self.stats.denied(reason).inc();
                host::send_reply(&reply);
                Action::Pause
            }
        }
    }
}
