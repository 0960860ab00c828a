#!/usr/bin/env python3
"""Mints the JWT test fixtures with an independent library (PyJWT + cryptography).

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyjwt cryptography
    /tmp/venv/bin/python filters/auth/src/jwt/testdata/mint.py

Writes next to this file:
  jwks.json          public keys: rsa1 (RSA 2048, no "alg"), rsa2 (RSA 2048, "alg": "RS256"),
                     ec256 (P-256, ES256), ec384 (P-384, ES384), ed1 (Ed25519, EdDSA)
  jwks_mixed.json    one good key among keys that must be skipped (each with a reason)
  rsa1_public.pem    rsa1's public key as PEM, the secret of the HS256 confusion attack
  hmac_secret.txt    the provider's HS256 secret (local_hmac_secret.inline_string)
  tokens.json        {"name": "token", ...}: one per algorithm and one per attack

Every token has fixed times: iat = NOW - 400, exp = 2100-01-01, where NOW is
tollgate_common::testing::FAKE_NOW_SECS (2026-11-25T08:30:00Z); the Rust tests pass
NOW, so the fixtures never expire. Keys are fresh on every run: rerun the script to
regenerate all files together.
"""

import base64
import hashlib
import hmac
import json
import os

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1_795_595_400
IAT = NOW - 400
EXP = 4_102_444_800
ISS = "https://issuer.example"
AUD = "api.example"
HMAC_SECRET = "tollgate-test-hmac-secret-of-32-bytes-or-more"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over):
    c = {"iss": ISS, "aud": AUD, "sub": "alice", "iat": IAT, "exp": EXP}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def jwk(public_key, algo_cls, **extra):
    d = json.loads(algo_cls.to_jwk(public_key))
    d.update(extra)
    return d


def raw_jws(header_json: str, payload_json: str, alg: str, key) -> str:
    """A JWS over exactly these JSON texts (PyJWT would re-serialize them)."""
    signing_input = (b64(header_json.encode()) + "." + b64(payload_json.encode())).encode()
    sig = jwt.get_algorithm_by_name(alg).sign(signing_input, key)
    return signing_input.decode() + "." + b64(sig)


def main():
    rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ec256 = ec.generate_private_key(ec.SECP256R1())
    ec384 = ec.generate_private_key(ec.SECP384R1())
    ec521 = ec.generate_private_key(ec.SECP521R1())
    ed1 = ed25519.Ed25519PrivateKey.generate()

    jwks = {"keys": [
        jwk(rsa1.public_key(), RSAAlgorithm, kid="rsa1", use="sig"),
        jwk(rsa2.public_key(), RSAAlgorithm, kid="rsa2", alg="RS256"),
        jwk(ec256.public_key(), ECAlgorithm, kid="ec256", alg="ES256"),
        jwk(ec384.public_key(), ECAlgorithm, kid="ec384", alg="ES384"),
        jwk(ed1.public_key(), OKPAlgorithm, kid="ed1", alg="EdDSA"),
    ]}
    rsa1_jwk = jwks["keys"][0]
    private_ec = json.loads(ECAlgorithm.to_jwk(ec256, as_dict=False))
    private_ec["kid"] = "ec-private"
    mixed = {"keys": [
        jwk(rsa_small.public_key(), RSAAlgorithm, kid="small-rsa"),
        jwk(ec521.public_key(), ECAlgorithm, kid="p521"),
        jwk(rsa2.public_key(), RSAAlgorithm, kid="enc", use="enc"),
        {"kty": "oct", "kid": "oct", "k": b64(HMAC_SECRET.encode())},
        {"kty": "XYZ", "kid": "unknown-kty"},
        dict(rsa1_jwk, kid="rsa-alg-es256", alg="ES256"),
        dict(rsa1_jwk, kid="bad-n", n="!!!"),
        {"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x02" * 32)},
        private_ec,
        "not an object",
        dict(rsa1_jwk, kid="good"),
    ]}

    rsa1_pem = rsa1.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    t = {}
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]:
        t[alg.lower()] = jwt.encode(claims(), rsa1, alg, headers={"kid": "rsa1"})
    t["es256"] = jwt.encode(claims(), ec256, "ES256", headers={"kid": "ec256"})
    t["es384"] = jwt.encode(claims(), ec384, "ES384", headers={"kid": "ec384"})
    t["eddsa"] = jwt.encode(claims(), ed1, "EdDSA", headers={"kid": "ed1"})
    t["hs256"] = jwt.encode(claims(), HMAC_SECRET, "HS256")
    t["rs256_rsa2"] = jwt.encode(claims(), rsa2, "RS256", headers={"kid": "rsa2"})
    t["rs256_no_kid"] = jwt.encode(claims(), rsa2, "RS256")
    t["es256_no_kid"] = jwt.encode(claims(), ec256, "ES256")
    t["aud_list"] = jwt.encode(claims(aud=["other", AUD]), rsa1, "RS256", headers={"kid": "rsa1"})
    t["claims_rich"] = jwt.encode(
        claims(email="alice@example.com", admin=True, level=3, ratio=0.5,
               org={"team": {"name": "core"}}, groups=["a", "b"]),
        rsa1, "RS256", headers={"kid": "rsa1", "typ": "at+jwt"})
    t["no_exp"] = jwt.encode(claims(exp=None), rsa1, "RS256", headers={"kid": "rsa1"})
    t["no_iss"] = jwt.encode(claims(iss=None), rsa1, "RS256", headers={"kid": "rsa1"})
    t["no_aud"] = jwt.encode(claims(aud=None), rsa1, "RS256", headers={"kid": "rsa1"})
    t["no_sub"] = jwt.encode(claims(sub=None), rsa1, "RS256", headers={"kid": "rsa1"})
    t["short_lived"] = jwt.encode(claims(exp=NOW + 600), rsa1, "RS256", headers={"kid": "rsa1"})
    t["exp_float"] = jwt.encode(claims(exp=float(EXP)), rsa1, "RS256", headers={"kid": "rsa1"})

    # Attacks and failures.
    t["alg_none"] = jwt.encode(claims(), None, "none")
    t["alg_none_kid"] = (b64(json.dumps({"alg": "none", "kid": "rsa1"}).encode()) + "."
                         + b64(json.dumps(claims()).encode()) + ".")
    t["alg_none_upper"] = (b64(json.dumps({"alg": "NONE", "kid": "rsa1"}).encode()) + "."
                           + b64(json.dumps(claims()).encode()) + ".")
    # HS256 keyed with the RSA public key (PEM) that the verifier holds: PyJWT refuses
    # to do this, so the MAC is computed by hand.
    for name, kid in [("hs256_rsa_pem", "rsa1"), ("hs256_rsa_pem_no_kid", None)]:
        header = {"alg": "HS256", "typ": "JWT"}
        if kid:
            header["kid"] = kid
        signing_input = (b64(json.dumps(header).encode()) + "."
                         + b64(json.dumps(claims()).encode()))
        mac = hmac.new(rsa1_pem, signing_input.encode(), hashlib.sha256).digest()
        t[name] = signing_input + "." + b64(mac)
    t["unknown_kid"] = jwt.encode(claims(), rsa1, "RS256", headers={"kid": "nope"})
    t["kid_path"] = jwt.encode(claims(), rsa1, "RS256", headers={"kid": "../../../../etc/passwd"})
    t["kid_other_type"] = jwt.encode(claims(), rsa1, "RS256", headers={"kid": "ec256"})
    t["kid_alg_pinned"] = jwt.encode(claims(), rsa2, "PS256", headers={"kid": "rsa2"})
    t["es256_wrong_curve"] = jwt.encode(claims(), ec256, "ES256", headers={"kid": "ec384"})
    t["es512"] = jwt.encode(claims(), ec521, "ES512", headers={"kid": "ec256"})
    t["wrong_key"] = jwt.encode(claims(), rsa2, "RS256", headers={"kid": "rsa1"})
    t["expired"] = jwt.encode(claims(exp=NOW - 3600), rsa1, "RS256", headers={"kid": "rsa1"})
    t["expired_in_skew"] = jwt.encode(claims(exp=NOW - 30), rsa1, "RS256", headers={"kid": "rsa1"})
    t["nbf_future"] = jwt.encode(claims(nbf=NOW + 3600), rsa1, "RS256", headers={"kid": "rsa1"})
    t["nbf_in_skew"] = jwt.encode(claims(nbf=NOW + 30), rsa1, "RS256", headers={"kid": "rsa1"})
    t["iat_future"] = jwt.encode(claims(iat=NOW + 3600), rsa1, "RS256", headers={"kid": "rsa1"})
    t["exp_huge"] = jwt.encode(claims(exp=1e300), rsa1, "RS256", headers={"kid": "rsa1"})
    t["exp_negative"] = jwt.encode(claims(exp=-1), rsa1, "RS256", headers={"kid": "rsa1"})
    t["exp_string"] = jwt.encode(claims(exp=str(EXP)), rsa1, "RS256", headers={"kid": "rsa1"})
    t["exp_fraction"] = jwt.encode(claims(exp=EXP + 0.5), rsa1, "RS256", headers={"kid": "rsa1"})
    t["exp_u64_max"] = jwt.encode(claims(exp=2**64 - 1), rsa1, "RS256", headers={"kid": "rsa1"})
    t["wrong_iss"] = jwt.encode(claims(iss="https://evil.example"), rsa1, "RS256", headers={"kid": "rsa1"})
    t["wrong_aud"] = jwt.encode(claims(aud="other"), rsa1, "RS256", headers={"kid": "rsa1"})
    t["wrong_aud_list"] = jwt.encode(claims(aud=["x", "y"]), rsa1, "RS256", headers={"kid": "rsa1"})
    t["aud_number"] = jwt.encode(claims(aud=5), rsa1, "RS256", headers={"kid": "rsa1"})
    good = t["rs256"]
    head, payload, sig = good.split(".")
    t["sig_stripped"] = head + "." + payload + "."
    t["two_parts"] = head + "." + payload
    t["five_parts"] = good + ".x.y"
    t["sig_padded"] = good + "="
    # Same bytes under a lenient decoder: the last character's unused low bits set.
    # A 256-byte signature is 342 characters with 4 unused bits in the last one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    t["sig_noncanonical"] = head + "." + payload + "." + sig[:-1] + alphabet[last | 1 if last & 1 == 0 else last & ~1]
    # Standard base64 ("+", "/") instead of base64url, validly signed over those characters.
    std_input = (b64(b'{"alg":"RS256","kid":"rsa1"}') + "." + base64.b64encode(
        json.dumps(claims(x=">>>???>>>???")).encode()).decode().rstrip("=")).encode()
    assert b"/" in std_input or b"+" in std_input
    t["payload_std_b64"] = std_input.decode() + "." + b64(
        jwt.get_algorithm_by_name("RS256").sign(std_input, rsa1))
    t["dup_header_alg"] = raw_jws(
        '{"alg":"RS256","kid":"rsa1","alg":"none"}', json.dumps(claims()), "RS256", rsa1)
    t["dup_claim_sub"] = raw_jws(
        '{"alg":"RS256","kid":"rsa1"}',
        '{"iss":"%s","aud":"%s","sub":"alice","sub":"admin","exp":%d}' % (ISS, AUD, EXP),
        "RS256", rsa1)
    t["dup_claim_escaped"] = raw_jws(
        '{"alg":"RS256","kid":"rsa1"}',
        '{"iss":"%s","aud":"%s","sub":"alice","\\u0073ub":"admin","exp":%d}' % (ISS, AUD, EXP),
        "RS256", rsa1)
    t["dup_nested"] = raw_jws(
        '{"alg":"RS256","kid":"rsa1"}',
        '{"iss":"%s","aud":"%s","sub":"alice","exp":%d,"o":{"r":"user","r":"admin"}}' % (ISS, AUD, EXP),
        "RS256", rsa1)
    t["crit_header"] = jwt.encode(claims(), rsa1, "RS256",
                                  headers={"kid": "rsa1", "crit": ["exp"], "exp": EXP})
    t["header_not_object"] = raw_jws('["RS256"]', json.dumps(claims()), "RS256", rsa1)
    t["claims_not_object"] = raw_jws('{"alg":"RS256","kid":"rsa1"}', '"alice"', "RS256", rsa1)
    t["claims_trailing"] = raw_jws('{"alg":"RS256","kid":"rsa1"}', json.dumps(claims()) + " x",
                                   "RS256", rsa1)
    t["kid_number"] = raw_jws('{"alg":"RS256","kid":1}', json.dumps(claims()), "RS256", rsa1)

    write("jwks.json", json.dumps(jwks, indent=1))
    write("jwks_mixed.json", json.dumps(mixed, indent=1))
    write("rsa1_public.pem", rsa1_pem.decode())
    write("hmac_secret.txt", HMAC_SECRET, newline=False)
    write("tokens.json", json.dumps(t, indent=1, sort_keys=True))


def write(name, text, newline=True):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text + "\n" if newline and not text.endswith("\n") else text)


if __name__ == "__main__":
    main()
