use super::*;

fn why(p: &str) -> Option<Ambiguity> {
    ambiguity(p)
}

#[test]
fn one_reading_paths_are_not_ambiguous() {
    for p in [
        "/",
        "/admin",
        "/admin/",
        "/admin/x",
        "//admin",
        "/admin//x///",
        "/%61dmin",
        "/%41DMIN/x",
        "/adm%69n/x",
        "/caf%C3%A9",
        "/café",
        "/a%20b",
        "/a%3Fb",
        "/a%23b",
        "/100%25",
        "/100%25x",
        "/a.b/..c/.../x.",
        "/admin.",
        "/admin..",
        "/.well-known/x",
        "/x/.hidden",
        "/ADMIN",
        "/admin?a=..;\\%2f%5c%00%zz",
        "/admin#..;",
        "/admin?/../public",
        "/a+b",
        "/a~b_c-d",
    ] {
        assert_eq!(why(p), None, "{p}");
    }
}

#[test]
fn every_spelling_of_a_separator_or_parameter_is_ambiguous() {
    let cases = [
        ("/admin\\..\\public", Ambiguity::Backslash),
        ("/admin\\x", Ambiguity::Backslash),
        ("/admin/%5c..%5cpublic", Ambiguity::Backslash),
        ("/admin%5Cx", Ambiguity::Backslash),
        ("/admin%2Fx", Ambiguity::EncodedSlash),
        ("/admin%2fx", Ambiguity::EncodedSlash),
        ("/public%2f..%2fadmin", Ambiguity::EncodedSlash),
        ("/admin/..;/public", Ambiguity::SegmentParameter),
        ("/admin;x=1/y", Ambiguity::SegmentParameter),
        ("/admin;", Ambiguity::SegmentParameter),
        ("/x/.;/admin", Ambiguity::SegmentParameter),
        ("/public/..;x=1/admin", Ambiguity::SegmentParameter),
        ("/public/..%3b/admin", Ambiguity::SegmentParameter),
        ("/public/..%3B/admin", Ambiguity::SegmentParameter),
        ("/%2561dmin", Ambiguity::DoubleEncoding),
        ("/public/%252e%252e/admin", Ambiguity::DoubleEncoding),
        ("/a%252Fb", Ambiguity::DoubleEncoding),
        ("/a%0ab", Ambiguity::ControlCharacter),
        ("/a%09", Ambiguity::ControlCharacter),
        ("/a%7F", Ambiguity::ControlCharacter),
        ("/a\tb", Ambiguity::ControlCharacter),
    ];
    for (p, want) in cases {
        assert_eq!(why(p), Some(want), "{p}");
    }
}

#[test]
fn dot_segments_in_any_spelling_are_ambiguous() {
    for p in [
        "/admin/../public",
        "/public/../admin",
        "/admin/./x",
        "/./admin",
        "/..",
        "/.",
        "/admin/.",
        "/admin/..",
        "/admin/x/../../public",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/.%2e/admin",
        "/public/%2e./admin",
        "/%2e/admin",
        "/admin/%2e",
    ] {
        assert_eq!(why(p), Some(Ambiguity::DotSegment), "{p}");
    }
}

#[test]
fn what_normalize_refuses_is_ambiguous() {
    let cases = [
        ("", PathError::Empty),
        ("admin", PathError::NotAbsolute),
        ("*", PathError::NotAbsolute),
        ("/%", PathError::BadPercentEncoding),
        ("/a%2", PathError::BadPercentEncoding),
        ("/%zz", PathError::BadPercentEncoding),
        ("/a%00", PathError::Nul),
        ("/a\0", PathError::Nul),
        ("/%ff", PathError::NotUtf8),
        ("/%c0%ae%c0%ae/admin", PathError::NotUtf8),
        ("/%C0%AF", PathError::NotUtf8),
        ("/%e0%80%ae", PathError::NotUtf8),
        ("/adm\u{FFFD}in", PathError::NotUtf8),
    ];
    for (p, e) in cases {
        assert_eq!(why(p), Some(Ambiguity::Invalid(e)), "{p:?}");
    }
}

#[test]
fn the_issues_examples_are_ambiguous() {
    for p in [
        "/admin/..;/public",
        "/admin\\..\\public",
        "/admin/%5c..%5cpublic",
    ] {
        assert!(why(p).is_some(), "{p}");
    }
}

#[test]
fn reply_names_the_reason() {
    let r = reply(Ambiguity::Backslash);
    assert_eq!(r.status, 400);
    assert_eq!(r.error, "ambiguous_path");
    assert!(r.reason.contains("backslash"), "{}", r.reason);
    let r = reply(Ambiguity::Invalid(PathError::Nul));
    assert!(r.reason.contains("NUL"), "{}", r.reason);
    assert_eq!(Ambiguity::DotSegment.word(), "dot_segment");
}

#[test]
fn action_parses_by_envoy_style_name() {
    let a: AmbiguousPathAction = serde_json::from_str(r#""REJECT_REQUEST""#).unwrap();
    assert_eq!(a, AmbiguousPathAction::RejectRequest);
    let a: AmbiguousPathAction = serde_json::from_str(r#""MATCH_NORMALIZED""#).unwrap();
    assert_eq!(a, AmbiguousPathAction::MatchNormalized);
    assert_eq!(
        AmbiguousPathAction::default(),
        AmbiguousPathAction::RejectRequest
    );
    let e = serde_json::from_str::<AmbiguousPathAction>(r#""reject""#).unwrap_err();
    assert!(e.to_string().contains("REJECT_REQUEST"), "{e}");
    let e = serde_json::from_str::<AmbiguousPathAction>("true").unwrap_err();
    assert!(e.to_string().contains("expected a string"), "{e}");
}

/// Every path either is ambiguous or normalizes to a path without dot
/// segments, parameters or backslashes, so that its normalized reading is
/// the decoded path with `//` merged: what every upstream measured reads.
#[test]
fn unambiguous_paths_normalize_to_their_decoded_spelling() {
    let samples = [
        "/admin",
        "//admin//x",
        "/%61dmin/x/",
        "/a%20b/c",
        "/x.y/z..",
        "/caf%C3%A9",
    ];
    for p in samples {
        assert_eq!(why(p), None, "{p}");
        let decoded = percent_decode(p).unwrap();
        let merged: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
        let want = if merged.is_empty() {
            "/".to_string()
        } else {
            format!("/{}", merged.join("/"))
        };
        assert_eq!(super::super::normalize(p).unwrap(), want, "{p}");
    }
}
