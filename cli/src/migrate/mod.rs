//! `tollgate migrate`: an Envoy configuration with its native
//! header_mutation, api_key_auth, basic_auth, jwt_authn, ext_authz,
//! local_ratelimit and ratelimit filters replaced by Tollgate's wasm
//! filters; on standard error, each thing not carried over and why.

mod fit;
mod native;
mod one_vm;
mod routes;
mod wasm;

use crate::docs;
use crate::module::Module;
use native::{Context, Native};
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;
use std::path::Path;

/// What the migration could not carry over, one line each.
#[derive(Default)]
pub struct Report {
    lines: Vec<String>,
}

impl Report {
    pub fn note(&mut self, filter: &str, field: &str, why: &str) {
        self.lines.push(format!("{filter}: {field}: {why}"));
    }
}

/// A native filter translated, at its index in `http_filters`.
pub struct Translated {
    pub index: usize,
    pub name: String,
    pub native: Native,
    pub config: Value,
}

pub fn run(path: &Path, module_dir: &str, one_vm: bool) -> bool {
    let mut docs = match docs::read_yaml(path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tollgate migrate: {}: {e}", path.display());
            return false;
        }
    };
    let mut report = Report::default();
    let mut ok = true;
    let mut migrated = 0;
    for doc in &mut docs {
        let node_cluster = doc
            .get("node")
            .and_then(|n| n.get("cluster"))
            .and_then(Yaml::as_str)
            .map(String::from);
        let mut hcms = Vec::new();
        collect_hcms(doc, &mut hcms);
        for hcm in hcms {
            match migrate_hcm(
                hcm,
                node_cluster.as_deref(),
                module_dir,
                one_vm,
                &mut report,
            ) {
                Ok(n) => migrated += n,
                Err(e) => {
                    report.lines.push(e);
                    ok = false;
                }
            }
        }
    }
    if migrated == 0 {
        report
            .lines
            .push("found no native filter to migrate".into());
    }
    let json = path.extension().is_some_and(|e| e == "json");
    let text = if json {
        docs.iter()
            .map(|d| serde_json::to_string_pretty(d).unwrap_or_default() + "\n")
            .collect::<String>()
    } else {
        docs.iter()
            .map(|d| serde_yaml_ng::to_string(d).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("---\n")
    };
    print!("{text}");
    for line in &report.lines {
        eprintln!("tollgate migrate: {line}");
    }
    ok
}

/// Every HTTP connection manager: a mapping with `http_filters` (the
/// input itself when it is one).
fn collect_hcms<'a>(v: &'a mut Yaml, out: &mut Vec<&'a mut serde_yaml_ng::Mapping>) {
    match v {
        Yaml::Mapping(m) => {
            if m.get("http_filters").is_some_and(Yaml::is_sequence) {
                out.push(m);
            } else {
                m.iter_mut().for_each(|(_, c)| collect_hcms(c, out));
            }
        }
        Yaml::Sequence(s) => s.iter_mut().for_each(|c| collect_hcms(c, out)),
        Yaml::Tagged(t) => collect_hcms(&mut t.value, out),
        _ => {}
    }
}

/// Migrates one connection manager's filters; the number migrated.
fn migrate_hcm(
    hcm: &mut serde_yaml_ng::Mapping,
    node_cluster: Option<&str>,
    module_dir: &str,
    one_vm: bool,
    report: &mut Report,
) -> Result<usize, String> {
    let route_config: Option<Value> = hcm
        .get("route_config")
        .and_then(|rc| serde_json::to_value(rc).ok());
    if hcm.get("rds").is_some() {
        report.lines.push("rds: routes from RDS are not read (their rate_limits and per-route configurations are not carried over)".into());
    }
    let ctx = Context {
        route_config: route_config.as_ref(),
        node_cluster,
    };
    let filters: Vec<Value> = hcm
        .get("http_filters")
        .and_then(|f| serde_json::to_value(f).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    let mut done = Vec::new();
    for (index, filter) in filters.iter().enumerate() {
        let typed = filter.get("typed_config").unwrap_or(&Value::Null);
        let Some(native) = typed
            .get("@type")
            .and_then(Value::as_str)
            .and_then(Native::from_type)
        else {
            continue;
        };
        let name = filter
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if filter.get("disabled").and_then(Value::as_bool) == Some(true) {
            report.note(&name, "disabled", "kept Envoy's filter: it is enabled per route, and Tollgate's filters have no per-route configuration");
            continue;
        }
        let translated =
            native::translate(native, typed, &ctx, &name, report).and_then(|mut config| {
                fit::fit(native.module(), &mut config, &name, report).map(|()| config)
            });
        match translated {
            Ok(config) => done.push(Translated {
                index,
                name,
                native,
                config,
            }),
            Err(why) => report.note(&name, "(filter)", &format!("kept Envoy's filter: {why}")),
        }
    }
    let mut out: Vec<Yaml> = match hcm.get("http_filters") {
        Some(Yaml::Sequence(s)) => s.clone(),
        _ => Vec::new(),
    };
    if one_vm && !done.is_empty() {
        let config = one_vm::merge(&done, &filters, report)?;
        if let Some(e) = Module::Tollgate.refusal(config.to_string().as_bytes()) {
            return Err(format!("the one-VM configuration is refused: {e}"));
        }
        out[done[0].index] = wasm::filter(Module::Tollgate, "tollgate", module_dir, &config);
        for t in done.iter().skip(1).rev() {
            out.remove(t.index);
        }
    } else {
        let mut used: Vec<String> = Vec::new();
        for t in &done {
            let base = format!("tollgate.{}", t.native.module().name());
            let count = used.iter().filter(|u| **u == base).count();
            used.push(base.clone());
            let name = if count == 0 {
                base
            } else {
                format!("{base}.{}", count + 1)
            };
            out[t.index] = wasm::filter(t.native.module(), &name, module_dir, &t.config);
        }
    }
    let names: Vec<&str> = done.iter().map(|t| t.name.as_str()).collect();
    if let Some(rc) = hcm.get_mut("route_config") {
        drop_per_route(rc, &names, "route_config", report);
    }
    hcm.insert("http_filters".into(), Yaml::Sequence(out));
    Ok(done.len())
}

/// Takes per-route configurations of the migrated filters out of the
/// routes (Tollgate's filters have none), reporting each.
fn drop_per_route(v: &mut Yaml, names: &[&str], place: &str, report: &mut Report) {
    match v {
        Yaml::Mapping(m) => {
            if let Some(Yaml::Mapping(per)) = m.get_mut("typed_per_filter_config") {
                for name in names {
                    if per.remove(*name).is_some() {
                        report.note(name, &format!("{place}.typed_per_filter_config"),
                            "a per-route configuration: Tollgate's filters have none, left out (the filter's own configuration applies on this route)");
                    }
                }
                if per.is_empty() {
                    m.remove("typed_per_filter_config");
                }
            }
            for (k, c) in m.iter_mut() {
                let here = format!("{place}.{}", k.as_str().unwrap_or("?"));
                drop_per_route(c, names, &here, report);
            }
        }
        Yaml::Sequence(s) => {
            for (i, c) in s.iter_mut().enumerate() {
                drop_per_route(c, names, &format!("{place}[{i}]"), report);
            }
        }
        _ => {}
    }
}
