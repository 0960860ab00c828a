//! One scenario as an Envoy bootstrap (JSON, which Envoy reads like YAML).

use std::path::Path;

use serde_json::{json, Value};

use super::scenarios::{Filter, Scenario};

/// The Envoy bootstrap for `s`: one listener, the scenario's filters, the
/// router, and the upstream cluster.
pub fn bootstrap(s: &Scenario, dist: &Path, listener: u16, admin: u16, upstream: u16) -> Value {
    let mut filters: Vec<Value> = s.filters.iter().map(|f| filter_json(f, dist)).collect();
    filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
    }));
    let socket =
        |port: u16| json!({"socket_address": {"address": "127.0.0.1", "port_value": port}});
    json!({
        "admin": {"address": socket(admin)},
        "static_resources": {
            "listeners": [{
                "name": "main",
                "address": socket(listener),
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "bench",
                        "codec_type": "AUTO",
                        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                            {"match": {"prefix": "/"}, "route": {"cluster": "upstream", "timeout": "10s"}}
                        ]}]},
                        "http_filters": filters
                    }
                }]}]
            }],
            "clusters": [{
                "name": "upstream",
                "type": "STATIC",
                "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [
                    {"endpoint": {"address": socket(upstream)}}
                ]}]}
            }]
        }
    })
}

/// A scenario's module configuration as the plugin gets it: JSON, except
/// that a string is passed as its text (the no-op filter's word) and null
/// as nothing.
pub fn plugin_configuration(config: &Value) -> String {
    match config {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn filter_json(f: &Filter, dist: &Path) -> Value {
    match f {
        Filter::Wasm { module, config } => {
            let name = format!("tollgate.{module}");
            let text = plugin_configuration(config);
            json!({
                "name": name,
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                    "config": {
                        "name": name,
                        "root_id": name,
                        "vm_config": {
                            "vm_id": name,
                            "runtime": "envoy.wasm.runtime.v8",
                            "code": {"local": {"filename": dist.join(format!("{module}.wasm"))}}
                        },
                        "configuration": {
                            "@type": "type.googleapis.com/google.protobuf.StringValue",
                            "value": text
                        }
                    }
                }
            })
        }
        Filter::Native {
            name,
            type_name,
            config,
        } => {
            let mut typed = config.clone();
            typed["@type"] = json!(format!(
                "type.googleapis.com/envoy.extensions.filters.http.{type_name}"
            ));
            json!({"name": name, "typed_config": typed})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::scenarios::{all, modules};
    use super::*;

    #[test]
    fn bootstrap_ends_with_the_router_and_names_modules_by_path() {
        let all = all();
        let s = all
            .iter()
            .find(|s| s.name == "chain")
            .expect("a chain scenario");
        let b = bootstrap(s, Path::new("/d"), 1, 2, 3);
        let hcm = &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0];
        let filters = hcm["typed_config"]["http_filters"].as_array().cloned();
        let filters = filters.unwrap_or_default();
        assert_eq!(filters.len(), 4);
        assert_eq!(filters[3]["name"], "envoy.filters.http.router");
        let code = &filters[0]["typed_config"]["config"]["vm_config"]["code"]["local"];
        assert_eq!(code["filename"], "/d/auth.wasm");
        assert_eq!(modules(&[s]), vec!["auth", "headers", "ratelimit"]);
    }
}
