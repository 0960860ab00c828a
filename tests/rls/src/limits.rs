//! The limits file: a JSON array of Limitador limits, the same fields as
//! Limitador's own limits file (`namespace`, `max_value`, `seconds`, `name`,
//! `conditions`, `variables`), conditions and variables being CEL over the
//! request's `descriptors`. Unknown fields are errors here (Limitador's own
//! deserializer ignores them, and a misspelt `max_value` silently reads 0).

use limitador::limit::{Expression, Limit, Predicate};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitSpec {
    /// The RLS `domain` this limit applies to.
    namespace: String,
    max_value: u64,
    seconds: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    conditions: Vec<String>,
    #[serde(default)]
    variables: Vec<String>,
}

/// Parses the limits JSON; errors name the limit and field.
pub fn parse(text: &str) -> Result<Vec<Limit>, String> {
    let specs: Vec<LimitSpec> = serde_json::from_str(text).map_err(|e| format!("limits: {e}"))?;
    specs
        .into_iter()
        .enumerate()
        .map(|(i, spec)| build(i, spec))
        .collect()
}

fn build(i: usize, spec: LimitSpec) -> Result<Limit, String> {
    if spec.namespace.is_empty() {
        return Err(format!(
            "limits[{i}].namespace: empty (it is the RLS domain)"
        ));
    }
    if spec.seconds == 0 {
        return Err(format!("limits[{i}].seconds: must be at least 1"));
    }
    let conditions = spec
        .conditions
        .iter()
        .enumerate()
        .map(|(j, c)| Predicate::parse(c).map_err(|e| format!("limits[{i}].conditions[{j}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let variables = spec
        .variables
        .iter()
        .enumerate()
        .map(|(j, v)| Expression::parse(v).map_err(|e| format!("limits[{i}].variables[{j}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut limit = match spec.id {
        Some(id) => Limit::with_id(
            id,
            spec.namespace,
            spec.max_value,
            spec.seconds,
            conditions,
            variables,
        ),
        None => Limit::new(
            spec.namespace,
            spec.max_value,
            spec.seconds,
            conditions,
            variables,
        ),
    };
    if let Some(name) = spec.name {
        limit.set_name(name);
    }
    Ok(limit)
}

/// The descriptor positions a limit refers to (`descriptors[N]` in its
/// conditions and variables), or `None` when it names none (a limit over the
/// whole domain: it concerns every descriptor).
pub fn descriptor_indices(limit: &Limit) -> Option<Vec<usize>> {
    let mut found: Vec<usize> = limit
        .conditions()
        .iter()
        .chain(limit.variables().iter())
        .flat_map(|text| indices_in(text))
        .collect();
    found.sort_unstable();
    found.dedup();
    (!found.is_empty()).then_some(found)
}

fn indices_in(text: &str) -> Vec<usize> {
    const NEEDLE: &str = "descriptors[";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(NEEDLE) {
        rest = rest.get(at + NEEDLE.len()..).unwrap_or_default();
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let closed = rest.get(digits.len()..).is_some_and(|r| r.starts_with(']'));
        if let (true, Ok(n)) = (closed, digits.parse()) {
            out.push(n);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limitador_limits() {
        let limits = parse(
            r#"[{"namespace": "d", "max_value": 3, "seconds": 60, "name": "per-user",
                 "conditions": ["descriptors[0].path == '/api'"],
                 "variables": ["descriptors[0].user"]}]"#,
        )
        .unwrap();
        assert_eq!(limits.len(), 1);
        assert_eq!(limits[0].max_value(), 3);
        assert_eq!(limits[0].name(), Some("per-user"));
        assert_eq!(descriptor_indices(&limits[0]), Some(vec![0]));
    }

    #[test]
    fn refuses_unknown_fields_and_bad_cel() {
        let e = parse(r#"[{"namespace": "d", "max": 3, "seconds": 60}]"#).unwrap_err();
        assert!(e.contains("unknown field `max`"), "{e}");
        let e = parse(
            r#"[{"namespace": "d", "max_value": 3, "seconds": 60, "conditions": ["descriptors[0].x =="]}]"#,
        )
        .unwrap_err();
        assert!(e.starts_with("limits[0].conditions[0]:"), "{e}");
        let e = parse(r#"[{"namespace": "d", "max_value": 3, "seconds": 0}]"#).unwrap_err();
        assert!(e.contains("seconds"), "{e}");
    }

    #[test]
    fn finds_descriptor_positions() {
        assert_eq!(
            indices_in("descriptors[0].a == descriptors[12]['b']"),
            vec![0, 12]
        );
        assert!(indices_in("size(descriptors) > 1").is_empty());
        assert!(indices_in("descriptors[x]").is_empty());
    }
}
