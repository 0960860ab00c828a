use super::*;
use crate::config::parse;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Holder {
    secret: Secret,
}

// Names unique to this test module: tests run in parallel in one process.
const SET: &str = "TOLLGATE_SECRET_TEST_SET";
const EMPTY: &str = "TOLLGATE_SECRET_TEST_EMPTY";

fn init() {
    // Only ever written here, to the same values, before being read.
    std::env::set_var(SET, "s3cret-value");
    std::env::set_var(EMPTY, "");
}

#[test]
fn inline_and_env() {
    init();
    let h: Holder = parse(br#"{"secret": "inline"}"#).expect("inline");
    assert_eq!((h.secret.text(), h.secret.env()), ("inline", None));
    let h: Holder = parse(format!(r#"{{"secret": {{"env": "{SET}"}}}}"#).as_bytes()).expect("env");
    assert_eq!(h.secret.text(), "s3cret-value");
    assert_eq!(h.secret.env(), Some(SET));
    assert!(!format!("{h:?}").contains("s3cret"));
}

#[test]
fn errors_name_the_field_and_variable_never_the_value() {
    init();
    for (json, want) in [
        (
            r#"{"secret": {"env": "TOLLGATE_SECRET_TEST_UNSET"}}"#.to_string(),
            "secret: environment variable TOLLGATE_SECRET_TEST_UNSET is not set",
        ),
        (
            format!(r#"{{"secret": {{"env": "{EMPTY}"}}}}"#),
            "secret: environment variable TOLLGATE_SECRET_TEST_EMPTY is empty",
        ),
        (
            r#"{"secret": {"env": ""}}"#.to_string(),
            "env needs a variable name",
        ),
        (
            r#"{"secret": {"file": "x"}}"#.to_string(),
            "unknown field `file`",
        ),
        (r#"{"secret": {}}"#.to_string(), "missing field `env`"),
        (
            r#"{"secret": 5}"#.to_string(),
            "a string or {\"env\": \"NAME\"}",
        ),
    ] {
        let err = parse::<Holder>(json.as_bytes())
            .expect_err(&json)
            .to_string();
        assert!(err.contains(want), "{json}: {err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
