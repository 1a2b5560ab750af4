#!/bin/sh
# spec/browser/run.sh: the admin console's browser suite (headless Chromium
# through chromium-driver and python3-selenium, against tools/console.sh:
# the real nginx + Lua module under build/jit and the fake ACM PCA).
# Screenshots land in build/browser/.  The last line printed is always
# "N passed, N failed", counted from the test results; exits 1 on a failure.
#
#   sh spec/browser/run.sh [-k NAME]

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$ROOT/build/browser"
COUNTS=$(mktemp /tmp/acmpca-browser-counts.XXXXXX)
/usr/bin/python3 "$ROOT/spec/browser/test_console.py" --counts "$COUNTS" "$@"
rc=$?
read -r PASSED FAILED <"$COUNTS" 2>/dev/null
rm -f "$COUNTS"
if [ -z "${PASSED:-}" ] || [ -z "${FAILED:-}" ]; then
    # the suite died before counting (no browser, no nginx): one failure
    PASSED=0
    FAILED=1
fi
if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
    FAILED=1
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
