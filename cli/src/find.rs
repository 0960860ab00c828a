//! Finding Tollgate filter configurations in Envoy and Istio files: every
//! Envoy wasm filter (bootstrap, LDS or ECDS resource, a `config_discovery`
//! default) whose code or root id names a Tollgate module, and every Istio
//! `WasmPlugin` whose `url` or `pluginName` does.

use crate::module::Module;
use serde_json::Value;

pub const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const STRING_VALUE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// One plugin configuration as the module would receive it.
pub struct Target {
    /// Where it is, for the user: `filter "tollgate.auth"`, `WasmPlugin tollgate-auth`.
    pub place: String,
    pub module: Module,
    /// The plugin configuration bytes, or why they cannot be had.
    pub config: Result<Vec<u8>, String>,
    /// The VM's environment variables.
    pub env: Vec<(String, String)>,
}

/// The Tollgate configurations in one document.
pub fn targets(doc: &Value) -> Vec<Target> {
    let mut out = Vec::new();
    if doc.get("kind").and_then(Value::as_str) == Some("WasmPlugin") {
        out.extend(wasm_plugin(doc));
    } else {
        walk(doc, None, &mut out);
    }
    out
}

fn walk(v: &Value, name: Option<&str>, out: &mut Vec<Target>) {
    match v {
        Value::Object(o) => {
            if o.get("@type").and_then(Value::as_str) == Some(WASM_TYPE) {
                let config = o.get("config").unwrap_or(&Value::Null);
                out.extend(envoy_wasm(config, name));
                return;
            }
            // A filter or extension config names what its typed_config holds.
            let own = o.get("name").and_then(Value::as_str);
            for (k, child) in o {
                walk(child, if k == "typed_config" { own } else { None }, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| walk(c, None, out)),
        _ => {}
    }
}

/// Envoy's `envoy.extensions.wasm.v3.PluginConfig`.
fn envoy_wasm(config: &Value, filter_name: Option<&str>) -> Option<Target> {
    let vm = config.get("vm_config").unwrap_or(&Value::Null);
    let code = vm.get("code").unwrap_or(&Value::Null);
    let location = code
        .pointer("/local/filename")
        .or_else(|| code.pointer("/remote/http_uri/uri"))
        .and_then(Value::as_str);
    let root_id = config.get("root_id").and_then(Value::as_str).unwrap_or("");
    let module = location
        .and_then(Module::from_location)
        .or_else(|| Module::from_root_id(root_id))?;
    let name = filter_name
        .or_else(|| config.get("name").and_then(Value::as_str))
        .unwrap_or(root_id);
    let mut env: Vec<(String, String)> = Vec::new();
    let vars = vm.get("environment_variables").unwrap_or(&Value::Null);
    if let Some(Value::Object(kv)) = vars.get("key_values") {
        env.extend(kv.iter().map(|(k, v)| (k.clone(), text(v))));
    }
    // host_env_keys copy Envoy's own environment: here, the caller's.
    for key in vars
        .get("host_env_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(key) = key.as_str() {
            if let Ok(value) = std::env::var(key) {
                env.push((key.to_string(), value));
            }
        }
    }
    let configuration = match config.get("configuration") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(any) => match any.get("@type").and_then(Value::as_str) {
            Some(STRING_VALUE) => Ok(any.get("value").map(text).unwrap_or_default().into_bytes()),
            other => Err(format!(
                "configuration: a {} is not read; give the JSON as a {STRING_VALUE}",
                other.unwrap_or("value without @type")
            )),
        },
    };
    Some(Target {
        place: format!("filter \"{name}\""),
        module,
        config: configuration,
        env,
    })
}

/// Istio's `extensions.istio.io/v1alpha1` WasmPlugin.
fn wasm_plugin(doc: &Value) -> Option<Target> {
    let spec = doc.get("spec").unwrap_or(&Value::Null);
    let url = spec.get("url").and_then(Value::as_str).unwrap_or("");
    let plugin_name = spec.get("pluginName").and_then(Value::as_str).unwrap_or("");
    let module = Module::from_location(url).or_else(|| Module::from_root_id(plugin_name))?;
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut env = Vec::new();
    for var in spec
        .pointer("/vmConfig/env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(key) = var.get("name").and_then(Value::as_str) else {
            continue;
        };
        // valueFrom: INLINE (the default) carries `value`; HOST copies the
        // proxy's environment (here, the caller's).
        let value = match var.get("valueFrom").and_then(Value::as_str) {
            Some("HOST") => std::env::var(key).ok(),
            _ => var.get("value").map(text),
        };
        if let Some(value) = value {
            env.push((key.to_string(), value));
        }
    }
    // Istio hands pluginConfig to the filter as JSON text.
    let config = match spec.get("pluginConfig") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => v.to_string().into_bytes(),
    };
    Some(Target {
        place: format!("WasmPlugin {name}"),
        module,
        config: Ok(config),
        env,
    })
}

/// A scalar as the text Envoy would read (a YAML number or bool given for a
/// string field is its text).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
