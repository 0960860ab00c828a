use super::*;

fn json(r: &LocalReply) -> serde_json::Value {
    serde_json::from_str(&r.body()).unwrap()
}

#[test]
fn constructors() {
    let cases = [
        (LocalReply::bad_request("r"), 400, "bad_request"),
        (LocalReply::unauthorized("r"), 401, "unauthorized"),
        (LocalReply::forbidden("r"), 403, "forbidden"),
        (LocalReply::too_many_requests("r", 7), 429, "rate_limited"),
        (LocalReply::unavailable("r"), 503, "unavailable"),
    ];
    for (r, status, error) in cases {
        assert_eq!(r.status, status);
        assert_eq!(r.error, error);
        assert_eq!(json(&r), serde_json::json!({"error": error, "reason": "r"}));
        assert_eq!(
            r.headers.iter().next(),
            Some(("content-type", "application/json"))
        );
    }
}

#[test]
fn retry_after() {
    let r = LocalReply::too_many_requests("slow down", 30);
    assert_eq!(
        r.header_pairs(),
        vec![("content-type", "application/json"), ("retry-after", "30")]
    );
}

#[test]
fn extra_headers() {
    let r = LocalReply::unauthorized("no token").with_header("www-authenticate", "Bearer");
    assert!(r.header_pairs().contains(&("www-authenticate", "Bearer")));
}

#[test]
fn body_is_escaped() {
    let r = LocalReply::forbidden("quote \" backslash \\ newline \n tag </x> é");
    let body = r.body();
    assert!(!body.contains('\n'));
    assert_eq!(
        json(&r)["reason"],
        "quote \" backslash \\ newline \n tag </x> é"
    );
    assert_eq!(
        LocalReply::bad_request("x").body(),
        r#"{"error":"bad_request","reason":"x"}"#
    );
}
