//! Reading CPU time from /proc: a process's (all its threads) and a CPU's.

use std::fs;

use anyhow::{Context, Result};

use super::wrk::WrkRun;

pub struct Measurement {
    pub run: WrkRun,
    pub envoy_ticks: u64,
    /// The larger share of either CPU that processes other than Envoy,
    /// nginx and wrk used during the run (None when nothing is pinned):
    /// on Envoy's CPU they evict its caches, on the load's CPU they slow the
    /// load, and a less saturated Envoy spends more CPU per request.
    pub others: Option<f64>,
}

/// Where the bench's processes run.
pub struct Cpus {
    pub envoy: Option<usize>,
    pub load: Option<usize>,
    pub upstream_pid: u32,
}

/// CPU times read just before or after a run.
pub struct Snapshot {
    envoy: u64,
    envoy_cpu: Option<(u64, u64)>,
    load_cpu: Option<(u64, u64)>,
    /// nginx, plus the children xtask reaped (each wrk run).
    load: u64,
}

impl Snapshot {
    pub fn take(envoy_pid: u32, cpus: &Cpus) -> Result<Snapshot> {
        let envoy =
            pid_ticks(envoy_pid).with_context(|| format!("reading /proc/{envoy_pid}/stat"))?;
        let load = pid_ticks(cpus.upstream_pid).unwrap_or(0) + reaped_children_ticks().unwrap_or(0);
        Ok(Snapshot {
            envoy,
            envoy_cpu: cpu_busy(cpus.envoy),
            load_cpu: cpu_busy(cpus.load),
            load,
        })
    }
}

impl Measurement {
    pub fn between(before: &Snapshot, after: &Snapshot, run: WrkRun) -> Measurement {
        let envoy_ticks = after.envoy.saturating_sub(before.envoy);
        let load_ticks = after.load.saturating_sub(before.load);
        let share = |b: Option<(u64, u64)>, a: Option<(u64, u64)>, ours: u64| {
            let ((b0, t0), (b1, t1)) = (b?, a?);
            (t1 > t0).then(|| b1.saturating_sub(b0).saturating_sub(ours) as f64 / (t1 - t0) as f64)
        };
        let on_envoy = share(before.envoy_cpu, after.envoy_cpu, envoy_ticks);
        let on_load = share(before.load_cpu, after.load_cpu, load_ticks);
        let others = match (on_envoy, on_load) {
            (Some(e), Some(l)) => Some(e.max(l)),
            (e, l) => e.or(l),
        };
        Measurement {
            run,
            envoy_ticks,
            others,
        }
    }
}

/// utime + stime of a process (all its threads).
fn pid_ticks(pid: u32) -> Option<u64> {
    parse_stat_cpu(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// cutime + cstime of xtask: the CPU of the children it has waited for.
fn reaped_children_ticks() -> Option<u64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

/// (busy, total) clock ticks of one CPU from `/proc/stat`.
fn cpu_busy(cpu: Option<usize>) -> Option<(u64, u64)> {
    parse_cpu_line(&fs::read_to_string("/proc/stat").ok()?, cpu?)
}

/// `cpuN user nice system idle iowait irq softirq steal ...`: busy is all
/// but idle and iowait (guest time is already counted in user).
pub fn parse_cpu_line(stat: &str, cpu: usize) -> Option<(u64, u64)> {
    let tag = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(tag.as_str()))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = v.iter().sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle, total))
}

/// utime (field 14) + stime (field 15) of `/proc/<pid>/stat`. The command
/// name (field 2) may hold spaces and parentheses: count after the last `)`.
pub fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): field n is fields[n - 3].
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

pub fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_counts_after_the_command_name() {
        let stat = "4242 (envoy (x) y) S 1 4242 4242 0 -1 4194560 9 0 0 0 1234 567 0 0 20 0 12 0";
        assert_eq!(parse_stat_cpu(stat), Some(1801));
        assert_eq!(parse_stat_cpu("garbage"), None);
    }

    #[test]
    fn cpu_line_busy_and_total() {
        let stat =
            "cpu  9 0 9 9 0 0 0 0 0 0\ncpu0 10 1 5 80 4 0 2 0 0 0\ncpu1 1 0 1 1 0 0 0 0 0 0\n";
        assert_eq!(parse_cpu_line(stat, 0), Some((18, 102)));
        assert_eq!(parse_cpu_line(stat, 7), None);
    }
}
