//! A Tollgate wasm filter entry for `http_filters`, in the form and field
//! order envoy/*.yaml use.

use crate::find::WASM_TYPE;
use crate::module::Module;
use serde::Serialize;
use serde_json::Value;

// Structs, not a JSON object, so the fields come out in this order.
#[derive(Serialize)]
struct Filter {
    name: String,
    typed_config: Typed,
}

#[derive(Serialize)]
struct Typed {
    #[serde(rename = "@type")]
    type_url: &'static str,
    config: Plugin,
}

#[derive(Serialize)]
struct Plugin {
    name: String,
    root_id: String,
    vm_config: Vm,
    configuration: StringValue,
}

#[derive(Serialize)]
struct Vm {
    vm_id: String,
    runtime: &'static str,
    code: Value,
}

#[derive(Serialize)]
struct StringValue {
    #[serde(rename = "@type")]
    type_url: &'static str,
    value: String,
}

pub fn filter(
    module: Module,
    name: &str,
    module_dir: &str,
    config: &Value,
) -> serde_yaml_ng::Value {
    let dir = module_dir.trim_end_matches('/');
    let filter = Filter {
        name: name.into(),
        typed_config: Typed {
            type_url: WASM_TYPE,
            config: Plugin {
                name: name.into(),
                root_id: name.into(),
                vm_config: Vm {
                    vm_id: name.into(),
                    runtime: "envoy.wasm.runtime.v8",
                    code: serde_json::json!({"local": {"filename": format!("{dir}/{}.wasm", module.name())}}),
                },
                configuration: StringValue {
                    type_url: "type.googleapis.com/google.protobuf.StringValue",
                    value: config.to_string(),
                },
            },
        },
    };
    serde_yaml_ng::to_value(&filter).unwrap_or_default()
}
