//! Soak: minutes of mixed traffic through the shipped chain
//! (`envoy/chain.yaml`: auth, then ratelimit, then headers) with
//! `--concurrency 2`, against the demo authz service and JWKS. Every response
//! must have a status its kind of request allows (and, when it passes, the
//! identity it should carry), the VMs' memory must stay flat after warm-up,
//! the rate-limit keys must be evicted rather than grow, and no VM may fail
//! (the harness checks Envoy's log on drop).
//!
//! `TOLLGATE_SOAK_SECS` sets the duration (default 120).

use std::time::{Duration, Instant};
use tollgate_tests::bootstrap::user_file;
use tollgate_tests::client::{Proto, Request};
use tollgate_tests::demo::{self, Demo};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::load::Load;
use tollgate_tests::mix::{classify, pick, NEW_IDENTITY_EVERY};
use tollgate_tests::vm_memory::{self, Memory};

/// The chain's rate-limit table size for this test (the file leaves the
/// default, 4096): the soak sends several times as many distinct identities.
const MAX_KEYS: u64 = 256;

/// The shipped chain with `max_keys` lowered to [`MAX_KEYS`] and the JWKS and
/// ext_authz timeouts (1 s, 250 ms) raised to 5 s: this test is about memory
/// and statuses, not deadlines (auth_jwt.rs and auth_ext_authz.rs test those),
/// and a shared CI machine can stall a check past 250 ms (seen once in over
/// 100,000 checks: a 503 from failing closed, as configured).
fn start(demo: &Demo, echo: &EchoServer) -> Envoy {
    let (text, port, admin) = user_file("chain.yaml", echo.port());
    let mut text = demo.point_at(&text);
    for (from, to) in [
        (
            r#""response_headers": "DRAFT_VERSION_03""#,
            format!(r#""response_headers": "DRAFT_VERSION_03", "max_keys": {MAX_KEYS}"#),
        ),
        (r#""timeout": "0.25s""#, r#""timeout": "5s""#.to_string()),
        (r#""timeout": "1s""#, r#""timeout": "5s""#.to_string()),
    ] {
        assert_eq!(text.matches(from).count(), 1, "chain.yaml changed: {from}");
        text = text.replace(from, &to);
    }
    Envoy::try_start_text(&text, "yaml", port, admin, 2).unwrap_or_else(|f| panic!("{}", f.log))
}

#[test]
fn chain_soak_stays_flat() {
    let secs: u64 = std::env::var("TOLLGATE_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let (duration, warm_up) = (
        Duration::from_secs(secs),
        Duration::from_secs((secs / 4).max(10)),
    );
    let demo = demo::start("127.0.0.1:0", "127.0.0.1:0").expect("demo services");
    let echo = EchoServer::start("127.0.0.1:0").expect("echo upstream");
    let envoy = start(&demo, &echo);
    let port = envoy.port;
    // Alice's bcrypt check is cached before a lockout of our address begins.
    let first =
        Request::get("/admin").header("authorization", "Basic YWxpY2U6YWxpY2UtcGFzc3dvcmQ=");
    assert_eq!(first.send(port, Proto::H1).status, 200);

    let began = Instant::now();
    let load = Load::start(port, 4, Duration::from_millis(3), |t, n, conn| {
        let kind = pick(t, n);
        let req = (kind.make)(t, n);
        match conn.send(&req) {
            Ok(r) => classify(kind, &req, &r),
            Err(e) => Err(format!("{}: {e}", kind.name)),
        }
    });
    // One HTTP/2 client too (curl, a new connection per request).
    let h2 = std::thread::spawn(move || {
        let mut n = 0;
        let mut failures = vec![];
        while began.elapsed() < duration {
            let kind = pick(9, n);
            let req = (kind.make)(9, n);
            if let Err(e) =
                std::panic::catch_unwind(|| classify(kind, &req, &req.send(port, Proto::H2)))
                    .unwrap_or_else(|_| Err(format!("{}: HTTP/2 send failed", kind.name)))
            {
                failures.push(e);
            }
            n += 1;
            std::thread::sleep(Duration::from_millis(200));
        }
        (n, failures)
    });

    let mut samples: Vec<(Duration, Memory)> = vec![];
    let mut warm: Option<Memory> = None;
    while began.elapsed() < duration {
        std::thread::sleep(Duration::from_secs(5).min(duration.saturating_sub(began.elapsed())));
        // The test peers keep what they saw: forget it, it is not under test.
        echo.clear();
        demo.clear();
        let m = vm_memory::sample(&envoy);
        eprintln!("soak {:>4.0?}: {m}", began.elapsed());
        if warm.is_none() && began.elapsed() >= warm_up {
            warm = Some(m);
        }
        samples.push((began.elapsed(), m));
    }
    let rec = load.finish();
    let (h2_sent, h2_failures) = h2.join().expect("HTTP/2 client");
    let warm = warm.expect("a warm-up sample");
    let last = samples.last().map(|(_, m)| *m).expect("samples");
    let (failed, shown) = rec.failures(10);
    let after_warm = rec
        .samples()
        .filter(|s| s.at.duration_since(began) >= warm_up)
        .count() as u64;
    let evicted = envoy.counter("tollgate.ratelimit.keys_evicted");
    eprintln!(
        "soak: {} requests over HTTP/1.1 ({after_warm} after warm-up) + {h2_sent} over HTTP/2 in {:?}: \
         200 {}, 401 {}, 403 {}, 429 {}; ratelimit allowed {} limited {} keys_evicted {evicted}; \
         auth allowed {} denied {}; jwt cache hits {}; warm-up {warm}; last {last}",
        rec.total(),
        began.elapsed(),
        rec.count("200"),
        rec.count("401"),
        rec.count("403"),
        rec.count("429"),
        envoy.counter("tollgate.ratelimit.allowed"),
        envoy.counter("tollgate.ratelimit.limited"),
        envoy.counter("tollgate.auth.allowed"),
        envoy.counter("tollgate.auth.denied"),
        envoy.counter("tollgate.auth.jwt_cache_hits"),
    );
    if failed > 0 {
        // What Envoy and the filters said about it.
        let log = envoy.log();
        let said: Vec<&str> = log
            .lines()
            .filter(|l| {
                l.contains("tollgate.") && (l.contains("[warning]") || l.contains("[error]"))
            })
            .take(10)
            .collect();
        let authz: Vec<(String, u64)> = envoy
            .stats()
            .into_iter()
            .filter(|(n, v)| n.starts_with("cluster.authz.upstream_") && *v > 0)
            .collect();
        panic!("{failed} failed or unexpected responses: {shown:#?}\nlog: {said:#?}\nauthz cluster: {authz:?}");
    }
    assert!(h2_failures.is_empty(), "HTTP/2: {h2_failures:#?}");
    for class in ["200", "401", "403", "429"] {
        assert!(rec.count(class) > 0, "no {class} in the mix");
    }
    // Request n of a client is a new identity every NEW_IDENTITY_EVERY (`pick`).
    let new_identities = |from: Duration| -> u64 {
        rec.threads
            .iter()
            .flat_map(|(samples, _)| samples.iter().enumerate())
            .filter(|(n, s)| {
                n.is_multiple_of(NEW_IDENTITY_EVERY) && s.at.duration_since(began) >= from
            })
            .count() as u64
    };
    let (identities, identities_after_warm) =
        (new_identities(Duration::ZERO), new_identities(warm_up));
    eprintln!("soak: {identities} new identities, {identities_after_warm} after warm-up");
    assert!(
        identities > 4 * MAX_KEYS,
        "only {identities} distinct identities sent"
    );
    assert!(
        evicted > 0,
        "{identities} identities through {MAX_KEYS} slots evicted nothing"
    );
    check_flat(&warm, &last, identities_after_warm);
}

/// Shared data lives in Envoy's heap: a key that was never reclaimed would
/// cost at least this much there (its name, about 30 bytes, its value, 13
/// bytes plus the rate-limit key, and the hash map's node).
const BYTES_PER_LEAKED_KEY: u64 = 100;
/// What Envoy's heap may grow by after warm-up: it moved by about 0.1 MiB
/// between samples in steady traffic (connections, buffers, stats); 512 KiB
/// is five times that.
const HEAP_SLACK: u64 = 512 << 10;
/// What each VM's linear memory may grow by after warm-up: one 64 KiB wasm
/// page (the allocator may still take a page for fragmentation). A leak in a
/// filter grows its memory without end; with tens of thousands of requests
/// after warm-up per VM, one page means a leak below a few bytes per request
/// would pass unseen, no more.
const PAGE: u64 = 64 << 10;

/// Memory after warm-up stays flat.
fn check_flat(warm: &Memory, last: &Memory, identities_after_warm: u64) {
    assert_eq!(
        (last.vms, last.vms_active),
        (warm.vms, warm.vms_active),
        "VM count changed"
    );
    assert!(last.vms > 0, "no wasm memory found in smaps");
    assert!(
        last.linear <= warm.linear + last.vms * PAGE,
        "wasm linear memory grew: {warm} -> {last}"
    );
    // The bound must be able to see keys that are never evicted.
    assert!(
        identities_after_warm * BYTES_PER_LEAKED_KEY >= 2 * HEAP_SLACK,
        "too few new keys ({identities_after_warm}) after warm-up for the heap check to see them: \
         run longer (TOLLGATE_SOAK_SECS)"
    );
    assert!(
        last.heap <= warm.heap + HEAP_SLACK,
        "Envoy heap grew: {warm} -> {last}"
    );
}
