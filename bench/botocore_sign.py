"""The reference point for bench/sign.lua: botocore's SigV4Auth signing the
same CreatePermission request.  Run with Debian's /usr/bin/python3
(python3-botocore).  Prints one line: the median signatures per second.

    /usr/bin/python3 bench/botocore_sign.py [rounds] [signatures per round]
"""
import statistics
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PER_ROUND = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
ARN = ("arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/"
       "12345678-1234-1234-1234-123456789012")
BODY = ('{"CertificateAuthorityArn":"' + ARN + '","Principal":"acm.amazonaws.com",'
        '"Actions":["IssueCertificate","GetCertificate","ListPermissions"]}')
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def one():
    req = AWSRequest(method="POST", url="https://acm-pca.us-east-1.amazonaws.com/",
                     data=BODY, headers={
                         "Content-Type": "application/x-amz-json-1.1",
                         "X-Amz-Target": "ACMPrivateCA.CreatePermission"})
    SigV4Auth(CREDS, "acm-pca", "us-east-1").add_auth(req)


def main():
    for _ in range(PER_ROUND // 10):
        one()
    rates = []
    for _ in range(ROUNDS):
        t0 = time.process_time()
        for _ in range(PER_ROUND):
            one()
        rates.append(PER_ROUND / (time.process_time() - t0))
    print("%.0f" % statistics.median(rates))


main()
