use super::*;

#[test]
fn names_round_trip_and_are_case_sensitive() {
    for a in Alg::ALL {
        assert_eq!(Alg::from_name(a.name()), Some(a));
    }
    for bad in [
        "none", "None", "NONE", "rs256", "HS512", "ES512", "", "RS256 ",
    ] {
        assert_eq!(Alg::from_name(bad), None, "{bad}");
    }
}
