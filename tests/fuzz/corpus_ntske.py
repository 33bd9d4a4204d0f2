"""Seeds for fuzz_ntske (imported by make-corpus.py)."""
import struct

C = 0x8000


def rec(t, body=b""):
    return struct.pack(">HH", t, len(body)) + body


def main(write, cookie):
    np0 = rec(C | 1, b"\x00\x00")
    end = rec(C | 0)
    write("ntske", "chrony-15", np0 + rec(C | 4, b"\x00\x0f") + end)
    write("ntske", "chrony44-30-15", np0 + rec(C | 4, b"\x00\x1e\x00\x0f") + rec(1024) + end)
    write("ntske", "only-30", np0 + rec(C | 4, b"\x00\x1e") + end)
    write("ntske", "no-common", np0 + rec(C | 4, b"\x00\x10") + end)
    write("ntske", "unknown-critical", rec(C | 0x99) + np0 + rec(C | 4, b"\x00\x0f") + end)
    write("ntske", "unknown-noncritical", rec(0x99, b"abcd") + np0 + rec(C | 4, b"\x00\x0f") + end)
    write("ntske", "missing-aead", np0 + end)
    write("ntske", "dup-np", np0 + np0 + rec(C | 4, b"\x00\x0f") + end)
    write("ntske", "no-eom", np0 + rec(C | 4, b"\x00\x0f"))
    write("ntske", "past-end", np0 + struct.pack(">HH", C | 4, 200) + b"\x00\x0f")
    write("ntske", "hints", np0 + rec(C | 4, b"\x00\x0f") + rec(6, b"example.org") + rec(7, b"\x00\x7b") + end)
    resp = np0 + rec(C | 4, b"\x00\x0f") + b"".join(rec(5, b"\x11" * 102) for _ in range(8)) \
        + rec(C | 6, b"127.0.0.1") + rec(C | 7, b"\x10\x1b") + end
    write("ntske", "response", resp)
    write("ntske", "error1", rec(C | 2, b"\x00\x01") + end)
