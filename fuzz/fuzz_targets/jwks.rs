//! JWKS documents (local or fetched from a remote endpoint), then every key
//! used to check a bogus signature with every algorithm it allows.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_auth::jwt::{signature, Alg, Jwks};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((jwks, _skipped)) = Jwks::parse(text) else {
        return;
    };
    for key in jwks.keys() {
        for alg in Alg::ALL {
            if key.allows(alg) {
                let _ = signature::verify_with(alg, &key.key, b"a.b", &[0u8; 64]);
            }
        }
    }
});
