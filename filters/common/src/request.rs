//! The request as filters see it: header lookups go to the host lazily (one
//! host call per distinct name, cached), so a filter only pays for what its
//! configuration reads.

use std::cell::{OnceCell, RefCell};
use std::time::SystemTime;

/// What the host can tell about the current request. The glue implements it
/// with proxy-wasm calls; tests implement it over a map.
pub trait RequestSource {
    /// The value of a request header (lower-case name, pseudo-headers such as
    /// `:path` included), or `None` when absent.
    fn header(&self, name: &str) -> Option<String>;
    /// The downstream peer as `ip:port` (Envoy's `source.address` property).
    fn client_address(&self) -> Option<String>;
    /// The host's clock.
    fn now(&self) -> SystemTime;
}

/// A caching view over a [`RequestSource`].
pub struct Request<S> {
    source: S,
    headers: RefCell<Vec<(String, Option<String>)>>,
    normalized_path: OnceCell<Option<String>>,
    path_ambiguity: OnceCell<Option<crate::path::Ambiguity>>,
    client_address: OnceCell<Option<String>>,
    now: OnceCell<SystemTime>,
}

impl<S: RequestSource> Request<S> {
    pub fn new(source: S) -> Self {
        Request {
            source,
            headers: RefCell::new(Vec::new()),
            normalized_path: OnceCell::new(),
            path_ambiguity: OnceCell::new(),
            client_address: OnceCell::new(),
            now: OnceCell::new(),
        }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// A request header, fetched from the host at most once per request.
    pub fn header(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.headers.borrow().iter().find(|(n, _)| n == name) {
            return v.clone();
        }
        let value = self.source.header(name);
        self.headers
            .borrow_mut()
            .push((name.to_string(), value.clone()));
        value
    }

    /// `:path` normalized as [`crate::path::normalize`] does; `None` when the
    /// path is missing or cannot be normalized (such a request matches no path
    /// rule: callers decide whether that is a rejection).
    pub fn normalized_path(&self) -> Option<&str> {
        self.normalized_path
            .get_or_init(|| {
                self.header(":path")
                    .and_then(|p| crate::path::normalize(&p).ok())
            })
            .as_deref()
    }

    /// Why `:path` is ambiguous ([`crate::path::ambiguity`]); `None` when it
    /// has one reading or is missing.
    pub fn path_ambiguity(&self) -> Option<crate::path::Ambiguity> {
        *self.path_ambiguity.get_or_init(|| {
            self.header(":path")
                .and_then(|p| crate::path::ambiguity(&p))
        })
    }

    /// The ambiguity to refuse the request for, when `action` says to refuse
    /// ambiguous paths and the filter has a path condition (a filter without
    /// one has nothing an upstream could read otherwise).
    pub fn ambiguous_path_to_refuse(
        &self,
        action: crate::path::AmbiguousPathAction,
        has_path_conditions: bool,
    ) -> Option<crate::path::Ambiguity> {
        if !has_path_conditions || action != crate::path::AmbiguousPathAction::RejectRequest {
            return None;
        }
        self.path_ambiguity()
    }

    pub fn client_address(&self) -> Option<String> {
        self.client_address
            .get_or_init(|| self.source.client_address())
            .clone()
    }

    /// The client's IP, without the port (IPv6 without brackets).
    pub fn client_ip(&self) -> Option<String> {
        self.client_address().map(|a| without_port(&a).to_string())
    }

    /// The time of the first call, so every template in one request agrees.
    pub fn now(&self) -> SystemTime {
        *self.now.get_or_init(|| self.source.now())
    }
}

/// `1.2.3.4:5` → `1.2.3.4`, `[::1]:5` → `::1`; anything else unchanged.
pub fn without_port(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port))
            if !host.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        _ => addr,
    }
}
