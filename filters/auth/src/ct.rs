//! Equality of secrets (credentials, digests, signatures' encodings) without
//! branching on their bytes. Lengths are not secret and are compared first.

use subtle::ConstantTimeEq;

/// Whether `a` and `b` are the same bytes. Compared 8 bytes at a time:
/// subtle's byte slices cost one call per byte at opt-level z, which for a
/// 700-byte token was a third of a cached request (`cargo xtask profile`).
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut diff = wa
        .remainder()
        .iter()
        .zip(wb.remainder())
        .fold(0u64, |acc, (x, y)| acc | u64::from(x ^ y));
    for (x, y) in wa.zip(wb) {
        let word = |c: &[u8]| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        diff |= word(x) ^ word(y);
    }
    bool::from(diff.ct_eq(&0))
}

#[cfg(test)]
mod tests;
