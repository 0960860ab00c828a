//! Path normalization and its invariants: a normalized path starts with `/`,
//! has no empty, `.` or `..` segment, no `\`, `;` or NUL, no trailing `/`
//! (but the root), and normalizing it again changes nothing (unless it holds
//! `%`, `?` or `#`: `%25`, `%3F` and `%23` decode once by design, so those
//! characters may be literal in the output).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_common::path::normalize;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(n) = normalize(raw) else { return };
    assert!(n.starts_with('/'), "{raw:?} -> {n:?}: not absolute");
    assert!(
        !n.contains(['\\', ';', '\0']),
        "{raw:?} -> {n:?}: separator, parameter or NUL left"
    );
    if n != "/" {
        assert!(!n.ends_with('/'), "{raw:?} -> {n:?}: trailing slash");
        for seg in n[1..].split('/') {
            assert!(
                !matches!(seg, "" | "." | ".."),
                "{raw:?} -> {n:?}: segment {seg:?}"
            );
        }
    }
    if !n.contains(['%', '?', '#']) {
        assert_eq!(
            normalize(&n).as_deref(),
            Ok(n.as_str()),
            "{raw:?}: not idempotent"
        );
    }
});
