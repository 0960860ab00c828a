//! Envoy's global rate limiting takes its descriptors from the routes'
//! `rate_limits` actions; Tollgate's ratelimit filter from its own
//! `descriptors`. A route's descriptors become Tollgate descriptors whose
//! `match` is the route's (and its virtual host's single domain).

use super::native::Context;
use super::Report;
use serde_json::{json, Map, Value};

/// Descriptors from every route (and virtual host) of the route config.
pub fn descriptors(ctx: &Context, stage: u64, filter: &str, report: &mut Report) -> Vec<Value> {
    let mut out = Vec::new();
    let vhosts = ctx
        .route_config
        .and_then(|rc| rc.get("virtual_hosts"))
        .and_then(Value::as_array);
    for (v, vh) in vhosts.into_iter().flatten().enumerate() {
        let vh_name = vh
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let authority = authority(vh, &vh_name, filter, report);
        let routes = vh
            .get("routes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let vh_limits = limits(vh.get("rate_limits"));
        for (r, route) in routes.iter().enumerate() {
            let action = route.get("route").unwrap_or(&Value::Null);
            let own = limits(action.get("rate_limits"));
            // Envoy applies the virtual host's limits when the route has
            // none, or when it says include_vh_rate_limits.
            let include_vh = own.is_empty()
                || action
                    .get("include_vh_rate_limits")
                    .and_then(Value::as_bool)
                    == Some(true);
            let mut all: Vec<&Value> = own.clone();
            if include_vh {
                all.extend(vh_limits.iter().copied());
            }
            if all.is_empty() {
                continue;
            }
            if r > 0 {
                report.note(filter, &format!("virtual_hosts[{v}].routes[{r}]"),
                    "its descriptors match requests by this route's match alone: a request an earlier route takes that also matches it is counted here too");
            }
            let route_match = route_match(
                route.get("match").unwrap_or(&Value::Null),
                v,
                r,
                filter,
                report,
            );
            let mut m = route_match;
            if let Some(a) = &authority {
                m["authority"] = a.clone();
            }
            for (i, rl) in all.into_iter().enumerate() {
                let place = format!("virtual_hosts[{v}].routes[{r}].rate_limits[{i}]");
                out.extend(descriptor(
                    rl,
                    stage,
                    &m,
                    action.get("cluster").and_then(Value::as_str),
                    ctx,
                    &place,
                    filter,
                    report,
                ));
            }
        }
    }
    out
}

fn limits(v: Option<&Value>) -> Vec<&Value> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// The virtual host's domains as an `authority` condition, when there is
/// one domain other than `*`.
fn authority(vh: &Value, name: &str, filter: &str, report: &mut Report) -> Option<Value> {
    let domains: Vec<&str> = vh
        .get("domains")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match domains.as_slice() {
        ["*"] => None,
        [d] if !d.contains('*') => Some(json!({"exact": d})),
        [d] if d.starts_with("*.") => Some(json!({"suffix": &d[1..]})),
        _ => {
            report.note(
                filter,
                &format!("virtual host {name}: domains"),
                "more than one domain: descriptors are not limited to this virtual host",
            );
            None
        }
    }
}

/// The route's RouteMatch as a Tollgate match (which takes its fields).
fn route_match(m: &Value, v: usize, r: usize, filter: &str, report: &mut Report) -> Value {
    let mut out = Map::new();
    for (k, val) in m.as_object().into_iter().flatten() {
        match k.as_str() {
            "prefix" | "path" | "safe_regex" | "path_separated_prefix" | "case_sensitive" | "headers" | "query_parameters" => {
                out.insert(k.clone(), val.clone());
            }
            _ => report.note(filter, &format!("virtual_hosts[{v}].routes[{r}].match.{k}"),
                "Tollgate's matcher has no such condition: the route's descriptors apply without it"),
        }
    }
    Value::Object(out)
}

/// One `RateLimit` entry as a Tollgate descriptor: None (reported) when an
/// action has no Tollgate key entry, since Envoy would send a different
/// descriptor.
#[allow(clippy::too_many_arguments)]
pub fn descriptor(
    rl: &Value,
    stage: u64,
    base_match: &Value,
    cluster: Option<&str>,
    ctx: &Context,
    place: &str,
    filter: &str,
    report: &mut Report,
) -> Option<Value> {
    if rl.get("stage").and_then(Value::as_u64).unwrap_or(0) != stage {
        return None;
    }
    for field in [
        "limit",
        "disable_key",
        "hits_addend",
        "apply_on_stream_done",
    ] {
        if rl.get(field).is_some() {
            report.note(
                filter,
                &format!("{place}.{field}"),
                "Tollgate has no per-descriptor setting of this kind",
            );
        }
    }
    let mut m = base_match.clone();
    let mut key = Vec::new();
    for (a, action) in rl
        .get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let here = format!("{place}.actions[{a}]");
        let entry = match action_entry(action, cluster, ctx, &mut m) {
            Ok(e) => e,
            Err(why) => {
                report.note(
                    filter,
                    &here,
                    &format!("{why}: this descriptor is left out"),
                );
                return None;
            }
        };
        key.push(entry);
    }
    if key.is_empty() {
        return None;
    }
    let name = place
        .replace("virtual_hosts[", "vh")
        .replace("].routes[", "_route")
        .replace("].rate_limits[", "_limit")
        .replace("rate_limits[", "limit")
        .replace(']', "");
    Some(json!({"name": name, "match": m, "key": key}))
}

fn action_entry(
    action: &Value,
    cluster: Option<&str>,
    ctx: &Context,
    m: &mut Value,
) -> Result<Value, String> {
    let Some((kind, body)) = action.as_object().and_then(|o| o.iter().next()) else {
        return Err("an empty action".into());
    };
    let constant =
        |k: &str, v: &str| json!({"generic_key": {"descriptor_key": k, "descriptor_value": v}});
    match kind.as_str() {
        "request_headers" => {
            if body.get("skip_if_absent").and_then(Value::as_bool) == Some(true) {
                return Err(
                    "skip_if_absent: Tollgate skips the whole descriptor when the header is absent"
                        .into(),
                );
            }
            let mut e = json!({"header_name": body.get("header_name")});
            if let Some(k) = body.get("descriptor_key") {
                e["descriptor_key"] = k.clone();
            }
            Ok(json!({"request_headers": e}))
        }
        "remote_address" => Ok(json!({"remote_address": {}})),
        "generic_key" => Ok(json!({"generic_key": body})),
        "destination_cluster" => cluster
            .map(|c| constant("destination_cluster", c))
            .ok_or_else(|| "destination_cluster on a route without a single cluster".into()),
        "source_cluster" => ctx
            .node_cluster
            .map(|c| constant("source_cluster", c))
            .ok_or_else(|| "source_cluster without node.cluster in the bootstrap".into()),
        "header_value_match" => {
            let headers = body
                .get("headers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let expect = body
                .get("expect_match")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let headers = match (expect, headers.as_slice()) {
                (true, _) => headers,
                // Not matching one header is matching its inversion.
                (false, [h]) => {
                    let mut h = h.clone();
                    let inverted = !h
                        .get("invert_match")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    h["invert_match"] = json!(inverted);
                    vec![h]
                }
                (false, _) => {
                    return Err(
                        "expect_match: false over several headers has no Tollgate match".into(),
                    )
                }
            };
            let list = m
                .as_object_mut()
                .map(|o| o.entry("headers").or_insert_with(|| json!([])));
            if let Some(Value::Array(l)) = list {
                l.extend(headers);
            }
            let k = body
                .get("descriptor_key")
                .and_then(Value::as_str)
                .unwrap_or("header_match");
            let v = body
                .get("descriptor_value")
                .and_then(Value::as_str)
                .unwrap_or("");
            Ok(constant(k, v))
        }
        other => Err(format!("the {other} action has no Tollgate key entry")),
    }
}
