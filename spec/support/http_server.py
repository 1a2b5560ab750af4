#!/usr/bin/python3
"""A tiny HTTP/1.1 server for spec/http_spec.lua (the libcurl transport).

Binds 127.0.0.1 on a port the kernel picks and prints that port on the
first line of stdout.  Keep-alive is on (HTTP/1.1), so the specs can see
whether the client reuses its connection: every answer carries the
client's source port.

  /echo          JSON {method, path, headers, body, peer_port}
  /slow?ms=N     waits N ms, then answers like /echo, plus "peak": the most
                 /slow requests in flight at once while this one was
  /status/N      answers status N with a small JSON error body
  /big?n=N       N bytes of "x"
  /close         answers, then closes the connection
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

# The /slow requests in flight, each as [peak seen during its life].
SLOW_LOCK = threading.Lock()
SLOW = []


def slow(ms):
    """Sleep ms milliseconds; return the most /slow requests seen at once."""
    me = [0]
    with SLOW_LOCK:
        SLOW.append(me)
        for rec in SLOW:
            rec[0] = max(rec[0], len(SLOW))
    time.sleep(ms / 1000.0)
    with SLOW_LOCK:
        SLOW.remove(me)
    return me[0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status = 200
        close = False
        extra = {}
        if url.path == "/slow":
            extra["peak"] = slow(int(query.get("ms", ["1000"])[0]))
        if url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
            out = json.dumps({"__type": "Status%d" % status}).encode()
        elif url.path == "/big":
            out = b"x" * int(query.get("n", ["0"])[0])
        else:
            echo = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("latin-1"),
                "peer_port": self.client_address[1],
            }
            echo.update(extra)
            out = json.dumps(echo).encode()
            close = url.path == "/close"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Multi", "a")
        self.send_header("X-Multi", "b")
        self.send_header("x-amzn-RequestId", "req-1")
        if self.command == "HEAD":
            self.send_header("Content-Length", "0")
            out = b""
        else:
            self.send_header("Content-Length", str(len(out)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
