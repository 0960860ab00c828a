//! Live updates as Istio pushes a changed WasmPlugin: the filters come by
//! ECDS (resources shaped as istiod builds them, see
//! [`tollgate_tests::ecds`]), and each resource is rewritten under steady
//! keep-alive load over HTTP/1.1 and HTTP/2. Unlike an LDS update, ECDS
//! drains nothing: the connection stays, and every stream that starts after
//! the worker has the new configuration uses it. So every client switches
//! from the old behaviour to the new exactly once and never back, no request
//! fails, and from shortly after Envoy counts the update every request shows
//! the new one. An invalid configuration is refused (Envoy's `config_fail`)
//! and the running one keeps serving; a module istio-agent cannot fetch is
//! replaced by its deny-all (FAIL_CLOSE) or allow-all (FAIL_OPEN) RBAC filter.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tollgate_tests::bootstrap::Bootstrap;
use tollgate_tests::client::{Request, Response};
use tollgate_tests::ecds::{plugin_config, resource_name, sidecar_node, substitute, EcdsFile};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::h2c::{H2c, Outcome};
use tollgate_tests::load::Conn;

/// Time allowed from Envoy counting an update to every worker using it.
const SETTLE: Duration = Duration::from_millis(500);
const APPLY_BOUND: Duration = Duration::from_secs(10);

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-ecds-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

struct Plugin {
    file: EcdsFile,
    name: &'static str,
    module: &'static str,
    fail_open: bool,
    version: u64,
}

impl Plugin {
    fn new(
        dir: &std::path::Path,
        name: &'static str,
        module: &'static str,
        config: &Value,
        fail_open: bool,
    ) -> Plugin {
        let resource = resource(name, module, &config.to_string(), 1, fail_open);
        Plugin {
            file: EcdsFile::new(dir, &resource_name(name), &resource),
            name,
            module,
            fail_open,
            version: 1,
        }
    }

    /// Pushes `config` as Istio does: a new resource version.
    fn push_text(&mut self, config: &str) {
        self.version += 1;
        let resource = resource(self.name, self.module, config, self.version, self.fail_open);
        self.file.replace(&resource);
    }

    fn push(&mut self, config: &Value) {
        self.push_text(&config.to_string());
    }
}

/// WasmPlugin `name` of the `module` filter (`pluginName` `tollgate.<module>`)
/// as istiod builds it, at resource `version`.
fn resource(name: &str, module: &str, config: &str, version: u64, fail_open: bool) -> Value {
    let root_id = format!("tollgate.{module}");
    let path = tollgate_tests::module(module);
    plugin_config(
        name,
        &root_id,
        &path,
        config,
        &Value::Null,
        version,
        fail_open,
    )
}

fn start(echo: &EchoServer, plugins: &[&Plugin]) -> Envoy {
    let mut b = Bootstrap::new(echo.port()).concurrency(2);
    for p in plugins {
        b = b.filter(p.file.http_filter());
    }
    let mut boot = b.to_json();
    boot["node"] = sidecar_node();
    let mut envoy =
        Envoy::try_start_text(&boot.to_string(), "json", b.listener_port, b.admin_port, 2)
            .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    // The refused update logs a VM failure on purpose.
    envoy.expect_vm_failure = true;
    envoy
}

fn wait_stat(envoy: &Envoy, name: &str, want: u64) -> Duration {
    let since = Instant::now();
    while envoy.counter(name) < want {
        assert!(since.elapsed() < APPLY_BOUND, "{name} never reached {want}");
        std::thread::sleep(Duration::from_millis(10));
    }
    since.elapsed()
}

/// What a response shows of each filter's configuration: `Some(true)` new,
/// `Some(false)` old, `None` not visible on this response.
type Seen = [Option<bool>; 3];

fn request(client: usize, n: u64) -> Request {
    let key = if n.is_multiple_of(2) {
        "key-old"
    } else {
        "key-new"
    };
    Request::get(&format!("/api/{client}/{n}"))
        .header("x-api-key", key)
        .header("x-client", &format!("c{client}"))
}

fn classify(req: &Request, r: &Response) -> Result<Seen, String> {
    let key = req
        .headers
        .iter()
        .find(|(n, _)| n == "x-api-key")
        .map(|(_, v)| v.as_str());
    let one = |name: &str| match r.header_values(name).as_slice() {
        [v] => Some(v.to_string()),
        _ => None,
    };
    let auth = match (key, r.status) {
        (Some("key-old"), 200)
            if r.upstream_header_values("x-tollgate-identity") == ["client-old"] =>
        {
            false
        }
        (Some("key-new"), 401) => false,
        (Some("key-old"), 401) => true,
        (Some("key-new"), 200)
            if r.upstream_header_values("x-tollgate-identity") == ["client-new"] =>
        {
            true
        }
        _ => {
            return Err(format!(
                "{} {key:?}: {} {:?} {}",
                req.path,
                r.status,
                r.headers,
                r.text()
            ))
        }
    };
    let (limit, header) = if r.status == 200 {
        let limit = match one("x-ratelimit-limit").as_deref() {
            Some("100000") => false,
            Some("90000") => true,
            other => return Err(format!("{}: x-ratelimit-limit {other:?}", req.path)),
        };
        let header = match one("x-config").as_deref() {
            Some("old") => false,
            Some("new") => true,
            other => return Err(format!("{}: x-config {other:?}", req.path)),
        };
        (Some(limit), Some(header))
    } else {
        (None, None)
    };
    Ok([Some(auth), limit, header])
}

struct Sample {
    at: Instant,
    seen: Result<Seen, String>,
}

/// One HTTP/2 connection (the harness's h2c client) sending requests one
/// after another until `stop`; ECDS must never end it.
fn h2_client(port: u16, client: usize, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut conn = H2c::connect(port).expect("h2c connect");
    let mut samples = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let req = request(client, n);
        let seen = match conn.get(req.path.as_bytes(), &req.headers) {
            Ok(Outcome::Response(r)) => classify(&req, &r),
            Ok(Outcome::Reset) => Err(format!("{}: stream or connection reset", req.path)),
            Err(e) => Err(format!("{}: {e}", req.path)),
        };
        samples.push(Sample {
            at: Instant::now(),
            seen,
        });
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    samples
}

/// Steady load: `h1` HTTP/1.1 and `h2` HTTP/2 keep-alive clients.
struct Traffic {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<Vec<Sample>>>,
}

impl Traffic {
    fn start(port: u16, h1: usize, h2: usize) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for c in 0..h1 {
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || {
                let mut conn = Conn::new(port);
                let mut samples = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let req = request(c, n);
                    let opened = conn.opened;
                    let seen = conn
                        .send(&req)
                        .map_err(|e| format!("{}: {e}", req.path))
                        .and_then(|r| classify(&req, &r));
                    // ECDS must not close connections.
                    let seen = if opened > 0 && conn.opened != opened {
                        Err(format!("{}: the connection was reopened", req.path))
                    } else {
                        seen
                    };
                    samples.push(Sample {
                        at: Instant::now(),
                        seen,
                    });
                    n += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                samples
            }));
        }
        for c in h1..h1 + h2 {
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || h2_client(port, c, stop)));
        }
        Traffic { stop, threads }
    }

    fn finish(self) -> Vec<Vec<Sample>> {
        self.stop.store(true, Ordering::SeqCst);
        self.threads
            .into_iter()
            .map(|t| t.join().expect("client thread"))
            .collect()
    }
}

fn check(clients: &[Vec<Sample>], settled: &[Instant; 3]) {
    let names = ["auth", "ratelimit", "headers"];
    for (c, samples) in clients.iter().enumerate() {
        let failed: Vec<&String> = samples
            .iter()
            .filter_map(|s| s.seen.as_ref().err())
            .collect();
        assert!(
            failed.is_empty(),
            "client {c}: {} failed requests: {:?}",
            failed.len(),
            &failed[..failed.len().min(5)]
        );
        for (i, name) in names.iter().enumerate() {
            let mut was_new = false;
            for s in samples {
                let Ok(seen) = &s.seen else { continue };
                let Some(new) = seen[i] else { continue };
                assert!(
                    !was_new || new,
                    "client {c}: {name} went back to the old configuration"
                );
                was_new |= new;
                assert!(
                    new || s.at < settled[i],
                    "client {c}: {name} still old {:?} after the update settled",
                    s.at - settled[i]
                );
            }
            assert!(was_new, "client {c} never saw {name}'s new configuration");
        }
    }
}

fn auth_config(key: &str, client: &str) -> Value {
    json!({
        "api_key": {"credentials": [{"key": key, "client": client}], "key_sources": [{"header": "x-api-key"}]},
        "rules": [{"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {}}}]
    })
}

fn limit_config(max: u32) -> Value {
    json!({"descriptors": [{"name": "per_client", "key": [{"request_headers": {"header_name": "x-client"}}],
        "token_bucket": {"max_tokens": max, "tokens_per_fill": max, "fill_interval": "1s"}}]})
}

fn header_config(v: &str) -> Value {
    json!({"response_headers_to_add": [{"header": {"key": "x-config", "value": v}}]})
}

/// The auth plugin (FAIL_CLOSE) and the ratelimit plugin (FAIL_OPEN) with
/// their old configurations.
fn auth_and_limit(dir: &std::path::Path) -> (Plugin, Plugin) {
    let auth = Plugin::new(
        dir,
        "tollgate-auth",
        "auth",
        &auth_config("key-old", "client-old"),
        false,
    );
    let limit = Plugin::new(
        dir,
        "tollgate-ratelimit",
        "ratelimit",
        &limit_config(100_000),
        true,
    );
    (auth, limit)
}

#[test]
fn pushed_configurations_take_effect_under_load_and_bad_ones_are_refused() {
    let dir = temp_dir("push");
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (mut auth, mut limit) = auth_and_limit(&dir);
    let mut headers = Plugin::new(
        &dir,
        "tollgate-headers",
        "headers",
        &header_config("old"),
        true,
    );
    let envoy = start(&echo, &[&auth, &limit, &headers]);
    for p in [&auth, &limit, &headers] {
        wait_stat(&envoy, &p.file.stat("update_success"), 1);
    }
    let probe = request(0, 0);
    let r = Conn::new(envoy.port).send(&probe).expect("probe");
    assert_eq!(
        classify(&probe, &r),
        Ok([Some(false), Some(false), Some(false)])
    );

    let traffic = Traffic::start(envoy.port, 3, 2);
    std::thread::sleep(Duration::from_millis(800));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut settled = [Instant::now(); 3];
    let pushes: [(&mut Plugin, Value); 3] = [
        (&mut auth, auth_config("key-new", "client-new")),
        (&mut limit, limit_config(90_000)),
        (&mut headers, header_config("new")),
    ];
    for (i, (plugin, config)) in pushes.into_iter().enumerate() {
        let pushed = Instant::now();
        plugin.push(&config);
        let took = wait_stat(&envoy, &plugin.file.stat("update_success"), 2);
        latencies.lock().expect("lock").push((plugin.name, took));
        settled[i] = pushed + took + SETTLE;
        std::thread::sleep(Duration::from_millis(800));
    }

    // Invalid: refused, counted, and the running configuration serves on.
    let invalid = r#"{"api_key": {"credentials": [{"key": "k", "client": "c"}], "key_sources": [{"header": "x-api-key"}]},
        "rules": [{"match": {"path": {"prefix": "/api"}}, "requires": {"api_key": {"allowed_clients": ["nobody"]}}}]}"#;
    auth.push_text(invalid);
    wait_stat(&envoy, &auth.file.stat("config_fail"), 1);
    std::thread::sleep(Duration::from_millis(800));
    let clients = traffic.finish();
    check(&clients, &settled);
    assert_eq!(envoy.counter(&auth.file.stat("update_success")), 2);
    assert_eq!(envoy.counter(&auth.file.stat("update_rejected")), 1);

    let total: usize = clients.iter().map(Vec::len).sum();
    eprintln!(
        "ECDS pushes under load ({total} requests, 3 HTTP/1.1 + 2 HTTP/2 clients): \
         rename to Envoy's update_success {:?}",
        latencies.lock().expect("lock")
    );
    let log = envoy.log();
    assert!(
        log.contains(
            "tollgate.auth: invalid configuration: rules[0].requires.api_key.allowed_clients[0]"
        ),
        "the refused push's reason is not in the log:\n{log}"
    );
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What istio-agent serves when it cannot fetch a plugin's module: an RBAC
/// filter that denies everything for FAIL_CLOSE, or allows everything for
/// FAIL_OPEN; the plugin comes back when its module can be had again.
#[test]
fn a_module_that_cannot_be_fetched_fails_as_its_fail_strategy_says() {
    let dir = temp_dir("fail");
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (mut auth, mut limit) = auth_and_limit(&dir);
    let envoy = start(&echo, &[&auth, &limit]);
    wait_stat(&envoy, &auth.file.stat("update_success"), 1);
    wait_stat(&envoy, &limit.file.stat("update_success"), 1);
    let send = || Conn::new(envoy.port).send(&request(0, 0)).expect("request");

    limit.file.replace(&substitute(true));
    wait_stat(&envoy, &limit.file.stat("update_success"), 2);
    std::thread::sleep(SETTLE);
    let r = send();
    assert_eq!(r.status, 200, "FAIL_OPEN lets requests through");
    assert!(
        r.header("x-ratelimit-limit").is_none(),
        "without the rate limit"
    );

    auth.file.replace(&substitute(false));
    wait_stat(&envoy, &auth.file.stat("update_success"), 2);
    std::thread::sleep(SETTLE);
    let r = send();
    assert_eq!(
        r.status,
        403,
        "FAIL_CLOSE refuses every request: {}",
        r.text()
    );

    auth.push(&auth_config("key-old", "client-old"));
    limit.push(&limit_config(100_000));
    wait_stat(&envoy, &auth.file.stat("update_success"), 3);
    wait_stat(&envoy, &limit.file.stat("update_success"), 3);
    std::thread::sleep(SETTLE);
    let r = send();
    assert_eq!(
        (r.status, r.header("x-ratelimit-limit")),
        (200, Some("100000"))
    );
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every Istio push is a new configuration. Shared data has no delete, so
/// tables named by configuration grew by one configuration's slots per push
/// for good; now 100 pushes of distinct configurations cost about one
/// configuration's tables.
#[test]
fn a_hundred_pushes_keep_shared_data_bounded() {
    const KEYS: u32 = 20_000;
    let dir = temp_dir("bounded");
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let config = |i: u32| {
        json!({"max_keys": KEYS, "descriptors": [{"name": "per_client",
            "key": [{"request_headers": {"header_name": "x-client"}}],
            "token_bucket": {"max_tokens": 1000 + i, "tokens_per_fill": 1000 + i, "fill_interval": "1s"}}]})
    };
    let mut limit = Plugin::new(&dir, "tollgate-ratelimit", "ratelimit", &config(0), true);
    let envoy = start(&echo, &[&limit]);
    let applied = limit.file.stat("update_success");
    wait_stat(&envoy, &applied, 1);
    let heap = || envoy.counter("server.memory_allocated");
    let send = |i: u32| {
        let r = Conn::new(envoy.port)
            .send(&Request::get("/x").header("x-client", &format!("c{i}")))
            .expect("request");
        assert_eq!(
            (r.status, r.header("x-ratelimit-limit")),
            (200, Some((1000 + i).to_string()).as_deref())
        );
    };
    send(0);
    let first = heap();
    let since = Instant::now();
    let mut took = Vec::new();
    for i in 1..=100u32 {
        let pushed = Instant::now();
        limit.push(&config(i));
        wait_stat(&envoy, &applied, u64::from(i) + 1);
        took.push(pushed.elapsed());
        std::thread::sleep(Duration::from_millis(50));
        send(i);
    }
    let last = heap();
    let growth = last.saturating_sub(first);
    took.sort();
    eprintln!(
        "100 pushes in {:?}: rename to update_success median {:?}, max {:?}; \
         heap (server.memory_allocated) {first} -> {last} B, growth {growth} B; VMs {}",
        since.elapsed(),
        took[took.len() / 2],
        took[took.len() - 1],
        envoy.counter("wasm.envoy.wasm.runtime.v8.active")
    );
    // One configuration's table is KEYS slots of about 100 B of shared data
    // (key, empty value, map node): 2 MB. Named by configuration, 100 pushes
    // added about 200 MB.
    let one_table = u64::from(KEYS) * 100;
    assert!(
        growth < 4 * one_table,
        "heap grew {growth} B over 100 pushes (one table is about {one_table} B)"
    );
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}
