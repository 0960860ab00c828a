use super::*;

fn entry(id: &str) -> Entry {
    Entry {
        identity: Some(id.to_string()),
        headers: vec![("x-sub".into(), id.into())],
    }
}

#[test]
fn found_until_expiry_in_its_own_scope_only() {
    let token = "aaa.bbb.signature-of-the-first-token";
    assert_eq!(get("ns", "p", token, 100), None);
    put("ns", "p", token, &entry("alice"), 200, 100);
    assert_eq!(get("ns", "p", token, 199), Some(entry("alice")));
    assert_eq!(get("ns", "p", token, 200), None, "expired");
    assert_eq!(get("ns", "q", token, 150), None, "another provider");
    assert_eq!(get("other", "p", token, 150), None, "another namespace");
    assert_eq!(
        get("ns", "p", "aaa.bbb.signature-of-the-first-tokeN", 150),
        None
    );
    assert_eq!(
        get("ns", "p", "aaa.bbb.signature-of-the-first-token!", 150),
        None
    );
}

#[test]
fn expired_or_huge_tokens_are_not_kept() {
    put("ns", "p", "t.u.expired", &entry("a"), 100, 100);
    assert_eq!(get("ns", "p", "t.u.expired", 50), None);
    let huge = "x".repeat(MAX_TOKEN_BYTES + 1);
    put("ns", "p", &huge, &entry("a"), 200, 100);
    assert_eq!(get("ns", "p", &huge, 150), None);
}

#[test]
fn a_slot_holds_the_latest_token() {
    // Same provider and last 32 bytes: the same slot.
    let tail = "s".repeat(32);
    let (a, b) = (format!("a.a.{tail}"), format!("b.b.{tail}"));
    put("ns", "p", &a, &entry("a"), 200, 100);
    put("ns", "p", &b, &entry("b"), 200, 100);
    assert_eq!(get("ns", "p", &a, 150), None, "evicted");
    assert_eq!(get("ns", "p", &b, 150), Some(entry("b")));
}
