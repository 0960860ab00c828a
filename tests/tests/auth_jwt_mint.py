# Mints the keys, key sets and tokens of tests/tests/auth_jwt.rs with PyJWT;
# prints them as one JSON object.
import base64, hashlib, hmac, json, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
now = int(time.time())
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwk(pub, cls, **kw):
    d = json.loads(cls.to_jwk(pub)); d.update(kw); return d
r1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
r2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
e1 = ec.generate_private_key(ec.SECP256R1())
d1 = ed25519.Ed25519PrivateKey.generate()
keys1 = [jwk(r1.public_key(), RSAAlgorithm, kid="r1", alg="RS256", use="sig"),
         jwk(e1.public_key(), ECAlgorithm, kid="e1", alg="ES256"),
         jwk(d1.public_key(), OKPAlgorithm, kid="d1", alg="EdDSA")]
keys2 = keys1 + [jwk(r2.public_key(), RSAAlgorithm, kid="r2", alg="RS256")]
def claims(**o):
    c = {"iss": "https://issuer.test", "aud": "api.test", "sub": "alice", "iat": now - 10,
         "exp": now + 3600, "org": {"team": "blue"}}
    for k, v in o.items():
        if v is None: c.pop(k, None)
        else: c[k] = v
    return c
def tok(key, alg, kid, **o):
    return jwt.encode(claims(**o), key, algorithm=alg, headers={"kid": kid})
def raw(header, payload, sig=b""):
    h = b64(json.dumps(header).encode()); p = b64(json.dumps(payload).encode())
    return h, p
pem = r1.public_key().public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)
h, p = raw({"alg": "HS256", "typ": "JWT", "kid": "r1"}, claims())
confusion = h + "." + p + "." + b64(hmac.new(pem, (h + "." + p).encode(), hashlib.sha256).digest())
h, p = raw({"alg": "none", "typ": "JWT"}, claims())
print(json.dumps({
  "jwks1": {"keys": keys1}, "jwks2": {"keys": keys2},
  "tokens": {
    "rs256": tok(r1, "RS256", "r1"),
    "rs256_b": tok(r1, "RS256", "r1", sub="bob"),
    "rs256_c": tok(r1, "RS256", "r1", sub="carol"),
    "es256": tok(e1, "ES256", "e1", sub="erin"),
    "eddsa": tok(d1, "EdDSA", "d1", sub="dave"),
    "alg_none": h + "." + p + ".",
    "hs256_with_rsa_public_key": confusion,
    "rotated": tok(r2, "RS256", "r2", sub="rotated"),
    "never_known": tok(r2, "RS256", "r9", sub="nobody"),
    "expired": tok(r1, "RS256", "r1", iat=now - 7200, exp=now - 3600),
    "expired_30s": tok(r1, "RS256", "r1", iat=now - 600, exp=now - 30),
    "nbf_future": tok(r1, "RS256", "r1", nbf=now + 3600),
    "wrong_iss": tok(r1, "RS256", "r1", iss="https://evil.test"),
    "wrong_aud": tok(r1, "RS256", "r1", aud="other.test"),
    "rich": tok(r1, "RS256", "r1", sub="\u00fcn\u00efc\u00f6de", num=42, flag=True, ratio=1.5,
                list=["a", "b"], org={"team": "blue", "n": 7, "deep": {"x": "y"}},
                text="a, b; c=\"d\"", empty=""),
    "rich_long": tok(r1, "RS256", "r1", blob="z" * 3000, pad="x"),
  }}))
