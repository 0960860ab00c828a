//! Tollgate's modules, and each one's start-up check: the filter crates'
//! own parsers, and the log line the module writes when one refuses.

use tollgate_common::config::refusal_line;
use tollgate_common::ConfigError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Module {
    Auth,
    Ratelimit,
    Headers,
    /// `tollgate.wasm`: the three filters in one VM.
    Tollgate,
}

impl Module {
    pub fn name(self) -> &'static str {
        match self {
            Module::Auth => "auth",
            Module::Ratelimit => "ratelimit",
            Module::Headers => "headers",
            Module::Tollgate => "tollgate",
        }
    }

    pub fn from_name(name: &str) -> Option<Module> {
        [
            Module::Auth,
            Module::Ratelimit,
            Module::Headers,
            Module::Tollgate,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }

    /// The module a code location names: `dist/auth.wasm`,
    /// `https://host/auth.wasm?x`, `oci://registry/tollgate/auth:0.1.0`,
    /// `oci://.../auth@sha256:...`.
    pub fn from_location(location: &str) -> Option<Module> {
        let location = location.split(['?', '#']).next().unwrap_or(location);
        let last = location.rsplit('/').next().unwrap_or(location);
        let last = last.split('@').next().unwrap_or(last);
        let last = last.split(':').next().unwrap_or(last);
        Module::from_name(last.strip_suffix(".wasm").unwrap_or(last))
    }

    /// The module a root id names: `tollgate.auth` (what envoy/*.yaml and
    /// istio/*.yaml use) or `tollgate`.
    pub fn from_root_id(root_id: &str) -> Option<Module> {
        match root_id {
            "tollgate" => Some(Module::Tollgate),
            id => id.strip_prefix("tollgate.").and_then(Module::from_name),
        }
    }

    /// The line the module logs when it refuses `config` at start, or None
    /// when it loads. The one-VM module checks its own layout first, then
    /// its members in the order it loads them, and stops at the first.
    pub fn refusal(self, config: &[u8]) -> Option<String> {
        match self {
            Module::Tollgate => match tollgate::config::parse(config) {
                Err(e) => Some(refusal_line("chain", &e)),
                Ok(parts) => [
                    (Module::Auth, parts.auth),
                    (Module::Ratelimit, parts.ratelimit),
                    (Module::Headers, parts.headers),
                ]
                .into_iter()
                .find_map(|(m, part)| part.and_then(|bytes| m.refusal(&bytes))),
            },
            single => single
                .error(config)
                .map(|e| refusal_line(single.name(), &e)),
        }
    }

    /// What a single filter's parser says of `config`; the one-VM module's
    /// layout is checked by [`Module::refusal`].
    pub fn error(self, config: &[u8]) -> Option<ConfigError> {
        match self {
            Module::Auth => tollgate_auth::config::parse(config).err(),
            Module::Ratelimit => tollgate_ratelimit::config::parse(config).err(),
            Module::Headers => tollgate_headers::config::parse(config).err(),
            Module::Tollgate => tollgate::config::parse(config).err(),
        }
    }
}
