//! Envoy's `HttpStatus`, for the `status_on_error` of every filter that calls
//! a dependency (ext_authz, the rate-limit service): `{"code": 403}` or the enum
//! name Envoy's JSON uses (`"Forbidden"`, `"ServiceUnavailable"`, ...).
//! 4xx or 5xx only: a failure must never look like a success.

use serde::de::{Error, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStatus {
    code: StatusCode,
}

impl HttpStatus {
    pub fn code(self) -> u16 {
        self.code.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StatusCode(u16);

const NAMES: &[(&str, u16)] = &[
    ("BadRequest", 400),
    ("Unauthorized", 401),
    ("Forbidden", 403),
    ("NotFound", 404),
    ("TooManyRequests", 429),
    ("InternalServerError", 500),
    ("BadGateway", 502),
    ("ServiceUnavailable", 503),
    ("GatewayTimeout", 504),
];

const EXPECTED: &str = "a 4xx or 5xx status such as 503 or \"ServiceUnavailable\"";

struct StatusVisitor;

impl Visitor<'_> for StatusVisitor {
    type Value = StatusCode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<StatusCode, E> {
        match u16::try_from(n) {
            Ok(c @ 400..=599) => Ok(StatusCode(c)),
            _ => Err(E::custom(format!("expected {EXPECTED}, got {n}"))),
        }
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<StatusCode, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::custom(format!("expected {EXPECTED}, got {n}"))),
        }
    }

    fn visit_f64<E: Error>(self, n: f64) -> Result<StatusCode, E> {
        Err(E::custom(format!("expected {EXPECTED}, got {n}")))
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<StatusCode, E> {
        NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, c)| StatusCode(*c))
            .ok_or_else(|| E::custom(format!("expected {EXPECTED}, got {s:?}")))
    }
}

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StatusCode, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}

#[cfg(test)]
mod tests;
