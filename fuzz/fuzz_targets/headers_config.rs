//! The headers filter's configuration parser, then planning and applying the
//! mutations of every configuration that parses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_common::header::HeaderList;
use tollgate_headers::{config, mutation};

fuzz_target!(|data: &[u8]| {
    let Ok(cfg) = config::parse(data) else { return };
    let _ = (cfg.mutations.is_empty(), cfg.mutations.has_response());
    for req in tollgate_fuzz::sample_requests() {
        let plan = mutation::plan(&cfg, &req);
        let mut headers = HeaderList::of(&[("x-upstream-internal", "1"), ("x-user", "a")]);
        mutation::apply(&plan.request, &mut headers);
        mutation::apply(&plan.response, &mut headers);
        // The plan never carries a value that could split a header.
        for (_, value, _) in plan.request.add.iter().chain(&plan.response.add) {
            assert!(
                !value.contains(['\r', '\n', '\0']),
                "unsafe value planned: {value:?}"
            );
        }
    }
});
