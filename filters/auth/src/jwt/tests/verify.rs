use super::*;

#[test]
fn every_algorithm_verifies() {
    let p = provider(json!({}));
    for name in [
        "rs256",
        "rs384",
        "rs512",
        "ps256",
        "ps384",
        "ps512",
        "es256",
        "es384",
        "eddsa",
        "hs256",
        "rs256_rsa2",
        "rs256_no_kid",
        "es256_no_kid",
        "aud_list",
        "exp_float",
    ] {
        let v = check(&p, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.identity.as_deref(), Some("alice"), "{name}");
        assert_eq!(v.exp, Some(EXP), "{name}");
        assert_eq!(v.claims["iss"], ISS, "{name}");
        assert_eq!(
            tok(name).split('.').nth(1),
            Some(v.payload_segment.as_str())
        );
    }
}

#[test]
fn a_fraction_of_a_second_is_dropped() {
    let v = check(&provider(json!({})), "exp_fraction").unwrap();
    assert_eq!(v.exp, Some(EXP));
}

#[test]
fn expiry_honours_the_clock_skew() {
    let p = provider(json!({}));
    // exp = NOW + 600, default skew 60: valid strictly before exp + 60.
    assert!(check_at(&p, "short_lived", NOW + 659).is_ok());
    assert_eq!(
        check_at(&p, "short_lived", NOW + 660).unwrap_err().reason,
        Reason::Expired
    );
    assert_eq!(
        check_at(&p, "short_lived", u64::MAX).unwrap_err().reason,
        Reason::Expired
    );
    assert_eq!(outcome(&p, "expired"), "expired");
    assert_eq!(outcome(&p, "expired_in_skew"), "ok");
    assert_eq!(outcome(&p, "nbf_future"), "not_yet_valid");
    assert_eq!(outcome(&p, "nbf_in_skew"), "ok");
    assert_eq!(outcome(&p, "iat_future"), "not_yet_valid");
    let strict = provider(json!({"clock_skew_seconds": 0}));
    assert_eq!(outcome(&strict, "expired_in_skew"), "expired");
    assert_eq!(outcome(&strict, "nbf_in_skew"), "not_yet_valid");
    assert!(check_at(&strict, "short_lived", NOW + 599).is_ok());
    assert_eq!(
        check_at(&strict, "short_lived", NOW + 600)
            .unwrap_err()
            .reason,
        Reason::Expired
    );
    // A huge skew saturates instead of overflowing.
    let lax = provider(json!({"clock_skew_seconds": u32::MAX}));
    assert_eq!(outcome(&lax, "expired"), "ok");
    assert_eq!(outcome(&lax, "exp_u64_max"), "ok");
}

#[test]
fn expiration_requirements() {
    let p = provider(json!({}));
    assert_eq!(
        outcome(&p, "no_exp"),
        "ok",
        "Envoy's require_expiration defaults to false"
    );
    assert_eq!(check(&p, "no_exp").unwrap().exp, None);
    let p = provider(json!({"require_expiration": true}));
    assert_eq!(outcome(&p, "no_exp"), "missing_exp");
    assert_eq!(outcome(&p, "rs256"), "ok");
    // max_lifetime bounds exp - now, and implies require_expiration (Envoy).
    let p = provider(json!({"max_lifetime": "1h"}));
    assert_eq!(outcome(&p, "no_exp"), "missing_exp");
    assert_eq!(outcome(&p, "rs256"), "lifetime_too_long");
    assert_eq!(outcome(&p, "exp_u64_max"), "lifetime_too_long");
    assert_eq!(outcome(&p, "short_lived"), "ok");
    assert!(check_at(&p, "rs256", EXP - 3600).is_ok());
}

#[test]
fn issuer_audience_subject() {
    let p = provider(json!({}));
    assert_eq!(outcome(&p, "wrong_iss"), "bad_issuer");
    assert_eq!(outcome(&p, "no_iss"), "bad_issuer");
    assert_eq!(outcome(&p, "wrong_aud"), "bad_audience");
    assert_eq!(outcome(&p, "wrong_aud_list"), "bad_audience");
    assert_eq!(outcome(&p, "no_aud"), "bad_audience");
    assert_eq!(outcome(&p, "aud_number"), "malformed");
    assert_eq!(Reason::BadAudience.status(), 403);
    assert_eq!(Reason::BadIssuer.status(), 401);
    // Unset issuer and audiences check nothing (Envoy).
    let open = provider(json!({"issuer": null, "audiences": null}));
    for name in ["wrong_iss", "no_iss", "wrong_aud", "no_aud", "aud_number"] {
        assert_eq!(outcome(&open, name), "ok", "{name}");
    }
    let empty_issuer = provider(json!({"issuer": ""}));
    assert_eq!(outcome(&empty_issuer, "wrong_iss"), "ok");
    let p = provider(json!({"subjects": {"prefix": "ali"}}));
    assert_eq!(outcome(&p, "rs256"), "ok");
    assert_eq!(outcome(&p, "no_sub"), "bad_subject");
    let p = provider(json!({"subjects": {"exact": "bob"}}));
    assert_eq!(outcome(&p, "rs256"), "bad_subject");
}

#[test]
fn identity_and_claims_as_header_text() {
    let v = check(&provider(json!({"identity_claim": "email"})), "claims_rich").unwrap();
    assert_eq!(v.identity.as_deref(), Some("alice@example.com"));
    let text = |name| claim_text(&v.claims, name);
    assert_eq!(text("sub").as_deref(), Some("alice"));
    assert_eq!(text("admin").as_deref(), Some("true"));
    assert_eq!(text("level").as_deref(), Some("3"));
    assert_eq!(text("ratio").as_deref(), Some("0.5"));
    assert_eq!(text("org.team.name").as_deref(), Some("core"));
    assert_eq!(text("groups"), None);
    assert_eq!(text("org"), None);
    assert_eq!(text("org.nope"), None);
    assert_eq!(text("nope"), None);
    assert_eq!(text(""), None);
    assert_eq!(
        check(&provider(json!({})), "no_sub").unwrap().identity,
        None
    );
    let mut claims = serde_json::Map::new();
    claims.insert("a.b".into(), json!("dotted key"));
    claims.insert("x".into(), json!("line\r\nbreak"));
    assert_eq!(claim_text(&claims, "a.b").as_deref(), Some("dotted key"));
    assert_eq!(claim_text(&claims, "x"), None);
}

#[test]
fn claims_as_claim_to_headers_values_as_envoy_writes_them() {
    let claims = json!({"s": "text", "e": "", "i": 42, "w": 7.0, "f": 1.5, "b": false,
                        "o": {"x": "y"}, "l": ["a", "b"], "n": null});
    let claims = claims.as_object().unwrap();
    let h = |name| claim_header(claims, name);
    assert_eq!(h("s").as_deref(), Some("text"));
    assert_eq!(h("e"), None);
    assert_eq!(h("i").as_deref(), Some("42"));
    assert_eq!(h("w").as_deref(), Some("7"));
    assert_eq!(h("f").as_deref(), Some("1.500000"));
    assert_eq!(h("b").as_deref(), Some("false"));
    assert_eq!(h("o").as_deref(), Some("eyJ4IjoieSJ9"));
    assert_eq!(h("l").as_deref(), Some("WyJhIiwiYiJd"));
    assert_eq!(h("n"), None);
    assert_eq!(h("o.x").as_deref(), Some("y"));
}

#[test]
fn www_authenticate_values() {
    assert_eq!(
        www_authenticate("api", Reason::Missing),
        "Bearer realm=\"api\""
    );
    assert_eq!(
        www_authenticate("api", Reason::Expired),
        "Bearer realm=\"api\", error=\"invalid_token\""
    );
    assert_eq!(
        www_authenticate("a\"b\\c", Reason::Missing),
        "Bearer realm=\"abc\""
    );
    for r in Reason::ALL {
        assert!(!r.name().is_empty());
        assert_eq!(r.status() == 403, r == Reason::BadAudience);
    }
}
