use super::*;
use crate::rls::{DescriptorStatus, ProtoDuration, CODE_OK, CODE_OVER_LIMIT};
use prost::Message as _;

fn service(deny: bool) -> Service {
    Service {
        cluster_name: "rls".into(),
        domain: "d".into(),
        timeout: std::time::Duration::from_millis(20),
        failure_mode_deny: deny,
        status_on_error: 503,
        hits_addend: 1,
        x_ratelimit_headers: false,
    }
}

fn header(k: &str, v: &str) -> HeaderValue {
    HeaderValue {
        key: k.into(),
        value: v.into(),
        raw_value: vec![],
    }
}

fn status(code: i32, reset: Option<(i64, i32)>) -> DescriptorStatus {
    DescriptorStatus {
        code,
        current_limit: None,
        limit_remaining: 0,
        duration_until_reset: reset.map(|(seconds, nanos)| ProtoDuration { seconds, nanos }),
    }
}

fn response(code: i32, statuses: Vec<DescriptorStatus>) -> RateLimitResponse {
    RateLimitResponse {
        overall_code: code,
        statuses,
        response_headers_to_add: vec![header("X-RateLimit-Limit", "2"), header("Retry-After", "9")],
        request_headers_to_add: vec![header("x-rls", "yes")],
    }
}

fn bytes(r: &RateLimitResponse) -> Vec<u8> {
    r.encode_to_vec()
}

#[test]
fn ok_allows_with_both_header_sets() {
    let r = response(CODE_OK, vec![status(CODE_OK, Some((30, 0)))]);
    let v = verdict(answer(0, Some(&bytes(&r))), &service(true), || {
        panic!("not asked")
    });
    assert_eq!(
        v,
        Verdict::Allow {
            request_headers: vec![("x-rls".into(), "yes".into())],
            response_headers: vec![
                ("x-ratelimit-limit".into(), "2".into()),
                ("retry-after".into(), "9".into())
            ],
            shadow: false,
        }
    );
    assert_eq!(reply(&v), None);
}

#[test]
fn over_limit_is_429_with_the_longest_reset() {
    let r = response(
        CODE_OVER_LIMIT,
        vec![
            status(CODE_OK, Some((300, 0))),
            status(CODE_OVER_LIMIT, Some((41, 200))),
            status(CODE_OVER_LIMIT, Some((12, 0))),
        ],
    );
    let v = verdict(answer(0, Some(&bytes(&r))), &service(false), || true);
    let Verdict::Limit { retry_after, .. } = &v else {
        panic!("{v:?}")
    };
    assert_eq!(*retry_after, 42);
    let reply = reply(&v).unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(reply.error, "rate_limited");
    // Ours wins over the service's Retry-After; its other headers are kept.
    assert_eq!(
        reply.header_pairs(),
        vec![
            ("content-type", "application/json"),
            ("retry-after", "42"),
            ("x-envoy-ratelimited", "true"),
            ("x-ratelimit-limit", "2")
        ]
    );
}

#[test]
fn retry_after_fallbacks() {
    let r = |statuses| response(CODE_OVER_LIMIT, statuses);
    // No OVER_LIMIT status says: the longest of all.
    assert_eq!(retry_after(&r(vec![status(CODE_OK, Some((5, 1)))])), 6);
    // None says at all, or zero: 1.
    assert_eq!(retry_after(&r(vec![])), 1);
    assert_eq!(
        retry_after(&r(vec![status(CODE_OVER_LIMIT, Some((0, 0)))])),
        1
    );
    assert_eq!(
        retry_after(&r(vec![status(CODE_OVER_LIMIT, Some((-3, 0)))])),
        1
    );
}

#[test]
fn shadow_mode_allows_over_limit() {
    let r = response(CODE_OVER_LIMIT, vec![status(CODE_OVER_LIMIT, Some((5, 0)))]);
    let v = verdict(Ok(r), &service(true), || false);
    assert!(matches!(v, Verdict::Allow { shadow: true, .. }), "{v:?}");
}

#[test]
fn errors_follow_the_failure_mode() {
    let cases: Vec<(u32, Option<Vec<u8>>, &str)> = vec![
        (14, None, "gRPC status 14 UNAVAILABLE"),
        (4, None, "gRPC status 4 DEADLINE_EXCEEDED"),
        (99, None, "gRPC status 99"),
        (0, Some(vec![0xff; 11]), "undecodable answer"),
        (0, None, "overall_code 0"),
        (0, Some(bytes(&response(7, vec![]))), "overall_code 7"),
    ];
    for (code, body, want) in cases {
        let a = answer(code, body.as_deref());
        let v = verdict(a.clone(), &service(false), || panic!("not asked"));
        let Verdict::FailOpen { reason } = &v else {
            panic!("{v:?}")
        };
        assert!(reason.contains(want), "{reason}");
        assert_eq!(reply(&v), None);

        let mut closed = service(true);
        closed.status_on_error = 500;
        let v = verdict(a, &closed, || panic!("not asked"));
        let reply = reply(&v).unwrap();
        assert_eq!((reply.status, reply.error), (500, "unavailable"));
        assert!(reply.body().contains("rate-limit service is unavailable"));
    }
}

#[test]
fn unsafe_service_headers_are_dropped() {
    let h = safe_headers(&[
        header("ok", "fine"),
        header(":path", "/evil"),
        header("host", "evil"),
        header("bad name", "x"),
        header("", "x"),
        header("x-split", "a\r\nx-injected: 1"),
        header("x-nul", "a\0"),
        HeaderValue {
            key: "x-raw".into(),
            value: String::new(),
            raw_value: b"r\xffw".to_vec(),
        },
    ]);
    assert_eq!(
        h,
        vec![
            ("ok".to_string(), "fine".to_string()),
            ("x-raw".to_string(), "r\u{fffd}w".to_string())
        ]
    );
}

/// A well-formed OK answer padded (unknown field 15) to `size` bytes.
fn padded_ok(size: usize) -> Vec<u8> {
    let mut m = response(CODE_OK, vec![]).encode_to_vec();
    let pad = size.saturating_sub(m.len() + 4);
    m.push(0x7a); // field 15, length-delimited
    prost::encoding::encode_varint(pad as u64, &mut m);
    m.resize(m.len() + pad, b'x');
    m
}

#[test]
fn oversized_answers_are_errors_and_never_read() {
    // Within the limit: decoded as usual (prost skips the unknown field).
    let fits = padded_ok(MAX_ANSWER_BYTES - 10);
    assert!(fits.len() <= MAX_ANSWER_BYTES);
    let ok = sized_answer(0, fits.len(), || Some(fits.clone()));
    assert_eq!(ok.map(|r| r.overall_code), Ok(CODE_OK));
    // Over it: an error without reading the bytes, so the failure mode decides.
    let big = padded_ok(8 << 20);
    let err = sized_answer(0, big.len(), || {
        panic!("an oversized answer must not be read")
    });
    assert_eq!(
        err,
        Err(format!("answer of {} bytes is over 65536", big.len()))
    );
    let v = verdict(err, &service(true), || true);
    assert!(
        matches!(v, Verdict::FailClosed { status: 503, .. }),
        "{v:?}"
    );
    let v = verdict(sized_answer(0, big.len(), || None), &service(false), || {
        true
    });
    assert!(matches!(v, Verdict::FailOpen { .. }), "{v:?}");
    // A gRPC error is one whatever its size, and reads nothing either.
    let err = sized_answer(14, 10, || panic!("an error status has no message"));
    assert_eq!(
        err.map(|r| r.overall_code),
        Err("gRPC status 14 UNAVAILABLE".into())
    );
}

fn limited(remaining: u32, rpu: u32, unit: i32, name: &str, reset: i64) -> DescriptorStatus {
    DescriptorStatus {
        code: CODE_OK,
        current_limit: Some(crate::rls::RateLimit {
            requests_per_unit: rpu,
            unit,
            name: name.into(),
        }),
        limit_remaining: remaining,
        duration_until_reset: Some(ProtoDuration {
            seconds: reset,
            nanos: 900_000_000,
        }),
    }
}

/// Envoy's ratelimit filter's x-ratelimit-* (DRAFT_VERSION_03) from the
/// statuses: the one closest to its limit, and every limit's quota policy.
#[test]
fn x_ratelimit_headers_are_envoys() {
    let r = |statuses| RateLimitResponse {
        overall_code: CODE_OK,
        statuses,
        response_headers_to_add: vec![],
        request_headers_to_add: vec![],
    };
    let h = |statuses| x_ratelimit_headers(&r(statuses));
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        h(vec![
            limited(7, 10, 1, "per-ip", 0),
            status(CODE_OK, None),
            limited(3, 1000, 3, "", 1800),
            limited(3, 5, 0, "odd-unit", 9),
        ]),
        pairs(&[
            (
                "x-ratelimit-limit",
                "1000, 10;w=1;name=\"per-ip\", 1000;w=3600"
            ),
            ("x-ratelimit-remaining", "3"),
            ("x-ratelimit-reset", "1800"),
        ])
    );
    assert_eq!(h(vec![status(CODE_OK, Some((5, 0)))]), vec![]);
    assert_eq!(h(vec![]), vec![]);
    let mut no_reset = limited(0, 2, 2, "", 0);
    no_reset.duration_until_reset = None;
    assert_eq!(h(vec![no_reset])[2].1, "0");
    // Only when enabled, and on the 429 too.
    let mut s = service(false);
    let over = RateLimitResponse {
        overall_code: CODE_OVER_LIMIT,
        ..r(vec![limited(0, 2, 2, "k", 42)])
    };
    let v = verdict(Ok(over.clone()), &s, || true);
    assert!(matches!(&v, Verdict::Limit { response_headers, .. } if response_headers.is_empty()));
    s.x_ratelimit_headers = true;
    let reply = reply(&verdict(Ok(over), &s, || true)).unwrap();
    for (n, v) in [
        ("x-ratelimit-limit", "2, 2;w=60;name=\"k\""),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "42"),
    ] {
        assert!(
            reply.headers.iter().any(|(a, b)| a == n && b == v),
            "{n}: {:?}",
            reply.headers
        );
    }
}
