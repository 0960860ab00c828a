//! `cargo xtask test`: what CI runs. Clippy, the wasm modules, a real Envoy,
//! then every test in the workspace, with a summary that says how many of
//! them pushed real traffic through Envoy.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
];

pub struct Options {
    pub no_clippy: bool,
    /// Passed to `cargo test` as is (a test name filter, `-p`, `-- --nocapture`).
    pub extra: Vec<OsString>,
}

/// Ok(false) when tests failed (already reported).
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
    build::run(ws, Profile::Release)?;
    let envoy_bin = envoy::ensure(&ws.root)?;
    ensure_curl()?;

    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(&ws.root)
        // Run every test binary even after a failure: CI should show all of them.
        .args(["test", "--workspace", "--no-fail-fast"])
        .env("ENVOY_BIN", &envoy_bin)
        .env("TOLLGATE_DIST", ws.dist());
    // Our pipe is not a terminal; keep cargo's colours when ours is.
    if std::io::stdout().is_terminal() && std::env::var_os("CARGO_TERM_COLOR").is_none() {
        cmd.args(["--color", "always"]);
    }
    cmd.args(&opts.extra);
    let traffic = traffic_binaries(ws, &opts.extra)?;
    let (status, counts) = run_and_count(cmd, &ws.root, &traffic)?;
    // A full run also runs the filters' suites against the one-VM module.
    let one_vm = if opts.extra.is_empty() {
        let mut cmd = Command::new(workspace::cargo());
        cmd.current_dir(&ws.root)
            .args(["test", "--no-fail-fast", "-p", "tollgate-tests"])
            .env("ENVOY_BIN", &envoy_bin)
            .env("TOLLGATE_DIST", ws.dist())
            .env("TOLLGATE_ONE_VM", "1");
        for suite in ONE_VM_SUITES {
            cmd.args(["--test", suite]);
        }
        Some(run_and_count(cmd, &ws.root, &traffic)?)
    } else {
        None
    };

    let Counts {
        mut all,
        traffic,
        traffic_binaries,
    } = counts;
    println!();
    println!(
        "all tests: {} passed, {} failed, {} ignored",
        all.passed, all.failed, all.ignored
    );
    if traffic_binaries == 0 {
        println!(
            "real-Envoy traffic tests: none ran (no integration test binary of the tests crate)"
        );
    } else {
        println!(
            "real-Envoy traffic tests: {} passed, {} failed, {} ignored ({} binaries)",
            traffic.passed, traffic.failed, traffic.ignored, traffic_binaries
        );
    }
    let mut ok = status.success() && all.failed == 0;
    if !ok {
        println!("FAILED: cargo test exited with {status}");
    }
    if let Some((status, one)) = one_vm {
        let t = one.traffic;
        println!(
            "the same suites against the one-VM module (dist/tollgate.wasm): {} passed, {} failed, {} ignored ({} binaries)",
            t.passed, t.failed, t.ignored, one.traffic_binaries
        );
        if !status.success() || one.all.failed > 0 || t.passed == 0 {
            println!("FAILED: the one-VM pass (TOLLGATE_ONE_VM=1) exited with {status}");
            ok = false;
        }
        add(&mut all, one.all);
    }
    // A CI run that drove no traffic through Envoy proves little about the
    // filters: treat it as broken setup rather than success.
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    if ok && ci && opts.extra.is_empty() && traffic.passed == 0 {
        println!("FAILED: CI=true but no real-Envoy traffic test passed");
        ok = false;
    }
    // The closing line CI reads.
    println!("{} passed, {} failed", all.passed, all.failed);
    Ok(ok)
}

fn ensure_curl() -> Result<()> {
    if proc::which("curl").is_some() {
        return Ok(());
    }
    if apt::available() {
        eprintln!("curl not found (the HTTP/2 tests use it): installing it");
        return apt::install(&["curl"]);
    }
    anyhow::bail!("curl is needed by the HTTP/2 tests: install it (apt-get install curl)")
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
fn traffic_binaries(ws: &Workspace, extra: &[OsString]) -> Result<Vec<PathBuf>> {
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(&ws.root)
        .args([
            "test",
            "--workspace",
            "--no-run",
            "--message-format",
            "json-render-diagnostics",
        ])
        .args(extra)
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
