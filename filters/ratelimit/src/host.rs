//! The ratelimit filter's proxy-wasm glue: a root context that loads the
//! configuration, names the limits' shared-data tables and creates their
//! slots, and an HTTP context that picks the request's limit
//! (`descriptor::select`), takes a token from its shared bucket
//! (`table::acquire`, CAS over `get_shared_data` / `set_shared_data`) and
//! answers 429 or lets the request through with the rate-limit headers. All
//! decisions live in the plain modules, tested natively.
//!
//! Global mode (`rate_limit_service`): the HTTP context (`filter`) also
//! sends the request's descriptors to Envoy's rate-limit service over
//! `dispatch_grpc_call`, pauses the request and decides in
//! `on_grpc_call_response` (`global::verdict`).

mod filter;
#[cfg(test)]
mod tests;

use crate::config::{self, Config};
use crate::table::{self, Table};
pub use filter::Filter;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;
use std::rc::Rc;
use tollgate_common::host::{self, Counters, Host, HostStore};

/// CAS attempts per request before giving up (and denying: a lost race is
/// never an allow).
pub const MAX_TRIES: u32 = 64;

tollgate_common::counters! {
    /// Counters under `tollgate.ratelimit.`.
    pub enum Stat under "tollgate.ratelimit." {
        Allowed = "allowed",
        Limited = "limited",
        ShadowLimited = "shadow_limited",
        CasRetries = "cas_retries",
        CasExhausted = "cas_exhausted",
        KeysEvicted = "keys_evicted",
        ServiceOk = "service_ok",
        ServiceOverLimit = "service_over_limit",
        ServiceErrors = "service_errors",
        FailureModeAllowed = "failure_mode_allowed",
        FailureModeDenied = "failure_mode_denied",
        AmbiguousPaths = "ambiguous_paths",
    }
}

type Stats = Counters<Stat>;

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
pub struct Root {
    plugin: Option<Rc<Plugin>>,
    stats: Stats,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.configure(&host::plugin_configuration())
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(self.filter(context_id)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

impl Root {
    /// The HTTP context of request `id`.
    pub fn filter(&self, id: u32) -> Filter {
        Filter::new(id, self.plugin.clone(), self.stats)
    }

    /// Loads configuration `bytes` (JSON) and creates the limits' shared
    /// tables; false (after one log line) when the bytes are invalid.
    pub fn configure(&mut self, bytes: &[u8]) -> bool {
        self.stats = Stats::define();
        let mut fingerprint = 0u64;
        let Some(config) = host::configure_from("ratelimit", bytes, |bytes| {
            fingerprint = table::fnv1a(bytes);
            config::parse(bytes)
        }) else {
            return false;
        };
        // Tables are named by root id alone, so a new configuration reuses
        // the last one's slots (shared data has no delete: naming them by
        // configuration made every update add `max_keys` slots for good);
        // the configuration's fingerprint tags the records instead (see
        // table.rs). Filter instances with one root id share slots.
        let root_id = host::current()
            .get_property(vec!["plugin_root_id"])
            .unwrap_or_default();
        let ns = format!("tollgate.ratelimit/{:016x}", table::fnv1a(&root_id));
        let tag = format!("{fingerprint:016x}|");
        let mut tables: Vec<Table> = config
            .descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| Table {
                prefix: format!("{ns}/d{i}"),
                slots: match (&d.limits, d.key.is_empty()) {
                    (None, _) => 0, // global only: no local bucket
                    // Room for the buckets of other instances (one root
                    // id, other configurations) beside this one's.
                    (Some(_), true) => table::WAYS,
                    (Some(_), false) => config.max_keys,
                },
                tag: tag.clone(),
            })
            .collect();
        tables.push(Table {
            prefix: format!("{ns}/default"),
            slots: table::WAYS,
            tag,
        });
        for t in &tables {
            t.init(&HostStore);
        }
        self.plugin = Some(Rc::new(Plugin { config, tables }));
        true
    }
}
