use super::*;

fn f(json: &str) -> Result<Fraction, String> {
    serde_json::from_str::<Fraction>(json).map_err(|e| e.to_string())
}

#[test]
fn shapes() {
    assert_eq!(
        f(r#"{"default_value":{"numerator":50}}"#)
            .unwrap()
            .per_million,
        500_000
    );
    assert_eq!(
        f(r#"{"default_value":{"numerator":100,"denominator":"HUNDRED"}}"#).unwrap(),
        Fraction::ALL
    );
    assert_eq!(
        f(r#"{"default_value":{"numerator":25,"denominator":"TEN_THOUSAND"}}"#)
            .unwrap()
            .per_million,
        2_500
    );
    assert_eq!(
        f(r#"{"default_value":{"numerator":7,"denominator":"MILLION"}}"#)
            .unwrap()
            .per_million,
        7
    );
    assert_eq!(
        f(r#"{"default_value":{},"runtime_key":"x"}"#)
            .unwrap()
            .per_million,
        0
    );
    assert!(f(r#"{"default_value":{"numerator":101}}"#)
        .unwrap_err()
        .contains("above the denominator"));
    assert!(f(r#"{"default_value":{"numerator":1,"denominator":"THOUSAND"}}"#).is_err());
    assert!(f(r#"{"numerator":1}"#).is_err());
    assert!(f("50").is_err());
}

#[test]
fn admits() {
    let never = Fraction { per_million: 0 };
    let half = Fraction {
        per_million: 500_000,
    };
    assert!(Fraction::ALL.admits(|| panic!("not drawn")));
    assert!(!never.admits(|| panic!("not drawn")));
    assert!(half.admits(|| 499_999));
    assert!(!half.admits(|| 500_000));
    assert!(half.admits(|| 1_000_000)); // wraps to 0
    assert!(!half.admits(|| u32::MAX)); // 4294967295 % 1e6 = 967295
}
