//! `cargo xtask bench [--quick] [--scale] [--rounds N] [--duration S] [--starts N]
//! [--only SCENARIO...] [--out DIR] [--compare NAME=DIR...]`

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::scenarios::Scenario;

pub struct Options {
    pub rounds: u64,
    /// Seconds of load per scenario per round.
    pub duration: u64,
    /// Seconds of unmeasured load when each Envoy starts.
    pub warmup: u64,
    pub quick: bool,
    /// Scenario names; empty means all.
    pub only: Vec<String>,
    /// With the scale scenarios (configurations of growing size).
    pub scale: bool,
    /// Envoy starts per scenario timed for the start-up table, besides
    /// the one whose Envoy takes the load.
    pub starts: u64,
    /// Where results go (default `bench/` in the repository).
    pub out: Option<PathBuf>,
    /// Other builds of the modules to measure next to `dist/`'s: each
    /// Tollgate scenario again as `<scenario>@NAME` with DIR's modules.
    pub compare: Vec<(String, PathBuf)>,
}

/// Sized so that the whole bench, build included, stays well under 10
/// minutes on a 2-core machine with a dozen scenarios: many short
/// interleaved runs ride out a shared machine's bursts better than a few
/// long ones (1 s is about 100 clock ticks of Envoy CPU).
const ROUNDS: u64 = 10;
const DURATION: u64 = 1;
/// Start-up is one sample per Envoy start: a few more per scenario give a
/// median (about a second each).
const STARTS: u64 = 2;

/// Always measured: every other figure is relative to these.
const REFERENCES: &[&str] = &["plain", "noop"];

impl Options {
    pub fn parse(args: &[OsString]) -> Result<Options> {
        let mut opts = Options {
            rounds: ROUNDS,
            duration: DURATION,
            warmup: 1,
            quick: false,
            only: vec![],
            scale: false,
            starts: STARTS,
            out: None,
            compare: vec![],
        };
        let (mut rounds, mut duration, mut starts) = (None, None, None);
        let mut args = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .peekable();
        while let Some(arg) = args.next() {
            let mut value =
                |name: &str| args.next().with_context(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--quick" => opts.quick = true,
                "--scale" => opts.scale = true,
                "--starts" => {
                    let text = value("--starts")?;
                    let n = text.parse::<u64>();
                    starts =
                        Some(n.with_context(|| {
                            format!("--starts takes a whole number, not `{text}`")
                        })?);
                }
                "--rounds" => rounds = Some(number(&value("--rounds")?, "--rounds")?),
                "--duration" => duration = Some(number(&value("--duration")?, "--duration")?),
                "--out" => opts.out = Some(PathBuf::from(value("--out")?)),
                "--compare" => {
                    while let Some(spec) = args.next_if(|a| !a.starts_with("--")) {
                        let Some((name, dir)) = spec.split_once('=') else {
                            bail!("--compare takes NAME=DIR, not `{spec}`");
                        };
                        opts.compare.push((name.to_string(), PathBuf::from(dir)));
                    }
                    if opts.compare.is_empty() {
                        bail!("--compare needs NAME=DIR (a directory of .wasm modules)");
                    }
                }
                "--only" => {
                    while let Some(name) = args.next_if(|a| !a.starts_with("--")) {
                        opts.only.push(name);
                    }
                    if opts.only.is_empty() {
                        bail!("--only needs scenario names");
                    }
                }
                other => bail!("unexpected argument `{other}` for bench"),
            }
        }
        if opts.quick {
            opts.rounds = 1;
            opts.duration = 2;
            opts.starts = 0;
        }
        opts.starts = starts.unwrap_or(opts.starts);
        opts.rounds = rounds.unwrap_or(opts.rounds);
        opts.duration = duration.unwrap_or(opts.duration);
        Ok(opts)
    }

    /// The scenarios to run, in table order: all, or `--only` plus the
    /// references (plain Envoy and the floor).
    pub fn select<'a>(&self, all: &'a [Scenario]) -> Result<Vec<&'a Scenario>> {
        for name in &self.only {
            if !all.iter().any(|s| s.name == name) {
                let names: Vec<&str> = all.iter().map(|s| s.name).collect();
                bail!("no scenario `{name}`; scenarios: {}", names.join(" "));
            }
        }
        Ok(all
            .iter()
            .filter(|s| s.chosen(&self.only, self.scale) || REFERENCES.contains(&s.name))
            .collect())
    }
}

fn number(text: &str, flag: &str) -> Result<u64> {
    match text.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => bail!("{flag} takes a whole number of at least 1, not `{text}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        Options::parse(&args)
    }

    #[test]
    fn quick_is_one_short_round_unless_told_otherwise() {
        let o = parse(&["--quick"]).ok();
        assert_eq!(o.as_ref().map(|o| (o.rounds, o.duration)), Some((1, 2)));
        let o = parse(&["--quick", "--rounds", "2", "--out", "/tmp/x"]).ok();
        assert_eq!(o.as_ref().map(|o| o.rounds), Some(2));
        assert_eq!(o.and_then(|o| o.out), Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn only_takes_names_up_to_the_next_flag_and_keeps_the_references() {
        let o = parse(&["--only", "headers", "chain", "--duration", "4"]);
        let o = o.ok();
        assert_eq!(
            o.as_ref().map(|o| o.only.clone()),
            Some(vec!["headers".into(), "chain".into()])
        );
        assert_eq!(o.as_ref().map(|o| o.duration), Some(4));
        let all = super::super::scenarios::all();
        let chosen: Vec<&str> = o
            .map(|o| o.select(&all).ok().unwrap_or_default())
            .unwrap_or_default()
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(chosen, vec!["plain", "noop", "headers", "chain"]);
    }

    #[test]
    fn refuses_bad_values_and_unknown_names() {
        assert!(parse(&["--rounds", "0"]).is_err());
        assert!(parse(&["--duration"]).is_err());
        assert!(parse(&["--only"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["--compare"]).is_err());
        assert!(parse(&["--compare", "opt3"]).is_err());
        assert_eq!(parse(&["--starts", "0"]).ok().map(|o| o.starts), Some(0));
        assert!(parse(&["--starts", "-1"]).is_err());
        let o = parse(&["--compare", "a=/x", "b=/y", "--quick"]).ok();
        assert_eq!(o.map(|o| o.compare.len()), Some(2));
        let o = parse(&["--only", "nope"]).ok();
        assert!(o.is_some_and(|o| o.select(&super::super::scenarios::all()).is_err()));
    }
}
