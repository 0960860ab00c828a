//! The environment a wasm VM sees. The auth filter reads `{"env": NAME}`
//! secrets with `std::env` at start, and a VM has only the variables its
//! `vm_config.environment_variables` (Istio: `vmConfig.env`) give it; so a
//! configuration is checked with exactly those in the process environment,
//! and an unlisted variable is "not set in the VM", as in Envoy.

use std::ffi::OsString;

/// Runs `f` with the process environment replaced by `vars`, then puts the
/// previous environment back. The command is single-threaded, so nothing
/// else reads the environment meanwhile.
pub fn with_vm_env<T>(vars: &[(String, String)], f: impl FnOnce() -> T) -> T {
    let saved: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (k, _) in &saved {
        std::env::remove_var(k);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let out = f();
    for (k, _) in std::env::vars_os().collect::<Vec<_>>() {
        std::env::remove_var(k);
    }
    for (k, v) in saved {
        std::env::set_var(k, v);
    }
    out
}
