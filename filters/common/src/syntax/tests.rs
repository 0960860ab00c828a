use super::*;

#[test]
fn header_names() {
    for ok in [
        "x",
        "x-foo",
        "content-type",
        ":path",
        ":authority",
        "a1!#$%&'*+-.^_`|~",
    ] {
        assert!(valid_header_name(ok), "{ok}");
    }
    for bad in [
        "", ":", "X-Foo", "a b", "a:b", "::a", "a\r", "é", "a/b", "a\"b", "(a)",
    ] {
        assert!(!valid_header_name(bad), "{bad:?}");
    }
    assert_eq!(header_name("X-Foo").as_deref(), Ok("x-foo"));
    assert_eq!(header_name(":Path").as_deref(), Ok(":path"));
    assert!(header_name("x foo").unwrap_err().contains("\"x foo\""));
}

#[test]
fn safe_values() {
    assert!(safe_value(""));
    assert!(safe_value("a b\tc é"));
    assert!(!safe_value("a\rb"));
    assert!(!safe_value("a\nb"));
    assert!(!safe_value("a\0b"));
}
