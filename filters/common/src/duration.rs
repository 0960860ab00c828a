//! Durations as every Tollgate configuration writes them: Envoy's proto3
//! JSON form (`"1s"`, `"0.5s"`, `"3600s"`) plus the units `ms`, `m` and `h`
//! (`"500ms"`, `"1m"`, `"1.5h"`). A bare number is refused: its unit would be
//! a guess. At least 1 ms.

use serde::Deserialize;

const NS_PER_MS: u64 = 1_000_000;
const NS_PER_S: u64 = 1_000_000_000;

/// A positive duration in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "DurationText")]
pub struct Duration {
    pub nanos: u64,
}

impl Duration {
    pub const fn from_secs(secs: u64) -> Duration {
        Duration {
            nanos: secs.saturating_mul(NS_PER_S),
        }
    }

    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.nanos)
    }

    /// Whole seconds, rounded up (for `Retry-After` and shared-data expiry).
    pub fn as_secs_ceil(self) -> u64 {
        self.nanos.div_ceil(NS_PER_S)
    }

    pub fn as_millis(self) -> u64 {
        self.nanos / NS_PER_MS
    }
}

/// Accepts a string, and says what is expected for anything else.
#[derive(Deserialize)]
#[serde(untagged)]
enum DurationText {
    Text(String),
    Other(serde_json::Value),
}

const EXPECTED: &str = "expected a duration string such as \"1s\", \"500ms\", \"1m\", \"1h\"";

impl TryFrom<DurationText> for Duration {
    type Error = String;
    fn try_from(raw: DurationText) -> Result<Self, String> {
        let nanos = match raw {
            DurationText::Text(s) => return parse(&s).map(|nanos| Duration { nanos }),
            DurationText::Other(v) => object_nanos(&v)?,
        };
        if nanos < NS_PER_MS {
            return Err("duration is shorter than 1ms".into());
        }
        Ok(Duration { nanos })
    }
}

/// The longest a request may wait on a dependency (an authorization or
/// rate-limit service): a minute, as a sanity bound on configurations.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// A dependency's timeout: a [`Duration`] of at most [`MAX_TIMEOUT_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Duration")]
pub struct Timeout(pub Duration);

impl TryFrom<Duration> for Timeout {
    type Error = String;
    fn try_from(d: Duration) -> Result<Self, String> {
        if d.as_millis() > MAX_TIMEOUT_MS {
            Err(format!("must be at most {MAX_TIMEOUT_MS}ms"))
        } else {
            Ok(Timeout(d))
        }
    }
}

/// A duration that may also be zero (`"0s"`), for settings where zero
/// means "off" (a cache's time to live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "DurationText")]
pub struct DurationOrZero(pub Duration);

impl TryFrom<DurationText> for DurationOrZero {
    type Error = String;
    fn try_from(raw: DurationText) -> Result<Self, String> {
        match raw {
            DurationText::Text(s) => {
                parse_nanos(&s).map(|nanos| DurationOrZero(Duration { nanos }))
            }
            DurationText::Other(v) => {
                object_nanos(&v).map(|nanos| DurationOrZero(Duration { nanos }))
            }
        }
    }
}

/// `google.protobuf.Duration` as an object, `{"seconds": 300, "nanos": 0}`:
/// the form Envoy's YAML examples write (`cache_duration: {seconds: 300}`)
/// and a YAML-to-JSON conversion of them keeps.
fn object_nanos(v: &serde_json::Value) -> Result<u64, String> {
    let wrong = || format!("{EXPECTED} or {{\"seconds\": N, \"nanos\": N}}, got {v}");
    let o = v.as_object().filter(|o| !o.is_empty()).ok_or_else(wrong)?;
    if o.keys().any(|k| k != "seconds" && k != "nanos") {
        return Err(wrong());
    }
    let field = |k: &str| match o.get(k) {
        None => Ok(0),
        Some(n) => n.as_u64().ok_or_else(wrong),
    };
    let (secs, nanos) = (field("seconds")?, field("nanos")?);
    if nanos >= NS_PER_S {
        return Err(wrong());
    }
    secs.checked_mul(NS_PER_S)
        .and_then(|n| n.checked_add(nanos))
        .ok_or_else(|| format!("duration {v} is too long"))
}

/// Parses `<digits>[.<digits>]<unit>`, unit one of `ms`, `s`, `m`, `h`, into
/// nanoseconds of at least 1 ms.
pub fn parse(s: &str) -> Result<u64, String> {
    let nanos = parse_nanos(s)?;
    if nanos < NS_PER_MS {
        return Err(format!("duration {s:?} is shorter than 1ms"));
    }
    Ok(nanos)
}

/// Like [`parse`], zero included.
fn parse_nanos(s: &str) -> Result<u64, String> {
    let bad = || format!("invalid duration {s:?}: {EXPECTED}");
    let (number, unit) = if let Some(n) = s.strip_suffix("ms") {
        (n, NS_PER_MS)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, NS_PER_S)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60 * NS_PER_S)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600 * NS_PER_S)
    } else {
        return Err(bad());
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(frac)
        || (number.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let too_long = || format!("duration {s:?} is too long");
    let whole: u64 = whole.parse().map_err(|_| too_long())?;
    let mut nanos = whole.checked_mul(unit).ok_or_else(too_long)?;
    // The fraction, digit by digit: only digits that still count at
    // nanosecond precision matter.
    let mut scale = unit;
    for b in frac.bytes() {
        scale /= 10;
        nanos = nanos
            .checked_add(u64::from(b - b'0') * scale)
            .ok_or_else(too_long)?;
    }
    if nanos != 0 && nanos < NS_PER_MS {
        return Err(format!("duration {s:?} is shorter than 1ms"));
    }
    Ok(nanos)
}

#[cfg(test)]
mod tests;
