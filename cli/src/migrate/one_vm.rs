//! `--one-vm`: the translated filters as one `tollgate` configuration. The
//! module runs auth, then ratelimit, then headers; several native filters
//! of one kind become one member.

use super::{Report, Translated};
use crate::module::Module;
use serde_json::{json, Map, Value};

pub fn merge(done: &[Translated], filters: &[Value], report: &mut Report) -> Result<Value, String> {
    let rank = |m: Module| match m {
        Module::Auth => 0,
        Module::Ratelimit => 1,
        _ => 2,
    };
    let order: Vec<&str> = done.iter().map(|t| t.name.as_str()).collect();
    if done
        .windows(2)
        .any(|w| rank(w[0].native.module()) > rank(w[1].native.module()))
    {
        report.lines.push(format!(
            "--one-vm: the native order ({}) differs from the one-VM module's fixed order (auth, then ratelimit, then headers)",
            order.join(", ")
        ));
    }
    let (first, last) = (done[0].index, done[done.len() - 1].index);
    for (i, f) in filters.iter().enumerate().take(last).skip(first + 1) {
        if !done.iter().any(|t| t.index == i) {
            let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
            report.lines.push(format!(
                "--one-vm: {name} ran between migrated filters; it now runs after all of them"
            ));
        }
    }
    let of = |m: Module| -> Vec<&Value> {
        done.iter()
            .filter(|t| t.native.module() == m)
            .map(|t| &t.config)
            .collect()
    };
    let mut out = Map::new();
    let auth = of(Module::Auth);
    if !auth.is_empty() {
        out.insert("auth".into(), merge_auth(&auth)?);
    }
    for (member, m) in [
        ("ratelimit", Module::Ratelimit),
        ("headers", Module::Headers),
    ] {
        let parts = of(m);
        if !parts.is_empty() {
            out.insert(member.into(), merge_plain(member, &parts)?);
        }
    }
    Ok(Value::Object(out))
}

/// Auth filters in a row all have to pass: each one's requirement joins a
/// `requires_all`, around jwt_authn's per-rule requirements.
fn merge_auth(parts: &[&Value]) -> Result<Value, String> {
    let mut out = Map::new();
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut jwt_seen = false;
    for part in parts {
        for (k, v) in part.as_object().into_iter().flatten() {
            match k.as_str() {
                "default_requires" => {
                    if jwt_seen {
                        after.push(v.clone())
                    } else {
                        before.push(v.clone())
                    }
                }
                "rules" | "requirement_map" => {}
                block if out.contains_key(block) => {
                    return Err(format!(
                        "--one-vm: two native filters configure auth's {block}; one module has one"
                    ));
                }
                block => {
                    out.insert(block.into(), v.clone());
                    jwt_seen |= block == "jwt";
                }
            }
        }
    }
    let all = |middle: Vec<Value>| -> Value {
        let mut list: Vec<Value> = before
            .iter()
            .cloned()
            .chain(middle)
            .chain(after.iter().cloned())
            .filter(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            .collect();
        match list.len() {
            0 => json!({}),
            1 => list.remove(0),
            _ => json!({"requires_all": list}),
        }
    };
    let jwt = parts.iter().find(|p| p.get("jwt").is_some());
    if let Some(jwt) = jwt {
        let map = jwt
            .get("requirement_map")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut rules = Vec::new();
        for rule in jwt
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let own = match (
                rule.get("requires"),
                rule.get("requirement_name").and_then(Value::as_str),
            ) {
                (Some(r), _) => r.clone(),
                (None, Some(n)) => map.get(n).cloned().ok_or_else(|| {
                    format!("--one-vm: requirement_name {n} is not in requirement_map")
                })?,
                (None, None) => json!({}),
            };
            rules.push(json!({"match": rule.get("match").cloned().unwrap_or_else(|| json!({})), "requires": all(vec![own])}));
        }
        out.insert("rules".into(), Value::Array(rules));
    }
    let default = all(Vec::new());
    if default.as_object().is_some_and(|o| !o.is_empty()) {
        out.insert("default_requires".into(), default);
    }
    Ok(Value::Object(out))
}

/// Ratelimit or headers filters in a row: their lists joined in order,
/// anything else given once.
fn merge_plain(member: &str, parts: &[&Value]) -> Result<Value, String> {
    let mut out = json!({});
    for part in parts {
        for (k, v) in part.as_object().into_iter().flatten() {
            match (out.get_mut(k), v) {
                (None, _) => out[k] = v.clone(),
                (Some(Value::Array(have)), Value::Array(more)) => have.extend(more.iter().cloned()),
                (Some(Value::Object(have)), Value::Object(more)) if k == "mutations" => {
                    for (list, items) in more {
                        match (have.get_mut(list), items) {
                            (Some(Value::Array(h)), Value::Array(i)) => h.extend(i.iter().cloned()),
                            (None, _) => {
                                have.insert(list.clone(), items.clone());
                            }
                            _ => {
                                return Err(format!(
                                    "--one-vm: {member}.mutations.{list} cannot be joined"
                                ))
                            }
                        }
                    }
                }
                (Some(have), v) if have == v => {}
                _ => {
                    return Err(format!(
                    "--one-vm: two native filters set {member}.{k} differently; one module has one"
                ))
                }
            }
        }
    }
    Ok(out)
}
