//! Reading configuration files: YAML (several documents allowed) or JSON,
//! which is YAML too.

use serde::Deserialize;
use std::path::Path;

/// The file's documents as JSON values; empty documents are left out.
pub fn read_json(path: &Path) -> Result<Vec<serde_json::Value>, String> {
    let text = read_text(path)?;
    let mut docs = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let value =
            serde_json::Value::deserialize(doc).map_err(|e| format!("not YAML or JSON: {e}"))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The file's documents as YAML values, whose mappings keep their order (so
/// a migrated file reads like its original).
pub fn read_yaml(path: &Path) -> Result<Vec<serde_yaml_ng::Value>, String> {
    let text = read_text(path)?;
    let mut docs = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let value =
            serde_yaml_ng::Value::deserialize(doc).map_err(|e| format!("not YAML or JSON: {e}"))?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

pub fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))
}
