//! `filter_enabled` / `filter_enforced`: Envoy's `RuntimeFractionalPercent`
//! shape, `{"default_value": {"numerator": N, "denominator": "HUNDRED"}}`
//! (`denominator` one of `HUNDRED` (the default), `TEN_THOUSAND`, `MILLION`;
//! `runtime_key` is accepted and ignored: there is no runtime here). A
//! numerator above its denominator is an error (Envoy clamps it silently).

use serde::Deserialize;

pub const MILLION: u32 = 1_000_000;

/// A fraction of requests, in parts per million.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawRuntimeFraction")]
pub struct Fraction {
    pub per_million: u32,
}

impl Fraction {
    pub const ALL: Fraction = Fraction {
        per_million: MILLION,
    };

    /// True for a request whose uniform random draw is `draw`; `draw` is
    /// only needed (and only called) when the fraction is neither 0 nor all.
    pub fn admits(self, draw: impl FnOnce() -> u32) -> bool {
        match self.per_million {
            0 => false,
            MILLION.. => true,
            n => draw() % MILLION < n,
        }
    }
}

impl Default for Fraction {
    fn default() -> Self {
        Fraction::ALL
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntimeFraction {
    default_value: FractionalPercent,
    #[allow(dead_code)] // accepted for configs copied from Envoy
    runtime_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FractionalPercent {
    #[serde(default)]
    numerator: u32,
    #[serde(default)]
    denominator: Denominator,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Denominator {
    #[default]
    Hundred,
    TenThousand,
    Million,
}

impl TryFrom<RawRuntimeFraction> for Fraction {
    type Error = String;
    fn try_from(raw: RawRuntimeFraction) -> Result<Self, String> {
        let FractionalPercent {
            numerator,
            denominator,
        } = raw.default_value;
        let (of, scale) = match denominator {
            Denominator::Hundred => (100, 10_000),
            Denominator::TenThousand => (10_000, 100),
            Denominator::Million => (MILLION, 1),
        };
        if numerator > of {
            return Err(format!(
                "numerator {numerator} is above the denominator ({of})"
            ));
        }
        Ok(Fraction {
            per_million: numerator.saturating_mul(scale),
        })
    }
}

#[cfg(test)]
mod tests;
