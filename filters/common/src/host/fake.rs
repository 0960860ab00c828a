//! A scripted [`Host`] for native tests of the glue: it keeps each context's
//! request and response headers, shared data (a [`MemoryStore`]), counters
//! and a clock, answers calls with tokens 1, 2, ..., and records every call
//! in order. A test plays the host's part: it makes a context current
//! ([`FakeHost::enter`]) before calling that context's callback, and sets
//! the answer a callback reads ([`FakeHost::respond`]).
//! Not used by the modules (the linker drops it from the wasm).

use super::api::Host;
use crate::store::Store;
use crate::testing::{MemoryStore, FAKE_NOW_SECS};
use proxy_wasm::types::{BufferType, MapType, Status};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Pairs = Vec<(String, Vec<u8>)>;

/// One context's header maps and local reply.
#[derive(Default)]
struct Stream {
    request: Pairs,
    response: Pairs,
    reply: Option<Reply>,
}

/// A local reply (`send_http_response`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Default)]
pub struct FakeHost {
    /// Every call, in order, as `name args`.
    log: RefCell<Vec<String>>,
    /// Where [`FakeHost::take_actions`] last stopped.
    seen: Cell<usize>,
    pub store: MemoryStore,
    now_ms: Cell<u64>,
    effective: Cell<u32>,
    streams: RefCell<BTreeMap<u32, Stream>>,
    ended: RefCell<Vec<u32>>,
    tokens: Cell<u32>,
    refusals: Cell<u32>,
    answer: RefCell<(Pairs, Vec<u8>)>,
    grpc_answer: RefCell<Vec<u8>>,
    configuration: RefCell<Vec<u8>>,
    counters: RefCell<Vec<(String, i64)>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<FakeHost>>> = const { RefCell::new(None) };
}

pub(super) fn current() -> Rc<FakeHost> {
    CURRENT.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| Rc::new(FakeHost::new()))
            .clone()
    })
}

/// The calls that act (the rest only read, or count).
const ACTIONS: [&str; 7] = [
    "http_call",
    "grpc_call",
    "effective",
    "resume",
    "reply",
    "tick",
    "refused",
];

impl FakeHost {
    fn new() -> FakeHost {
        let host = FakeHost::default();
        host.now_ms.set(FAKE_NOW_SECS * 1000);
        host
    }

    /// A new host for this thread's glue, at [`FAKE_NOW_SECS`].
    pub fn install() -> Rc<FakeHost> {
        let host = Rc::new(FakeHost::new());
        CURRENT.with(|c| *c.borrow_mut() = Some(host.clone()));
        host
    }

    fn record(&self, call: String) {
        self.log.borrow_mut().push(call);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    /// The acting calls (calls out, context switches, resumes, replies,
    /// tick periods) since the last time.
    pub fn take_actions(&self) -> Vec<String> {
        let log = self.log.borrow();
        let new = log.get(self.seen.get()..).unwrap_or_default();
        self.seen.set(log.len());
        new.iter()
            .filter(|c| ACTIONS.contains(&c.split(' ').next().unwrap_or_default()))
            .cloned()
            .collect()
    }

    /// The host delivers a callback to `ctx` (not recorded).
    pub fn enter(&self, ctx: u32) {
        self.effective.set(ctx);
    }

    pub fn set_request(&self, ctx: u32, headers: &[(&str, &str)]) {
        let pairs = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        self.streams.borrow_mut().entry(ctx).or_default().request = pairs;
    }

    pub fn request_header(&self, ctx: u32, name: &str) -> Option<String> {
        self.header(ctx, MapType::HttpRequestHeaders, name)
    }

    pub fn response_header(&self, ctx: u32, name: &str) -> Option<String> {
        self.header(ctx, MapType::HttpResponseHeaders, name)
    }

    fn header(&self, ctx: u32, map: MapType, name: &str) -> Option<String> {
        let streams = self.streams.borrow();
        let s = streams.get(&ctx)?;
        let pairs = if map == MapType::HttpRequestHeaders {
            &s.request
        } else {
            &s.response
        };
        let v = pairs.iter().find(|(n, _)| n == name)?;
        Some(String::from_utf8_lossy(&v.1).into_owned())
    }

    /// Context `ctx`'s local reply: status, headers, body.
    pub fn reply(&self, ctx: u32) -> Option<Reply> {
        self.streams.borrow().get(&ctx)?.reply.clone()
    }

    /// The HTTP call answer the next callbacks read.
    pub fn respond(&self, headers: &[(&str, &str)], body: &str) {
        let pairs = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        *self.answer.borrow_mut() = (pairs, body.as_bytes().to_vec());
    }

    /// The gRPC message the next callbacks read.
    pub fn respond_grpc(&self, message: Vec<u8>) {
        *self.grpc_answer.borrow_mut() = message;
    }

    /// The next `n` calls out are not sent.
    pub fn refuse_calls(&self, n: u32) {
        self.refusals.set(n);
    }

    /// Context `ctx` has ended: the host refuses to make it effective.
    pub fn end(&self, ctx: u32) {
        self.ended.borrow_mut().push(ctx);
    }

    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.now_ms.set(self.now_ms.get().saturating_add(ms));
    }

    pub fn set_configuration(&self, bytes: &[u8]) {
        *self.configuration.borrow_mut() = bytes.to_vec();
    }

    /// A counter's value by its full name (0 if never defined).
    pub fn counter(&self, name: &str) -> i64 {
        let counters = self.counters.borrow();
        counters.iter().find(|c| c.0 == name).map_or(0, |c| c.1)
    }

    fn map<R>(&self, map: MapType, f: impl FnOnce(&mut Pairs) -> R) -> R {
        if map == MapType::HttpCallResponseHeaders {
            return f(&mut self.answer.borrow_mut().0);
        }
        let mut streams = self.streams.borrow_mut();
        let s = streams.entry(self.effective.get()).or_default();
        match map {
            MapType::HttpResponseHeaders => f(&mut s.response),
            _ => f(&mut s.request),
        }
    }

    fn token(&self) -> Result<u32, Status> {
        if self.refusals.get() > 0 {
            self.refusals.set(self.refusals.get() - 1);
            self.record("refused".into());
            return Err(Status::BadArgument);
        }
        self.tokens.set(self.tokens.get() + 1);
        Ok(self.tokens.get())
    }
}

impl Host for FakeHost {
    fn get_map_value(&self, map: MapType, name: &str) -> Option<Vec<u8>> {
        self.map(map, |m| {
            m.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        })
    }

    fn get_map(&self, map: MapType) -> Vec<(String, Vec<u8>)> {
        self.map(map, |m| m.clone())
    }

    fn set_map_value(&self, map: MapType, name: &str, value: &str) {
        self.record(format!(
            "set_header {} {name}: {value}",
            self.effective.get()
        ));
        self.map(map, |m| {
            m.retain(|(n, _)| n != name);
            m.push((name.to_string(), value.as_bytes().to_vec()));
        });
    }

    fn add_map_value(&self, map: MapType, name: &str, value: &str) {
        self.record(format!(
            "add_header {} {name}: {value}",
            self.effective.get()
        ));
        self.map(map, |m| {
            m.push((name.to_string(), value.as_bytes().to_vec()))
        });
    }

    fn remove_map_value(&self, map: MapType, name: &str) {
        self.record(format!("remove_header {} {name}", self.effective.get()));
        self.map(map, |m| m.retain(|(n, _)| n != name));
    }

    fn get_property(&self, path: Vec<&str>) -> Option<Vec<u8>> {
        (path == ["source", "address"]).then(|| b"10.1.2.3:4567".to_vec())
    }

    fn get_buffer(&self, buffer: BufferType, max: usize) -> Option<Vec<u8>> {
        let mut bytes = match buffer {
            BufferType::PluginConfiguration => self.configuration.borrow().clone(),
            BufferType::HttpCallResponseBody => self.answer.borrow().1.clone(),
            BufferType::GrpcReceiveBuffer => self.grpc_answer.borrow().clone(),
            _ => return None,
        };
        bytes.truncate(max);
        Some(bytes)
    }

    fn define_counter(&self, name: &str) -> Option<u32> {
        let mut counters = self.counters.borrow_mut();
        let i = match counters.iter().position(|c| c.0 == name) {
            Some(i) => i,
            None => {
                counters.push((name.to_string(), 0));
                counters.len() - 1
            }
        };
        u32::try_from(i).ok()
    }

    fn increment_counter(&self, id: u32, n: i64) {
        let mut counters = self.counters.borrow_mut();
        if let Some(c) = usize::try_from(id).ok().and_then(|i| counters.get_mut(i)) {
            c.1 += n;
        }
    }

    fn get_shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        self.store.get(key)
    }

    fn set_shared_data(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        self.record(format!("set_shared {key}"));
        self.store.set(key, value, cas)
    }

    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.now_ms.get())
    }

    fn set_tick_period(&self, period: Duration) {
        self.record(format!("tick {}ms", period.as_millis()));
    }

    fn set_effective_context(&self, ctx: u32) -> bool {
        if self.ended.borrow().contains(&ctx) {
            self.record(format!("refused effective {ctx}"));
            return false;
        }
        self.record(format!("effective {ctx}"));
        self.effective.set(ctx);
        true
    }

    fn resume_http_request(&self) {
        self.record(format!("resume {}", self.effective.get()));
    }

    fn send_http_response(&self, status: u32, headers: Vec<(&str, &str)>, body: &[u8]) {
        let ctx = self.effective.get();
        self.record(format!("reply {ctx} {status}"));
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let body = String::from_utf8_lossy(body).into_owned();
        let mut streams = self.streams.borrow_mut();
        streams.entry(ctx).or_default().reply = Some(Reply {
            status,
            headers,
            body,
        });
    }

    fn dispatch_http_call(
        &self,
        cluster: &str,
        headers: Vec<(&str, &str)>,
        _timeout: Duration,
    ) -> Result<u32, Status> {
        let path = headers.iter().find(|h| h.0 == ":path").map_or("", |h| h.1);
        self.record(format!("http_call {cluster} {path}"));
        self.token()
    }

    fn dispatch_grpc_call(
        &self,
        cluster: &str,
        service: &str,
        method: &str,
        _message: &[u8],
        _timeout: Duration,
    ) -> Result<u32, Status> {
        self.record(format!("grpc_call {cluster} {service}/{method}"));
        self.token()
    }
}
