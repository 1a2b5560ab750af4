#!/usr/bin/python3
"""fuzz/seeds.py: writes the committed seed corpora under fuzz/corpus/.

    /usr/bin/python3 fuzz/seeds.py

Each seed is in its target's input format (see the comment at the top of
fuzz/<target>.c).  The answers and error bodies follow
/work/shared/reference/acm-pca-wire.md (awsJson1_1: 200 with a JSON
object, errors as {"__type", "message"} or X-Amzn-ErrorType); the signer's
seeds are the requests of AWS's SigV4 suite in spec/fixtures/sigv4-suite-v4.
Run it again after changing a format; the files are small and deterministic.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CA_ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/11111111-2222-3333-4444-555555555555"

# model order of src/model_gen.c's acmpca_operations
OPS = ["CreatePermission", "DeletePermission", "DeletePolicy", "DescribeCertificateAuthority",
       "GetPolicy", "ListCertificateAuthorities", "ListPermissions", "PutPolicy"]


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def response(name, status, op, mode, headers, body):
    block = "".join("%s: %s\n" % kv for kv in headers)
    write("response", name, struct.pack(">HBB", status, OPS.index(op), mode) +
          block.encode() + b"\0" + body.encode())


def response_seeds():
    h = [("content-type", "application/x-amz-json-1.1"),
         ("x-amzn-requestid", "b0cf3ac1-2d43-4c7f-9f3c-0d5f6f1c9a10")]
    ca = ('{"Arn":"%s","OwnerAccount":"111122223333","CreatedAt":1700000000.123,'
          '"LastStateChangeAt":1700000100,"Type":"ROOT","Serial":"4c1f","Status":"ACTIVE",'
          '"NotBefore":1700000000,"NotAfter":2015360000,"KeyStorageSecurityStandard":'
          '"FIPS_140_2_LEVEL_3_OR_HIGHER","UsageMode":"GENERAL_PURPOSE",'
          '"CertificateAuthorityConfiguration":{"KeyAlgorithm":"RSA_2048","SigningAlgorithm":'
          '"SHA256WITHRSA","Subject":{"Country":"US","CommonName":"example.com"}},'
          '"RevocationConfiguration":{"CrlConfiguration":{"Enabled":false},'
          '"OcspConfiguration":{"Enabled":false}}}' % CA_ARN)
    response("describe-ok", 200, "DescribeCertificateAuthority", 0, h,
             '{"CertificateAuthority":%s}' % ca)
    response("list-cas-ok", 200, "ListCertificateAuthorities", 0, h,
             '{"CertificateAuthorities":[%s],"NextToken":"tok=="}' % ca)
    response("list-permissions-ok", 200, "ListPermissions", 0, h,
             '{"Permissions":[{"CertificateAuthorityArn":"%s","CreatedAt":1.7e9,'
             '"Principal":"acm.amazonaws.com","SourceAccount":"111122223333",'
             '"Actions":["IssueCertificate","GetCertificate","ListPermissions"],'
             '"Policy":"{}"}]}' % CA_ARN)
    response("get-policy-ok", 200, "GetPolicy", 0, h,
             '{"Policy":"{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}"}')
    response("create-permission-ok", 200, "CreatePermission", 0, h, "{}")
    response("put-policy-empty", 200, "PutPolicy", 1, [], "")
    response("not-found", 400, "DescribeCertificateAuthority", 0, h,
             '{"__type":"ResourceNotFoundException","message":"Could not find certificate '
             'authority %s."}' % CA_ARN)
    response("throttled", 400, "ListCertificateAuthorities", 0, h,
             '{"__type":"com.amazonaws.acmpca#ThrottlingException:http://internal",'
             '"Message":"Rate exceeded"}')
    response("header-type", 400, "GetPolicy", 0,
             h + [("x-amzn-errortype", "InvalidStateException:http://internal.amazon.com/")], "")
    response("skew", 403, "ListPermissions", 0,
             h + [("date", "Sun, 06 Nov 1994 08:49:37 GMT")],
             '{"__type":"InvalidSignatureException","message":"Signature expired: '
             '19941106T084937Z is now earlier than 20240101T000000Z"}')
    response("time-too-skewed", 403, "DeletePolicy", 0,
             [("Date", "Mon, 01 Jan 2024 00:00:00 GMT")],
             '{"__type":"RequestTimeTooSkewed","message":"too skewed"}')
    response("html-503", 503, "PutPolicy", 0, [("content-type", "text/html")],
             "<html><body>Service Unavailable</body></html>\r\n")
    response("not-json-200", 200, "DescribeCertificateAuthority", 0, h, "[1,2,3]")
    response("transport-string", 0, "ListPermissions", 2, [], "Connection refused")
    response("transport-table", 0, "DescribeCertificateAuthority", 3,
             [("code", "Timeout")], "operation timed out after 30000 ms")
    response("bad-status", 0xFFF9, "GetPolicy", 0, h, "{}")


def headers_seeds():
    write("headers", "final", "\0HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
          "x-amzn-RequestId: b0cf3ac1\r\nContent-Length: 2\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT"
          "\r\n\r\n")
    write("headers", "continue", "\0HTTP/1.1 100 Continue\r\nX-Old: 1\r\n\r\nHTTP/1.1 400 Bad "
          "Request\r\nX-Amzn-ErrorType: ThrottlingException\r\nx-amzn-requestid: 1\r\n\r\n")
    write("headers", "repeat-fold", "\0HTTP/1.1 200 OK\r\nVia: a\r\nX-A: one\r\nvia: b\r\n"
          "X-Fold: first\r\n  second\r\n\tthird\r\nX-Empty:\r\n  after-empty\r\nX-A:  two  \r\n\r\n")
    write("headers", "garbage", "\x01HTTP/1.1 200 OK\r\n no-field-before\r\n:novalue\r\n"
          "noColon\r\nName:\r\n\r\n")
    write("headers", "trailer", "\x02HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "X-Trailer: t\r\n\r\n")


def sigv4_seeds():
    suite = os.path.join(ROOT, "spec", "fixtures", "sigv4-suite-v4")
    for case in sorted(os.listdir(suite)):
        req = os.path.join(suite, case, "request.txt")
        if not os.path.isfile(req):
            continue
        with open(req, "rb") as f:
            text = f.read()
        head, _, body = text.partition(b"\n\n")
        lines = head.split(b"\n")
        method, _, rest = lines[0].partition(b" ")
        target = rest.rsplit(b" ", 1)[0]
        path, _, query = target.partition(b"?")
        host, hdrs = b"example.amazonaws.com", []
        for line in lines[1:]:
            if not line:
                continue
            if line[:1] in (b" ", b"\t") and hdrs:
                hdrs[-1] += b" " + line.strip()
                continue
            name, _, value = line.partition(b":")
            if name.lower() == b"host":
                host = value
            elif name.lower() != b"x-amz-date":
                hdrs.append(name + b":" + value)
        flags = 0x01 if "normalized" in case else 0
        if "token" in case:
            flags |= 0x04
        fields = [method, host, path, query, body] + hdrs
        write("sigv4", case, bytes([flags]) + b"\0".join(fields))
    acm = [b"POST", b"acm-pca.us-east-1.amazonaws.com", b"/", b"",
           b'{"CertificateAuthorityArn":"' + CA_ARN.encode() + b'"}',
           b"Content-Type:application/x-amz-json-1.1",
           b"X-Amz-Target:ACMPrivateCA.DescribeCertificateAuthority"]
    write("sigv4", "acm-pca-describe", bytes([0x06]) + b"\0".join(acm))


def endpoint_seeds():
    for name, s in [
        ("url-default", "https://acm-pca.us-east-1.amazonaws.com"),
        ("url-local-port", "http://127.0.0.1:18443"),
        ("url-ipv6", "https://[::1]:8443/prefix/"),
        ("url-default-port", "https://acm-pca-fips.us-gov-west-1.amazonaws.com:443/"),
        ("url-userinfo", "http://user:pw@example.com:80/path?q=1#frag"),
        ("region", "us-east-1"),
        ("region-cn", "cn-north-1"),
        ("region-iso", "us-iso-east-1"),
        ("region-gov", "us-gov-west-1"),
        ("arn", CA_ARN),
        ("arn-gov", "arn:aws-us-gov:acm-pca:us-gov-west-1:123456789012:certificate-authority/abc/def"),
    ]:
        write("endpoint", name, s)


def validate_seeds():
    # byte 0 the operation, byte 1 the leaf (depth-first string members)
    for name, op, leaf, value in [
        ("create-permission-arn", "CreatePermission", 0, CA_ARN),
        ("create-permission-principal", "CreatePermission", 1, "acm.amazonaws.com"),
        ("create-permission-account", "CreatePermission", 2, "111122223333"),
        ("create-permission-action", "CreatePermission", 3, "IssueCertificate"),
        ("list-cas-owner", "ListCertificateAuthorities", 1, "OTHER_ACCOUNTS"),
        ("list-cas-token", "ListCertificateAuthorities", 0, "eyJ0b2tlbiI6IDF9"),
        ("put-policy-policy", "PutPolicy", 1,
         '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
         '{"AWS":"111122223333"},"Action":"acm-pca:IssueCertificate","Resource":"%s"}]}\t\xe9'
         % CA_ARN),
        ("get-policy-bad-arn", "GetPolicy", 0, "arn:aws:acm-pca:us-east-1:1:certificate-authority/"),
    ]:
        write("validate", name, bytes([OPS.index(op), leaf]) + value.encode())


if __name__ == "__main__":
    response_seeds()
    headers_seeds()
    sigv4_seeds()
    endpoint_seeds()
    validate_seeds()
