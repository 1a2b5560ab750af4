#!/usr/bin/python3
"""Stand-in for the EC2 instance metadata service (IMDSv2, with an IMDSv1
mode) and the ECS/EKS container credentials endpoint, for the credential
specs.

Usage: metadata_stub.py PORTFILE
Binds 127.0.0.1 on a free port, writes the port number to PORTFILE and
serves until killed. Behaviour is changed at run time by the spec:
  POST /_config   JSON object merged into the settings below
  POST /_reset    default settings, empty call log
  GET  /_calls    JSON list of {method, path, token, auth} of every request
"""
import json
import os
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    # IMDS
    "imds_mode": "v2",          # "v2": token required; "v1": no token needed
    "token_status": 200,        # status of PUT /latest/api/token
    "role": "test-role",        # "" -> 404 on the role listing
    "role_status": 200,
    "creds_status": 200,
    "creds": {
        "Code": "Success",
        "AccessKeyId": "ASIAIMDSEXAMPLE1234",
        "SecretAccessKey": "imds-secret-value",
        "Token": "imds-session-token",
        "Expiration": "2030-01-01T00:00:00Z",
    },
    # container endpoint
    "container_path": "/v2/credentials/task",
    "container_auth": None,     # required Authorization value, if any
    "container_status": 200,
    "container_body": None,     # raw body instead of container_creds
    "container_creds": {
        "AccessKeyId": "ASIACONTAINER5678",
        "SecretAccessKey": "container-secret-value",
        "Token": "container-session-token",
        "Expiration": "2030-01-01T00:00:00Z",
    },
    "delay": 0,                 # seconds to wait before answering
}

LOCK = threading.Lock()
STATE = {"settings": json.loads(json.dumps(DEFAULTS)), "calls": [],
         "tokens": set()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        if not isinstance(body, (bytes, bytearray)):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        body = self._body()
        path = self.path
        if path.startswith("/_"):
            return self._control(path, body)
        with LOCK:
            s = STATE["settings"]
            token = self.headers.get("X-aws-ec2-metadata-token")
            STATE["calls"].append({
                "method": self.command, "path": path,
                "token": token is not None and token in STATE["tokens"],
                "ttl": self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"),
                "auth": self.headers.get("Authorization"),
            })
            s = json.loads(json.dumps(s))
        if s["delay"]:
            time.sleep(s["delay"])
        if path == s["container_path"]:
            return self._container(s)
        if path == "/latest/api/token":
            return self._token(s)
        if path.startswith("/latest/meta-data/"):
            return self._imds_get(s, path, token)
        return self._send(404, "not found", "text/plain")

    def _control(self, path, body):
        with LOCK:
            if path == "/_config":
                STATE["settings"].update(json.loads(body or b"{}"))
                return self._send(200, "{}")
            if path == "/_reset":
                STATE["settings"] = json.loads(json.dumps(DEFAULTS))
                STATE["calls"] = []
                return self._send(200, "{}")
            if path == "/_calls":
                return self._send(200, json.dumps(STATE["calls"]))
        return self._send(404, "{}")

    def _token(self, s):
        if self.command != "PUT":
            return self._send(405, "", "text/plain")
        if s["token_status"] != 200:
            return self._send(s["token_status"], "", "text/plain")
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self._send(400, "missing ttl", "text/plain")
        tok = secrets.token_hex(16)
        with LOCK:
            STATE["tokens"].add(tok)
        return self._send(200, tok, "text/plain")

    def _imds_get(self, s, path, token):
        if self.command != "GET":
            return self._send(405, "", "text/plain")
        if s["imds_mode"] == "v2":
            with LOCK:
                ok = token is not None and token in STATE["tokens"]
            if not ok:
                return self._send(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            if s["role_status"] != 200:
                return self._send(s["role_status"], "", "text/plain")
            if not s["role"]:
                return self._send(404, "", "text/plain")
            return self._send(200, s["role"], "text/plain")
        if path == base + s["role"] and s["role"]:
            if s["creds_status"] != 200:
                return self._send(s["creds_status"], "", "text/plain")
            return self._send(200, json.dumps(s["creds"]))
        return self._send(404, "", "text/plain")

    def _container(self, s):
        want = s["container_auth"]
        if want is not None and self.headers.get("Authorization") != want:
            return self._send(401, json.dumps({"message": "bad authorization"}))
        if s["container_status"] != 200:
            return self._send(s["container_status"],
                              json.dumps({"message": "container says no"}))
        if s["container_body"] is not None:
            return self._send(200, s["container_body"])
        return self._send(200, json.dumps(s["container_creds"]))

    do_GET = _handle
    do_PUT = _handle
    do_POST = _handle


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    portfile = sys.argv[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
