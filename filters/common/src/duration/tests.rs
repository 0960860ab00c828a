use super::*;

#[test]
fn accepted_forms() {
    let cases = [
        ("1s", NS_PER_S),
        ("0.5s", 500 * NS_PER_MS),
        ("3600s", 3600 * NS_PER_S),
        ("500ms", 500 * NS_PER_MS),
        ("1ms", NS_PER_MS),
        ("1m", 60 * NS_PER_S),
        ("1.5m", 90 * NS_PER_S),
        ("1h", 3600 * NS_PER_S),
        ("0.001s", NS_PER_MS),
        ("1.0000000001s", NS_PER_S),
    ];
    for (s, want) in cases {
        assert_eq!(parse(s), Ok(want), "{s}");
    }
}

#[test]
fn refused_forms() {
    for s in [
        "",
        "s",
        "1",
        "1d",
        "-1s",
        "1.s",
        ".5s",
        "1 s",
        "1e3s",
        "1.5.5s",
        "0s",
        "0.0001s",
        "1us",
        "99999999999h",
    ] {
        assert!(parse(s).is_err(), "{s}");
    }
    assert!(parse("0.5ms").unwrap_err().contains("shorter than 1ms"));
    assert!(parse("99999999999h").unwrap_err().contains("too long"));
}

#[test]
fn zero_only_where_allowed() {
    assert!(serde_json::from_str::<Duration>("\"0s\"").is_err());
    let z: DurationOrZero = serde_json::from_str("\"0s\"").unwrap();
    assert_eq!(z.0.nanos, 0);
    let d: DurationOrZero = serde_json::from_str("\"5m\"").unwrap();
    assert_eq!(d.0.as_secs_ceil(), 300);
    assert!(serde_json::from_str::<DurationOrZero>("\"0.5ms\"").is_err());
}

#[test]
fn serde_refuses_numbers_with_a_hint() {
    let e = serde_json::from_str::<Duration>("1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected a duration string"), "{e}");
    let d: Duration = serde_json::from_str("\"2s\"").unwrap();
    assert_eq!(d.nanos, 2 * NS_PER_S);
}

#[test]
fn protobuf_duration_objects() {
    let d = |j: &str| serde_json::from_str::<Duration>(j).map(|d| d.nanos);
    assert_eq!(d(r#"{"seconds": 300}"#).ok(), Some(300 * NS_PER_S));
    assert_eq!(
        d(r#"{"seconds": 1, "nanos": 500000000}"#).ok(),
        Some(1_500 * NS_PER_MS)
    );
    assert_eq!(d(r#"{"nanos": 2000000}"#).ok(), Some(2 * NS_PER_MS));
    for bad in [
        r#"{}"#,
        r#"{"seconds": -1}"#,
        r#"{"seconds": 1, "x": 2}"#,
        r#"{"nanos": 1000000000}"#,
        r#"{"seconds": 0}"#,
        r#"{"nanos": 10}"#,
        r#"{"seconds": 1.5}"#,
    ] {
        assert!(d(bad).is_err(), "{bad}");
    }
    let z: DurationOrZero = serde_json::from_str(r#"{"seconds": 0}"#).unwrap();
    assert_eq!(z.0.nanos, 0);
}
