//! Request matchers (path, methods, headers, authority with every string
//! matcher kind, regexes included): a `match` JSON, a line `---`, then the
//! request's header lines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_common::matcher::{normalize_authority, RequestMatch};

fuzz_target!(|data: &[u8]| {
    let (json, headers) = tollgate_fuzz::two_parts(data);
    let headers = tollgate_fuzz::text_headers(headers);
    if let Some((_, a)) = headers.iter().find(|(n, _)| n == ":authority") {
        let _ = normalize_authority(a);
    }
    let Ok(m) = tollgate_common::config::parse::<RequestMatch>(json) else {
        return;
    };
    let req = tollgate_fuzz::request_of(&headers);
    let _ = m.is_empty();
    let _ = m.matches(&req);
});
