use super::*;

fn code(json: &str) -> Result<u16, String> {
    serde_json::from_str::<HttpStatus>(json)
        .map(HttpStatus::code)
        .map_err(|e| e.to_string())
}

#[test]
fn numbers_and_names() {
    assert_eq!(code(r#"{"code": 403}"#), Ok(403));
    assert_eq!(code(r#"{"code": 503}"#), Ok(503));
    assert_eq!(code(r#"{"code": "ServiceUnavailable"}"#), Ok(503));
    assert_eq!(code(r#"{"code": "Unauthorized"}"#), Ok(401));
    for bad in [
        r#"{"code": 200}"#,
        r#"{"code": 302}"#,
        r#"{"code": 600}"#,
        r#"{"code": -1}"#,
        r#"{"code": 403.5}"#,
        r#"{"code": "OK"}"#,
        r#"{"code": 403, "x": 1}"#,
        r#"{}"#,
    ] {
        assert!(code(bad).is_err(), "{bad}");
    }
    assert!(code(r#"{"code": 200}"#).unwrap_err().contains("4xx or 5xx"));
}
