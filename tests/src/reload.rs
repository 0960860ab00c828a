//! Reloading a filter's configuration under load (tests/tests/reload.rs):
//! Envoy's listener comes from a file (LDS from the filesystem,
//! [`crate::lds`]); while four clients send continuously on keep-alive
//! HTTP/1.1 connections, the file is replaced by one whose filter
//! configuration differs, then by one whose configuration is invalid.
//!
//! What is accepted, and why: Envoy updates a listener whose filter chains
//! alone change in place. New connections get the new chain at once; a
//! connection open on the old chain keeps it and is drained: over
//! `--drain-time-s` (2 s here, 600 s by default) its responses are marked
//! `connection: close` with a rising probability, then what is left is
//! closed. So every response must show the old or the new behaviour, a
//! client connection switches from old to new exactly once and only across
//! a graceful close (the last old response said `connection: close`), no old
//! behaviour is seen once the drain time is over, and no request fails
//! (no 5xx, no reset, no connection closed without a response). An invalid
//! configuration is refused by Envoy (`listener_manager.lds.update_rejected`)
//! and traffic keeps the configuration in force, unharmed.

use crate::bootstrap::Bootstrap;
use crate::client::{Request, Response};
use crate::echo::EchoServer;
use crate::envoy::Envoy;
use crate::lds::{listener, LdsFile};
use crate::load::{Conn, Load, Outcome, Recorded};
use serde_json::Value;
use std::time::{Duration, Instant};

pub const DRAIN_SECS: u64 = 2;
pub const CLIENTS: usize = 4;
/// Time allowed for Envoy to notice the file and apply (or refuse) it.
pub const APPLY_BOUND: Duration = Duration::from_secs(10);

/// One filter's reload: its configurations and how responses show them.
pub struct Case {
    pub module: &'static str,
    pub old: Value,
    pub new: Value,
    /// Invalid configuration text, and what the filter's log line names.
    pub invalid: &'static str,
    pub invalid_field: &'static str,
    pub request: fn(usize, u64) -> Request,
    /// "old" or "new" for an expected response, else why not.
    pub classify: fn(&Request, &Response) -> Outcome,
}

/// Polls with fresh connections until a response shows `want`; returns how
/// long it took.
fn wait_for(envoy: &Envoy, case: &Case, want: &str, since: Instant) -> Duration {
    let mut n = 0;
    let mut last;
    loop {
        let req = (case.request)(CLIENTS, n);
        // A fresh connection each time (refused until the listener is up).
        match Conn::new(envoy.port).send(&req) {
            Ok(r) => match (case.classify)(&req, &r) {
                Ok(got) if got == want => return since.elapsed(),
                got => last = format!("{got:?}"),
            },
            Err(e) => last = e.to_string(),
        }
        assert!(
            since.elapsed() < APPLY_BOUND,
            "{}: not {want} after {APPLY_BOUND:?}; last: {last}",
            case.module
        );
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) until a counter or gauge reaches `want`.
pub fn wait_stat(envoy: &Envoy, name: &str, want: u64) {
    let since = Instant::now();
    while envoy.counter(name) < want {
        assert!(since.elapsed() < APPLY_BOUND, "{name} never reached {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `case`; `after_switch` runs once the new configuration is in force.
pub fn run(case: Case, after_switch: impl FnOnce(&Envoy)) {
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let (port, admin) = (crate::free_port(), crate::free_port());
    let b = |config: &str| {
        let mut b = Bootstrap::new(echo.port())
            .wasm_text(case.module, config)
            .concurrency(2);
        (b.listener_port, b.admin_port) = (port, admin);
        b
    };
    let mut lds = LdsFile::new(&listener(&b(&case.old.to_string())));
    let boot = lds.bootstrap(&b(&case.old.to_string())).to_string();
    let drain = DRAIN_SECS.to_string();
    let mut envoy =
        Envoy::try_start_text_args(&boot, "json", port, admin, 2, &["--drain-time-s", &drain])
            .unwrap_or_else(|f| panic!("{}: Envoy did not start: {}", case.module, f.log));
    // The refused update logs VM failures on purpose; checked below instead.
    envoy.expect_vm_failure = true;
    wait_for(&envoy, &case, "old", Instant::now());
    let vms = envoy.counter("wasm.envoy.wasm.runtime.v8.active");

    let (request, classify) = (case.request, case.classify);
    let load = Load::start(
        port,
        CLIENTS,
        Duration::from_millis(5),
        move |t, n, conn| {
            let req = request(t, n);
            match conn.send(&req) {
                Ok(r) => classify(&req, &r),
                Err(e) => Err(format!("{} {}: {e}", req.method, req.path)),
            }
        },
    );
    std::thread::sleep(Duration::from_secs(1));

    let switched = Instant::now();
    lds.replace(&listener(&b(&case.new.to_string())));
    let took = wait_for(&envoy, &case, "new", switched);
    wait_stat(&envoy, "listener_manager.lds.update_success", 2);
    after_switch(&envoy);
    // Past the drain time every old connection is gone.
    std::thread::sleep(Duration::from_millis(DRAIN_SECS * 1000 + 1500).saturating_sub(took));
    let drained = Instant::now();

    let rejected = envoy.counter("listener_manager.lds.update_rejected");
    lds.replace(&listener(&b(case.invalid)));
    wait_stat(&envoy, "listener_manager.lds.update_rejected", rejected + 1);
    std::thread::sleep(Duration::from_secs(1));
    let rec = load.finish();
    assert_eq!(wait_for(&envoy, &case, "new", Instant::now()).as_secs(), 0);

    check(&case, &rec, drained);
    assert_eq!(envoy.counter("listener_manager.lds.update_success"), 2);
    assert!(envoy.counter("listener_manager.listener_in_place_updated") >= 1);
    let vms_after = envoy.counter("wasm.envoy.wasm.runtime.v8.active");
    assert_eq!(
        vms_after, vms,
        "{}: wasm VMs active before and after",
        case.module
    );
    let (closed, opened) = rec.connections();
    eprintln!(
        "{}: {} requests ({} old, {} new) from {CLIENTS} clients; new config seen {took:?} \
         after the file was replaced; {closed} graceful closes, {opened} connections; {vms} VMs",
        case.module,
        rec.total(),
        rec.count("old"),
        rec.count("new"),
    );
    check_log(&case, &envoy.stop());
}

/// Every request answered with the old or new behaviour, switching once
/// per client, across a graceful close, and never old after the drain.
fn check(case: &Case, rec: &Recorded, drained: Instant) {
    let (failed, shown) = rec.failures(5);
    assert_eq!(failed, 0, "{}: failed requests: {shown:#?}", case.module);
    for (t, (samples, _)) in rec.threads.iter().enumerate() {
        let first_new = samples
            .iter()
            .position(|s| s.outcome.as_deref() == Ok("new"))
            .unwrap_or_else(|| panic!("{}: client {t} never saw the new config", case.module));
        assert!(
            first_new > 0,
            "{}: client {t} never saw the old config",
            case.module
        );
        assert!(
            samples[first_new - 1].server_closed,
            "{}: client {t} switched config without its connection being closed",
            case.module
        );
        if let Some(s) = samples[first_new..]
            .iter()
            .find(|s| s.outcome.as_deref() != Ok("new"))
        {
            panic!(
                "{}: client {t} saw {:?} after the new config",
                case.module, s.outcome
            );
        }
        assert!(
            samples[first_new].at < drained,
            "{}: client {t} still old after the drain",
            case.module
        );
    }
}

/// No panic or trap, and the only VM failure lines are the refused update's.
fn check_log(case: &Case, log: &str) {
    let marker = format!(
        "tollgate.{}: invalid configuration: {}",
        case.module, case.invalid_field
    );
    assert_eq!(
        log.matches(&marker).count(),
        1,
        "{marker:?} once in:\n{log}"
    );
    assert!(
        log.contains("config rejected"),
        "no rejection in the log:\n{log}"
    );
    let refused = [
        "Failed to configure base Wasm plugin",
        "fail closed failed to load",
    ];
    for l in log.lines() {
        let failure = [
            "panicked at",
            "RuntimeError",
            "Uncaught",
            "Wasm VM failed",
            "fail closed",
        ]
        .iter()
        .any(|p| l.contains(p));
        assert!(
            !failure || refused.iter().any(|r| l.contains(r)),
            "{}: unexpected VM failure: {l}\n{log}",
            case.module
        );
    }
}
