//! The ratelimit filter's proxy-wasm glue: a root context that loads the
//! configuration, names the limits' shared-data tables and creates their
//! slots, and an HTTP context that picks the request's limit
//! (`descriptor::select`), takes a token from its shared bucket
//! (`table::acquire`, CAS over `get_shared_data` / `set_shared_data`) and
//! answers 429 or lets the request through with the rate-limit headers. All
//! decisions live in the plain modules, tested natively.

pub mod bucket;
pub mod config;
pub mod descriptor;
pub mod headers;
pub mod percent;
pub mod table;

use config::Config;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use std::rc::Rc;
use std::time::UNIX_EPOCH;
use table::{Store, Table};
use tollgate_common::header::HeaderTarget;
use tollgate_common::host::{self, Counter, HostHeaders, HostRequest};
use tollgate_common::reply::LocalReply;
use tollgate_common::Request;

/// CAS attempts per request before giving up (and denying: a lost race is
/// never an allow).
pub const MAX_TRIES: u32 = 64;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::<Root>::default() });
}}

/// Counters under `tollgate.ratelimit.`.
#[derive(Clone, Copy, Default)]
struct Stats {
    allowed: Counter,
    limited: Counter,
    shadow_limited: Counter,
    cas_retries: Counter,
    cas_exhausted: Counter,
    keys_evicted: Counter,
}

impl Stats {
    fn define() -> Stats {
        let c = |n: &str| Counter::define(&format!("tollgate.ratelimit.{n}"));
        Stats {
            allowed: c("allowed"),
            limited: c("limited"),
            shadow_limited: c("shadow_limited"),
            cas_retries: c("cas_retries"),
            cas_exhausted: c("cas_exhausted"),
            keys_evicted: c("keys_evicted"),
        }
    }
}

/// The configuration with the shared-data table of each limit.
struct Plugin {
    config: Config,
    /// Index `i` is descriptor `i`; the last is the top-level bucket.
    tables: Vec<Table>,
}

impl Plugin {
    fn table(&self, descriptor: Option<usize>) -> Option<&Table> {
        match descriptor {
            Some(i) => self.tables.get(i),
            None => self.tables.last(),
        }
    }
}

#[derive(Default)]
struct Root {
    plugin: Option<Rc<Plugin>>,
    stats: Stats,
}

impl Context for Root {}

/// proxy-wasm shared data (one map per VM id, shared by every worker).
struct HostStore;

impl Store for HostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match hostcalls::get_shared_data(key) {
            // An empty value may come back as no bytes; the version says it exists.
            Ok((data, Some(cas))) => Some((data.unwrap_or_default(), cas)),
            _ => None,
        }
    }

    fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.stats = Stats::define();
        let mut namespace = 0u64;
        let Some(config) = host::configure("ratelimit", |bytes| {
            namespace = table::fnv1a(bytes);
            config::parse(bytes)
        }) else {
            return false;
        };
        // Two filter instances in one VM get distinct tables unless both
        // their root id and configuration are equal.
        let root_id = hostcalls::get_property(vec!["plugin_root_id"])
            .ok()
            .flatten()
            .unwrap_or_default();
        let ns = format!(
            "tollgate.ratelimit/{:016x}{:016x}",
            namespace,
            table::fnv1a(&root_id)
        );
        let mut tables: Vec<Table> = config
            .descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| Table {
                prefix: format!("{ns}/d{i}"),
                slots: if d.key.is_empty() { 1 } else { config.max_keys },
            })
            .collect();
        tables.push(Table {
            prefix: format!("{ns}/default"),
            slots: 1,
        });
        let mut store = HostStore;
        for t in &tables {
            let marker = format!("{}/ready", t.prefix);
            if store.get(&marker).is_none() {
                t.init(&mut store);
                store.set(&marker, b"1", None);
            }
        }
        self.plugin = Some(Rc::new(Plugin { config, tables }));
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            plugin: self.plugin.clone(),
            stats: self.stats,
            response: Vec::new(),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    plugin: Option<Rc<Plugin>>,
    stats: Stats,
    /// Rate-limit headers for the upstream's response; empty after a local
    /// 429 (which carries them itself), so no response gets them twice.
    response: Vec<(&'static str, String)>,
}

impl Context for Filter {}

/// A uniform random u32 from the host (0 if it gives none).
fn draw() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_le_bytes(b)
}

fn now_ns() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(plugin) = self.plugin.clone() else {
            return Action::Continue;
        };
        let config = &plugin.config;
        let req = Request::new(HostRequest);
        let Some(sel) = descriptor::select(config, &req) else {
            return Action::Continue;
        };
        if !config.filter_enabled.admits(draw) {
            return Action::Continue;
        }
        let Some(table) = plugin.table(sel.descriptor) else {
            return Action::Continue;
        };
        let out = table::acquire(
            &mut HostStore,
            table,
            &sel.key,
            &sel.limits,
            now_ns(),
            MAX_TRIES,
        );
        self.stats.cas_retries.add(out.cas_retries.into());
        if out.evicted {
            self.stats.keys_evicted.inc();
        }
        let Some(decision) = out.decision else {
            self.stats.cas_exhausted.inc();
            log::warn!("tollgate.ratelimit: {MAX_TRIES} compare-and-swap attempts lost; denying");
            if !config.filter_enforced.admits(draw) {
                self.stats.shadow_limited.inc();
                return Action::Continue;
            }
            host::send_reply(&LocalReply::too_many_requests(
                "rate limit state is contended; retry",
                1,
            ));
            return Action::Pause;
        };
        let values = headers::values(config.response_headers, sel.name, &sel.limits, &decision);
        if decision.allowed {
            self.stats.allowed.inc();
        } else if config.filter_enforced.admits(draw) {
            self.stats.limited.inc();
            let reply = values.into_iter().fold(
                LocalReply::too_many_requests(
                    "rate limit exceeded",
                    headers::retry_after(&decision),
                ),
                |r, (n, v)| r.with_header(n, v),
            );
            host::send_reply(&reply);
            return Action::Pause;
        } else {
            self.stats.shadow_limited.inc();
        }
        self.response = values;
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if !self.response.is_empty() {
            let mut h = HostHeaders::response();
            for (name, value) in std::mem::take(&mut self.response) {
                h.set(name, &value);
            }
        }
        Action::Continue
    }
}
