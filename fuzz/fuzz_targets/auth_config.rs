//! The auth filter's configuration parser (API keys, Basic with inline
//! htpasswd, JWT providers with inline JWKS, ext_authz, rules and the
//! requirement tree), and the ext_authz block's parser on its own.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cfg) = tollgate_auth::config::parse(data) {
        let _ = cfg.reserved_headers();
        let _ = cfg.methods();
    }
    let _ = tollgate_auth::ext_authz::config::parse(data);
});
