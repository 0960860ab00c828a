//! The proxy-wasm glue every filter shares: request lookups, header maps,
//! counters, local replies, configuration loading, shared data, the clock
//! and the effective context over the host calls.
//! This is the only module of the common crate that talks to the host, and
//! every call goes through [`Host`] (`api`): proxy-wasm in the module, a
//! [`FakeHost`] in native tests.

mod api;
mod clock;
mod context;
mod fake;
mod shared_data;
mod stage;

pub use api::{current, Host, ProxyHost};
pub use clock::{now, now_ms, now_ns};
pub use context::in_context;
pub use fake::{FakeHost, Reply};
pub use shared_data::HostStore;
pub use stage::Stage;

use crate::counters::CounterSet;
use crate::header::HeaderTarget;
use crate::reply::LocalReply;
use crate::request::RequestSource;
use crate::ConfigError;
use proxy_wasm::types::{BufferType, MapType};
use std::time::SystemTime;

/// The current request, read through host calls.
pub struct HostRequest;

/// A header value as text. The SDK's `get_map_value` panics on a value that
/// is not UTF-8 (Envoy passes obs-text bytes through), which would kill the
/// VM on one crafted request; bytes are read instead and converted lossily
/// (without a copy when they are UTF-8, as nearly all are).
fn map_value(map: MapType, name: &str) -> Option<String> {
    let bytes = current().get_map_value(map, name)?;
    Some(
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

impl RequestSource for HostRequest {
    fn header(&self, name: &str) -> Option<String> {
        if name == "cookie" {
            return cookies();
        }
        map_value(MapType::HttpRequestHeaders, name)
    }

    fn client_address(&self) -> Option<String> {
        current()
            .get_property(vec!["source", "address"])
            .and_then(|b| String::from_utf8(b).ok())
    }

    fn now(&self) -> SystemTime {
        now()
    }
}

/// Every `cookie` header of the request as one value joined by `; ` (what
/// RFC 9113 8.2.3 makes of split cookie fields): an HTTP/1.1 client may send
/// several, the host's lookup returns only the first, and Envoy's own filters
/// read them all.
fn cookies() -> Option<String> {
    let all = current().get_map(MapType::HttpRequestHeaders);
    let values: Vec<String> = all
        .into_iter()
        .filter(|(n, _)| n == "cookie")
        .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join("; "))
}

/// Request or response headers of the current stream, as a [`HeaderTarget`].
pub struct HostHeaders(MapType);

impl HostHeaders {
    pub fn request() -> Self {
        HostHeaders(MapType::HttpRequestHeaders)
    }

    pub fn response() -> Self {
        HostHeaders(MapType::HttpResponseHeaders)
    }
}

impl HeaderTarget for HostHeaders {
    fn get(&self, name: &str) -> Option<String> {
        map_value(self.0, name)
    }

    fn set(&mut self, name: &str, value: &str) {
        current().set_map_value(self.0, name, value);
    }

    fn add(&mut self, name: &str, value: &str) {
        current().add_map_value(self.0, name, value);
    }

    fn remove(&mut self, name: &str) {
        current().remove_map_value(self.0, name);
    }

    fn names(&self) -> Vec<String> {
        // Values stay bytes (not read); names are tokens Envoy's codecs
        // validated, so they are UTF-8.
        let mut names: Vec<String> = Vec::new();
        for (name, _) in current().get_map(self.0) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

/// A counter in Envoy's stats. Envoy files wasm-defined metrics under its
/// `wasmcustom.` namespace, so `tollgate.headers.rules_matched` is read at
/// the admin endpoint as `wasmcustom.tollgate.headers.rules_matched`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counter(Option<u32>);

impl Counter {
    /// Defines (or finds: the host deduplicates by name) a counter. A host that
    /// refuses leaves a counter that counts nothing rather than failing.
    pub fn define(name: &str) -> Counter {
        Counter(current().define_counter(name))
    }

    pub fn add(self, n: u64) {
        if let (Some(id), Ok(n)) = (self.0, i64::try_from(n)) {
            if n > 0 {
                current().increment_counter(id, n);
            }
        }
    }

    pub fn inc(self) {
        self.add(1);
    }
}

/// One [`Counter`] per variant of a [`CounterSet`] (see [`crate::counters!`]).
/// Defined once per configuration: each definition costs the host about 30 µs.
pub struct Counters<E: CounterSet>(E::Array<Counter>);

impl<E: CounterSet> Counters<E> {
    pub fn define() -> Counters<E> {
        Counters(E::each(|e| {
            Counter::define(&format!("{}{}", E::PREFIX, e.name()))
        }))
    }

    pub fn add(&self, counter: E, n: u64) {
        if let Some(c) = self.0.as_ref().get(counter.index()) {
            c.add(n);
        }
    }

    pub fn inc(&self, counter: E) {
        self.add(counter, 1);
    }
}

// Not derived: a derive would ask `E::Array<Counter>` for nothing but `E`.
impl<E: CounterSet> Clone for Counters<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: CounterSet> Copy for Counters<E> {}

/// Counters that count nothing, until [`Counters::define`].
impl<E: CounterSet> Default for Counters<E> {
    fn default() -> Self {
        Counters(E::each(|_| Counter::default()))
    }
}

/// The plugin configuration as the host hands it over (Istio's
/// `pluginConfig`, Envoy's `configuration`).
pub fn plugin_configuration() -> Vec<u8> {
    current()
        .get_buffer(BufferType::PluginConfiguration, usize::MAX)
        .unwrap_or_default()
}

/// Reads the plugin configuration and parses it; see [`configure_from`].
pub fn configure<T>(
    filter: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ConfigError>,
) -> Option<T> {
    configure_from(filter, &plugin_configuration(), parse)
}

/// Parses a filter's configuration. On error logs exactly one line naming
/// the field and why, and returns `None`: the caller's `on_configure` then
/// returns false, which fails the plugin's start.
pub fn configure_from<T>(
    filter: &str,
    bytes: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, ConfigError>,
) -> Option<T> {
    match parse(bytes) {
        Ok(config) => Some(config),
        Err(e) => {
            log::error!("{}", crate::config::refusal_line(filter, &e));
            None
        }
    }
}

thread_local! {
    /// Requests handed back by [`resume_request`] while a chain defers them.
    static DEFERRED: std::cell::RefCell<Option<Vec<u32>>> = const { std::cell::RefCell::new(None) };
}

/// Lets paused request `ctx` (the effective context) go on. In a module
/// that runs several filters in one VM (the `tollgate` chain), the request
/// is handed back to the chain instead, which runs the next filters before
/// it resumes the request for real (see [`defer_resumes`]).
pub fn resume_request(ctx: u32) {
    let deferred = DEFERRED.with(|d| d.borrow_mut().as_mut().map(|v| v.push(ctx)).is_some());
    if !deferred {
        current().resume_http_request();
    }
}

/// From now on, [`resume_request`] records the request instead of resuming
/// it; [`take_resumed`] hands the records over.
pub fn defer_resumes() {
    DEFERRED.with(|d| {
        d.borrow_mut().get_or_insert_with(Vec::new);
    });
}

/// The requests handed back since the last call, oldest first.
pub fn take_resumed() -> Vec<u32> {
    DEFERRED.with(|d| {
        d.borrow_mut()
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    })
}

/// Answers the request locally with the reply's status, headers and JSON body.
pub fn send_reply(reply: &LocalReply) {
    let body = reply.body();
    current().send_http_response(
        u32::from(reply.status),
        reply.header_pairs(),
        body.as_bytes(),
    );
}
