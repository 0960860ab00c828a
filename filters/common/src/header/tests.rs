use super::*;

#[test]
fn mutable_names() {
    let ok = MutableHeaderName::try_from("X-Foo".to_string()).unwrap();
    assert_eq!(ok.as_str(), "x-foo");
    for bad in [":path", ":authority", "host", "Host", "x y", ""] {
        assert!(
            MutableHeaderName::try_from(bad.to_string()).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        HeaderName::try_from(":Method".to_string())
            .unwrap()
            .as_str(),
        ":method"
    );
}

#[test]
fn header_value_option_defaults_and_actions() {
    let o: HeaderValueOption =
        serde_json::from_str(r#"{"header":{"key":"X-A","value":"v"}}"#).unwrap();
    assert_eq!(o.header.key.as_str(), "x-a");
    assert_eq!(o.header.value.as_static(), Some("v"));
    assert_eq!(o.append_action, AppendAction::AppendIfExistsOrAdd);
    assert!(!o.keep_empty_value);
    for (s, a) in [
        ("APPEND_IF_EXISTS_OR_ADD", AppendAction::AppendIfExistsOrAdd),
        ("ADD_IF_ABSENT", AppendAction::AddIfAbsent),
        (
            "OVERWRITE_IF_EXISTS_OR_ADD",
            AppendAction::OverwriteIfExistsOrAdd,
        ),
        ("OVERWRITE_IF_EXISTS", AppendAction::OverwriteIfExists),
    ] {
        let json = format!(
            r#"{{"header":{{"key":"x","value":""}},"append_action":"{s}","keep_empty_value":true}}"#
        );
        let o: HeaderValueOption = serde_json::from_str(&json).unwrap();
        assert_eq!(o.append_action, a);
        assert!(o.keep_empty_value);
    }
}

#[test]
fn header_value_option_errors() {
    let bad = [
        r#"{"header":{"key":"host","value":"v"}}"#,
        r#"{"header":{"key":":path","value":"v"}}"#,
        r#"{"header":{"key":"a b","value":"v"}}"#,
        r#"{"header":{"key":"x","value":"v","extra":1}}"#,
        r#"{"header":{"key":"x","value":"v"},"append":true}"#,
        r#"{"header":{"key":"x","value":"v"},"append_action":"APPEND"}"#,
        r#"{"header":{"key":"x","value":"a\r\nb"}}"#,
        r#"{"header":{"key":"x"}}"#,
    ];
    for json in bad {
        assert!(
            serde_json::from_str::<HeaderValueOption>(json).is_err(),
            "{json}"
        );
    }
}
