use super::*;

fn sm(json: &str) -> StringMatcher {
    serde_json::from_str(json).unwrap()
}

fn sm_err(json: &str) -> String {
    match serde_json::from_str::<StringMatcher>(json) {
        Ok(m) => panic!("{json} parsed as {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn string_matcher_kinds() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (r#"{"exact":"/a"}"#, &["/a"], &["/A", "/a/", "", "/ab"]),
        (r#"{"exact":""}"#, &[""], &["a"]),
        (
            r#"{"prefix":"/api"}"#,
            &["/api", "/api/x", "/apix"],
            &["/ap", "/API", "x/api"],
        ),
        (
            r#"{"suffix":".json"}"#,
            &["a.json", ".json"],
            &["json", "a.JSON", "a.json?"],
        ),
        (
            r#"{"contains":"adm"}"#,
            &["adm", "/x/admin", "xadm"],
            &["ad", "ADM"],
        ),
        (
            r#"{"safe_regex":{"regex":"/a/[0-9]+"}}"#,
            &["/a/1", "/a/123"],
            &["/a/", "/a/1x", "x/a/1", "/A/1"],
        ),
        (
            r#"{"safe_regex":{"google_re2":{},"regex":"a|b"}}"#,
            &["a", "b"],
            &["ab", "xa", "a\nb"],
        ),
        (
            r#"{"safe_regex":{"regex":"(?m)^a$"}}"#,
            &["a"],
            &["a\nb", "b\na"],
        ),
        (
            r#"{"exact":"/Admin","ignore_case":true}"#,
            &["/admin", "/ADMIN", "/aDmIn"],
            &["/admin/"],
        ),
        (
            r#"{"prefix":"/API","ignore_case":true}"#,
            &["/api/x", "/Api"],
            &["/ap"],
        ),
        (
            r#"{"suffix":".JSON","ignore_case":true}"#,
            &["a.json", "b.Json"],
            &["a.jso"],
        ),
        (
            r#"{"contains":"Adm","ignore_case":true}"#,
            &["/ADMIN", "xadm"],
            &["/ad"],
        ),
        (
            r#"{"safe_regex":{"regex":"/admin(/.*)?"},"ignore_case":true}"#,
            &["/ADMIN", "/Admin/x"],
            &["/administrator"],
        ),
        (r#"{"exact":"é","ignore_case":true}"#, &["é"], &["É"]),
        (r#"{"prefix":"é"}"#, &["éa"], &["e", ""]),
        (r#"{"suffix":"é"}"#, &["aé"], &["a", ""]),
    ];
    for (json, hits, misses) in cases {
        let m = sm(json);
        for v in *hits {
            assert!(m.matches(v), "{json} should match {v:?}");
        }
        for v in *misses {
            assert!(!m.matches(v), "{json} should not match {v:?}");
        }
    }
}

#[test]
fn string_matcher_errors() {
    for (json, want) in [
        (r#"{}"#, "exactly one of"),
        (r#"{"ignore_case":true}"#, "exactly one of"),
        (r#"{"exact":"a","prefix":"b"}"#, "exactly one of"),
        (
            r#"{"prefix":"a","safe_regex":{"regex":"a"}}"#,
            "exactly one of",
        ),
        (r#"{"prefix":""}"#, "must not be empty"),
        (r#"{"suffix":""}"#, "must not be empty"),
        (r#"{"contains":""}"#, "must not be empty"),
        (r#"{"safe_regex":{"regex":"("}}"#, "invalid regex"),
        (r#"{"safe_regex":{"regex":"a)|(b"}}"#, "invalid regex"),
        (r#"{"safe_regex":{}}"#, "missing field `regex`"),
        (
            r#"{"safe_regex":{"regex":"a","max_program_size":1}}"#,
            "unknown field",
        ),
        (r#"{"regex":"a"}"#, "unknown field"),
        (r#"{"exact":1}"#, "invalid type"),
    ] {
        let e = sm_err(json);
        assert!(e.contains(want), "{json}: {e}");
    }
    let long = format!(
        r#"{{"safe_regex":{{"regex":"{}"}}}}"#,
        "a".repeat(MAX_REGEX_LEN + 1)
    );
    assert!(sm_err(&long).contains("limit is 1024"));
    let ok = format!(
        r#"{{"safe_regex":{{"regex":"{}"}}}}"#,
        "a".repeat(MAX_REGEX_LEN)
    );
    assert!(sm(&ok).matches(&"a".repeat(MAX_REGEX_LEN)));
}

fn hm(json: &str) -> HeaderMatcher {
    serde_json::from_str(json).unwrap()
}

#[test]
fn header_matcher() {
    let present = hm(r#"{"name":"X-Key"}"#);
    assert_eq!(present.name(), "x-key");
    assert!(present.matches(Some("")));
    assert!(!present.matches(None));

    let explicit = hm(r#"{"name":"x","present_match":true}"#);
    assert!(explicit.matches(Some("v")) && !explicit.matches(None));

    let absent = hm(r#"{"name":"x","present_match":false}"#);
    assert!(!absent.matches(Some("v")) && absent.matches(None));

    let absent_inverted = hm(r#"{"name":"x","present_match":false,"invert_match":true}"#);
    assert!(absent_inverted.matches(Some("v")) && !absent_inverted.matches(None));

    let value = hm(r#"{"name":"x","string_match":{"exact":"yes"}}"#);
    assert!(value.matches(Some("yes")));
    assert!(!value.matches(Some("no")));
    assert!(!value.matches(None));

    // Envoy: an absent header does not match the string, so the inverted
    // matcher matches it.
    let not_value = hm(r#"{"name":"x","string_match":{"exact":"yes"},"invert_match":true}"#);
    assert!(!not_value.matches(Some("yes")));
    assert!(not_value.matches(Some("no")));
    assert!(not_value.matches(None));

    let pseudo = hm(r#"{"name":":method","string_match":{"exact":"GET"}}"#);
    assert_eq!(pseudo.name(), ":method");
    assert_eq!(hm(r#"{"name":"Host"}"#).name(), ":authority");
}

#[test]
fn header_matcher_errors() {
    for (json, want) in [
        (
            r#"{"name":"x","present_match":true,"string_match":{"exact":"a"}}"#,
            "not both",
        ),
        (r#"{"name":"a b"}"#, "invalid header name"),
        (r#"{"name":""}"#, "invalid header name"),
        (r#"{}"#, "missing field `name`"),
        (r#"{"name":"x","exact_match":"a"}"#, "unknown field"),
    ] {
        let e = serde_json::from_str::<HeaderMatcher>(json)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{json}: {e}");
    }
}
