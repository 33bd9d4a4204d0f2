"""Seeds for fuzz_ntp and fuzz_nts_request (imported by make-corpus.py).
NTS requests carry real cookies under the fuzzing cookie key and real
authenticators (Python cryptography's AES-SIV / AES-GCM-SIV)."""
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESSIV, AESGCMSIV


def ef(t, body):
    pad = (-len(body)) % 4
    body = body + b"\x00" * pad
    if len(body) < 12:
        body += b"\x00" * (12 - len(body))
    return struct.pack(">HH", t, 4 + len(body)) + body


def header(mode=3, version=4):
    return bytes([(version << 3) | mode]) + b"\x00" * 39 + b"\x11" * 8


def nts_request(cookie_fn, aead, nph=0, enc_ph=0):
    kl = {15: 32, 30: 16}[aead]
    c2s, s2c = bytes(range(kl)), bytes(range(50, 50 + kl))
    c = cookie_fn(aead, c2s, s2c)
    pkt = header() + ef(0x0104, b"\x55" * 32) + ef(0x0204, c)
    pkt += b"".join(ef(0x0304, b"\x00" * len(c)) for _ in range(nph))
    plain = b"".join(ef(0x0304, b"\x00" * len(c)) for _ in range(enc_ph))
    if aead == 15:
        nonce = b"\x01" * 16
        ct = AESSIV(c2s).encrypt(plain, [pkt, nonce])
    else:
        nonce = b"\x01" * 12
        ct = AESGCMSIV(c2s).encrypt(nonce, plain, pkt)
    body = struct.pack(">HH", len(nonce), len(ct)) + nonce + ct
    return pkt + ef(0x0404, body)


def main(write, cookie):
    write("ntp", "client-v4", header())
    write("ntp", "client-v3", header(version=3))
    write("ntp", "mode6", header(mode=6) + b"\x00" * 12)
    write("ntp", "unknown-ef", header() + ef(0x1234, b"x" * 20))
    write("ntp", "legacy-mac", header() + b"\x00\x00\x00\x01" + b"\xaa" * 16)
    for aead in (15, 30):
        for nph in (0, 1, 7):
            r = nts_request(cookie, aead, nph)
            write("ntp", "nts-%d-%d" % (aead, nph), r)
            write("nts_request", "nts-%d-%d" % (aead, nph), r)
        write("nts_request", "nts-%d-enc2" % aead, nts_request(cookie, aead, 1, 2))
    write("nts_request", "plain", header())
    r = nts_request(cookie, 15, 0)
    write("nts_request", "trunc", r[:-1])
    write("nts_request", "trailing-mac", r + b"\x00" * 20)
