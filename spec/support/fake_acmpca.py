#!/usr/bin/python3
"""fake_acmpca.py: a local, signature-checking fake of AWS Private CA (ACM PCA).

Owns the service side of the end-to-end specs.  It answers
ACMPrivateCA.CreatePermission / ListPermissions / DeletePermission over
HTTP/1.1 (keep-alive, one thread per connection, optional TLS) the way the
real service does, and rejects every request whose SigV4 signature does not
verify.  The verification is botocore's own signer (Debian's
python3-botocore), so it is independent of the signer under test.

Run it with /usr/bin/python3 (never a python3 from PATH):

  fake_acmpca.py serve --port-file FILE [--cert PEM --key PEM]
                 [--cred AKID=SECRET[:TOKEN]]... [--ca ARN=STATUS]...
                 [--config JSON_FILE] [--region us-east-1] [--delay-ms N]
                 [--log FILE] [--parent-pid PID]

A key given with a TOKEN is a temporary credential: its requests must carry
that X-Amz-Security-Token; a key without one must carry none.

The port file receives "SERVICE_PORT CONTROL_PORT\\n" once both listen.
The control plane is plain HTTP on 127.0.0.1:CONTROL_PORT (also reachable
under /_fake/ on the service port):

  GET  /_fake/ping                 -> {"ok": true}
  GET  /_fake/calls                -> {"CreatePermission": n, ..., "total": n}
  GET  /_fake/requests             -> [record, ...] (oldest first, max 1000)
  GET  /_fake/last                 -> the last record (or {})
  GET  /_fake/state                -> CAs, permissions, delay, faults, clock
  POST /_fake/reset                -> clears permissions, records, counts,
                                      faults, clock offset; delay and CA
                                      statuses back to the start values
  POST /_fake/delay  {"ms": N}
  POST /_fake/ca     {"arn": A, "status": "ACTIVE"|... |null (remove)}
  POST /_fake/clock  {"offset": seconds}   server clock skew (Date header too)
  POST /_fake/fault  {"kind": K, "count": N, "status": S, "body": B}
       K = throttle (400 ThrottlingException), unavailable (503
       ServiceUnavailable), internal (500 InternalFailure), html (an HTML
       page, default status 502), garbage (a non-JSON body, default status
       200), truncated (a cut JSON body, status 200), close (drop the
       connection without an answer), error (status S, {"__type": B}).
       Faults hit the next N service requests that pass authentication.
  POST /_fake/faults/clear

A record is {"seq", "connection_id", "client_port", "tls", "method", "path",
"headers": [[name, value], ...] (received order and case), "body",
"operation", "status", "code", "signed_headers", "request_id"}.

The other mode signs with botocore's own client, to check this fake:

  fake_acmpca.py call --endpoint URL --region R --akid K --secret S
                 [--token T] [--ca-file PEM] OPERATION JSON_PARAMS

prints {"ok": result} or {"error": {"code", "message", "status"}}.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socket
import socketserver
import ssl
import sys
import threading
import time
import types
import uuid

# --------------------------------------------------------------------------
# botocore signer with the timestamp taken from the request
# --------------------------------------------------------------------------

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_clock = threading.local()


class _RequestDatetime(datetime.datetime):
    """datetime whose utcnow() is the X-Amz-Date of the request in hand."""

    @classmethod
    def utcnow(cls):
        now = getattr(_clock, "now", None)
        if now is None:
            return datetime.datetime.utcnow()
        return now


# botocore 1.29 SigV4Auth.add_auth reads datetime.datetime.utcnow(); this
# process only ever signs to verify, so the patch is process-wide but
# per-thread in effect.
botocore.auth.datetime = types.SimpleNamespace(datetime=_RequestDatetime)

SERVICE = "acm-pca"
AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
ARN_RE = re.compile(
    r"^arn:[\w+=/,.@-]+:acm-pca:[\w+=/,.@-]*:[0-9]*:[\w+=,.@-]+(/[\w+=,.@-]+)*$"
)
CA_ARN_RE = re.compile(
    r"^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/[\w+=,.@-]+$"
)
ACTIONS = ("IssueCertificate", "GetCertificate", "ListPermissions")
OPERATIONS = ("CreatePermission", "ListPermissions", "DeletePermission")
SKEW_LIMIT = 15 * 60
MAX_RECORDS = 1000


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def expected_signature(method, url, headers, body, amz_date, signed_names,
                       akid, secret, token):
    """Re-sign with botocore; returns (signed_headers, signature)."""
    req = AWSRequest(method=method, url=url, data=body)
    for name in signed_names:
        if name in ("x-amz-date", "authorization"):
            continue
        if name == "x-amz-security-token":
            continue  # botocore adds it from the credentials
        req.headers[name] = ",".join(headers[name])
    when = datetime.datetime.strptime(amz_date, botocore.auth.SIGV4_TIMESTAMP)
    _clock.now = when
    try:
        creds = Credentials(akid, secret,
                            token if "x-amz-security-token" in signed_names else None)
        signer = botocore.auth.SigV4Auth(creds, SERVICE, REGION[0])
        signer.add_auth(req)
    finally:
        _clock.now = None
    auth = req.headers["Authorization"]
    fields = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
    return fields["SignedHeaders"], fields["Signature"]


REGION = ["us-east-1"]

# --------------------------------------------------------------------------
# state shared by every connection
# --------------------------------------------------------------------------


class State:
    def __init__(self, cas, creds, delay_ms):
        self.lock = threading.Lock()
        self.initial_cas = dict(cas)
        self.initial_delay = delay_ms
        self.creds = creds          # akid -> (secret, token or None)
        self.conn_seq = 0
        self.reset()

    def reset(self):
        self.cas = dict(self.initial_cas)
        self.perms = {}             # arn -> list of permission dicts
        self.tokens = {}            # next token -> (arn, offset)
        self.records = []
        self.seq = 0
        self.calls = {op: 0 for op in OPERATIONS}
        self.calls["total"] = 0
        self.faults = []            # list of [kind, remaining, status, body]
        self.delay_ms = self.initial_delay
        self.clock_offset = 0.0

    def now(self):
        return time.time() + self.clock_offset

    def next_connection(self):
        with self.lock:
            self.conn_seq += 1
            return self.conn_seq

    def take_fault(self):
        with self.lock:
            while self.faults:
                fault = self.faults[0]
                if fault[1] > 0:
                    fault[1] -= 1
                    if fault[1] == 0:
                        self.faults.pop(0)
                    return fault
                self.faults.pop(0)
        return None


STATE = None

# --------------------------------------------------------------------------
# authentication
# --------------------------------------------------------------------------


def parse_authorization(value):
    if not value:
        raise ApiError(403, "MissingAuthenticationTokenException",
                       "Missing Authentication Token")
    algo, _, rest = value.partition(" ")
    if algo != "AWS4-HMAC-SHA256":
        raise ApiError(403, "IncompleteSignatureException",
                       "Unsupported Authorization Type")
    fields = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if not eq:
            raise ApiError(403, "IncompleteSignatureException",
                           "Authorization header requires 'Credential', "
                           "'Signature' and 'SignedHeaders' parameters. "
                           "Authorization=" + value[:40])
        fields[key] = val
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in fields:
            raise ApiError(403, "IncompleteSignatureException",
                           "Authorization header requires '%s' parameter." % need)
    return fields


def authenticate(method, url, headers, body):
    """Raises ApiError unless the request carries a valid SigV4 signature."""
    fields = parse_authorization(first(headers, "authorization"))
    scope = fields["Credential"].split("/")
    if len(scope) != 5:
        raise ApiError(403, "IncompleteSignatureException",
                       "Credential should have exactly 5 slash-separated parts.")
    akid, date, region, service, term = scope
    amz_date = first(headers, "x-amz-date")
    if amz_date is None:
        raise ApiError(403, "IncompleteSignatureException",
                       "Authorization header requires existence of either a "
                       "'X-Amz-Date' or a 'Date' header.")
    if not AMZ_DATE_RE.match(amz_date):
        raise ApiError(403, "IncompleteSignatureException",
                       "X-Amz-Date must be in the ISO8601 Long Format")
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed:
        raise ApiError(403, "InvalidSignatureException",
                       "'Host' must be a signed header")
    for name in signed:
        if name not in headers:
            raise ApiError(403, "InvalidSignatureException",
                           "Signed header '%s' is missing from the request" % name)
        if name in botocore.auth.SIGNED_HEADERS_BLACKLIST:
            raise ApiError(403, "InvalidSignatureException",
                           "fake cannot verify a signed '%s' header" % name)
    if akid not in STATE.creds:
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    secret, want_token = STATE.creds[akid]
    token = first(headers, "x-amz-security-token")
    if want_token != token:
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    if term != "aws4_request":
        raise ApiError(403, "InvalidSignatureException",
                       "Credential should be scoped with a valid terminator: "
                       "'aws4_request', not '%s'." % term)
    if date != amz_date[:8]:
        raise ApiError(403, "InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from "
                       "ISO-8601 version of date from HTTP: '%s' != '%s', "
                       "from '%s'." % (date, amz_date[:8], amz_date))
    if region != REGION[0]:
        raise ApiError(403, "InvalidSignatureException",
                       "Credential should be scoped to a valid region, not '%s'. "
                       % region)
    if service != SERVICE:
        raise ApiError(403, "InvalidSignatureException",
                       "Credential should be scoped to correct service: '%s'. "
                       % SERVICE)
    sha = first(headers, "x-amz-content-sha256")
    if sha is not None and sha != hashlib.sha256(body).hexdigest():
        raise ApiError(403, "InvalidSignatureException",
                       "The provided 'x-amz-content-sha256' header does not "
                       "match what was computed.")
    want_signed, want_sig = expected_signature(
        method, url, headers, body, amz_date, signed, akid, secret, token)
    if not hmac.compare_digest(want_signed, fields["SignedHeaders"]) or \
            not hmac.compare_digest(want_sig, fields["Signature"]):
        raise ApiError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the "
                       "signature you provided. Check your AWS Secret Access Key "
                       "and signing method. Consult the service documentation "
                       "for details.")
    # the signature is good; is it on time?
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    now = STATE.now()
    fmt = lambda t: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
    if when < now - SKEW_LIMIT:
        raise ApiError(403, "InvalidSignatureException",
                       "Signature expired: %s is now earlier than %s (%s - 15 min.)"
                       % (amz_date, fmt(now - SKEW_LIMIT), fmt(now)))
    if when > now + SKEW_LIMIT:
        raise ApiError(403, "InvalidSignatureException",
                       "Signature not yet current: %s is still later than %s "
                       "(%s + 15 min.)" % (amz_date, fmt(now + SKEW_LIMIT), fmt(now)))
    return fields["SignedHeaders"]


def first(headers, name):
    values = headers.get(name)
    return values[0] if values else None

# --------------------------------------------------------------------------
# the three operations
# --------------------------------------------------------------------------


def validation(msg):
    return ApiError(400, "ValidationException", msg)


def check_ca(params, need_active=True):
    arn = params.get("CertificateAuthorityArn")
    if arn is None:
        raise validation("1 validation error detected: Value null at "
                         "'certificateAuthorityArn' failed to satisfy constraint: "
                         "Member must not be null")
    if not isinstance(arn, str) or not (5 <= len(arn) <= 200) \
            or not ARN_RE.match(arn) or not CA_ARN_RE.match(arn):
        raise ApiError(400, "InvalidArnException",
                       "The ARN %r is not valid." % (arn,))
    status = STATE.cas.get(arn)
    if status is None:
        raise ApiError(400, "ResourceNotFoundException",
                       "Could not find certificate authority with ARN %s." % arn)
    if need_active and status != "ACTIVE":
        raise ApiError(400, "InvalidStateException",
                       "The certificate authority %s is in the %s state and "
                       "cannot be used for this operation." % (arn, status))
    return arn


def check_principal(params):
    principal = params.get("Principal")
    if principal is None:
        raise validation("1 validation error detected: Value null at 'principal' "
                         "failed to satisfy constraint: Member must not be null")
    if not isinstance(principal, str) or len(principal) > 128 \
            or not re.fullmatch(r"[^*]+", principal):
        raise validation("1 validation error detected: Value at 'principal' "
                         "failed to satisfy constraint")
    return principal


def check_account(params):
    account = params.get("SourceAccount")
    if account is not None and (not isinstance(account, str)
                                or not re.fullmatch(r"[0-9]{12}", account)):
        raise validation("1 validation error detected: Value at 'sourceAccount' "
                         "failed to satisfy constraint: Member must have length "
                         "12 and match [0-9]+")
    return account


def op_create(params):
    arn = check_ca(params)
    principal = check_principal(params)
    account = check_account(params)
    actions = params.get("Actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 3 \
            or any(a not in ACTIONS for a in actions):
        raise validation("1 validation error detected: Value at 'actions' failed "
                         "to satisfy constraint: Member must have length between "
                         "1 and 3 and members in [IssueCertificate, "
                         "GetCertificate, ListPermissions]")
    with STATE.lock:
        perms = STATE.perms.setdefault(arn, [])
        for p in perms:
            if p["Principal"] == principal and p.get("SourceAccount") == account:
                raise ApiError(400, "PermissionAlreadyExistsException",
                               "The designated permission has already been "
                               "given to the user.")
        perm = {
            "CertificateAuthorityArn": arn,
            "CreatedAt": round(STATE.now(), 3),
            "Principal": principal,
            "Actions": list(actions),
            "Policy": json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "fake-" + uuid.uuid4().hex[:8],
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": ["acm-pca:" + a for a in actions],
                    "Resource": arn,
                }],
            }, separators=(",", ":")),
        }
        if account is not None:
            perm["SourceAccount"] = account
        perms.append(perm)
    return {}


def op_list(params):
    arn = check_ca(params)
    max_results = params.get("MaxResults", 100)
    if not isinstance(max_results, int) or isinstance(max_results, bool) \
            or not 1 <= max_results <= 1000:
        raise validation("1 validation error detected: Value at 'maxResults' "
                         "failed to satisfy constraint: Member must have value "
                         "between 1 and 1000")
    token = params.get("NextToken")
    offset = 0
    with STATE.lock:
        if token is not None:
            if not isinstance(token, str) or not 1 <= len(token) <= 43739:
                raise validation("1 validation error detected: Value at "
                                 "'nextToken' failed to satisfy constraint")
            entry = STATE.tokens.get(token)
            if entry is None or entry[0] != arn:
                raise ApiError(400, "InvalidNextTokenException",
                               "The token specified in the NextToken argument "
                               "is not valid. Use the token returned from your "
                               "previous call to ListPermissions.")
            offset = entry[1]
        perms = STATE.perms.get(arn, [])
        page = [dict(p) for p in perms[offset:offset + max_results]]
        out = {"Permissions": page}
        if offset + max_results < len(perms):
            nxt = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
            STATE.tokens[nxt] = (arn, offset + max_results)
            out["NextToken"] = nxt
    return out


def op_delete(params):
    arn = check_ca(params)
    principal = check_principal(params)
    account = check_account(params)
    with STATE.lock:
        perms = STATE.perms.get(arn, [])
        for i, p in enumerate(perms):
            if p["Principal"] == principal and p.get("SourceAccount") == account:
                del perms[i]
                return {}
    raise ApiError(400, "ResourceNotFoundException",
                   "Could not find permission for principal %s on %s."
                   % (principal, arn))


HANDLERS = {
    "CreatePermission": op_create,
    "ListPermissions": op_list,
    "DeletePermission": op_delete,
}

# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeACMPCA/1.0"

    def version_string(self):
        return self.server_version
    control_only = False

    def setup(self):
        # TLS handshakes run here, in the connection's own thread
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()
        self.connection_id = STATE.next_connection()

    def log_message(self, fmt, *args):
        if LOG[0] is not None:
            LOG[0].write("%s [conn %d] %s\n" % (
                self.log_date_time_string(), self.connection_id, fmt % args))
            LOG[0].flush()

    def date_time_string(self, timestamp=None):
        return super().date_time_string(STATE.now() if timestamp is None else timestamp)

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, body, ctype="application/x-amz-json-1.1",
              request_id=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def header_map(self):
        out = {}
        for name, value in self.headers.items():
            out.setdefault(name.lower(), []).append(value)
        return out

    # ---- control plane -------------------------------------------------

    def control(self, body):
        path = self.path.split("?", 1)[0]
        try:
            arg = json.loads(body or b"{}")
        except ValueError:
            return self.reply(400, {"error": "bad json"}, "application/json")
        st = STATE
        with st.lock:
            if path == "/_fake/ping":
                out = {"ok": True, "pid": os.getpid()}
            elif path == "/_fake/calls":
                out = dict(st.calls)
            elif path == "/_fake/requests":
                out = list(st.records)
            elif path == "/_fake/last":
                out = st.records[-1] if st.records else {}
            elif path == "/_fake/state":
                out = {"cas": st.cas, "permissions": st.perms,
                       "delay_ms": st.delay_ms, "clock_offset": st.clock_offset,
                       "faults": st.faults, "region": REGION[0]}
            elif path == "/_fake/reset" and self.command == "POST":
                st.reset()
                out = {"ok": True}
            elif path == "/_fake/delay" and self.command == "POST":
                st.delay_ms = int(arg.get("ms", 0))
                out = {"ok": True}
            elif path == "/_fake/clock" and self.command == "POST":
                st.clock_offset = float(arg.get("offset", 0))
                out = {"ok": True}
            elif path == "/_fake/ca" and self.command == "POST":
                if arg.get("status") is None:
                    st.cas.pop(arg["arn"], None)
                else:
                    st.cas[arg["arn"]] = arg["status"]
                out = {"ok": True}
            elif path == "/_fake/fault" and self.command == "POST":
                st.faults.append([arg.get("kind", "throttle"),
                                  int(arg.get("count", 1)),
                                  arg.get("status"), arg.get("body")])
                out = {"ok": True}
            elif path == "/_fake/faults/clear" and self.command == "POST":
                st.faults = []
                out = {"ok": True}
            else:
                out = None
        if out is None:
            return self.reply(404, {"error": "no such control " + path},
                              "application/json")
        return self.reply(200, out, "application/json")

    # ---- the service ---------------------------------------------------

    def do_GET(self):
        body = self.read_body()
        if self.path.startswith("/_fake/"):
            return self.control(body)
        return self.reply(404, {"__type": "UnknownOperationException"})

    def do_POST(self):
        body = self.read_body()
        if self.path.startswith("/_fake/"):
            return self.control(body)
        if self.control_only:
            return self.reply(404, {"error": "control port"}, "application/json")
        headers = self.header_map()
        target = first(headers, "x-amz-target") or ""
        op = target[len("ACMPrivateCA."):] if target.startswith("ACMPrivateCA.") else None
        record = {
            "connection_id": self.connection_id,
            "client_port": self.client_address[1],
            "tls": isinstance(self.connection, ssl.SSLSocket),
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
            "operation": op,
            "status": None,
            "code": None,
            "signed_headers": None,
            "request_id": str(uuid.uuid4()),
        }
        with STATE.lock:
            STATE.seq += 1
            record["seq"] = STATE.seq
            STATE.calls["total"] += 1
            if op in STATE.calls:
                STATE.calls[op] += 1
            STATE.records.append(record)
            del STATE.records[:-MAX_RECORDS]
            delay = STATE.delay_ms
        if delay > 0:
            time.sleep(delay / 1000.0)
        try:
            status, out = self.serve_api(headers, body, op, record)
        except ApiError as e:
            status, out = e.status, {"__type": e.code, "message": e.message}
        if status is None:
            return  # the fault closed the connection
        with STATE.lock:
            record["status"] = status
            if isinstance(out, dict) and "__type" in out:
                record["code"] = out["__type"]
        if isinstance(out, tuple):  # raw fault body: (bytes, content type)
            return self.reply(status, out[0], out[1], record["request_id"])
        return self.reply(status, out, request_id=record["request_id"])

    def serve_api(self, headers, body, op, record):
        if self.path != "/":
            raise ApiError(404, "UnknownOperationException", "Unknown path")
        scheme = "https" if record["tls"] else "http"
        url = "%s://%s/" % (scheme, first(headers, "host") or "")
        record["signed_headers"] = authenticate("POST", url, headers, body)
        ctype = (first(headers, "content-type") or "").split(";")[0].strip()
        if ctype != "application/x-amz-json-1.1":
            raise ApiError(400, "SerializationException",
                           "Unsupported Content-Type %r" % ctype)
        if op not in HANDLERS:
            raise ApiError(400, "UnknownOperationException",
                           "Unknown or missing X-Amz-Target %r"
                           % (first(headers, "x-amz-target"),))
        fault = STATE.take_fault()
        if fault is not None:
            return self.fault(fault)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ApiError(400, "SerializationException", "Malformed JSON body")
        if not isinstance(params, dict):
            raise ApiError(400, "SerializationException", "Body is not an object")
        return 200, HANDLERS[op](params)

    def fault(self, fault):
        kind, _, status, body = fault
        if kind == "throttle":
            return status or 400, {"__type": "ThrottlingException",
                                   "message": "Rate exceeded"}
        if kind == "unavailable":
            return status or 503, {"__type": "ServiceUnavailable",
                                   "message": "Service unavailable"}
        if kind == "internal":
            return status or 500, {"__type": "InternalFailure",
                                   "message": "Internal failure"}
        if kind == "html":
            page = body or ("<html><head><title>502 Bad Gateway</title></head>"
                            "<body><h1>502 Bad Gateway</h1>" + "x" * 4000 +
                            "</body></html>")
            return status or 502, (page.encode(), "text/html")
        if kind == "garbage":
            return status or 200, ((body or "\x00\xffnot json at all{{").encode(
                "latin-1"), "application/x-amz-json-1.1")
        if kind == "truncated":
            return status or 200, (b'{"Permissions": [{"Principal": "acm.amaz',
                                   "application/x-amz-json-1.1")
        if kind == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None, None
        return status or 400, {"__type": body or "RequestFailedException",
                               "message": "injected fault"}


class ControlHandler(Handler):
    control_only = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # failed TLS handshakes and dropped connections are expected in specs
        if LOG[0] is not None:
            LOG[0].write("connection error from %r: %r\n"
                         % (client_address, sys.exc_info()[1]))
            LOG[0].flush()


LOG = [None]

# --------------------------------------------------------------------------
# the "call" mode: botocore's own client against the fake
# --------------------------------------------------------------------------


def botocore_call(args):
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ClientError
    session = botocore.session.get_session()
    client = session.create_client(
        "acm-pca", region_name=args.region, endpoint_url=args.endpoint,
        aws_access_key_id=args.akid, aws_secret_access_key=args.secret,
        aws_session_token=args.token, verify=args.ca_file or True,
        config=Config(retries={"total_max_attempts": 1}))
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", args.operation).lower()
    try:
        out = getattr(client, method)(**json.loads(args.params))
    except ClientError as e:
        err = e.response.get("Error", {})
        print(json.dumps({"error": {
            "code": err.get("Code"), "message": err.get("Message"),
            "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")}}))
        return 0
    out.pop("ResponseMetadata", None)
    print(json.dumps({"ok": out}, default=str))
    return 0

# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


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


def serve(args):
    global STATE
    REGION[0] = args.region
    creds = {}
    for spec in args.cred:
        akid, _, rest = spec.partition("=")
        secret, sep, token = rest.partition(":")
        creds[akid] = (secret, token if sep else None)
    cas = {}
    for spec in args.ca:
        arn, _, status = spec.rpartition("=")
        cas[arn] = status or "ACTIVE"
    if args.ca_json:
        with open(args.ca_json) as f:
            cas.update(json.load(f))
    if args.config:
        with open(args.config) as f:
            conf = json.load(f)
        for akid, c in (conf.get("credentials") or {}).items():
            creds[akid] = (c["secret"], c.get("token"))
        cas.update(conf.get("cas") or {})
        if conf.get("region"):
            REGION[0] = conf["region"]
        if conf.get("delay_ms") is not None:
            args.delay_ms = int(conf["delay_ms"])
    STATE = State(cas, creds, args.delay_ms)
    if args.log:
        LOG[0] = open(args.log, "a")

    api = Server(("127.0.0.1", 0), Handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        api.socket = ctx.wrap_socket(api.socket, server_side=True,
                                     do_handshake_on_connect=False)
    ctl = Server(("127.0.0.1", 0), ControlHandler)
    ports = "%d %d\n" % (api.server_address[1], ctl.server_address[1])
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(ports)
        os.rename(tmp, args.port_file)
    else:
        sys.stdout.write(ports)
        sys.stdout.flush()
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,),
                         daemon=True).start()
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode")
    s = sub.add_parser("serve")
    s.add_argument("--port-file")
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--cred", action="append", default=[],
                   help="AKID=SECRET or AKID=SECRET:TOKEN (repeatable)")
    s.add_argument("--ca", action="append", default=[],
                   help="ARN=STATUS (repeatable)")
    s.add_argument("--ca-json", help="JSON file {arn: status}")
    s.add_argument("--config", help='JSON file {"credentials": {AKID: {"secret": S, '
                   '"token": T}}, "cas": {ARN: STATUS}, "region": R, "delay_ms": N}')
    s.add_argument("--region", default="us-east-1")
    s.add_argument("--delay-ms", type=int, default=0)
    s.add_argument("--log")
    s.add_argument("--parent-pid", type=int,
                   help="exit when this process is gone")
    c = sub.add_parser("call")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--region", default="us-east-1")
    c.add_argument("--akid", required=True)
    c.add_argument("--secret", required=True)
    c.add_argument("--token")
    c.add_argument("--ca-file")
    c.add_argument("operation")
    c.add_argument("params", nargs="?", default="{}")
    args = p.parse_args(argv)
    if args.mode == "call":
        return botocore_call(args)
    if args.mode == "serve":
        return serve(args)
    p.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
