#!/usr/bin/env python3
"""signer_proto.py SOCKET KEYFILE CERT TMPDIR: talk to nts-signer directly.

Checks: a valid request gets a signature that openssl verifies with the
certificate's public key; many requests in flight on one connection are all
answered by id; unknown key, wrong algorithm, non-CertificateVerify input
and expired requests are refused with their status; a malformed request
ends the connection; a peer whose uid is not an allowuser is refused.
"""
import hashlib
import os
import socket
import struct
import subprocess
import sys
import time

sock_path, key, cert, tmp = sys.argv[1:5]
spki = subprocess.run(
    "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin -outform DER" % cert,
    shell=True, check=True, capture_output=True).stdout
KEY_ID = hashlib.sha256(spki).digest()
INPUT = b" " * 64 + b"TLS 1.3, server CertificateVerify\0" + os.urandom(32)


def request(rid, key_id=KEY_ID, alg=0x0403, data=INPUT, sent=None):
    if sent is None:
        sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    return struct.pack(">BBIQ", 1, 1, rid, sent) + key_id + struct.pack(">HH", alg, len(data)) + data


def reply(msg):
    version, typ, rid, status, n = struct.unpack(">BBIBH", msg[:9])
    assert version == 1 and typ == 2 and len(msg) == 9 + n, msg
    return rid, status, msg[9:]


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(sock_path)
    return s


s = connect()
# one valid request, signature verified by openssl
s.send(request(7))
rid, status, sig = reply(s.recv(2048))
assert rid == 7 and status == 0 and sig, (rid, status)
open(tmp + "/in.bin", "wb").write(INPUT)
open(tmp + "/sig.bin", "wb").write(sig)
subprocess.run("openssl x509 -in %s -pubkey -noout >%s/pub.pem" % (cert, tmp), shell=True, check=True)
v = subprocess.run(["openssl", "dgst", "-sha256", "-verify", tmp + "/pub.pem", "-signature",
                    tmp + "/sig.bin", tmp + "/in.bin"], capture_output=True, text=True)
assert v.returncode == 0 and "Verified OK" in v.stdout, v.stdout + v.stderr
print("signature verified by openssl")
# 64 in flight, answered by id
for i in range(64):
    s.send(request(1000 + i))
got = {}
for i in range(64):
    rid, status, sig = reply(s.recv(2048))
    got[rid] = status
assert sorted(got) == list(range(1000, 1064)) and set(got.values()) == {0}, got
print("64 requests in flight answered")
# refusals keep the connection
cases = [
    ("unknown key", request(1, key_id=b"\0" * 32), 1),
    ("RSA-PSS with an EC key", request(2, alg=0x0804), 2),
    ("P-384 scheme with a P-256 key", request(3, alg=0x0503), 2),
    ("PKCS#1 scheme", request(4, alg=0x0401), 2),
    ("client CertificateVerify", request(5, data=INPUT.replace(b"server", b"client")), 3),
    ("arbitrary data", request(6, data=b"x" * 130), 3),
    ("expired", request(8, sent=time.clock_gettime_ns(time.CLOCK_MONOTONIC) - 5 * 10**9), 4),
]
for name, msg, want in cases:
    s.send(msg)
    rid, status, sig = reply(s.recv(2048))
    assert status == want and not sig, (name, status)
    print("refused: %s (status %d)" % (name, status))
s.send(request(9))
assert reply(s.recv(2048))[1] == 0
# malformed: the signer closes this connection
s.send(request(10)[:-1])
assert s.recv(2048) == b"", "connection not closed after a malformed request"
print("malformed request: connection closed")
s2 = connect()
s2.send(request(11))
assert reply(s2.recv(2048))[1] == 0
print("a new connection works")
# a peer that is not an allowuser
pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    try:
        c = connect()
        c.send(request(12))
        os._exit(0 if c.recv(2048) == b"" else 1)
    except OSError:
        os._exit(0)
_, st = os.waitpid(pid, 0)
assert st == 0, "uid 65534 was served"
print("uid 65534 refused")
