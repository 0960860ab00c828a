//! `tollgate check`: every configuration found loads, or one line per
//! refusal, the module's own, after where it is.

use crate::docs;
use crate::find::{self, Target};
use crate::module::Module;
use crate::vm_env::with_vm_env;
use std::path::Path;

/// True when everything checked loads.
pub fn run(filter: Option<Module>, files: &[std::path::PathBuf]) -> bool {
    let mut checked = 0usize;
    let mut refused = 0usize;
    for file in files {
        let lines = match filter {
            Some(module) => check_filter_file(module, file),
            None => match check_resource_file(file) {
                Ok((n, lines)) => {
                    checked += n;
                    lines
                }
                Err(e) => vec![e],
            },
        };
        if filter.is_some() {
            checked += 1;
        }
        for line in &lines {
            println!("{}: {line}", file.display());
        }
        refused += lines.len();
    }
    eprintln!(
        "tollgate check: {checked} configuration(s) in {} file(s), {refused} error(s)",
        files.len()
    );
    refused == 0
}

/// A filter's own JSON: the bytes as they are, in the caller's environment
/// (the VM's is not in the file).
fn check_filter_file(module: Module, file: &Path) -> Vec<String> {
    match std::fs::read(file) {
        Err(e) => vec![format!("cannot read: {e}")],
        Ok(bytes) => module.refusal(&bytes).into_iter().collect(),
    }
}

/// An Envoy or Istio file: (configurations found, error lines). A file with
/// none is an error, so a wrong path or kind cannot pass unnoticed.
fn check_resource_file(file: &Path) -> Result<(usize, Vec<String>), String> {
    let docs = docs::read_json(file)?;
    let mut lines = Vec::new();
    let mut found = 0;
    for (i, doc) in docs.iter().enumerate() {
        for target in find::targets(doc) {
            found += 1;
            let place = if docs.len() > 1 {
                format!("document {}, {}", i + 1, target.place)
            } else {
                target.place.clone()
            };
            if let Some(line) = check_target(&target) {
                lines.push(format!("{place}: {line}"));
            }
        }
    }
    if found == 0 {
        return Err(
            "no Tollgate filter configuration found (expected an Envoy bootstrap or \
                    resource file with Tollgate wasm filters, or an Istio WasmPlugin of a \
                    Tollgate module; for a filter's own JSON pass --filter)"
                .to_string(),
        );
    }
    Ok((found, lines))
}

fn check_target(target: &Target) -> Option<String> {
    match &target.config {
        Err(e) => Some(e.clone()),
        Ok(bytes) => with_vm_env(&target.env, || target.module.refusal(bytes)),
    }
}
