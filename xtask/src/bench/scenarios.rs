//! What `cargo xtask bench` measures: one Envoy bootstrap per scenario, each
//! Tollgate filter next to the native Envoy filter doing the same work, with
//! the configurations of the README examples cut down to that work.
//!
//! Adding a scenario is one entry in [`all`]: its filters, the native
//! scenario it is held against, its goal, and what proves it ran.
//! `bootstrap.rs` turns one into an Envoy configuration.

use serde_json::{json, Value};

use super::jwt::{self, JwtAlg};

/// The one API key every auth scenario accepts (sent on every request).
pub(super) const API_KEY: &str = "bench-key-1";
/// htpasswd line for user `bench`, password `bench-password`
/// (`htpasswd -nbs bench bench-password`).
pub(super) const HTPASSWD_SHA: &str = "bench:{SHA}o3cOkwHD7Gf2y1wTOReNwr96zYY=\n";
/// `Basic base64("bench:bench-password")`.
const BASIC_CREDENTIALS: &str = "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ=";
/// A bucket no run can empty: the filter does all its work and never limits.
pub(super) const HUGE_BUCKET: u64 = 1_000_000_000;
/// Header the auth filter sets; the native filters are told to set it too.
pub(super) const IDENTITY: &str = "x-tollgate-identity";

/// Every scenario gets the same request, so the baseline parses the same
/// bytes; each filter looks only at the header it is configured for.
pub fn common_headers() -> Vec<(String, String)> {
    vec![
        ("x-api-key".into(), API_KEY.into()),
        ("authorization".into(), BASIC_CREDENTIALS.into()),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Plain Envoy: what every other scenario's added CPU is measured from.
    Baseline,
    /// A no-op proxy-wasm filter: the ABI crossing every wasm filter pays.
    Floor,
    Tollgate,
    Native,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::Floor => "floor",
            Kind::Tollgate => "tollgate",
            Kind::Native => "native",
        }
    }
}

#[derive(Clone)]
pub enum Filter {
    /// `dist/<module>.wasm` with this plugin configuration.
    Wasm { module: &'static str, config: Value },
    /// An Envoy filter by name and config type (short type name after
    /// `envoy.extensions.filters.http.`).
    Native {
        name: &'static str,
        type_name: &'static str,
        config: Value,
    },
}

/// What the issue holds a Tollgate scenario to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// Added CPU at most this many µs above the no-op floor's.
    OverFloor(f64),
    /// Added CPU at most this multiple of the native equivalent's (JWT).
    TimesNative(f64),
    /// Added CPU at most this multiple of the no-op floor's (the one-VM chain).
    TimesFloor(f64),
}

#[derive(Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub title: &'static str,
    pub kind: Kind,
    /// For a Tollgate scenario: the native scenario doing the same work.
    pub native: Option<&'static str>,
    pub goal: Option<Goal>,
    pub filters: Vec<Filter>,
    /// Response headers that prove the filters ran (checked before measuring;
    /// every response must also be a 2xx, so auth scenarios prove themselves).
    pub proof: &'static [&'static str],
    /// What wrk sends.
    pub headers: Vec<(String, String)>,
    /// A wrk Lua script, if any.
    pub script: Option<String>,
    /// A new JWT of this algorithm on every request (wrk's script for it is
    /// written by [`jwt::lua_script`]; `headers` still carries a valid token
    /// for the check before measuring).
    pub fresh_tokens: Option<JwtAlg>,
    /// Where its wasm modules are, when not `dist/` (`--compare`).
    pub modules_dir: Option<std::path::PathBuf>,
    /// Run only when named with `--only` (the host-call probes).
    pub on_request: bool,
    /// A scale scenario (run with `--scale`): its family and its N.
    pub family: Option<(&'static str, usize)>,
}

impl Scenario {
    pub(super) fn new(name: &'static str, title: &'static str, kind: Kind) -> Scenario {
        Scenario {
            name,
            title,
            kind,
            native: None,
            goal: None,
            filters: vec![],
            proof: &[],
            headers: common_headers(),
            script: None,
            fresh_tokens: None,
            modules_dir: None,
            on_request: false,
            family: None,
        }
    }

    /// Whether `--only` (empty: the default set, with the scale scenarios
    /// when `scale`) asks for this scenario.
    pub fn chosen(&self, only: &[String], scale: bool) -> bool {
        if only.is_empty() {
            !self.on_request && (scale || self.family.is_none())
        } else {
            only.iter().any(|n| n == self.name)
        }
    }

    pub(super) fn against(mut self, native: &'static str) -> Scenario {
        self.native = Some(native);
        self
    }

    fn goal(mut self, goal: Goal) -> Scenario {
        self.goal = Some(goal);
        self
    }

    pub(super) fn filter(mut self, f: Filter) -> Scenario {
        self.filters.push(f);
        self
    }

    pub(super) fn proof(mut self, headers: &'static [&'static str]) -> Scenario {
        self.proof = headers;
        self
    }

    pub(super) fn family(mut self, family: &'static str, n: usize) -> Scenario {
        self.family = Some((family, n));
        self
    }

    /// `authorization: Bearer <token>` in place of the Basic credentials;
    /// with `fresh`, a new token on every request.
    fn bearer(mut self, alg: JwtAlg, fresh: bool) -> Scenario {
        let token = format!("Bearer {}", alg.same_token());
        for (name, value) in &mut self.headers {
            if name == "authorization" {
                value.clone_from(&token);
            }
        }
        self.fresh_tokens = fresh.then_some(alg);
        self
    }
}

pub(super) fn wasm(module: &'static str, config: Value) -> Filter {
    Filter::Wasm { module, config }
}

pub(super) fn native(name: &'static str, type_name: &'static str, config: Value) -> Filter {
    Filter::Native {
        name,
        type_name,
        config,
    }
}

fn headers_config() -> Value {
    json!({
        "request_headers_to_add": [{"header": {"key": "x-bench", "value": "1"},
                                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
        "response_headers_to_add": [{"header": {"key": "x-served-by", "value": "tollgate"},
                                     "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]
    })
}

fn native_headers() -> Filter {
    let c = headers_config();
    let op = |h: &Value| json!({"append": h});
    let ops =
        |key: &str| -> Vec<Value> { c[key].as_array().into_iter().flatten().map(op).collect() };
    native(
        "envoy.filters.http.header_mutation",
        "header_mutation.v3.HeaderMutation",
        json!({"mutations": {
            "request_mutations": ops("request_headers_to_add"),
            "response_mutations": ops("response_headers_to_add")
        }}),
    )
}

fn api_key() -> Filter {
    wasm("auth", api_key_config())
}

fn api_key_config() -> Value {
    json!({
        "api_key": {"credentials": [{"key": API_KEY, "client": "bench"}],
                    "key_sources": [{"header": "x-api-key"}]},
        "default_requires": {"api_key": {}}
    })
}

fn native_api_key() -> Filter {
    native(
        "envoy.filters.http.api_key_auth",
        "api_key_auth.v3.ApiKeyAuth",
        json!({
            "credentials": [{"key": API_KEY, "client": "bench"}],
            "key_sources": [{"header": "x-api-key"}],
            "forwarding": {"header": IDENTITY}
        }),
    )
}

fn bucket() -> Value {
    json!({"max_tokens": HUGE_BUCKET, "tokens_per_fill": HUGE_BUCKET, "fill_interval": "1s"})
}

fn ratelimit() -> Filter {
    wasm("ratelimit", ratelimit_config())
}

fn ratelimit_config() -> Value {
    json!({"token_bucket": bucket(), "response_headers": "DRAFT_VERSION_03"})
}

fn native_ratelimit() -> Filter {
    let all = json!({"numerator": 100, "denominator": "HUNDRED"});
    native(
        "envoy.filters.http.local_ratelimit",
        "local_ratelimit.v3.LocalRateLimit",
        json!({
            "stat_prefix": "bench",
            "token_bucket": bucket(),
            "filter_enabled": {"runtime_key": "bench_enabled", "default_value": all},
            "filter_enforced": {"runtime_key": "bench_enforced", "default_value": all},
            "enable_x_ratelimit_headers": "DRAFT_VERSION_03"
        }),
    )
}

/// The one JWT provider of the JWT scenarios, in the vocabulary both
/// Tollgate and `jwt_authn` read.
fn jwt_provider() -> Value {
    json!({
        "issuer": jwt::ISSUER,
        "audiences": [jwt::AUDIENCE],
        "local_jwks": {"inline_string": jwt::JWKS},
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}]
    })
}

/// Tollgate's auth with its defaults: the `sub` claim into the identity
/// header, the verified-token cache with 1,024 slots.
fn jwt_auth() -> Filter {
    wasm(
        "auth",
        json!({"jwt": {"providers": {"bench": jwt_provider()}},
               "default_requires": {"provider_name": "bench"}}),
    )
}

/// `jwt_authn` setting the same identity header; with `cache`, its
/// verified-token cache (`jwt_cache_config`, off by default) sized as
/// Tollgate's default.
fn native_jwt(cache: bool) -> Filter {
    let mut provider = jwt_provider();
    provider["claim_to_headers"] = json!([{"header_name": IDENTITY, "claim_name": "sub"}]);
    if cache {
        provider["jwt_cache_config"] = json!({"jwt_cache_size": 1024});
    }
    native(
        "envoy.filters.http.jwt_authn",
        "jwt_authn.v3.JwtAuthentication",
        json!({"providers": {"bench": provider},
               "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "bench"}}]}),
    )
}

/// Names and titles of one algorithm's four JWT scenarios.
struct JwtNames {
    alg: JwtAlg,
    same: [&'static str; 4],
    new: [&'static str; 4],
}

/// Per algorithm: Tollgate with the same token on every request (its cache
/// answers) against `jwt_authn` with its cache on; Tollgate with a new token
/// on every request (verified every time) against `jwt_authn` as configured
/// by default (no cache: it verifies every request, whatever the token).
fn jwt_scenarios(n: JwtNames, goal_new: f64) -> Vec<Scenario> {
    use Kind::*;
    let [same, same_title, native_same, native_same_title] = n.same;
    let [new, new_title, native_new, native_new_title] = n.new;
    vec![
        Scenario::new(same, same_title, Tollgate)
            .against(native_same)
            .goal(Goal::TimesNative(1.0))
            .filter(jwt_auth())
            .bearer(n.alg, false),
        Scenario::new(native_same, native_same_title, Native)
            .filter(native_jwt(true))
            .bearer(n.alg, false),
        Scenario::new(new, new_title, Tollgate)
            .against(native_new)
            .goal(Goal::TimesNative(goal_new))
            .filter(jwt_auth())
            .bearer(n.alg, true),
        Scenario::new(native_new, native_new_title, Native)
            .filter(native_jwt(false))
            .bearer(n.alg, true),
    ]
}

/// Every scenario, in the order the report lists them.
/// The no-op module making 50 host calls of one `kind` per request: (added
/// CPU - the floor's) / 50 is what Envoy spends on one such call. Only with
/// `--only`.
fn probe(name: &'static str, title: &'static str, kind: &str) -> Scenario {
    let mut s = Scenario::new(name, title, Kind::Floor)
        .filter(wasm("noop", json!(format!("probe {kind} 50"))));
    s.on_request = true;
    s
}

pub fn all() -> Vec<Scenario> {
    use Kind::*;
    let mut all = vec![
        Scenario::new("plain", "plain Envoy (router only)", Baseline),
        Scenario::new("noop", "no-op wasm filter (the floor)", Floor)
            .filter(wasm("noop", json!(null))),
        Scenario::new("noop-header", "no-op wasm + 1 response header", Floor)
            .filter(wasm("noop", json!("add-response-header")))
            .proof(&["x-noop"]),
        probe("probe-metric", "no-op wasm + 50 counter increments", "metric"),
        probe("probe-header", "no-op wasm + 50 reads of one request header", "header"),
        probe("probe-headers", "no-op wasm + 50 reads of the request header map", "headers"),
        probe("probe-property", "no-op wasm + 50 reads of source.address", "property"),
        probe("probe-time", "no-op wasm + 50 reads of the time", "time"),
        probe("probe-shared", "no-op wasm + 50 shared-data reads", "shared"),
        Scenario::new(
            "headers",
            "headers: +1 request, +1 response header",
            Tollgate,
        )
        .against("native-headers")
        .goal(Goal::OverFloor(2.0))
        .filter(wasm("headers", headers_config()))
        .proof(&["x-served-by"]),
        Scenario::new("native-headers", "header_mutation, same mutations", Native)
            .filter(native_headers())
            .proof(&["x-served-by"]),
        Scenario::new("api-key", "auth: API key from a header", Tollgate)
            .against("native-api-key")
            .goal(Goal::OverFloor(2.0))
            .filter(api_key()),
        Scenario::new("native-api-key", "api_key_auth", Native).filter(native_api_key()),
        Scenario::new("basic-sha", "auth: Basic, {SHA} htpasswd", Tollgate)
            .against("native-basic-sha")
            .goal(Goal::OverFloor(2.0))
            .filter(wasm(
                "auth",
                json!({"basic": {"users": HTPASSWD_SHA}, "default_requires": {"basic": {}}}),
            )),
        Scenario::new("native-basic-sha", "basic_auth, {SHA}", Native).filter(native(
            "envoy.filters.http.basic_auth",
            "basic_auth.v3.BasicAuth",
            json!({"users": {"inline_string": HTPASSWD_SHA}, "forward_username_header": IDENTITY}),
        )),
        Scenario::new("ratelimit", "ratelimit: local, never limiting", Tollgate)
            .against("native-ratelimit")
            .goal(Goal::OverFloor(2.0))
            .filter(ratelimit())
            .proof(&["x-ratelimit-limit"]),
        Scenario::new("native-ratelimit", "local_ratelimit, same bucket", Native)
            .filter(native_ratelimit())
            .proof(&["x-ratelimit-limit"]),
        Scenario::new("chain", "chain: api key + ratelimit + headers", Tollgate)
            .against("native-chain")
            .filter(api_key())
            .filter(ratelimit())
            .filter(wasm("headers", headers_config()))
            .proof(&["x-served-by", "x-ratelimit-limit"]),
        Scenario::new("chain-1vm", "the same chain in one VM (tollgate.wasm)", Tollgate)
            .against("native-chain")
            .goal(Goal::TimesFloor(1.3))
            .filter(wasm(
                "tollgate",
                json!({"auth": api_key_config(), "ratelimit": ratelimit_config(), "headers": headers_config()}),
            ))
            .proof(&["x-served-by", "x-ratelimit-limit"]),
        Scenario::new(
            "native-chain",
            "api_key_auth + local_ratelimit + header_mutation",
            Native,
        )
        .filter(native_api_key())
        .filter(native_ratelimit())
        .filter(native_headers())
        .proof(&["x-served-by", "x-ratelimit-limit"]),
    ];
    all.extend(jwt_scenarios(
        JwtNames {
            alg: JwtAlg::Rs256,
            same: [
                "jwt-rs256-same",
                "auth: JWT RS256, same token (cache)",
                "native-rs256-same",
                "jwt_authn RS256, same token, jwt_cache_config",
            ],
            new: [
                "jwt-rs256-new",
                "auth: JWT RS256, new token every request",
                "native-rs256-new",
                "jwt_authn RS256, new token every request",
            ],
        },
        4.0,
    ));
    all.extend(jwt_scenarios(
        JwtNames {
            alg: JwtAlg::Es256,
            same: [
                "jwt-es256-same",
                "auth: JWT ES256, same token (cache)",
                "native-es256-same",
                "jwt_authn ES256, same token, jwt_cache_config",
            ],
            new: [
                "jwt-es256-new",
                "auth: JWT ES256, new token every request",
                "native-es256-new",
                "jwt_authn ES256, new token every request",
            ],
        },
        8.0,
    ));
    all.extend(super::scale::all());
    all
}

/// For `--compare NAME=DIR`: a copy of every chosen Tollgate scenario, named
/// `<scenario>@NAME`, loading its modules from DIR, listed right after it, so
/// that two builds of a filter are measured in the same interleaved run.
pub fn with_variants<'a>(chosen: Vec<&'a Scenario>, variants: &'a [Scenario]) -> Vec<&'a Scenario> {
    let mut out = Vec::new();
    for s in chosen {
        out.push(s);
        out.extend(
            variants
                .iter()
                .filter(|v| v.name.split('@').next() == Some(s.name)),
        );
    }
    out
}

/// The copies [`with_variants`] lists, for each `(name, dir)`.
pub fn variants(chosen: &[&Scenario], compare: &[(String, std::path::PathBuf)]) -> Vec<Scenario> {
    let mut out = Vec::new();
    for s in chosen.iter().filter(|s| s.kind == Kind::Tollgate) {
        for (name, dir) in compare {
            let mut v = (*s).clone();
            // Scenario names are static; a bench run makes a handful.
            v.name = Box::leak(format!("{}@{name}", s.name).into_boxed_str());
            v.modules_dir = Some(dir.clone());
            out.push(v);
        }
    }
    out
}

/// The wasm modules the scenarios load.
pub fn modules(scenarios: &[&Scenario]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = scenarios
        .iter()
        .flat_map(|s| &s.filters)
        .filter_map(|f| match f {
            Filter::Wasm { module, .. } => Some(*module),
            Filter::Native { .. } => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_natives_exist() {
        let all = all();
        for (i, s) in all.iter().enumerate() {
            assert!(
                all.iter().skip(i + 1).all(|o| o.name != s.name),
                "{}",
                s.name
            );
            if let Some(n) = s.native {
                let target = all.iter().find(|o| o.name == n);
                assert_eq!(target.map(|t| t.kind), Some(Kind::Native), "{n}");
            }
        }
        assert_eq!(all.first().map(|s| s.kind), Some(Kind::Baseline));
        assert!(all.iter().any(|s| s.name == "noop"));
    }

    #[test]
    fn native_header_mutation_mirrors_the_headers_config() {
        let Filter::Native { config, .. } = native_headers() else {
            panic!("header_mutation is native")
        };
        let req = &config["mutations"]["request_mutations"][0]["append"]["header"]["key"];
        assert_eq!(req, "x-bench");
        let resp = &config["mutations"]["response_mutations"][0]["append"]["header"]["key"];
        assert_eq!(resp, "x-served-by");
    }
}
