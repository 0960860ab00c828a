use super::eq;

#[test]
fn bytes_differing_anywhere_are_different() {
    let t = b"header.payload.signature-bytes";
    assert!(eq(t, t));
    for i in 0..t.len() {
        let mut other = t.to_vec();
        other[i] ^= 1;
        assert!(!eq(t, &other), "byte {i}");
    }
    assert!(!eq(t, &t[..t.len() - 1]));
    assert!(!eq(&t[..8], &t[..9]));
    assert!(eq(b"", b""));
}
