"""tlsmem.py: an NTS-KE client over TLS memory BIOs, for the fault tests
that must decide what reaches the wire and when (a ClientHello cut in two
across a reload, a request in one-byte records, a flood behind a
ClientHello). Imported by the tests' inline Python with SRC/tests/faults
on sys.path."""
import ssl
import struct

CRITICAL = 0x8000


def record(rtype, body=b""):
    """One NTS-KE record: type (with the critical bit if wanted), length, body."""
    return struct.pack(">HH", rtype, len(body)) + body


def client(ca, tls13_only=False):
    """A TLS client for localhost with ALPN ntske/1 and the ClientHello
    already written to |out|: returns (tls, inc, out)."""
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(ca)
    if tls13_only:
        c.minimum_version = ssl.TLSVersion.TLSv1_3
    c.set_alpn_protocols(["ntske/1"])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = c.wrap_bio(inc, out, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return tls, inc, out


def read_to_end(sock, tls, inc):
    """Everything the server sends on |sock| until it closes, decrypted."""
    data = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return data
        inc.write(d)
        try:
            while True:
                x = tls.read(65536)
                if not x:
                    break
                data += x
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            pass
