# Mints the tokens of tests/tests/attacks/jwt.rs with PyJWT and cryptography:
# each attack is signed with the real key wherever a signature is involved,
# so the only thing wrong with it is the attack. Prints one JSON object.
import base64, json, time
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
now = int(time.time())
A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwk(pub, cls, **kw):
    d = json.loads(cls.to_jwk(pub)); d.update(kw); return d
r1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
e1 = ec.generate_private_key(ec.SECP256R1())
RS, ES = RSAAlgorithm(RSAAlgorithm.SHA256), ECAlgorithm(ECAlgorithm.SHA256)
jwks = {"keys": [jwk(r1.public_key(), RSAAlgorithm, kid="r1", alg="RS256"),
                 jwk(e1.public_key(), ECAlgorithm, kid="e1", alg="ES256")]}
def claims_text(**o):
    c = {"iss": "https://issuer.test", "aud": "api.test", "sub": "alice", "iat": now - 10,
         "exp": now + 3600}
    c.update(o)
    return json.dumps(c)
def raw(header, payload, key=r1, alg=RS):
    """Signs header and payload JSON given as text, exactly as written."""
    h = b64(header.encode()); p = b64(payload.encode())
    return h + "." + p + "." + b64(alg.sign((h + "." + p).encode(), key))
H = '{"alg":"RS256","typ":"JWT","kid":"r1"}'
good = raw(H, claims_text())
# A token whose signature has both '-' and '_' (the std alphabet swaps them).
n = 0
while True:
    alt = raw(H, claims_text(jti=str(n)))
    if "-" in alt.split(".")[2] and "_" in alt.split(".")[2]: break
    n += 1
h, p, s = good.split(".")
last = A.index(s[-1])          # 2048-bit signature: its last character has 4 unused bits
trailing = s[:-1] + A[last | 1 if last % 2 == 0 else last & ~1]
print(json.dumps({"jwks": jwks, "tokens": {
  "good": good,
  "alg_none_signed": raw('{"alg":"none","kid":"r1"}', claims_text()),
  "alg_None": raw('{"alg":"None","kid":"r1"}', claims_text()),
  "alg_missing": raw('{"kid":"r1"}', claims_text()),
  "alg_rs256_lowercase": raw('{"alg":"rs256","kid":"r1"}', claims_text()),
  "kid_path": raw('{"alg":"RS256","kid":"../../etc/passwd"}', claims_text()),
  "kid_url": raw('{"alg":"RS256","kid":"https://evil.test/jwks.json"}', claims_text()),
  "kid_empty": raw('{"alg":"RS256","kid":""}', claims_text()),
  "kid_nul": raw('{"alg":"RS256","kid":"r1\\u0000"}', claims_text()),
  "kid_number": raw('{"alg":"RS256","kid":1}', claims_text()),
  "kid_ec_for_rs256": raw('{"alg":"RS256","kid":"e1"}', claims_text()),
  "kid_rsa_for_es256": raw('{"alg":"ES256","kid":"r1"}', claims_text(), e1, ES),
  "jku_header": raw('{"alg":"RS256","kid":"r9","jku":"https://evil.test/jwks.json"}', claims_text()),
  "crit": raw('{"alg":"RS256","kid":"r1","crit":["exp"]}', claims_text()),
  "crit_empty": raw('{"alg":"RS256","kid":"r1","crit":[]}', claims_text()),
  "exp_1e300": raw(H, claims_text(exp=1e300)),
  "exp_u64_overflow": raw(H, claims_text().replace('"exp": %d' % (now + 3600), '"exp": 18446744073709551616')),
  "exp_negative": raw(H, claims_text(exp=-1)),
  "exp_string": raw(H, claims_text(exp=str(now + 3600))),
  "exp_nan_text": raw(H, claims_text().replace('"exp": %d' % (now + 3600), '"exp": NaN')),
  "exp_i64_max_plus_1": raw(H, claims_text(exp=9223372036854775808)),
  "nbf_1e300": raw(H, claims_text(nbf=1e300)),
  "iat_future": raw(H, claims_text(iat=now + 7200)),
  "sig_stripped": h + "." + p + ".",
  "sig_two_parts": h + "." + p,
  "sig_of_other_token": h + "." + p + "." + alt.split(".")[2],
  "payload_swapped": h + "." + b64(claims_text(sub="admin").encode()) + "." + s,
  "dup_header_alg": raw('{"alg":"RS256","alg":"none","kid":"r1"}', claims_text()),
  "dup_claim_sub": raw(H, claims_text()[:-1] + ', "sub": "admin"}'),
  "dup_claim_exp": raw(H, claims_text()[:-1] + ', "exp": 99999999999}'),
  "b64_padded_sig": h + "." + p + "." + s + "==",
  "b64_padded_payload": h + "." + p + "=." + s,
  "b64_std_alphabet": ".".join(alt.split(".")[:2]) + "." + alt.split(".")[2].replace("-", "+").replace("_", "/"),
  "b64_trailing_bits": h + "." + p + "." + trailing,
  "four_parts": good + ".e30",
  "whitespace_inside": h + ". " + p + "." + s,
}}))
