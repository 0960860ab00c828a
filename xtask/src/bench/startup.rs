//! Start-up and memory per scenario (time to `/ready` and to the first 2xx,
//! Envoy's resident memory after start and after warm-up), and the scale
//! table that holds each family's rows against its smallest N.

use serde_json::{json, Value};

use super::procs::Envoy;
use super::report::{median, Report};
use super::scenarios::Kind;

/// One scenario's start-up samples: one per Envoy start.
#[derive(Clone, Debug, Default)]
pub struct Startup {
    pub ready_ms: Vec<f64>,
    pub first_ok_ms: Vec<f64>,
    pub rss_start_kib: Vec<u64>,
    /// After the warm-up of the Envoy that takes the load.
    pub rss_warm_kib: Option<u64>,
}

impl Startup {
    pub fn add(&mut self, e: &Envoy) {
        self.ready_ms.push(e.ready.as_secs_f64() * 1e3);
        self.first_ok_ms.push(e.first_ok.as_secs_f64() * 1e3);
        self.rss_start_kib.extend(e.rss_kib());
    }

    pub fn ready(&self) -> f64 {
        median(self.ready_ms.clone())
    }

    pub fn first_ok(&self) -> f64 {
        median(self.first_ok_ms.clone())
    }

    pub fn rss_start_mib(&self) -> f64 {
        median(
            self.rss_start_kib
                .iter()
                .map(|k| *k as f64 / 1024.0)
                .collect(),
        )
    }

    pub fn rss_warm_mib(&self) -> Option<f64> {
        self.rss_warm_kib.map(|k| k as f64 / 1024.0)
    }

    pub fn to_json(&self) -> Value {
        json!({"ready_ms": self.ready_ms, "first_ok_ms": self.first_ok_ms,
               "rss_start_kib": self.rss_start_kib, "rss_warm_kib": self.rss_warm_kib})
    }
}

impl Report {
    fn startup_of(&self, name: &str) -> Option<&Startup> {
        let i = self.rows.iter().position(|r| r.name == name)?;
        self.startup.get(i)
    }

    /// Start-up overhead over plain Envoy's (ms), and that as a multiple
    /// of the no-op module's.
    fn overhead(&self, st: &Startup) -> (f64, Option<f64>) {
        let plain = self.startup_of("plain").map_or(f64::NAN, Startup::ready);
        let floor = self.startup_of("noop").map(|s| s.ready() - plain);
        let over = st.ready() - plain;
        (over, floor.filter(|f| *f > 1.0).map(|f| over / f))
    }

    pub fn startup_markdown(&self) -> String {
        let mut md = String::from(
            "\n## Start-up and memory\n\n`--concurrency 1`. *ready*: from starting Envoy to its \
             admin `/ready` answering 200; *first 2xx*: to the first request through the listener \
             answered 2xx; medians over the starts (*starts*). *over plain*: ready minus plain \
             Envoy's; *x noop*: that over the no-op module's. *RSS*: Envoy's resident memory \
             after start, and after the warm-up load.\n\n\
             | scenario | starts | ready ms | first 2xx ms | over plain ms | x noop | RSS start MiB | RSS warm MiB |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        for (r, st) in self.rows.iter().zip(&self.startup) {
            let (over, x) = self.overhead(st);
            let reference = r.kind == Kind::Baseline;
            md.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} | {} | {} | {:.1} | {} |\n",
                r.name,
                st.ready_ms.len(),
                st.ready(),
                st.first_ok(),
                if reference {
                    "-".into()
                } else {
                    format!("{over:+.0}")
                },
                match x {
                    Some(x) if !reference => format!("{x:.2}"),
                    _ => "-".into(),
                },
                st.rss_start_mib(),
                st.rss_warm_mib().map_or("-".into(), |m| format!("{m:.1}")),
            ));
        }
        md
    }

    /// Per family of scale scenarios: each N's added CPU (Tollgate, and the
    /// native twin's), the ratio to the family's smallest N, start-up.
    pub fn scale_markdown(&self) -> String {
        let mut families: Vec<&'static str> = Vec::new();
        for f in self.rows.iter().filter_map(|r| r.family.map(|f| f.0)) {
            if !families.contains(&f) {
                families.push(f);
            }
        }
        if families.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "\n## Scale\n\nThe same request against configurations of growing size (the credential \
             or rule the request needs is the last). *over smallest*: added CPU minus the family's \
             smallest N's (a difference: near-zero costs make ratios meaningless). *native*: the native twin's added CPU, where Envoy has one.\n\n\
             | family | N | added us | over smallest us | native added us | vs native | ready ms | native ready ms | RSS warm MiB |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for family in families {
            let rows: Vec<_> = self
                .rows
                .iter()
                .zip(&self.startup)
                .filter(|(r, _)| r.kind == Kind::Tollgate && r.family.map(|f| f.0) == Some(family))
                .collect();
            let smallest = rows.first().map(|(r, _)| r.added_us);
            for (r, st) in rows {
                let n = r.family.map_or(0, |f| f.1);
                let native = r.native.and_then(|n| self.row(n));
                let native_st = r.native.and_then(|n| self.startup_of(n));
                md.push_str(&format!(
                    "| {family} | {n} | {:+.1} | {} | {} | {} | {:.0} | {} | {} |\n",
                    r.added_us,
                    smallest.map_or("-".into(), |s| format!("{:+.1}", r.added_us - s)),
                    native.map_or("-".into(), |n| format!("{:+.1}", n.added_us)),
                    match self.vs_native(r) {
                        Some((Some(x), _)) => format!("{x:.1}x"),
                        Some((None, d)) => format!("{d:+.1} us"),
                        None => "-".into(),
                    },
                    st.ready(),
                    native_st.map_or("-".into(), |s| format!("{:.0}", s.ready())),
                    st.rss_warm_mib().map_or("-".into(), |m| format!("{m:.1}")),
                ));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_the_samples() {
        let st = Startup {
            ready_ms: vec![300.0, 100.0, 200.0],
            first_ok_ms: vec![310.0, 110.0, 210.0],
            rss_start_kib: vec![2048, 4096, 3072],
            rss_warm_kib: Some(5120),
        };
        assert_eq!(st.ready(), 200.0);
        assert_eq!(st.first_ok(), 210.0);
        assert_eq!(st.rss_start_mib(), 3.0);
        assert_eq!(st.rss_warm_mib(), Some(5.0));
    }
}
