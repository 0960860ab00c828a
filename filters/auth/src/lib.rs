//! The auth filter: API keys, HTTP Basic, JWT and external authorization
//! behind matcher rules and a requirement tree. One folder per method
//! (`api_key`, `basic`, `jwt`, `ext_authz`), the policy that combines them
//! (`policy`: configuration, requirement tree, decision), and `host`, the
//! proxy-wasm glue: the only module that calls the host. Everything but
//! `host` is plain Rust, tested natively.

pub mod api_key;
pub mod basic;
pub mod ct;
pub mod edits;
pub mod ext_authz;
mod host;
pub mod jwt;
pub mod policy;

pub use host::{Filter, Root};
// `tollgate_auth::config::parse` is the configuration's public entry.
pub use policy::config;

// The `module` feature makes this crate a module of its own; the
// `tollgate` module embeds `Root` and `Filter` without it.
#[cfg(all(feature = "module", target_family = "wasm"))]
proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|id| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(Root::new(id))
    });
}}
