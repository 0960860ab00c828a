//! The ratelimit filter's configuration parser, then descriptor selection
//! (local and global mode) for every configuration that parses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_ratelimit::{config, descriptor, rls};

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = config::parse(data) else { return };
    for req in tollgate_fuzz::sample_requests() {
        if let Some(sel) = descriptor::select(&cfg, &req) {
            let _ = descriptor::bucket_key(&sel.entries);
        }
        let descriptors = descriptor::service_descriptors(&cfg, &req);
        if let Some(service) = &cfg.rate_limit_service {
            let _ = rls::request(&service.domain, &descriptors, service.hits_addend);
        }
    }
});
