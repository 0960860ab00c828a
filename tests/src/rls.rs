//! A real rate-limit service for tests: the `tollgate-rls` binary
//! (`tests/rls`), Envoy's RLS v3 gRPC protocol answered by Kuadrant's
//! limitador engine, with fault modes (slow, garbage, gRPC errors) that can
//! be switched while it runs. "Down" is simply not starting it (or
//! [`RateLimitService::stop`]).
//!
//! ```text
//! let rls = RateLimitService::start(&json!([{"namespace": "tollgate", "max_value": 2,
//!     "seconds": 60, "variables": ["descriptors[0].user"]}]), &["--rate-limit-headers"]);
//! let cluster = rls.cluster("ratelimit");   // HTTP/2 cluster for Envoy's bootstrap
//! rls.fault("garbage");                      // later: "none", "not-grpc", "status UNAVAILABLE"
//! rls.delay_ms(100);
//! assert_eq!(rls.calls(), 1);
//! ```
//!
//! The binary is built on first use by `cargo build -p tollgate-rls` into the
//! test's own target directory (a no-op when it is current), so a test never
//! runs a stale service. `TOLLGATE_RLS_BIN` names a prebuilt one instead.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;

pub struct RateLimitService {
    child: Child,
    port: u16,
    stdin: Mutex<Option<ChildStdin>>,
    lines: Mutex<Receiver<String>>,
    log: Arc<Mutex<String>>,
}

const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

impl RateLimitService {
    /// Starts the service with `limits` (a JSON array of limitador limits, see
    /// `tests/rls`) and extra command-line options (`--rate-limit-headers`,
    /// `--delay-ms N`, `--garbage`, `--not-grpc`, `--status CODE`,
    /// `--request-header 'k: v'`, `--verbose`). Panics with its stderr when it
    /// does not start.
    pub fn start(limits: &Value, opts: &[&str]) -> RateLimitService {
        let mut cmd = Command::new(binary());
        cmd.arg("--limits-json")
            .arg(limits.to_string())
            .arg("--control-stdin")
            .args(opts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::proc::die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary().display()));

        let log = Arc::new(Mutex::new(String::new()));
        if let Some(mut stderr) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stderr.read(&mut buf) {
                    if let (Ok(mut l), Some(bytes)) = (log.lock(), buf.get(..n)) {
                        l.push_str(&String::from_utf8_lossy(bytes));
                    }
                }
            });
        }
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stdin = Mutex::new(child.stdin.take());
        let mut rls = RateLimitService {
            child,
            port: 0,
            stdin,
            lines: Mutex::new(lines),
            log,
        };
        let first = rls.next_line(Duration::from_secs(30));
        rls.port = first
            .as_deref()
            .and_then(|l| l.strip_prefix("listening 127.0.0.1:"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                // Let stderr's reader catch up before reporting it.
                let _ = rls.child.wait();
                std::thread::sleep(Duration::from_millis(50));
                panic!(
                    "tollgate-rls did not start (first line {first:?}):\n{}",
                    rls.log()
                )
            });
        rls
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// An Envoy cluster (HTTP/2) named `name` pointing at this service.
    pub fn cluster(&self, name: &str) -> Value {
        crate::bootstrap::grpc_cluster(name, self.port)
    }

    /// Switches the fault mode: `none`, `garbage` (gRPC OK carrying bytes
    /// that are not protobuf), `not-grpc` (HTTP/2 200 text/plain),
    /// `status CODE` (a gRPC error, e.g. `status UNAVAILABLE`),
    /// `http-status N` (an HTTP error such as 503, no gRPC) or `huge BYTES`
    /// (gRPC OK with a well-formed OK answer padded to BYTES).
    pub fn fault(&self, fault: &str) {
        self.command(&format!("fault {fault}"));
    }

    /// Answers every later call `ms` late (0: at once).
    pub fn delay_ms(&self, ms: u64) {
        self.command(&format!("delay {ms}"));
    }

    /// Replaces the limits; every counter starts again.
    pub fn set_limits(&self, limits: &Value) {
        self.command(&format!("limits {limits}"));
    }

    /// HTTP requests that reached the service, faulted ones included.
    pub fn calls(&self) -> u64 {
        self.state()["calls"].as_u64().unwrap_or(0)
    }

    /// Every `RateLimitRequest` decided (not the faulted ones), as
    /// `{"domain", "hits_addend", "descriptors": [{"entries": [{"key", "value"}]}]}`.
    pub fn requests(&self) -> Vec<Value> {
        self.state()["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// What the service wrote on stderr (with `--verbose`, every call).
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops the service (the "down" case); the port is then refused.
    pub fn stop(&mut self) {
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take(); // EOF: the service exits by itself
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn state(&self) -> Value {
        let answer = self.command("requests");
        serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("tollgate-rls: bad answer {answer:?}: {e}"))
    }

    /// Sends one control command and returns the text after `ok`.
    fn command(&self, line: &str) -> String {
        {
            let mut stdin = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
            let stdin = stdin
                .as_mut()
                .unwrap_or_else(|| panic!("tollgate-rls is stopped ({line:?})"));
            writeln!(stdin, "{line}")
                .and_then(|()| stdin.flush())
                .unwrap_or_else(|e| panic!("tollgate-rls: {line:?}: {e}\n{}", self.log()));
        }
        let answer = self.next_line(ANSWER_TIMEOUT);
        match answer.as_deref().and_then(|a| a.strip_prefix("ok")) {
            Some("") => String::new(),
            Some(rest) if rest.starts_with(' ') => rest.trim_start().to_string(),
            _ => panic!("tollgate-rls: {line:?} answered {answer:?}\n{}", self.log()),
        }
    }

    fn next_line(&self, timeout: Duration) -> Option<String> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.recv_timeout(timeout).ok()
    }
}

impl Drop for RateLimitService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `tollgate-rls` executable, built once per test process: by
/// `cargo build -p tollgate-rls` into the target directory this test binary
/// lives in (`<target>/<profile>/deps/<test>-<hash>`), so it lands at
/// `<target>/<profile>/tollgate-rls` next to what `cargo test` built.
pub fn binary() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(build)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn build() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("TOLLGATE_RLS_BIN").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        return if crate::proc::is_executable(&bin) {
            Ok(bin)
        } else {
            Err(format!(
                "TOLLGATE_RLS_BIN={} is not an executable",
                bin.display()
            ))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    let bin = dir.join("tollgate-rls");
    let (Some(target), Some(profile)) = (dir.parent(), dir.file_name()) else {
        return Err(format!(
            "cannot place tollgate-rls next to {}",
            exe.display()
        ));
    };
    let profile = match profile.to_string_lossy().as_ref() {
        "debug" => "dev".to_string(),
        other => other.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(crate::repo_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "tollgate-rls",
            "--profile",
            &profile,
        ])
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null());
    let hint = format!(
        "could not build the rate-limit service: run `cargo build -p tollgate-rls` \
         (or set TOLLGATE_RLS_BIN); {}",
        bin.display()
    );
    match cmd.status() {
        Ok(s) if s.success() && crate::proc::is_executable(&bin) => Ok(bin),
        Ok(s) => Err(format!("{hint}: cargo exited with {s}")),
        // No cargo here: a binary built earlier still serves.
        Err(_) if crate::proc::is_executable(&bin) => Ok(bin),
        Err(e) => Err(format!("{hint}: {}: {e}", PathBuf::from(cargo).display())),
    }
}
