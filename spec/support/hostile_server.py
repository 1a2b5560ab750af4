#!/usr/bin/python3
"""A misbehaving HTTP server for spec/integration/hostile_spec.lua (issue 12).

Binds 127.0.0.1 on a port the kernel picks and prints that port on the
first line of stdout.  One request per connection.  The first segment of
the request path picks the behaviour, so a client whose endpoint is
http://127.0.0.1:PORT/<behaviour>/<key> meets it on every request; the
key names a log (what each request looked like) for the stateful ones.

  ok                 200 {"Permissions":[]} (X-Amz-Date checked, see skew)
  reset_before       reads the request, then a TCP reset, nothing sent
  reset_after        the status line, a pause, then a TCP reset
  trunc_headers      the status line and half a header block, then FIN
  trunc_body         Content-Length: 1000, 10 bytes of body, then FIN
  stall              reads the request and never answers
  drip               a valid answer, one byte per second
  huge_cl            200 MiB with Content-Length, as fast as it can
  huge_close         200 MiB delimited by the close
  huge_chunked       1 MiB chunks that never end
  endless_line       a header line that never ends (no CRLF ever)
  endless_headers    header lines that never end
  chunk_nonhex       chunk size "zz"
  chunk_negative     chunk size "-12"
  chunk_overlong     a chunk size line of 1 MiB of "0" before its digits
  chunk_nocrlf       chunk data followed by "XY" instead of CRLF
  html200, html502   an HTML page with that status
  json_array         200 [1,2]
  json_str_list      200 {"Permissions":"str"}
  json_bad_time      200 {"Permissions":[{"CreatedAt":"x"}]}
  errortype_only     400, X-Amzn-Errortype and no body
  status999          status 999 with a JSON body
  repeat_token       200 {"Permissions":[],"NextToken":"same-token"}, always
  skew               the key's first request: 400 RequestTimeTooSkewed with
                     Date: Fri, 31 Dec 9999 23:59:59 GMT; then as "ok"

"ok" (and "skew" after its first request) answers like the service: an
X-Amz-Date more than 15 minutes from this clock gets 400
RequestTimeTooSkewed with the true Date.

Control: GET /_log/<key> answers the key's requests as JSON, a list of
{"behaviour", "amz_date", "target"}.

Every writer stops when the client goes away (a failed send ends the
connection); --parent-pid makes the server exit when the spec does.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate

MIB = 1024 * 1024
HEAD_LIMIT = 65536
BODY_LIMIT = 1 * MIB
SKEW_DATE = "Fri, 31 Dec 9999 23:59:59 GMT"
SKEW_LIMIT = 15 * 60
LIFETIME = 120          # seconds any one connection may live

LOCK = threading.Lock()
LOGS = {}               # key -> [record]


class Gone(Exception):
    """The client went away."""


def send(conn, data):
    try:
        conn.sendall(data)
    except OSError as exc:
        raise Gone() from exc


def read_request(conn):
    """(method, path, headers, body) or None when the client sends no request."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > HEAD_LIMIT:
            return None
        piece = conn.recv(65536)
        if not piece:
            return None
        buf += piece
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length") or 0), BODY_LIMIT)
    while len(rest) < length:
        piece = conn.recv(65536)
        if not piece:
            break
        rest += piece
    return parts[0], parts[1], headers, rest[:length]


def response(status, reason, body, headers=None, ctype="application/x-amz-json-1.1",
             date=None):
    lines = ["HTTP/1.1 %d %s" % (status, reason),
             "Content-Type: " + ctype,
             "Content-Length: %d" % len(body),
             "x-amzn-RequestId: hostile-%d" % status,
             "Date: " + (date or formatdate(usegmt=True)),
             "Connection: close"]
    lines += headers or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def amz_time(value):
    try:
        return time.mktime(time.strptime(value, "%Y%m%dT%H%M%SZ")) - time.timezone
    except (ValueError, OverflowError, TypeError):
        return None


def normal(headers):
    """The service's answer: a ListPermissions page, or a skew error."""
    sent = amz_time(headers.get("x-amz-date"))
    if sent is None or abs(sent - time.time()) > SKEW_LIMIT:
        body = json.dumps({"__type": "RequestTimeTooSkewed",
                           "message": "Signature not yet current or expired"}).encode()
        return response(400, "Bad Request", body)
    return response(200, "OK", b'{"Permissions":[]}')


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def hold(conn):
    """Wait, sending nothing, until the client closes (or LIFETIME)."""
    conn.settimeout(0.5)
    deadline = time.time() + LIFETIME
    while time.time() < deadline:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def stream(conn, head, piece, total=None):
    """head, then piece over and over (total bytes, or forever)."""
    send(conn, head)
    sent = 0
    deadline = time.time() + LIFETIME
    while (total is None or sent < total) and time.time() < deadline:
        chunk = piece if total is None else piece[:total - sent]
        send(conn, chunk)
        sent += len(chunk)


CHUNK_JSON = b'{"Permissions":[]}'
CHUNKED_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
BAD_CHUNKS = {
    # each would decode to valid JSON if the framing error were overlooked
    "chunk_nonhex": b"zz\r\n" + CHUNK_JSON + b"\r\n0\r\n\r\n",
    "chunk_negative": b"-12\r\n" + CHUNK_JSON + b"\r\n0\r\n\r\n",
    "chunk_overlong": b"0" * MIB + b"12\r\n" + CHUNK_JSON + b"\r\n0\r\n\r\n",
    "chunk_nocrlf": b"12\r\n" + CHUNK_JSON + b"XY0\r\n\r\n",
}
HTML = b"<html><head><title>Bad Gateway</title></head><body><h1>502</h1></body></html>"
FIXED = {
    "html200": response(200, "OK", HTML, ctype="text/html"),
    "html502": response(502, "Bad Gateway", HTML, ctype="text/html"),
    "json_array": response(200, "OK", b"[1,2]"),
    "json_str_list": response(200, "OK", b'{"Permissions":"str"}'),
    "json_bad_time": response(200, "OK", b'{"Permissions":[{"CreatedAt":"x"}]}'),
    "errortype_only": response(400, "Bad Request", b"", [
        "X-Amzn-Errortype: AccessDeniedException:"
        "http://internal.amazon.com/coral/com.amazon.coral.service/"]),
    "status999": response(999, "Whatever", b'{"Permissions":[]}'),
    "repeat_token": response(200, "OK", b'{"Permissions":[],"NextToken":"same-token"}'),
}


def behave(conn, kind, first, headers):
    if kind in FIXED:
        send(conn, FIXED[kind])
    elif kind in BAD_CHUNKS:
        send(conn, CHUNKED_HEAD + BAD_CHUNKS[kind])
    elif kind == "reset_before":
        reset(conn)
    elif kind == "reset_after":
        send(conn, b"HTTP/1.1 200 OK\r\n")
        time.sleep(0.3)
        reset(conn)
    elif kind == "trunc_headers":
        send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-js")
    elif kind == "trunc_body":
        send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                   b"Content-Length: 1000\r\nConnection: close\r\n\r\n" + b'{"Permissi')
    elif kind == "stall":
        hold(conn)
    elif kind == "drip":
        for i, byte in enumerate(normal(headers)):
            send(conn, bytes([byte]))
            if i > LIFETIME:
                break
            time.sleep(1)
    elif kind == "huge_cl":
        stream(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                     b"Content-Length: %d\r\n\r\n" % (200 * MIB), b" " * MIB, 200 * MIB)
    elif kind == "huge_close":
        stream(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                     b"Connection: close\r\n\r\n", b" " * MIB, 200 * MIB)
    elif kind == "huge_chunked":
        stream(conn, CHUNKED_HEAD, b"100000\r\n" + b" " * MIB + b"\r\n")
    elif kind == "endless_line":
        stream(conn, b"HTTP/1.1 200 OK\r\nX-Endless: ", b"a" * 65536)
    elif kind == "endless_headers":
        stream(conn, b"HTTP/1.1 200 OK\r\n", b"X-Many: v\r\n" * 4096)
    elif kind == "skew" and first:
        body = json.dumps({"__type": "RequestTimeTooSkewed",
                           "message": "The difference between the request time and the "
                                      "current time is too large."}).encode()
        send(conn, response(400, "Bad Request", body, date=SKEW_DATE))
    else:
        send(conn, normal(headers))


def serve_log(conn, key):
    with LOCK:
        body = json.dumps(LOGS.get(key, [])).encode()
    send(conn, response(200, "OK", body, ctype="application/json"))


def handle(conn):
    try:
        conn.settimeout(30)
        req = read_request(conn)
        if req is None:
            return
        _, path, headers, _ = req
        segs = path.split("?", 1)[0].strip("/").split("/")
        if segs[0] == "_log":
            serve_log(conn, segs[1] if len(segs) > 1 else "")
            return
        kind, key = segs[0], segs[1] if len(segs) > 1 else ""
        with LOCK:
            log = LOGS.setdefault(key, [])
            first = not any(r["behaviour"] == kind for r in log)
            log.append({"behaviour": kind, "amz_date": headers.get("x-amz-date"),
                        "target": headers.get("x-amz-target")})
        behave(conn, kind, first, headers)
    except (Gone, OSError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def watch_parent(pid):
    """Exits when the process that started us is gone (no orphans)."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parent-pid", type=int)
    args = ap.parse_args()
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
