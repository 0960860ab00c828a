use super::*;

#[test]
fn bypass_spellings_normalize_to_the_same_path() {
    let spellings = [
        "/admin/secret",
        "/admin//secret",
        "//admin///secret",
        "/admin/./secret",
        "/x/../admin/secret",
        "/x/y/../../admin/secret",
        "/admin%2Fsecret",
        "/admin%2fsecret",
        "/%61dmin/secret",
        "/%61%64%6D%69%6E/%73ecret",
        "/admin/secret?x=1",
        "/admin/secret?x=/../other",
        "/admin/secret#f",
        "/admin/secret/",
        "/admin/secret//",
        "/admin;x=1/secret",
        "/admin;/secret",
        "/admin/secret;jsessionid=1",
        "/x/..;/admin/secret",
        "/x/..;y=z/admin/secret",
        "/admin\\secret",
        "/admin%5Csecret",
        "/admin%5csecret",
        "/./admin/secret/.",
        "/../admin/secret",
        "/../../admin/secret",
        "/admin/secret/x/..",
        "/x/%2e%2e/admin/secret",
        "/x/%2E./admin/secret",
        "/admin/%2e/secret",
        "/x%2F..%2Fadmin%2Fsecret",
        "/x\\..\\admin\\secret",
        "/admin%3Bx/secret",
    ];
    for s in spellings {
        assert_eq!(normalize(s).as_deref(), Ok("/admin/secret"), "{s}");
    }
}

#[test]
fn root_forms() {
    for s in [
        "/", "//", "/.", "/..", "/../..", "/./", "/?a", "/#x", "/;x", "/a/..",
    ] {
        assert_eq!(normalize(s).as_deref(), Ok("/"), "{s}");
    }
}

#[test]
fn decodes_once_only() {
    assert_eq!(normalize("/a%252Fb").as_deref(), Ok("/a%2Fb"));
    assert_eq!(
        normalize("/%252e%252e/admin").as_deref(),
        Ok("/%2e%2e/admin")
    );
    assert_eq!(normalize("/a%25").as_deref(), Ok("/a%"));
}

#[test]
fn decoded_query_and_fragment_characters_are_literal() {
    assert_eq!(normalize("/a%3Fb").as_deref(), Ok("/a?b"));
    assert_eq!(normalize("/a%23b").as_deref(), Ok("/a#b"));
}

#[test]
fn preserves_case_and_unicode() {
    assert_eq!(normalize("/Admin/SECRET").as_deref(), Ok("/Admin/SECRET"));
    assert_eq!(normalize("/caf%C3%A9").as_deref(), Ok("/café"));
    assert_eq!(normalize("/café").as_deref(), Ok("/café"));
    assert_eq!(normalize("/a.b/..c/...").as_deref(), Ok("/a.b/..c/..."));
}

#[test]
fn errors() {
    let cases = [
        ("", PathError::Empty),
        ("?x=1", PathError::Empty),
        ("admin", PathError::NotAbsolute),
        ("*", PathError::NotAbsolute),
        ("\\admin", PathError::NotAbsolute),
        ("%2Fadmin", PathError::NotAbsolute),
        ("http://host/admin", PathError::NotAbsolute),
        ("/%", PathError::BadPercentEncoding),
        ("/a%2", PathError::BadPercentEncoding),
        ("/%zz", PathError::BadPercentEncoding),
        ("/%g0", PathError::BadPercentEncoding),
        ("/%0", PathError::BadPercentEncoding),
        ("/%00", PathError::Nul),
        ("/a\0b", PathError::Nul),
        ("/%FF", PathError::NotUtf8),
        ("/%C3", PathError::NotUtf8),
        ("/%C0%AF", PathError::NotUtf8), // overlong '/'
    ];
    for (s, want) in cases {
        assert_eq!(normalize(s), Err(want), "{s:?}");
    }
}

#[test]
fn bad_encoding_in_query_is_ignored() {
    assert_eq!(normalize("/a?%zz").as_deref(), Ok("/a"));
}

#[test]
fn error_display() {
    assert_eq!(PathError::Nul.to_string(), "NUL byte in path");
    assert!(PathError::BadPercentEncoding.to_string().contains('%'));
}
