//! Istio: the WasmPlugin files validate against Istio's schema and carry the
//! digests the build makes; the OCI images go through a real registry
//! (Debian's docker-registry) and come back (skopeo) as the very modules,
//! which then run in Envoy configured the way Istio configures them; and Envoy
//! fetches a module over HTTP itself (envoy/remote-headers.yaml).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tollgate_tests::bootstrap::{user_file, wasm_filter_at, Bootstrap};
use tollgate_tests::client::{self, Proto, Request};
use tollgate_tests::echo::EchoServer;
use tollgate_tests::envoy::Envoy;
use tollgate_tests::{dist_dir, free_port, repo_root, tools};

/// Pinned so that the schema Istio resources are checked against only
/// changes on purpose.
const NPM_PACKAGES: &[&str] = &["@kubernetes-models/istio@3.0.1", "yaml@2.9.1"];

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tollgate-istio-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sha256_hex(path: &Path) -> String {
    let sha256sum = tools::ensure("sha256sum", "coreutils");
    let out = run(Command::new(sha256sum).arg(path));
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// node and the schema packages in istio/.schema-check (gitignored).
fn node() -> Command {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    let node = READY.get_or_init(|| {
        let node = tools::ensure("node", "nodejs");
        let deps = repo_root().join("istio/.schema-check");
        let have = |p: &str| {
            deps.join("node_modules")
                .join(p)
                .join("package.json")
                .exists()
        };
        if !(have("@kubernetes-models/istio") && have("yaml")) {
            let npm = tools::ensure("npm", "npm");
            run(Command::new(npm)
                .args([
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--no-save",
                    "--loglevel=error",
                    "--prefix",
                ])
                .arg(&deps)
                .args(NPM_PACKAGES));
        }
        node
    });
    let mut cmd = Command::new(node);
    cmd.current_dir(repo_root());
    cmd
}

/// Every WasmPlugin in istio/*.yaml as check-schema.mjs prints it.
fn plugins() -> Vec<Value> {
    let out = run(node().args(["istio/check-schema.mjs", "--print"]));
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// `cargo xtask package --no-build --out <tmp> <extra>`; returns the layout
/// directory and its images.json.
fn package(extra: &[&str]) -> (TempDir, Value) {
    let dir = TempDir::new("oci");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "package",
            "--no-build",
            "--out",
        ])
        .arg(&dir.0)
        .args(extra));
    let images = std::fs::read(dir.0.join("images.json")).expect("images.json");
    let images = serde_json::from_slice(&images).expect("images.json is JSON");
    (dir, images)
}

/// `oci://<registry>/.../<module>:<tag>` -> (module, tag).
fn oci_module(url: &str) -> (String, String) {
    let (repo, tag) = url.rsplit_once(':').expect("url has a tag");
    let module = repo.rsplit('/').next().unwrap_or_default();
    (module.to_string(), tag.to_string())
}

#[test]
fn wasm_plugins_validate_against_istios_schema() {
    run(node().arg("istio/check-schema.mjs"));
    let plugins = plugins();
    let names: Vec<&str> = plugins
        .iter()
        .filter_map(|p| p["pluginName"].as_str())
        .collect();
    for module in ["tollgate.headers", "tollgate.auth", "tollgate.ratelimit"] {
        assert!(
            names.contains(&module),
            "no WasmPlugin for {module}: {names:?}"
        );
    }

    // A wrong enum fails, and so does a pluginConfig that differs from the
    // Envoy file's (a copy keeps its name: envoy/headers.yaml is compared).
    let tmp = TempDir::new("schema");
    let text = std::fs::read_to_string(repo_root().join("istio/headers.yaml")).expect("read");
    for (from, to, why) in [
        (
            "phase: STATS",
            "phase: LATE",
            "phase must be equal to one of the allowed values",
        ),
        (
            "value: tollgate\n",
            "value: tollgate-changed\n",
            "pluginConfig differs",
        ),
    ] {
        assert!(text.contains(from), "istio/headers.yaml has no `{from}`");
        let bad = tmp.0.join("headers.yaml");
        std::fs::write(&bad, text.replacen(from, to, 1)).expect("write");
        let out = output(node().arg("istio/check-schema.mjs").arg(&bad));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(why),
            "`{to}` was accepted:\n{stderr}"
        );
    }
}

/// Each WasmPlugin lands, by Istio's rules for selectors, targetRefs, modes
/// and ports, exactly where its `# Attaches to:` comment says: a FAIL_CLOSE
/// auth plugin aimed at a gateway with `mode: SERVER` would authenticate
/// nothing there.
#[test]
fn every_wasm_plugin_attaches_where_its_comment_says() {
    let plugins = plugins();
    let mut gateway = 0;
    for plugin in &plugins {
        let file = plugin["file"].as_str().unwrap_or_default();
        let name = plugin["name"].as_str().unwrap_or_default();
        let text = std::fs::read_to_string(file).expect("read");
        let claims =
            tollgate_tests::attach::claims(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (_, claim) = claims
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{file}: no claim for {name}"));
        let lands = tollgate_tests::attach::landings(plugin)
            .unwrap_or_else(|e| panic!("{file}: {name}: {e}"));
        let show = |s: &std::collections::BTreeSet<tollgate_tests::attach::Landing>| {
            s.iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(
            &lands,
            claim,
            "{file}: {name} says it attaches to [{}] but Istio installs it on [{}]",
            show(claim),
            show(&lands)
        );
        gateway += usize::from(
            lands
                .iter()
                .any(|l| l.listener == tollgate_tests::attach::Listener::Gateway),
        );
    }
    // The gateway examples: one by selector, one by targetRefs.
    assert!(gateway >= 2, "expected gateway examples in istio/");
}

#[test]
fn istio_and_remote_sha256_are_what_the_build_makes() {
    let (_dir, images) = package(&[]);
    let mut drift = Vec::new();
    for plugin in plugins() {
        let url = plugin["url"].as_str().unwrap_or_default();
        let (module, tag) = oci_module(url);
        let image = &images[&module];
        let want = image["compat"].as_str().unwrap_or_default();
        let have = format!("sha256:{}", plugin["sha256"].as_str().unwrap_or_default());
        if image["tag"] != tag.as_str() || have != want {
            drift.push(format!(
                "{}: {url} sha256 {have}, the build makes {}:{} {want}",
                plugin["file"], module, image["tag"]
            ));
        }
    }
    let remote =
        std::fs::read_to_string(repo_root().join("envoy/remote-headers.yaml")).expect("read");
    let module = images["headers"]["module"].as_str().unwrap_or_default();
    let hex = module.strip_prefix("sha256:").unwrap_or_default();
    if !remote.contains(&format!("sha256: \"{hex}\"")) {
        drift.push(format!(
            "envoy/remote-headers.yaml: the module's sha256 is {hex}"
        ));
    }
    assert!(
        drift.is_empty(),
        "digests drifted from the build; run `cargo xtask package --update-istio`:\n{}",
        drift.join("\n")
    );
}

/// Debian's docker-registry on 127.0.0.1:<free port>, storage in a temp dir.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: TempDir,
}

impl Registry {
    fn start() -> Registry {
        let bin = tools::ensure("/usr/bin/docker-registry", "docker-registry");
        let dir = TempDir::new("registry");
        let port = free_port();
        let config = dir.0.join("config.yml");
        std::fs::write(&config, format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.0.join("data").display())).expect("write registry config");
        let log = std::fs::File::create(dir.0.join("log")).expect("registry log");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        tollgate_tests::proc::die_with_parent(&mut cmd);
        let child = cmd.spawn().expect("start docker-registry");
        let mut registry = Registry {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..200 {
            if client::get(port, "/v2/").is_ok_and(|r| r.status == 200) {
                return registry;
            }
            assert!(
                matches!(registry.child.try_wait(), Ok(None)),
                "docker-registry exited: {}",
                std::fs::read_to_string(registry._dir.0.join("log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("docker-registry did not answer on 127.0.0.1:{port} within 10 s");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn manifest(skopeo: &Path, reference: &str) -> (Vec<u8>, Value) {
    let raw = run(Command::new(skopeo).args(["inspect", "--raw", "--tls-verify=false", reference]));
    let json = serde_json::from_slice(&raw).expect("manifest is JSON");
    (raw, json)
}

fn blob(layout: &Path, digest: &Value) -> PathBuf {
    let hex = digest
        .as_str()
        .and_then(|d| d.strip_prefix("sha256:"))
        .expect("sha256 digest");
    layout.join("blobs/sha256").join(hex)
}

#[test]
fn images_round_trip_through_a_registry_into_envoy() {
    let skopeo = tools::ensure("skopeo", "skopeo");
    let registry = Registry::start();
    let prefix = format!("127.0.0.1:{}/tollgate", registry.port);
    let (_dir, images) = package(&["--push", &prefix]);
    let pulled = TempDir::new("pulled");
    let layout = pulled.0.join("layout");
    let modules = TempDir::new("modules");

    for (name, image) in images.as_object().expect("images.json is an object") {
        let dist = dist_dir().join(format!("{name}.wasm"));
        let want = sha256_hex(&dist);
        for kind in ["compat", "artifact"] {
            let tag = image[if kind == "compat" {
                "tag"
            } else {
                "artifact_tag"
            }]
            .as_str()
            .unwrap_or_default();
            let reference = format!("docker://{prefix}/{name}:{tag}");
            let (raw, m) = manifest(&skopeo, &reference);
            let raw_path = pulled.0.join(format!("{name}-{kind}.json"));
            std::fs::write(&raw_path, &raw).expect("write");
            assert_eq!(
                format!("sha256:{}", sha256_hex(&raw_path)),
                image[kind],
                "{reference}: digest"
            );
            assert_eq!(
                m["mediaType"], "application/vnd.oci.image.manifest.v1+json",
                "{reference}"
            );
            run(Command::new(&skopeo)
                .args(["copy", "--quiet", "--src-tls-verify=false", &reference])
                .arg(format!("oci:{}:{name}-{kind}", layout.display())));
            let layers = m["layers"].as_array().expect("layers");
            let module = if kind == "compat" {
                // The form Istio tries first: one tar+gzip layer with plugin.wasm.
                assert_eq!(
                    m["annotations"]["module.wasm.image/variant"], "compat",
                    "{reference}"
                );
                assert_eq!(
                    m["config"]["mediaType"],
                    "application/vnd.oci.image.config.v1+json"
                );
                assert_eq!(layers.len(), 1, "{reference}: {m}");
                assert_eq!(
                    layers[0]["mediaType"],
                    "application/vnd.oci.image.layer.v1.tar+gzip"
                );
                let out = modules.0.join(name);
                std::fs::create_dir_all(&out).expect("mkdir");
                run(Command::new("tar")
                    .arg("-xzf")
                    .arg(blob(&layout, &layers[0]["digest"]))
                    .arg("-C")
                    .arg(&out)
                    .arg("plugin.wasm"));
                out.join("plugin.wasm")
            } else {
                // Istio's fetcher wants exactly two layers, one of them the module.
                assert_eq!(
                    m["config"]["mediaType"],
                    "application/vnd.module.wasm.config.v1+json"
                );
                assert_eq!(layers.len(), 2, "{reference}: {m}");
                let wasm: Vec<&Value> = layers
                    .iter()
                    .filter(|l| {
                        l["mediaType"] == "application/vnd.module.wasm.content.layer.v1+wasm"
                    })
                    .collect();
                assert_eq!(wasm.len(), 1, "{reference}: {m}");
                blob(&layout, &wasm[0]["digest"])
            };
            assert_eq!(
                sha256_hex(&module),
                want,
                "{reference}: the module pulled back is not {}",
                dist.display()
            );
        }
    }

    // The pulled-back modules, configured as Istio configures istio/chain.yaml:
    // filters in phase order, pluginConfig as JSON text, a root id that is
    // not the one envoy/*.yaml use.
    let rank = |p: &Value| {
        ["AUTHN", "AUTHZ", "STATS"]
            .iter()
            .position(|x| p["phase"] == *x)
            .unwrap_or(3)
    };
    let mut chain: Vec<Value> = plugins()
        .into_iter()
        .filter(|p| {
            p["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("chain.yaml"))
        })
        .collect();
    chain.sort_by_key(|p| (rank(p), -p["priority"].as_i64().unwrap_or(0)));
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let mut bootstrap = Bootstrap::new(echo.port()).concurrency(2);
    for plugin in &chain {
        let (module, _) = oci_module(plugin["url"].as_str().unwrap_or_default());
        let root_id = format!("istio-test.{}", plugin["name"].as_str().unwrap_or_default());
        let config = plugin["pluginConfig"].to_string();
        bootstrap = bootstrap.filter(wasm_filter_at(
            &modules.0.join(&module).join("plugin.wasm"),
            &root_id,
            &config,
        ));
    }
    let envoy = Envoy::start(&bootstrap);
    for proto in [Proto::H1, Proto::H2] {
        let r = Request::get("/api/x").send(envoy.port, proto);
        assert_eq!(r.status, 401, "{proto:?}: {}", r.text());
        let r = Request::get("/api/x")
            .header("x-api-key", "demo-key-1")
            .header("x-user", "a")
            .send(envoy.port, proto);
        assert_eq!(r.status, 200, "{proto:?}: {}", r.text());
        assert_eq!(
            r.upstream_header_values("x-tollgate-identity"),
            ["mobile-app"]
        );
        assert_eq!(r.upstream_header_values("x-greeting"), ["hello a"]);
        assert_eq!(r.header("x-authenticated-as"), Some("mobile-app"));
        assert_eq!(r.header("x-ratelimit-limit"), Some("60"));
        assert_eq!(r.header("x-served-by"), Some("tollgate"));
    }
}

/// Serves one file at `/<name>` over HTTP/1.1 and counts the requests.
fn serve_file(name: &str, bytes: Vec<u8>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let (path, counter) = (format!("/{name}"), hits.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let found = line.split_whitespace().nth(1) == Some(path.as_str());
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {}
            counter.fetch_add(1, Ordering::SeqCst);
            let body: &[u8] = if found { &bytes } else { b"not found" };
            let status = if found { "200 OK" } else { "404 Not Found" };
            let mut out = &stream;
            let _ = write!(
                out,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = out.write_all(body);
        }
    });
    (port, hits)
}

#[test]
fn envoy_fetches_a_module_over_http_and_checks_its_sha256() {
    let module = std::fs::read(dist_dir().join("headers.wasm"))
        .expect("dist/headers.wasm (cargo xtask build)");
    let sha = sha256_hex(&dist_dir().join("headers.wasm"));
    let (port, hits) = serve_file("headers.wasm", module);
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    let (text, listener, admin) = user_file("remote-headers.yaml", echo.port());
    assert!(
        text.contains("port_value: 18081"),
        "remote-headers.yaml: module server port"
    );
    let text = text.replace("port_value: 18081", &format!("port_value: {port}"));
    let with_sha = |hex: &str| {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("sha256:"))
            .expect("a sha256 line");
        text.replace(
            line,
            &format!(
                "{}sha256: \"{hex}\"",
                &line[..line.len() - line.trim_start().len()]
            ),
        )
    };

    let envoy = Envoy::try_start_text(&with_sha(&sha), "yaml", listener, admin, 1)
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "Envoy did not fetch the module"
    );
    let r = Request::get("/anything")
        .header("x-user", "a")
        .send(envoy.port, Proto::H1);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-served-by"), Some("tollgate"));
    assert_eq!(r.upstream_header_values("x-greeting"), ["hello a"]);
    drop(envoy);

    // A module whose sha256 is not the configured one never runs (same
    // ports: the first Envoy has stopped).
    let text_bad = with_sha(&"0".repeat(64));
    // Envoy goes ready, retries the fetch, gives up and fails closed: the
    // plugin is "configured to fail closed", so requests get 503.
    let mut envoy = Envoy::try_start_text(&text_bad, "yaml", listener, admin, 1)
        .unwrap_or_else(|f| panic!("Envoy did not start: {}", f.log));
    envoy.expect_vm_failure = true;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !envoy.log().contains("failed to load") {
        assert!(
            std::time::Instant::now() < deadline,
            "the wrong sha256 went unnoticed:\n{}",
            envoy.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let r = Request::get("/anything")
        .header("x-user", "a")
        .send(envoy.port, Proto::H1);
    assert_eq!(
        r.status,
        503,
        "a module with the wrong sha256 must not serve: {}",
        r.text()
    );
    assert!(
        r.header("x-served-by").is_none(),
        "a module with the wrong sha256 ran"
    );
}

/// The examples keep their API key out of `pluginConfig`: `vmConfig.env`
/// names it, inline (istio/auth.yaml) or from the proxy's environment
/// (istio/auth-gateway.yaml, `valueFrom: HOST`). Run as istiod configures
/// them, each authenticates the demo key; without the variable the plugin
/// fails to start, naming it.
#[test]
fn examples_take_their_secrets_from_the_vm_environment() {
    let with_env: Vec<Value> = plugins()
        .into_iter()
        .filter(|p| p["vmConfig"]["env"].is_array())
        .collect();
    let files: Vec<&str> = with_env.iter().filter_map(|p| p["file"].as_str()).collect();
    for want in ["auth.yaml", "auth-gateway.yaml"] {
        assert!(
            files.iter().any(|f| f.ends_with(&format!("/{want}"))),
            "istio/{want} takes nothing from vmConfig.env: {files:?}"
        );
    }
    let echo = EchoServer::start("127.0.0.1:0").expect("echo");
    for plugin in &with_env {
        let (module, _) = oci_module(plugin["url"].as_str().unwrap_or_default());
        let env = tollgate_tests::ecds::environment_variables(&plugin["vmConfig"]["env"], 1);
        let mut filter = wasm_filter_at(
            &dist_dir().join(format!("{module}.wasm")),
            plugin["pluginName"].as_str().unwrap_or_default(),
            &plugin["pluginConfig"].to_string(),
        );
        filter["typed_config"]["config"]["vm_config"]["environment_variables"] = env.clone();
        let hosts: Vec<&str> = env["host_env_keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let file = plugin["file"].as_str().unwrap_or_default();
        if let Some(missing) = hosts.first() {
            let b = Bootstrap::new(echo.port()).filter(filter.clone());
            let failure = match Envoy::try_start(&b) {
                Ok(_) => panic!("{file}: started without {missing} in Envoy's environment"),
                Err(f) => f,
            };
            assert!(
                failure
                    .log
                    .contains(&format!("environment variable {missing} is not set")),
                "{file}: {}",
                failure.log
            );
        }
        let mut b = Bootstrap::new(echo.port()).filter(filter);
        for name in &hosts {
            b = b.envoy_env(name, "demo-key-1");
        }
        let envoy = Envoy::start(&b);
        for proto in [Proto::H1, Proto::H2] {
            let r = Request::get("/api/x")
                .header("x-api-key", "demo-key-1")
                .send(envoy.port, proto);
            assert_eq!(r.status, 200, "{file} {proto:?}: {}", r.text());
            assert_eq!(
                r.upstream_header_values("x-tollgate-identity"),
                ["mobile-app"]
            );
            let r = Request::get("/api/x")
                .header("x-api-key", "not-the-key")
                .send(envoy.port, proto);
            assert_eq!(r.status, 401, "{file} {proto:?}");
        }
    }
}
