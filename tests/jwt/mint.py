# The one JWT minting script of the tests and the bench: PyJWT and
# `cryptography`, an implementation independent of the filter's. The keys are
# stable and committed in keys/ (they sign test tokens for a local Envoy and
# guard nothing); the tokens are minted per run, valid from now.
#
#   mint.py KEYDIR auth_jwt     keys, key sets and tokens of auth_jwt, twin_jwt,
#                               envoy_forms and twin_docs
#   mint.py KEYDIR attacks      tests/tests/attacks/jwt.rs: each attack signed with
#                               the real key wherever a signature is involved
#   mint.py KEYDIR faults       tests/tests/faults/jwks.rs: two RS256 keys
#   mint.py KEYDIR injection    tests/tests/attacks/injection.rs: claims with CR LF
#   mint.py KEYDIR bench OUTDIR COUNT
#                               writes OUTDIR/rs256.txt and OUTDIR/es256.txt, COUNT
#                               distinct tokens each, one a line, valid for a day
#   mint.py KEYDIR bench-same   the long-lived tokens of the bench's "same token"
#                               scenarios (committed as xtask/src/bench/jwt/same-*.jwt)
#   mint.py KEYDIR bench-jwks   the bench's key set (xtask/src/bench/jwt/jwks.json)
#
# Every set but the bench's prints one JSON object.
import base64, hashlib, hmac, json, os, sys, time
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

KEYDIR, SET = sys.argv[1], sys.argv[2]
now = int(time.time())
A64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def load(name):
    with open(os.path.join(KEYDIR, name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


R1, R2, E1, D1 = load("rs256.pem"), load("rs256-second.pem"), load("es256.pem"), load("ed25519.pem")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64json(v):
    return b64(json.dumps(v, separators=(",", ":")).encode())


def jwk(key, cls, **kw):
    d = json.loads(cls.to_jwk(key.public_key()))
    d.update(kw)
    return d


def claims(**o):
    """The usual claims; a keyword set to None removes that claim."""
    c = {"iss": "https://issuer.test", "aud": "api.test", "sub": "alice", "iat": now - 10,
         "exp": now + 3600}
    for k, v in o.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def auth_jwt():
    keys1 = [jwk(R1, RSAAlgorithm, kid="r1", alg="RS256", use="sig"),
             jwk(E1, ECAlgorithm, kid="e1", alg="ES256"),
             jwk(D1, OKPAlgorithm, kid="d1", alg="EdDSA")]
    keys2 = keys1 + [jwk(R2, RSAAlgorithm, kid="r2", alg="RS256")]

    def tok(key, alg, kid, **o):
        return jwt.encode(dict(claims(org={"team": "blue"}), **o), key, algorithm=alg,
                          headers={"kid": kid})

    def unsigned(header):
        return b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims(org={"team": "blue"})).encode())

    pem = R1.public_key().public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    hs = unsigned({"alg": "HS256", "typ": "JWT", "kid": "r1"})
    confusion = hs + "." + b64(hmac.new(pem, hs.encode(), hashlib.sha256).digest())
    return {
        "jwks1": {"keys": keys1}, "jwks2": {"keys": keys2},
        "tokens": {
            "rs256": tok(R1, "RS256", "r1"),
            "rs256_b": tok(R1, "RS256", "r1", sub="bob"),
            "rs256_c": tok(R1, "RS256", "r1", sub="carol"),
            "es256": tok(E1, "ES256", "e1", sub="erin"),
            "eddsa": tok(D1, "EdDSA", "d1", sub="dave"),
            "alg_none": unsigned({"alg": "none", "typ": "JWT"}) + ".",
            "hs256_with_rsa_public_key": confusion,
            "rotated": tok(R2, "RS256", "r2", sub="rotated"),
            "never_known": tok(R2, "RS256", "r9", sub="nobody"),
            "expired": tok(R1, "RS256", "r1", iat=now - 7200, exp=now - 3600),
            "expired_30s": tok(R1, "RS256", "r1", iat=now - 600, exp=now - 30),
            "nbf_future": tok(R1, "RS256", "r1", nbf=now + 3600),
            "wrong_iss": tok(R1, "RS256", "r1", iss="https://evil.test"),
            "wrong_aud": tok(R1, "RS256", "r1", aud="other.test"),
            "rich": tok(R1, "RS256", "r1", sub="\u00fcn\u00efc\u00f6de", num=42, flag=True,
                        ratio=1.5, list=["a", "b"], org={"team": "blue", "n": 7, "deep": {"x": "y"}},
                        text="a, b; c=\"d\"", empty=""),
            "rich_long": tok(R1, "RS256", "r1", blob="z" * 3000, pad="x"),
        }}


def attacks():
    RS, ES = RSAAlgorithm(RSAAlgorithm.SHA256), ECAlgorithm(ECAlgorithm.SHA256)
    jwks = {"keys": [jwk(R1, RSAAlgorithm, kid="r1", alg="RS256"),
                     jwk(E1, ECAlgorithm, kid="e1", alg="ES256")]}

    def text(**o):
        return json.dumps(claims(**o))

    def raw(header, payload, key=R1, alg=RS):
        """Signs header and payload JSON given as text, exactly as written."""
        h = b64(header.encode()); p = b64(payload.encode())
        return h + "." + p + "." + b64(alg.sign((h + "." + p).encode(), key))

    H = '{"alg":"RS256","typ":"JWT","kid":"r1"}'
    good = raw(H, text())
    # A token whose signature has both '-' and '_' (the std alphabet swaps them).
    n = 0
    while True:
        alt = raw(H, text(jti=str(n)))
        if "-" in alt.split(".")[2] and "_" in alt.split(".")[2]:
            break
        n += 1
    h, p, s = good.split(".")
    last = A64.index(s[-1])  # 2048-bit signature: its last character has 4 unused bits
    trailing = s[:-1] + A64[last | 1 if last % 2 == 0 else last & ~1]
    exp = '"exp": %d' % (now + 3600)
    return {"jwks": jwks, "tokens": {
        "good": good,
        "alg_none_signed": raw('{"alg":"none","kid":"r1"}', text()),
        "alg_None": raw('{"alg":"None","kid":"r1"}', text()),
        "alg_missing": raw('{"kid":"r1"}', text()),
        "alg_rs256_lowercase": raw('{"alg":"rs256","kid":"r1"}', text()),
        "kid_path": raw('{"alg":"RS256","kid":"../../etc/passwd"}', text()),
        "kid_url": raw('{"alg":"RS256","kid":"https://evil.test/jwks.json"}', text()),
        "kid_empty": raw('{"alg":"RS256","kid":""}', text()),
        "kid_nul": raw('{"alg":"RS256","kid":"r1\\u0000"}', text()),
        "kid_number": raw('{"alg":"RS256","kid":1}', text()),
        "kid_ec_for_rs256": raw('{"alg":"RS256","kid":"e1"}', text()),
        "kid_rsa_for_es256": raw('{"alg":"ES256","kid":"r1"}', text(), E1, ES),
        "jku_header": raw('{"alg":"RS256","kid":"r9","jku":"https://evil.test/jwks.json"}', text()),
        "crit": raw('{"alg":"RS256","kid":"r1","crit":["exp"]}', text()),
        "crit_empty": raw('{"alg":"RS256","kid":"r1","crit":[]}', text()),
        "exp_1e300": raw(H, text(exp=1e300)),
        "exp_u64_overflow": raw(H, text().replace(exp, '"exp": 18446744073709551616')),
        "exp_negative": raw(H, text(exp=-1)),
        "exp_string": raw(H, text(exp=str(now + 3600))),
        "exp_nan_text": raw(H, text().replace(exp, '"exp": NaN')),
        "exp_i64_max_plus_1": raw(H, text(exp=9223372036854775808)),
        "nbf_1e300": raw(H, text(nbf=1e300)),
        "iat_future": raw(H, text(iat=now + 7200)),
        "sig_stripped": h + "." + p + ".",
        "sig_two_parts": h + "." + p,
        "sig_of_other_token": h + "." + p + "." + alt.split(".")[2],
        "payload_swapped": h + "." + b64(text(sub="admin").encode()) + "." + s,
        "dup_header_alg": raw('{"alg":"RS256","alg":"none","kid":"r1"}', text()),
        "dup_claim_sub": raw(H, text()[:-1] + ', "sub": "admin"}'),
        "dup_claim_exp": raw(H, text()[:-1] + ', "exp": 99999999999}'),
        "b64_padded_sig": h + "." + p + "." + s + "==",
        "b64_padded_payload": h + "." + p + "=." + s,
        "b64_std_alphabet": ".".join(alt.split(".")[:2]) + "." + alt.split(".")[2].replace("-", "+").replace("_", "/"),
        "b64_trailing_bits": h + "." + p + "." + trailing,
        "four_parts": good + ".e30",
        "whitespace_inside": h + ". " + p + "." + s,
    }}


def faults():
    """`jwks` (kid k1) and `local` (kid k2), a token each; `foreign` is k1's
    for another issuer."""
    def key(k, kid, sub):
        c = claims(sub=sub, iat=now)
        sign = lambda c: jwt.encode(c, k, algorithm="RS256", headers={"kid": kid})
        return ({"keys": [jwk(k, RSAAlgorithm, kid=kid, alg="RS256")]}, sign(c),
                sign(dict(c, iss="https://elsewhere.test")))
    jwks, token, foreign = key(R1, "k1", "alice")
    local, local_token, _ = key(R2, "k2", "bob")
    return {"jwks": jwks, "token": token, "foreign": foreign, "local": local,
            "local_token": local_token}


def injection():
    """An Ed25519 key set and tokens whose `sub` and `org.team` carry CR LF
    (and NUL) with a header of their own."""
    def tok(sub, team):
        c = {"iss": "https://issuer.test", "sub": sub, "exp": now + 3600, "org": {"team": team}}
        return jwt.encode(c, D1, algorithm="EdDSA", headers={"kid": "d1"})
    return {"jwks": {"keys": [jwk(D1, OKPAlgorithm, kid="d1", alg="EdDSA")]},
            "good": tok("alice", "blue"),
            "crlf": tok("eve\r\nx-admin: 1", "blue\r\nx-injected: 1"),
            "nul": tok("eve\u0000root", "b\u0000")}


# The bench's tokens: the JWS is built by hand (PyJWT's encode costs more
# than the signature for 16k tokens); the tests check that PyJWT and the
# filter agree on the format.
BENCH_ISSUER, BENCH_AUDIENCE = "https://bench.tollgate.test", "bench"


def bench_signer(alg):
    if alg == "RS256":
        return lambda m: R1.sign(m, padding.PKCS1v15(), hashes.SHA256())

    def sign(m):
        r, s = decode_dss_signature(E1.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return sign


def bench_token(alg, claims):
    signing_input = b64json({"alg": alg, "typ": "JWT", "kid": "bench-" + alg.lower()}) + "." + b64json(claims)
    return signing_input + "." + b64(bench_signer(alg)(signing_input.encode()))


def bench(outdir, count):
    for alg in ("RS256", "ES256"):
        with open(os.path.join(outdir, alg.lower() + ".txt"), "w") as f:
            for i in range(count):
                f.write(bench_token(alg, {"iss": BENCH_ISSUER, "aud": BENCH_AUDIENCE,
                                          "sub": "bench-%d" % i, "jti": "%d-%d" % (now, i),
                                          "iat": now, "exp": now + 86400}))
                f.write("\n")


def bench_same():
    # exp 2100-01-01: the token is the same in every run.
    for alg in ("RS256", "ES256"):
        print(alg, bench_token(alg, {"iss": BENCH_ISSUER, "aud": BENCH_AUDIENCE, "sub": "bench-same",
                                     "iat": 1795564800, "exp": 4102444800}))


def bench_jwks():
    rn, en = R1.public_key().public_numbers(), E1.public_key().public_numbers()
    big = lambda n, size: b64(n.to_bytes(size, "big"))
    print(json.dumps({"keys": [
        {"kty": "RSA", "kid": "bench-rs256", "alg": "RS256", "use": "sig",
         "n": big(rn.n, 256), "e": big(rn.e, 3)},
        {"kty": "EC", "kid": "bench-es256", "alg": "ES256", "use": "sig", "crv": "P-256",
         "x": big(en.x, 32), "y": big(en.y, 32)},
    ]}, separators=(",", ":")))


SETS = {"auth_jwt": auth_jwt, "attacks": attacks, "faults": faults, "injection": injection}
if SET in SETS:
    print(json.dumps(SETS[SET]()))
elif SET == "bench":
    bench(sys.argv[3], int(sys.argv[4]))
elif SET == "bench-same":
    bench_same()
elif SET == "bench-jwks":
    bench_jwks()
else:
    sys.exit("mint.py: unknown set %r (want one of %s, bench, bench-same, bench-jwks)"
             % (SET, ", ".join(SETS)))
