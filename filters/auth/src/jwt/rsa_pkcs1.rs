//! RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) for RS256/RS384/RS512,
//! on the `rsa` crate's key and crypto-bigint's Montgomery arithmetic.
//!
//! Why not `RsaPublicKey::verify`: rsa 0.10 raises `s` to `e` with
//! crypto-bigint's constant-time 4-bit-window exponentiation, which for
//! e = 65537 costs 14 multiplications to fill its table, 16 squarings and 5
//! multiplications (plus a 16-entry constant-time lookup per window), where
//! plain square-and-multiply needs 16 squarings and 1 multiplication. The
//! signature and the exponent are public, so variable time in `e` is fine.
//! The Montgomery parameters are the ones the key computed once at JWKS
//! parse time.
//!
//! The encoded message is compared with the one built from the digest
//! (step 3-4), never parsed, so no padding or DigestInfo leniency exists.

use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PublicKey as RsaPublicKey};

use crypto_bigint::modular::BoxedMontyForm;
use crypto_bigint::{MontyForm, MontyMultiplier};

/// DER DigestInfo prefixes of RFC 8017 9.2 note 1 (AlgorithmIdentifier with
/// NULL parameters, then the OCTET STRING header of the digest).
pub const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
pub const SHA384_PREFIX: [u8; 19] = [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
pub const SHA512_PREFIX: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// RSAVP1 (RFC 8017 5.2.2) and I2OSP: `sig^e mod n` as `k` big-endian
/// bytes, `k` the modulus length in bytes. None when `sig` is not `k` bytes
/// long or its integer is not below `n`.
pub fn public_op(key: &RsaPublicKey, sig: &[u8]) -> Option<Vec<u8>> {
    let k = key.size();
    if sig.len() != k {
        return None;
    }
    let s = BoxedUint::from_be_slice(sig, key.n_bits_precision()).ok()?;
    if s >= *key.n().as_ref() {
        return None;
    }
    let params = key.n_params();
    let base = BoxedMontyForm::new(s, params);
    let e = key.e();
    let bits = e.bit_width_vartime();
    if bits == 0 {
        return None;
    }
    // Left to right over e's bits; the top bit is the starting value.
    let mut acc = base.clone();
    let mut mul = <BoxedMontyForm as MontyForm>::Multiplier::from(params);
    for i in (0..bits - 1).rev() {
        mul.square_assign(&mut acc);
        if e.bit_vartime(i) {
            mul.mul_assign(&mut acc, &base);
        }
    }
    let m = acc.retrieve().to_be_bytes();
    // The integer's storage is whole limbs: drop the high bytes, which are
    // zero because m < n < 256^k.
    let start = m.len().checked_sub(k)?;
    m.get(start..).map(<[u8]>::to_vec)
}

/// Verifies `sig` over a message whose digest is `digest`, the digest's
/// DigestInfo prefix being `prefix`.
pub fn verify(key: &RsaPublicKey, prefix: &[u8], digest: &[u8], sig: &[u8]) -> bool {
    let Some(em) = public_op(key, sig) else {
        return false;
    };
    let t_len = prefix.len() + digest.len();
    // RFC 8017 9.2 step 3: at least 8 bytes of 0xff padding.
    let Some(ps_len) = em.len().checked_sub(t_len + 3) else {
        return false;
    };
    if ps_len < 8 {
        return false;
    }
    let mut expected = Vec::with_capacity(em.len());
    expected.extend_from_slice(&[0x00, 0x01]);
    expected.resize(2 + ps_len, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(prefix);
    expected.extend_from_slice(digest);
    // Both are public (the signature and the message), constant time anyway.
    crate::ct::eq(&expected, &em)
}

#[cfg(test)]
mod tests;
