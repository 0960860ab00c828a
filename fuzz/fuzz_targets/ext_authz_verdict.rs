//! The authorization service's answer: header lines (`:status` included, raw
//! bytes), a line `---`, then the body; interpreted under two configurations
//! (defaults, and header allow-lists with failure_mode_allow), then applied.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tollgate_auth::ext_authz::{config, verdict, ExtAuthzConfig, Verdict};
use tollgate_common::header::HeaderList;

fn configs() -> &'static [ExtAuthzConfig] {
    static C: OnceLock<Vec<ExtAuthzConfig>> = OnceLock::new();
    C.get_or_init(|| {
        [
            r#"{"http_service": {"server_uri": {"uri": "http://authz", "cluster": "authz"}}}"#,
            r#"{"http_service": {"server_uri": {"uri": "http://authz", "cluster": "authz"},
                "authorization_response": {
                  "allowed_upstream_headers": {"patterns": [{"prefix": "x-user"}, {"exact": "host"}, {"exact": "content-length"}]},
                  "allowed_upstream_headers_to_append": {"patterns": [{"exact": "x-tag"}]},
                  "allowed_client_headers": {"patterns": [{"exact": "x-authz-reason"}]},
                  "allowed_client_headers_on_success": {"patterns": [{"exact": "x-quota"}]}}},
              "failure_mode_allow": true, "failure_mode_allow_header_add": true,
              "status_on_error": {"code": 502}}"#,
        ]
        .iter()
        .map(|c| config::parse(c.as_bytes()).expect("fixture ext_authz config"))
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = tollgate_fuzz::two_parts(data);
    let headers = tollgate_fuzz::header_lines(head);
    for cfg in configs() {
        match verdict::interpret(cfg, &headers, body) {
            Verdict::Allow(mut a) => {
                let mut target = HeaderList::of(&[("x-user", "spoofed"), ("host", "h")]);
                a.apply(&mut target);
                let _ = a.take_header("x-user");
            }
            Verdict::Deny(d) => {
                assert!((100..=599).contains(&d.status), "deny status {}", d.status);
                assert!(
                    d.body.len() <= verdict::MAX_BODY,
                    "deny body of {} bytes",
                    d.body.len()
                );
            }
        }
    }
});
