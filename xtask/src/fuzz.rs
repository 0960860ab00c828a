//! `cargo xtask fuzz`: runs the libFuzzer targets of `fuzz/` (cargo-fuzz
//! layout, its own workspace) for a set time each and reports executions and
//! findings. The property every target checks is "never panics": a panic in
//! wasm kills the VM for every later request on that worker.
//!
//! - cargo-fuzz is installed from crates.io when missing (`cargo install
//!   cargo-fuzz --locked`, kept in `~/.cargo/bin`).
//! - `RUSTC_BOOTSTRAP=1` lets a stable toolchain take cargo-fuzz's `-Z`
//!   flags. No sanitizer: the filters are safe Rust and the property is
//!   panics (overflow checks and debug assertions stay on).
//! - The committed seeds (`fuzz/corpus/<target>`, written by
//!   `fuzz/seeds.py`) are read; what libFuzzer finds goes to
//!   `<target dir>/fuzz-corpus/<target>`, which later runs start from.
//! - A crash or a hang (10 s on one input) leaves its input in
//!   `fuzz/artifacts/<target>/` and makes the command fail.

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::proc;
use crate::workspace::{self, Workspace};

pub const USAGE: &str = "\
  fuzz [--seconds N] [--target NAME...]
                               run each fuzz target (fuzz/fuzz_targets) for N seconds
                               (default 30); fails when one crashes
";

pub struct Options {
    pub seconds: u64,
    pub targets: Vec<String>,
}

impl Options {
    pub fn parse(args: &[OsString]) -> Result<Options> {
        let mut opts = Options {
            seconds: 30,
            targets: Vec::new(),
        };
        let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
        let mut in_targets = false;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    in_targets = false;
                    let n = args.next().context("--seconds needs a number")?;
                    opts.seconds = n
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .with_context(|| format!("--seconds {n}: not a positive number"))?;
                }
                "--target" => in_targets = true,
                name if in_targets && !name.starts_with('-') => opts.targets.push(name.into()),
                other => bail!("unexpected argument `{other}` for fuzz\n\n{USAGE}"),
            }
        }
        if in_targets && opts.targets.is_empty() {
            bail!("--target needs at least one name");
        }
        Ok(opts)
    }
}

struct Outcome {
    target: String,
    executions: Option<u64>,
    finding: Option<String>,
}

pub fn run(ws: &Workspace, opts: &Options) -> Result<bool> {
    let fuzz_dir = ws.root.join("fuzz");
    let all = targets(&fuzz_dir)?;
    for t in &opts.targets {
        if !all.contains(t) {
            bail!("no fuzz target `{t}` (have: {})", all.join(", "));
        }
    }
    let chosen = if opts.targets.is_empty() {
        all
    } else {
        opts.targets.clone()
    };
    ensure_cargo_fuzz()?;

    let mut build = cargo_fuzz(&fuzz_dir);
    build.args(["build", "--sanitizer", "none"]);
    proc::run(&mut build).context("building the fuzz targets")?;

    let corpus_root = ws.target_dir.join("fuzz-corpus");
    let logs = ws.target_dir.join("fuzz-logs");
    fs::create_dir_all(&logs)?;
    let mut outcomes = Vec::new();
    for t in &chosen {
        let grown = corpus_root.join(t);
        fs::create_dir_all(&grown)?;
        let log_path = logs.join(format!("{t}.log"));
        let log = fs::File::create(&log_path)?;
        let mut cmd = cargo_fuzz(&fuzz_dir);
        cmd.args(["run", "--sanitizer", "none", t])
            .arg(&grown)
            .arg(fuzz_dir.join("corpus").join(t))
            .arg("--")
            .arg(format!("-max_total_time={}", opts.seconds))
            .args(["-timeout=10", "-print_final_stats=1"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        eprintln!(
            "fuzz: {t} for {} s (log: {})",
            opts.seconds,
            log_path.display()
        );
        let status = cmd
            .status()
            .with_context(|| format!("cannot start `{}`", proc::display(&cmd)))?;
        let text = fs::read_to_string(&log_path).unwrap_or_default();
        let outcome = Outcome {
            target: t.clone(),
            executions: stat(&text, "stat::number_of_executed_units:"),
            finding: (!status.success()).then(|| finding(&text, status.code())),
        };
        if outcome.finding.is_some() {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines.len().saturating_sub(40);
            eprintln!("{}", lines.get(tail..).unwrap_or_default().join("\n"));
        }
        println!("{}", line(&outcome));
        outcomes.push(outcome);
    }

    println!("\nfuzz summary ({} s per target):", opts.seconds);
    for o in &outcomes {
        println!("  {}", line(o));
    }
    let crashed = outcomes.iter().filter(|o| o.finding.is_some()).count();
    if crashed > 0 {
        println!("fuzz: {crashed} target(s) found a crash; inputs are in fuzz/artifacts/");
    }
    Ok(crashed == 0)
}

fn line(o: &Outcome) -> String {
    let execs = o
        .executions
        .map_or_else(|| "?".to_string(), |n| n.to_string());
    match &o.finding {
        None => format!("{:<20} {:>12} executions  ok", o.target, execs),
        Some(f) => format!("{:<20} {:>12} executions  CRASH: {f}", o.target, execs),
    }
}

/// The fuzz targets: `fuzz/fuzz_targets/*.rs`, sorted.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    names.sort();
    Ok(names)
}

fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut cmd = Command::new(workspace::cargo());
    cmd.arg("fuzz")
        .current_dir(fuzz_dir)
        // cargo-fuzz passes -Z flags; stable accepts them with this.
        .env("RUSTC_BOOTSTRAP", "1");
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let ok = Command::new(workspace::cargo())
        .args(["fuzz", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Ok(());
    }
    eprintln!("fuzz: cargo-fuzz not found, installing it from crates.io");
    proc::run(
        Command::new(workspace::cargo())
            .args(["install", "cargo-fuzz", "--locked"])
            .stdin(Stdio::null()),
    )
}

/// A number after `key` in libFuzzer's final stats.
fn stat(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key))
        .and_then(|v| v.trim().parse().ok())
}

/// What libFuzzer said about the failure, and where it left the input.
fn finding(text: &str, code: Option<i32>) -> String {
    let kind = text
        .lines()
        .find(|l| l.contains("==ERROR: libFuzzer:") || l.contains("panicked at"))
        .map(str::trim)
        .unwrap_or("the target failed");
    let input = text
        .lines()
        .find_map(|l| l.split("Test unit written to ").nth(1))
        .map(str::trim);
    match (input, code) {
        (Some(i), _) => format!("{kind} (input: {i})"),
        (None, Some(c)) => format!("{kind} (exit {c})"),
        (None, None) => kind.to_string(),
    }
}
