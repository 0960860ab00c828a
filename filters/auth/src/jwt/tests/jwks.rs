use super::*;

#[test]
fn fixture_set_parses_every_key() {
    let (jwks, skipped) = Jwks::parse(JWKS).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let kinds: Vec<_> = jwks
        .keys()
        .iter()
        .map(|k| (k.kid.clone().unwrap(), k.alg.map(Alg::name)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("rsa1".to_string(), None),
            ("rsa2".to_string(), Some("RS256")),
            ("ec256".to_string(), Some("ES256")),
            ("ec384".to_string(), Some("ES384")),
            ("ed1".to_string(), Some("EdDSA")),
        ]
    );
}

#[test]
fn bad_keys_are_skipped_with_a_reason() {
    let (jwks, skipped) = Jwks::parse(JWKS_MIXED).unwrap();
    let kids: Vec<_> = jwks.keys().iter().map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, [Some("good")]);
    let reason = |kid: &str| {
        skipped
            .iter()
            .find(|s| s.kid.as_deref() == Some(kid))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{kid} not skipped"))
    };
    assert!(
        reason("small-rsa").contains("1024 bits"),
        "{}",
        reason("small-rsa")
    );
    assert!(reason("p521").contains("unsupported EC curve"));
    assert!(reason("enc").contains("\"use\""));
    assert!(reason("oct").contains("local_hmac_secret"));
    assert!(reason("unknown-kty").contains("unsupported kty"));
    assert!(reason("rsa-alg-es256").contains("does not fit"));
    assert!(reason("bad-n").contains("base64url"));
    assert!(reason("off-curve").contains("not a point on P-256"));
    assert!(reason("ec-private").contains("private"));
    assert!(skipped
        .iter()
        .any(|s| s.index == 9 && s.reason == "not a JSON object"));
    assert_eq!(skipped.len(), 10);
}

#[test]
fn unusable_sets_are_errors() {
    for (text, want) in [
        ("", "invalid JWKS JSON"),
        ("[]", "\"keys\" array"),
        ("{}", "\"keys\" array"),
        (r#"{"keys": {}}"#, "\"keys\" array"),
        (r#"{"keys": []}"#, "no keys"),
        (
            r#"{"keys": [{"kty": "oct", "k": "AAAA"}]}"#,
            "no usable key (keys[0]: oct",
        ),
        (r#"{"keys": [1, {"kty": "EC"}]}"#, "keys[1]: no \"crv\""),
    ] {
        let e = Jwks::parse(text).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
    let huge = format!(
        "{{\"keys\":[],\"x\":\"{}\"}}",
        "a".repeat(crate::jwt::jwks::MAX_JWKS_BYTES)
    );
    assert!(Jwks::parse(&huge).unwrap_err().contains("larger than"));
}

#[test]
fn key_members_are_checked() {
    let good: Value = serde_json::from_str::<Value>(JWKS).unwrap()["keys"][0].clone();
    let with = |k: &str, v: Value| {
        let mut key = good.clone();
        key[k] = v;
        Jwks::parse(&json!({"keys": [key]}).to_string())
            .map(|_| ())
            .unwrap_err()
    };
    assert!(with("key_ops", json!(["sign"])).contains("key_ops"));
    assert!(with("kid", json!(5)).contains("kid"));
    assert!(with("alg", json!("none")).contains("unsupported alg"));
    assert!(with("alg", json!(1)).contains("not a string"));
    assert!(with("e", json!("")).contains("empty"));
    assert!(with("e", json!("AQ")).contains("invalid RSA key"), "e = 1");
    assert!(with("e", json!("AAE")).contains("invalid RSA key"), "e = 1");
    assert!(with("e", json!("AA")).contains("zero"));
    assert!(with("n", json!("AAAA")).contains("zero"));
    let mut ok = good.clone();
    ok["key_ops"] = json!(["verify"]);
    ok["x5c"] = json!(["ignored"]);
    assert!(Jwks::parse(&json!({"keys": [ok]}).to_string()).is_ok());
    // A 4097-bit modulus is refused (the rsa crate's bound): verifying cost
    // grows with the key.
    let mut big = good.clone();
    big["n"] = json!(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        [[1u8].as_slice(), &[0xff; 512]].concat()
    ));
    assert!(Jwks::parse(&json!({"keys": [big]}).to_string())
        .unwrap_err()
        .contains("invalid RSA key"));
}

#[test]
fn a_modulus_with_leading_zero_bytes_verifies_the_same() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut set: Value = serde_json::from_str(JWKS).unwrap();
    let n = set["keys"][0]["n"].as_str().unwrap().to_string();
    let padded = [vec![0u8, 0], URL_SAFE_NO_PAD.decode(n).unwrap()].concat();
    set["keys"][0]["n"] = json!(URL_SAFE_NO_PAD.encode(padded));
    let p = provider(json!({"local_jwks": {"inline_string": set.to_string()}}));
    assert!(check_at(&p, "rs256", NOW).is_ok());
}
