//! The chart next to the results: one horizontal bar per scenario, Envoy CPU
//! added per request over plain Envoy, Tollgate vs native vs the wasm floor,
//! with the middle half of each scenario's runs and the floor and floor + 2 µs
//! marked. Hand-written SVG: no plotting crate.

use std::fmt::Write;

use super::report::Report;
use super::scenarios::Kind;

const WIDTH: f64 = 920.0;
/// Room for the longest scenario title at about 7.5 px a character.
const CHAR: f64 = 7.5;
const RIGHT: f64 = 70.0;
const TOP: f64 = 100.0;
const ROW: f64 = 26.0;
const BAR: f64 = 16.0;

fn color(kind: Kind) -> &'static str {
    match kind {
        Kind::Tollgate => "#e8710a",
        Kind::Native => "#1a73e8",
        Kind::Floor | Kind::Baseline => "#9aa0a6",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A tick step giving about 6 ticks up to `max`.
fn step(max: f64) -> f64 {
    let raw = max / 6.0;
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow)
}

pub fn chart(report: &Report) -> String {
    let rows: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.kind != Kind::Baseline)
        .collect();
    let floor = report.row("noop").map(|r| r.added_us);
    let top_value = rows
        .iter()
        .map(|r| r.added_range.1.max(r.added_us))
        .chain(floor.map(|f| f + 2.0))
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max);
    let tick = step(top_value * 1.05);
    let max = (top_value * 1.05 / tick).ceil() * tick;
    let longest = rows
        .iter()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(0);
    let left = (40.0 + longest as f64 * CHAR).max(200.0);
    let plot = WIDTH - left - RIGHT;
    let x = |v: f64| left + v.clamp(0.0, max) / max * plot;
    let bottom = TOP + rows.len() as f64 * ROW;
    let height = bottom + 70.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="20" y="28" font-size="17" font-weight="bold">Envoy CPU added per request over plain Envoy (µs, lower is better)</text>"#
    );
    let i = &report.info;
    let _ = writeln!(
        s,
        r##"<text x="20" y="48" fill="#5f6368">{} · Envoy {} --concurrency 1 · {} CPUs, {} · load average {} before</text>"##,
        esc(&i.date),
        esc(&i.envoy_version),
        i.nproc,
        esc(&i.cpu_model),
        esc(&i.load_before)
    );
    let _ = writeln!(
        s,
        r##"<text x="20" y="66" fill="#5f6368">plain Envoy {:.1} µs/request · median of {} round(s) × {} s, whiskers: middle half of the runs</text>"##,
        report.row("plain").map_or(f64::NAN, |r| r.cpu_us),
        i.rounds,
        i.duration
    );
    // Grid and axis labels.
    let mut v = 0.0;
    while v <= max + tick / 2.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{bottom}" stroke="#e8eaed"/><text x="{0:.1}" y="{1}" text-anchor="middle" fill="#5f6368">{2}</text>"##,
            x(v),
            bottom + 18.0,
            v
        );
        v += tick;
    }
    // The floor and the goal line (floor + 2 µs).
    if let Some(f) = floor {
        let marks = [
            (f, "no-op floor ", "end", "4 3"),
            (f + 2.0, " floor + 2 µs", "start", "2 4"),
        ];
        for (value, label, anchor, dash) in marks {
            let _ = writeln!(
                s,
                r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{bottom}" stroke="#202124" stroke-dasharray="{dash}"/><text x="{0:.1}" y="{2}" text-anchor="{anchor}" font-size="11" fill="#202124">{label}</text>"##,
                x(value),
                TOP - 4.0,
                TOP - 8.0
            );
        }
    }
    for (n, r) in rows.iter().enumerate() {
        let y = TOP + n as f64 * ROW + (ROW - BAR) / 2.0;
        let mid = y + BAR / 2.0;
        if r.kind == Kind::Tollgate && n > 0 {
            let _ = writeln!(
                s,
                r##"<line x1="20" y1="{0}" x2="{1}" y2="{0}" stroke="#dadce0"/>"##,
                y - 4.0,
                WIDTH - 20.0
            );
        }
        let weight = if r.kind == Kind::Tollgate {
            "bold"
        } else {
            "normal"
        };
        let _ = writeln!(
            s,
            r#"<text x="{0}" y="{1:.1}" text-anchor="end" font-weight="{weight}">{2}</text>"#,
            left - 8.0,
            mid + 4.5,
            esc(r.title)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{y:.1}" width="{:.1}" height="{BAR}" fill="{}"/>"#,
            x(r.added_us) - left,
            color(r.kind)
        );
        let (lo, hi) = r.added_range;
        if lo.is_finite() && hi.is_finite() && hi > lo {
            let _ = writeln!(
                s,
                r##"<line x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#202124" stroke-width="1.5"/>"##,
                x(lo),
                x(hi)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{:+.1}</text>"#,
            x(r.added_us.max(hi)) + 6.0,
            mid + 4.5,
            r.added_us
        );
    }
    // Legend.
    let ly = bottom + 42.0;
    for (k, (kind, label)) in [
        (Kind::Tollgate, "Tollgate (wasm)"),
        (Kind::Native, "native Envoy filter"),
        (Kind::Floor, "no-op wasm floor"),
    ]
    .iter()
    .enumerate()
    {
        let lx = left + k as f64 * 170.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{:.1}" width="14" height="14" fill="{}"/><text x="{:.1}" y="{ly}">{label}</text>"#,
            ly - 11.5,
            color(*kind),
            lx + 20.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(step(6.0), 1.0);
        assert_eq!(step(40.0), 10.0);
        assert_eq!(step(100.0), 20.0);
        assert_eq!(esc("a<b&c"), "a&lt;b&amp;c");
    }
}
