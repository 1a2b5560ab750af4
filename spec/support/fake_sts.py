#!/usr/bin/python3
"""fake_sts.py: local stand-ins for AWS STS (the query protocol) and the IAM
Identity Center (SSO) portal, for the credential-provider specs.

Owns the service side of the assume-role, web-identity and SSO specs.  One
process serves both on one loopback port: STS at POST / (form body, SigV4
verified with botocore's own signer, independent of the signer under test)
and the SSO portal at GET /federation/credentials.  The answers are what
botocore's parsers read (spec/support/fake_sts_selftest.py proves it).

Run it with /usr/bin/python3 (never a python3 from PATH):

  fake_sts.py --config FILE | --json TEXT  [--parent-pid PID]
              [--cert PEM --key PEM]

It binds 127.0.0.1 on a port the kernel picks and prints that port on its
first stdout line.  With --parent-pid it exits once that process is gone;
with --cert and --key it speaks HTTPS (the control plane too).

The config (JSON object; every key optional):

  region        the region a signature must be scoped to (us-east-1)
  account       the account of the static keys (123456789012)
  credentials   {AKID: {"secret": S, "token": T?, "arn": A?}}: keys that
                may sign.  A key with a token must send it as
                X-Amz-Security-Token; a key without one must send none.
                arn defaults to arn:aws:iam::ACCOUNT:user/AKID.
  roles         {ROLE_ARN: {"trust": [AKID | caller ARN | role ARN | "*"],
                 "external_id": X?, "mfa_serial": S?, "mfa_code": C?,
                 "duration_max": N? (3600), "web_identity": true?,
                 "issue": {"access_key_id", "secret", "token"}?}}
                A trust entry names the caller by key, by its ARN or, for
                role credentials, by the ARN of the role they came from (so
                role B can trust role A for a chain).  Without issue, the
                credentials handed out are derived from the role ARN and
                the session name (ASIA + SHA-1): the same pair gets the
                same keys.  Every key handed out (STS or SSO) may sign
                later calls until it expires.
  web_identity  {"token": T?, "token_file": PATH?, "expired": false,
                 "subject": S?, "audience": A?, "provider": P?}
                The token file is read again for every request, so a spec
                can rotate it.  expired = true answers every token with
                ExpiredTokenException.
  sso           {"tokens": {TOKEN: {"accounts": {ACCOUNT: [ROLE, ...]},
                 "expired": false, "user": U?}}, "duration": N? (3600),
                 "issue": {"access_key_id", "secret", "token"}?}
  element_order "model" (the order of botocore's service model; default)
                or "docs" (the order of the STS API reference's examples,
                which real STS answers also use: AssumedRoleUser before
                Credentials, SessionToken first in a web identity answer)

STS actions: AssumeRole and GetCallerIdentity (signed), and
AssumeRoleWithWebIdentity (unsigned: one with an Authorization header is
400 InvalidParameterCombination, see Handler.sts_answer).  Errors are STS's
ErrorResponse XML with STS's codes and status; an unknown Action is 400
InvalidAction, no Action 400 MissingAction, a body that is not
form-encoded is not read; a body over 64 KiB is 413 RequestEntityTooLarge
(up to 1 MiB of it read and dropped, then the connection closed).

The control plane (not STS; paths start with "/__"):

  GET  /__ping     {"ok": true, "pid": N}
  GET  /__stats    {"counts": {ACTION: n, ...}, "total": n, "requests":
                   [record, ...] (oldest first, at most 1000)}; a request
                   with no known Action counts under "(none)"
  POST /__reset    back to the start config; no counts, records, faults,
                   delay or handed-out keys
  POST /__control  JSON, every key optional:
                   {"faults": [FAULT, ...]   appended to the pending ones,
                    "clear_faults": true,    drops the pending ones first,
                    "delay_ms": N,           every STS/SSO answer waits N ms,
                    "expire_issued": true,   every key handed out so far is
                                             expired from now on,
                    "config": {...}}         replaces those top-level keys
                   answers {"ok": true, "faults": [pending...], "delay_ms": N}

A FAULT is {"action": ACTION | "GetRoleCredentials" | "*", "status": 400,
"code": "Throttling", "message": "Rate exceeded", "times": 1,
"type": "Sender", "body": RAW?, "content_type": CT?, "close": false}: the
next `times` matching requests that pass authentication (a good signature;
for AssumeRoleWithWebIdentity no signature; for SSO a known token) are
answered with that error (with body: that raw body; with close: no answer,
the connection dropped).

A record is {"seq", "method", "path" (STS: without its query), "action",
"signed", "access_key_id", "region", "has_session_token", "role_arn",
"session_name", "duration_seconds", "account_id", "role_name", "status",
"code"}.  No secret, session token, web identity token, SSO token, external
id or MFA code is ever recorded, logged or put in a message.
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
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
VERSION = "2011-06-15"
SERVICE = "sts"
MAX_BODY = 64 * 1024
DRAIN_MAX = 1024 * 1024             # an oversized body read and dropped
MAX_RECORDS = 1000
SKEW_LIMIT = 15 * 60
DURATION_MIN, DURATION_MAX = 900, 43200
DEFAULT_DURATION = 3600
CHAIN_LIMIT = 3600
DEFAULT_ACCOUNT = "123456789012"
ACTIONS = ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity")
SSO_ACTION = "GetRoleCredentials"
CONFIG_KEYS = ("region", "account", "credentials", "roles", "web_identity",
               "sso", "element_order")
FAULT_KEYS = ("action", "status", "code", "message", "times", "type", "body",
              "content_type", "close")
AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]*$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]*$")
SERIAL_RE = re.compile(r"^[\w+=/:,.@-]*$")
ROLE_ARN_RE = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")

BAD_SIGNATURE = ("The request signature we calculated does not match the "
                 "signature you provided. Check your AWS Secret Access Key "
                 "and signing method. Consult the service documentation for "
                 "details.")
BAD_TOKEN = "The security token included in the request is invalid."


class StsError(Exception):
    """An STS answer other than success: status, Code, Message, Type."""

    def __init__(self, status, code, message, kind="Sender"):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.kind = kind


class SsoError(Exception):
    """An SSO portal error: status, x-amzn-ErrorType, {"message"}."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ConfigError(ValueError):
    pass


# --------------------------------------------------------------------------
# config
# --------------------------------------------------------------------------


def _check_map(conf, key, check_entry):
    value = conf.get(key)
    if value is None:
        return
    if not isinstance(value, dict):
        raise ConfigError("%s must be a JSON object" % key)
    for name, entry in value.items():
        if not isinstance(entry, dict):
            raise ConfigError("%s[%s] must be a JSON object" % (key, name))
        check_entry(name, entry)


def _check_strings(where, entry, names):
    for name in names:
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise ConfigError("%s.%s must be a string" % (where, name))


def _check_issue(where, issue):
    if issue is None:
        return
    if not isinstance(issue, dict) or not all(
            isinstance(issue.get(k), str) and issue[k]
            for k in ("access_key_id", "secret", "token")):
        raise ConfigError("%s.issue needs access_key_id, secret and token "
                          "(strings)" % where)


def as_list(table, key):
    """table[key] with an empty JSON object read as an empty list (a Lua
    encoder writes an empty table as {})."""
    value = table.get(key)
    if value is None or value == {}:
        value = table[key] = []
    return value


def _check_credential(akid, entry):
    if not isinstance(entry.get("secret"), str) or not entry["secret"]:
        raise ConfigError("credentials[%s].secret must be a non-empty string" % akid)
    _check_strings("credentials[%s]" % akid, entry, ("token", "arn"))


def _check_role(arn, entry):
    where = "roles[%s]" % arn
    if not ROLE_ARN_RE.match(arn):
        raise ConfigError("%s: not an IAM role ARN" % where)
    trust = as_list(entry, "trust")
    if not isinstance(trust, list) or not all(isinstance(t, str) for t in trust):
        raise ConfigError("%s.trust must be a list of strings" % where)
    _check_strings(where, entry, ("external_id", "mfa_serial", "mfa_code"))
    if (entry.get("mfa_serial") is None) != (entry.get("mfa_code") is None):
        raise ConfigError("%s: mfa_serial and mfa_code go together" % where)
    dmax = entry.get("duration_max")
    if dmax is not None and (isinstance(dmax, bool) or not isinstance(dmax, int)
                             or not DURATION_MIN <= dmax <= DURATION_MAX):
        raise ConfigError("%s.duration_max must be an integer in 900..43200" % where)
    _check_issue(where, entry.get("issue"))


def _check_sso(sso):
    if not isinstance(sso, dict):
        raise ConfigError("sso must be a JSON object")
    _check_map(sso, "tokens", _check_sso_token)
    _check_issue("sso", sso.get("issue"))
    dur = sso.get("duration")
    if dur is not None and (isinstance(dur, bool) or not isinstance(dur, int) or dur < 1):
        raise ConfigError("sso.duration must be a positive integer")


def _check_sso_token(_token, entry):
    # the token itself never goes into a message
    accounts = entry.get("accounts", {})
    if isinstance(accounts, dict):
        for account in list(accounts):
            as_list(accounts, account)
    if not isinstance(accounts, dict) or not all(
            isinstance(r, list) and all(isinstance(x, str) for x in r)
            for r in accounts.values()):
        raise ConfigError("sso.tokens[...].accounts must be {ACCOUNT: [ROLE, ...]}")
    _check_strings("sso.tokens[...]", entry, ("user",))


def check_config(conf):
    """Raises ConfigError unless conf (a parsed JSON value) is a config."""
    if not isinstance(conf, dict):
        raise ConfigError("the config must be a JSON object")
    unknown = sorted(set(conf) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError("unknown config key(s) %s (known: %s)"
                          % (", ".join(unknown), ", ".join(CONFIG_KEYS)))
    _check_strings("config", conf, ("region", "account", "element_order"))
    if conf.get("element_order") not in (None, "model", "docs"):
        raise ConfigError("element_order must be \"model\" or \"docs\"")
    _check_map(conf, "credentials", _check_credential)
    _check_map(conf, "roles", _check_role)
    wi = conf.get("web_identity")
    if wi is not None:
        if not isinstance(wi, dict):
            raise ConfigError("web_identity must be a JSON object")
        _check_strings("web_identity", wi,
                       ("token", "token_file", "subject", "audience", "provider"))
    if conf.get("sso") is not None:
        _check_sso(conf["sso"])
    return conf


def check_fault(f):
    if not isinstance(f, dict):
        raise ConfigError("a fault must be a JSON object")
    unknown = sorted(set(f) - set(FAULT_KEYS))
    if unknown:
        raise ConfigError("unknown fault key(s) %s" % ", ".join(unknown))
    if f.get("action") not in ACTIONS + (SSO_ACTION, "*"):
        raise ConfigError("fault action must be one of %s or *"
                          % ", ".join(ACTIONS + (SSO_ACTION,)))
    for key in ("status", "times"):
        v = f.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ConfigError("fault %s must be a positive integer" % key)
    _check_strings("fault", f, ("code", "message", "type", "body", "content_type"))
    out = {"action": f["action"], "status": f.get("status", 400),
           "code": f.get("code", "Throttling"),
           "message": f.get("message", "Rate exceeded"),
           "times": f.get("times", 1), "type": f.get("type", "Sender"),
           "body": f.get("body"), "content_type": f.get("content_type"),
           "close": bool(f.get("close"))}
    return out


# --------------------------------------------------------------------------
# keys: derived credentials and who a key is
# --------------------------------------------------------------------------


def derive(*parts):
    return hashlib.sha1("\0".join(parts).encode()).digest()


def derived_keys(*parts):
    """(akid, secret, token), a function of parts alone."""
    seed = derive(*parts)
    akid = "ASIA" + base64.b32encode(seed).decode()[:16]
    secret = base64.b64encode(hashlib.sha256(seed + b"secret").digest()).decode()[:40]
    blob = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(8))
    token = "FwoGZXIvYXdzE" + base64.b64encode(blob).decode()
    return akid, secret, token


def unique_id(prefix, *parts):
    return prefix + base64.b32encode(derive(*parts)).decode()[:17]


def iso8601(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def role_parts(role_arn):
    """(account, role name) of an IAM role ARN, or (None, None)."""
    m = ROLE_ARN_RE.match(role_arn)
    return (m.group(1), m.group(2)) if m else (None, None)


class State:
    """Everything the handlers share; use it with .lock held."""

    def __init__(self, config):
        self.lock = threading.Lock()
        self.start_config = copy.deepcopy(config)
        self.reset()

    def reset(self):
        self.config = copy.deepcopy(self.start_config)
        self.issued = {}
        self.counts = {}
        self.total = 0
        self.records = []
        self.seq = 0
        self.faults = []
        self.delay_ms = 0

    def region(self):
        return self.config.get("region") or "us-east-1"

    def key(self, akid):
        """The key record of akid: {secret, token, arn, user_id, account,
        role_arn (role credentials only), expires}, or None."""
        static = (self.config.get("credentials") or {}).get(akid)
        if static is not None:
            account = self.config.get("account") or DEFAULT_ACCOUNT
            return {"secret": static["secret"], "token": static.get("token"),
                    "arn": static.get("arn") or "arn:aws:iam::%s:user/%s" % (account, akid),
                    "user_id": unique_id("AIDA", akid), "account": account,
                    "role_arn": None, "expires": None}
        return self.issued.get(akid)

    def issue(self, role_arn, role_name, account, session, duration, fixed, now):
        """Hands out role credentials; they may sign from now on."""
        if fixed:
            akid, secret, token = fixed["access_key_id"], fixed["secret"], fixed["token"]
        else:
            akid, secret, token = derived_keys(role_arn, session)
        role_id = unique_id("AROA", role_arn)
        rec = {"secret": secret, "token": token, "account": account,
               "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role_name, session),
               "user_id": "%s:%s" % (role_id, session), "role_arn": role_arn,
               "expires": now + duration}
        self.issued[akid] = rec
        return akid, rec

    def take_fault(self, action):
        for f in self.faults:
            if f["action"] in (action, "*"):
                f["times"] -= 1
                if f["times"] <= 0:
                    self.faults.remove(f)
                return f
        return None

    def record(self, rec):
        self.seq += 1
        rec["seq"] = self.seq
        action = rec.get("action") or "(none)"
        self.counts[action] = self.counts.get(action, 0) + 1
        self.total += 1
        self.records.append(rec)
        del self.records[:-MAX_RECORDS]

    def stats(self):
        return {"counts": dict(self.counts), "total": self.total,
                "requests": copy.deepcopy(self.records)}


STATE = None

# --------------------------------------------------------------------------
# SigV4 verification (botocore's canonical request, rebuilt)
# --------------------------------------------------------------------------


def parse_authorization(value):
    algo, _, rest = value.partition(" ")
    if algo != "AWS4-HMAC-SHA256":
        raise StsError(400, "IncompleteSignature", "Unsupported Authorization Type")
    fields = {}
    for part in rest.split(","):
        k, eq, v = part.strip().partition("=")
        if eq:
            fields[k] = v
    for need in ("Credential", "SignedHeaders", "Signature"):
        if need not in fields:
            raise StsError(400, "IncompleteSignature",
                           "Authorization header requires '%s' parameter." % need)
    return fields


class Verifier(botocore.auth.SigV4Auth):
    """botocore's SigV4 over every header of the request: what a client
    signed is verified even where botocore would not sign it (User-Agent)."""

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name, value in request.headers.items():
            out[name.lower()] = value
        return out


def expected_signature(method, url, headers, body, amz_date, signed, key, region):
    """botocore's signature over the headers the request says it signed."""
    req = AWSRequest(method=method, url=url, data=body)
    for name in signed:
        if name not in ("x-amz-date", "x-amz-security-token"):
            req.headers[name] = headers[name]
    req.headers["X-Amz-Date"] = amz_date
    token = key["token"] if "x-amz-security-token" in signed else None
    if token is not None:
        req.headers["X-Amz-Security-Token"] = token
    req.context["timestamp"] = amz_date
    signer = Verifier(Credentials("x", key["secret"], token), SERVICE, region)
    canonical = signer.canonical_request(req)
    signature = signer.signature(signer.string_to_sign(req, canonical), req)
    return signer.signed_headers(signer.headers_to_sign(req)), signature


def authenticate(method, url, headers, body, now, rec):
    """The key record of the signer; raises StsError as STS would."""
    auth = headers.get("authorization")
    if auth is None:
        raise StsError(403, "MissingAuthenticationToken",
                       "Request is missing Authentication Token")
    fields = parse_authorization(auth)
    scope = fields["Credential"].split("/")
    if len(scope) != 5:
        raise StsError(400, "IncompleteSignature",
                       "Credential should have exactly 5 slash-separated parts.")
    akid, date, region, service, term = scope
    rec["access_key_id"], rec["region"] = akid, region
    amz_date = headers.get("x-amz-date")
    if amz_date is None or not AMZ_DATE_RE.match(amz_date):
        raise StsError(400, "IncompleteSignature",
                       "Authorization header requires existence of either a "
                       "'X-Amz-Date' or a 'Date' header.")
    key = STATE.key(akid)
    if key is None:
        raise StsError(403, "InvalidClientTokenId", BAD_TOKEN)
    if key["token"] != headers.get("x-amz-security-token"):
        raise StsError(403, "InvalidClientTokenId", BAD_TOKEN)
    if key["expires"] is not None and key["expires"] <= now:
        raise StsError(403, "ExpiredToken",
                       "The security token included in the request is expired")
    if term != "aws4_request" or date != amz_date[:8]:
        raise StsError(403, "SignatureDoesNotMatch",
                       "Credential should be scoped to a valid date and terminator.")
    if region != STATE.region():
        raise StsError(403, "SignatureDoesNotMatch",
                       "Credential should be scoped to a valid region. ")
    if service != SERVICE:
        raise StsError(403, "SignatureDoesNotMatch",
                       "Credential should be scoped to correct service: 'sts'. ")
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or any(n not in headers for n in signed):
        raise StsError(403, "SignatureDoesNotMatch", BAD_SIGNATURE)
    want_signed, want_sig = expected_signature(
        method, url, headers, body, amz_date, signed, key, region)
    if not (hmac.compare_digest(want_signed, fields["SignedHeaders"])
            and hmac.compare_digest(want_sig, fields["Signature"])):
        raise StsError(403, "SignatureDoesNotMatch", BAD_SIGNATURE)
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    if abs(when - now) > SKEW_LIMIT:
        raise StsError(403, "SignatureDoesNotMatch",
                       "Signature expired: %s is now earlier than %s (%s - 15 min.)"
                       % (amz_date, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - SKEW_LIMIT)),
                          time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
                       if when < now else
                       "Signature not yet current: %s is still later than %s"
                       % (amz_date, time.strftime("%Y%m%dT%H%M%SZ",
                                                  time.gmtime(now + SKEW_LIMIT))))
    return key

# --------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------


def validation(value_text, member, constraint):
    return StsError(400, "ValidationError",
                    "1 validation error detected: Value %s at '%s' failed to "
                    "satisfy constraint: %s" % (value_text, member, constraint))


def required(params, name):
    value = params.get(name)
    if value is None:
        raise validation("null", name[0].lower() + name[1:], "Member must not be null")
    return value


def check_string(params, name, lo, hi, pattern=None, echo=True):
    """params[name] within lo..hi characters and pattern; echo=False keeps the
    value out of the message (tokens, external ids, MFA codes)."""
    value = params.get(name)
    if value is None:
        return None
    member = name[0].lower() + name[1:]
    shown = "'%s'" % value if echo else "'***'"
    if len(value) < lo:
        raise validation(shown, member,
                         "Member must have length greater than or equal to %d" % lo)
    if len(value) > hi:
        raise validation(shown, member,
                         "Member must have length less than or equal to %d" % hi)
    if pattern is not None and not pattern.match(value):
        raise validation(shown, member, "Member must satisfy regular expression "
                         "pattern: " + pattern.pattern.strip("^$"))
    return value


def duration(params, rec):
    text = params.get("DurationSeconds")
    if text is None:
        return DEFAULT_DURATION
    if not re.match(r"^-?\d{1,9}$", text):
        raise StsError(400, "ValidationError",
                       "Value '%s' for parameter DurationSeconds is invalid."
                       % text[:32])
    value = int(text)
    rec["duration_seconds"] = value
    if value < DURATION_MIN:
        raise validation("'%d'" % value, "durationSeconds",
                         "Member must have value greater than or equal to 900")
    if value > DURATION_MAX:
        raise validation("'%d'" % value, "durationSeconds",
                         "Member must have value less than or equal to 43200")
    return value


def role_session(params, rec):
    role_arn = required(params, "RoleArn")
    check_string(params, "RoleArn", 20, 2048)
    session = required(params, "RoleSessionName")
    rec["role_arn"], rec["session_name"] = role_arn, session
    check_string(params, "RoleSessionName", 2, 64, SESSION_NAME_RE)
    return role_arn, session

# --------------------------------------------------------------------------
# actions (called with STATE.lock held); each returns the Result's children
# --------------------------------------------------------------------------


def denied(caller_arn, action, role_arn):
    return StsError(403, "AccessDenied",
                    "User: %s is not authorized to perform: sts:%s on resource: %s"
                    % (caller_arn, action, role_arn))


def trusted(role, caller, akid):
    names = {"*", akid, caller["arn"]}
    if caller.get("role_arn"):
        names.add(caller["role_arn"])
    return any(t in names for t in role.get("trust", []))


def check_mfa(role, params):
    serial = check_string(params, "SerialNumber", 9, 256, SERIAL_RE)
    code = check_string(params, "TokenCode", 6, 6, re.compile(r"^\d*$"), echo=False)
    if role.get("mfa_serial") is None:
        return True
    if serial != role["mfa_serial"]:
        return False
    if code is None or not hmac.compare_digest(code, role["mfa_code"]):
        raise StsError(403, "AccessDenied",
                       "MultiFactorAuthentication failed with invalid MFA one "
                       "time pass code. ")
    return True


def credentials_xml(akid, key, order):
    parts = [("AccessKeyId", akid), ("SecretAccessKey", key["secret"]),
             ("SessionToken", key["token"]), ("Expiration", iso8601(key["expires"]))]
    if order == "docs":
        parts = [parts[2], parts[1], parts[3], parts[0]]
    return ("Credentials", parts)


def user_xml(key, order):
    parts = [("AssumedRoleId", key["user_id"]), ("Arn", key["arn"])]
    if order == "docs":
        parts.reverse()
    return ("AssumedRoleUser", parts)


def op_assume_role(params, caller, akid, now, rec):
    role_arn, session = role_session(params, rec)
    ext = check_string(params, "ExternalId", 2, 1224, EXTERNAL_ID_RE, echo=False)
    dur = duration(params, rec)
    role = (STATE.config.get("roles") or {}).get(role_arn)
    if role is None or not trusted(role, caller, akid):
        raise denied(caller["arn"], "AssumeRole", role_arn)
    want_ext = role.get("external_id")
    if want_ext is not None and (ext is None or not hmac.compare_digest(ext, want_ext)):
        raise denied(caller["arn"], "AssumeRole", role_arn)
    if not check_mfa(role, params):
        raise denied(caller["arn"], "AssumeRole", role_arn)
    if dur > role.get("duration_max", DEFAULT_DURATION):
        raise StsError(400, "ValidationError", "The requested DurationSeconds "
                       "exceeds the MaxSessionDuration set for this role.")
    if caller.get("role_arn") and dur > CHAIN_LIMIT:
        raise StsError(400, "ValidationError", "The requested DurationSeconds "
                       "exceeds the 1 hour session limit for roles assumed by "
                       "role chaining.")
    account, name = role_parts(role_arn)
    new_akid, key = STATE.issue(role_arn, name, account, session, dur,
                                role.get("issue"), now)
    order = STATE.config.get("element_order") or "model"
    creds, user = credentials_xml(new_akid, key, order), user_xml(key, order)
    size = ("PackedPolicySize", "6")
    return [user, creds, size] if order == "docs" else [creds, user, size]


def web_token_ok(token):
    wi = STATE.config.get("web_identity") or {}
    want = []
    if wi.get("token") is not None:
        want.append(wi["token"])
    if wi.get("token_file") is not None:
        try:
            with open(wi["token_file"], "rb") as f:
                want.append(f.read(MAX_BODY).decode("utf-8", "replace"))
        except OSError:
            pass
    return any(hmac.compare_digest(token.encode(), w.encode()) for w in want)


def op_assume_role_web(params, _caller, _akid, now, rec):
    role_arn, session = role_session(params, rec)
    token = required(params, "WebIdentityToken")
    check_string(params, "WebIdentityToken", 4, 20000, echo=False)
    dur = duration(params, rec)
    wi = STATE.config.get("web_identity") or {}
    if wi.get("expired"):
        raise StsError(400, "ExpiredTokenException",
                       "The web identity token that was passed is expired or is "
                       "not valid. Get a new identity token from the identity "
                       "provider and then retry the request.")
    if not web_token_ok(token):
        raise StsError(400, "InvalidIdentityToken",
                       "The web identity token that was passed could not be "
                       "validated by AWS. Get a new identity token from the "
                       "identity provider and then retry the request.")
    role = (STATE.config.get("roles") or {}).get(role_arn)
    if role is None or not role.get("web_identity"):
        raise StsError(403, "AccessDenied",
                       "Not authorized to perform sts:AssumeRoleWithWebIdentity")
    if dur > role.get("duration_max", DEFAULT_DURATION):
        raise StsError(400, "ValidationError", "The requested DurationSeconds "
                       "exceeds the MaxSessionDuration set for this role.")
    account, name = role_parts(role_arn)
    new_akid, key = STATE.issue(role_arn, name, account, session, dur,
                                role.get("issue"), now)
    order = STATE.config.get("element_order") or "model"
    creds, user = credentials_xml(new_akid, key, order), user_xml(key, order)
    subject = ("SubjectFromWebIdentityToken",
               wi.get("subject") or "system:serviceaccount:default:app")
    audience = ("Audience", wi.get("audience") or "sts.amazonaws.com")
    provider = ("Provider", wi.get("provider") or
                "arn:aws:iam::%s:oidc-provider/oidc.example.com" % account)
    if order == "docs":
        return [subject, audience, user, creds, provider]
    return [creds, subject, user, ("PackedPolicySize", "6"), provider, audience]


def op_caller_identity(_params, caller, _akid, _now, _rec):
    return [("UserId", caller["user_id"]), ("Account", caller["account"]),
            ("Arn", caller["arn"])]


OPERATIONS = {
    "AssumeRole": op_assume_role,
    "AssumeRoleWithWebIdentity": op_assume_role_web,
    "GetCallerIdentity": op_caller_identity,
}

# --------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------


def esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def xml_children(children, depth):
    pad = "  " * depth
    out = []
    for name, value in children:
        if isinstance(value, list):
            out.append("%s<%s>\n%s%s</%s>\n" % (pad, name, xml_children(value, depth + 1),
                                               pad, name))
        else:
            out.append("%s<%s>%s</%s>\n" % (pad, name, esc(value), name))
    return "".join(out)


def success_xml(action, children, request_id):
    return ('<%sResponse xmlns="%s">\n  <%sResult>\n%s  </%sResult>\n'
            '  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
            '  </ResponseMetadata>\n</%sResponse>\n'
            % (action, NS, action, xml_children(children, 2), action,
               request_id, action))


def error_xml(kind, code, message, request_id):
    return ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
            '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
            '  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
            % (NS, esc(kind), esc(code), esc(message), request_id))

# --------------------------------------------------------------------------
# SSO portal
# --------------------------------------------------------------------------


def sso_credentials(query, token, now, rec):
    role = (query.get("role_name") or [None])[0]
    account = (query.get("account_id") or [None])[0]
    rec["role_name"], rec["account_id"] = role, account
    sso = STATE.config.get("sso") or {}
    entry = (sso.get("tokens") or {}).get(token) if token else None
    if entry is None or entry.get("expired"):
        raise SsoError(401, "UnauthorizedException", "Session token not found or invalid")
    if not role or not account:
        raise SsoError(400, "InvalidRequestException",
                       "role_name and account_id are required")
    return entry, role, account


def sso_issue(entry, role, account, now):
    sso = STATE.config.get("sso") or {}
    if role not in (entry.get("accounts") or {}).get(account, []):
        raise SsoError(403, "ForbiddenException", "No access")
    dur = sso.get("duration", DEFAULT_DURATION)
    user = entry.get("user") or "sso-user"
    role_name = "AWSReservedSSO_%s_%s" % (role, derive(account, role).hex()[:16])
    role_arn = "arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/%s" % (account, role_name)
    akid, key = STATE.issue(role_arn, role_name, account, user, dur,
                            sso.get("issue"), now)
    return {"roleCredentials": {"accessKeyId": akid, "secretAccessKey": key["secret"],
                                "sessionToken": key["token"],
                                "expiration": int(key["expires"] * 1000)}}

# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


class TooLarge(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSTS/1.0"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        pass  # the request line may carry an SSO query; nothing is logged

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            self.request.do_handshake()
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---- plumbing -------------------------------------------------------

    def read_body(self):
        """The body, at most MAX_BODY bytes; raises TooLarge (after
        discarding up to DRAIN_MAX more, so the answer is not lost to a
        reset) or ValueError on bad framing."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(80)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                size += n
                if size > DRAIN_MAX:
                    raise TooLarge()
                data = self.rfile.read(n)
                if size <= MAX_BODY:
                    chunks.append(data)
                self.rfile.readline(8)
            if size > MAX_BODY:
                raise TooLarge()
            return b"".join(chunks)
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isdigit() or len(text) > 12:
            raise ValueError("bad Content-Length")
        n = int(text)
        if n > MAX_BODY:
            left = min(n, DRAIN_MAX)
            while left > 0:
                got = self.rfile.read(min(left, 65536))
                if not got:
                    break
                left -= len(got)
            raise TooLarge()
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype, request_id=None, extra=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("x-amzn-RequestId", request_id or str(uuid.uuid4()))
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj, extra=()):
        self.send(status, json.dumps(obj), "application/json", extra=extra)

    def send_sts_error(self, err, request_id):
        self.send(err.status, error_xml(err.kind, err.code, err.message, request_id),
                  "text/xml", request_id)

    def header_map(self):
        out = {}
        for name, value in self.headers.items():
            name, value = name.lower(), value.strip()
            out[name] = out[name] + "," + value if name in out else value
        return out

    def guarded(self, fn):
        try:
            fn()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # never a traceback on hostile input
            self.close_connection = True
            sys.stderr.write("fake_sts: %s: %s\n" % (type(e).__name__, e))
            try:
                self.send_json(500, {"message": "fake_sts internal error"})
            except OSError:
                pass

    def do_GET(self):
        self.guarded(self.route)

    def do_POST(self):
        self.guarded(self.route)

    def do_PUT(self):
        self.guarded(self.route)

    def do_DELETE(self):
        self.guarded(self.route)

    def route(self):
        path, _, query = self.path.partition("?")
        try:
            body = self.read_body()
        except TooLarge:
            return self.refuse_large(path)
        except ValueError:
            self.close_connection = True
            return self.send_sts_error(StsError(400, "MalformedInput",
                                                "Bad request body framing"),
                                       str(uuid.uuid4()))
        if path.startswith("/__"):
            return self.control(path, body)
        if path == "/federation/credentials":
            return self.serve_sso(query)
        if path == "/":
            return self.serve_sts(path, query, body)
        return self.send_json(404, {"message": "fake_sts: no such path"})

    def refuse_large(self, path):
        self.close_connection = True  # what is left of the body goes unread
        request_id = str(uuid.uuid4())
        with STATE.lock:
            STATE.record({"method": self.command, "path": path, "action": None,
                          "signed": "Authorization" in self.headers,
                          "status": 413, "code": "RequestEntityTooLarge"})
        self.send_sts_error(StsError(413, "RequestEntityTooLarge",
                                     "Request body exceeds %d bytes" % MAX_BODY),
                            request_id)

    # ---- control plane --------------------------------------------------

    def control(self, path, body):
        if path == "/__ping":
            return self.send_json(200, {"ok": True, "pid": os.getpid()})
        if path == "/__stats":
            with STATE.lock:
                out = json.dumps(STATE.stats())
            return self.send(200, out, "application/json")
        if path == "/__reset" and self.command == "POST":
            with STATE.lock:
                STATE.reset()
            return self.send_json(200, {"ok": True})
        if path == "/__control" and self.command == "POST":
            try:
                arg = json.loads(body or b"{}")
                with STATE.lock:
                    out = self.control_locked(arg)
            except (ConfigError, ValueError, TypeError, KeyError) as e:
                return self.send_json(400, {"error": "%s: %s" % (type(e).__name__, e)})
            return self.send_json(200, out)
        return self.send_json(404, {"error": "no such control " + path})

    def control_locked(self, arg):
        if not isinstance(arg, dict):
            raise ConfigError("the control body must be a JSON object")
        unknown = sorted(set(arg) - {"faults", "clear_faults", "delay_ms",
                                     "expire_issued", "config"})
        if unknown:
            raise ConfigError("unknown control key(s) %s" % ", ".join(unknown))
        faults = [check_fault(f) for f in as_list(arg, "faults")]
        delay = arg.get("delay_ms")
        if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int)
                                  or not 0 <= delay <= 60000):
            raise ConfigError("delay_ms must be an integer in 0..60000")
        if arg.get("config") is not None:
            merged = dict(STATE.config)
            merged.update(check_config(copy.deepcopy(arg["config"])))
            STATE.config = check_config(merged)
        if arg.get("clear_faults"):
            STATE.faults = []
        STATE.faults.extend(faults)
        if delay is not None:
            STATE.delay_ms = delay
        if arg.get("expire_issued"):
            now = time.time()
            for key in STATE.issued.values():
                key["expires"] = min(key["expires"], now - 1)
        return {"ok": True, "faults": copy.deepcopy(STATE.faults),
                "delay_ms": STATE.delay_ms}

    # ---- faults and delay -----------------------------------------------

    def pause(self):
        with STATE.lock:
            ms = STATE.delay_ms
        if ms:
            time.sleep(ms / 1000.0)

    def fault_answer(self, fault, rec, sso):
        """Answers with fault; the record notes its status and code."""
        rec["status"], rec["code"] = fault["status"], fault["code"]
        if fault["close"]:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        request_id = str(uuid.uuid4())
        if fault["body"] is not None:
            return self.send(fault["status"], fault["body"],
                             fault["content_type"] or "text/plain", request_id)
        if sso:
            return self.send_json(fault["status"], {"message": fault["message"]},
                                  extra=[("x-amzn-ErrorType", fault["code"])])
        return self.send_sts_error(StsError(fault["status"], fault["code"],
                                            fault["message"], fault["type"]),
                                   request_id)

    # ---- STS ------------------------------------------------------------

    def sts_params(self, query, body, headers):
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, errors="strict")
        if body and ctype == "application/x-www-form-urlencoded":
            pairs += urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                            errors="strict")
        params = {}
        for k, v in pairs:
            params.setdefault(k, v)
        return params

    def serve_sts(self, path, query, body):
        request_id = str(uuid.uuid4())
        headers = self.header_map()
        rec = {"method": self.command, "path": path, "action": None,
               "signed": "authorization" in headers,
               "has_session_token": "x-amz-security-token" in headers}
        error = None
        try:
            self.pause()
            answer = self.sts_answer(query, body, headers, rec, request_id)
        except StsError as e:
            rec["status"], rec["code"], error = e.status, e.code, e
        with STATE.lock:
            STATE.record(rec)
        if error is not None:
            return self.send_sts_error(error, request_id)
        return answer()

    def sts_answer(self, query, body, headers, rec, request_id):
        """A function sending the answer; raises StsError."""
        try:
            params = self.sts_params(query, body, headers)
        except (UnicodeDecodeError, ValueError):
            raise StsError(400, "MalformedQueryString",
                           "The request body is not valid form encoding")
        action = params.get("Action")
        if action is None:
            raise StsError(400, "MissingAction", "Missing Action")
        if action in OPERATIONS:
            rec["action"] = action
        if params.get("Version") is None:
            raise StsError(400, "MissingParameter",
                           "The request must contain the parameter Version")
        if action not in OPERATIONS or params["Version"] != VERSION:
            raise StsError(400, "InvalidAction",
                           "Could not find operation %s for version %s"
                           % (action[:64], params["Version"][:16]))
        now = time.time()
        url = "http://%s%s" % (headers.get("host", "127.0.0.1"), self.path)
        with STATE.lock:
            if action == "AssumeRoleWithWebIdentity":
                # The call is made without credentials (botocore and the other
                # SDKs send it unsigned).  Real STS would check a signature if
                # one came; the fake refuses any, with 400, to catch a provider
                # that signs it with (and so needs) source credentials.
                if rec["signed"]:
                    raise StsError(400, "InvalidParameterCombination",
                                   "fake_sts: AssumeRoleWithWebIdentity must be "
                                   "sent unsigned (no Authorization header)")
                caller, akid = None, None
            else:
                caller = authenticate(self.command, url, headers, body, now, rec)
                akid = rec["access_key_id"]
            fault = STATE.take_fault(action)
            if fault is None:
                children = OPERATIONS[action](params, caller, akid, now, rec)
        if fault is not None:
            return lambda: self.fault_answer(fault, rec, False)
        rec["status"], rec["code"] = 200, None
        text = success_xml(action, children, request_id)
        return lambda: self.send(200, text, "text/xml", request_id)

    # ---- SSO ------------------------------------------------------------

    def serve_sso(self, query):
        rec = {"method": self.command, "path": "/federation/credentials",
               "action": SSO_ACTION, "signed": "Authorization" in self.headers}
        token = self.headers.get("x-amz-sso_bearer_token")
        fault = None
        try:
            self.pause()
            if self.command != "GET":
                raise SsoError(404, "NotFoundException", "fake_sts: SSO answers GET only")
            q = urllib.parse.parse_qs(query, keep_blank_values=True)
            now = time.time()
            with STATE.lock:
                entry, role, account = sso_credentials(q, token, now, rec)
                fault = STATE.take_fault(SSO_ACTION)
                if fault is None:
                    out = sso_issue(entry, role, account, now)
        except SsoError as err:
            rec["status"], rec["code"] = err.status, err.code
            with STATE.lock:
                STATE.record(rec)
            return self.send_json(err.status, {"message": err.message},
                                  extra=[("x-amzn-ErrorType", err.code)])
        if fault is None:
            rec["status"], rec["code"] = 200, None
        with STATE.lock:
            STATE.record(rec)
        if fault is not None:
            return self.fault_answer(fault, rec, True)
        return self.send_json(200, out)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a failed TLS handshake or a dropped peer: one line, no traceback
        sys.stderr.write("fake_sts: connection error: %s\n" % (sys.exc_info()[1],))


def watch_parent(pid):
    """Exits once the process that started us is gone (no orphans)."""
    while True:
        time.sleep(0.5)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass


def main(argv):
    global STATE
    p = argparse.ArgumentParser(description="local stand-in for STS and the SSO portal")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config", help="JSON config file")
    src.add_argument("--json", help="JSON config text")
    p.add_argument("--parent-pid", type=int)
    p.add_argument("--cert", help="PEM certificate chain: serve HTTPS")
    p.add_argument("--key", help="PEM private key of --cert")
    args = p.parse_args(argv)
    if bool(args.cert) != bool(args.key):
        p.error("--cert and --key go together")
    try:
        if args.config:
            with open(args.config) as f:
                conf = json.load(f)
        else:
            conf = json.loads(args.json or "{}")
        check_config(conf)
    except (OSError, ValueError) as e:
        sys.stderr.write("fake_sts: bad config: %s\n" % e)
        return 2
    STATE = State(conf)
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        # the handshake runs in the connection's thread (Handler.setup)
        server.socket = tls.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
