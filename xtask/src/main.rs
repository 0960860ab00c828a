//! Tollgate's developer tasks, run as `cargo xtask <command>` (an alias in
//! `.cargo/config.toml`). Plain Rust instead of shell scripts so that the same
//! steps run on a developer's machine and in CI.

mod apt;
mod bench;
mod build;
mod envoy;
mod fuzz;
mod package;
mod proc;
mod test;
mod toolchain;
mod up;
mod wasm_imports;
mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Result};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  build [--debug]              build every filter to wasm32-wasip1 into dist/<name>.wasm
                               (--debug: dev profile, no wasm-opt, panic messages kept)
  test [--no-clippy] [-- ARGS] clippy, build, then cargo test --workspace against a real
                               Envoy; ARGS go to cargo test (e.g. `-- headers`)
  up                           build, start the echo upstream and Envoy with envoy/chain.yaml
  envoy                        print the path of the Envoy binary (installs it if missing)
  bench [--quick] [--scale] [--rounds N] [--duration S] [--starts N] [--only SCENARIO...]
        [--out DIR] [--compare NAME=DIR...]
                               Envoy CPU per request of each filter vs native filters and a
                               no-op wasm floor, start-up and memory; results in
                               bench/results.{json,md,svg}; --scale adds configurations of
                               10 to 100,000 keys, users, rules; --starts: extra timed starts
                               per scenario (default 2); --compare also runs each Tollgate
                               scenario with DIR's modules
";

/// Each command's usage after the common part.
const MORE_USAGE: &[&str] = &[bench::profile::USAGE, package::USAGE, fuzz::USAGE];

fn main() -> ExitCode {
    match run(std::env::args_os().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        // The command already said what failed.
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<OsString>) -> Result<bool> {
    let mut args = args.into_iter();
    let command = args.next().and_then(|a| a.into_string().ok());
    let rest: Vec<OsString> = args.collect();
    match command.as_deref() {
        Some("build") => {
            let debug = parse_flags(&rest, &["--debug"])?.contains(&"--debug");
            let ws = workspace::Workspace::load()?;
            build::run(&ws, build::Profile::from_debug(debug))?;
            Ok(true)
        }
        Some("test") => {
            // Everything after `--` belongs to cargo test.
            let split = rest.iter().position(|a| a == "--").unwrap_or(rest.len());
            let (ours, theirs) = rest.split_at(split);
            let no_clippy = parse_flags(ours, &["--no-clippy"])?.contains(&"--no-clippy");
            let extra = theirs.iter().skip(1).cloned().collect();
            let ws = workspace::Workspace::load()?;
            test::run(&ws, test::Options { no_clippy, extra })
        }
        Some("up") => {
            parse_flags(&rest, &[])?;
            let ws = workspace::Workspace::load()?;
            up::run(&ws)?;
            Ok(true)
        }
        Some("fuzz") => {
            let opts = fuzz::Options::parse(&rest)?;
            fuzz::run(&workspace::Workspace::load()?, &opts)
        }
        Some("bench") => {
            let opts = bench::Options::parse(&rest)?;
            bench::run(&workspace::Workspace::load()?, &opts)?;
            Ok(true)
        }
        Some("profile") => {
            let opts = bench::profile::Options::parse(&rest)?;
            bench::profile::run(&workspace::Workspace::load()?, &opts)
        }
        Some("envoy") => {
            parse_flags(&rest, &[])?;
            // Only the path goes to stdout, so `ENVOY=$(cargo xtask envoy)` works.
            let path = envoy::ensure(&workspace::root())?;
            println!("{}", path.display());
            Ok(true)
        }
        Some("package") => {
            package::run(&workspace::Workspace::load()?, &rest)?;
            Ok(true)
        }
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}{}", MORE_USAGE.concat());
            Ok(true)
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
        None => bail!("no command given\n\n{USAGE}"),
    }
}

/// Checks that every argument is one of `allowed` and returns those given.
fn parse_flags<'a>(args: &[OsString], allowed: &[&'a str]) -> Result<Vec<&'a str>> {
    let mut given = Vec::new();
    for arg in args {
        match allowed.iter().find(|flag| arg == **flag) {
            Some(flag) => given.push(*flag),
            None => bail!("unexpected argument `{}`\n\n{USAGE}", arg.to_string_lossy()),
        }
    }
    Ok(given)
}
