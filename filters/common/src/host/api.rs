//! The host calls the glue makes, as a trait: the module forwards them to
//! proxy-wasm ([`ProxyHost`]); native tests script them ([`super::FakeHost`]),
//! so the glue's state machines (fetches, checks, service calls, the chain's
//! hand-back) run under `cargo test` without Envoy.
//!
//! [`current`] picks the host at compile time, with static dispatch both
//! ways: in wasm a zero-sized type (the module is the same code as calling
//! `hostcalls` directly); natively the test thread's fake (the real host's
//! imports do not exist there).

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType, MetricType, Status};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The host calls of every filter. Errors the glue ignores anyway are not
/// returned; the rest keep proxy-wasm's `Status` (it is logged).
pub trait Host {
    fn get_map_value(&self, map: MapType, name: &str) -> Option<Vec<u8>>;
    fn get_map(&self, map: MapType) -> Vec<(String, Vec<u8>)>;
    fn set_map_value(&self, map: MapType, name: &str, value: &str);
    fn add_map_value(&self, map: MapType, name: &str, value: &str);
    fn remove_map_value(&self, map: MapType, name: &str);
    fn get_property(&self, path: Vec<&str>) -> Option<Vec<u8>>;
    /// Up to `max` bytes of `buffer`.
    fn get_buffer(&self, buffer: BufferType, max: usize) -> Option<Vec<u8>>;
    fn define_counter(&self, name: &str) -> Option<u32>;
    fn increment_counter(&self, id: u32, n: i64);
    fn get_shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// False on a CAS mismatch or a host error.
    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
    fn now(&self) -> SystemTime;
    fn set_tick_period(&self, period: Duration);
    /// False when the host refuses `ctx` (it has ended).
    fn set_effective_context(&self, ctx: u32) -> bool;
    fn resume_http_request(&self);
    fn send_http_response(&self, status: u32, headers: Vec<(&str, &str)>, body: &[u8]);
    /// A call without body or trailers; the token its answer will carry.
    fn dispatch_http_call(
        &self,
        cluster: &str,
        headers: Vec<(&str, &str)>,
        timeout: Duration,
    ) -> Result<u32, Status>;
    /// A unary call without initial metadata.
    fn dispatch_grpc_call(
        &self,
        cluster: &str,
        service: &str,
        method: &str,
        message: &[u8],
        timeout: Duration,
    ) -> Result<u32, Status>;
}

/// Proxy-wasm's host. `hostcalls` rather than the context traits' helpers:
/// they return errors where the helpers panic.
pub struct ProxyHost;

impl Host for ProxyHost {
    #[inline]
    fn get_map_value(&self, map: MapType, name: &str) -> Option<Vec<u8>> {
        hostcalls::get_map_value_bytes(map, name).ok().flatten()
    }

    #[inline]
    fn get_map(&self, map: MapType) -> Vec<(String, Vec<u8>)> {
        hostcalls::get_map_bytes(map).unwrap_or_default()
    }

    #[inline]
    fn set_map_value(&self, map: MapType, name: &str, value: &str) {
        let _ = hostcalls::set_map_value(map, name, Some(value));
    }

    #[inline]
    fn add_map_value(&self, map: MapType, name: &str, value: &str) {
        let _ = hostcalls::add_map_value(map, name, value);
    }

    #[inline]
    fn remove_map_value(&self, map: MapType, name: &str) {
        let _ = hostcalls::remove_map_value(map, name);
    }

    #[inline]
    fn get_property(&self, path: Vec<&str>) -> Option<Vec<u8>> {
        hostcalls::get_property(path).ok().flatten()
    }

    #[inline]
    fn get_buffer(&self, buffer: BufferType, max: usize) -> Option<Vec<u8>> {
        hostcalls::get_buffer(buffer, 0, max).ok().flatten()
    }

    #[inline]
    fn define_counter(&self, name: &str) -> Option<u32> {
        hostcalls::define_metric(MetricType::Counter, name).ok()
    }

    #[inline]
    fn increment_counter(&self, id: u32, n: i64) {
        let _ = hostcalls::increment_metric(id, n);
    }

    #[inline]
    fn get_shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    #[inline]
    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }

    #[inline]
    fn now(&self) -> SystemTime {
        hostcalls::get_current_time().unwrap_or(UNIX_EPOCH)
    }

    #[inline]
    fn set_tick_period(&self, period: Duration) {
        let _ = hostcalls::set_tick_period(period);
    }

    #[inline]
    fn set_effective_context(&self, ctx: u32) -> bool {
        hostcalls::set_effective_context(ctx).is_ok()
    }

    #[inline]
    fn resume_http_request(&self) {
        let _ = hostcalls::resume_http_request();
    }

    #[inline]
    fn send_http_response(&self, status: u32, headers: Vec<(&str, &str)>, body: &[u8]) {
        let _ = hostcalls::send_http_response(status, headers, Some(body));
    }

    #[inline]
    fn dispatch_http_call(
        &self,
        cluster: &str,
        headers: Vec<(&str, &str)>,
        timeout: Duration,
    ) -> Result<u32, Status> {
        hostcalls::dispatch_http_call(cluster, headers, None, vec![], timeout)
    }

    #[inline]
    fn dispatch_grpc_call(
        &self,
        cluster: &str,
        service: &str,
        method: &str,
        message: &[u8],
        timeout: Duration,
    ) -> Result<u32, Status> {
        hostcalls::dispatch_grpc_call(cluster, service, method, Vec::new(), Some(message), timeout)
    }
}

/// The host: proxy-wasm's in the module.
#[cfg(target_family = "wasm")]
#[inline(always)]
pub fn current() -> ProxyHost {
    ProxyHost
}

/// The host: this thread's [`super::FakeHost`] natively (a default one until
/// a test installs its own).
#[cfg(not(target_family = "wasm"))]
pub fn current() -> std::rc::Rc<super::FakeHost> {
    super::fake::current()
}
