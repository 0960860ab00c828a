//! The rate-limit service's answer (protobuf RateLimitResponse bytes) through
//! decoding, the verdict in both failure modes, the local reply and the
//! headers; plus the shared-data bucket table's record decoding.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_ratelimit::{global, rls, service::Service, table};

fuzz_target!(|data: &[u8]| {
    let _ = table::decode(data);
    let _ = rls::decode_response(data);
    for deny in [false, true] {
        let service = Service {
            cluster_name: "rls".into(),
            domain: "d".into(),
            timeout: std::time::Duration::from_millis(20),
            failure_mode_deny: deny,
            status_on_error: 503,
            hits_addend: 1,
        };
        let answer = global::answer(0, Some(data));
        if let Ok(r) = &answer {
            let _ = global::retry_after(r);
            let _ = global::safe_headers(&r.response_headers_to_add);
            let _ = global::safe_headers(&r.request_headers_to_add);
        }
        let v = global::verdict(answer, &service, || deny);
        let _ = global::reply(&v);
    }
});
