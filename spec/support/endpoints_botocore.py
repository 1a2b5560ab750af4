"""The endpoint botocore resolves for each case (spec/settings_spec.lua).

    /usr/bin/python3 spec/support/endpoints_botocore.py < cases.json
    /usr/bin/python3 spec/support/endpoints_botocore.py --fixture > expected.json

Input: a JSON list of cases {"service": "sts" | "sso" | "acm-pca",
"region": str or null, "fips": bool, "dualstack": bool,
"sts_regional": "regional" | "legacy"}.  Output: the same list, each case
with "url" (what botocore's endpoint rule set gives a request) or "error"
(botocore refused: the partition has no such endpoint).  --fixture prints
the built-in case list resolved, which is what
spec/fixtures/endpoints/expected.json holds.

No file or credential of the machine is read: the config and credentials
files are /dev/null and the keys are placeholders.
"""
import json
import os
import sys

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO",
             "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT"):
    os.environ.pop(name, None)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "eu-central-2",
           "me-central-1", "af-south-1", "ca-central-1", "sa-east-1", "ap-south-2",
           "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1",
           "us-iso-east-1", "us-isob-east-1", "aws-global"]

OPERATIONS = {"sts": "GetCallerIdentity", "sso": "GetRoleCredentials",
              "acm-pca": "ListPermissions"}


def builtin_cases():
    cases = []
    for service in ("sts", "sso", "acm-pca"):
        for region in REGIONS:
            if region == "aws-global" and service != "sts":
                continue
            for fips in (False, True):
                for dual in (False, True):
                    modes = ("regional", "legacy") if service == "sts" else ("regional",)
                    for mode in modes:
                        cases.append({"service": service, "region": region, "fips": fips,
                                      "dualstack": dual, "sts_regional": mode})
    # no region: STS takes aws-global (the global endpoint); SSO refuses
    for service, fips, mode in (("sts", False, "legacy"), ("sts", False, "regional"),
                                ("sts", True, "regional"), ("sso", False, "regional")):
        cases.append({"service": service, "region": None, "fips": fips, "dualstack": False,
                      "sts_regional": mode})
    return cases


SESSIONS = {}


def session_for(mode):
    """One session per AWS_STS_REGIONAL_ENDPOINTS value (it reads the
    variable once; its loaded models make the next clients cheap)."""
    if mode not in SESSIONS:
        os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = mode
        SESSIONS[mode] = botocore.session.get_session()
        SESSIONS[mode].get_config_variable("sts_regional_endpoints")
    return SESSIONS[mode]


def resolve(case):
    session = session_for(case["sts_regional"])
    os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = case["sts_regional"]
    out = dict(case)
    try:
        client = session.create_client(
            case["service"], region_name=case["region"],
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="placeholder",
            config=Config(use_fips_endpoint=case["fips"],
                          use_dualstack_endpoint=case["dualstack"]))
        # the URL a request goes to: the rule set, run as for a request
        # (client._endpoint.host is the older resolver's guess, which
        # differs for dual-stack in the iso partitions)
        op = client.meta.service_model.operation_model(OPERATIONS[case["service"]])
        ep = client._ruleset_resolver.construct_endpoint(op, {}, {})
        out["url"] = ep.url
    except Exception as e:  # botocore refused the combination
        out["error"] = type(e).__name__ + ": " + str(e)
    return out


def main():
    if "--fixture" in sys.argv:
        cases = builtin_cases()
    else:
        cases = json.load(sys.stdin)
    json.dump([resolve(c) for c in cases], sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
