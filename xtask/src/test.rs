//! `cargo xtask test`: what CI runs. Clippy, the wasm modules, a real Envoy,
//! then every test in the workspace, with a summary that says how many of
//! them pushed real traffic through Envoy.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::build::{self, Profile};
use crate::workspace::{self, Workspace};
use crate::{apt, envoy, proc};

/// The filters' own traffic suites, run a second time against the one-VM
/// module (`TOLLGATE_ONE_VM=1`, see tests/src/bootstrap.rs): the same tests
/// pass against both.
const ONE_VM_SUITES: &[&str] = &[
    "headers",
    "auth",
    "auth_jwt",
    "auth_ext_authz",
    "ratelimit",
    "ratelimit_global",
    "config_errors",
    "path_guard",
];

/// The same suites (and the secrets-from-environment tests) with every
/// filter delivered as istiod delivers a WasmPlugin (`TOLLGATE_ISTIO=1`, see
/// tests/src/ecds.rs): by ECDS, in Istio's resource shape, among the Envoy
/// filters Istio puts in a sidecar's chain.
const ISTIO_SUITES: &[&str] = &[
    "headers",
    "auth",
    "auth_jwt",
    "auth_ext_authz",
    "ratelimit",
    "ratelimit_global",
    "config_errors",
    "secrets_env",
];

pub struct Options {
    pub no_clippy: bool,
    /// Passed to `cargo test` as is (a test name filter, `-p`, `-- --nocapture`).
    pub extra: Vec<OsString>,
}

/// Ok(false) when tests failed (already reported).
///
/// The tests run in two passes: against the local Envoy (every test of the
/// workspace), then the real-Envoy suite again against the docker target
/// (`TOLLGATE_ENVOY_TARGET=docker`: each Envoy in a container of an image
/// built here from the same binary, see tollgate_tests::docker). Setting
/// `TOLLGATE_ENVOY_TARGET` to `local` or `docker` runs that pass alone.
pub fn run(ws: &Workspace, opts: Options) -> Result<bool> {
    if opts.no_clippy {
        eprintln!("skipping clippy (--no-clippy)");
    } else {
        let mut cmd = Command::new(workspace::cargo());
        cmd.current_dir(&ws.root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        proc::run(&mut cmd).context("clippy found problems")?;
    }
    let (run_local, run_docker) = match std::env::var("TOLLGATE_ENVOY_TARGET").as_deref() {
        Err(_) | Ok("") => (true, true),
        Ok("local") => (true, false),
        Ok("docker") => (false, true),
        Ok(other) => anyhow::bail!(
            "TOLLGATE_ENVOY_TARGET={other}: expected `local` or `docker` (unset: both)"
        ),
    };
    build::run(ws, Profile::Release)?;
    let envoy_bin = envoy::ensure(&ws.root)?;
    ensure_curl()?;
    // Each Envoy the harness starts adds a line here (target, start time).
    let ledger = std::env::temp_dir().join(format!("tollgate-envoy-ledger-{}", std::process::id()));
    let _ = std::fs::remove_file(&ledger);

    let mut lines = Vec::new();
    let mut all = Totals::default();
    let mut ok = true;
    if run_local {
        let args = cargo_test_args(&opts.extra, false);
        let mut cmd = test_command(ws, &args, &envoy_bin, &ledger);
        cmd.env("TOLLGATE_ENVOY_TARGET", "local");
        let pass = run_pass(ws, cmd, &args, &ledger, "local")?;
        add(&mut all, pass.counts.all);
        ok &= pass.check(&opts, None);
        lines.push(pass.summary("real-Envoy traffic tests"));
    }
    if run_local && opts.extra.is_empty() {
        let again = [
            (
                ONE_VM_SUITES,
                "TOLLGATE_ONE_VM",
                "one-VM module",
                "the filters' suites against the one-VM module (TOLLGATE_ONE_VM=1)",
            ),
            (
                ISTIO_SUITES,
                "TOLLGATE_ISTIO",
                "Istio-shaped",
                "the filters' suites delivered as istiod does, by ECDS (TOLLGATE_ISTIO=1)",
            ),
        ];
        for (suites, var, label, summary) in again {
            let mut args: Vec<OsString> = ["test", "--workspace", "--no-fail-fast"]
                .map(OsString::from)
                .into();
            for suite in suites {
                args.extend(["--test", suite].map(OsString::from));
            }
            let mut cmd = test_command(ws, &args, &envoy_bin, &ledger);
            cmd.env("TOLLGATE_ENVOY_TARGET", "local").env(var, "1");
            if var == "TOLLGATE_ISTIO" {
                // The modules as the mesh gets them: through a registry.
                cmd.env("TOLLGATE_DIST", istio_modules(ws)?);
            }
            let pass = run_pass(ws, cmd, &args, &ledger, "local")?;
            add(&mut all, pass.counts.all);
            let ran = pass.counts.traffic.passed > 0;
            if !ran {
                println!("FAILED ({label}): no traffic test passed");
            }
            ok &= pass.check(&opts, Some(label)) && ran;
            lines.push(pass.summary(summary));
        }
    }
    if run_docker {
        let docker = DockerTarget::start(&envoy_bin)?;
        let args = cargo_test_args(&opts.extra, true);
        let mut cmd = test_command(ws, &args, &envoy_bin, &ledger);
        cmd.env("TOLLGATE_ENVOY_TARGET", "docker")
            .env("TOLLGATE_ENVOY_IMAGE", &docker.image);
        if let Some(host) = docker.docker.host() {
            cmd.env("DOCKER_HOST", host);
        }
        let pass = run_pass(ws, cmd, &args, &ledger, "docker");
        drop(docker);
        let pass = pass?;
        add(&mut all, pass.counts.all);
        ok &= pass.check(&opts, Some("docker"));
        let mut line = pass.summary("real-Envoy traffic tests (docker target)");
        line += &format!(" (Docker engine and image: {:.1} s)", pass_setup_secs());
        lines.push(line);
    }
    let _ = std::fs::remove_file(&ledger);

    println!();
    println!(
        "all tests: {} passed, {} failed, {} ignored",
        all.passed, all.failed, all.ignored
    );
    for line in lines {
        println!("{line}");
    }
    if !ok {
        println!("FAILED: see above");
    }
    // The closing line CI reads.
    println!("{} passed, {} failed", all.passed, all.failed);
    Ok(ok && all.failed == 0)
}

/// Seconds the docker pass spent getting Docker and building its image.
fn pass_setup_secs() -> f64 {
    f64::from_bits(SETUP_SECS.load(std::sync::atomic::Ordering::Relaxed))
}

static SETUP_SECS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The docker target for one pass: an engine (ours when none runs) and the
/// Envoy image, removed on drop.
struct DockerTarget {
    docker: tollgate_tests::docker::Docker,
    image: String,
}

impl DockerTarget {
    /// Fails, rather than skipping the pass, when Docker cannot start.
    fn start(envoy_bin: &Path) -> Result<DockerTarget> {
        let started = Instant::now();
        eprintln!("docker target: getting a Docker engine and building the Envoy image");
        // tollgate_tests::tools panics when it cannot install Docker: report
        // that as the error it is.
        let docker = std::panic::catch_unwind(tollgate_tests::docker::Docker::start)
            .map_err(|p| {
                anyhow::anyhow!(
                    "{}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )
            })
            .and_then(|d| d.map_err(anyhow::Error::msg))
            .context("the docker target needs Docker")?;
        let image = format!("tollgate-test/envoy:{}", tollgate_tests::docker::unique());
        docker
            .build_image(&image, envoy_bin, tollgate_tests::docker::ENVOY_IN_IMAGE)
            .map_err(anyhow::Error::msg)
            .context("building the docker target's Envoy image")?;
        let secs = started.elapsed().as_secs_f64();
        SETUP_SECS.store(secs.to_bits(), std::sync::atomic::Ordering::Relaxed);
        eprintln!("docker target: image {image} ready in {secs:.1} s");
        Ok(DockerTarget { docker, image })
    }
}

impl Drop for DockerTarget {
    fn drop(&mut self) {
        self.docker.remove_images(std::slice::from_ref(&self.image));
    }
}

/// `cargo test` arguments of a pass. The docker pass leaves out the doc tests
/// (`--tests`) unless ARGS choose targets, and skips the tests that run
/// against the local Envoy only (tollgate_tests::docker::LOCAL_ONLY).
/// Otherwise it is the local pass's command, so that nothing is rebuilt:
/// `-p tollgate-tests` or `--test '*'` would change the test binaries' hash
/// and compile them all again (the unit tests it reruns take seconds).
fn cargo_test_args(extra: &[OsString], docker: bool) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["test", "--workspace", "--no-fail-fast"]
        .map(OsString::from)
        .into();
    // Our pipe is not a terminal; keep cargo's colours when ours is.
    if std::io::stdout().is_terminal() && std::env::var_os("CARGO_TERM_COLOR").is_none() {
        args.extend(["--color", "always"].map(OsString::from));
    }
    let split = extra.iter().position(|a| a == "--").unwrap_or(extra.len());
    let (cargo_args, test_args) = extra.split_at(split);
    if docker {
        const SELECTORS: &[&str] = &[
            "--test",
            "--tests",
            "--lib",
            "--bin",
            "--bins",
            "--doc",
            "--all-targets",
            "--example",
            "--examples",
            "--bench",
            "--benches",
        ];
        let chooses = cargo_args.iter().any(|a| {
            let a = a.to_string_lossy();
            SELECTORS
                .iter()
                .any(|s| a == *s || a.starts_with(&format!("{s}=")))
        });
        if !chooses {
            args.push("--tests".into());
        }
    }
    args.extend(cargo_args.iter().cloned());
    if docker {
        args.push("--".into());
        args.extend(test_args.iter().skip(1).cloned());
        for (name, _why) in tollgate_tests::docker::LOCAL_ONLY {
            args.extend(["--skip", name].map(OsString::from));
        }
    } else {
        args.extend(test_args.iter().cloned());
    }
    args
}

fn test_command(ws: &Workspace, args: &[OsString], envoy_bin: &Path, ledger: &Path) -> Command {
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(&ws.root)
        .args(args)
        .env("ENVOY_BIN", envoy_bin)
        .env("TOLLGATE_DIST", ws.dist())
        .env("TOLLGATE_ENVOY_LEDGER", ledger);
    cmd
}

/// One `cargo test` run and what it counted.
struct Pass {
    status: ExitStatus,
    counts: Counts,
    /// Envoys the harness started on the pass's target, and the median
    /// time from start to ready.
    envoys: usize,
    median_ready: Option<Duration>,
    took: Duration,
}

fn run_pass(
    ws: &Workspace,
    cmd: Command,
    args: &[OsString],
    ledger: &Path,
    target: &str,
) -> Result<Pass> {
    let started = Instant::now();
    let before = ledger_times(ledger, target).len();
    // The same command up to `--`, compiled first: `cargo test ... --no-run`.
    let cargo_args: Vec<OsString> = args.iter().take_while(|a| *a != "--").cloned().collect();
    let traffic = traffic_binaries(ws, &cargo_args)?;
    let (status, counts) = run_and_count(cmd, &ws.root, &traffic)?;
    let mut times = ledger_times(ledger, target).split_off(before);
    times.sort();
    Ok(Pass {
        status,
        counts,
        envoys: times.len(),
        median_ready: times.get(times.len() / 2).copied(),
        took: started.elapsed(),
    })
}

/// Start-to-ready times of the Envoys on `target` in the ledger, in order.
fn ledger_times(ledger: &Path, target: &str) -> Vec<Duration> {
    std::fs::read_to_string(ledger)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            (f.next()? == target).then_some(())?;
            Some(Duration::from_millis(f.next()?.parse().ok()?))
        })
        .collect()
}

impl Pass {
    fn summary(&self, label: &str) -> String {
        let Counts {
            traffic,
            traffic_binaries,
            ..
        } = self.counts;
        if traffic_binaries == 0 {
            return format!("{label}: none ran (no integration test binary of the tests crate)");
        }
        let median = self.median_ready.map_or(String::new(), |m| {
            format!(", median start {:.2} s", m.as_secs_f64())
        });
        format!(
            "{label}: {} passed, {} failed, {} ignored ({} binaries; {} Envoys{median}; pass {:.0} s)",
            traffic.passed,
            traffic.failed,
            traffic.ignored,
            traffic_binaries,
            self.envoys,
            self.took.as_secs_f64()
        )
    }

    /// Whether the pass counts as passed; says why not.
    fn check(&self, opts: &Options, target: Option<&str>) -> bool {
        let label = target.map_or(String::new(), |t| format!(" ({t} target)"));
        if !self.status.success() || self.counts.all.failed > 0 {
            println!("FAILED{label}: cargo test exited with {}", self.status);
            return false;
        }
        // A CI run that drove no traffic through Envoy proves little about
        // the filters: treat it as broken setup rather than success.
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        if ci && opts.extra.is_empty() && self.counts.traffic.passed == 0 {
            println!("FAILED{label}: CI=true but no real-Envoy traffic test passed");
            return false;
        }
        // Traffic tests that passed without one container would mean the
        // target was not in effect.
        if target.is_some() && self.counts.traffic.passed > 0 && self.envoys == 0 {
            println!("FAILED{label}: tests passed but no Envoy ran on the docker target");
            return false;
        }
        true
    }
}

/// Every built module pushed to a local registry as its OCI images and
/// pulled back (see package::pull): the directory of the pulled modules.
fn istio_modules(ws: &Workspace) -> Result<std::path::PathBuf> {
    let work = ws.target_dir.join("istio-pass");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let names: Vec<String> = ws.filters.iter().map(|f| f.name.clone()).collect();
    crate::package::pull::modules_through_registry(&ws.dist(), &names, &work, &work.join("dist"))
}

fn ensure_curl() -> Result<()> {
    apt::ensure("curl", "curl", "the HTTP/2 tests use it").map(drop)
}

#[derive(Default, Clone, Copy)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

#[derive(Default)]
struct Counts {
    all: Totals,
    traffic: Totals,
    traffic_binaries: u64,
}

/// The executables of the tests crate's integration tests, as this very
/// `cargo test` will build them. Compiles everything first (with progress),
/// so the real run starts straight away. Cargo's `Running` lines name only a
/// source path that another crate can share (`tests/headers.rs`); the
/// executable's path, with its hash, is unambiguous.
fn traffic_binaries(ws: &Workspace, cargo_args: &[OsString]) -> Result<Vec<PathBuf>> {
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(&ws.root)
        .args(cargo_args)
        .args(["--no-run", "--message-format", "json-render-diagnostics"])
        .stdin(Stdio::null())
        // Progress and compiler errors to the terminal; JSON comes on stdout.
        .stderr(Stdio::inherit());
    eprintln!("$ {}", proc::display(&cmd));
    let out = cmd.output().context("starting cargo test --no-run")?;
    proc::check(&cmd, out.status).context("compiling the tests")?;
    let Some(tests_crate) = &ws.tests_crate else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let target = &msg["target"];
        let src = Path::new(target["src_path"].as_str().unwrap_or_default());
        let is_test = target["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "test"));
        let is_traffic = is_test && src.starts_with(tests_crate);
        if let (true, Some(exe)) = (is_traffic, msg["executable"].as_str()) {
            found.push(PathBuf::from(exe));
        }
    }
    Ok(found)
}

/// Runs cargo test with stdout and stderr on one pipe, so that a test
/// binary's `test result:` line follows the `Running` line (stderr) that
/// names it; echoes everything as it comes.
fn run_and_count(
    mut cmd: Command,
    root: &Path,
    traffic: &[PathBuf],
) -> Result<(ExitStatus, Counts)> {
    let (reader, writer) = proc::pipe()?;
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone().context("duplicating the pipe")?)
        .stderr(writer);
    eprintln!("$ {}", proc::display(&cmd));
    let mut child = cmd.spawn().context("starting cargo test")?;
    // Our copies of the write end must go, or the pipe never reaches EOF.
    drop(cmd);

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            if tx.send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });

    let mut counts = Counts::default();
    let mut in_traffic_binary = false;
    let mut status = None;
    let stdout = std::io::stdout();
    loop {
        // A process a test leaked (an Envoy left running) may hold the pipe
        // open after cargo exits: then stop reading after a quiet spell.
        let wait = if status.is_some() {
            Duration::from_secs(3)
        } else {
            Duration::from_millis(200)
        };
        match rx.recv_timeout(wait) {
            Ok(line) => {
                let mut out = stdout.lock();
                let _ = out.write_all(&line);
                let _ = out.flush();
                let text = strip_ansi(&String::from_utf8_lossy(&line));
                count_line(
                    text.trim(),
                    root,
                    traffic,
                    &mut counts,
                    &mut in_traffic_binary,
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) if status.is_none() => {
                status = child.try_wait().context("waiting for cargo test")?;
            }
            Err(_) => break,
        }
    }
    let status = match status {
        Some(status) => status,
        None => child.wait().context("waiting for cargo test")?,
    };
    Ok((status, counts))
}

fn count_line(
    line: &str,
    root: &Path,
    traffic: &[PathBuf],
    counts: &mut Counts,
    in_traffic: &mut bool,
) {
    if let Some(running) = line.strip_prefix("Running ") {
        // "Running tests/headers.rs (target/debug/deps/headers-1a2b3c)", the
        // executable relative to the workspace when it is inside it.
        let exe = running
            .rsplit_once(" (")
            .and_then(|(_, rest)| rest.strip_suffix(')'));
        *in_traffic = exe.is_some_and(|exe| traffic.contains(&root.join(exe)));
        if *in_traffic {
            counts.traffic_binaries += 1;
        }
    } else if line.starts_with("Doc-tests ") {
        *in_traffic = false;
    } else if let Some(result) = line.strip_prefix("test result: ") {
        let totals = parse_result(result);
        add(&mut counts.all, totals);
        if *in_traffic {
            add(&mut counts.traffic, totals);
        }
    }
}

fn add(sum: &mut Totals, t: Totals) {
    sum.passed += t.passed;
    sum.failed += t.failed;
    sum.ignored += t.ignored;
}

/// "ok. 23 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.2s"
fn parse_result(result: &str) -> Totals {
    let mut totals = Totals::default();
    let body = result.split_once(". ").map_or(result, |(_, rest)| rest);
    for part in body.split(';') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => totals.passed = n,
            "failed" => totals.failed = n,
            "ignored" => totals.ignored = n,
            _ => {}
        }
    }
    totals
}

/// Removes colour escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_results_and_traffic_binaries() {
        let root = Path::new("/repo");
        let traffic = [PathBuf::from("/var/cache/t/debug/deps/headers-9a8b")];
        let output = "\
     Running unittests src/lib.rs (target/debug/deps/tollgate_headers-0f1e)
test result: ok. 40 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
     Running tests/headers.rs (/var/cache/t/debug/deps/headers-9a8b)
test result: FAILED. 20 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 3.10s
     Running tests/headers.rs (target/debug/deps/headers-77)
test result: ok. 5 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
   Doc-tests tollgate_common
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";
        let mut counts = Counts::default();
        let mut in_traffic = false;
        for line in output.lines() {
            count_line(
                strip_ansi(line).trim(),
                root,
                &traffic,
                &mut counts,
                &mut in_traffic,
            );
        }
        assert_eq!(
            (counts.all.passed, counts.all.failed, counts.all.ignored),
            (66, 2, 1)
        );
        assert_eq!((counts.traffic.passed, counts.traffic.failed), (20, 2));
        assert_eq!(counts.traffic_binaries, 1);
    }

    #[test]
    fn strips_colour() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[92m     Running\u{1b}[0m x"),
            "     Running x"
        );
    }
}
