//! `cargo xtask profile [--requests N] [--only SCENARIO...] [--cpu-prof DIR]`:
//! each bench scenario that runs one wasm module, in node's V8 behind a
//! proxy-wasm host written in JS (bench/profile/host.mjs) instead of Envoy.
//! It times the module's own work per request, free of Envoy's noise, and
//! counts its host calls; `--cpu-prof` writes V8 CPU profiles (function
//! names need an unstripped build: `CARGO_PROFILE_RELEASE_STRIP=false`, and
//! the module from target/wasm rather than the wasm-opt'd one in dist/, given
//! with `--modules`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::scenarios::{self, Filter, Kind};
use crate::workspace::Workspace;
use crate::{apt, build, proc};

pub const USAGE: &str = "\
  profile [--requests N] [--only SCENARIO...] [--modules DIR] [--cpu-prof DIR]
                               each one-module bench scenario in node's V8 behind a JS
                               proxy-wasm host: ns per request and host calls per request;
                               --modules: DIR/<module>.wasm instead of a fresh dist/
";

pub struct Options {
    requests: u64,
    only: Vec<String>,
    cpu_prof: Option<PathBuf>,
    modules: Option<PathBuf>,
}

impl Options {
    pub fn parse(args: &[OsString]) -> Result<Options> {
        let mut opts = Options {
            requests: 50_000,
            only: vec![],
            cpu_prof: None,
            modules: None,
        };
        let mut args = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--requests" => {
                    let n = args.next().context("--requests needs a value")?;
                    opts.requests = n.parse().with_context(|| format!("--requests {n}"))?;
                }
                "--cpu-prof" => {
                    opts.cpu_prof = Some(args.next().context("--cpu-prof needs a DIR")?.into());
                }
                "--modules" => {
                    opts.modules = Some(args.next().context("--modules needs a DIR")?.into());
                }
                "--only" => {
                    while let Some(name) = args.next_if(|a| !a.starts_with("--")) {
                        opts.only.push(name);
                    }
                }
                other => bail!("unexpected argument `{other}`\n\n{USAGE}"),
            }
        }
        Ok(opts)
    }
}

pub fn run(ws: &Workspace, opts: &Options) -> Result<bool> {
    let node = apt::ensure("node", "nodejs", "profile runs the modules in node's V8")?;
    let modules = match &opts.modules {
        Some(dir) => dir.clone(),
        None => {
            build::run(ws, build::Profile::Release)?;
            ws.dist()
        }
    };
    let host = ws.root.join("bench/profile/host.mjs");
    let dir = std::env::temp_dir().join(format!("tollgate-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut ran = 0;
    let mut ok = true;
    for s in scenarios::all() {
        let wanted = s.chosen(&opts.only, false);
        // A new token per request needs wrk's script; the harness repeats one.
        if !wanted || s.kind == Kind::Native || s.kind == Kind::Baseline || s.fresh_tokens.is_some()
        {
            continue;
        }
        let [Filter::Wasm { module, config }] = s.filters.as_slice() else {
            continue;
        };
        let config_path = dir.join(format!("{}.json", s.name));
        std::fs::write(&config_path, super::bootstrap::plugin_configuration(config))?;
        let mut cmd = Command::new(&node);
        if let Some(out) = &opts.cpu_prof {
            cmd.arg("--cpu-prof")
                .arg("--cpu-prof-dir")
                .arg(out.join(s.name));
        }
        cmd.arg(&host)
            .arg(modules.join(format!("{module}.wasm")))
            .arg(&config_path)
            .arg(opts.requests.to_string())
            .args(s.headers.iter().map(|(n, v)| format!("{n}:{v}")));
        println!("{} ({})", s.name, s.title);
        ran += 1;
        if let Err(e) = proc::run(&mut cmd) {
            eprintln!("error: {}: {e:#}", s.name);
            ok = false;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if ran == 0 {
        bail!("no one-module scenario among {:?}", opts.only);
    }
    Ok(ok)
}
