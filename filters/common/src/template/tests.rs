use super::*;
use crate::testing::FakeSource;

fn req() -> Request<FakeSource> {
    FakeSource::new(&[
        (":path", "/a/b?c=d"),
        (":method", "GET"),
        (":authority", "example.com:8080"),
        (":scheme", "https"),
        ("x-user", "alice"),
        ("x-evil", "a\r\nset-cookie: x"),
    ])
    .client(Some("10.1.2.3:4567"))
    .request()
}

fn expand(t: &str) -> String {
    Template::parse(t).unwrap().expand(&req())
}

#[test]
fn static_values() {
    for (src, want) in [
        ("", ""),
        ("abc", "abc"),
        ("100%%", "100%"),
        ("%%%%", "%%"),
        ("a b\tc", "a b\tc"),
    ] {
        let t = Template::parse(src).unwrap();
        assert_eq!(t.as_static(), Some(want), "{src}");
        assert!(t.is_static());
        assert_eq!(t.source(), src);
        assert_eq!(t.expand(&req()), want);
    }
}

#[test]
fn operators_expand() {
    let cases = [
        ("%REQ(x-user)%", "alice"),
        ("%REQ(X-User)%", "alice"),
        ("%REQ(x-missing)%", ""),
        ("%REQ(x-missing?x-user)%", "alice"),
        ("%REQ(x-user?:path)%", "alice"),
        ("%REQ(:path)%", "/a/b?c=d"),
        ("%REQ(Host)%", "example.com:8080"),
        ("%PATH%", "/a/b?c=d"),
        ("%METHOD%", "GET"),
        ("%AUTHORITY%", "example.com:8080"),
        ("%SCHEME%", "https"),
        ("%DOWNSTREAM_REMOTE_ADDRESS%", "10.1.2.3:4567"),
        ("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "10.1.2.3"),
        ("%START_TIME%", "2026-11-25T08:30:00Z"),
        ("%START_TIME(%s)%", "1795595400"),
        (
            "user=%REQ(x-user)%; at %START_TIME(%s)% 100%%",
            "user=alice; at 1795595400 100%",
        ),
        ("%METHOD%%PATH%", "GET/a/b?c=d"),
    ];
    for (src, want) in cases {
        let t = Template::parse(src).unwrap();
        assert!(!t.is_static(), "{src}");
        assert_eq!(t.as_static(), None);
        assert_eq!(t.expand(&req()), want, "{src}");
    }
}

#[test]
fn expansion_may_carry_unsafe_bytes_for_the_caller_to_check() {
    let v = expand("%REQ(x-evil)%");
    assert!(!safe_value(&v));
}

#[test]
fn unique_id_is_a_fresh_uuid_v4() {
    let a = expand("%UNIQUE_ID%");
    let b = expand("%UNIQUE_ID%");
    assert_ne!(a, b);
    for id in [&a, &b] {
        assert_eq!(id.len(), 36, "{id}");
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(id
            .bytes()
            .all(|c| c == b'-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(groups[2].starts_with('4'), "{id}");
        assert!(
            matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
    }
}

#[test]
fn uuid_formatting() {
    assert_eq!(
        format_uuid_v4([0; 16]),
        "00000000-0000-4000-8000-000000000000"
    );
    assert_eq!(
        format_uuid_v4([0xff; 16]),
        "ffffffff-ffff-4fff-bfff-ffffffffffff"
    );
    let b: [u8; 16] = core::array::from_fn(|i| i as u8);
    assert_eq!(format_uuid_v4(b), "00010203-0405-4607-8809-0a0b0c0d0e0f");
}

#[test]
fn addresses_without_port() {
    for (addr, want) in [
        ("10.0.0.1:80", "10.0.0.1"),
        ("[::1]:1234", "::1"),
        ("[2001:db8::5]:443", "2001:db8::5"),
        ("10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("host:", "host:"),
        ("unix", "unix"),
        ("[", ""),
    ] {
        assert_eq!(crate::request::without_port(addr), want, "{addr}");
    }
    let r = FakeSource::new(&[]).client(Some("[::1]:1234")).request();
    let t = Template::parse("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_REMOTE_ADDRESS%")
        .unwrap();
    assert_eq!(t.expand(&r), "::1|[::1]:1234");
    let r = FakeSource::new(&[]).client(None).request();
    assert_eq!(t.expand(&r), "|");
}

#[test]
fn parse_errors_name_the_problem() {
    let cases = [
        ("%BOGUS%", "unknown operator %BOGUS%"),
        ("a %FOO(x)% b", "unknown operator %FOO(x)%"),
        ("%", "'%' must start an operator"),
        ("50%", "'%' must start an operator"),
        ("% x", "'%' must start an operator"),
        ("%req(x)%", "'%' must start an operator"),
        ("%REQ%", "%REQ% needs a header name"),
        ("%REQ()%", "invalid header name"),
        ("%REQ(a b)%", "invalid header name"),
        ("%REQ(a?b?c)%", "at most one alternative"),
        ("%REQ(x", "no closing ')'"),
        ("%REQ(x)", "not closed by '%'"),
        ("%PATH", "not closed by '%'"),
        ("%PATH(x)%", "takes no argument"),
        ("%UNIQUE_ID()%", "takes no argument"),
        (
            "%START_TIME(%Y)%",
            "unsupported time format in %START_TIME(%Y)%",
        ),
        ("%START_TIME()%", "unsupported time format"),
        ("a\r\nb", "CR, LF or NUL"),
        ("a\nb", "CR, LF or NUL"),
        ("a\0b", "CR, LF or NUL"),
        ("%REQ(x)%\n", "CR, LF or NUL"),
    ];
    for (src, want) in cases {
        match Template::parse(src) {
            Ok(t) => panic!("{src:?} parsed as {t:?}"),
            Err(e) => assert!(e.contains(want), "{src:?}: {e}"),
        }
    }
}

#[test]
fn deserializes_from_string() {
    let t: Template = serde_json::from_str(r#""x-%REQ(a)%""#).unwrap();
    assert_eq!(t.source(), "x-%REQ(a)%");
    let e = serde_json::from_str::<Template>(r#""%NOPE%""#).unwrap_err();
    assert!(e.to_string().contains("unknown operator %NOPE%"), "{e}");
}

#[test]
fn request_time_is_stable_within_a_request() {
    let r = req();
    let t = Template::parse("%START_TIME%/%START_TIME(%s)%").unwrap();
    assert_eq!(t.expand(&r), t.expand(&r));
}
