//! The results as files: Markdown for people (and the README), JSON for
//! anything that compares runs.

use serde_json::{json, Value};

use super::report::Report;

/// How the JWT rows compare (a footnote under the table).
const JWT_NOTE: &str = "\nJWT rows: one provider with the same inline JWKS (`local_jwks`) in both \
filters, the `sub` claim into `x-tollgate-identity`, the token removed before the upstream. \
*same token*: every request carries one token, which Tollgate's verified-token cache answers \
after the first; it is held against `jwt_authn` with its own cache turned on \
(`jwt_cache_config`, 1,024 entries; the default `jwt_authn` has no cache and verifies every \
request, so its cost is the *new token* row). *new token*: a different token on every request \
(wrk's Lua script over 16,384 tokens minted before the run), so no cache ever answers: \
Tollgate looks its cache up, verifies and inserts; `jwt_authn` is as configured by default \
(no cache). The run prints both filters' cache counters to prove it. JWT requests carry \
about 550 more header bytes than the others (the bearer token instead of Basic credentials), \
which plain Envoy's row does not parse.\n";

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::from("# Tollgate bench results\n\n");
        md.push_str("Written by `cargo xtask bench`; do not edit by hand.\n\n");
        md.push_str(&format!(
            "- **When, where:** {}\n- **How:** {}\n- **Load:** {}\n\n",
            self.machine_line(),
            self.info.method(),
            self.interference()
        ));
        md.push_str(
            "*CPU us/req* is Envoy's CPU time (all threads, from `/proc/<pid>/stat`) over a run divided by \
             the requests wrk completed, median over the runs used; a run during which other processes took \
             more than 15% of either CPU (Envoy's, or the one wrk and nginx share) is taken again, and left out when the scenario has quiet runs \
             (*runs*: used of measured). *added us* is that minus plain Envoy's (*added IQR*: the first \
             and third quartile of the runs used, minus the same); *over floor* is the same against the no-op wasm filter; *x floor* divides added CPU by the no-op filter's; *vs native* divides it \
             by the native equivalent's (or gives the difference when the native filter adds under \
             0.5 us). Requests/s and latencies are wrk's, on a CPU shared with nginx: compare CPU per request.\n\n",
        );
        md.push_str(&format!(
            "| {} | what it measures |\n",
            Self::HEADER.join(" | ")
        ));
        md.push_str(&format!("|{}---|\n", "---|".repeat(Self::HEADER.len())));
        for r in &self.rows {
            md.push_str(&format!(
                "| {} | {} |\n",
                self.cells(r).join(" | "),
                r.title
            ));
        }
        if self.rows.iter().any(|r| r.name.starts_with("jwt-")) {
            md.push_str(JWT_NOTE);
        }
        md.push_str(&self.scale_markdown());
        md.push_str(&self.startup_markdown());
        md.push_str(
            "\n## Modules\n\n| module | size in dist/ | before wasm-opt |\n|---|---|---|\n",
        );
        for (name, size, built) in &self.modules {
            md.push_str(&format!(
                "| `{name}.wasm` | {size} B ({:.0} KB) | {built} B |\n",
                *size as f64 / 1024.0
            ));
        }
        md.push_str("\n![added CPU per request](results.svg)\n");
        md
    }

    pub fn to_json(&self) -> Value {
        let scenarios: Vec<Value> = self
            .rows
            .iter()
            .zip(&self.startup)
            .map(|(r, st)| {
                let native = self.vs_native(r);
                json!({
                    "name": r.name, "title": r.title, "kind": r.kind.as_str(), "native": r.native,
                    "rps": r.rps, "p50_us": r.p50_us, "p99_us": r.p99_us,
                    "cpu_us_per_request": r.cpu_us, "added_us": r.added_us,
                    "added_iqr_us": [r.added_range.0, r.added_range.1],
                    "over_floor_us": r.over_floor_us, "x_floor": self.x_floor(r),
                    "x_native": native.and_then(|n| n.0), "minus_native_us": native.map(|n| n.1),
                    "goal": self.goal_status(r),
                    "family": r.family.map(|(f, n)| json!({"family": f, "n": n})),
                    "startup": st.to_json(),
                    "used_rounds": r.used_rounds,
                    "rounds": r.samples.iter().map(|s| {
                        let mut v = s.run.to_json();
                        v["round"] = json!(s.round);
                        v["cpu_us_per_request"] = json!(s.cpu_us);
                        v["others_busiest_cpu_share"] = json!(s.others);
                        v
                    }).collect::<Vec<_>>()
                })
            })
            .collect();
        let modules: Vec<Value> = self
            .modules
            .iter()
            .map(|(n, s, b)| json!({"module": n, "bytes": s, "bytes_before_wasm_opt": b}))
            .collect();
        json!({"machine": self.info.to_json(), "scenarios": scenarios, "modules": modules})
    }
}
