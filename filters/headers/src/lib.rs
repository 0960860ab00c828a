//! The headers filter: adds, sets, appends and removes request and response
//! headers, from templates, under conditional rules. `host` is the
//! proxy-wasm glue, the only module that calls the host; `config` and
//! `mutation` are plain Rust, tested natively.

pub mod config;
mod host;
pub mod mutation;

pub use host::{Filter, Root};

// The `module` feature makes this crate a module of its own; the
// `tollgate` module embeds `Root` and `Filter` without it.
#[cfg(all(feature = "module", target_family = "wasm"))]
proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> { Box::<Root>::default() });
}}
