//! Where Istio installs a `WasmPlugin`, by the rules of istiod (read in
//! istio/istio pilot/pkg/model/extensions.go, not copied): the plugin's
//! selector or targetRefs pick the proxies, and its `match` list picks their
//! listeners by class and port. A gateway's listeners are class CLIENT, a
//! sidecar's inbound listeners SERVER and its outbound ones CLIENT, so a
//! plugin with `mode: SERVER` never reaches a gateway.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::Value;

/// A listener class of one kind of proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Listener {
    SidecarInbound,
    SidecarOutbound,
    Gateway,
}

impl Listener {
    /// The workload mode istiod gives this class (`workloadModeForListenerClass`).
    fn mode(self) -> &'static str {
        match self {
            Listener::SidecarInbound => "SERVER",
            Listener::SidecarOutbound | Listener::Gateway => "CLIENT",
        }
    }

    fn parse(text: &str) -> Option<Listener> {
        match text.trim() {
            "sidecar inbound" => Some(Listener::SidecarInbound),
            "sidecar outbound" => Some(Listener::SidecarOutbound),
            "gateway" => Some(Listener::Gateway),
            _ => None,
        }
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Listener::SidecarInbound => "sidecar inbound",
            Listener::SidecarOutbound => "sidecar outbound",
            Listener::Gateway => "gateway",
        })
    }
}

/// A listener a plugin lands on; `port` is `None` for every port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Landing {
    pub listener: Listener,
    pub port: Option<u64>,
}

impl fmt::Display for Landing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{} port {port}", self.listener),
            None => write!(f, "{}", self.listener),
        }
    }
}

/// The kinds of proxy a plugin's spec selects. Istio tells a gateway by its
/// proxy type, which a file cannot show: a selector on Istio's installer label
/// `istio: ...gateway` or a targetRef to a Gateway stands for a gateway, any
/// other selector for sidecars, and neither for every proxy of the namespace.
fn proxies(spec: &Value) -> Result<Vec<Listener>, String> {
    let sidecar = vec![Listener::SidecarInbound, Listener::SidecarOutbound];
    let mut refs: Vec<&Value> = spec["targetRefs"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if spec["targetRef"].is_object() {
        refs.push(&spec["targetRef"]);
    }
    if !refs.is_empty() {
        let mut out = Vec::new();
        for r in refs {
            match r["kind"].as_str() {
                Some("Gateway") => out.push(Listener::Gateway),
                other => return Err(format!("targetRef kind {other:?} is not modelled")),
            }
        }
        return Ok(out);
    }
    let labels = &spec["selector"]["matchLabels"];
    if labels.is_null() {
        return Ok([sidecar, vec![Listener::Gateway]].concat());
    }
    let gateway = labels["istio"]
        .as_str()
        .is_some_and(|v| v.ends_with("gateway"));
    Ok(if gateway {
        vec![Listener::Gateway]
    } else {
        sidecar
    })
}

/// Every listener (class, port) a plugin with this spec is installed on.
pub fn landings(spec: &Value) -> Result<BTreeSet<Landing>, String> {
    let mut out = BTreeSet::new();
    let selectors: Vec<&Value> = spec["match"].as_array().into_iter().flatten().collect();
    for listener in proxies(spec)? {
        if selectors.is_empty() {
            out.insert(Landing {
                listener,
                port: None,
            });
        }
        for s in &selectors {
            let mode = s["mode"].as_str().unwrap_or("UNDEFINED");
            if !matches!(mode, "UNDEFINED" | "CLIENT_AND_SERVER") && mode != listener.mode() {
                continue;
            }
            let ports: Vec<u64> = s["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["number"].as_u64())
                .collect();
            if ports.is_empty() {
                out.insert(Landing {
                    listener,
                    port: None,
                });
            }
            for port in ports {
                out.insert(Landing {
                    listener,
                    port: Some(port),
                });
            }
        }
    }
    Ok(out)
}

/// The `# Attaches to: ...` comment of each WasmPlugin document in a file,
/// by `metadata.name`: a comma-separated list of `sidecar inbound`,
/// `sidecar outbound` or `gateway`, each optionally followed by `port N`.
pub fn claims(text: &str) -> Result<Vec<(String, BTreeSet<Landing>)>, String> {
    let mut out = Vec::new();
    for doc in text.split("\n---\n") {
        if !doc.contains("kind: WasmPlugin") {
            continue;
        }
        let name = doc
            .split("\nmetadata:\n")
            .nth(1)
            .and_then(|m| m.lines().find_map(|l| l.strip_prefix("  name: ")))
            .ok_or("a WasmPlugin without metadata.name")?
            .trim()
            .to_string();
        let claim = doc
            .lines()
            .find_map(|l| l.trim().strip_prefix("# Attaches to:"))
            .ok_or_else(|| format!("{name}: no `# Attaches to:` comment"))?;
        let mut set = BTreeSet::new();
        for part in claim.split(',') {
            let (place, port) = match part.split_once(" port ") {
                Some((place, port)) => (place, Some(port.trim())),
                None => (part, None),
            };
            let listener =
                Listener::parse(place).ok_or_else(|| format!("{name}: unknown place `{part}`"))?;
            let port = port
                .map(|p| p.parse().map_err(|_| format!("{name}: bad port `{p}`")))
                .transpose()?;
            set.insert(Landing { listener, port });
        }
        out.push((name, set));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(spec: Value) -> Vec<String> {
        landings(&spec)
            .expect("modelled")
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn server_mode_never_reaches_a_gateway() {
        assert!(at(json!({
            "selector": {"matchLabels": {"istio": "ingressgateway"}},
            "match": [{"mode": "SERVER"}]
        }))
        .is_empty());
        assert!(at(json!({
            "targetRefs": [{"kind": "Gateway", "name": "g"}],
            "match": [{"mode": "SERVER"}]
        }))
        .is_empty());
    }

    #[test]
    fn modes_pick_listener_classes() {
        let sel = json!({"matchLabels": {"app": "x"}});
        assert_eq!(
            at(json!({"selector": sel, "match": [{"mode": "SERVER"}]})),
            ["sidecar inbound"]
        );
        assert_eq!(
            at(json!({"selector": sel, "match": [{"mode": "CLIENT"}]})),
            ["sidecar outbound"]
        );
        assert_eq!(
            at(json!({"selector": sel})),
            ["sidecar inbound", "sidecar outbound"]
        );
        assert_eq!(
            at(json!({"selector": sel, "match": [{"mode": "CLIENT_AND_SERVER"}]})),
            ["sidecar inbound", "sidecar outbound"]
        );
        assert_eq!(
            at(
                json!({"selector": {"matchLabels": {"istio": "ingressgateway"}},
                      "match": [{"mode": "CLIENT"}]})
            ),
            ["gateway"]
        );
        assert_eq!(
            at(json!({})),
            ["sidecar inbound", "sidecar outbound", "gateway"]
        );
    }

    #[test]
    fn ports_narrow_a_selector() {
        assert_eq!(
            at(json!({"selector": {"matchLabels": {"app": "x"}},
                      "match": [{"mode": "SERVER", "ports": [{"number": 8080}]}]})),
            ["sidecar inbound port 8080"]
        );
    }

    #[test]
    fn unmodelled_target_kinds_are_errors() {
        assert!(landings(&json!({"targetRefs": [{"kind": "Service", "name": "s"}]})).is_err());
    }

    #[test]
    fn claims_are_read_per_document() {
        let text = "kind: WasmPlugin\nmetadata:\n  name: a\nspec:\n  # Attaches to: gateway\n\
                    ---\nkind: WasmPlugin\nmetadata:\n  name: b\nspec:\n  # Attaches to: sidecar inbound port 80, sidecar outbound\n";
        let c = claims(text).expect("claims");
        assert_eq!(c[0].0, "a");
        assert_eq!(c[1].1.len(), 2);
        assert!(claims("kind: WasmPlugin\nmetadata:\n  name: a\n").is_err());
        assert!(claims("kind: WasmPlugin\nmetadata:\n  name: a\n# Attaches to: moon\n").is_err());
    }
}
