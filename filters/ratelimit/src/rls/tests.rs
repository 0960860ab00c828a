use super::*;
use envoy_types::pb::envoy::config::core::v3::HeaderValue as PbHeader;
use envoy_types::pb::envoy::service::ratelimit::v3 as pb;
use pb::rate_limit_response::{rate_limit::Unit, Code, DescriptorStatus as PbStatus};

/// What we send decodes with Envoy's generated types (envoy-types).
#[test]
fn request_decodes_as_envoys() {
    let bytes = request(
        "tollgate",
        &[
            vec![("api", "k1".to_string()), ("method", "GET".to_string())],
            vec![("remote_address", "127.0.0.1".to_string())],
        ],
        3,
    );
    let r = pb::RateLimitRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(r.domain, "tollgate");
    assert_eq!(r.hits_addend, 3);
    let entries: Vec<Vec<(String, String)>> = r
        .descriptors
        .iter()
        .map(|d| {
            d.entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect()
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            vec![("api".into(), "k1".into()), ("method".into(), "GET".into())],
            vec![("remote_address".into(), "127.0.0.1".into())]
        ]
    );
    // And round-trips through our own types.
    let ours = RateLimitRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(ours.encode_to_vec(), bytes);
}

/// What Envoy's types encode (as a real service answers) decodes here.
#[test]
fn response_from_envoys_types() {
    let theirs = pb::RateLimitResponse {
        overall_code: Code::OverLimit as i32,
        statuses: vec![
            PbStatus {
                code: Code::Ok as i32,
                limit_remaining: 4,
                ..Default::default()
            },
            PbStatus {
                code: Code::OverLimit as i32,
                current_limit: Some(pb::rate_limit_response::RateLimit {
                    name: "per-key".into(),
                    requests_per_unit: 2,
                    unit: Unit::Minute as i32,
                }),
                limit_remaining: 0,
                duration_until_reset: Some(envoy_types::pb::google::protobuf::Duration {
                    seconds: 41,
                    nanos: 5,
                }),
                ..Default::default()
            },
        ],
        response_headers_to_add: vec![PbHeader {
            key: "X-RateLimit-Limit".into(),
            value: "2".into(),
            ..Default::default()
        }],
        request_headers_to_add: vec![PbHeader {
            key: "x-raw".into(),
            raw_value: b"bytes".to_vec(),
            ..Default::default()
        }],
        raw_body: b"ignored".to_vec(),
        ..Default::default()
    };
    let r = decode_response(&theirs.encode_to_vec()).unwrap();
    assert_eq!(r.overall_code, CODE_OVER_LIMIT);
    assert_eq!(r.statuses.len(), 2);
    assert_eq!(
        (r.statuses[0].code, r.statuses[0].limit_remaining),
        (CODE_OK, 4)
    );
    let s = &r.statuses[1];
    assert_eq!(s.current_limit.as_ref().unwrap().name, "per-key");
    assert_eq!(s.current_limit.as_ref().unwrap().requests_per_unit, 2);
    assert_eq!(s.duration_until_reset.unwrap().ceil_secs(), 42);
    assert_eq!(r.response_headers_to_add[0].text(), "2");
    assert_eq!(r.request_headers_to_add[0].text(), "bytes");
}

#[test]
fn empty_body_is_the_default_response() {
    let r = decode_response(&[]).unwrap();
    assert_eq!(r.overall_code, CODE_UNKNOWN);
    assert!(r.statuses.is_empty());
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    // What tollgate-rls --garbage sends: an unterminated varint.
    assert!(decode_response(&[0xff; 11]).is_err());
    assert!(decode_response(b"tollgate-rls: this is not a gRPC response\n").is_err());
    // A length past the end, a bad wire type, a truncated nested message.
    for bad in [&[0x12, 0x05, 0x08][..], &[0x0f], &[0x12, 0x02, 0x0a]] {
        assert!(decode_response(bad).is_err(), "{bad:?}");
    }
    // Every prefix of a valid answer and some bit flips: errors or values.
    let good = pb::RateLimitResponse {
        overall_code: 1,
        statuses: vec![PbStatus::default()],
        ..Default::default()
    }
    .encode_to_vec();
    for n in 0..good.len() {
        let _ = decode_response(&good[..n]);
        for bit in 0..8 {
            let mut b = good.clone();
            b[n] ^= 1 << bit;
            let _ = decode_response(&b);
        }
    }
}

#[test]
fn durations_round_up() {
    let d = |seconds, nanos| ProtoDuration { seconds, nanos }.ceil_secs();
    assert_eq!(d(0, 0), 0);
    assert_eq!(d(0, 1), 1);
    assert_eq!(d(59, 999_999_999), 60);
    assert_eq!(d(60, 0), 60);
    assert_eq!(d(-5, 3), 0);
    assert_eq!(d(i64::MAX, 1), i64::MAX as u64 + 1);
}

#[test]
fn cluster_names_envoy_would_parse_as_protobuf() {
    for name in [
        "ratelimit",
        "rls",
        "outbound|8081||ratelimit.default.svc.cluster.local",
    ] {
        assert!(!is_wire_format(name.as_bytes()), "{name}");
    }
    // "\n\x00" is field 1, length 0: a valid (empty) GrpcService.
    assert!(is_wire_format(b"\n\x00"));
    assert!(is_wire_format(b""));
}
