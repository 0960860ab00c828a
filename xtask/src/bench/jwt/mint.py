# Mints the bench's JWTs (cargo xtask bench, JWT scenarios) with the
# bench's own keys, which are committed beside this file: they sign test
# tokens for a local Envoy and guard nothing.
#
#   mint.py KEYDIR OUTDIR COUNT  writes OUTDIR/rs256.txt and OUTDIR/es256.txt,
#                                COUNT distinct tokens each, one a line, valid
#                                for a day (sub and jti differ per token)
#   mint.py KEYDIR --same        prints the long-lived tokens the "same token"
#                                scenarios send (committed as same-*.jwt)
#   mint.py KEYDIR --keys        writes new keys and jwks.json into KEYDIR
#
# The JWS is built by hand with `cryptography` (PyJWT's encode costs more
# than the signature here); the harness's tests check that PyJWT and the
# filter agree on the format.
import base64, json, os, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://bench.tollgate.test"
AUDIENCE = "bench"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64json(v):
    return b64(json.dumps(v, separators=(",", ":")).encode())


def load(keydir, name):
    with open(os.path.join(keydir, name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def signer(keydir, alg):
    if alg == "RS256":
        k = load(keydir, "rs256.pem")
        return lambda m: k.sign(m, padding.PKCS1v15(), hashes.SHA256())
    k = load(keydir, "es256.pem")

    def sign(m):
        r, s = decode_dss_signature(k.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def token(sign, head, claims):
    signing_input = head + "." + b64json(claims)
    return signing_input + "." + b64(sign(signing_input.encode()))


def header(alg):
    return b64json({"alg": alg, "typ": "JWT", "kid": "bench-" + alg.lower()})


def write_keys(keydir):
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    e = ec.generate_private_key(ec.SECP256R1())
    pem = lambda k: k.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    for name, k in (("rs256.pem", r), ("es256.pem", e)):
        with open(os.path.join(keydir, name), "wb") as f:
            f.write(pem(k))
    rn = r.public_key().public_numbers()
    en = e.public_key().public_numbers()
    big = lambda n, size: b64(n.to_bytes(size, "big"))
    jwks = {"keys": [
        {"kty": "RSA", "kid": "bench-rs256", "alg": "RS256", "use": "sig",
         "n": big(rn.n, 256), "e": big(rn.e, 3)},
        {"kty": "EC", "kid": "bench-es256", "alg": "ES256", "use": "sig", "crv": "P-256",
         "x": big(en.x, 32), "y": big(en.y, 32)},
    ]}
    with open(os.path.join(keydir, "jwks.json"), "w") as f:
        json.dump(jwks, f, separators=(",", ":"))
        f.write("\n")


def main():
    keydir = sys.argv[1]
    if sys.argv[2] == "--keys":
        write_keys(keydir)
        return
    if sys.argv[2] == "--same":
        # exp 2100-01-01: the token is the same in every run.
        for alg in ("RS256", "ES256"):
            claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench-same", "iat": 1795564800,
                      "exp": 4102444800}
            print(alg, token(signer(keydir, alg), header(alg), claims))
        return
    outdir, count = sys.argv[2], int(sys.argv[3])
    now = int(time.time())
    for alg in ("RS256", "ES256"):
        sign, head = signer(keydir, alg), header(alg)
        with open(os.path.join(outdir, alg.lower() + ".txt"), "w") as f:
            for i in range(count):
                claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench-%d" % i, "jti": "%d-%d" % (now, i),
                          "iat": now, "exp": now + 86400}
                f.write(token(sign, head, claims))
                f.write("\n")


main()
