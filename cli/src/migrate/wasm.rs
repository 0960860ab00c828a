//! A Tollgate wasm filter entry for `http_filters`, in the form envoy/*.yaml use.

use crate::find::WASM_TYPE;
use crate::module::Module;
use serde_json::{json, Value};

pub fn filter(module: Module, name: &str, module_dir: &str, config: &Value) -> Value {
    let dir = module_dir.trim_end_matches('/');
    json!({
        "name": name,
        "typed_config": {
            "@type": WASM_TYPE,
            "config": {
                "name": name,
                "root_id": name,
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": format!("{dir}/{}.wasm", module.name())}}
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": serde_json::to_string_pretty(config).unwrap_or_default()
                }
            }
        }
    })
}
