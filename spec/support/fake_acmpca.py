#!/usr/bin/python3
"""fake_acmpca.py: a local, signature-checking fake of AWS Private CA (ACM PCA).

Owns the service side of the end-to-end specs.  It answers the eight
operations lua-acmpca speaks (ACMPrivateCA.CreatePermission, ListPermissions,
DeletePermission, ListCertificateAuthorities, DescribeCertificateAuthority,
GetPolicy, PutPolicy, DeletePolicy) over HTTP/1.1 (keep-alive, one thread per
connection, optional TLS) the way the real service does, and rejects every
request whose SigV4 signature does not verify.  The verification is
botocore's own signer (Debian's python3-botocore), so it is independent of
the signer under test.  Answers list their members in the order of the
service model (spec/fixtures/acm-pca-model/service-2.json).

Run it with /usr/bin/python3 (never a python3 from PATH):

  fake_acmpca.py serve --port-file FILE [--cert PEM --key PEM]
                 [--cred AKID=SECRET[:TOKEN]]... [--ca ARN=STATUS]...
                 [--ca-json JSON_FILE] [--config JSON_FILE]
                 [--account ACCOUNT] [--demo] [--fleet N]
                 [--region us-east-1] [--delay-ms N]
                 [--log FILE] [--parent-pid PID]

A key given with a TOKEN is a temporary credential: its requests must carry
that X-Amz-Security-Token; a key without one must carry none.

The CAs, in the order ListCertificateAuthorities answers them: --demo's,
then --fleet's, then --ca's, --ca-json's and --config's (a later seed of an
ARN replaces an earlier one in its place).  --ca-json holds {ARN: STATUS |
SEED}; --config {"credentials": {AKID: {"secret": S, "token": T}},
"cas": {ARN: STATUS | SEED} or [SEED with "arn", ...], "region": R,
"delay_ms": N, "account": A, "demo": true, "fleet": N}.

A SEED is a CA's options (all optional): status (ACTIVE), type
(SUBORDINATE | ROOT), common_name (the CA id's first 8 characters),
organization, created_at (the fake's clock at seeding; times are epoch
seconds), not_before (created_at), not_after (created_at + 10 years for ROOT,
5 for SUBORDINATE; a year is 365 days), failure_reason (only for FAILED;
default OTHER), policy (a JSON text), permissions ([{"principal",
"actions", "source_account"}]), shared (true: not the caller's CA; with
--account it must agree with the ARN's account) and active_at (only for
CREATING or PENDING_CERTIFICATE: the CA becomes ACTIVE at the first service
request handled at or after that time, LastStateChangeAt = active_at, its
certificate valid from active_at).  CREATING and PENDING_CERTIFICATE CAs
have no Serial, NotBefore or NotAfter; a DELETED one is RestorableUntil its
LastStateChangeAt + 30 days.

--account is the caller's account: a CA of another account is shared with
the caller (ListCertificateAuthorities ResourceOwner=OTHER_ACCOUNTS,
AccessDeniedException for PutPolicy, DeletePolicy and the permission
operations).  Without it every CA is the caller's unless seeded shared.
--demo seeds the demo fleet (caller account 111122223333, see DEMO below);
--fleet N seeds N ACTIVE SUBORDINATE CAs fleet-00001.example.com ... in
the caller's account (111122223333 without --account): ACM holds the three
renewal actions on every third (3rd, 6th, ...), IssueCertificate and
GetCertificate on every third + 1 (1st, 4th, 7th, ...), nothing on the
others.

The port file receives "SERVICE_PORT CONTROL_PORT\\n" once both listen.
The control plane is plain HTTP on 127.0.0.1:CONTROL_PORT (also reachable
under /_fake/ on the service port):

  GET  /_fake/ping                 -> {"ok", "pid", "started_at", "account"}
  GET  /_fake/calls                -> {"CreatePermission": n, ..., "total": n}
                                      (the permission operations always,
                                      the others once called)
  GET  /_fake/requests             -> [record, ...] (oldest first, max 1000)
  GET  /_fake/last                 -> the last record (or {})
  GET  /_fake/state                -> {"cas": [{"arn", "status", "shared",
                                      "active_at", "policy", "description":
                                      the wire CertificateAuthority}, ...],
                                      "policies": {ARN: text}, "permissions":
                                      {ARN: [...]}, "account", "started_at",
                                      "delay_ms", "clock_offset",
                                      "max_in_flight" (the most service
                                      requests answered at once since the
                                      reset), "faults", "region"}
  POST /_fake/reset                -> back to the seeded start state: CAs,
                                      policies, permissions and delay; no
                                      records, counts, tokens, faults or
                                      clock offset
  POST /_fake/delay  {"ms": N}     every service answer waits N ms first
  POST /_fake/ca     {"arn": A, "status": S}   only the status (a new ARN
                                      gets a default CA; null removes it)
  POST /_fake/ca     {"arn": A, SEED...}       seeds one CA, replacing A
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
"operation", "status", "code", "signed_headers", "request_id", "response"
(the answer's body, cut at 8 KiB)}.

The delay is spent outside the state lock, so concurrent connections wait
in parallel (bench/fake_load.py measures it).

The other mode signs with botocore's own client, to check this fake:

  fake_acmpca.py call --endpoint URL --region R --akid K --secret S
                 [--token T] [--ca-file PEM] OPERATION JSON_PARAMS

prints {"ok": result} or {"error": {"code", "message", "status"}}.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socket
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
OPERATIONS = ("CreatePermission", "ListPermissions", "DeletePermission",
              "ListCertificateAuthorities", "DescribeCertificateAuthority",
              "GetPolicy", "PutPolicy", "DeletePolicy")
SKEW_LIMIT = 15 * 60
MAX_RECORDS = 1000
RESPONSE_KEPT = 8192               # bytes of an answer a record keeps


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
# the service model: member order and enums of the answers
# --------------------------------------------------------------------------

MODEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                          "fixtures", "acm-pca-model", "service-2.json")
with open(MODEL_FILE) as _f:
    SHAPES = json.load(_f)["shapes"]


def shaped(shape_name, value):
    """value (wire names) with its members in the model's order, None dropped."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        extra = set(value) - set(shape["members"])
        if extra:
            raise KeyError("%s has no member %s" % (shape_name, sorted(extra)))
        return {name: shaped(m["shape"], value[name])
                for name, m in shape["members"].items()
                if value.get(name) is not None}
    if kind == "list":
        return [shaped(shape["member"]["shape"], v) for v in value]
    return value


def enum(shape_name):
    return tuple(SHAPES[shape_name]["enum"])


STATUSES = enum("CertificateAuthorityStatus")
CA_TYPES = enum("CertificateAuthorityType")
FAILURE_REASONS = enum("FailureReason")
RESOURCE_OWNERS = enum("ResourceOwner")


# --------------------------------------------------------------------------
# CA records, seeds, the demo fleet and the generated fleet
# --------------------------------------------------------------------------

DAY = 86400
YEAR = 365 * DAY
VALIDITY = {"ROOT": 10 * YEAR, "SUBORDINATE": 5 * YEAR}
RESTORABLE = 30 * DAY
NO_CERTIFICATE = ("CREATING", "PENDING_CERTIFICATE")
LISTABLE = ("ACTIVE", "DISABLED", "EXPIRED")        # ListPermissions answers
SEED_OPTIONS = ("status", "type", "common_name", "organization", "not_before",
                "not_after", "created_at", "failure_reason", "policy",
                "permissions", "shared", "active_at")
ACM = "acm.amazonaws.com"
PARTIAL = ["IssueCertificate", "GetCertificate"]


class SeedError(ValueError):
    pass


def seed_check(arn, opts, account):
    """Raises SeedError unless opts is a seed for a CA ARN (account: the
    caller's, or None)."""
    def bad(what):
        raise SeedError("%s: %s" % (arn, what))
    if not isinstance(arn, str) or not CA_ARN_RE.match(arn):
        bad("not a CA ARN")
    if not isinstance(opts, dict):
        bad("a seed must be a JSON object")
    unknown = sorted(set(opts) - set(SEED_OPTIONS))
    if unknown:
        bad("unknown seed option(s) %s (known: %s)" % (", ".join(unknown),
                                                      ", ".join(SEED_OPTIONS)))
    for key, allowed in (("status", STATUSES), ("type", CA_TYPES),
                         ("failure_reason", FAILURE_REASONS)):
        if opts.get(key) is not None and opts[key] not in allowed:
            bad("%s must be one of %s" % (key, ", ".join(allowed)))
    status = opts.get("status") or "ACTIVE"
    if opts.get("failure_reason") is not None and status != "FAILED":
        bad("failure_reason: only for a FAILED CA")
    if opts.get("active_at") is not None and status not in NO_CERTIFICATE:
        bad("active_at: only for a CA seeded CREATING or PENDING_CERTIFICATE")
    shared = opts.get("shared")
    if shared is not None and not isinstance(shared, bool):
        bad("shared must be true or false")
    if shared is not None and account is not None \
            and shared != (arn.split(":")[4] != account):
        bad("shared: the caller's account is %s: a CA is shared exactly when "
            "its ARN names another account" % account)
    for key in ("created_at", "not_before", "not_after", "active_at"):
        v = opts.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            bad("%s must be epoch seconds" % key)
    for key in ("common_name", "organization", "policy"):
        if opts.get(key) is not None and not isinstance(opts[key], str):
            bad("%s must be a string" % key)
    perms = opts.get("permissions") or []
    if not isinstance(perms, list):
        bad("permissions must be a list")
    for p in perms:
        if not isinstance(p, dict) or not isinstance(p.get("principal"), str) \
                or not isinstance(p.get("actions"), list) or not p["actions"] \
                or any(a not in ACTIONS for a in p["actions"]) \
                or set(p) - {"principal", "actions", "source_account"}:
            bad("a permission is {principal, actions: [%s], source_account}"
                % ", ".join(ACTIONS))


def serial_of(arn):
    return ":".join("%02x" % b for b in hashlib.sha256(arn.encode()).digest()[:16])


def install_certificate(ca, when):
    """The CA gets its certificate at `when` (seeded values win)."""
    ca["serial"] = serial_of(ca["arn"])
    if ca["not_before"] is None:
        ca["not_before"] = when
    if ca["not_after"] is None:
        ca["not_after"] = when + VALIDITY[ca["type"]]


def set_status(ca, status, when):
    if status == ca["status"]:
        return
    ca["status"] = status
    ca["last_state_change_at"] = when
    if status not in NO_CERTIFICATE and ca["serial"] is None:
        install_certificate(ca, when)
    if status == "FAILED" and ca["failure_reason"] is None:
        ca["failure_reason"] = "OTHER"


def new_ca(arn, opts, now, account):
    """A CA record from a seed (seed_check'ed); now: the fake's clock."""
    ca_account = arn.split(":")[4]
    created = opts.get("created_at")
    if created is None:
        created = now
    status = opts.get("status") or "ACTIVE"
    ca = {
        "arn": arn,
        "account": ca_account,
        "status": status,
        "type": opts.get("type") or "SUBORDINATE",
        "common_name": opts.get("common_name") or arn.rsplit("/", 1)[1][:8],
        "organization": opts.get("organization"),
        "created_at": created,
        "last_state_change_at": created,
        "serial": None,
        "not_before": opts.get("not_before"),
        "not_after": opts.get("not_after"),
        "failure_reason": opts.get("failure_reason"),
        "shared": (ca_account != account if account is not None
                   else bool(opts.get("shared"))),
        "active_at": opts.get("active_at"),
        "policy": opts.get("policy"),
    }
    if status not in NO_CERTIFICATE:
        install_certificate(ca, created)
    if status == "FAILED" and ca["failure_reason"] is None:
        ca["failure_reason"] = "OTHER"
    return ca


def new_permission(arn, principal, actions, account, now):
    """A permission as ListPermissions answers it."""
    perm = {
        "CertificateAuthorityArn": arn,
        "CreatedAt": now,
        "Principal": principal,
        "SourceAccount": account,
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
    return shaped("Permission", perm)


def seeded_permissions(arn, opts, now):
    return [new_permission(arn, p["principal"], p["actions"],
                           p.get("source_account"), now)
            for p in opts.get("permissions") or []]


def wire_ca(ca):
    """The CertificateAuthority shape of a record."""
    status = ca["status"]
    has_cert = status not in NO_CERTIFICATE
    return shaped("CertificateAuthority", {
        "Arn": ca["arn"],
        "OwnerAccount": ca["account"],
        "CreatedAt": ca["created_at"],
        "LastStateChangeAt": ca["last_state_change_at"],
        "Type": ca["type"],
        "Serial": ca["serial"] if has_cert else None,
        "Status": status,
        "NotBefore": ca["not_before"] if has_cert else None,
        "NotAfter": ca["not_after"] if has_cert else None,
        "FailureReason": ca["failure_reason"] if status == "FAILED" else None,
        "CertificateAuthorityConfiguration": {
            "KeyAlgorithm": "RSA_2048",
            "SigningAlgorithm": "SHA256WITHRSA",
            "Subject": {"CommonName": ca["common_name"],
                        "Organization": ca["organization"]},
        },
        "RestorableUntil": (ca["last_state_change_at"] + RESTORABLE
                            if status == "DELETED" else None),
        "KeyStorageSecurityStandard": "FIPS_140_2_LEVEL_3_OR_HIGHER",
        "UsageMode": "GENERAL_PURPOSE",
    })


# The demo fleet: caller account, then (uuid, account, common name, seed)
# in listing order; times are relative to the fake's clock at start.
DEMO_ACCOUNT = "111122223333"
DEMO_PARTNER = "444455556666"
DEMO = (
    ("de000000-0000-4000-8000-000000000001", DEMO_ACCOUNT, "root-ca.example.com",
     {"type": "ROOT"}),
    ("de000000-0000-4000-8000-000000000002", DEMO_ACCOUNT, "issuing-prod.example.com",
     {"permissions": [{"principal": ACM, "actions": list(ACTIONS)}]}),
    ("de000000-0000-4000-8000-000000000003", DEMO_ACCOUNT,
     "issuing-staging.example.com",
     {"permissions": [{"principal": ACM, "actions": PARTIAL}]}),
    ("de000000-0000-4000-8000-000000000004", DEMO_ACCOUNT, "issuing-dev.example.com",
     {"not_after": 20 * DAY}),
    ("de000000-0000-4000-8000-000000000005", DEMO_ACCOUNT, "legacy.example.com",
     {"status": "DISABLED",
      "permissions": [{"principal": ACM, "actions": list(ACTIONS)}]}),
    ("de000000-0000-4000-8000-000000000006", DEMO_ACCOUNT, "new-team.example.com",
     {"status": "PENDING_CERTIFICATE"}),
    ("de000000-0000-4000-8000-000000000007", DEMO_ACCOUNT, "old.example.com",
     {"status": "EXPIRED", "created_at": -5 * YEAR - 30 * DAY,
      "not_after": -30 * DAY}),
    ("de000000-0000-4000-8000-000000000008", DEMO_ACCOUNT, "deleted.example.com",
     {"status": "DELETED"}),
    ("de000000-0000-4000-8000-000000000009", DEMO_PARTNER,
     "partner-issuing.example.com", {}),
)
RELATIVE = ("created_at", "not_before", "not_after", "active_at")


def demo_seeds(start):
    seeds = []
    for ca_id, account, name, opts in DEMO:
        seed = dict(opts, common_name=name)
        for key in RELATIVE:
            if key in seed:
                seed[key] = start + seed[key]
        seeds.append(("arn:aws:acm-pca:us-east-1:%s:certificate-authority/%s"
                      % (account, ca_id), seed))
    return seeds


def fleet_seeds(n, region, account):
    seeds = []
    for i in range(1, n + 1):
        seed = {"common_name": "fleet-%05d.example.com" % i}
        if i % 3 == 0:
            seed["permissions"] = [{"principal": ACM, "actions": list(ACTIONS)}]
        elif i % 3 == 1:
            seed["permissions"] = [{"principal": ACM, "actions": PARTIAL}]
        seeds.append(("arn:aws:acm-pca:%s:%s:certificate-authority/"
                      "f1ee0000-0000-4000-8000-%012d" % (region, account, i), seed))
    return seeds


# --------------------------------------------------------------------------
# state shared by every connection
# --------------------------------------------------------------------------


class State:
    """Everything the service knows; every read and write holds self.lock."""

    def __init__(self, seeds, creds, delay_ms, account, started_at):
        self.lock = threading.Lock()
        self.account = account
        self.started_at = started_at      # the clock the seeds were made at
        self.initial_delay = delay_ms
        self.creds = creds          # akid -> (secret, token or None)
        self.conn_seq = 0
        self.initial_cas = {}       # arn -> record, in listing order
        self.initial_perms = {}     # arn -> list of permission dicts
        for arn, opts in seeds:
            seed_check(arn, opts, account)
            self.initial_cas[arn] = new_ca(arn, opts, self.started_at, account)
            self.initial_perms[arn] = seeded_permissions(arn, opts, self.started_at)
        self.reset()

    def reset(self):
        self.cas = copy.deepcopy(self.initial_cas)
        self.perms = copy.deepcopy(self.initial_perms)
        self.pending = [arn for arn, ca in self.cas.items()
                        if ca["active_at"] is not None
                        and ca["status"] in NO_CERTIFICATE]
        self.tokens = {}            # next token -> (operation, key, offset)
        self.records = []
        self.seq = 0
        # the permission operations always counted (0 too), the others once
        # called: what the specs written before them compare with
        self.calls = {op: 0 for op in OPERATIONS[:3]}
        self.calls["total"] = 0
        self.faults = []            # list of [kind, remaining, status, body]
        self.delay_ms = self.initial_delay
        self.clock_offset = 0.0
        # service requests being answered now, and the most at once since
        # the reset (what the concurrency specs look at)
        self.in_flight = getattr(self, "in_flight", 0)
        self.max_in_flight = 0

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

    # ---- CAs (the caller holds the lock) --------------------------------

    def activate_due(self):
        """CAs whose active_at has come become ACTIVE (at active_at)."""
        if not self.pending:
            return
        now = self.now()
        waiting = []
        for arn in self.pending:
            ca = self.cas.get(arn)
            if ca is None or ca["status"] not in NO_CERTIFICATE \
                    or ca["active_at"] is None:
                continue
            if ca["active_at"] <= now:
                set_status(ca, "ACTIVE", ca["active_at"])
                ca["active_at"] = None
            else:
                waiting.append(arn)
        self.pending = waiting

    def seed(self, arn, opts):
        """Seeds (or re-seeds, in place) one CA; raises SeedError."""
        seed_check(arn, opts, self.account)
        now = int(self.now())
        ca = new_ca(arn, opts, now, self.account)
        self.cas[arn] = ca
        self.perms[arn] = seeded_permissions(arn, opts, now)
        if ca["active_at"] is not None and ca["status"] in NO_CERTIFICATE:
            self.pending.append(arn)

    def set_status(self, arn, status):
        """Only the status of a CA (None removes it); raises SeedError."""
        if status is None:
            self.cas.pop(arn, None)
            self.perms.pop(arn, None)
        elif arn not in self.cas:
            self.seed(arn, {"status": status})
        elif status not in STATUSES:
            raise SeedError("%s: status must be one of %s" % (arn, ", ".join(STATUSES)))
        else:
            set_status(self.cas[arn], status, int(self.now()))

    def view(self):
        """What GET /_fake/state shows."""
        return {
            "cas": [{"arn": arn, "status": ca["status"], "shared": ca["shared"],
                     "active_at": ca["active_at"], "policy": ca["policy"],
                     "description": wire_ca(ca)}
                    for arn, ca in self.cas.items()],
            "policies": {arn: ca["policy"] for arn, ca in self.cas.items()
                         if ca["policy"] is not None},
            "permissions": self.perms,
            "account": self.account,
            "started_at": self.started_at,
            "delay_ms": self.delay_ms,
            "clock_offset": self.clock_offset,
            "max_in_flight": self.max_in_flight,
            "faults": self.faults,
            "region": REGION[0],
        }


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
# the operations (called with STATE.lock held)
# --------------------------------------------------------------------------


def validation(msg):
    return ApiError(400, "ValidationException", msg)


def lower_camel(member):
    return member[0].lower() + member[1:]


def required(params, member):
    value = params.get(member)
    if value is None:
        raise validation("1 validation error detected: Value null at '%s' failed "
                         "to satisfy constraint: Member must not be null"
                         % lower_camel(member))
    return value


def check_ca(params, member="CertificateAuthorityArn", states=("ACTIVE",),
             owned=True):
    """The CA named by params[member]: it must exist, be in one of `states`
    (None: any) and, when `owned`, be the caller's."""
    arn = required(params, member)
    if not isinstance(arn, str) or not (5 <= len(arn) <= 200) \
            or not ARN_RE.match(arn) or not CA_ARN_RE.match(arn):
        raise ApiError(400, "InvalidArnException",
                       "The ARN %r is not valid." % (arn,))
    ca = STATE.cas.get(arn)
    if ca is None:
        raise ApiError(400, "ResourceNotFoundException",
                       "Could not find certificate authority with ARN %s." % arn)
    if owned and ca["shared"]:
        raise ApiError(400, "AccessDeniedException",
                       "The certificate authority %s is not owned by the caller."
                       % arn)
    if states is not None and ca["status"] not in states:
        raise ApiError(400, "InvalidStateException",
                       "The certificate authority %s is in the %s state and "
                       "cannot be used for this operation." % (arn, ca["status"]))
    return ca


def check_principal(params):
    principal = required(params, "Principal")
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


def check_paging(params):
    """(MaxResults or None, NextToken or None), shape-checked."""
    max_results = params.get("MaxResults")
    if max_results is not None and (
            not isinstance(max_results, int) or isinstance(max_results, bool)
            or not 1 <= max_results <= 1000):
        bound = ("less than or equal to 1000" if isinstance(max_results, int)
                 and max_results > 1000 else "greater than or equal to 1")
        raise validation("1 validation error detected: Value %r at 'maxResults' "
                         "failed to satisfy constraint: Member must have value "
                         "%s" % (max_results, bound))
    token = params.get("NextToken")
    if token is not None and (not isinstance(token, str)
                              or not 1 <= len(token) <= 43739):
        raise validation("1 validation error detected: Value at "
                         "'nextToken' failed to satisfy constraint")
    return max_results, token


def page(op, key, items, max_results, token, cap=None):
    """(items of this page, next token or None); tokens name op and key."""
    offset = 0
    if token is not None:
        entry = STATE.tokens.get(token)
        if entry is None or entry[:2] != (op, key):
            raise ApiError(400, "InvalidNextTokenException",
                           "The token specified in the NextToken argument is "
                           "not valid. Use the token returned from your "
                           "previous call to %s." % op)
        offset = entry[2]
    size = max_results or 100
    if cap is not None:
        size = min(size, cap)
    nxt = None
    if offset + size < len(items):
        nxt = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()
        STATE.tokens[nxt] = (op, key, offset + size)
    return items[offset:offset + size], nxt


def op_create_permission(params):
    arn = check_ca(params)["arn"]
    principal = check_principal(params)
    account = check_account(params)
    actions = params.get("Actions")
    if not isinstance(actions, list) or not 1 <= len(actions) <= 3 \
            or any(a not in ACTIONS for a in actions):
        raise validation("1 validation error detected: Value at 'actions' failed "
                         "to satisfy constraint: Member must have length between "
                         "1 and 3 and members in [IssueCertificate, "
                         "GetCertificate, ListPermissions]")
    perms = STATE.perms.setdefault(arn, [])
    for p in perms:
        if p["Principal"] == principal and p.get("SourceAccount") == account:
            raise ApiError(400, "PermissionAlreadyExistsException",
                           "The designated permission has already been "
                           "given to the user.")
    perms.append(new_permission(arn, principal, actions, account,
                                round(STATE.now(), 3)))
    return {}


def op_list_permissions(params):
    arn = check_ca(params, states=LISTABLE)["arn"]
    max_results, token = check_paging(params)
    items, nxt = page("ListPermissions", arn, STATE.perms.get(arn, []),
                      max_results, token)
    return shaped("ListPermissionsResponse",
                  {"NextToken": nxt, "Permissions": [dict(p) for p in items]})


def op_delete_permission(params):
    arn = check_ca(params)["arn"]
    principal = check_principal(params)
    account = check_account(params)
    perms = STATE.perms.get(arn, [])
    for i, p in enumerate(perms):
        if p["Principal"] == principal and p.get("SourceAccount") == account:
            del perms[i]
            return {}
    raise ApiError(400, "ResourceNotFoundException",
                   "Could not find permission for principal %s on %s."
                   % (principal, arn))


def op_list_cas(params):
    max_results, token = check_paging(params)
    owner = params.get("ResourceOwner")
    if owner is not None and owner not in RESOURCE_OWNERS:
        raise validation("1 validation error detected: Value %r at "
                         "'resourceOwner' failed to satisfy constraint: Member "
                         "must satisfy enum value set: [%s]"
                         % (owner, ", ".join(RESOURCE_OWNERS)))
    owner = owner or "SELF"
    shared = owner == "OTHER_ACCOUNTS"
    cas = [ca for ca in STATE.cas.values() if ca["shared"] == shared]
    items, nxt = page("ListCertificateAuthorities", owner, cas, max_results,
                      token, cap=100)
    return shaped("ListCertificateAuthoritiesResponse", {
        "NextToken": nxt,
        "CertificateAuthorities": [wire_ca(ca) for ca in items],
    })


def op_describe_ca(params):
    ca = check_ca(params, states=None, owned=False)
    return {"CertificateAuthority": wire_ca(ca)}


def check_policy_text(params):
    text = required(params, "Policy")
    if not isinstance(text, str) or not 1 <= len(text) <= 81920 \
            or not re.fullmatch(r"[\t\n\r\x20-\xff]+", text):
        raise validation("1 validation error detected: Value at 'policy' failed "
                         "to satisfy constraint: Member must have length less "
                         "than or equal to 81920 and match "
                         "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+")
    return text


def policy_problem(text):
    """Why a policy text is not a policy, or None."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        return "not valid JSON (%s)" % e
    if not isinstance(doc, dict):
        return "it must be a JSON object"
    if not isinstance(doc.get("Statement"), (list, dict)):
        return "it needs a Statement, a list or an object"
    if not isinstance(doc.get("Version"), str):
        return "it needs a Version string"
    return None


def op_get_policy(params):
    ca = check_ca(params, "ResourceArn", states=None, owned=False)
    if ca["status"] == "DELETED":
        raise ApiError(400, "InvalidStateException",
                       "The certificate authority %s is in the DELETED state "
                       "and cannot be used for this operation." % ca["arn"])
    if ca["policy"] is None:
        raise ApiError(400, "ResourceNotFoundException",
                       "The certificate authority %s has no attached policy."
                       % ca["arn"])
    return {"Policy": ca["policy"]}


def op_put_policy(params):
    text = check_policy_text(params)
    ca = check_ca(params, "ResourceArn")
    problem = policy_problem(text)
    if problem is not None:
        raise ApiError(400, "InvalidPolicyException",
                       "The resource policy is invalid: " + problem + ".")
    ca["policy"] = text
    return {}


def op_delete_policy(params):
    ca = check_ca(params, "ResourceArn")
    if ca["policy"] is None:
        raise ApiError(400, "ResourceNotFoundException",
                       "The certificate authority %s has no attached policy."
                       % ca["arn"])
    ca["policy"] = None
    return {}


HANDLERS = {
    "CreatePermission": op_create_permission,
    "ListPermissions": op_list_permissions,
    "DeletePermission": op_delete_permission,
    "ListCertificateAuthorities": op_list_cas,
    "DescribeCertificateAuthority": op_describe_ca,
    "GetPolicy": op_get_policy,
    "PutPolicy": op_put_policy,
    "DeletePolicy": op_delete_policy,
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
        # an answer is one write; no Nagle wait behind the client's ACK
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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
        # status line, headers and body in one write (end_headers' buffer)
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

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
        try:
            with STATE.lock:
                out = self.control_locked(STATE, path, arg)
                # encoded under the lock: out may share the live state
                text = None if out is None else json.dumps(out)
        except (SeedError, KeyError, TypeError, ValueError) as e:
            return self.reply(400, {"error": "%s: %s" % (type(e).__name__, e)},
                              "application/json")
        if text is None:
            return self.reply(404, {"error": "no such control " + path},
                              "application/json")
        return self.reply(200, text, "application/json")

    def control_locked(self, st, path, arg):
        ok = {"ok": True}
        if self.command == "GET":
            if path == "/_fake/ping":
                return {"ok": True, "pid": os.getpid(),
                        "started_at": st.started_at, "account": st.account}
            if path == "/_fake/calls":
                return st.calls
            if path == "/_fake/requests":
                return st.records
            if path == "/_fake/last":
                return st.records[-1] if st.records else {}
            if path == "/_fake/state":
                return st.view()
            return None
        if path == "/_fake/reset":
            st.reset()
        elif path == "/_fake/delay":
            st.delay_ms = int(arg.get("ms", 0))
        elif path == "/_fake/clock":
            st.clock_offset = float(arg.get("offset", 0))
        elif path == "/_fake/ca":
            seed = dict(arg)
            arn = seed.pop("arn")
            if set(seed) <= {"status"}:
                st.set_status(arn, seed.get("status"))
            else:
                st.seed(arn, seed)
        elif path == "/_fake/fault":
            st.faults.append([arg.get("kind", "throttle"), int(arg.get("count", 1)),
                              arg.get("status"), arg.get("body")])
        elif path == "/_fake/faults/clear":
            st.faults = []
        else:
            return None
        return ok

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
            "response": None,
        }
        with STATE.lock:
            STATE.seq += 1
            record["seq"] = STATE.seq
            STATE.calls["total"] += 1
            if op in OPERATIONS:
                STATE.calls[op] = STATE.calls.get(op, 0) + 1
            STATE.records.append(record)
            del STATE.records[:-MAX_RECORDS]
            delay = STATE.delay_ms
            STATE.in_flight += 1
            STATE.max_in_flight = max(STATE.max_in_flight, STATE.in_flight)
        try:
            if delay > 0:
                time.sleep(delay / 1000.0)     # not holding the lock
            try:
                status, out = self.serve_api(headers, body, op, record)
            except ApiError as e:
                status, out = e.status, {"__type": e.code, "message": e.message}
        finally:
            with STATE.lock:
                STATE.in_flight -= 1
        if status is None:
            return  # the fault closed the connection
        ctype = "application/x-amz-json-1.1"
        if isinstance(out, tuple):  # raw fault body: (bytes, content type)
            out, ctype = out
        text = out if isinstance(out, bytes) else json.dumps(out).encode()
        with STATE.lock:
            record["status"] = status
            if isinstance(out, dict) and "__type" in out:
                record["code"] = out["__type"]
            record["response"] = text[:RESPONSE_KEPT].decode("utf-8", "replace")
        return self.reply(status, text, ctype, record["request_id"])

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
        with STATE.lock:
            STATE.activate_due()
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


def seed_list(cas):
    """[(arn, seed)] from {ARN: STATUS | SEED} or [SEED with "arn", ...]."""
    if isinstance(cas, list):
        return [(c.get("arn"), {k: v for k, v in c.items() if k != "arn"})
                for c in cas]
    return [(arn, v if isinstance(v, dict) else {"status": v})
            for arn, v in cas.items()]


def serve(args):
    global STATE
    REGION[0] = args.region
    creds = {}
    for spec in args.cred:
        akid, _, rest = spec.partition("=")
        secret, sep, token = rest.partition(":")
        creds[akid] = (secret, token if sep else None)
    seeds = []                      # (arn, seed), --demo and --fleet first
    for spec in args.ca:
        arn, _, status = spec.rpartition("=")
        seeds.append((arn, {"status": status or "ACTIVE"}))
    if args.ca_json:
        with open(args.ca_json) as f:
            seeds += seed_list(json.load(f))
    if args.config:
        with open(args.config) as f:
            conf = json.load(f)
        for akid, c in (conf.get("credentials") or {}).items():
            creds[akid] = (c["secret"], c.get("token"))
        seeds += seed_list(conf.get("cas") or {})
        if conf.get("region"):
            REGION[0] = conf["region"]
        if conf.get("delay_ms") is not None:
            args.delay_ms = int(conf["delay_ms"])
        args.account = args.account or conf.get("account")
        args.demo = args.demo or bool(conf.get("demo"))
        args.fleet = args.fleet or int(conf.get("fleet") or 0)
    if args.demo and not args.account:
        args.account = DEMO_ACCOUNT
    if args.account is not None and not re.fullmatch(r"[0-9]{12}", args.account):
        sys.stderr.write("fake_acmpca.py: --account: expected 12 digits\n")
        return 2
    start = int(time.time())
    front = demo_seeds(start) if args.demo else []
    if args.fleet:
        front += fleet_seeds(args.fleet, REGION[0], args.account or DEMO_ACCOUNT)
    try:
        STATE = State(front + seeds, creds, args.delay_ms, args.account, start)
    except SeedError as e:
        sys.stderr.write("fake_acmpca.py: bad seed: %s\n" % e)
        return 2
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
    s.add_argument("--ca-json", help="JSON file {ARN: STATUS or SEED}")
    s.add_argument("--config", help='JSON file {"credentials": {AKID: {"secret": S, '
                   '"token": T}}, "cas": {ARN: STATUS or SEED} or [SEED, ...], '
                   '"region": R, "delay_ms": N, "account": A, "demo": B, "fleet": N}')
    s.add_argument("--account", help="the caller's account (12 digits)")
    s.add_argument("--demo", action="store_true",
                   help="seed the demo fleet (caller account %s)" % DEMO_ACCOUNT)
    s.add_argument("--fleet", type=int, default=0, metavar="N",
                   help="seed N generated ACTIVE CAs")
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
