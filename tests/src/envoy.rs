//! A real Envoy process for one test: its own base id, free loopback ports,
//! readiness from the admin endpoint, its log kept, and a check on drop that
//! no wasm VM panicked or failed.
//!
//! Where it runs is the target, from `TOLLGATE_ENVOY_TARGET`: `local` (the
//! default) runs the binary [`locate`] finds; `docker` runs the same binary
//! from a `FROM scratch` image in a container on the host's network, with
//! the same arguments, bootstrap and log paths ([`crate::docker`]). The tests
//! do not change: `cargo xtask test` runs them against both.

use crate::bootstrap::Bootstrap;
use crate::client;
use crate::proc::{is_executable, which};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Finds Envoy: `$ENVOY_BIN`, then the project's `.venv`, then PATH, and
/// says where it came from. A set but wrong `ENVOY_BIN` is an error to
/// report, not a cue to look elsewhere.
pub fn locate(root: &Path) -> Result<Option<(PathBuf, &'static str)>, String> {
    if let Some(bin) = std::env::var_os("ENVOY_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        if !is_executable(&bin) {
            return Err(format!(
                "ENVOY_BIN={} is not an executable file",
                bin.display()
            ));
        }
        return Ok(Some((bin, "$ENVOY_BIN")));
    }
    if let Some(bin) = venv_binary(root) {
        return Ok(Some((bin, "the project's .venv")));
    }
    let wrapper = root.join(".venv/bin/envoy");
    if is_executable(&wrapper) {
        return Ok(Some((wrapper, "the project's .venv (Python wrapper)")));
    }
    Ok(which("envoy").map(|bin| (bin, "PATH")))
}

/// Envoy's binary, if [`locate`] finds one.
pub fn find_envoy(root: &Path) -> Option<PathBuf> {
    locate(root).ok().flatten().map(|(bin, _)| bin)
}

/// `.venv/bin/envoy` is a Python wrapper that execs the real binary; use the
/// binary itself, so signals and PIDs reach Envoy and not Python.
pub fn venv_binary(root: &Path) -> Option<PathBuf> {
    std::fs::read_dir(root.join(".venv/lib"))
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages/envoy/_bin/envoy"))
        .find(|bin| is_executable(bin))
}

fn envoy_bin() -> PathBuf {
    match locate(&crate::repo_root()) {
        Ok(Some((bin, _))) => bin,
        Ok(None) => panic!("no Envoy found: set ENVOY_BIN or run `cargo xtask test`"),
        Err(e) => panic!("{e}"),
    }
}

/// Where [`Envoy::start`] runs Envoy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A child process of the test.
    Local,
    /// A container of the image [`crate::docker::envoy_target`] names.
    Docker,
}

/// The target `TOLLGATE_ENVOY_TARGET` names (`local` when unset); any other
/// value fails the test rather than silently running the other target.
pub fn target() -> Target {
    match std::env::var("TOLLGATE_ENVOY_TARGET").as_deref() {
        Err(_) | Ok("") | Ok("local") => Target::Local,
        Ok("docker") => Target::Docker,
        Ok(other) => panic!("TOLLGATE_ENVOY_TARGET={other}: expected `local` or `docker`"),
    }
}

/// Runs Envoy's `--mode validate` on a configuration (YAML or JSON text) on
/// the current target; Err carries what Envoy printed.
pub fn validate(text: &str, ext: &str) -> Result<(), String> {
    let dir = tempdir::Dir::new("validate");
    let config = dir.path().join(format!("envoy.{ext}"));
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let args: Vec<String> = ["--mode", "validate", "--use-dynamic-base-id", "-c"]
        .iter()
        .map(|a| a.to_string())
        .chain([config.display().to_string()])
        .collect();
    let mut cmd = match target() {
        Target::Local => {
            let mut cmd = Command::new(envoy_bin());
            cmd.args(&args);
            cmd
        }
        Target::Docker => {
            crate::docker::envoy_target().run_envoy(&container_name(), dir.path(), text, &args, &[])
        }
    };
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr))
    }
}

fn container_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "tollgate-envoy-{}-{}",
        crate::docker::unique(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Appends one line per Envoy that became ready to `TOLLGATE_ENVOY_LEDGER`
/// (when set): target, milliseconds from start to ready, test. `cargo xtask
/// test` reads it to report how many Envoys each target ran and how long
/// they took to start.
fn record_start(target: Target, took: Duration) {
    use std::io::Write;
    let Some(path) = std::env::var_os("TOLLGATE_ENVOY_LEDGER") else {
        return;
    };
    let line = format!(
        "{}\t{}\t{}\n",
        if target == Target::Docker {
            "docker"
        } else {
            "local"
        },
        took.as_millis(),
        std::thread::current().name().unwrap_or("?")
    );
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Why Envoy did not become ready.
#[derive(Debug)]
pub struct StartFailure {
    pub exited: Option<std::process::ExitStatus>,
    pub log: String,
}

pub struct Envoy {
    child: Child,
    pub port: u16,
    pub admin_port: u16,
    dir: tempdir::Dir,
    /// The container's name on the docker target.
    container: Option<String>,
    /// Set by tests that provoke wasm failures on purpose.
    pub expect_vm_failure: bool,
}

/// Log lines that mean a wasm VM panicked, trapped or failed.
pub const VM_FAILURES: &[&str] = &[
    "panicked at",
    "RuntimeError",
    "Uncaught",
    "Wasm VM failed",
    "wasm vm failed",
    "Plugin configured to fail closed failed",
];

impl Envoy {
    /// Start Envoy with a generated bootstrap; panics with Envoy's log when it
    /// does not become ready.
    pub fn start(b: &Bootstrap) -> Envoy {
        Envoy::try_start(b)
            .unwrap_or_else(|f| panic!("Envoy did not start ({:?}):\n{}", f.exited, f.log))
    }

    pub fn try_start(b: &Bootstrap) -> Result<Envoy, StartFailure> {
        let text = serde_json::to_string_pretty(&b.to_json()).unwrap_or_default();
        let ports = (b.listener_port, b.admin_port);
        Envoy::spawn(&text, "json", ports, b.concurrency, &[], &b.envoy_env)
    }

    /// Start Envoy from config text (YAML or JSON) whose ports are already set.
    pub fn try_start_text(
        text: &str,
        ext: &str,
        port: u16,
        admin_port: u16,
        concurrency: u32,
    ) -> Result<Envoy, StartFailure> {
        Envoy::try_start_text_args(text, ext, port, admin_port, concurrency, &[])
    }

    /// [`Envoy::try_start_text`] with more command-line arguments (e.g.
    /// `--drain-time-s 2`).
    pub fn try_start_text_args(
        text: &str,
        ext: &str,
        port: u16,
        admin_port: u16,
        concurrency: u32,
        extra_args: &[&str],
    ) -> Result<Envoy, StartFailure> {
        Envoy::spawn(text, ext, (port, admin_port), concurrency, extra_args, &[])
    }

    fn spawn(
        text: &str,
        ext: &str,
        (port, admin_port): (u16, u16),
        concurrency: u32,
        extra_args: &[&str],
        env: &[(String, String)],
    ) -> Result<Envoy, StartFailure> {
        let dir = tempdir::Dir::new("envoy");
        let config = dir.path().join(format!("envoy.{ext}"));
        let log = dir.path().join("envoy.log");
        let failure = |exited, log: String| StartFailure { exited, log };
        // The Istio-shaped pass: the wasm filters come by ECDS from files
        // beside the configuration (see crate::ecds).
        let reshaped = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(mut v) if crate::ecds::istio_shape() && ext == "json" => {
                crate::ecds::reshape(&mut v, dir.path());
                serde_json::to_string_pretty(&v).ok()
            }
            _ => None,
        };
        let text = reshaped.as_deref().unwrap_or(text);
        std::fs::write(&config, text).map_err(|e| failure(None, e.to_string()))?;
        // Envoy's own log goes to --log-path; stderr catches what V8 prints.
        let stderr = std::fs::File::create(dir.path().join("stderr.log"))
            .map_err(|e| failure(None, e.to_string()))?;
        let args: Vec<String> = [
            "-c",
            &config.display().to_string(),
            "--use-dynamic-base-id",
            "--log-level",
            "info",
            "--component-log-level",
            "wasm:debug",
            "--concurrency",
            &concurrency.to_string(),
            // The log file is read while Envoy runs: flush it promptly.
            "--file-flush-interval-msec",
            "50",
            "--log-path",
            &log.display().to_string(),
        ]
        .into_iter()
        .map(String::from)
        .chain(extra_args.iter().map(|a| a.to_string()))
        .collect();
        let target = target();
        let (mut cmd, container) = match target {
            Target::Local => {
                let mut cmd = Command::new(envoy_bin());
                cmd.args(&args).envs(env.iter().map(|(k, v)| (k, v)));
                (cmd, None)
            }
            Target::Docker => {
                let name = container_name();
                let cmd =
                    crate::docker::envoy_target().run_envoy(&name, dir.path(), text, &args, env);
                (cmd, Some(name))
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        crate::proc::die_with_parent(&mut cmd);
        let started = Instant::now();
        let child = cmd.spawn().map_err(|e| failure(None, e.to_string()))?;
        let mut envoy = Envoy {
            child,
            port,
            admin_port,
            dir,
            container,
            expect_vm_failure: false,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = envoy.child.try_wait() {
                envoy.expect_vm_failure = true;
                return Err(failure(Some(status), envoy.log()));
            }
            if client::get(admin_port, "/ready").is_ok_and(|r| r.status == 200) {
                record_start(target, started.elapsed());
                // Delivered by ECDS, a refused configuration does not stop
                // Envoy: it starts, and the filter answers 500 until a good
                // one comes. To the tests that is the start failing.
                if reshaped.is_some() && envoy.ecds_refused() {
                    envoy.expect_vm_failure = true;
                    return Err(failure(None, envoy.log()));
                }
                return Ok(envoy);
            }
            if Instant::now() > deadline {
                envoy.expect_vm_failure = true;
                return Err(failure(None, envoy.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Envoy's process id as this machine sees it (for /proc/<pid>/...): the
    /// child's on the local target; on the docker target the container's
    /// main process (`docker inspect`), which shares our kernel.
    pub fn pid(&self) -> u32 {
        match &self.container {
            None => self.child.id(),
            Some(name) => crate::docker::envoy_target()
                .pid(name)
                .unwrap_or_else(|e| panic!("pid of container {name}: {e}")),
        }
    }

    /// Envoy's log so far, then anything it wrote to stderr.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        read("envoy.log") + &read("stderr.log")
    }

    /// Every stat from the admin endpoint, as (name, value) pairs.
    pub fn stats(&self) -> Vec<(String, u64)> {
        let resp = client::get(self.admin_port, "/stats?format=json")
            .unwrap_or_else(|e| panic!("admin /stats: {e}"));
        resp.json()["stats"]
            .as_array()
            .map(|stats| {
                stats
                    .iter()
                    .filter_map(|s| Some((s["name"].as_str()?.to_string(), s["value"].as_u64()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether Envoy refused a filter configuration delivered by ECDS.
    fn ecds_refused(&self) -> bool {
        self.stats().iter().any(|(n, v)| {
            n.starts_with("extension_config_discovery.http_filter.")
                && n.ends_with(".config_fail")
                && *v > 0
        })
    }

    /// A counter by the name Tollgate documents (e.g. `tollgate.headers.rules_matched`).
    /// Envoy files wasm-defined metrics under its `wasmcustom.` namespace; both
    /// spellings are accepted. A counter never incremented reads 0.
    pub fn counter(&self, name: &str) -> u64 {
        let custom = format!("wasmcustom.{name}");
        self.stats()
            .into_iter()
            .find(|(n, _)| n == name || *n == custom)
            .map(|(_, v)| v)
            .unwrap_or(0)
    }

    /// Stop Envoy (SIGTERM, so it flushes its log; SIGKILL after 5 s) and
    /// return its log. Called by drop too. On the docker target: `docker
    /// stop`, then the `docker run` client exits and `--rm` removes the
    /// container.
    pub fn stop(&mut self) -> String {
        let grace = Duration::from_secs(5);
        match &self.container {
            None => {
                crate::proc::terminate(&mut self.child, grace);
            }
            Some(name) => {
                let docker = crate::docker::envoy_target();
                if matches!(self.child.try_wait(), Ok(None)) {
                    docker.stop(name, grace);
                }
                if !crate::proc::terminate(&mut self.child, Duration::from_secs(10)) {
                    docker.remove(name);
                }
            }
        }
        self.log()
    }
}

/// Starts Envoy with `config` for `module` (e.g. `"ratelimit"`), which must
/// refuse it, and returns what follows `tollgate.<module>: invalid
/// configuration: ` on the one log line that reports it (the field and why).
pub fn rejected(module: &str, config: &str) -> String {
    let b = Bootstrap::new(crate::free_port()).wasm_text(module, config);
    let failure = match Envoy::try_start(&b) {
        Ok(_) => panic!("Envoy started with a bad {module} configuration: {config}"),
        Err(f) => f,
    };
    let marker = format!("tollgate.{module}: invalid configuration: ");
    let lines: Vec<&str> = failure
        .log
        .lines()
        .filter(|l| l.contains(&marker))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "want one line with {marker:?}, log:\n{}",
        failure.log
    );
    let line = lines[0];
    line[line.find(&marker).map_or(0, |i| i + marker.len())..].to_string()
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let log = self.stop();
        if std::thread::panicking() || self.expect_vm_failure {
            return;
        }
        if let Some(line) = log
            .lines()
            .find(|l| VM_FAILURES.iter().any(|p| l.contains(p)))
        {
            panic!("Envoy's log shows a wasm VM failure: {line}\n--- full log ---\n{log}");
        }
    }
}

/// A temporary directory removed on drop (no crate needed for this).
pub(crate) mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    static N: AtomicU64 = AtomicU64::new(0);

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let path = std::env::temp_dir().join(format!(
                "tollgate-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&path)
                .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            if std::env::var_os("TOLLGATE_KEEP_LOGS").is_none() {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
