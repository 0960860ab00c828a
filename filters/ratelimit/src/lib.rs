//! The ratelimit filter: token buckets shared by every Envoy worker (local
//! mode) and Envoy's rate-limit service protocol (global mode). `host` is the
//! proxy-wasm glue, the only module that calls the host; the rest is plain
//! Rust, tested natively.

pub mod bucket;
pub mod config;
pub mod descriptor;
pub mod global;
pub mod headers;
mod host;
pub mod limited;
pub mod percent;
pub mod rls;
pub mod table;

pub use host::{Filter, Root};

// The `module` feature makes this crate a module of its own; the
// `tollgate` module embeds `Root` and `Filter` without it.
#[cfg(all(feature = "module", target_family = "wasm"))]
proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> { Box::<Root>::default() });
}}
