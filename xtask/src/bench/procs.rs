//! The processes of a bench run: nginx as the upstream, one Envoy per
//! scenario, wrk as the load; each pinned to its CPU, each stopped when
//! dropped (and killed by the kernel if xtask dies).

use std::fs;
use std::io;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::bootstrap;
use super::cputime::{Cpus, Measurement, Snapshot};
use super::scenarios::Scenario;
use super::wrk;
use crate::proc::{self, Guard};

/// Restricts the child to one CPU (`sched_setaffinity` between fork and exec).
pub fn pin(cmd: &mut Command, cpu: Option<usize>) -> &mut Command {
    let Some(cpu) = cpu else { return cmd };
    // SAFETY: the closure runs between fork and exec; it only fills a stack
    // cpu_set_t and calls sched_setaffinity, both async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

fn wait_port(port: u16, guard: &mut Guard, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = guard.exited()? {
            bail!("{} exited ({status}):\n{}", guard.name, tail(log));
        }
        if Instant::now() > deadline {
            bail!("{} does not listen on {port}:\n{}", guard.name, tail(log));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// nginx answering every request with a fixed 3-byte body, from its own
/// prefix in `dir`: no access log, keep-alive without limit.
pub struct Upstream {
    pub port: u16,
    guard: Guard,
}

impl Upstream {
    pub fn pid(&self) -> u32 {
        self.guard.child.id()
    }
}

impl Upstream {
    pub fn start(nginx: &Path, dir: &Path, cpu: Option<usize>) -> Result<Upstream> {
        let dir = dir.join("nginx");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let port = tollgate_tests::free_port();
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             \x20 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             \x20 keepalive_requests 1000000000;\n  keepalive_timeout 600s;\n\
             \x20 server {{\n    listen 127.0.0.1:{port};\n    location / {{ default_type text/plain; return 200 \"ok\\n\"; }}\n  }}\n}}\n"
        );
        let conf_path = dir.join("nginx.conf");
        fs::write(&conf_path, conf)?;
        let log = dir.join("error.log");
        let mut cmd = Command::new(nginx);
        cmd.arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("stderr.log"))?);
        pin(proc::die_with_parent(&mut cmd), cpu);
        let child = cmd.spawn().context("starting nginx")?;
        let mut guard = Guard::new("nginx", child);
        wait_port(port, &mut guard, &log)?;
        Ok(Upstream { port, guard })
    }
}

/// One Envoy running one scenario, `--concurrency 1`.
pub struct Envoy {
    pub port: u16,
    admin: u16,
    guard: Guard,
    log: PathBuf,
    /// From the spawn to `/ready` answering 200, and to the first 2xx
    /// through the listener (the scenario's check).
    pub ready: Duration,
    pub first_ok: Duration,
}

/// Log lines that mean a wasm VM failed (the harness's list).
const VM_FAILURES: &[&str] = &["panicked at", "RuntimeError", "Uncaught", "Wasm VM failed"];

impl Envoy {
    pub fn start(
        bin: &Path,
        s: &Scenario,
        dist: &Path,
        dir: &Path,
        upstream: u16,
        cpu: Option<usize>,
    ) -> Result<Envoy> {
        let dir = dir.join(s.name);
        fs::create_dir_all(&dir)?;
        let (port, admin) = (tollgate_tests::free_port(), tollgate_tests::free_port());
        let config = dir.join("envoy.json");
        let bootstrap = bootstrap::bootstrap(s, dist, port, admin, upstream);
        fs::write(&config, serde_json::to_string_pretty(&bootstrap)?)?;
        let log = dir.join("envoy.log");
        let mut cmd = Command::new(bin);
        cmd.arg("-c")
            .arg(&config)
            .args([
                "--concurrency",
                "1",
                "--use-dynamic-base-id",
                "--log-level",
                "warn",
            ])
            .arg("--log-path")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("stderr.log"))?);
        pin(proc::die_with_parent(&mut cmd), cpu);
        let spawned = Instant::now();
        let child = cmd.spawn().context("starting envoy")?;
        let mut envoy = Envoy {
            port,
            admin,
            guard: Guard::new("envoy", child),
            log,
            ready: Duration::ZERO,
            first_ok: Duration::ZERO,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = envoy.guard.exited()? {
                bail!(
                    "envoy for {} exited ({status}):\n{}",
                    s.name,
                    envoy.log_text()
                );
            }
            let ready = tollgate_tests::client::get(admin, "/ready").is_ok_and(|r| r.status == 200);
            if ready {
                envoy.ready = spawned.elapsed();
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "envoy for {} not ready after 60 s:\n{}",
                    s.name,
                    envoy.log_text()
                );
            }
            // Fine enough for start-up times of 0.1 to 2 s.
            std::thread::sleep(Duration::from_millis(5));
        }
        envoy.check(s)?;
        envoy.first_ok = spawned.elapsed();
        Ok(envoy)
    }

    /// One request as wrk will send it: a 2xx carrying the scenario's proof
    /// headers, so a misconfigured scenario fails instead of measuring a 401.
    fn check(&self, s: &Scenario) -> Result<()> {
        let mut raw = String::from("GET / HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n");
        for (name, value) in &s.headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");
        let resp = tollgate_tests::client::send_raw(self.port, raw.as_bytes())
            .with_context(|| format!("first request to the {} scenario", s.name))?;
        if !(200..300).contains(&resp.status) {
            bail!(
                "scenario {}: status {} ({}):\n{}",
                s.name,
                resp.status,
                resp.text(),
                self.log_text()
            );
        }
        for h in s.proof {
            if resp.header(h).is_none() {
                bail!(
                    "scenario {}: the response has no {h} header; headers: {:?}",
                    s.name,
                    resp.headers
                );
            }
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.guard.child.id()
    }

    /// Envoy's resident memory now (`VmRSS`), KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// For a JWT scenario, the verified-token cache's hits and misses
    /// (Tollgate's `jwt_cache_hits`/`_misses`, jwt_authn's
    /// `jwt_cache_hit`/`_miss`): a "new token" scenario must miss every
    /// time, a "same token" one hit every time but the first.
    pub fn print_jwt_cache_counters(&self, s: &Scenario) {
        if !s.headers.iter().any(|(_, v)| v.starts_with("Bearer ")) {
            return;
        }
        let Ok(resp) = tollgate_tests::client::get(self.admin, "/stats?filter=jwt_cache") else {
            return;
        };
        let counters: Vec<String> = resp
            .text()
            .lines()
            .filter_map(|l| {
                let (name, value) = l.split_once(": ")?;
                let short = name.rsplit('.').next().unwrap_or(name);
                Some(format!("{short} {value}"))
            })
            .collect();
        let shown = if counters.is_empty() {
            "no cache counters (no cache)".to_string()
        } else {
            counters.join(", ")
        };
        eprintln!("bench: {}: {shown}", s.name);
    }

    pub fn log_text(&self) -> String {
        tail(&self.log)
    }

    /// Lines of Envoy's log that say a wasm VM failed.
    pub fn vm_failures(&self) -> Vec<String> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| VM_FAILURES.iter().any(|f| l.contains(f)))
            .map(str::to_string)
            .collect()
    }

    pub fn alive(&mut self) -> Result<bool> {
        Ok(self.guard.exited()?.is_none())
    }

    /// Load from wrk for `seconds`; Envoy's CPU over exactly that run, and
    /// how busy other processes kept both CPUs meanwhile.
    pub fn measure(
        &self,
        s: &Scenario,
        wrk: &wrk::Wrk,
        seconds: u64,
        cpus: &Cpus,
    ) -> Result<Measurement> {
        let pid = self.pid();
        let before = Snapshot::take(pid, cpus)?;
        let run = wrk.run(self.port, s, seconds)?;
        let after = Snapshot::take(pid, cpus)?;
        Ok(Measurement::between(&before, &after, run))
    }
}
