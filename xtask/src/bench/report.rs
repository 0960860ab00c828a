//! Medians over rounds, the figures derived from them, and the terminal
//! table (`files.rs` writes the same as Markdown and JSON).

use super::machine::Info;
use super::rounds::QUIET;
use super::scenarios::{Goal, Kind, Scenario};
use super::startup::Startup;
use super::wrk::WrkRun;
use crate::build::Module;

pub struct Sample {
    pub round: u64,
    pub run: WrkRun,
    /// Envoy CPU per request, µs.
    pub cpu_us: f64,
    /// Share of Envoy's CPU other processes used during the run.
    pub others: Option<f64>,
}

pub struct Row {
    pub name: &'static str,
    pub family: Option<(&'static str, usize)>,
    pub title: &'static str,
    pub kind: Kind,
    pub native: Option<&'static str>,
    pub goal: Option<Goal>,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub cpu_us: f64,
    /// Median CPU per request minus plain Envoy's.
    pub added_us: f64,
    /// First and third quartile of the runs used, minus plain Envoy's median.
    pub added_range: (f64, f64),
    /// Median CPU per request minus the no-op floor's.
    pub over_floor_us: f64,
    /// Rounds whose runs the medians use (see [`used`]).
    pub used_rounds: Vec<u64>,
    pub samples: Vec<Sample>,
}

pub struct Report {
    pub rows: Vec<Row>,
    /// Beside `rows`, one each.
    pub startup: Vec<Startup>,
    pub info: Info,
    /// (module, bytes in dist/, bytes before wasm-opt)
    pub modules: Vec<(String, u64, u64)>,
}

pub(super) fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

/// The `q` quantile, interpolating linearly between neighbours; NaN if empty.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let at = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (i, frac) = (at.floor() as usize, at.fract());
    let next = v.get(i + 1).copied().unwrap_or(v[i]);
    v[i] + (next - v[i]) * frac
}

/// The runs a scenario's figures use: the quiet ones (other processes took
/// at most [`QUIET`] of Envoy's CPU), or the quieter half when none was.
/// Contention only ever adds CPU per request, so noisy runs are left out
/// rather than averaged in.
fn used(samples: &[Sample]) -> Vec<&Sample> {
    let others = |s: &Sample| s.others.unwrap_or(0.0);
    let quiet: Vec<&Sample> = samples.iter().filter(|s| others(s) <= QUIET).collect();
    if !quiet.is_empty() {
        return quiet;
    }
    let mut all: Vec<&Sample> = samples.iter().collect();
    all.sort_by(|a, b| others(a).total_cmp(&others(b)));
    all.truncate(samples.len().div_ceil(2));
    all
}

/// Below this a native filter's added CPU is noise: no ratio to it.
const NATIVE_NOISE_US: f64 = 0.5;

impl Report {
    pub fn new(
        chosen: &[&Scenario],
        samples: Vec<Vec<Sample>>,
        startup: Vec<Startup>,
        info: Info,
        modules: &[Module],
    ) -> Report {
        let medians = |own: &[Sample]| {
            let u = used(own);
            let m = |f: &dyn Fn(&Sample) -> f64| median(u.iter().map(|x| f(x)).collect());
            let cpu: Vec<f64> = u.iter().map(|x| x.cpu_us).collect();
            let (lo, hi) = (quantile(cpu.clone(), 0.25), quantile(cpu, 0.75));
            let rounds: Vec<u64> = u.iter().map(|x| x.round).collect();
            (
                m(&|x| x.run.rps),
                m(&|x| x.run.p50_us),
                m(&|x| x.run.p99_us),
                m(&|x| x.cpu_us),
                (lo, hi),
                rounds,
            )
        };
        let reference = |name: &str| {
            let i = chosen.iter().position(|s| s.name == name)?;
            Some(medians(&samples[i]).3)
        };
        let (plain, floor) = (
            reference("plain").unwrap_or(f64::NAN),
            reference("noop").unwrap_or(f64::NAN),
        );
        let rows = chosen
            .iter()
            .zip(samples)
            .map(|(s, own)| {
                let (rps, p50_us, p99_us, cpu_us, (lo, hi), used_rounds) = medians(&own);
                Row {
                    name: s.name,
                    family: s.family,
                    title: s.title,
                    kind: s.kind,
                    native: s.native,
                    goal: s.goal,
                    rps,
                    p50_us,
                    p99_us,
                    cpu_us,
                    added_us: cpu_us - plain,
                    added_range: (lo - plain, hi - plain),
                    over_floor_us: cpu_us - floor,
                    used_rounds,
                    samples: own,
                }
            })
            .collect();
        let modules = modules
            .iter()
            .map(|m| {
                (
                    m.name.clone(),
                    m.opt_size.unwrap_or(m.built_size),
                    m.built_size,
                )
            })
            .collect();
        Report {
            rows,
            startup,
            info,
            modules,
        }
    }

    pub fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    pub fn floor_added(&self) -> Option<f64> {
        self.row("noop")
            .map(|r| r.added_us)
            .filter(|a| *a > NATIVE_NOISE_US)
    }

    pub fn x_floor(&self, row: &Row) -> Option<f64> {
        (row.kind != Kind::Baseline).then_some(())?;
        Some(row.added_us / self.floor_added()?)
    }

    /// `×3.1` against the native equivalent's added CPU, or `+8.0 us` when
    /// the native filter adds too little to divide by.
    pub fn vs_native(&self, row: &Row) -> Option<(Option<f64>, f64)> {
        let native = self.row(row.native?)?;
        let ratio = (native.added_us >= NATIVE_NOISE_US).then(|| row.added_us / native.added_us);
        Some((ratio, row.added_us - native.added_us))
    }

    /// "met" / "missed by 3.2 us" against the scenario's goal.
    pub fn goal_status(&self, row: &Row) -> Option<String> {
        let (limit, actual, unit) = match row.goal? {
            Goal::OverFloor(us) => (us, row.over_floor_us, "us"),
            Goal::TimesNative(x) => (x, self.vs_native(row)?.0?, "x"),
            Goal::TimesFloor(x) => (x, self.x_floor(row)?, "x"),
        };
        let goal = match row.goal? {
            Goal::OverFloor(us) => format!("floor+{us}"),
            Goal::TimesNative(x) => format!("{x}x native"),
            Goal::TimesFloor(x) => format!("{x}x floor"),
        };
        Some(if actual <= limit {
            format!("{goal}: met")
        } else {
            format!("{goal}: missed by {:.1} {unit}", actual - limit)
        })
    }

    pub(super) fn cells(&self, row: &Row) -> Vec<String> {
        let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "-".into(), f);
        let reference = row.kind == Kind::Baseline;
        vec![
            row.name.to_string(),
            format!("{:.0}", row.rps),
            format!("{:.0}", row.p50_us),
            format!("{:.0}", row.p99_us),
            format!("{:.1}", row.cpu_us),
            format!("{}/{}", row.used_rounds.len(), row.samples.len()),
            if reference {
                "-".into()
            } else {
                format!("{:+.1}", row.added_us)
            },
            if reference {
                "-".into()
            } else {
                format!("{:.1}-{:.1}", row.added_range.0, row.added_range.1)
            },
            if matches!(row.kind, Kind::Tollgate | Kind::Floor) && row.name != "noop" {
                format!("{:+.1}", row.over_floor_us)
            } else {
                "-".into()
            },
            opt(self.x_floor(row), &|x| format!("{x:.2}")),
            match self.vs_native(row) {
                Some((Some(x), _)) => format!("{x:.1}x"),
                Some((None, d)) => format!("{d:+.1} us"),
                None => "-".into(),
            },
            self.goal_status(row).unwrap_or_else(|| "-".into()),
        ]
    }

    pub(super) const HEADER: [&'static str; 12] = [
        "scenario",
        "req/s",
        "p50 us",
        "p99 us",
        "CPU us/req",
        "runs",
        "added us",
        "added IQR",
        "over floor us",
        "x floor",
        "vs native",
        "goal",
    ];

    pub fn table(&self) -> String {
        let rows: Vec<Vec<String>> = std::iter::once(Self::HEADER.map(String::from).to_vec())
            .chain(self.rows.iter().map(|r| self.cells(r)))
            .collect();
        let widths: Vec<usize> = (0..Self::HEADER.len())
            .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::from("\n");
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, w))| {
                    if i == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out.push_str(&format!(
            "\n{}\n{}\n{}\n",
            self.info.method(),
            self.machine_line(),
            self.interference()
        ));
        out
    }

    /// "other processes used 1.2% of the busier of the two bench CPUs during the median run (worst 9.8%)".
    pub fn interference(&self) -> String {
        let all: Vec<f64> = self
            .rows
            .iter()
            .flat_map(|r| &r.samples)
            .filter_map(|s| s.others)
            .collect();
        if all.is_empty() {
            return "Envoy's CPU not pinned: other processes' share unknown".into();
        }
        let worst = all.iter().copied().fold(0.0, f64::max);
        format!(
            "other processes used {:.1}% of the busier of the two bench CPUs during the median run (worst {:.1}%)",
            median(all) * 100.0,
            worst * 100.0
        )
    }

    pub(super) fn machine_line(&self) -> String {
        let i = &self.info;
        format!(
            "{}; {} CPUs, {}; Linux {}; Envoy {}; load average {} before, {} after",
            i.date, i.nproc, i.cpu_model, i.kernel, i.envoy_version, i.load_before, i.load_after
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
        assert_eq!(quantile(vec![1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        assert_eq!(quantile(vec![4.0, 1.0], 0.75), 3.25);
    }

    #[test]
    fn noisy_runs_are_left_out() {
        let s = |round, others| Sample {
            round,
            run: WrkRun::default(),
            cpu_us: 1.0,
            others: Some(others),
        };
        let rounds = |v: Vec<&Sample>| v.iter().map(|s| s.round).collect::<Vec<_>>();
        assert_eq!(
            rounds(used(&[s(0, 0.01), s(1, 0.3), s(2, 0.04)])),
            vec![0, 2]
        );
        assert_eq!(rounds(used(&[s(0, 0.5), s(1, 0.3), s(2, 0.4)])), vec![1, 2]);
    }
}
