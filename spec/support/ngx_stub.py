#!/usr/bin/python3
"""spec/support/ngx_stub.py: raw HTTP answers for the cosocket transport's
memory and deadline specs (spec/integration/transport_ngx_spec.lua), sent
from outside nginx so the worker under test holds only what it reads.

    /usr/bin/python3 ngx_stub.py [--parent-pid PID]   # prints its port

GET paths (query n = a count, interval = seconds between drips):
    /close?n=MIB      200, no framing, MIB MiB of body, then close
    /length?n=MIB     200, Content-Length of MIB MiB, the body sent
    /chunks?n=MIB     200, chunked, MIB MiB in 64 KiB chunks
    /line?n=MIB       a header line of MIB MiB that never ends
    /headers?n=MIB    MIB MiB of "a: b" header lines, no blank line
    /drip/status      the status line, one byte per interval
    /drip/headers     a header line, one byte per interval
    /drip/body        a Content-Length body, one byte per interval
    /drip/chunked     a chunked body, one byte per interval
    /drip/close       a close-delimited body, one byte per interval
A drip lasts at most 60 s; every answer stops when the client goes away.
"""

import os
import random
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

MIB = 1 << 20
PIECE = 64 * 1024
DRIP_MAX = 60

DRIPS = {
    "status": (b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "headers": (b"HTTP/1.1 200 OK\r\n", b"X-Drip: " + b"d" * 200 + b"\r\n\r\n"),
    "body": (b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n", b"b" * 200),
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"1\r\nc\r\n" * 40 + b"0\r\n\r\n"),
    "close": (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"z" * 200),
}


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(4096)
        if not piece or len(data) > 65536:
            return None
        data += piece
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return urlsplit(parts[1]) if len(parts) == 3 else None


# Random letters, MIB + 13 bytes: read in 64 KiB pieces, no two pieces are
# equal, so LuaJIT's string interning cannot hide what the reader holds.
LETTERS = bytes(random.Random(12).choices(b"abcdefghijklmnopqrstuvwxyz", k=MIB + 13))


def stream(conn, head, total, piece=None):
    """head, then total bytes: piece repeated, or the random letters."""
    conn.sendall(head)
    sent, pos = 0, 0
    while sent < total:
        if piece is None:
            data = LETTERS[pos:pos + PIECE]
            pos = (pos + len(data)) % len(LETTERS)
        else:
            data = piece
        data = data[:total - sent]
        conn.sendall(data)
        sent += len(data)


def drip(conn, what, interval):
    head, rest = DRIPS[what]
    conn.sendall(head)
    deadline = time.monotonic() + DRIP_MAX
    for i in range(len(rest)):
        if time.monotonic() > deadline:
            return
        conn.sendall(rest[i:i + 1])
        time.sleep(interval)


def answer(conn, url):
    q = parse_qs(url.query)
    mib = int(q.get("n", ["1"])[0]) * MIB
    interval = float(q.get("interval", ["1"])[0])
    path = url.path
    ok = b"HTTP/1.1 200 OK\r\n"
    if path == "/close":
        stream(conn, ok + b"Connection: close\r\n\r\n", mib)
    elif path == "/length":
        stream(conn, ok + b"Content-Length: %d\r\n\r\n" % mib, mib)
    elif path == "/chunks":
        conn.sendall(ok + b"Transfer-Encoding: chunked\r\n\r\n")
        for i in range(mib // PIECE):
            at = (i * 7919) % (MIB - PIECE)
            conn.sendall(b"%x\r\n%s\r\n" % (PIECE, LETTERS[at:at + PIECE]))
        conn.sendall(b"0\r\n\r\n")
    elif path == "/line":
        stream(conn, ok + b"X-Long: ", mib)
    elif path == "/headers":
        stream(conn, ok, mib, b"a: b\r\n" * (PIECE // 6))
    elif path.startswith("/drip/") and path[6:] in DRIPS:
        drip(conn, path[6:], interval)
    else:
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


def serve(conn):
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        url = read_request(conn)
        if url is not None:
            answer(conn, url)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def watch_parent(pid):
    """Exit when the spec process that started us is gone."""
    while True:
        time.sleep(1)
        try:
            os.kill(pid, 0)
        except OSError:
            os._exit(0)


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--parent-pid":
        threading.Thread(target=watch_parent, args=(int(args[1]),), daemon=True).start()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    sys.stdout.write("%d\n" % srv.getsockname()[1])
    sys.stdout.flush()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
