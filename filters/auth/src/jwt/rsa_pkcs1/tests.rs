//! Fixtures from testdata/mint_rsa_pkcs1.py (cryptography and Python
//! integers); every verdict is also checked against the rsa crate.
use super::*;
use crypto_bigint::modular::BoxedMontyForm;
use rsa::Pkcs1v15Sign;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

const FIXTURES: &str = include_str!("../testdata/rsa_pkcs1.json");

fn unhex(s: &str) -> Vec<u8> {
    let s = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_string()
    };
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `hex` as exactly `k` big-endian bytes.
fn fixed(hex: &str, k: usize) -> Vec<u8> {
    let b = unhex(hex);
    let mut out = vec![0; k - b.len()];
    out.extend_from_slice(&b);
    out
}

struct Case {
    key: RsaPublicKey,
    k: usize,
    e: u64,
    n: Vec<u8>,
    fixture: Value,
}

fn cases() -> Vec<Case> {
    let all: Value = serde_json::from_str(FIXTURES).unwrap();
    all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let n = unhex(f["n"].as_str().unwrap());
            let e = f["e"].as_u64().unwrap();
            // As jwks.rs builds keys: precision from the bytes present.
            let key = RsaPublicKey::new(BoxedUint::from_be_slice_vartime(&n), BoxedUint::from(e))
                .unwrap();
            Case {
                k: key.size(),
                key,
                e,
                n,
                fixture: f.clone(),
            }
        })
        .collect()
}

fn digest_of(hash: &str, msg: &[u8]) -> (&'static [u8], Vec<u8>, Pkcs1v15Sign) {
    match hash {
        "sha256" => (
            &SHA256_PREFIX,
            Sha256::digest(msg).to_vec(),
            Pkcs1v15Sign::new::<Sha256>(),
        ),
        "sha384" => (
            &SHA384_PREFIX,
            Sha384::digest(msg).to_vec(),
            Pkcs1v15Sign::new::<Sha384>(),
        ),
        "sha512" => (
            &SHA512_PREFIX,
            Sha512::digest(msg).to_vec(),
            Pkcs1v15Sign::new::<Sha512>(),
        ),
        other => panic!("hash {other}"),
    }
}

/// Ours and the rsa crate's verdicts, which must agree.
fn both(key: &RsaPublicKey, hash: &str, digest: &[u8], sig: &[u8]) -> bool {
    let (prefix, _, scheme) = digest_of(hash, b"");
    let ours = verify(key, prefix, digest, sig);
    let theirs = key.verify(scheme, digest, sig).is_ok();
    assert_eq!(
        ours,
        theirs,
        "rsa crate disagrees ({hash}, {} byte sig)",
        sig.len()
    );
    ours
}

#[test]
fn prefixes_are_the_rsa_crates() {
    assert_eq!(&SHA256_PREFIX[..], &*Pkcs1v15Sign::new::<Sha256>().prefix);
    assert_eq!(&SHA384_PREFIX[..], &*Pkcs1v15Sign::new::<Sha384>().prefix);
    assert_eq!(&SHA512_PREFIX[..], &*Pkcs1v15Sign::new::<Sha512>().prefix);
}

#[test]
fn fixture_signatures_verify_or_not_as_minted() {
    let mut valid = 0;
    for c in cases() {
        let msg = c.fixture["msg"].as_str().unwrap().as_bytes();
        for s in c.fixture["sigs"].as_array().unwrap() {
            let what = s["what"].as_str().unwrap();
            let hash = s["hash"].as_str().unwrap();
            let sig = fixed(s["sig"].as_str().unwrap(), c.k);
            let (_, digest, _) = digest_of(hash, msg);
            let expect = s["valid"].as_bool().unwrap();
            assert_eq!(
                both(&c.key, hash, &digest, &sig),
                expect,
                "{} bits: {what}",
                c.n.len() * 8
            );
            valid += usize::from(expect);
        }
    }
    assert_eq!(valid, 12);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn public_op_matches_python_and_crypto_bigint_pow() {
    for c in cases() {
        for pair in c.fixture["raw"].as_array().unwrap() {
            let s = fixed(pair[0].as_str().unwrap(), c.k);
            let m = fixed(pair[1].as_str().unwrap(), c.k);
            assert_eq!(public_op(&c.key, &s).unwrap(), m, "{} bits", c.k * 8);
            // crypto-bigint's own (windowed) exponentiation, as rsa uses.
            let base = BoxedMontyForm::new(
                BoxedUint::from_be_slice(&s, c.key.n_bits_precision()).unwrap(),
                c.key.n_params(),
            );
            let want = base.pow(&BoxedUint::from(c.e)).retrieve().to_be_bytes();
            assert_eq!(&want[want.len() - c.k..], &m[..]);
        }
    }
}

#[test]
fn flipped_bits_are_refused() {
    for c in cases() {
        let msg = c.fixture["msg"].as_str().unwrap().as_bytes();
        for s in c.fixture["sigs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["valid"] == true)
        {
            let hash = s["hash"].as_str().unwrap();
            let sig = fixed(s["sig"].as_str().unwrap(), c.k);
            let (_, digest, _) = digest_of(hash, msg);
            assert!(both(&c.key, hash, &digest, &sig));
            for bit in [0, 7, 8 * c.k / 2 + 3, 8 * c.k - 1] {
                let mut bad = sig.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(!both(&c.key, hash, &digest, &bad), "sig bit {bit}");
            }
            for bit in [0, 8 * digest.len() - 1] {
                let mut bad = digest.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(!both(&c.key, hash, &bad, &sig), "digest bit {bit}");
            }
            // The right signature checked as another hash.
            let other = if hash == "sha256" { "sha512" } else { "sha256" };
            let (_, other_digest, _) = digest_of(other, msg);
            assert!(!both(&c.key, other, &other_digest, &sig));
        }
    }
}

#[test]
fn wrong_lengths_are_refused() {
    for c in cases() {
        let msg = c.fixture["msg"].as_str().unwrap().as_bytes();
        let sig = fixed(c.fixture["sigs"][0]["sig"].as_str().unwrap(), c.k);
        let digest = Sha256::digest(msg).to_vec();
        assert!(both(&c.key, "sha256", &digest, &sig));
        let mut longer = vec![0];
        longer.extend_from_slice(&sig);
        assert!(public_op(&c.key, &longer).is_none());
        assert!(!both(&c.key, "sha256", &digest, &longer));
        assert!(public_op(&c.key, &sig[1..]).is_none());
        assert!(!both(&c.key, "sha256", &digest, &sig[1..]));
        assert!(!both(&c.key, "sha256", &digest, &[]));
        assert!(!both(&c.key, "sha256", &digest[1..], &sig));
    }
}

#[test]
fn s_out_of_range_is_refused() {
    for c in cases() {
        let digest = Sha256::digest(b"x").to_vec();
        let n = fixed(&hex(&c.n), c.k);
        // s = n, s = n + 1, s = 256^k - 1: not below n.
        let mut n_plus_1 = n.clone();
        *n_plus_1.last_mut().unwrap() += 1; // n is odd: no carry
        for s in [n.clone(), n_plus_1, vec![0xff; c.k]] {
            assert!(public_op(&c.key, &s).is_none());
            assert!(!both(&c.key, "sha256", &digest, &s));
        }
        // s = 0 and s = 1 are below n but encode nothing.
        let zero = vec![0; c.k];
        assert_eq!(public_op(&c.key, &zero).unwrap(), zero);
        assert!(!both(&c.key, "sha256", &digest, &zero));
        let mut one = zero.clone();
        *one.last_mut().unwrap() = 1;
        assert_eq!(public_op(&c.key, &one).unwrap(), one);
        assert!(!both(&c.key, "sha256", &digest, &one));
    }
}

#[test]
fn agrees_with_the_rsa_crate_on_pseudo_random_signatures() {
    // xorshift64: deterministic, no dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for c in cases() {
        let digest = Sha256::digest(b"pseudo-random").to_vec();
        for round in 0..8 {
            let mut sig: Vec<u8> = (0..c.k).map(|_| next() as u8).collect();
            if round % 2 == 0 {
                sig[0] = 0; // below n as often as not
            }
            let below_n = sig < fixed(&hex(&c.n), c.k);
            assert_eq!(public_op(&c.key, &sig).is_some(), below_n);
            assert!(!both(&c.key, "sha256", &digest, &sig));
        }
    }
}
