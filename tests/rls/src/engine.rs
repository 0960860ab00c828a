//! One `ShouldRateLimit` decision, the way Kuadrant's Limitador server makes
//! it, plus the per-descriptor `statuses` Limitador leaves empty.
//!
//! Limitador's mapping: the request's `domain` is the limit namespace; the
//! descriptors become one CEL list binding, `descriptors`, each descriptor a
//! map from entry key to entry value (a repeated key keeps the last value).
//! A limit applies when all its conditions hold and all its variables resolve
//! (`descriptors[0].user` on a request without `user` skips the limit). All
//! applying counters are checked and, only if every one has room for
//! `hits_addend` (0 or unset reads 1), all are charged at once: an
//! OVER_LIMIT answer charges nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::rate_limit::Unit;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus, RateLimit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration;
use limitador::counter::Counter;
use limitador::limit::{Context, Limit, Namespace};
use limitador::RateLimiter;

/// Limits plus the counters that go with them (replacing the limits resets
/// the counters).
pub struct Engine {
    limiter: RateLimiter,
    /// limitador's in-memory check-then-charge is not atomic across
    /// concurrent calls (two can both see room for the last hit): decisions
    /// are serialized so that counts are exact.
    serial: Mutex<()>,
}

/// What the answer carries besides the decision.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    /// Limitador's `--rate-limit-headers DRAFT_VERSION_03`: `X-RateLimit-Limit`,
    /// `-Remaining`, `-Reset` in `response_headers_to_add`.
    pub rate_limit_headers: bool,
    /// Added to `request_headers_to_add` of every answer (OK or not).
    pub request_headers: Vec<(String, String)>,
}

impl Engine {
    pub fn new(limits: Vec<Limit>) -> Engine {
        let limiter = RateLimiter::new(10_000);
        for limit in limits {
            limiter.add_limit(limit);
        }
        Engine {
            limiter,
            serial: Mutex::new(()),
        }
    }

    pub fn should_rate_limit(
        &self,
        req: &RateLimitRequest,
        extras: &Extras,
    ) -> Result<RateLimitResponse, String> {
        if req.domain.is_empty() {
            // As Limitador: no namespace, no decision.
            return Ok(RateLimitResponse {
                overall_code: Code::Unknown.into(),
                ..Default::default()
            });
        }
        let namespace = Namespace::from(req.domain.as_str());
        let hits = u64::from(req.hits_addend.max(1));
        let values: Vec<HashMap<String, String>> = req
            .descriptors
            .iter()
            .map(|d| {
                d.entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.clone()))
                    .collect()
            })
            .collect();
        let mut ctx = Context::default();
        ctx.list_binding("descriptors".to_string(), values);

        // limitador unwraps CEL evaluation errors (e.g. `descriptors[1]` on a
        // one-descriptor request): answer an error instead of dropping the
        // connection.
        let serial = self.serial.lock().unwrap_or_else(|e| e.into_inner());
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.limiter
                .check_rate_limited_and_update(&namespace, &ctx, hits)
        }));
        let mut result = match checked {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => return Err(format!("limitador: {e:?}")),
            Err(_) => return Err("limitador panicked evaluating the limits".into()),
        };
        drop(serial);

        let statuses = (0..req.descriptors.len())
            .map(|i| status(i, &result.counters, result.limited, hits))
            .collect();
        let mut response_headers_to_add: Vec<HeaderValue> = if extras.rate_limit_headers {
            result
                .response_header()
                .into_iter()
                .map(|(key, value)| header(key, value))
                .collect()
        } else {
            Vec::new()
        };
        response_headers_to_add.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(RateLimitResponse {
            overall_code: if result.limited {
                Code::OverLimit
            } else {
                Code::Ok
            }
            .into(),
            statuses,
            response_headers_to_add,
            request_headers_to_add: extras
                .request_headers
                .iter()
                .map(|(k, v)| header(k.clone(), v.clone()))
                .collect(),
            ..Default::default()
        })
    }
}

fn header(key: String, value: String) -> HeaderValue {
    HeaderValue {
        key,
        value,
        ..Default::default()
    }
}

/// The status of descriptor `i`: the counters of the limits that name
/// `descriptors[i]` (or no descriptor at all); OVER_LIMIT when one of them
/// had no room, reporting that one, else the one with the least remaining.
fn status(i: usize, counters: &[Counter], limited: bool, hits: u64) -> DescriptorStatus {
    let remaining = |c: &&Counter| c.remaining().unwrap_or(c.max_value());
    let mine: Vec<&Counter> = counters
        .iter()
        .filter(|c| crate::limits::descriptor_indices(c.limit()).is_none_or(|ix| ix.contains(&i)))
        .collect();
    let over = mine
        .iter()
        .copied()
        .filter(|c| limited && remaining(c) < hits)
        .min_by_key(remaining);
    let shown = over.or_else(|| mine.iter().copied().min_by_key(remaining));
    let Some(counter) = shown else {
        return DescriptorStatus {
            code: Code::Ok.into(),
            ..Default::default()
        };
    };
    let limit = counter.limit();
    DescriptorStatus {
        code: if over.is_some() {
            Code::OverLimit
        } else {
            Code::Ok
        }
        .into(),
        current_limit: Some(RateLimit {
            name: limit.name().unwrap_or_default().to_string(),
            requests_per_unit: u32::try_from(limit.max_value()).unwrap_or(u32::MAX),
            unit: unit(limit.seconds()).into(),
        }),
        limit_remaining: u32::try_from(remaining(&counter)).unwrap_or(u32::MAX),
        duration_until_reset: counter.expires_in().map(|d| Duration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }),
        ..Default::default()
    }
}

/// RLS units are fixed; a window that is none of them reads UNKNOWN (the
/// caller still gets `duration_until_reset`).
fn unit(seconds: u64) -> Unit {
    match seconds {
        1 => Unit::Second,
        60 => Unit::Minute,
        3600 => Unit::Hour,
        86_400 => Unit::Day,
        604_800 => Unit::Week,
        _ => Unit::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::request;

    fn engine(json: &str) -> Engine {
        Engine::new(crate::limits::parse(json).unwrap())
    }

    #[test]
    fn per_user_limit_then_over_limit() {
        let e = engine(
            r#"[{"namespace": "d", "max_value": 2, "seconds": 60,
                 "variables": ["descriptors[0].user"]}]"#,
        );
        let x = Extras::default();
        let a = request("d", &[&[("user", "a")]], 0);
        let r1 = e.should_rate_limit(&a, &x).unwrap();
        assert_eq!(r1.overall_code, Code::Ok as i32);
        assert_eq!(r1.statuses[0].limit_remaining, 1);
        let limit = r1.statuses[0].current_limit.clone().unwrap();
        assert_eq!(
            (limit.requests_per_unit, limit.unit),
            (2, Unit::Minute as i32)
        );
        let reset = r1.statuses[0].duration_until_reset.unwrap();
        assert!(reset.seconds <= 60 && reset.seconds >= 58, "{reset:?}");
        assert_eq!(
            e.should_rate_limit(&a, &x).unwrap().overall_code,
            Code::Ok as i32
        );
        let r3 = e.should_rate_limit(&a, &x).unwrap();
        assert_eq!(r3.overall_code, Code::OverLimit as i32);
        assert_eq!(r3.statuses[0].code, Code::OverLimit as i32);
        assert_eq!(r3.statuses[0].limit_remaining, 0);
        // Another user has its own counter; no user: the limit does not apply.
        let b = request("d", &[&[("user", "b")]], 0);
        assert_eq!(
            e.should_rate_limit(&b, &x).unwrap().overall_code,
            Code::Ok as i32
        );
        let none = request("d", &[&[("other", "x")]], 0);
        let r = e.should_rate_limit(&none, &x).unwrap();
        assert_eq!(r.overall_code, Code::Ok as i32);
        assert_eq!(r.statuses[0].current_limit, None);
        // Another domain: no limits.
        let other = request("e", &[&[("user", "a")]], 0);
        assert_eq!(
            e.should_rate_limit(&other, &x).unwrap().overall_code,
            Code::Ok as i32
        );
    }

    #[test]
    fn hits_addend_and_statuses_per_descriptor() {
        let e = engine(
            r#"[{"namespace": "d", "max_value": 10, "seconds": 1, "name": "users",
                 "variables": ["descriptors[0].user"]},
                {"namespace": "d", "max_value": 3, "seconds": 3600, "name": "paths",
                 "conditions": ["descriptors[1].path == '/x'"]}]"#,
        );
        let x = Extras {
            rate_limit_headers: true,
            request_headers: vec![("x-rls".into(), "seen".into())],
        };
        let req = request("d", &[&[("user", "a")], &[("path", "/x")]], 2);
        let r = e.should_rate_limit(&req, &x).unwrap();
        assert_eq!(r.overall_code, Code::Ok as i32);
        assert_eq!(r.statuses.len(), 2);
        assert_eq!(r.statuses[0].limit_remaining, 8);
        assert_eq!(r.statuses[0].current_limit.clone().unwrap().name, "users");
        assert_eq!(r.statuses[1].limit_remaining, 1);
        assert_eq!(
            r.statuses[1].current_limit.clone().unwrap().unit,
            Unit::Hour as i32
        );
        let keys: Vec<&str> = r
            .response_headers_to_add
            .iter()
            .map(|h| h.key.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset"
            ]
        );
        assert_eq!(r.response_headers_to_add[1].value, "1");
        assert_eq!(r.request_headers_to_add[0].key, "x-rls");
        // 2 more do not fit the paths limit: over, and nothing charged.
        let r = e.should_rate_limit(&req, &x).unwrap();
        assert_eq!(r.overall_code, Code::OverLimit as i32);
        assert_eq!(r.statuses[0].code, Code::Ok as i32);
        assert_eq!(r.statuses[0].limit_remaining, 8);
        assert_eq!(r.statuses[1].code, Code::OverLimit as i32);
        assert_eq!(r.statuses[1].limit_remaining, 1);
        // One still fits.
        let one = request("d", &[&[("user", "a")], &[("path", "/x")]], 1);
        assert_eq!(
            e.should_rate_limit(&one, &x).unwrap().overall_code,
            Code::Ok as i32
        );
    }

    #[test]
    fn exact_under_concurrency() {
        let e = engine(r#"[{"namespace": "d", "max_value": 100, "seconds": 60}]"#);
        let x = Extras::default();
        let req = request("d", &[&[("k", "v")]], 0);
        let admitted: usize = std::thread::scope(|s| {
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        (0..50)
                            .filter(|_| {
                                e.should_rate_limit(&req, &x).unwrap().overall_code
                                    == Code::Ok as i32
                            })
                            .count()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(admitted, 100);
    }

    #[test]
    fn empty_domain_is_unknown_and_cel_errors_are_errors() {
        let e = engine(
            r#"[{"namespace": "d", "max_value": 1, "seconds": 60,
                 "conditions": ["descriptors[1].k == 'v'"]}]"#,
        );
        let x = Extras::default();
        let r = e
            .should_rate_limit(&request("", &[&[("k", "v")]], 0), &x)
            .unwrap();
        assert_eq!(r.overall_code, Code::Unknown as i32);
        // descriptors[1] on a one-descriptor request is an evaluation error.
        let r = e.should_rate_limit(&request("d", &[&[("k", "v")]], 0), &x);
        assert!(r.is_err());
    }
}
