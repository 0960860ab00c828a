use super::*;

#[test]
fn objects_parse() {
    let m = parse_object(br#"{"a":1,"b":[1,2.5,-3,"x",null,true,{"c":{}}]}"#).unwrap();
    assert_eq!(m["a"], 1);
    assert_eq!(m["b"][1], 2.5);
    assert_eq!(m["b"][2], -3);
}

#[test]
fn duplicates_are_refused_at_any_depth() {
    for input in [
        r#"{"a":1,"a":1}"#,
        r#"{"a":1,"\u0061":2}"#,
        r#"{"x":{"a":1,"a":2}}"#,
        r#"{"x":[{"a":1,"b":0,"a":2}]}"#,
    ] {
        assert_eq!(parse_object(input.as_bytes()), Err(DUPLICATE), "{input}");
    }
}

#[test]
fn non_objects_and_garbage_are_refused() {
    assert_eq!(parse_object(b"[1]"), Err("not a JSON object"));
    assert_eq!(parse_object(b"\"x\""), Err("not a JSON object"));
    for input in [&b"{} x"[..], b"{", b"", b"\xff", b"{\"a\":1e999}"] {
        assert!(parse_object(input).is_err(), "{input:?}");
    }
    // Deep nesting hits serde_json's recursion limit instead of the stack.
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(parse_object(deep.as_bytes()), Err("invalid JSON"));
}
