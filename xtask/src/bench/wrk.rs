//! Running wrk (one thread, fixed connections, pinned) and reading its report.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use super::jwt;
use super::procs::pin;
use super::scenarios::Scenario;
use crate::proc;

/// Connections wrk keeps open (the team's baseline: `-t1 -c50`).
pub const CONNECTIONS: u32 = 50;

pub struct Wrk {
    pub bin: PathBuf,
    pub cpu: Option<usize>,
    /// Where Lua scripts (and the JWT scenarios' tokens) are.
    pub dir: PathBuf,
    /// For each fresh-token scenario, the first token its next run sends:
    /// every run goes on where the last one stopped.
    pub offsets: RefCell<HashMap<&'static str, u64>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WrkRun {
    pub requests: u64,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub non_2xx: u64,
    pub socket_errors: u64,
}

impl WrkRun {
    pub fn to_json(&self) -> Value {
        json!({"requests": self.requests, "rps": self.rps, "p50_us": self.p50_us,
               "p99_us": self.p99_us, "non_2xx": self.non_2xx, "socket_errors": self.socket_errors})
    }
}

impl Wrk {
    pub fn run(&self, port: u16, s: &Scenario, seconds: u64) -> Result<WrkRun> {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
        ]);
        for (name, value) in &s.headers {
            cmd.arg("-H").arg(format!("{name}: {value}"));
        }
        let script = match s.fresh_tokens {
            Some(alg) => Some(jwt::lua_script(&self.dir.join(alg.tokens_file()))),
            None => s.script.clone(),
        };
        if let Some(script) = script {
            let path = self.dir.join(format!("{}.lua", s.name));
            fs::write(&path, script)?;
            cmd.arg("-s").arg(path);
        }
        cmd.arg(format!("http://127.0.0.1:{port}/"))
            .stderr(Stdio::piped());
        let offset = self.offsets.borrow().get(s.name).copied().unwrap_or(0);
        if s.fresh_tokens.is_some() {
            // The script's args[1].
            cmd.arg(offset.to_string());
        }
        pin(&mut cmd, self.cpu);
        let out = proc::output(&mut cmd).with_context(|| format!("wrk on {}", s.name))?;
        let run = parse(&out).with_context(|| format!("reading wrk's report:\n{out}"))?;
        if run.requests == 0 {
            bail!("wrk completed no request on {}:\n{out}", s.name);
        }
        if s.fresh_tokens.is_some() {
            // Requests still in flight when wrk stopped also took a token.
            let next = offset + run.requests + u64::from(CONNECTIONS);
            self.offsets.borrow_mut().insert(s.name, next);
        }
        Ok(run)
    }
}

/// `2.07ms` / `812.00us` / `1.02s` in microseconds.
fn duration_us(text: &str) -> Option<f64> {
    let (num, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    Some(num.parse::<f64>().ok()? * factor)
}

pub fn parse(out: &str) -> Result<WrkRun> {
    let mut run = WrkRun::default();
    let (mut have_requests, mut have_p50, mut have_p99) = (false, false, false);
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => {
                run.p50_us = duration_us(v).context("p50")?;
                have_p50 = true;
            }
            ["99%", v] => {
                run.p99_us = duration_us(v).context("p99")?;
                have_p99 = true;
            }
            [n, "requests", "in", ..] => {
                run.requests = n.parse().context("request count")?;
                have_requests = true;
            }
            ["Requests/sec:", v] => run.rps = v.parse().context("requests/s")?,
            ["Non-2xx", "or", "3xx", "responses:", n] => run.non_2xx = n.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                run.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if !(have_requests && have_p50 && have_p99) {
        bail!("no request count or latency distribution (was --latency passed?)");
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 2s test @ http://127.0.0.1:4000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.89ms  403.21us  12.00ms   90.12%
    Req/Sec    17.41k   512.00    18.00k    75.00%
  Latency Distribution
     50%    2.81ms
     75%    3.01ms
     90%    3.27ms
     99%  812.50us
  34650 requests in 2.00s, 4.59MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  17324.51
Transfer/sec:      2.30MB
";

    #[test]
    fn reads_counts_latencies_and_errors() {
        let run = parse(REPORT).ok();
        let want = WrkRun {
            requests: 34650,
            rps: 17324.51,
            p50_us: 2810.0,
            p99_us: 812.5,
            non_2xx: 7,
            socket_errors: 3,
        };
        assert_eq!(run, Some(want));
    }

    #[test]
    fn refuses_a_report_without_latencies() {
        assert!(parse("  10 requests in 1.00s, 1KB read\nRequests/sec: 10.00\n").is_err());
        assert_eq!(duration_us("1.5s"), Some(1.5e6));
        assert_eq!(duration_us("7"), None);
    }
}
