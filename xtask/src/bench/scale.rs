//! The scale scenarios (`cargo xtask bench --scale`): the same request
//! against configurations of growing size, each beside its native twin
//! where Envoy has one, so that a cost that grows with the configuration
//! shows as a rising row. The key, user or rule the request needs is always
//! the configuration's last, where a linear scan would pay the most.

use serde_json::{json, Value};

use super::scenarios::{
    native, wasm, Kind, Scenario, API_KEY, HTPASSWD_SHA, HUGE_BUCKET, IDENTITY,
};

/// Credentials (API keys, Basic users) per scenario.
pub const CREDENTIALS: [usize; 4] = [10, 1_000, 10_000, 100_000];
/// Auth rules per scenario.
pub const RULES: [usize; 3] = [10, 100, 1_000];
/// Distinct rate-limit keys the load cycles through.
pub const RATE_KEYS: [usize; 2] = [10, 50_000];

/// Scenario names are `&'static str`; a run makes a few dozen.
fn name(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// `n` API keys, the bench's own last.
fn credentials(n: usize) -> Value {
    let mut list: Vec<Value> = (1..n)
        .map(|i| json!({"key": format!("scale-key-{i:06}"), "client": format!("client-{i}")}))
        .collect();
    list.push(json!({"key": API_KEY, "client": "bench"}));
    Value::Array(list)
}

/// An htpasswd file of `n` `{SHA}` users, user `bench` last. The other
/// users share bench's hash: only the lookup by name is measured.
fn htpasswd(n: usize) -> String {
    let hash = HTPASSWD_SHA.trim_end().trim_start_matches("bench:");
    let mut text: String = (1..n).map(|i| format!("user{i:06}:{hash}\n")).collect();
    text.push_str(HTPASSWD_SHA);
    text
}

fn api_keys(n: usize) -> [Scenario; 2] {
    let (tollgate, twin) = (
        name(format!("api-key-{n}")),
        name(format!("native-api-key-{n}")),
    );
    let config = json!({
        "api_key": {"credentials": credentials(n), "key_sources": [{"header": "x-api-key"}]},
        "default_requires": {"api_key": {}}
    });
    [
        Scenario::new(
            tollgate,
            name(format!("auth: API key among {n}")),
            Kind::Tollgate,
        )
        .against(twin)
        .filter(wasm("auth", config))
        .family("API keys", n),
        Scenario::new(twin, name(format!("api_key_auth, {n} keys")), Kind::Native)
            .filter(native(
                "envoy.filters.http.api_key_auth",
                "api_key_auth.v3.ApiKeyAuth",
                json!({"credentials": credentials(n), "key_sources": [{"header": "x-api-key"}],
                       "forwarding": {"header": IDENTITY}}),
            ))
            .family("API keys", n),
    ]
}

fn basic_users(n: usize) -> [Scenario; 2] {
    let (tollgate, twin) = (
        name(format!("basic-{n}")),
        name(format!("native-basic-{n}")),
    );
    [
        Scenario::new(
            tollgate,
            name(format!("auth: Basic among {n} {{SHA}} users")),
            Kind::Tollgate,
        )
        .against(twin)
        .filter(wasm(
            "auth",
            json!({"basic": {"users": htpasswd(n)}, "default_requires": {"basic": {}}}),
        ))
        .family("Basic users", n),
        Scenario::new(
            twin,
            name(format!("basic_auth, {n} {{SHA}} users")),
            Kind::Native,
        )
        .filter(native(
            "envoy.filters.http.basic_auth",
            "basic_auth.v3.BasicAuth",
            json!({"users": {"inline_string": htpasswd(n)}, "forward_username_header": IDENTITY}),
        ))
        .family("Basic users", n),
    ]
}

/// `n` rules, the request (`GET /`) matching none until the last, a
/// catch-all requiring the API key. Envoy has no twin for a list of
/// authorization rules on one route: flat means flat against N = 10.
fn rules(n: usize) -> Scenario {
    let mut list: Vec<Value> = (1..n)
        .map(|i| {
            json!({"match": {"path": {"prefix": format!("/rule-{i}/")}, "headers": [
                {"name": "x-rule", "string_match": {"exact": format!("{i}")}}]},
                   "requires": {"api_key": {}}})
        })
        .collect();
    list.push(json!({"match": {"path": {"prefix": "/"}}, "requires": {"api_key": {}}}));
    let config = json!({
        "api_key": {"credentials": credentials(1), "key_sources": [{"header": "x-api-key"}]},
        "rules": list
    });
    Scenario::new(
        name(format!("rules-{n}")),
        name(format!("auth: {n} rules, the last matches")),
        Kind::Tollgate,
    )
    .filter(wasm("auth", config))
    .family("auth rules", n)
}

/// The table size of every rate-limit scale scenario (the most `max_keys`
/// allows): the rows differ only in the keys in flight.
const MAX_KEYS: usize = 65_536;

/// One bucket per value of `x-client`, the load cycling through `n` values
/// (wrk's Lua script): every request reads and writes its own key's slot.
/// `max_keys` holds them all. Envoy's local_ratelimit keys only on values
/// listed in its configuration: no twin; flat means flat against N = 10.
fn rate_keys(n: usize) -> Scenario {
    let bucket =
        json!({"max_tokens": HUGE_BUCKET, "tokens_per_fill": HUGE_BUCKET, "fill_interval": "1s"});
    let config = json!({
        "descriptors": [{"name": "per_client",
                         "key": [{"request_headers": {"header_name": "x-client"}}],
                         "token_bucket": bucket}],
        "max_keys": MAX_KEYS,
        "response_headers": "DRAFT_VERSION_03"
    });
    let mut s = Scenario::new(
        name(format!("ratelimit-keys-{n}")),
        name(format!("ratelimit: {n} distinct keys in flight")),
        Kind::Tollgate,
    )
    .filter(wasm("ratelimit", config))
    .proof(&["x-ratelimit-limit"])
    .family("rate-limit keys", n);
    s.headers.push(("x-client".into(), "client-0".into()));
    s.script = Some(cycle_script("x-client", "client-", n));
    s
}

/// A wrk Lua script setting `header` to `prefix0` .. `prefix{n-1}` in turn.
pub fn cycle_script(header: &str, prefix: &str, n: usize) -> String {
    format!(
        "-- Written by cargo xtask bench: {n} distinct values of {header}.\n\
         local i = 0\n\
         function request()\n  i = (i + 1) % {n}\n  wrk.headers[\"{header}\"] = \"{prefix}\" .. i\n  return wrk.format()\nend\n"
    )
}

/// Every scale scenario, in the order the report lists them.
pub fn all() -> Vec<Scenario> {
    let mut all = Vec::new();
    for n in CREDENTIALS {
        all.extend(api_keys(n));
    }
    for n in CREDENTIALS {
        all.extend(basic_users(n));
    }
    all.extend(RULES.map(rules));
    all.extend(RATE_KEYS.map(rate_keys));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_needed_credential_is_last_and_counted() {
        let c = credentials(1_000);
        let list = c.as_array().map(Vec::as_slice).unwrap_or_default();
        assert_eq!(list.len(), 1_000);
        assert_eq!(list.last().map(|k| k["key"].clone()), Some(json!(API_KEY)));
        let users = htpasswd(10_000);
        assert_eq!(users.lines().count(), 10_000);
        assert_eq!(users.lines().last(), Some(HTPASSWD_SHA.trim_end()));
        assert!(users
            .lines()
            .all(|l| l.ends_with("{SHA}o3cOkwHD7Gf2y1wTOReNwr96zYY=")));
    }

    #[test]
    fn every_scale_scenario_is_opt_in_and_has_a_reference() {
        let all = all();
        assert_eq!(all.len(), 16 + 3 + 2);
        for s in &all {
            assert!(s.family.is_some(), "{}", s.name);
            assert!(!s.chosen(&[], false), "{}", s.name);
            assert!(s.chosen(&[], true), "{}", s.name);
        }
        // Each family starts at its smallest N, the row the others are held to.
        for (family, sizes) in [("API keys", &CREDENTIALS[..]), ("auth rules", &RULES[..])] {
            let ns: Vec<usize> = all
                .iter()
                .filter(|s| s.kind == Kind::Tollgate)
                .filter_map(|s| s.family.filter(|f| f.0 == family).map(|f| f.1))
                .collect();
            assert_eq!(ns, sizes, "{family}");
        }
    }

    #[test]
    fn the_cycle_script_sets_n_values() {
        let s = cycle_script("x-client", "client-", 50_000);
        assert!(s.contains("% 50000"), "{s}");
        assert!(
            s.contains("wrk.headers[\"x-client\"] = \"client-\" .. i"),
            "{s}"
        );
    }
}
