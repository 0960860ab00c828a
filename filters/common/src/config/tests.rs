use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Inner {
    n: u32,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Cfg {
    #[serde(default)]
    items: Vec<Inner>,
    #[serde(default)]
    name: Option<String>,
}

fn err(json: &str) -> ConfigError {
    match parse::<Cfg>(json.as_bytes()) {
        Ok(v) => panic!("expected an error for {json}, got {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn empty_and_whitespace_are_empty_object() {
    for input in ["", "  \n\t", "{}"] {
        let cfg: Cfg = parse(input.as_bytes()).unwrap();
        assert_eq!(
            cfg,
            Cfg {
                items: vec![],
                name: None
            }
        );
    }
}

#[test]
fn parses_nested() {
    let cfg: Cfg = parse(br#"{"items":[{"n":1},{"n":2}],"name":"x"}"#).unwrap();
    assert_eq!(cfg.items, vec![Inner { n: 1 }, Inner { n: 2 }]);
}

#[test]
fn wrong_type_names_field_without_position() {
    let e = err(r#"{"items":[{"n":1},{"n":"two"}]}"#);
    assert_eq!(e.field, "items[1].n");
    assert!(e.reason.starts_with("invalid type: string \"two\""), "{e}");
    assert!(!e.reason.contains("line"), "{e}");
    assert_eq!(e.to_string(), format!("items[1].n: {}", e.reason));
}

#[test]
fn unknown_field_is_reported() {
    let e = err(r#"{"items":[{"n":1,"m":2}]}"#);
    assert_eq!(e.field, "items[0].m");
    assert!(e.reason.contains("unknown field `m`"), "{e}");
    let e = err(r#"{"bogus":1}"#);
    assert_eq!(e.field, "bogus");
}

#[test]
fn missing_field_is_reported_at_its_parent() {
    let e = err(r#"{"items":[{}]}"#);
    assert_eq!(e.field, "items[0]");
    assert!(e.reason.contains("missing field `n`"), "{e}");
}

#[test]
fn invalid_json_is_root_level_with_position() {
    let e = err(r#"{"items": [}"#);
    assert_eq!(e.field, ROOT_FIELD);
    assert!(e.reason.starts_with("invalid JSON at line 1 column"), "{e}");
    let e = err(r#"{"items": "#);
    assert_eq!(e.field, ROOT_FIELD);
    assert!(e.reason.contains("EOF"), "{e}");
}

#[test]
fn trailing_characters_are_rejected() {
    let e = err("{} x");
    assert_eq!(e.field, ROOT_FIELD);
    assert!(e.reason.contains("trailing characters"), "{e}");
}

#[test]
fn non_object_root() {
    for input in ["[]", "[[], \"x\"]", "null", "1", "\"x\"", " true"] {
        let e = err(input);
        assert_eq!(e.field, ROOT_FIELD);
        assert_eq!(e.reason, "must be a JSON object", "{input}");
    }
    // Not JSON at all stays a syntax error.
    assert!(err("x").reason.starts_with("invalid JSON"));
}

#[test]
fn is_std_error() {
    let e: Box<dyn std::error::Error> = Box::new(ConfigError::new("a", "b"));
    assert_eq!(e.to_string(), "a: b");
}
