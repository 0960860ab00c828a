#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the
filters' tests and fixtures. Run from anywhere: `python3 fuzz/seeds.py`.

Only these small seeds are committed; libFuzzer grows its corpus under the
target directory (`cargo xtask fuzz` passes that directory first). Rerun this
after adding tests to bring their inputs in; it rewrites the seed folders.
"""
import hashlib
import json
import re
import shutil
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
MAX_PER_TARGET = 60

RAW = re.compile(r'r(#+)"(.*?)"\1', re.S)
PLAIN = re.compile(r'(?<![r#\w])"((?:[^"\\]|\\.)*)"', re.S)


def unescape(s):
    try:
        return json.loads('"' + s.replace("\n", "\\n") + '"')
    except ValueError:
        return None


def literals(*globs):
    """Every string literal (raw and plain) of the Rust files matched."""
    out = []
    for g in globs:
        for path in sorted(ROOT.glob(g)):
            text = path.read_text()
            out += [m.group(2) for m in RAW.finditer(text)]
            stripped = RAW.sub("", text)
            out += [u for u in (unescape(m.group(1)) for m in PLAIN.finditer(stripped)) if u is not None]
    return out


def json_objects(strings):
    out = []
    for s in strings:
        s2 = s.strip()
        if s2.startswith("{"):
            try:
                json.loads(s2)
            except ValueError:
                # Templates like format!("{{...}}") or deliberately bad JSON:
                # keep the bad ones, they are good seeds for error paths.
                s2 = s2.replace("{{", "{").replace("}}", "}")
            out.append(s2)
    return out


def write(target, seeds):
    d = OUT / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    seen = []
    for s in seeds:
        b = s if isinstance(s, bytes) else s.encode()
        if b not in seen:
            seen.append(b)
    for b in seen[:MAX_PER_TARGET]:
        (d / hashlib.sha1(b).hexdigest()[:16]).write_bytes(b)
    print(f"{target}: {min(len(seen), MAX_PER_TARGET)} seeds")


# --- protobuf, just enough for RateLimitResponse ------------------------------
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(tag, wire, payload):
    key = varint(tag << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def header(k, v):
    return field(1, 2, k.encode()) + field(2, 2, v.encode())


def status(code, reset=None, remaining=0):
    b = field(1, 0, code)
    if remaining:
        b += field(3, 0, remaining)
    if reset is not None:
        b += field(4, 2, field(1, 0, reset[0]) + field(2, 0, reset[1]))
    return b


def rls_response(code, statuses=(), resp_headers=(), req_headers=()):
    b = field(1, 0, code) if code else b""
    b += b"".join(field(2, 2, s) for s in statuses)
    b += b"".join(field(3, 2, header(k, v)) for k, v in resp_headers)
    b += b"".join(field(4, 2, header(k, v)) for k, v in req_headers)
    return b


SAMPLE_HEADERS = ":method: GET\n:path: /api/v1/items?x=1\n:authority: api.example.com\nx-user: alice\n"


def main():
    write("headers_config", json_objects(literals("filters/headers/src/**/*.rs")))
    write("auth_config", json_objects(literals("filters/auth/src/config/*.rs", "filters/auth/src/requirement/*.rs",
                                               "filters/auth/src/decide/*.rs", "filters/auth/src/ext_authz/config/*.rs")))
    write("ratelimit_config", json_objects(literals("filters/ratelimit/src/config/*.rs", "filters/ratelimit/src/descriptor/*.rs")))

    tokens = json.loads((ROOT / "filters/auth/src/jwt/testdata/tokens.json").read_text())
    write("jwt_verify", list(tokens.values()) + ["Bearer " + tokens["rs256"], "jwt=" + tokens["es256"] + "; a=b",
                                                 "/x?access_token=" + tokens["eddsa"]])

    testdata = ROOT / "filters/auth/src/jwt/testdata"
    jwks = [(testdata / f).read_text() for f in ("jwks.json", "jwks_mixed.json")]
    for s in jwks[:1]:
        for key in json.loads(s)["keys"]:
            jwks.append(json.dumps({"keys": [key]}))
    write("jwks", jwks + json_objects(literals("filters/auth/src/jwt/tests/jwks.rs")))

    templates = [s for s in literals("filters/common/src/template/*.rs", "filters/common/src/template.rs",
                                     "filters/headers/src/**/*.rs") if "%" in s and "\n" not in s]
    write("template", [t + "\n" + SAMPLE_HEADERS for t in templates])

    paths = [s for s in literals("filters/common/src/path.rs", "filters/common/src/request.rs",
                                 "filters/common/src/matcher/*.rs") if s.startswith("/") and "\n" not in s]
    write("path_normalize", paths + ["*", "", "/%", "/%2", "/a%00b", "/%ff", "/\\admin", "/a;b/../c?d#e"])

    matches = json_objects(literals("filters/common/src/matcher/*.rs"))
    write("request_match", [m + "\n---\n" + SAMPLE_HEADERS for m in matches])

    hashes = [s for s in literals("filters/auth/src/htpasswd/*.rs", "filters/auth/src/basic/*.rs", "filters/auth/src/config/*.rs")
              if s.startswith(("{SHA}", "$apr1$", "$1$", "$5$", "$6$", "$2"))]
    files = [s for s in literals("filters/auth/src/htpasswd/*.rs", "filters/auth/src/basic/*.rs")
             if re.match(r"^[#\w.-]+:", s.strip()) or "\n" in s]
    write("htpasswd", ["alice:" + h + "\n" for h in hashes] + files
          + ["Basic YWxpY2U6c2VjcmV0", "basic  Og==", "Basic !!", "alice:plain\n", "bob:abcdefghijklm\n"])

    write("rls_response", [
        b"",
        rls_response(1, [status(1, (30, 0), 5)], [("x-ratelimit-limit", "2")], [("x-rls", "yes")]),
        rls_response(2, [status(2, (9, 500_000_000))], [("Retry-After", "9")]),
        rls_response(2, [status(2, (-1, -1)), status(2, (2**62, 999_999_999))]),
        rls_response(2, [status(2, None)], [("bad\nname", "v"), ("x", "a\r\nb")]),
        rls_response(3),
        rls_response(-1),
        b"\x08\x02\x12\x00\x12\x00",
        b"\xff\xff\xff",
        struct.pack("<QQQ", 1, 2, 3) + b"key",
        # Bucket records: version 2 (credit u128, time u64, key), version 1
        # (tokens u32, last fill u64, key), an unknown version.
        b"\x02" + struct.pack("<QQQ", 7_000_000_000, 0, 1_795_595_400_000_000_000) + b"k:1",
        b"\x02" + struct.pack("<QQQ", 2**64 - 1, 2**64 - 1, 2**64 - 1),
        b"\x01" + struct.pack("<IQ", 3, 1_795_595_400_000_000_000) + b"key",
        b"\x03" + struct.pack("<QQQ", 1, 2, 3) + b"key",
    ])

    write("ext_authz_verdict", [
        ":status: 200\nx-user-id: alice\nx-tag: a\nx-quota: 5\nx-envoy-auth-headers-to-remove: x-debug, cookie\n---\n",
        ":status: 403\nx-authz-reason: nope\nwww-authenticate: Bearer\ncontent-type: application/json\n---\n{\"denied\":true}",
        ":status: 302\nlocation: https://login.example/\n---\n",
        ":status: 401\nset-cookie: a=b\ncontent-length: 5\ntransfer-encoding: chunked\n---\nhello",
        ":status: 503\n---\nupstream down",
        ":status: 200\nx-user: a\r\nb\nhost: evil\n:path: /x\n---\n",
        ":status: 2000\n---\n",
        ":status: abc\n---\n",
        ":status: 099\n---\n",
        "---\n",
        ":status: 204\nx-user-name: \xff\xfe\n---\n",
        ":status: 429\nretry-after: 3\n---\n" + "x" * 300,
    ])


if __name__ == "__main__":
    main()
