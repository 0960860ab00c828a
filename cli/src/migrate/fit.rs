//! Fitting a translated configuration to what Tollgate's parser takes:
//! every field the parser refuses as unknown is taken out and reported with
//! the parser's own words, so what Tollgate accepts is never restated here.

use super::Report;
use crate::module::Module;
use serde_json::Value;

/// Takes out unknown fields until `config` loads; Err with the parser's
/// line when something else is wrong.
pub fn fit(
    module: Module,
    config: &mut Value,
    filter: &str,
    report: &mut Report,
) -> Result<(), String> {
    // Each round removes one field: a configuration has far fewer.
    for _ in 0..1000 {
        let bytes = config.to_string().into_bytes();
        let Some(e) = module.error(&bytes) else {
            return Ok(());
        };
        let unknown = e
            .reason
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .filter(|name| e.field.ends_with(name));
        match unknown {
            Some(_) if remove(config, &e.field) => {
                report.note(
                    filter,
                    &e.field,
                    "not supported by Tollgate's filter, left out",
                );
            }
            _ => return Err(tollgate_common::config::refusal_line(module.name(), &e)),
        }
    }
    Err("too many unsupported fields".to_string())
}

/// Removes the value at a parser field path (`a.b[0].c`).
fn remove(config: &mut Value, path: &str) -> bool {
    let mut steps: Vec<Step> = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            match index.trim_end_matches(']').parse() {
                Ok(i) => steps.push(Step::Index(i)),
                Err(_) => return false,
            }
        }
    }
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut at = config;
    for step in parents {
        let next = match step {
            Step::Key(k) => at.get_mut(k.as_str()),
            Step::Index(i) => at.get_mut(*i),
        };
        match next {
            Some(v) => at = v,
            None => return false,
        }
    }
    match (last, at) {
        (Step::Key(k), Value::Object(o)) => o.remove(k.as_str()).is_some(),
        _ => false,
    }
}

enum Step {
    Key(String),
    Index(usize),
}
