//! The `tollgate` module: the auth, ratelimit and headers filters in one VM,
//! in that order, from one configuration (`config`). `host` holds the root
//! and HTTP contexts that sequence the filters; `config` is plain Rust.

pub mod config;
mod host;

pub use host::Root;

#[cfg(target_family = "wasm")]
proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|id| -> Box<dyn proxy_wasm::traits::RootContext> { Box::new(Root::new(id)) });
}}
