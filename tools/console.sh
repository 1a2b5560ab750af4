#!/bin/sh
# tools/console.sh: the ACM renewal admin console (examples/openresty) in a
# real nginx (Debian's nginx-light + the Lua module, build/jit), against the
# built-in fake ACM PCA (spec/support/fake_acmpca.py, seeded with the demo
# fleet plus a CA whose names hold markup), on free loopback ports.  Prints
# the URL and the admin token, then runs until Ctrl-C; nginx and the fake
# are stopped by their PIDs on the way out.  What `make console` runs.
#
#   sh tools/console.sh [--ready FILE]
#
# --ready FILE: once both listen, write {"url", "token", "service",
# "control"} there as JSON (the browser suite, spec/browser/, reads it).
# ACMPCA_ADMIN_TOKEN in the environment is used as the token (16+
# characters); otherwise a random one is made.

set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
NGINX=/usr/sbin/nginx
READY=""
while [ $# -gt 0 ]; do
    case $1 in
        --ready) READY=$2; shift 2 ;;
        *) echo "usage: sh tools/console.sh [--ready FILE]" >&2; exit 2 ;;
    esac
done

if [ ! -f "$ROOT/build/jit/acmpca/core.so" ]; then
    echo "console: $ROOT/build/jit/acmpca/core.so is missing: run make first" >&2
    exit 1
fi
for tool in "$PY" "$NGINX"; do
    if [ ! -x "$tool" ]; then
        echo "console: $tool is missing: run sh .ci/deps (make deps)" >&2
        exit 1
    fi
done

DIR=$(mktemp -d /tmp/acmpca-console.XXXXXX)
chmod 755 "$DIR"
FAKE_PID=""
NGINX_PID=""

stop() {
    trap - EXIT INT TERM
    if [ -n "$NGINX_PID" ]; then
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    fi
    if [ -n "$FAKE_PID" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap stop EXIT
trap 'echo; echo "console: stopping"; exit 0' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- the fake
AKID=AKIDFAKEACMPCAE2E001
SECRET=fakeE2Esecret/0123456789+abcdefghijklmnopq
MARKUP_ARN=arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/de000000-0000-4000-8000-0000000000a1
cat >"$DIR/fake.json" <<EOF
{"credentials": {"$AKID": {"secret": "$SECRET", "token": null}},
 "region": "us-east-1", "demo": true,
 "cas": [{"arn": "$MARKUP_ARN",
          "common_name": "<script>document.title='pwned'</script><b>markup.example.com</b>",
          "permissions": [{"principal": "<img src=x onerror=alert(1)>.example.com",
                           "actions": ["GetCertificate"],
                           "source_account": "111122223333"}]}]}
EOF
"$PY" "$ROOT/spec/support/fake_acmpca.py" serve --port-file "$DIR/fake.ports" \
    --config "$DIR/fake.json" --log "$DIR/fake.log" --parent-pid $$ \
    >"$DIR/fake.stderr" 2>&1 </dev/null &
FAKE_PID=$!
i=0
until grep -q '^[0-9]* [0-9]*' "$DIR/fake.ports" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$FAKE_PID" 2>/dev/null; then
        echo "console: the fake service did not start:" >&2
        cat "$DIR/fake.stderr" >&2
        exit 1
    fi
    sleep 0.05
done
read -r SVC_PORT CONTROL_PORT <"$DIR/fake.ports"

# ---------------------------------------------------------------- nginx
# The example's files are copied into the prefix, readable by the workers'
# user (nobody when nginx starts as root); lua/ and build/jit/ are linked.
P=$DIR/nginx
mkdir -p "$P/logs" "$P/console"
chmod 755 "$P" "$P/console"
cp "$ROOT"/examples/openresty/acm_renewal.lua "$ROOT"/examples/openresty/acm_auth.lua \
   "$ROOT"/examples/openresty/acm_console.lua "$P/"
cp "$ROOT"/examples/openresty/console/* "$P/console/"
chmod a+r "$P"/*.lua "$P"/console/*
ln -s "$ROOT/lua" "$P/lua"
ln -s "$ROOT/build/jit" "$P/lib"
PORT=$(free_port)
sed "s/listen 127\.0\.0\.1:8080;/listen 127.0.0.1:$PORT;/" \
    "$ROOT/examples/openresty/nginx.conf" >"$P/nginx.conf"

TOKEN=${ACMPCA_ADMIN_TOKEN:-}
if [ -z "$TOKEN" ]; then
    TOKEN=$("$PY" -c 'import secrets; print(secrets.token_hex(20))')
fi

env -i PATH=/usr/sbin:/usr/bin:/bin \
    ACMPCA_ADMIN_TOKEN="$TOKEN" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET" \
    AWS_ENDPOINT_URL_ACM_PCA="http://127.0.0.1:$SVC_PORT" AWS_EC2_METADATA_DISABLED=true \
    "$NGINX" -p "$P/" -c "$P/nginx.conf" -e "$P/logs/error.log" \
    >"$P/logs/stdout" 2>&1 </dev/null &
NGINX_PID=$!
i=0
until "$PY" -c "import socket, sys; socket.create_connection(('127.0.0.1', $PORT), 0.2)" \
        2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ] || ! kill -0 "$NGINX_PID" 2>/dev/null; then
        echo "console: nginx did not start:" >&2
        cat "$P/logs/error.log" "$P/logs/stdout" >&2 2>/dev/null || true
        exit 1
    fi
    sleep 0.05
done

URL="http://127.0.0.1:$PORT/acm-renewal/"
if [ -n "$READY" ]; then
    printf '{"url": "%s", "token": "%s", "service": "http://127.0.0.1:%s", "control": "http://127.0.0.1:%s", "error_log": "%s"}\n' \
        "$URL" "$TOKEN" "$SVC_PORT" "$CONTROL_PORT" "$P/logs/error.log" >"$READY.tmp"
    mv "$READY.tmp" "$READY"
fi

cat <<EOF
ACM renewal console (examples/openresty in nginx, against the fake ACM PCA)

  URL:          $URL
  admin token:  $TOKEN

The fake service (http://127.0.0.1:$SVC_PORT) holds the demo fleet: CAs that
are ACTIVE with a complete, partial or no ACM permission, DISABLED, PENDING,
EXPIRED, DELETED, shared from another account, and one whose names hold
markup.  nginx's error log: $P/logs/error.log
Press Ctrl-C to stop nginx and the fake service.
EOF

wait "$NGINX_PID" || true
NGINX_PID=""
echo "console: nginx exited; see the log above" >&2
exit 1
