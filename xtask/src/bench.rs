//! `cargo xtask bench`: what each filter costs Envoy per request, next to the
//! native filter an operator would use instead and to the floor of the
//! proxy-wasm ABI (a no-op module).
//!
//! Envoy (`--concurrency 1`) runs on one CPU, nginx and wrk on another; for
//! every scenario Envoy's CPU time (utime + stime of all its threads, from
//! `/proc/<pid>/stat`) over a wrk run is divided by the requests completed.
//! Rounds interleave the scenarios (each round in a rotated order); a run
//! during which other processes used Envoy's CPU is taken again, and the
//! report takes medians over the quiet runs.

mod bootstrap;
mod cputime;
mod files;
mod jwt;
mod machine;
mod options;
mod procs;
pub mod profile;
mod report;
mod rounds;
mod scale;
mod scenarios;
mod startup;
mod svg;
mod wrk;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

pub use options::Options;
use procs::{Envoy, Upstream};
use report::Report;
use scenarios::Scenario;

use crate::workspace::Workspace;
use crate::{apt, build, envoy, proc};

pub fn run(ws: &Workspace, opts: &Options) -> Result<()> {
    let all = scenarios::all();
    let chosen = opts.select(&all)?;
    let variants = scenarios::variants(&chosen, &opts.compare);
    let chosen = scenarios::with_variants(chosen, &variants);
    let tools = Tools::find()?;
    let modules = build::run(ws, build::Profile::Release)?;
    let envoy_bin = envoy::ensure(&ws.root)?;
    let (envoy_cpu, load_cpu) = machine::cpus();
    if load_cpu.is_none() {
        eprintln!("warning: fewer than 2 CPUs available: nothing is pinned, figures are rough");
    }
    let mut info = machine::Info::collect(&envoy_bin, opts, envoy_cpu, load_cpu)?;
    let planned = chosen.len() as u64 * (opts.rounds * opts.duration + 1) + opts.warmup;
    eprintln!(
        "bench: {} scenarios x {} rounds x {} s (about {} s); load average {}",
        chosen.len(),
        opts.rounds,
        opts.duration,
        planned,
        info.load_before
    );

    let dir = TempDir::new()?;
    let upstream = Upstream::start(&tools.nginx, &dir.0, load_cpu)?;
    let dist = ws.dist();
    for s in &chosen {
        let modules_dir = s.modules_dir.as_deref().unwrap_or(&dist);
        for module in scenarios::modules(&[s]) {
            let path = modules_dir.join(format!("{module}.wasm"));
            if !path.exists() {
                bail!(
                    "{} is missing (for {}): is its crate a workspace member?",
                    path.display(),
                    s.name
                );
            }
        }
    }
    if chosen.iter().any(|s| s.fresh_tokens.is_some()) {
        jwt::mint(&ws.root, &dir.0)?;
    }
    let wrk = wrk::Wrk {
        bin: tools.wrk.clone(),
        cpu: load_cpu,
        dir: dir.0.clone(),
        offsets: Default::default(),
    };
    let start = |s: &Scenario| {
        let modules_dir = s.modules_dir.as_deref().unwrap_or(&dist);
        Envoy::start(&envoy_bin, s, modules_dir, &dir.0, upstream.port, envoy_cpu)
            .with_context(|| format!("starting the {} scenario", s.name))
    };
    // Start-up is timed alone (one Envoy starting, none under load), in
    // rounds over every scenario, before the Envoys that take the load.
    let mut startup = vec![startup::Startup::default(); chosen.len()];
    for round in 0..opts.starts {
        for k in 0..chosen.len() {
            let i = (k + round as usize) % chosen.len();
            startup[i].add(&start(chosen[i])?);
        }
    }
    let mut envoys = Vec::new();
    for (s, st) in chosen.iter().zip(&mut startup) {
        let e = start(s)?;
        st.add(&e);
        // Warm-up, not measured: connections to the upstream, V8's first calls.
        wrk.run(e.port, s, opts.warmup)?;
        st.rss_warm_kib = e.rss_kib();
        envoys.push(e);
    }

    let started = Instant::now();
    let cpus = cputime::Cpus {
        envoy: envoy_cpu,
        load: load_cpu,
        upstream_pid: upstream.pid(),
    };
    let samples = rounds::run(&chosen, &mut envoys, &wrk, &cpus, opts)?;
    for (s, e) in chosen.iter().zip(&envoys) {
        e.print_jwt_cache_counters(s);
        let failures = e.vm_failures();
        if !failures.is_empty() {
            bail!(
                "envoy for {} logged wasm failures:\n{}",
                s.name,
                failures.join("\n")
            );
        }
    }
    drop(envoys);
    drop(upstream);
    info.finish(started.elapsed().as_secs_f64());

    let report = Report::new(&chosen, samples, startup, info, &modules);
    print!("{}", report.table());
    let out = opts.out.clone().unwrap_or_else(|| ws.root.join("bench"));
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    write(
        &out.join("results.json"),
        &serde_json::to_string_pretty(&report.to_json())?,
    )?;
    write(&out.join("results.md"), &report.markdown())?;
    write(&out.join("results.svg"), &svg::chart(&report))?;
    eprintln!(
        "bench: results in {}/results.{{json,md,svg}}",
        out.display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

struct Tools {
    wrk: PathBuf,
    nginx: PathBuf,
}

impl Tools {
    /// wrk and nginx, installed from Debian when missing and we may.
    fn find() -> Result<Tools> {
        let wrk = apt::ensure("wrk", "wrk", "the bench's load generator")?;
        // nginx lives in /usr/sbin, which a user's PATH may lack.
        let nginx = match proc::which("nginx") {
            Some(path) => path,
            None => apt::ensure("/usr/sbin/nginx", "nginx-light", "the bench's upstream")?,
        };
        Ok(Tools { wrk, nginx })
    }
}

/// A directory for configs and logs, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("tollgate-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("TOLLGATE_KEEP_LOGS").is_some() {
            eprintln!("bench: logs kept in {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
