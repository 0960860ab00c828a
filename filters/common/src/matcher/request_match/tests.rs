use super::*;
use crate::request::Request;
use crate::testing::FakeSource;

fn rm(json: &str) -> RequestMatch {
    serde_json::from_str(json).unwrap()
}

fn req(headers: Vec<(&'static str, &'static str)>) -> Request<FakeSource> {
    FakeSource::new(&headers).client(None).request()
}

#[test]
fn empty_match_matches_everything() {
    let m = rm("{}");
    assert!(m.is_empty());
    assert!(m.matches(&req(vec![])));
    assert!(m.matches(&req(vec![(":path", "bad")])));
}

#[test]
fn path_uses_normalized_path() {
    let m = rm(r#"{"path":{"prefix":"/admin"}}"#);
    assert!(!m.is_empty());
    for p in [
        "/admin",
        "/admin/x",
        "//admin",
        "/x/../admin",
        "/%61dmin",
        "/admin;a=b",
        "/x/..;/admin/y",
    ] {
        assert!(m.matches(&req(vec![(":path", p)])), "{p}");
    }
    for p in ["/", "/public", "/adm", "/%zz/admin", "admin", ""] {
        assert!(!m.matches(&req(vec![(":path", p)])), "{p}");
    }
    assert!(!m.matches(&req(vec![])));
}

#[test]
fn methods_any_of() {
    let m = rm(r#"{"methods":["get","Post"]}"#);
    assert!(m.matches(&req(vec![(":method", "GET")])));
    assert!(m.matches(&req(vec![(":method", "POST")])));
    assert!(m.matches(&req(vec![(":method", "get")])));
    assert!(!m.matches(&req(vec![(":method", "DELETE")])));
    assert!(!m.matches(&req(vec![])));
}

#[test]
fn headers_all_must_match() {
    let m = rm(r#"{"headers":[{"name":"a"},{"name":"b","string_match":{"exact":"1"}}]}"#);
    assert!(m.matches(&req(vec![("a", "x"), ("b", "1")])));
    assert!(!m.matches(&req(vec![("a", "x"), ("b", "2")])));
    assert!(!m.matches(&req(vec![("b", "1")])));
}

#[test]
fn authority_normalized() {
    let m = rm(r#"{"authority":{"exact":"api.example.com"}}"#);
    for a in [
        "api.example.com",
        "API.Example.com",
        "api.example.com:8443",
        "api.example.com.",
        "api.example.com.:80",
    ] {
        assert!(m.matches(&req(vec![(":authority", a)])), "{a}");
    }
    for a in ["example.com", "api.example.com.evil", "api.example.com:x"] {
        assert!(!m.matches(&req(vec![(":authority", a)])), "{a}");
    }
    assert!(!m.matches(&req(vec![])));
}

#[test]
fn host_header_matcher_reads_authority() {
    let m = rm(r#"{"headers":[{"name":"host","string_match":{"prefix":"api."}}]}"#);
    assert!(m.matches(&req(vec![(":authority", "api.example.com")])));
    assert!(!m.matches(&req(vec![("host", "api.example.com")])));
}

#[test]
fn authority_normalization() {
    for (a, want) in [
        ("Example.COM", "example.com"),
        ("example.com:8080", "example.com"),
        ("example.com.", "example.com"),
        ("[::1]:8080", "[::1]"),
        ("[::1]", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("10.0.0.1:80", "10.0.0.1"),
        (".", "."),
        ("", ""),
        ("a:b", "a:b"),
    ] {
        assert_eq!(normalize_authority(a), want, "{a}");
    }
}

#[test]
fn all_conditions_combine() {
    let m = rm(
        r#"{"path":{"exact":"/x"},"methods":["GET"],"authority":{"suffix":".com"},"headers":[{"name":"k"}]}"#,
    );
    let full = vec![
        (":path", "/x"),
        (":method", "GET"),
        (":authority", "a.com"),
        ("k", "v"),
    ];
    assert!(m.matches(&req(full.clone())));
    for skip in 0..full.len() {
        let mut partial = full.clone();
        partial.remove(skip);
        assert!(!m.matches(&req(partial)), "without {:?}", full[skip]);
    }
}

#[test]
fn request_match_errors_have_paths() {
    for (json, path, want) in [
        (
            r#"{"path":{"safe_regex":{"regex":"["}}}"#,
            "path.safe_regex.regex",
            "invalid regex",
        ),
        (r#"{"methods":["G T"]}"#, "methods[0]", "invalid method"),
        (r#"{"methods":[""]}"#, "methods[0]", "invalid method"),
        (
            r#"{"headers":[{"name":"ok"},{"name":"a b"}]}"#,
            "headers[1].name",
            "invalid header name",
        ),
        (
            r#"{"authority":{"prefix":""}}"#,
            "authority.prefix",
            "must not be empty",
        ),
        (
            r#"{"path":{"exact":"a","prefix":"b"}}"#,
            "path",
            "exactly one",
        ),
        (r#"{"grpc":{}}"#, "grpc", "unknown field"),
        (
            r#"{"prefix":"/x","safe_regex":{"regex":"/y"}}"#,
            "configuration",
            "at most one of path, prefix",
        ),
        (
            r#"{"query_parameters":[{"name":""}]}"#,
            "query_parameters[0]",
            "1 to 1024",
        ),
    ] {
        let e = crate::config::parse::<RequestMatch>(json.as_bytes()).unwrap_err();
        assert_eq!(e.field, path, "{json}: {e}");
        assert!(e.reason.contains(want), "{json}: {e}");
    }
}

#[test]
fn unnormalizable_paths_match_every_path_condition_when_asked() {
    let m = rm(r#"{"path":{"prefix":"/login"},"methods":["POST"]}"#);
    for p in ["/login/%ff", "/login%00", "/%zz", "/login%", "/%c0%ae"] {
        let post = req(vec![(":path", p), (":method", "POST")]);
        assert!(!m.matches(&post), "{p}");
        assert!(m.matches_unnormalizable_path(&post), "{p}");
        // The other conditions still hold or not.
        let get = req(vec![(":path", p), (":method", "GET")]);
        assert!(!m.matches_unnormalizable_path(&get), "{p}");
    }
    let ok = req(vec![(":path", "/public"), (":method", "POST")]);
    assert!(!m.matches_unnormalizable_path(&ok));
    let login = req(vec![(":path", "//login/x"), (":method", "POST")]);
    assert!(m.matches_unnormalizable_path(&login) && m.matches(&login));
}

/// RouteMatch's fields (Envoy's router and jwt_authn): path forms on the
/// normalized path, `case_sensitive`, `query_parameters` on the raw query.
#[test]
fn route_match_fields() {
    let hit = |json: &str, path: &'static str| rm(json).matches(&req(vec![(":path", path)]));
    assert!(hit(r#"{"path":"/a"}"#, "/a?x=1"));
    assert!(!hit(r#"{"path":"/a"}"#, "/A"));
    assert!(hit(r#"{"path":"/a","case_sensitive":false}"#, "/A"));
    assert!(hit(r#"{"prefix":"/Ab","case_sensitive":false}"#, "/aB/c"));
    assert!(!hit(r#"{"prefix":"/Ab"}"#, "/aB/c"));
    assert!(hit(r#"{"prefix":"/a/b"}"#, "/a/./b/../b/c"), "normalized");
    assert!(hit(r#"{"safe_regex":{"regex":"/[a-z]+"}}"#, "/abc?q"));
    assert!(!hit(r#"{"safe_regex":{"regex":"/[a-z]+"}}"#, "/abc/d"));
    let sep = r#"{"path_separated_prefix":"/api"}"#;
    assert!(hit(sep, "/api") && hit(sep, "/api/x") && !hit(sep, "/apix"));
    let absent = r#"{"query_parameters":[{"name":"a","present_match":false}]}"#;
    assert!(hit(absent, "/x") && hit(absent, "/x?b=1") && !hit(absent, "/x?a"));
    let exact = r#"{"query_parameters":[{"name":"a","string_match":{"prefix":"v"}}]}"#;
    assert!(hit(exact, "/x?a=v1#frag") && !hit(exact, "/x?b=1#a=v") && !hit(exact, "/x?a=w&a=v"));
    let present = r#"{"query_parameters":[{"name":"a"}]}"#;
    assert!(hit(present, "/x?&a") && !hit(present, "/x"));
    // RouteMatch's forms keep the request's trailing slash, as Envoy sees it.
    let api = r#"{"prefix":"/api/"}"#;
    assert!(hit(api, "/api/") && hit(api, "/api/x") && hit(api, "/x/../api/?q"));
    assert!(!hit(api, "/api") && !hit(api, "/api?x=/"));
    assert!(hit(r#"{"path":"/a/"}"#, "/a/") && !hit(r#"{"path":"/a/"}"#, "/a"));
    assert!(hit(r#"{"path":"/"}"#, "/") && hit(r#"{"prefix":"/"}"#, "/x"));
    assert!(hit(r#"{"safe_regex":{"regex":"/d/"}}"#, "/d/"));
    // Tollgate's StringMatcher path sees it dropped (its documented rule).
    assert!(hit(r#"{"path":{"exact":"/a"}}"#, "/a/"));
    assert!(rm(r#"{"prefix":"/"}"#).has_path_condition());
    assert!(!rm(present).has_path_condition() && !rm(present).is_empty());
}
