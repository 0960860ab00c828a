//! The measured rounds: every scenario once per round, in a rotated order,
//! and a run taken again when other processes used Envoy's CPU meanwhile.

use anyhow::{bail, Result};

use super::cputime::{self, Cpus, Measurement};
use super::options::Options;
use super::procs::Envoy;
use super::report::Sample;
use super::scenarios::Scenario;
use super::wrk::Wrk;

/// A run during which other processes used more than this share of a CPU
/// (see [`Measurement::others`]) is taken again (their cache and scheduler traffic inflate Envoy's
/// CPU per request), keeping the quietest attempt; the report leaves such
/// runs out of its medians when quiet ones exist.
pub const QUIET: f64 = 0.15;
/// Attempts per run at most.
const ATTEMPTS: usize = 3;

pub fn run(
    chosen: &[&Scenario],
    envoys: &mut [Envoy],
    wrk: &Wrk,
    cpus: &Cpus,
    opts: &Options,
) -> Result<Vec<Vec<Sample>>> {
    let ticks = cputime::clock_ticks_per_second();
    let n = chosen.len();
    // Repeats are capped at a quarter of the planned runs, so a busy machine
    // makes the bench at most 1.25 times as long (none in --quick).
    let mut repeats_left = if opts.quick {
        0
    } else {
        n * opts.rounds as usize / 4
    };
    let mut samples: Vec<Vec<Sample>> = chosen.iter().map(|_| Vec::new()).collect();
    for round in 0..opts.rounds {
        for k in 0..n {
            let i = (k + round as usize) % n;
            let (s, e) = (chosen[i], &mut envoys[i]);
            let mut best: Option<Measurement> = None;
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    if repeats_left == 0 {
                        break;
                    }
                    repeats_left -= 1;
                }
                let m = e.measure(s, wrk, opts.duration, cpus)?;
                check(s, e, &m)?;
                let others = m.others.unwrap_or(0.0);
                if best
                    .as_ref()
                    .is_none_or(|b| others < b.others.unwrap_or(0.0))
                {
                    best = Some(m);
                }
                if others <= QUIET {
                    break;
                }
            }
            let Some(m) = best else { continue };
            let sample = Sample {
                round,
                cpu_us: m.envoy_ticks as f64 / ticks * 1e6 / m.run.requests as f64,
                others: m.others,
                run: m.run,
            };
            eprintln!(
                "round {}/{} {:<18} {:>6.1} us/request {:>7.0} req/s  p50 {:>5.0} us  p99 {:>6.0} us  others {}",
                round + 1,
                opts.rounds,
                s.name,
                sample.cpu_us,
                sample.run.rps,
                sample.run.p50_us,
                sample.run.p99_us,
                sample.others.map_or_else(|| "-".into(), |o| format!("{:.1}%", o * 100.0)),
            );
            samples[i].push(sample);
        }
    }
    Ok(samples)
}

fn check(s: &Scenario, e: &mut Envoy, m: &Measurement) -> Result<()> {
    if !e.alive()? {
        bail!(
            "envoy for {} died during its run:\n{}",
            s.name,
            e.log_text()
        );
    }
    if m.run.non_2xx > 0 {
        bail!(
            "{}: {} of {} responses were not 2xx: the scenario is misconfigured",
            s.name,
            m.run.non_2xx,
            m.run.requests
        );
    }
    if m.run.socket_errors > 0 {
        eprintln!("warning: {}: {} socket errors", s.name, m.run.socket_errors);
    }
    Ok(())
}
