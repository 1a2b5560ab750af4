#!/usr/bin/python3
"""bench/fake_load.py: how many requests a second the signature-checking fake
(spec/support/fake_acmpca.py) answers under concurrent keep-alive load.

Starts the fake with --fleet N --delay-ms D, signs one request per CA with
botocore (ListPermissions, or the operation given), then runs C client
threads for S seconds, each on its own keep-alive connection, round-robin
over the signed requests.  With the delay spent outside the fake's lock, the
ceiling is C * 1000 / D requests a second.

  /usr/bin/python3 bench/fake_load.py [--fleet 1000] [--delay-ms 50]
                   [--concurrency 32] [--seconds 10] [--tls]
                   [--operation ListPermissions | DescribeCertificateAuthority
                                | ListCertificateAuthorities | GetPolicy]

Prints one line per run: requests, errors, requests/s, the ceiling, and the
latency percentiles; exits 1 when any request failed.
"""

import argparse
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "spec", "support", "fake_acmpca.py")
AKID, SECRET = "AKIDFAKELOADBENCH001", "fakeLoadBenchSecret/0123456789abcdefghij"
REGION = "us-east-1"


def start_fake(args, workdir):
    ports = os.path.join(workdir, "ports")
    cmd = ["/usr/bin/python3", FAKE, "serve", "--port-file", ports,
           "--fleet", str(args.fleet), "--delay-ms", str(args.delay_ms),
           "--cred", "%s=%s" % (AKID, SECRET), "--parent-pid", str(os.getpid())]
    if args.tls:
        key, cert = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        cmd += ["--cert", cert, "--key", key]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    deadline = time.time() + 15
    while not os.path.exists(ports):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            sys.exit("fake_load: the fake did not start")
        time.sleep(0.05)
    with open(ports) as f:
        service, control = (int(p) for p in f.read().split())
    return proc, service, control


def control(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    out = json.loads(conn.getresponse().read())
    conn.close()
    return out


def signed(host, operation, params):
    """(headers, body) of one request signed by botocore."""
    body = json.dumps(params).encode()
    req = AWSRequest(method="POST", url="https://%s/" % host, data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "ACMPrivateCA." + operation,
    })
    botocore.auth.SigV4Auth(Credentials(AKID, SECRET), "acm-pca", REGION).add_auth(req)
    return dict(req.headers.items()), body


def requests_for(args, host, cas):
    if args.operation == "ListCertificateAuthorities":
        return [signed(host, args.operation, {})]
    member = "ResourceArn" if args.operation == "GetPolicy" else "CertificateAuthorityArn"
    return [signed(host, args.operation, {member: arn}) for arn in cas]


def worker(args, port, reqs, start_at, stop_at, out):
    ctx = None
    if args.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    make = (lambda: http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)
            ) if args.tls else (lambda: http.client.HTTPConnection("127.0.0.1", port,
                                                                    timeout=30))
    conn = make()
    i = out["offset"]
    lat, errors = [], 0
    while time.time() < start_at:
        time.sleep(0.001)
    while True:
        t0 = time.time()
        if t0 >= stop_at:
            break
        headers, body = reqs[i % len(reqs)]
        i += 1
        try:
            conn.request("POST", "/", body=body, headers=headers)
            res = conn.getresponse()
            res.read()
            ok = res.status == 200 or (args.operation == "GetPolicy" and res.status == 400)
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = make()
        lat.append(time.time() - t0)
        errors += 0 if ok else 1
    conn.close()
    out["latencies"], out["errors"] = lat, errors


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fleet", type=int, default=1000)
    p.add_argument("--delay-ms", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--operation", default="ListPermissions")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="fake_load.") as workdir:
        proc, port, cport = start_fake(args, workdir)
        try:
            cas = [ca["arn"] for ca in control(cport, "/_fake/state")["cas"]]
            reqs = requests_for(args, "127.0.0.1:%d" % port, cas)
            start_at = time.time() + 0.5
            stop_at = start_at + args.seconds
            outs = [{"offset": n * len(reqs) // args.concurrency}
                    for n in range(args.concurrency)]
            threads = [threading.Thread(target=worker,
                                        args=(args, port, reqs, start_at, stop_at, o))
                       for o in outs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            calls = control(cport, "/_fake/calls")
        finally:
            proc.terminate()
            proc.wait(10)

    lat = sorted(x for o in outs for x in o["latencies"])
    errors = sum(o["errors"] for o in outs)
    ceiling = args.concurrency * 1000.0 / args.delay_ms if args.delay_ms else float("inf")
    print("fake_load: %s %s, %d CAs, delay %d ms, %d connections, %.0f s: "
          "%d requests (fake counted %d), %d errors, %.0f requests/s (ceiling %.0f); "
          "latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
          % ("https" if args.tls else "http", args.operation, args.fleet,
             args.delay_ms, args.concurrency, args.seconds, len(lat),
             calls.get("total", 0), errors, len(lat) / args.seconds, ceiling,
             percentile(lat, 50) * 1000, percentile(lat, 90) * 1000,
             percentile(lat, 99) * 1000, (lat[-1] if lat else 0) * 1000))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
