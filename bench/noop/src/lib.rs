//! The bench's floor: the cheapest proxy-wasm HTTP filter, so that what a
//! Tollgate filter costs above it is its own work, not the ABI crossing.
//!
//! With an empty configuration both header callbacks return `Continue` and
//! touch nothing. With the configuration `add-response-header` the response
//! gets `x-noop: 1` (one host call), the "trivial filter adding one response
//! header" of the team's baseline. With `probe KIND N` each request makes N
//! host calls of one kind (the bench's `probe-*` scenarios), which prices a
//! single host call in Envoy: (added CPU - the floor's) / N.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType};

/// The configuration that turns on the one response header.
pub const ADD_RESPONSE_HEADER: &[u8] = b"add-response-header";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { mode: Mode::default(), metric: None }) });
}}

/// One kind of host call for `probe KIND N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// `increment_metric` on a counter.
    Metric,
    /// `get_map_value` of one request header (`user-agent`).
    Header,
    /// `get_map_pairs`: the whole request header map.
    Headers,
    /// `get_property` of `source.address`.
    Property,
    /// `get_current_time`.
    Time,
    /// `get_shared_data` of a key nobody sets.
    Shared,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    pub add_header: bool,
    pub probe: Option<(Probe, u32)>,
}

/// The mode a plugin configuration asks for (surrounding whitespace
/// ignored; anything else means a pure no-op).
pub fn mode(config: Option<&[u8]>) -> Mode {
    let text = config.map(<[u8]>::trim_ascii).unwrap_or_default();
    if text == ADD_RESPONSE_HEADER {
        return Mode {
            add_header: true,
            probe: None,
        };
    }
    let words: Vec<&[u8]> = text.split(|b| *b == b' ').collect();
    let probe = match words.as_slice() {
        [b"probe", kind, n] => {
            let kind = match *kind {
                b"metric" => Probe::Metric,
                b"header" => Probe::Header,
                b"headers" => Probe::Headers,
                b"property" => Probe::Property,
                b"time" => Probe::Time,
                b"shared" => Probe::Shared,
                _ => return Mode::default(),
            };
            let n = std::str::from_utf8(n).ok().and_then(|n| n.parse().ok());
            n.map(|n| (kind, n))
        }
        _ => None,
    };
    Mode {
        add_header: false,
        probe,
    }
}

struct Root {
    mode: Mode,
    /// The probe's counter, defined once.
    metric: Option<u32>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.mode = mode(self.get_plugin_configuration().as_deref());
        if let Some((Probe::Metric, _)) = self.mode.probe {
            self.metric = hostcalls::define_metric(MetricType::Counter, "noop.probe").ok();
        }
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Noop {
            mode: self.mode,
            metric: self.metric,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Noop {
    mode: Mode,
    metric: Option<u32>,
}

impl Context for Noop {}

impl HttpContext for Noop {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some((kind, n)) = self.mode.probe {
            for _ in 0..n {
                probe(kind, self.metric);
            }
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if self.mode.add_header {
            self.add_http_response_header("x-noop", "1");
        }
        Action::Continue
    }
}

/// One host call of `kind`; its result is dropped.
fn probe(kind: Probe, metric: Option<u32>) {
    let request = MapType::HttpRequestHeaders;
    let _ = match kind {
        Probe::Metric => metric.map_or(Ok(()), |id| hostcalls::increment_metric(id, 1)),
        Probe::Header => hostcalls::get_map_value_bytes(request, "user-agent").map(drop),
        Probe::Headers => hostcalls::get_map_bytes(request).map(drop),
        Probe::Property => hostcalls::get_property(vec!["source", "address"]).map(drop),
        Probe::Time => hostcalls::get_current_time().map(drop),
        Probe::Shared => hostcalls::get_shared_data("noop.probe").map(drop),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_word_adds_a_header() {
        assert!(mode(Some(b"add-response-header")).add_header);
        assert!(mode(Some(b" add-response-header\n")).add_header);
        assert_eq!(mode(None), Mode::default());
        assert_eq!(mode(Some(b"")), Mode::default());
        assert_eq!(mode(Some(b"{}")), Mode::default());
    }

    #[test]
    fn probes_name_a_kind_and_a_count() {
        assert_eq!(
            mode(Some(b"probe property 50")).probe,
            Some((Probe::Property, 50))
        );
        assert_eq!(
            mode(Some(b"probe headers 1\n")).probe,
            Some((Probe::Headers, 1))
        );
        assert_eq!(mode(Some(b"probe nothing 50")), Mode::default());
        assert_eq!(mode(Some(b"probe time")), Mode::default());
        assert_eq!(mode(Some(b"probe time -1")), Mode::default());
    }
}
