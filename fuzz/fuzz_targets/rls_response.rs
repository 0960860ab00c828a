//! The rate-limit service's answer (protobuf RateLimitResponse bytes) through
//! decoding, the verdict in both failure modes, the local reply and the
//! headers; plus the shared-data bucket table's records (any version) through
//! decoding and the bucket math of both refill rules, at an instant and with
//! limits taken from the input's first bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_ratelimit::bucket::{self, Limits, Refill};
use tollgate_ratelimit::config::HeaderMode;
use tollgate_ratelimit::{config::service::Service, global, headers, rls, table};

fn le_u64(data: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = data.get(at + i).copied().unwrap_or(0);
    }
    u64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if let table::Slot::Bucket(_, stored) = table::decode(data) {
        // Limits and the instant from the record's own bytes (so the
        // corpus of records explores them too).
        let (a, b) = (le_u64(data, 1), le_u64(data, 9));
        for refill in [Refill::Continuous, Refill::Interval] {
            let limits = Limits {
                max_tokens: (a as u32).max(1),
                tokens_per_fill: ((a >> 32) as u32).max(1),
                fill_interval_ns: b.max(1_000_000),
                refill,
            };
            let state = stored.state(&limits);
            let now = state.at_ns.wrapping_add(b.rotate_left(17));
            let d = bucket::take(Some(state), &limits, now);
            assert!(d.view.remaining <= limits.max_tokens);
            assert!(d.view.wait_ns >= 1);
            let _ = state.is_full(&limits, now);
            let _ = state.eviction_rank(&limits, now);
            let _ = table::decode(&table::encode("k", d.state));
            for mode in [HeaderMode::DraftVersion03, HeaderMode::Ietf] {
                let _ = headers::values(mode, "p", &limits, &d.view);
            }
            let _ = headers::retry_after(&d.view);
        }
    }
    let _ = rls::decode_response(data);
    for deny in [false, true] {
        let service = Service {
            cluster_name: "rls".into(),
            domain: "d".into(),
            timeout: std::time::Duration::from_millis(20),
            failure_mode_deny: deny,
            status_on_error: 503,
            hits_addend: 1,
            x_ratelimit_headers: deny,
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
