#!/usr/bin/python3
"""fake_sts_selftest.py: checks spec/support/fake_sts.py with botocore's own
STS and SSO clients, so the fake is known to speak the real protocol as
botocore reads it (spec/integration/fake_sts_spec.lua runs it).

  fake_sts_selftest.py [--port N]

With --port it drives the fake already listening on 127.0.0.1:N: it resets
it, installs its own config through POST /__control and resets it again at
the end.  Without, it starts a fake of its own and stops it by PID.

Prints "ok N - what" or "not ok N - what: why" per check, then
"N passed, M failed"; the exit status is 1 when a check failed.
"""

import argparse
import datetime
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

# botocore must not read the user's AWS files or environment
for _name in list(os.environ):
    if _name.startswith("AWS_"):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

import botocore.auth  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.handlers  # noqa: E402
import botocore.parsers  # noqa: E402
import botocore.session  # noqa: E402
from botocore import UNSIGNED  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
ACCOUNT = "111122223333"
STATIC = ("AKIDSELFTEST00000001", "selftest/Static+Secret0123456789abcdefgh")
OTHER = ("AKIDSELFTEST00000002", "selftest/Other+Secret0123456789abcdefghi")
TEMP = ("ASIASELFTEST00000003", "selftest/Temp+Secret0123456789abcdefghij",
        "SelfTestSessionToken//+abc==")
ROLE_A = "arn:aws:iam::%s:role/alpha" % ACCOUNT
ROLE_B = "arn:aws:iam::%s:role/path/bravo" % ACCOUNT
ROLE_EXT = "arn:aws:iam::%s:role/external" % ACCOUNT
ROLE_MFA = "arn:aws:iam::%s:role/mfa" % ACCOUNT
ROLE_WEB = "arn:aws:iam::%s:role/web" % ACCOUNT
ROLE_LONG = "arn:aws:iam::%s:role/long" % ACCOUNT
ROLE_FIXED = "arn:aws:iam::%s:role/fixed" % ACCOUNT
EXTERNAL_ID = "selftest-external-id"
MFA_SERIAL = "arn:aws:iam::%s:mfa/alice" % ACCOUNT
MFA_CODE = "123456"
WEB_TOKEN = "selftest-web-identity-token-0001"
SSO_TOKEN = "selftest-sso-access-token-0001"
SSO_EXPIRED = "selftest-sso-expired-token-0002"
FIXED = {"access_key_id": "ASIAFIXEDSELFTEST001", "secret": "fixed/Secret+0123456789",
         "token": "FixedSessionToken+/=="}


def config(token_file):
    return {
        "region": REGION,
        "account": ACCOUNT,
        "credentials": {
            STATIC[0]: {"secret": STATIC[1]},
            OTHER[0]: {"secret": OTHER[1], "arn": "arn:aws:iam::%s:user/mallory" % ACCOUNT},
            TEMP[0]: {"secret": TEMP[1], "token": TEMP[2]},
        },
        "roles": {
            ROLE_A: {"trust": [STATIC[0], TEMP[0]]},
            ROLE_B: {"trust": [ROLE_A]},
            ROLE_EXT: {"trust": [STATIC[0]], "external_id": EXTERNAL_ID},
            ROLE_MFA: {"trust": [STATIC[0]], "mfa_serial": MFA_SERIAL, "mfa_code": MFA_CODE},
            ROLE_WEB: {"trust": [], "web_identity": True},
            ROLE_LONG: {"trust": ["*"], "duration_max": 43200},
            ROLE_FIXED: {"trust": [STATIC[0]], "issue": FIXED},
        },
        "web_identity": {"token_file": token_file, "subject": "system:serviceaccount:ns:app",
                         "audience": "sts.amazonaws.com",
                         "provider": "arn:aws:iam::%s:oidc-provider/oidc.example.com" % ACCOUNT},
        "sso": {"tokens": {SSO_TOKEN: {"accounts": {ACCOUNT: ["Admin", "ReadOnly"]},
                                       "user": "alice"},
                           SSO_EXPIRED: {"accounts": {ACCOUNT: ["Admin"]}, "expired": True}}},
        "element_order": "model",
    }


# --------------------------------------------------------------------------
# the fake, its control plane, botocore clients
# --------------------------------------------------------------------------


class Fake:
    def __init__(self, port):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port

    def http(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, dict((k.lower(), v) for k, v in res.getheaders()), res.read()
        finally:
            conn.close()

    def control(self, doc):
        status, _, body = self.http("POST", "/__control", json.dumps(doc).encode())
        if status != 200:
            raise RuntimeError("control: %d %s" % (status, body))
        return json.loads(body)

    def reset(self):
        status, _, _ = self.http("POST", "/__reset")
        assert status == 200

    def stats(self):
        return json.loads(self.http("GET", "/__stats")[2])


SESSION = botocore.session.get_session()
NO_RETRY = {"total_max_attempts": 1}


def sts(fake, key, region=REGION, **cfg):
    cfg.setdefault("retries", NO_RETRY)
    return SESSION.create_client(
        "sts", endpoint_url=fake.url, region_name=region,
        aws_access_key_id=key[0] if key else None,
        aws_secret_access_key=key[1] if key else None,
        aws_session_token=key[2] if key and len(key) > 2 else None,
        config=Config(**cfg))


def sso(fake):
    return SESSION.create_client("sso", endpoint_url=fake.url, region_name=REGION,
                                 config=Config(signature_version=UNSIGNED, retries=NO_RETRY))


def keys_of(creds):
    return (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def signed_raw(fake, params, key=STATIC, service="sts", region=REGION, extra=None):
    """A query-protocol POST signed by botocore's signer, sent raw; returns
    (status, headers, body)."""
    body = urllib.parse.urlencode(params).encode()
    req = AWSRequest(method="POST", url=fake.url + "/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    for k, v in (extra or {}).items():
        req.headers[k] = v
    botocore.auth.SigV4Auth(Credentials(*key), service, region).add_auth(req)
    return fake.http("POST", "/", body, dict(req.headers.items()))


def parse_error(status, headers, body):
    """botocore's query-protocol parse of an error answer."""
    parser = botocore.parsers.create_parser("query")
    return parser.parse({"status_code": status, "headers": headers, "body": body}, None)


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


class Failed(Exception):
    pass


def want(cond, why):
    if not cond:
        raise Failed(why)


def client_error(fn, code, status, modeled=None):
    """fn() must raise botocore's ClientError with that Code and status
    (and, when modeled names one, as that modeled exception class)."""
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        got = (e.response["Error"].get("Code"),
               e.response["ResponseMetadata"].get("HTTPStatusCode"))
        want(got == (code, status), "got %r, want %r" % (got, (code, status)))
        if modeled is not None:
            want(type(e).__name__ == modeled, "class %s, want %s" % (type(e).__name__, modeled))
        return e.response["Error"].get("Message", "")
    raise Failed("no error, want %s" % code)


def bracket(fn, seconds):
    """(result, lo, hi): fn's result and the bounds an expiration `seconds`
    after the call must fall in (whole seconds)."""
    before = time.time()
    out = fn()
    after = time.time()
    return out, math.floor(before) + seconds, math.ceil(after) + seconds


def epoch(dt):
    return dt.astimezone(datetime.timezone.utc).timestamp()


@check
def caller_identity_static(f, _ctx):
    """GetCallerIdentity names the static key's user"""
    r = sts(f, STATIC).get_caller_identity()
    want(r["Arn"] == "arn:aws:iam::%s:user/%s" % (ACCOUNT, STATIC[0]), r["Arn"])
    want(r["Account"] == ACCOUNT and r["UserId"].startswith("AIDA"), repr(r))
    meta = r["ResponseMetadata"]
    want(meta["RequestId"] == meta["HTTPHeaders"]["x-amzn-requestid"], "request id")
    want(meta["HTTPHeaders"]["content-type"] == "text/xml", "content type")


@check
def assume_role(f, ctx):
    """AssumeRole answers credentials that expire an hour later"""
    r, lo, hi = bracket(lambda: sts(f, STATIC).assume_role(
        RoleArn=ROLE_A, RoleSessionName="selftest-a"), 3600)
    c = r["Credentials"]
    want(c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20, c["AccessKeyId"])
    want(len(c["SecretAccessKey"]) == 40 and len(c["SessionToken"]) > 100, "key sizes")
    want(lo <= epoch(c["Expiration"]) <= hi, "expiration %s" % c["Expiration"])
    want(r["AssumedRoleUser"]["Arn"] ==
         "arn:aws:sts::%s:assumed-role/alpha/selftest-a" % ACCOUNT, repr(r["AssumedRoleUser"]))
    want(r["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
         and r["AssumedRoleUser"]["AssumedRoleId"].endswith(":selftest-a"), "role id")
    want(r["PackedPolicySize"] == 6, "packed policy size")
    again = sts(f, STATIC).assume_role(RoleArn=ROLE_A, RoleSessionName="selftest-a")
    want(keys_of(again["Credentials"]) == keys_of(c), "derived keys are deterministic")
    ctx["role_a"] = keys_of(c)
    ctx["secrets"] += list(keys_of(c))[1:]


@check
def assume_role_duration(f, _ctx):
    """DurationSeconds sets the expiration"""
    r, lo, hi = bracket(lambda: sts(f, STATIC).assume_role(
        RoleArn=ROLE_A, RoleSessionName="short", DurationSeconds=900), 900)
    want(lo <= epoch(r["Credentials"]["Expiration"]) <= hi, "expiration")


@check
def issued_keys_sign(f, ctx):
    """the credentials handed out sign later calls (assumed-role identity)"""
    r = sts(f, ctx["role_a"]).get_caller_identity()
    want(r["Arn"] == "arn:aws:sts::%s:assumed-role/alpha/selftest-a" % ACCOUNT, r["Arn"])
    want(r["UserId"].endswith(":selftest-a"), r["UserId"])


@check
def chain(f, ctx):
    """role A's credentials assume role B (a chain of two roles)"""
    r = sts(f, ctx["role_a"]).assume_role(RoleArn=ROLE_B, RoleSessionName="hop2")
    want(r["AssumedRoleUser"]["Arn"] == "arn:aws:sts::%s:assumed-role/bravo/hop2" % ACCOUNT,
         r["AssumedRoleUser"]["Arn"])
    b = keys_of(r["Credentials"])
    want(b[0] != ctx["role_a"][0], "a new key")
    who = sts(f, b).get_caller_identity()
    want(who["Arn"].endswith(":assumed-role/bravo/hop2"), who["Arn"])
    ctx["secrets"] += list(b)[1:]


@check
def chain_limit(f, ctx):
    """a chained AssumeRole over an hour is ValidationError 400"""
    msg = client_error(lambda: sts(f, ctx["role_a"]).assume_role(
        RoleArn=ROLE_LONG, RoleSessionName="hop", DurationSeconds=7200),
        "ValidationError", 400)
    want("role chaining" in msg, msg)
    sts(f, STATIC).assume_role(RoleArn=ROLE_LONG, RoleSessionName="xx", DurationSeconds=7200)


@check
def temporary_source(f, _ctx):
    """a static key with a session token must send it"""
    r = sts(f, TEMP).assume_role(RoleArn=ROLE_A, RoleSessionName="from-temp")
    want(r["Credentials"]["AccessKeyId"].startswith("ASIA"), "issued")
    client_error(lambda: sts(f, TEMP[:2]).get_caller_identity(), "InvalidClientTokenId", 403)
    client_error(lambda: sts(f, (TEMP[0], TEMP[1], "wrong")).get_caller_identity(),
                 "InvalidClientTokenId", 403)
    client_error(lambda: sts(f, STATIC + ("unwanted",)).get_caller_identity(),
                 "InvalidClientTokenId", 403)


@check
def fixed_issue(f, _ctx):
    """a role's issue block is handed out as is"""
    c = sts(f, STATIC).assume_role(RoleArn=ROLE_FIXED, RoleSessionName="fx")["Credentials"]
    want(keys_of(c) == (FIXED["access_key_id"], FIXED["secret"], FIXED["token"]), repr(c))


@check
def access_denied(f, _ctx):
    """a caller outside the trust list: AccessDenied 403, STS's message"""
    msg = client_error(lambda: sts(f, OTHER).assume_role(
        RoleArn=ROLE_A, RoleSessionName="nope"), "AccessDenied", 403)
    want(msg == "User: arn:aws:iam::%s:user/mallory is not authorized to perform: "
         "sts:AssumeRole on resource: %s" % (ACCOUNT, ROLE_A), msg)
    client_error(lambda: sts(f, STATIC).assume_role(
        RoleArn="arn:aws:iam::%s:role/unknown" % ACCOUNT, RoleSessionName="nope"),
        "AccessDenied", 403)


@check
def external_id(f, _ctx):
    """ExternalId: right one passes, wrong or missing one is AccessDenied"""
    c = sts(f, STATIC)
    c.assume_role(RoleArn=ROLE_EXT, RoleSessionName="ext", ExternalId=EXTERNAL_ID)
    msg = client_error(lambda: c.assume_role(RoleArn=ROLE_EXT, RoleSessionName="ext",
                                             ExternalId="wrong-external"), "AccessDenied", 403)
    want("wrong-external" not in msg, "the external id is not echoed")
    client_error(lambda: c.assume_role(RoleArn=ROLE_EXT, RoleSessionName="ext"),
                 "AccessDenied", 403)


@check
def mfa(f, _ctx):
    """SerialNumber + TokenCode: right code passes, wrong one is AccessDenied"""
    c = sts(f, STATIC)
    c.assume_role(RoleArn=ROLE_MFA, RoleSessionName="mfa", SerialNumber=MFA_SERIAL,
                  TokenCode=MFA_CODE)
    msg = client_error(lambda: c.assume_role(RoleArn=ROLE_MFA, RoleSessionName="mfa",
                                             SerialNumber=MFA_SERIAL, TokenCode="654321"),
                       "AccessDenied", 403)
    want("MultiFactorAuthentication failed" in msg and "654321" not in msg, msg)
    client_error(lambda: c.assume_role(RoleArn=ROLE_MFA, RoleSessionName="mfa"),
                 "AccessDenied", 403)


@check
def validation(f, _ctx):
    """DurationSeconds outside 900..43200, a missing or bad member: ValidationError 400"""
    c = sts(f, STATIC, parameter_validation=False)
    for d in (899, 43201):
        msg = client_error(lambda: c.assume_role(RoleArn=ROLE_LONG, RoleSessionName="vv",
                                                 DurationSeconds=d), "ValidationError", 400)
        want("durationSeconds" in msg, msg)
    msg = client_error(lambda: c.assume_role(RoleArn=ROLE_A, RoleSessionName="vv",
                                             DurationSeconds=7200), "ValidationError", 400)
    want("MaxSessionDuration" in msg, msg)
    msg = client_error(lambda: c.assume_role(RoleArn=ROLE_A), "ValidationError", 400)
    want("roleSessionName" in msg and "must not be null" in msg, msg)
    msg = client_error(lambda: c.assume_role(RoleArn=ROLE_A, RoleSessionName="a b"),
                       "ValidationError", 400)
    want("regular expression" in msg, msg)


@check
def bad_signature(f, _ctx):
    """a wrong secret is SignatureDoesNotMatch 403, an unknown key InvalidClientTokenId 403"""
    msg = client_error(lambda: sts(f, (STATIC[0], "not-the-secret")).get_caller_identity(),
                       "SignatureDoesNotMatch", 403)
    want(msg.startswith("The request signature we calculated does not match"), msg)
    client_error(lambda: sts(f, ("AKIDUNKNOWN000000000", "x")).get_caller_identity(),
                 "InvalidClientTokenId", 403)


@check
def wrong_region(f, _ctx):
    """a signature scoped to another region is SignatureDoesNotMatch 403"""
    msg = client_error(lambda: sts(f, STATIC, region="eu-west-1").get_caller_identity(),
                       "SignatureDoesNotMatch", 403)
    want("region" in msg, msg)


@check
def wrong_service(f, _ctx):
    """a signature scoped to another service is SignatureDoesNotMatch 403"""
    status, headers, body = signed_raw(f, {"Action": "GetCallerIdentity",
                                           "Version": "2011-06-15"}, service="iam")
    err = parse_error(status, headers, body)["Error"]
    want((status, err["Code"]) == (403, "SignatureDoesNotMatch"), repr((status, err)))


@check
def unsigned(f, _ctx):
    """an unsigned AssumeRole is MissingAuthenticationToken 403"""
    c = sts(f, None, signature_version=UNSIGNED)
    client_error(lambda: c.assume_role(RoleArn=ROLE_A, RoleSessionName="uu"),
                 "MissingAuthenticationToken", 403)


@check
def web_identity(f, ctx):
    """AssumeRoleWithWebIdentity, unsigned as botocore sends it"""
    r, lo, hi = bracket(lambda: sts(f, STATIC).assume_role_with_web_identity(
        RoleArn=ROLE_WEB, RoleSessionName="web1", WebIdentityToken=WEB_TOKEN), 3600)
    c = r["Credentials"]
    want(lo <= epoch(c["Expiration"]) <= hi, "expiration")
    want(r["SubjectFromWebIdentityToken"] == "system:serviceaccount:ns:app", "subject")
    want(r["Audience"] == "sts.amazonaws.com", "audience")
    want(r["Provider"].endswith(":oidc-provider/oidc.example.com"), "provider")
    want(r["AssumedRoleUser"]["Arn"] == "arn:aws:sts::%s:assumed-role/web/web1" % ACCOUNT,
         "assumed role")
    last = f.stats()["requests"][-1]
    want(last["action"] == "AssumeRoleWithWebIdentity" and last["signed"] is False,
         "sent unsigned: %r" % last)
    who = sts(f, keys_of(c)).get_caller_identity()
    want(who["Arn"].endswith(":assumed-role/web/web1"), who["Arn"])
    ctx["secrets"] += list(keys_of(c))[1:]


@check
def web_identity_rotation(f, ctx):
    """the token file is read per request: a rotated token replaces the old one"""
    c = sts(f, None)
    with open(ctx["token_file"], "w") as out:
        out.write("selftest-rotated-token-0002")
    try:
        client_error(lambda: c.assume_role_with_web_identity(
            RoleArn=ROLE_WEB, RoleSessionName="ww", WebIdentityToken=WEB_TOKEN),
            "InvalidIdentityToken", 400, "InvalidIdentityTokenException")
        c.assume_role_with_web_identity(RoleArn=ROLE_WEB, RoleSessionName="ww",
                                        WebIdentityToken="selftest-rotated-token-0002")
    finally:
        with open(ctx["token_file"], "w") as out:
            out.write(WEB_TOKEN)


@check
def web_identity_errors(f, _ctx):
    """web identity: bad token 400, no trust 403, expired 400, signed refused"""
    c = sts(f, None)
    msg = client_error(lambda: c.assume_role_with_web_identity(
        RoleArn=ROLE_WEB, RoleSessionName="ww", WebIdentityToken="wrong-token"),
        "InvalidIdentityToken", 400, "InvalidIdentityTokenException")
    want("wrong-token" not in msg, "the token is not echoed")
    client_error(lambda: c.assume_role_with_web_identity(
        RoleArn=ROLE_A, RoleSessionName="ww", WebIdentityToken=WEB_TOKEN),
        "AccessDenied", 403)
    f.control({"config": {"web_identity": {"token": WEB_TOKEN, "expired": True}}})
    try:
        client_error(lambda: c.assume_role_with_web_identity(
            RoleArn=ROLE_WEB, RoleSessionName="ww", WebIdentityToken=WEB_TOKEN),
            "ExpiredTokenException", 400, "ExpiredTokenException")
    finally:
        f.control({"config": {"web_identity": {"token": WEB_TOKEN}}})
    signing = sts(f, STATIC)
    signing.meta.events.unregister("choose-signer.sts.AssumeRoleWithWebIdentity",
                                   botocore.handlers.disable_signing)
    client_error(lambda: signing.assume_role_with_web_identity(
        RoleArn=ROLE_WEB, RoleSessionName="ww", WebIdentityToken=WEB_TOKEN),
        "InvalidParameterCombination", 400)
    want(f.stats()["requests"][-1]["signed"] is True, "that one was signed")


@check
def faults(f, _ctx):
    """injected faults surface as botocore's ClientError with code and status"""
    c = sts(f, STATIC)
    f.control({"faults": [{"action": "AssumeRole", "status": 400, "code": "Throttling",
                           "message": "Rate exceeded", "times": 2}]})
    for _ in range(2):
        msg = client_error(lambda: c.assume_role(RoleArn=ROLE_A, RoleSessionName="tt"),
                           "Throttling", 400)
        want(msg == "Rate exceeded", msg)
    c.assume_role(RoleArn=ROLE_A, RoleSessionName="tt")
    for action, status, code, modeled in (
            ("AssumeRole", 403, "RegionDisabledException", "RegionDisabledException"),
            ("AssumeRole", 400, "MalformedPolicyDocument", "MalformedPolicyDocumentException"),
            ("AssumeRole", 400, "ExpiredTokenException", "ExpiredTokenException"),
            ("AssumeRoleWithWebIdentity", 400, "IDPCommunicationError",
             "IDPCommunicationErrorException"),
            ("AssumeRoleWithWebIdentity", 403, "IDPRejectedClaim", "IDPRejectedClaimException")):
        f.control({"faults": [{"action": action, "status": status, "code": code,
                               "message": "injected"}]})
        if action == "AssumeRole":
            call = lambda: c.assume_role(RoleArn=ROLE_A, RoleSessionName="tt")  # noqa: E731
        else:
            call = lambda: c.assume_role_with_web_identity(  # noqa: E731
                RoleArn=ROLE_WEB, RoleSessionName="tt", WebIdentityToken=WEB_TOKEN)
        client_error(call, code, status, modeled)
    f.control({"faults": [{"action": "*", "status": 500, "code": "InternalFailure",
                           "type": "Receiver", "message": "boom"}]})
    client_error(lambda: c.get_caller_identity(), "InternalFailure", 500)


@check
def fault_garbage_and_close(f, _ctx):
    """a fault's raw body and a dropped connection reach botocore as such"""
    c = sts(f, STATIC)
    f.control({"faults": [{"action": "GetCallerIdentity", "status": 200,
                           "body": "<not xml", "content_type": "text/xml"}]})
    try:
        c.get_caller_identity()
        raise Failed("garbage parsed")
    except botocore.parsers.ResponseParserError:
        pass
    f.control({"faults": [{"action": "GetCallerIdentity", "close": True}]})
    try:
        c.get_caller_identity()
        raise Failed("a closed connection answered")
    except (botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.EndpointConnectionError):
        pass
    c.get_caller_identity()


@check
def expire_issued(f, ctx):
    """expire_issued: handed-out keys are refused with ExpiredToken 403"""
    r = sts(f, STATIC).assume_role(RoleArn=ROLE_A, RoleSessionName="exp")
    f.control({"expire_issued": True})
    client_error(lambda: sts(f, keys_of(r["Credentials"])).get_caller_identity(),
                 "ExpiredToken", 403)
    sts(f, STATIC).get_caller_identity()
    ctx["role_a"] = None


@check
def raw_protocol_errors(f, _ctx):
    """unknown Action, missing Action, other Version, no form content type"""
    status, headers, body = signed_raw(f, {"Action": "GetSessionTokenX", "Version": "2011-06-15"})
    err = parse_error(status, headers, body)["Error"]
    want((status, err["Code"]) == (400, "InvalidAction"), repr((status, err)))
    status, headers, body = signed_raw(f, {"Version": "2011-06-15"})
    err = parse_error(status, headers, body)["Error"]
    want((status, err["Code"]) == (400, "MissingAction"), repr((status, err)))
    status, headers, body = signed_raw(f, {"Action": "GetCallerIdentity", "Version": "2010-01-01"})
    err = parse_error(status, headers, body)["Error"]
    want((status, err["Code"]) == (400, "InvalidAction"), repr((status, err)))
    status, headers, body = signed_raw(f, {"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                                       extra={"Content-Type": "text/plain"})
    err = parse_error(status, headers, body)["Error"]
    want((status, err["Code"]) == (400, "MissingAction"), repr((status, err)))


@check
def large_body(f, _ctx):
    """a body over 64 KiB is refused with 413"""
    status, headers, body = f.http("POST", "/", b"Action=GetCallerIdentity&x=" + b"a" * 70000,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    err = parse_error(status, headers, body)["Error"]
    want((status, err["Code"]) == (413, "RequestEntityTooLarge"), repr((status, err)))


@check
def element_order(f, ctx):
    """botocore reads the answers in the API reference's element order too"""
    f.control({"config": {"element_order": "docs"}})
    try:
        r = sts(f, STATIC).assume_role(RoleArn=ROLE_A, RoleSessionName="docs")
        want(r["Credentials"]["AccessKeyId"].startswith("ASIA"), "credentials")
        want(r["AssumedRoleUser"]["Arn"].endswith("/alpha/docs"), "user")
        w = sts(f, None).assume_role_with_web_identity(
            RoleArn=ROLE_WEB, RoleSessionName="docs", WebIdentityToken=WEB_TOKEN)
        want(w["Credentials"]["SessionToken"] and w["Provider"] and w["Audience"], "web")
        ctx["secrets"] += [r["Credentials"]["SessionToken"], w["Credentials"]["SessionToken"]]
    finally:
        f.control({"config": {"element_order": "model"}})


@check
def sso_success(f, ctx):
    """SSO GetRoleCredentials answers credentials that then sign STS calls"""
    r, lo, hi = bracket(lambda: sso(f).get_role_credentials(
        roleName="Admin", accountId=ACCOUNT, accessToken=SSO_TOKEN), 3600)
    c = r["roleCredentials"]
    want(isinstance(c["expiration"], int) and lo * 1000 <= c["expiration"] <= hi * 1000,
         "expiration %r" % c["expiration"])
    key = (c["accessKeyId"], c["secretAccessKey"], c["sessionToken"])
    who = sts(f, key).get_caller_identity()
    want(":assumed-role/AWSReservedSSO_Admin_" in who["Arn"] and who["Arn"].endswith("/alice"),
         who["Arn"])
    last = f.stats()["requests"][-2]
    want(last["action"] == "GetRoleCredentials" and last["role_name"] == "Admin"
         and last["account_id"] == ACCOUNT, repr(last))
    ctx["secrets"] += list(key)[1:]


@check
def sso_errors(f, _ctx):
    """SSO: unknown or expired token 401, role not granted 403, faults"""
    c = sso(f)
    for token in ("not-a-token", SSO_EXPIRED):
        msg = client_error(lambda: c.get_role_credentials(
            roleName="Admin", accountId=ACCOUNT, accessToken=token),
            "UnauthorizedException", 401, "UnauthorizedException")
        want(msg == "Session token not found or invalid", msg)
    msg = client_error(lambda: c.get_role_credentials(
        roleName="Billing", accountId=ACCOUNT, accessToken=SSO_TOKEN),
        "ForbiddenException", 403)
    want(msg == "No access", msg)
    client_error(lambda: c.get_role_credentials(
        roleName="Admin", accountId="999999999999", accessToken=SSO_TOKEN),
        "ForbiddenException", 403)
    f.control({"faults": [{"action": "GetRoleCredentials", "status": 429,
                           "code": "TooManyRequestsException", "message": "slow down"}]})
    client_error(lambda: c.get_role_credentials(
        roleName="Admin", accountId=ACCOUNT, accessToken=SSO_TOKEN),
        "TooManyRequestsException", 429, "TooManyRequestsException")


@check
def stats_hold_no_secret(f, ctx):
    """counts per action, and no secret or token in the records"""
    st = f.stats()
    for action in ("AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity",
                   "GetRoleCredentials"):
        want(st["counts"].get(action, 0) > 0, "no count for " + action)
    want(st["total"] == sum(st["counts"].values()), "total")
    text = json.dumps(st)
    for secret in ctx["secrets"] + [STATIC[1], OTHER[1], TEMP[1], TEMP[2], WEB_TOKEN,
                                    SSO_TOKEN, SSO_EXPIRED, EXTERNAL_ID, MFA_CODE,
                                    FIXED["secret"], FIXED["token"]]:
        want(secret not in text, "a secret in the stats")


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def start_own():
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_sts.py"), "--json", "{}",
                             "--parent-pid", str(os.getpid())],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        proc.kill()
        raise SystemExit("fake_sts.py did not start")
    return proc, int(line)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    args = p.parse_args(argv)
    proc = None
    port = args.port
    if port is None:
        proc, port = start_own()
    tmp = tempfile.mkdtemp(prefix="acmpca-stsself.")
    passed = failed = 0
    try:
        fake = Fake(port)
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as out:
            out.write(WEB_TOKEN)
        ctx = {"token_file": token_file, "secrets": []}
        fake.reset()
        fake.control({"config": config(token_file)})
        for n, fn in enumerate(CHECKS, 1):
            what = fn.__doc__
            try:
                fake.control({"clear_faults": True})
                fn(fake, ctx)
                passed += 1
                print("ok %d - %s" % (n, what))
            except Exception as e:  # a check failing any way is reported
                failed += 1
                why = str(e) if isinstance(e, Failed) else traceback.format_exc(limit=3)
                print("not ok %d - %s: %s" % (n, what, why))
        fake.reset()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
