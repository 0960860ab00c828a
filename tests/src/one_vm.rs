//! `envoy/tollgate.yaml`: the chain of `envoy/chain.yaml` as one filter
//! running `dist/tollgate.wasm`, derived from `chain.yaml` so the two cannot
//! drift (tests/tests/envoy_files.rs runs both through the same checks).

/// The filters of chain.yaml, in order, with the member each becomes.
const FILTERS: [&str; 3] = ["auth", "ratelimit", "headers"];

const HEADER: &str = "\
# The chain of envoy/chain.yaml in ONE wasm filter: dist/tollgate.wasm runs
# the auth, ratelimit and headers filters in one VM, in that order, so each
# request crosses the wasm ABI once (cargo xtask bench compares the two).
# Its configuration is one object with each filter's own configuration as a
# member. Run: cargo xtask build && envoy -c envoy/tollgate.yaml (after
# `echo-upstream --demo ...` or `cargo xtask up` as for chain.yaml).
#
# GENERATED from envoy/chain.yaml by tollgate_tests::one_vm::one_vm_yaml; do
# not edit. `TOLLGATE_BLESS=1 cargo test -p tollgate-tests --test envoy_files
# tollgate_yaml` rewrites this file (that test fails while the two differ).
#
";

/// The text of `envoy/tollgate.yaml` from the text of `envoy/chain.yaml`:
/// chain.yaml's comments from `# Order:` on, its listener and clusters byte
/// for byte, and its three wasm filters replaced by one whose configuration
/// holds theirs as members.
pub fn one_vm_yaml(chain: &str) -> Result<String, String> {
    let lines: Vec<&str> = chain.lines().collect();
    let find = |from: usize, pred: &dyn Fn(&str) -> bool| {
        lines
            .iter()
            .skip(from)
            .position(|l| pred(l))
            .map(|i| i + from)
    };
    let order = find(0, &|l| l.starts_with("# Order:")).ok_or("no `# Order:` comment")?;
    let filters = find(0, &|l| l.trim() == "http_filters:").ok_or("no http_filters")?;
    let router = find(filters, &|l| {
        l.contains("- name: envoy.filters.http.router")
    })
    .ok_or("no router filter")?;
    let indent = lines
        .get(filters + 1)
        .map_or(0, |l| l.len() - l.trim_start().len());
    let pad = " ".repeat(indent);
    let mut members = Vec::new();
    for (i, name) in FILTERS.iter().enumerate() {
        let start = find(filters, &|l| l.trim() == format!("- name: tollgate.{name}"))
            .filter(|&s| s < router)
            .ok_or(format!("no tollgate.{name} filter before the router"))?;
        let value = find(start, &|l| l.trim() == "value: |").ok_or("no `value: |`")?;
        let end = find(value + 1, &|l| l.starts_with(&format!("{pad}- name:"))).unwrap_or(router);
        let block: Vec<&str> = lines.get(value + 1..end).unwrap_or_default().to_vec();
        let (first, rest) = block.split_first().ok_or("empty configuration")?;
        let json_indent = &first[..first.len() - first.trim_start().len()];
        if first.trim() != "{" || rest.last().map(|l| l.trim()) != Some("}") {
            return Err(format!(
                "tollgate.{name}: configuration is not a `{{ ... }}` block"
            ));
        }
        let comma = if i + 1 < FILTERS.len() { "," } else { "" };
        let mut member = vec![format!("{json_indent}  \"{name}\": {{")];
        for l in &rest[..rest.len() - 1] {
            member.push(if l.trim().is_empty() {
                String::new()
            } else {
                format!("  {l}")
            });
        }
        member.push(format!("{json_indent}  }}{comma}"));
        members.push((json_indent.to_string(), member));
    }
    let json_indent = members.first().map(|m| m.0.clone()).unwrap_or_default();
    let field = |n: usize| format!("{pad}{}", " ".repeat(n));
    let mut out = vec![HEADER.trim_end().to_string()];
    out.extend(
        lines
            .get(order..filters + 1)
            .unwrap_or_default()
            .iter()
            .map(|l| l.to_string()),
    );
    out.extend([
        format!("{pad}- name: tollgate"),
        format!("{}typed_config:", field(2)),
        format!(
            "{}\"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            field(4)
        ),
        format!("{}config:", field(4)),
        format!("{}name: tollgate", field(6)),
        format!("{}root_id: tollgate", field(6)),
        format!("{}vm_config:", field(6)),
        format!("{}vm_id: tollgate", field(8)),
        format!("{}runtime: envoy.wasm.runtime.v8", field(8)),
        format!(
            "{}code: {{ local: {{ filename: dist/tollgate.wasm }} }}",
            field(8)
        ),
        format!("{}configuration:", field(6)),
        format!(
            "{}\"@type\": type.googleapis.com/google.protobuf.StringValue",
            field(8)
        ),
        format!("{}value: |", field(8)),
        format!("{json_indent}{{"),
    ]);
    for (_, member) in members {
        out.extend(member);
    }
    out.push(format!("{json_indent}}}"));
    out.extend(
        lines
            .get(router..)
            .unwrap_or_default()
            .iter()
            .map(|l| l.to_string()),
    );
    Ok(out.join("\n") + "\n")
}
