use super::*;

#[test]
fn names() {
    assert_eq!(copyable_name("X-User").as_deref(), Some("x-user"));
    assert_eq!(
        copyable_name("www-authenticate").as_deref(),
        Some("www-authenticate")
    );
    for bad in [
        ":path",
        ":status",
        ":authority",
        "host",
        "Host",
        "content-length",
        "Transfer-Encoding",
        "connection",
        "te",
        "upgrade",
        "a b",
        "",
        "x\r",
        "é",
    ] {
        assert_eq!(copyable_name(bad), None, "{bad:?}");
    }
}

#[test]
fn values() {
    assert_eq!(text_value(b"alice"), Some("alice"));
    assert_eq!(text_value("é".as_bytes()), Some("é"));
    for bad in [&b"a\rb"[..], b"a\nb", b"a\0b", b"\xff\xfe"] {
        assert_eq!(text_value(bad), None, "{bad:?}");
    }
}
