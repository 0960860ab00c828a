//! Known vectors, written by Apache's `htpasswd` 2.4 (Debian apache2-utils):
//! `htpasswd -nbs|-nbm|-nb2|-nb5|-nbB alice 'p@ss w0rd:é'` and others.

use super::*;

const PW: &[u8] = "p@ss w0rd:é".as_bytes();

fn check(stored: &str, good: &[u8]) {
    let h = Hash::parse(stored).unwrap_or_else(|e| panic!("{stored}: {e}"));
    assert!(h.verify(good), "{stored} rejects the right password");
    assert!(!h.verify(b"wrong"), "{stored} accepts a wrong password");
    let mut near = good.to_vec();
    near.push(b'x');
    assert!(!h.verify(&near), "{stored} accepts a longer password");
    assert!(!h.verify(b""), "{stored} accepts the empty password");
}

#[test]
fn sha1_vectors() {
    check("{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U=", PW);
    assert!(!Hash::parse("{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U=")
        .unwrap()
        .is_slow());
}

#[test]
fn apr1_vectors() {
    check("$apr1$mqiHSvIe$sElZxJefQ8iMyrD1PfvQR/", PW);
    let empty = Hash::parse("$apr1$QCwHTucj$sKFQn./5/lMFLosrzsAzh1").unwrap();
    assert!(empty.verify(b""));
    assert!(!empty.verify(b"x"));
    // glibc's $1$ (openssl passwd -1 -salt saltsalt password).
    check("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", b"password");
}

#[test]
fn sha256_crypt_vectors() {
    check(
        "$5$rPkAMNMs6eIEIzi5$XXxIL7kjwQQpVssMCH3/MgGEdwLQXfdQelHDQZ68Fv6",
        PW,
    );
    check(
        "$5$rounds=1000$eyvllU2YfaQ.wjlf$nwmNNT7Z3Q68Ul5dPsj/oPIQ6wi9bZO4Jfve/O0.9a0",
        b"pw",
    );
    let empty =
        Hash::parse("$5$Cathhvqf0nOq43Ad$uPv//7MLEe7T6yJSnxCLCbky5U8WiSW1jP5TTfhVqT/").unwrap();
    assert!(empty.verify(b""));
}

#[test]
fn sha512_crypt_vectors() {
    check("$6$ttbaapnM9pwQzFiy$fnV5Rt9yPOY9mLF6UdEiKfJ332snlQiBFNtfENaEHoYtJ9BkBJPiZMSBh9n.MA.61IVOgIkIFa51mlB/q1Lky/", PW);
    check("$6$rounds=10000$k6ZcuufJRzDEjjUC$RrvaqXEGo0BCDpMCAYjQhe.f60oZDrRllTnChAHL6MAjrEiMzMul5GKroKSW4I9jB/gtGxubpPjSA9HJ8a3/w.", b"x");
    check(
        "$6$ia86XtT7F8zx0N9w$mHS/2a6SMjdXZ8GL0f1/dKVYLwSkP47DKigUEkcYsZTSTdyxUgQoMpSUhhTdazmp8D44EyzFrTkNzX4aVa2fb0",
        b"a-password-longer-than-sixty-four-bytes-0123456789-0123456789-0123456789",
    );
}

#[test]
fn bcrypt_vectors() {
    check(
        "$2y$05$6N6nr4S2CCeN1VcWEiFfBu9xrIFp1H8oAKoqSFpaqVuBbLnx8ubUa",
        PW,
    );
    check(
        "$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO",
        b"secret",
    );
    // The same hash under the $2b$ and $2a$ prefixes (identical for ASCII).
    check(
        "$2b$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO",
        b"secret",
    );
    check(
        "$2a$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO",
        b"secret",
    );
}

#[test]
fn refused_schemes() {
    let err = |s: &str| {
        Hash::parse(s)
            .err()
            .unwrap_or_else(|| panic!("{s} accepted"))
    };
    assert!(err("RT3LryroMXGFM").contains("DES crypt"));
    assert!(err("pw").contains("plaintext"));
    assert!(err("").contains("plaintext"));
    assert!(err("$9$abc").contains("unknown hash scheme"));
    assert!(err("{SSHA}abc").contains("unknown hash scheme"));
    assert!(err("{SHA}not base64!").contains("base64"));
    assert!(err("{SHA}YWJj").contains("20 bytes"));
    assert!(err("$apr1$toolongsalt$sElZxJefQ8iMyrD1PfvQR/").contains("salt"));
    assert!(err("$apr1$mqiHSvIe$short").contains("22 characters"));
    assert!(err("$5$salt$short").contains("43 characters"));
    assert!(err("$5$rounds=x$salt$XXxIL7kjwQQpVssMCH3/MgGEdwLQXfdQelHDQZ68Fv6").contains("number"));
    assert!(
        err("$2x$05$6N6nr4S2CCeN1VcWEiFfBu9xrIFp1H8oAKoqSFpaqVuBbLnx8ubUa").contains("variant")
    );
    assert!(err("$2y$05$short").contains("invalid bcrypt"));
    assert!(
        err("$2y$15$6N6nr4S2CCeN1VcWEiFfBu9xrIFp1H8oAKoqSFpaqVuBbLnx8ubUa").contains("too slow")
    );
}

#[test]
fn users_file() {
    let text = "# comment\n\nalice:{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U=\r\nbob:$2y$04$gJfSq0QlsOzeUp5G2bi7GuCjLJTav2HZxPAFsJWmWX84hAERh3sOO\n";
    let users = parse_users(text).unwrap();
    assert_eq!(users.len(), 2);
    assert!(users["alice"].hash.verify(PW));
    assert_eq!(
        users["alice"].line,
        "alice:{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U="
    );
    assert!(users["bob"].hash.verify(b"secret"));
    let err = |t: &str| {
        parse_users(t)
            .err()
            .unwrap_or_else(|| panic!("{t} accepted"))
    };
    assert_eq!(err("alice:{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U=\n\ndave:RT3LryroMXGFM"),
               "line 3 (user \"dave\"): DES crypt is not supported (8-character passwords, weak); rehash with htpasswd -B");
    assert!(err("erin:pw").starts_with("line 1 (user \"erin\"): plaintext"));
    assert_eq!(err("nocolon"), "line 1: expected user:hash");
    assert_eq!(
        err(":{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U="),
        "line 1: empty user name"
    );
    assert!(
        err("a:{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U=\na:{SHA}e5ql2woAdu/eEkTxkrhZg0ZjO0U=")
            .contains("twice")
    );
    assert_eq!(err("\n# only comments\n"), "no users");
}
