//! Test harness: every traffic test runs real requests through a real Envoy
//! loading the real wasm modules, in front of an echo upstream that records
//! what reached it.

pub mod attach;
pub mod authz;
pub mod bootstrap;
pub mod chain;
pub mod client;
pub mod demo;
pub mod docker;
pub mod ecds;
pub mod echo;
pub mod envoy;
pub mod faulty;
pub mod h2c;
pub mod http_server;
pub mod lds;
pub mod load;
pub mod mix;
pub mod one_vm;
pub mod proc;
pub mod pyjwt;
pub mod real_upstream;
pub mod reload;
pub mod rls;
pub mod tools;
pub mod twin;
pub mod vm_memory;

use std::path::PathBuf;

/// The repository root (this crate lives in `<root>/tests`). `cargo test`
/// sets CARGO_MANIFEST_DIR at run time too; preferring it keeps a test binary
/// reused from another checkout (shared target dir) pointed at this one.
pub fn repo_root() -> PathBuf {
    let here = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Where `cargo xtask build` put the wasm modules.
pub fn dist_dir() -> PathBuf {
    std::env::var_os("TOLLGATE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("dist"))
}

/// Path of a filter module, e.g. `module("headers")`; fails the test with a
/// hint when the module was not built.
pub fn module(name: &str) -> PathBuf {
    let path = dist_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// Whether `took`, as the client measured it, shows that a timeout of
/// `timeout` in Envoy was waited for. Envoy arms timers against its event
/// loop's cached clock, so one can fire a little early as the client sees it
/// (249.8 ms for 250 and 98.8 ms for 100 in CI): a tenth of slack.
pub fn waited_for(took: std::time::Duration, timeout: std::time::Duration) -> bool {
    took >= timeout * 9 / 10
}

/// A free TCP port on 127.0.0.1 for a server that binds it later (Envoy's
/// listener and admin port). Taken below the kernel's ephemeral range: a
/// port from that range (what binding port 0 gives) can be taken by any
/// outgoing connection before Envoy binds it, and the tests open thousands
/// (seen in CI: `cannot bind '127.0.0.1:39097': Address already in use`).
/// Successive calls walk the range from a point that differs per process,
/// so concurrent tests do not pick the same port.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    let (low, high) = (10_000u32, ephemeral.clamp(12_000, 32_768));
    let span = high - low;
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let Ok(port) = u16::try_from(low + (start + n) % span) else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {high} on 127.0.0.1")
}

/// Checks that `envoy/<file>` is what `derive` makes of `envoy/chain.yaml`;
/// with `TOLLGATE_BLESS` set, writes it instead. `bless` is the command that
/// regenerates it, for the failure message.
pub fn check_derived_from_chain(
    file: &str,
    derive: impl FnOnce(&str) -> Result<String, String>,
    bless: &str,
) {
    let dir = repo_root().join("envoy");
    let chain = std::fs::read_to_string(dir.join("chain.yaml")).expect("envoy/chain.yaml");
    let want = derive(&chain).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(file);
    if std::env::var_os("TOLLGATE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("write envoy/{file}: {e}"));
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "envoy/{file} is out of step with envoy/chain.yaml (first difference at line {}); \
             regenerate it: TOLLGATE_BLESS=1 {bless}",
            line + 1
        );
    }
}
