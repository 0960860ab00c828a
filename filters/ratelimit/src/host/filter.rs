//! The HTTP context: the local bucket first (when the request has one),
//! then, in global mode, one `ShouldRateLimit` call with every matching
//! descriptor while the request waits (`Action::Pause`), decided in
//! `on_grpc_call_response`. Envoy ends the call at `timeout` (the callback
//! then carries a gRPC error), so a request never waits longer.

use super::{Plugin, Stat, Stats, MAX_TRIES};
use crate::bucket::{Limits, View};
use crate::config::HeaderMode;
use crate::descriptor::{self, Selected};
use crate::global::{self, Verdict};
use crate::{headers, rls, table};
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType};
use std::rc::Rc;
use tollgate_common::header::HeaderTarget;
use tollgate_common::host::{self, now_ns, Host, HostHeaders, HostRequest, HostStore, Stage};
use tollgate_common::reply::LocalReply;
use tollgate_common::Request;

pub struct Filter {
    /// This request's context id.
    id: u32,
    plugin: Option<Rc<Plugin>>,
    stats: Stats,
    /// Headers for the upstream's response; emptied when the filter answers
    /// itself (the local reply carries its own), so no response gets them
    /// twice.
    response: Vec<(String, String)>,
    /// The outstanding rate-limit service call.
    pending: Option<u32>,
    /// The local bucket whose headers the response gets, computed when the
    /// response headers pass (as Envoy does); `None` once answered locally.
    local: Option<LocalHeaders>,
}

/// Where the local bucket's headers come from at response time.
struct LocalHeaders {
    descriptor: Option<usize>,
    slot: u32,
    key: String,
    limits: Limits,
    /// The bucket just after the decision: used if the slot no longer
    /// holds the key when the response passes.
    decided: View,
}

/// What the local bucket decided.
enum Local {
    /// No local limit applies, or it let the request through.
    Pass,
    /// The filter answered (429).
    Answered,
}

/// A uniform random u32 from the host (0 if it gives none).
fn draw() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_le_bytes(b)
}

/// A local bucket's refusal with the configuration's `status` and
/// `response_headers_to_add`.
fn limited_reply(config: &crate::config::Config, mut reply: LocalReply) -> LocalReply {
    reply.status = config.limited_status;
    if config.response_headers_to_add.is_empty() {
        return reply;
    }
    let req = Request::new(HostRequest);
    crate::limited::add_headers(reply, &config.response_headers_to_add, &req)
}

impl Filter {
    pub(super) fn new(id: u32, plugin: Option<Rc<Plugin>>, stats: Stats) -> Filter {
        Filter {
            id,
            plugin,
            stats,
            response: Vec::new(),
            pending: None,
            local: None,
        }
    }

    /// Takes a token from the local bucket; `count_allowed` is false when the
    /// service is asked next (its answer is counted instead).
    fn local(&mut self, plugin: &Plugin, sel: &Selected, count_allowed: bool) -> Local {
        let config = &plugin.config;
        let Some(table) = plugin.table(sel.descriptor) else {
            return Local::Pass;
        };
        let out = table::acquire(
            &HostStore,
            table,
            &sel.key,
            &sel.limits,
            now_ns(),
            MAX_TRIES,
        );
        self.stats.add(Stat::CasRetries, out.cas_retries.into());
        if out.evicted {
            self.stats.inc(Stat::KeysEvicted);
        }
        let Some(decision) = out.decision else {
            self.stats.inc(Stat::CasExhausted);
            log::warn!("tollgate.ratelimit: {MAX_TRIES} compare-and-swap attempts lost; denying");
            if !config.filter_enforced.admits(draw) {
                self.stats.inc(Stat::ShadowLimited);
                return Local::Pass;
            }
            let reply = LocalReply::too_many_requests("rate limit state is contended; retry", 1);
            host::send_reply(&limited_reply(config, reply));
            return Local::Answered;
        };
        if decision.allowed {
            if count_allowed {
                self.stats.inc(Stat::Allowed);
            }
        } else if config.filter_enforced.admits(draw) {
            self.stats.inc(Stat::Limited);
            let values = headers::values(
                config.response_headers,
                sel.name,
                &sel.limits,
                &decision.view,
            );
            let reply = values.into_iter().fold(
                LocalReply::too_many_requests(
                    "rate limit exceeded",
                    headers::retry_after(&decision.view),
                ),
                |r, (n, v)| r.with_header(n, v),
            );
            host::send_reply(&limited_reply(config, reply));
            return Local::Answered;
        } else {
            self.stats.inc(Stat::ShadowLimited);
        }
        if config.response_headers != HeaderMode::Off {
            self.local = out.slot.map(|slot| LocalHeaders {
                descriptor: sel.descriptor,
                slot,
                key: sel.key.clone(),
                limits: sel.limits,
                decided: decision.view,
            });
        }
        Local::Pass
    }

    /// The local bucket's headers at response time: the bucket re-read (no
    /// write), so they count refill and other requests since the decision,
    /// as Envoy's do.
    fn local_headers(&mut self) -> Vec<(&'static str, String)> {
        let (Some(local), Some(plugin)) = (self.local.take(), self.plugin.as_ref()) else {
            return Vec::new();
        };
        let config = &plugin.config;
        let view = plugin
            .table(local.descriptor)
            .and_then(|t| {
                table::peek(
                    &HostStore,
                    t,
                    local.slot,
                    &local.key,
                    &local.limits,
                    now_ns(),
                )
            })
            .unwrap_or(local.decided);
        let name = match local.descriptor {
            Some(i) => config.descriptors.get(i).map_or("", |d| d.name.as_str()),
            None => "default",
        };
        headers::values(config.response_headers, name, &local.limits, &view)
    }

    /// Sends the descriptors to the service; pauses until it answers.
    fn ask(&mut self, plugin: &Plugin, descriptors: &[Vec<(&str, String)>]) -> Action {
        let Some(service) = &plugin.config.rate_limit_service else {
            return Action::Continue;
        };
        let message = rls::request(&service.domain, descriptors, service.hits_addend);
        match host::current().dispatch_grpc_call(
            &service.cluster_name,
            rls::SERVICE,
            rls::METHOD,
            &message,
            service.timeout,
        ) {
            Ok(token) => {
                self.pending = Some(token);
                Action::Pause
            }
            Err(status) => self.decide(plugin, Err(format!("call not sent: {status:?}")), false),
        }
    }

    /// Acts on the service's answer; `paused`: the request waits for it.
    fn decide(
        &mut self,
        plugin: &Plugin,
        answer: Result<rls::RateLimitResponse, String>,
        paused: bool,
    ) -> Action {
        let config = &plugin.config;
        let Some(service) = &config.rate_limit_service else {
            return Action::Continue;
        };
        let verdict = global::verdict(answer, service, || config.filter_enforced.admits(draw));
        let s = self.stats;
        match &verdict {
            Verdict::Allow { shadow: false, .. } => (s.inc(Stat::ServiceOk), s.inc(Stat::Allowed)),
            Verdict::Allow { shadow: true, .. } => {
                (s.inc(Stat::ServiceOverLimit), s.inc(Stat::ShadowLimited))
            }
            Verdict::Limit { .. } => (s.inc(Stat::ServiceOverLimit), s.inc(Stat::Limited)),
            Verdict::FailOpen { .. } => {
                (s.inc(Stat::ServiceErrors), s.inc(Stat::FailureModeAllowed))
            }
            Verdict::FailClosed { .. } => {
                (s.inc(Stat::ServiceErrors), s.inc(Stat::FailureModeDenied))
            }
        };
        if let Some(reply) = global::reply(&verdict) {
            if let Verdict::FailClosed { reason, .. } = &verdict {
                log::warn!("tollgate.ratelimit: rate-limit service failed ({reason}); denying");
            }
            self.response.clear();
            self.local = None;
            host::send_reply(&reply);
            return Action::Pause;
        }
        match verdict {
            Verdict::Allow {
                request_headers,
                response_headers,
                ..
            } => {
                let mut h = HostHeaders::request();
                for (name, value) in &request_headers {
                    h.set(name, value);
                }
                self.response.extend(response_headers);
            }
            Verdict::FailOpen { reason } => {
                log::warn!("tollgate.ratelimit: rate-limit service failed ({reason}); allowing");
            }
            Verdict::Limit { .. } | Verdict::FailClosed { .. } => {}
        }
        if paused {
            host::resume_request(self.id);
        }
        Action::Continue
    }
}

/// The ratelimit stage of the chain: the chain routes the service's answer.
impl Stage for Filter {
    fn request_headers(&mut self) -> Action {
        self.on_http_request_headers(0, false)
    }

    fn response_headers(&mut self) {
        self.on_http_response_headers(0, false);
    }

    fn read_grpc_answer(&self, status_code: u32, size: usize) -> Option<Vec<u8>> {
        read_answer(status_code, size)
    }

    fn grpc_call_response(&mut self, token: u32, status: u32, size: usize, body: Option<Vec<u8>>) {
        self.on_service_answer(token, status, size, body);
    }

    /// Global mode: the filter asks the rate-limit service.
    fn calls_service(&self) -> bool {
        self.plugin
            .as_ref()
            .is_some_and(|p| p.config.rate_limit_service.is_some())
    }

    fn pending_call(&self) -> Option<u32> {
        self.pending
    }
}

impl Context for Filter {
    fn on_grpc_call_response(&mut self, token_id: u32, status_code: u32, response_size: usize) {
        let body = read_answer(status_code, response_size);
        self.on_service_answer(token_id, status_code, response_size, body);
    }
}

/// The service's message, read in the callback's context (the host keeps it
/// only for the callback's duration); not read when it is an error or over
/// [`global::MAX_ANSWER_BYTES`] (then it is a failed call).
fn read_answer(status_code: u32, response_size: usize) -> Option<Vec<u8>> {
    if status_code != 0 || response_size > global::MAX_ANSWER_BYTES {
        return None;
    }
    host::current().get_buffer(BufferType::GrpcReceiveBuffer, response_size)
}

impl Filter {
    /// The service's answer to call `token`: its gRPC status and message.
    /// Decides, and resumes or answers the request.
    /// `body`: [`read_answer`]'s.
    fn on_service_answer(
        &mut self,
        token: u32,
        status_code: u32,
        size: usize,
        body: Option<Vec<u8>>,
    ) {
        if self.pending != Some(token) {
            return;
        }
        self.pending = None;
        match self.plugin.clone() {
            Some(plugin) => {
                let answer = global::sized_answer(status_code, size, || body);
                self.decide(&plugin, answer, true);
            }
            None => host::resume_request(self.id),
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let Some(plugin) = self.plugin.clone() else {
            return Action::Continue;
        };
        let config = &plugin.config;
        let req = Request::new(HostRequest);
        // A path some upstream may read otherwise than the descriptors'
        // normalized one could escape a limit there: refused, when enforced.
        let ambiguous =
            req.ambiguous_path_to_refuse(config.ambiguous_path_action, config.has_path_conditions);
        let local = descriptor::select(config, &req);
        let global = match &config.rate_limit_service {
            Some(_) => descriptor::service_descriptors(config, &req),
            None => Vec::new(),
        };
        if (local.is_none() && global.is_empty() && ambiguous.is_none())
            || !config.filter_enabled.admits(draw)
        {
            return Action::Continue;
        }
        if let Some(a) = ambiguous {
            self.stats.inc(Stat::AmbiguousPaths);
            if config.filter_enforced.admits(draw) {
                host::send_reply(&tollgate_common::path::ambiguous_path_reply(a));
                return Action::Pause;
            }
        }
        if let Some(sel) = &local {
            if let Local::Answered = self.local(&plugin, sel, global.is_empty()) {
                return Action::Pause;
            }
        }
        if global.is_empty() {
            return Action::Continue;
        }
        self.ask(&plugin, &global)
    }

    /// While the service decides, the body waits too (a `Continue` here
    /// would let the request through).
    fn on_http_request_body(&mut self, _size: usize, _end_of_stream: bool) -> Action {
        if self.pending.is_some() {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    fn on_http_request_trailers(&mut self, _trailers: usize) -> Action {
        if self.pending.is_some() {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let local = self.local_headers();
        if !local.is_empty() || !self.response.is_empty() {
            let mut h = HostHeaders::response();
            for (name, value) in &local {
                h.set(name, value);
            }
            for (name, value) in std::mem::take(&mut self.response) {
                h.set(&name, &value);
            }
        }
        Action::Continue
    }
}
