//! Envoy bootstraps for tests: generated ones (one listener, an HTTP
//! connection manager with the filters under test, a route to the echo
//! upstream) and the user-facing files in `envoy/` with their fixed ports and
//! paths substituted.

use serde_json::{json, Value};

pub struct Bootstrap {
    pub listener_port: u16,
    pub admin_port: u16,
    pub upstream_port: u16,
    pub concurrency: u32,
    filters: Vec<Value>,
    direct: Vec<(String, u16, String)>,
    clusters: Vec<Value>,
    /// Merged into the catch-all route (route-level options).
    route_extra: Value,
    /// Envoy's own environment (what `host_env_keys` hands a wasm VM).
    pub envoy_env: Vec<(String, String)>,
}

impl Bootstrap {
    pub fn new(upstream_port: u16) -> Bootstrap {
        Bootstrap {
            listener_port: crate::free_port(),
            admin_port: crate::free_port(),
            upstream_port,
            concurrency: 1,
            filters: vec![],
            direct: vec![],
            clusters: vec![],
            route_extra: json!({}),
            envoy_env: vec![],
        }
    }

    /// Sets a variable in Envoy's process environment.
    pub fn envoy_env(mut self, name: &str, value: &str) -> Bootstrap {
        self.envoy_env.push((name.into(), value.into()));
        self
    }

    /// Add a Tollgate module (`dist/<module>.wasm`) with its JSON configuration.
    pub fn wasm(self, module: &str, config: &Value) -> Bootstrap {
        self.wasm_text(module, &config.to_string())
    }

    /// Like [`Bootstrap::wasm`] with the configuration as raw text (which need
    /// not be valid JSON: bad-configuration tests).
    pub fn wasm_text(self, module: &str, config: &str) -> Bootstrap {
        let filter = wasm_filter(module, config);
        self.filter(filter)
    }

    /// Add any HTTP filter (before the router), e.g. a native one.
    pub fn filter(mut self, filter: Value) -> Bootstrap {
        self.filters.push(filter);
        self
    }

    /// Routes under `prefix` get a local reply from Envoy's router
    /// (`direct_response`) instead of reaching the upstream.
    pub fn direct_response(mut self, prefix: &str, status: u16, body: &str) -> Bootstrap {
        self.direct.push((prefix.into(), status, body.into()));
        self
    }

    /// Add a cluster besides `upstream`, e.g. [`crate::rls::RateLimitService::cluster`].
    pub fn cluster(mut self, cluster: Value) -> Bootstrap {
        self.clusters.push(cluster);
        self
    }

    /// Route-level options for the catch-all route, merged into it (objects
    /// member by member): `{"request_headers_to_add": [...]}`, or
    /// `{"route": {"rate_limits": [...]}}` for the route action.
    pub fn route_options(mut self, extra: Value) -> Bootstrap {
        merge(&mut self.route_extra, extra);
        self
    }

    pub fn concurrency(mut self, n: u32) -> Bootstrap {
        self.concurrency = n;
        self
    }

    pub fn to_json(&self) -> Value {
        let mut filters = self.filters.clone();
        filters.push(json!({
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
        }));
        let mut routes: Vec<Value> = self
            .direct
            .iter()
            .map(|(prefix, status, body)| {
                json!({"match": {"prefix": prefix},
                       "direct_response": {"status": status, "body": {"inline_string": body}}})
            })
            .collect();
        let mut catch_all =
            json!({"match": {"prefix": "/"}, "route": {"cluster": "upstream", "timeout": "10s"}});
        merge(&mut catch_all, self.route_extra.clone());
        routes.push(catch_all);
        json!({
            "admin": {"address": socket(self.admin_port)},
            "static_resources": {
                "listeners": [{
                    "name": "main",
                    "address": socket(self.listener_port),
                    "filter_chains": [{"filters": [{
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                            "stat_prefix": "ingress",
                            "codec_type": "AUTO",
                            "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
                            "http_filters": filters
                        }
                    }]}]
                }],
                "clusters": std::iter::once(cluster("upstream", self.upstream_port))
                    .chain(self.clusters.iter().cloned())
                    .collect::<Vec<Value>>()
            }
        })
    }
}

/// Merges `extra` into `base`: objects member by member, anything else replaced.
fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

pub fn socket(port: u16) -> Value {
    json!({"socket_address": {"address": "127.0.0.1", "port_value": port}})
}

/// A static cluster at 127.0.0.1:port.
pub fn cluster(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": socket(port)}}
        ]}]}
    })
}

/// The Envoy wasm HTTP filter running `dist/<module>.wasm` with `config`
/// (JSON text) as its plugin configuration, the way `envoy/*.yaml` do.
///
/// With `TOLLGATE_ONE_VM=1` a filter's tests run against the one-VM module
/// instead: `dist/tollgate.wasm` configured `{"<module>": config}`, so the
/// same tests show both behave the same. Text that is not JSON cannot be a
/// member of that object; it still goes to the filter's own module.
pub fn wasm_filter(module: &str, config: &str) -> Value {
    let name = format!("tollgate.{module}");
    let embedded = one_vm()
        .then(|| serde_json::from_str::<Value>(config).ok())
        .flatten()
        .filter(|_| EMBEDDED.contains(&module));
    let mut filter = match embedded {
        Some(value) => {
            let config = json!({ module: value }).to_string();
            wasm_filter_at(&crate::module("tollgate"), &name, &config)
        }
        None => wasm_filter_at(&crate::module(module), &name, config),
    };
    // One VM per module, shared by every filter instance of it (as in envoy/*.yaml).
    filter["typed_config"]["config"]["vm_config"]["vm_id"] = Value::from(name);
    filter
}

/// The filters the one-VM module (`dist/tollgate.wasm`) embeds.
pub const EMBEDDED: [&str; 3] = ["auth", "ratelimit", "headers"];

/// Whether filters run in the one-VM module (`TOLLGATE_ONE_VM=1`).
pub fn one_vm() -> bool {
    std::env::var("TOLLGATE_ONE_VM").is_ok_and(|v| v == "1")
}

/// Fixed ports used by the files in `envoy/` (what a user gets when running
/// `envoy -c envoy/<file>.yaml` from the repository root).
pub const FILE_LISTENER_PORT: u16 = 10000;
pub const FILE_ADMIN_PORT: u16 = 9901;
pub const FILE_UPSTREAM_PORT: u16 = 18080;
/// The rate-limit service's port in `envoy/ratelimit-global.yaml`.
pub const FILE_RLS_PORT: u16 = 8081;

/// A user-facing file from `envoy/`, with its fixed ports replaced by free ones
/// (upstream: `upstream_port`) and `dist/` made absolute. Returns the text and
/// the listener and admin ports.
pub fn user_file(name: &str, upstream_port: u16) -> (String, u16, u16) {
    let path = crate::repo_root().join("envoy").join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let (listener, admin) = (crate::free_port(), crate::free_port());
    let dist = format!("{}/", crate::dist_dir().display());
    let text = text
        .replace(
            &format!("port_value: {FILE_LISTENER_PORT}"),
            &format!("port_value: {listener}"),
        )
        .replace(
            &format!("port_value: {FILE_ADMIN_PORT}"),
            &format!("port_value: {admin}"),
        )
        .replace(
            &format!("port_value: {FILE_UPSTREAM_PORT}"),
            &format!("port_value: {upstream_port}"),
        )
        .replace("filename: dist/", &format!("filename: {dist}"));
    (text, listener, admin)
}

/// A static cluster at 127.0.0.1:port that speaks HTTP/2 to its endpoint, as
/// gRPC services need (e.g. the rate-limit service, [`crate::rls`]).
pub fn grpc_cluster(name: &str, port: u16) -> Value {
    let mut cluster = cluster(name, port);
    cluster["typed_extension_protocol_options"] = json!({
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}}
        }
    });
    cluster
}

/// [`user_file`] that also points the rate-limit service's cluster
/// (`port_value: 8081`) at `rls_port`.
pub fn user_file_with_rls(name: &str, upstream_port: u16, rls_port: u16) -> (String, u16, u16) {
    let (text, listener, admin) = user_file(name, upstream_port);
    let text = text.replace(
        &format!("port_value: {FILE_RLS_PORT}"),
        &format!("port_value: {rls_port}"),
    );
    (text, listener, admin)
}

/// The wasm HTTP filter as Istio writes it for a WasmPlugin: any module file
/// (`path`), the plugin's `pluginName` as `root_id`, no `vm_id`, and the
/// `pluginConfig` as JSON text. Filters must not depend on the root id.
pub fn wasm_filter_at(path: &std::path::Path, root_id: &str, config: &str) -> Value {
    json!({
        "name": root_id,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": root_id,
                "root_id": root_id,
                "vm_config": {
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": path.display().to_string()}}
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config
                }
            }
        }
    })
}
