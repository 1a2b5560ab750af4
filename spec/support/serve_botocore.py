#!/usr/bin/python3
"""spec/support/serve_botocore.py: drive `acmpca serve` with botocore.

Debian's python3-botocore signs every request with its own SigV4 code, so a
call that succeeds proves that the fake's signature check agrees with an
implementation that is not acmpca's.

    serve_botocore.py '<JSON>'

JSON: {"endpoint": URL, "region": "us-east-1", "akid": ..., "secret": ...,
       "calls": [["ListPermissions", {params}], ...]}

Prints one JSON list, one entry per call, in order:
    {"ok": true, "result": {...}}        the parsed answer (times as text)
    {"ok": false, "code": "...", "status": 403, "message": "..."}
One client makes every call (no retries), so the calls share the server's
state exactly as a script of AWS CLI commands would.
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
    client = session.create_client(
        "acm-pca", region_name=spec.get("region", "us-east-1"),
        endpoint_url=spec["endpoint"],
        aws_access_key_id=spec["akid"], aws_secret_access_key=spec["secret"],
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10))
    out = []
    for operation, params in spec["calls"]:
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
