#!/usr/bin/env python3
"""siv_python.py: AES-SIV-CMAC-256/512 against an independent implementation.

Python `cryptography`'s AESSIV (Debian python3-cryptography) seals random
keys, associated-data vectors and plaintexts, including the NTS shapes;
`nts-microbench --siv PATH` seals the same inputs on each of our paths
(portable, aesni) and every output must match byte for byte.
Usage: siv_python.py NTS-MICROBENCH. Exit 77 (skip) without `cryptography`.
"""
import os
import random
import subprocess
import sys

try:
    import cryptography
    from cryptography.exceptions import InternalError
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV
except ImportError:
    print("python3-cryptography not installed: skipped")
    sys.exit(77)


def vectors(rng):
    shapes = [([188, 16], 0), ([84, 16], 104), ([4, 14], 66), ([4, 14], 130), ([24], 14)]
    for key_len in (32, 64):
        for ads, pt in shapes:
            yield key_len, ads, pt
        for pt in range(0, 101):
            yield key_len, [rng.randrange(0, 101) for _ in range(rng.randrange(0, 4))], pt
        for _ in range(150):
            ads = [rng.choice((rng.randrange(0, 40), rng.randrange(0, 600)))
                   for _ in range(rng.randrange(0, 9))]
            yield key_len, ads, rng.randrange(0, 2001)


def hx(b):
    return b.hex() if b else "-"


def main():
    bench = sys.argv[1]
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    lines, want, refused = [], [], 0
    for key_len, ad_lens, pt_len in vectors(rng):
        if pt_len == 0 and not ad_lens:
            continue  # AESSIV refuses an empty input with no AD
        key = os.urandom(key_len)
        ads = [os.urandom(n) for n in ad_lens]
        pt = os.urandom(pt_len)
        try:
            ct = AESSIV(key).encrypt(pt, ads)
        except (ValueError, InternalError):
            # cryptography < 42 (OpenSSL's SIV) refuses an empty plaintext;
            # those cases are covered by test_aead's RFC and differential tests
            refused += 1
            continue
        lines.append(" ".join([hx(key), hx(pt)] + [hx(a) for a in ads]))
        want.append(ct.hex())
    ran = 0
    for path in ("portable", "aesni"):
        p = subprocess.run([bench, "--siv", path], input="\n".join(lines) + "\n",
                           capture_output=True, text=True)
        if p.returncode == 77:
            print("path %s not available on this CPU" % path)
            continue
        if p.returncode != 0:
            print("nts-microbench --siv %s failed: %d %s" % (path, p.returncode, p.stderr))
            return 1
        got = p.stdout.split()
        if len(got) != len(want):
            print("%s: %d outputs for %d vectors" % (path, len(got), len(want)))
            return 1
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                print("%s: vector %d differs\n  in:   %s\n  ours: %s\n  want: %s"
                      % (path, i, lines[i], g, w))
                return 1
        print("%s: %d vectors match cryptography %s's AESSIV (%d it refused)"
              % (path, len(want), cryptography.__version__, refused))
        ran += 1
    return 0 if ran else 77


if __name__ == "__main__":
    sys.exit(main())
