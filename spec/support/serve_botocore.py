#!/usr/bin/python3
"""spec/support/serve_botocore.py: drive `acmpca serve` with botocore.

Debian's python3-botocore signs every request with its own SigV4 code, so a
call that succeeds proves that the fake's signature check agrees with an
implementation that is not acmpca's.

    serve_botocore.py '<JSON>'

JSON: {"endpoint": URL, "region": "us-east-1", "akid": ..., "secret": ...,
       "calls": [["ListPermissions", {params}[, [akid, secret]]], ...]}

Prints one JSON list, one entry per call, in order:
    {"ok": true, "result": {...}}        the parsed answer (times as text)
    {"ok": false, "code": "...", "status": 403, "message": "..."}
One client per pair of credentials (no retries) makes the calls, in order,
so they share the server's state as a script of AWS CLI commands would.
"""

import json
import sys

import botocore.session
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    spec = json.loads(sys.argv[1])
    session = botocore.session.get_session()
    clients = {}

    def client_for(akid, secret):
        if (akid, secret) not in clients:
            clients[(akid, secret)] = session.create_client(
                "acm-pca", region_name=spec.get("region", "us-east-1"),
                endpoint_url=spec["endpoint"],
                aws_access_key_id=akid, aws_secret_access_key=secret,
                config=Config(retries={"max_attempts": 1}, connect_timeout=5,
                              read_timeout=10))
        return clients[(akid, secret)]

    out = []
    for call in spec["calls"]:
        operation, params = call[0], call[1]
        akid, secret = call[2] if len(call) > 2 else (spec["akid"], spec["secret"])
        client = client_for(akid, secret)
        try:
            result = getattr(client, xform_name(operation))(**params)
            result.pop("ResponseMetadata", None)
            out.append({"ok": True, "result": result})
        except ClientError as e:
            err = e.response.get("Error", {})
            meta = e.response.get("ResponseMetadata", {})
            out.append({"ok": False, "code": err.get("Code"),
                        "message": err.get("Message"),
                        "status": meta.get("HTTPStatusCode")})
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
