#!/usr/bin/env python3
"""Mints the RSASSA-PKCS1-v1_5 fixtures of src/jwt/rsa_pkcs1.rs's tests with an
independent library (cryptography) and Python's own integers.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install cryptography
    /tmp/venv/bin/python filters/auth/src/jwt/testdata/mint_rsa_pkcs1.py

Writes rsa_pkcs1.json next to this file: keys of 2048, 2056 (a modulus that is
not whole 32/64-bit limbs), 3072 (e = 3) and 4096 bits, each with
  sigs: signatures by cryptography (valid) and raw RSA signatures of
        hand-built encoded messages that a strict verifier must refuse;
  raw:  [s, s^e mod n] pairs for pseudo-random s < n (hex).
"""

import hashlib
import json
import os
import random

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))

# RFC 8017 9.2 note 1.
PREFIX = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
# SHA3-256's DigestInfo: a 32-byte digest like SHA-256's, another hash.
SHA3_256_PREFIX = bytes.fromhex("3031300d060960864801650304020805000420")
# SHA-256's DigestInfo without the NULL parameters.
SHA256_NO_NULL = bytes.fromhex("302f300b0609608648016503040201" "0420")
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


def raw_sign(key, em: bytes) -> bytes:
    n = key.public_key().public_numbers().n
    k = (n.bit_length() + 7) // 8
    assert len(em) == k and int.from_bytes(em, "big") < n
    return pow(int.from_bytes(em, "big"), key.private_numbers().d, n).to_bytes(k, "big")


def em_with(k: int, t: bytes, block_type: int = 1, ps_len=None, ps_byte: int = 0xFF) -> bytes:
    """00 || BT || PS || 00 || T, left-padded with zeros to k bytes."""
    if ps_len is None:
        ps_len = k - 3 - len(t)
    body = bytes([0x00, block_type]) + bytes([ps_byte]) * ps_len + b"\x00" + t
    return b"\x00" * (k - len(body)) + body


def key_case(bits: int, e: int, rnd: random.Random):
    key = rsa.generate_private_key(public_exponent=e, key_size=bits)
    n = key.public_key().public_numbers().n
    k = (n.bit_length() + 7) // 8
    msg = b"tollgate rsa_pkcs1 fixture %d" % bits
    sigs = []
    for h, algo in HASHES.items():
        sigs.append({"what": f"valid {h}", "hash": h, "valid": True,
                     "sig": key.sign(msg, padding.PKCS1v15(), algo).hex()})
    d256 = hashlib.sha256(msg).digest()
    t256 = PREFIX["sha256"] + d256
    bad = {
        "SHA3-256 DigestInfo over the SHA-256 digest": em_with(k, SHA3_256_PREFIX + d256),
        "DigestInfo without NULL parameters": em_with(k, SHA256_NO_NULL + d256),
        "block type 2": em_with(k, t256, block_type=2),
        "padding byte 0xfe": em_with(k, t256, ps_byte=0xFE),
        "7 bytes of padding": em_with(k, t256, ps_len=7),
        "a byte after the digest": em_with(k, t256 + b"\x00", ps_len=k - 4 - len(t256)),
        "digest of another message": em_with(k, PREFIX["sha256"] + hashlib.sha256(msg + b"!").digest()),
        "SHA-384 DigestInfo, checked as SHA-256": em_with(k, PREFIX["sha384"] + hashlib.sha384(msg).digest()),
    }
    # The raw path must agree with cryptography's own encoding for a good one.
    assert raw_sign(key, em_with(k, t256)).hex() == sigs[0]["sig"]
    for what, em in bad.items():
        sigs.append({"what": what, "hash": "sha256", "valid": False, "sig": raw_sign(key, em).hex()})
    raw = []
    for _ in range(4):
        s = rnd.randrange(2, n)
        raw.append([format(s, "x"), format(pow(s, e, n), "x")])
    raw.append([format(n - 1, "x"), format(pow(n - 1, e, n), "x")])
    return {"bits": bits, "n": format(n, "x"), "e": e, "msg": msg.decode(), "sigs": sigs, "raw": raw}


def main():
    rnd = random.Random(20261125)
    out = {"keys": [key_case(b, e, rnd) for b, e in [(2048, 65537), (2056, 65537), (3072, 3), (4096, 65537)]]}
    with open(os.path.join(HERE, "rsa_pkcs1.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
