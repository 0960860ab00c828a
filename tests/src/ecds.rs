//! Filters delivered as istiod delivers a `WasmPlugin` (read in istio/istio
//! pilot/pkg/model/extensions.go and pilot/pkg/networking/core/extension,
//! not copied): the HTTP connection manager holds no filter configuration,
//! only `config_discovery` naming an ECDS resource
//! `extensions.istio.io/wasmplugin/<namespace>.<name>` of type Wasm (or
//! RBAC, which istio-agent substitutes when a module cannot be fetched), and
//! the resource is a Wasm filter named `<namespace>.<name>` with the plugin's
//! `pluginName` as root id, the `pluginConfig` as JSON text, no `vm_id`, the
//! module as the local file istio-agent hands Envoy, `vmConfig.env` in
//! `environment_variables` beside `ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION`,
//! and `failStrategy` as `failure_policy`.
//!
//! istiod serves the resources over ADS; here each is a file served with
//! `path_config_source` and rewritten by rename, as [`crate::lds`] does for
//! listeners. Istio's initial fetch timeout of 0 (requests wait until the
//! plugin is there: it may be security-critical) is kept.
//!
//! [`reshape`] turns any bootstrap's inline wasm filters into this form
//! (`TOLLGATE_ISTIO=1`, a pass of `cargo xtask test`), and adds the HTTP
//! filters of Envoy that Istio puts in the chain after the AUTHN and AUTHZ
//! phases (`envoy.filters.http.rbac`, `grpc_stats`, `fault`, `cors`). Istio's
//! own filters (`istio.metadata_exchange`, `istio_authn`, `istio.stats`) are
//! in Istio's proxy build only and are left out.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
pub const RBAC_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
const EXTENSION_TYPE: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";
const HCM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/// Whether this run delivers filters as istiod does (`TOLLGATE_ISTIO=1`).
pub fn istio_shape() -> bool {
    std::env::var("TOLLGATE_ISTIO").is_ok_and(|v| v == "1")
}

/// The ECDS resource name istiod gives WasmPlugin `name` in `default`.
pub fn resource_name(name: &str) -> String {
    format!("extensions.istio.io/wasmplugin/default.{name}")
}

/// One ECDS resource in a watched directory.
pub struct EcdsFile {
    dir: PathBuf,
    name: String,
    version: u64,
}

impl EcdsFile {
    /// Serves `typed_config` (a Wasm or RBAC filter configuration) as
    /// resource `name` from a new directory under `parent`.
    pub fn new(parent: &Path, name: &str, typed_config: &Value) -> EcdsFile {
        let dir = parent.join(format!("ecds-{}", sanitize(name)));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut file = EcdsFile {
            dir,
            name: name.to_string(),
            version: 0,
        };
        file.replace(typed_config);
        file
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("ecds.json")
    }

    /// The next version of the resource: written beside the file, then
    /// renamed over it (only a move is atomic to Envoy's watcher).
    pub fn replace(&mut self, typed_config: &Value) {
        self.version += 1;
        let response = json!({
            "version_info": format!("v{}", self.version),
            "resources": [{
                "@type": EXTENSION_TYPE,
                "name": self.name,
                "typed_config": typed_config
            }]
        });
        let tmp = self.dir.join(format!("ecds.json.{}.tmp", self.version));
        std::fs::write(&tmp, response.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
        std::fs::rename(&tmp, self.path()).unwrap_or_else(|e| panic!("rename to ecds.json: {e}"));
    }

    /// The HTTP filter istiod puts in the connection manager for it.
    pub fn http_filter(&self) -> Value {
        json!({
            "name": self.name,
            "config_discovery": {
                "config_source": {
                    "resource_api_version": "V3",
                    "initial_fetch_timeout": "0s",
                    "path_config_source": {
                        "path": self.path().display().to_string(),
                        "watched_directory": {"path": self.dir.display().to_string()}
                    }
                },
                "type_urls": [WASM_TYPE, RBAC_TYPE]
            }
        })
    }

    /// Envoy's counters for this resource:
    /// `extension_config_discovery.http_filter.<name>.<counter>`.
    pub fn stat(&self, counter: &str) -> String {
        format!(
            "extension_config_discovery.http_filter.{}.{counter}",
            self.name
        )
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The variable in which istiod gives a VM its WasmPlugin's resource version.
const RESOURCE_VERSION_ENV: &str = "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION";

/// The node of a sidecar (xDS subscriptions need one).
pub fn sidecar_node() -> Value {
    json!({
        "id": "sidecar~127.0.0.1~tollgate.default~default.svc.cluster.local",
        "cluster": "tollgate.default"
    })
}

/// The Wasm filter configuration istiod builds for WasmPlugin `name` with
/// `pluginName` `root_id`: `module` is the file istio-agent fetched,
/// `vm_env` the plugin's `vmConfig.env` (null for none), `version` the
/// resource version Istio adds to the environment (a changed WasmPlugin is a
/// new version, so a new VM), `fail_open` its `failStrategy`.
pub fn plugin_config(
    name: &str,
    root_id: &str,
    module: &Path,
    config: &str,
    vm_env: &Value,
    version: u64,
    fail_open: bool,
) -> Value {
    json!({
        "@type": WASM_TYPE,
        "config": {
            "name": format!("default.{name}"),
            "root_id": root_id,
            "vm_config": {
                "runtime": "envoy.wasm.runtime.v8",
                "code": {"local": {"filename": module.display().to_string()}},
                "environment_variables": environment_variables(vm_env, version)
            },
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": config
            },
            "failure_policy": if fail_open { "FAIL_OPEN" } else { "FAIL_CLOSED" }
        }
    })
}

/// The RBAC filter istio-agent serves instead of a module it cannot fetch:
/// deny-all for `FAIL_CLOSE`, allow-all for `FAIL_OPEN`.
pub fn substitute(fail_open: bool) -> Value {
    let rules = if fail_open {
        json!({"action": "ALLOW", "policies": {"allow-all": {
            "permissions": [{"any": true}], "principals": [{"any": true}]}}})
    } else {
        json!({"action": "DENY", "policies": {"deny-all": {
            "permissions": [{"any": true}], "principals": [{"any": true}]}}})
    };
    json!({"@type": RBAC_TYPE, "rules": rules})
}

/// Envoy's own filters that Istio places after the AUTHN and AUTHZ phases:
/// an RBAC filter with an ALLOW policy for everyone (an AuthorizationPolicy
/// that allows all), then `grpc_stats`, `fault` and `cors`, which do nothing
/// to these requests but sit in the chain as in a sidecar.
fn istio_filters() -> Vec<Value> {
    vec![
        json!({"name": "envoy.filters.http.rbac", "typed_config": {"@type": RBAC_TYPE,
            "rules": {"action": "ALLOW", "policies": {"allow-all": {
                "permissions": [{"any": true}], "principals": [{"any": true}]}}}}}),
        json!({"name": "envoy.filters.http.grpc_stats", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
            "emit_filter_state": true}}),
        json!({"name": "envoy.filters.http.fault", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"}}),
        json!({"name": "envoy.filters.http.cors", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}),
    ]
}

/// Rewrites every inline wasm HTTP filter of `config` (a bootstrap) into an
/// ECDS-delivered one whose resource is written under `dir`, with the
/// plugin configuration istiod would build from it, and adds Istio's Envoy
/// filters after the last of them. The files must outlive Envoy.
pub fn reshape(config: &mut Value, dir: &Path) {
    if !config["node"].is_object() {
        config["node"] = sidecar_node();
    }
    let mut n = 0;
    let listeners = config["static_resources"]["listeners"]
        .as_array_mut()
        .map(|v| v.iter_mut().collect::<Vec<_>>())
        .unwrap_or_default();
    for listener in listeners {
        let Some(chains) = listener["filter_chains"].as_array_mut() else {
            continue;
        };
        for chain in chains {
            let Some(filters) = chain["filters"].as_array_mut() else {
                continue;
            };
            for f in filters {
                if f["typed_config"]["@type"] != HCM_TYPE {
                    continue;
                }
                let Some(http) = f["typed_config"]["http_filters"].as_array_mut() else {
                    continue;
                };
                let mut out = Vec::new();
                let mut last_wasm = None;
                for h in http.drain(..) {
                    if h["typed_config"]["@type"] != WASM_TYPE {
                        out.push(h);
                        continue;
                    }
                    n += 1;
                    let plugin = &h["typed_config"]["config"];
                    let root_id = plugin["root_id"].as_str().unwrap_or_default();
                    let name = format!("tollgate-{n}");
                    let mut resource = plugin_like(plugin, &name);
                    resource["config"]["root_id"] = Value::from(root_id);
                    let file = EcdsFile::new(dir, &resource_name(&name), &resource);
                    out.push(file.http_filter());
                    last_wasm = Some(out.len());
                }
                if let Some(at) = last_wasm {
                    for (i, extra) in istio_filters().into_iter().enumerate() {
                        out.insert(at + i, extra);
                    }
                }
                *http = out;
            }
        }
    }
}

/// `plugin` (an inline PluginConfig) as istiod would have built it: the
/// same module, configuration, environment and failure policy, Istio's name
/// and resource version, and no `vm_id` (istiod sets none).
fn plugin_like(plugin: &Value, name: &str) -> Value {
    let mut resource = json!({"@type": WASM_TYPE, "config": plugin.clone()});
    let c = &mut resource["config"];
    c["name"] = Value::from(format!("default.{name}"));
    if let Some(vm) = c["vm_config"].as_object_mut() {
        vm.remove("vm_id");
    }
    let env = &mut c["vm_config"]["environment_variables"]["key_values"];
    if !env.is_object() {
        *env = json!({});
    }
    env[RESOURCE_VERSION_ENV] = Value::from("1");
    resource
}

/// A WasmPlugin's `vmConfig.env` as istiod hands it to Envoy's
/// `vm_config.environment_variables`: inline values (`value`, the default
/// source) as `key_values`, `valueFrom: HOST` names as `host_env_keys` (read
/// from the proxy's own environment), beside the resource version.
pub fn environment_variables(vm_env: &Value, version: u64) -> Value {
    let mut key_values = serde_json::Map::new();
    key_values.insert(
        RESOURCE_VERSION_ENV.into(),
        Value::from(version.to_string()),
    );
    let mut host = Vec::new();
    for e in vm_env.as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        match e["valueFrom"].as_str() {
            Some("HOST") => host.push(Value::from(name)),
            _ => {
                key_values.insert(name, e["value"].clone());
            }
        }
    }
    json!({"key_values": key_values, "host_env_keys": host})
}
