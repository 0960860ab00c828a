//! Logic shared by every Tollgate filter. Nothing here calls proxy-wasm: the
//! filter crates' `lib.rs` glue feeds it what the host returns, so all of it is
//! tested natively with `cargo test`. The one exception is `host`, the glue
//! over proxy-wasm host calls that all filters share.

pub mod config;
pub mod counters;
pub mod duration;
pub mod header;
pub mod host;
pub mod matcher;
pub mod path;
pub mod reply;
pub mod request;
pub mod secret;
pub mod status;
pub mod store;
pub mod syntax;
pub mod template;
pub mod testing;
pub mod time;

pub use config::ConfigError;
pub use request::{Request, RequestSource};
