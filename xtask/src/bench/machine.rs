//! The machine a bench ran on, and which CPUs it pins to.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::options::Options;
use super::wrk::CONNECTIONS;
use crate::proc;

pub struct Info {
    /// UTC, `2026-11-25 09:30`.
    pub date: String,
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub envoy_version: String,
    pub load_before: String,
    pub load_after: String,
    pub rounds: u64,
    pub duration: u64,
    pub pinning: String,
    pub elapsed_s: f64,
}

/// (Envoy's CPU, the load's CPU): the first two CPUs we may run on; both
/// None with fewer than two.
pub fn cpus() -> (Option<usize>, Option<usize>) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity
    // writes at most size_of::<cpu_set_t>() bytes into it.
    let allowed: Vec<usize> = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (None, None);
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    };
    match allowed.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

impl Info {
    pub fn collect(
        envoy: &Path,
        opts: &Options,
        envoy_cpu: Option<usize>,
        load_cpu: Option<usize>,
    ) -> Result<Info> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let version =
            proc::output(Command::new(envoy).arg("--version")).context("envoy --version")?;
        // "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
        let envoy_version = version
            .split_whitespace()
            .last()
            .and_then(|v| v.split('/').nth(1))
            .unwrap_or(version.trim())
            .to_string();
        let pinning = match (envoy_cpu, load_cpu) {
            (Some(e), Some(l)) => format!("Envoy on CPU {e}; wrk and nginx on CPU {l}"),
            _ => "none (fewer than 2 CPUs)".into(),
        };
        Ok(Info {
            date: utc_now(),
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            envoy_version,
            load_before: load_average(),
            load_after: String::new(),
            rounds: opts.rounds,
            duration: opts.duration,
            pinning,
            elapsed_s: 0.0,
        })
    }

    pub fn finish(&mut self, elapsed_s: f64) {
        self.load_after = load_average();
        self.elapsed_s = elapsed_s;
    }

    pub fn method(&self) -> String {
        format!(
            "Envoy --concurrency 1; wrk -t1 -c{CONNECTIONS} -d{}s --latency; nginx upstream; {}; \
             {} round(s), scenarios interleaved, medians",
            self.duration, self.pinning, self.rounds
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "date": self.date, "nproc": self.nproc, "cpu_model": self.cpu_model,
            "kernel": self.kernel, "envoy_version": self.envoy_version,
            "load_average_before": self.load_before, "load_average_after": self.load_after,
            "rounds": self.rounds, "duration_s": self.duration, "connections": CONNECTIONS,
            "pinning": self.pinning, "measured_s": (self.elapsed_s * 10.0).round() / 10.0,
            "method": self.method()
        })
    }
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        t / 3600,
        t % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
    }
}
