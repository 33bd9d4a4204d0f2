"""corpus_misc.py: seeds for the metrics, keyfile and config fuzz targets.

    python3 tests/fuzz/make-corpus.py corpus_misc
"""
import struct

DEPLOYMENT = b"\x44" * 16  # the fixed deployment id of fuzz_keyfile.c
NO_RETIRE = (1 << 63) - 1


def keyfile_body(role=1, gens=((0, 100, NO_RETIRE, 100),), epoch_len=3600, window=2,
                 version=1, created=1700000000, deployment=DEPLOYMENT):
    b = struct.pack(">BB", version, role) + deployment
    b += struct.pack(">QIHB", created, epoch_len, window, len(gens))
    for i, (gen, act, ret, chain) in enumerate(gens):
        b += struct.pack(">Bqqq", gen, act, ret, chain)
        b += bytes([i] * 8) + bytes(range(i, i + 32))
    return b


def metrics(write):
    for name, req in [
        ("health", b"GET /health HTTP/1.0\r\n\r\n"),
        ("metrics", b"GET /metrics HTTP/1.1\r\nHost: localhost:9100\r\nAccept: */*\r\n\r\n"),
        ("root", b"GET / HTTP/1.0\r\n\r\n"),
        ("query", b"GET /metrics?x=1 HTTP/1.0\n\n"),
        ("post", b"POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n"),
        ("notfound", b"GET /nope HTTP/1.0\r\n\r\n"),
        ("partial", b"GET /health HTTP/1.0\r\nX-Slow: aaaa"),
        ("lf-only", b"GET /health\n\n"),
        ("big", b"GET /metrics HTTP/1.0\r\nX: " + b"a" * 4100),
    ]:
        write("metrics", name, req)


def keyfile(write):
    write("keyfile", "body-ke", b"\x01" + keyfile_body())
    write("keyfile", "body-responder-3gens", b"\x01" + keyfile_body(
        role=2, gens=((0, 10, 200, 150), (1, 180, 400, 180), (2, 380, NO_RETIRE, 390))))
    write("keyfile", "body-6gens", b"\x01" + keyfile_body(
        gens=tuple((g, 10 * g, NO_RETIRE, 10 * g) for g in range(6))))
    write("keyfile", "body-sealed", b"\x02" + keyfile_body(role=2))
    write("keyfile", "body-bad-version", b"\x01" + keyfile_body(version=2))
    write("keyfile", "body-other-deployment", b"\x01" + keyfile_body(deployment=b"\x00" * 16))
    write("keyfile", "body-trailing", b"\x01" + keyfile_body() + b"\x00")
    write("keyfile", "body-truncated", b"\x01" + keyfile_body()[:-5])
    write("keyfile", "raw-header", b"\x00NTSKEYF1\x00" + keyfile_body() + b"\x00" * 64)
    write("keyfile", "raw-sealed", b"\x00NTSKEYF1\x01" + b"\x00" * 48)
    write("keyfile", "raw-bad-magic", b"\x00NTSKEYF2\x00")


def config(write):
    write("config", "all", b"""# every directive of fuzz_config.c
count 42
enabled yes
deadline 2s
deadline 500ms
maxsize 64k
listen 127.0.0.1:123 [::1]:4460 ::
name "quoted value"
source ntp
multi a b "c d" # trailing comment
multi
""")
    write("config", "errors", b"""count 0
count 99999999999999999999
enabled maybe
deadline 1x
maxsize 16Q
listen [::1
listen 300.1.1.1
name "unterminated
name "x"y
source gps
unknown directive
count 1
""")
    write("config", "long-line", b"multi " + b"x" * 1100 + b"\nmulti " +
          b" a" * 20 + b"\n")
    write("config", "crlf", b"count 7\r\nenabled off\r\n\r\n   \t# only a comment\r\n")


def main(write, cookie):
    metrics(write)
    keyfile(write)
    config(write)
