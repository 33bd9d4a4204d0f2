#!/usr/bin/env python3
"""make-corpus.py: regenerate the seed corpora in tests/fuzz/corpus/.

Seeds are built with Python's `cryptography` package (an independent AES-SIV
implementation), so valid seeds also cross-check our cookie format. The fixed
fuzzing cookie key is 32 bytes of 0x42 (see fuzz_cookie.c, fuzz_nts_request.c).
"""
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESSIV

HERE = os.path.dirname(os.path.abspath(__file__))
COOKIE_KEY = b"\x42" * 32
KEYLEN = {15: 32, 30: 16, 17: 64}


def cookie(aead_id, c2s, s2c, key_id=0x01000005, nonce=b"\x07" * 14):
    kid = struct.pack(">I", key_id)
    plain = struct.pack(">H", aead_id) + c2s + s2c
    return kid + nonce + AESSIV(COOKIE_KEY).encrypt(plain, [kid, nonce])


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cookies():
    for aead, kl in KEYLEN.items():
        c = cookie(aead, bytes(range(kl)), bytes(range(100, 100 + kl)))
        write("cookie", "valid-%d" % aead, c)
        write("cookie", "trunc-%d" % aead, c[:-1])
    write("cookie", "short", b"\x00\x00\x00\x01")
    write("cookie", "bad-aead", cookie(16, b"\x01" * 24, b"\x02" * 24)[:100])


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    cookies()
    for extra in sys.argv[1:]:
        __import__(extra).main(write, cookie)
