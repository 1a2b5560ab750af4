#!/bin/sh
# tools/rock_check.sh: the release installs as the README says, offline.
#
#   sh tools/rock_check.sh                       the check spec/run.sh runs
#   sh tools/rock_check.sh install LUA TREE ROCK install ROCK (a .src.rock) for
#                                                LUA (5.4, or jit: nginx's LuaJIT)
#                                                into TREE (rock_nginx_spec.lua)
#
# The check: both rockspecs pass `luarocks lint`; tools/dist.sh makes the
# release archive and its source rock; the rock installs for Lua 5.4 into a
# throwaway tree, quietly (no "Missing dependencies", no warning); the
# installed `acmpca` command, run with an empty environment from outside
# the checkout, answers `ensure-renewal --mock`.  Prints each step and then
# "N passed, N failed".
#
# The install is the README's, on a Debian box where lua-cjson comes from
# apt: luarocks is told once that the system provides lua-cjson
# (`luarocks config --scope system rocks_provided.lua-cjson 2.1.0-1`, into a
# copy of /etc/luarocks here), then `luarocks install` takes the source rock (what it fetches
# from a rocks server); the LuaJIT build compiles against LuaJIT's headers.
set -u
cd "$(dirname "$0")/.." || exit 1

# $1 LUA (5.4 | jit), $2 tree, $3 rock, $4 scratch dir (a copy of
# /etc/luarocks the documented `config --scope system` writes to, and an
# empty HOME); the output goes to $4/install.log.  Fails when luarocks
# fails or says anything about a missing dependency.
install_rock() (
    case "$1" in
    5.4) lv=5.4; set -- "$@" ;;
    jit) lv=5.1; set -- "$@" LUA_INCDIR=/usr/include/luajit-2.1 ;;
    *) echo "rock_check: LUA must be 5.4 or jit, got $1" >&2; return 1 ;;
    esac
    tree=$2 rock=$3 home=$4
    shift 4
    mkdir -p "$home/etc"
    cp /etc/luarocks/config-$lv.lua "$home/etc/" 2>/dev/null
    export HOME="$home" LUAROCKS_SYSCONFDIR="$home/etc"
    luarocks --lua-version=$lv config --scope system rocks_provided.lua-cjson 2.1.0-1 \
        >"$home/install.log" 2>&1 &&
        luarocks --lua-version=$lv install --tree "$tree" "$rock" "$@" \
            >>"$home/install.log" 2>&1 &&
        grep -q "depends on lua-cjson (2.1.0-1 provided by VM)" "$home/install.log" &&
        ! grep -Eq "Missing dependencies|not installed|^Warning|^Error" "$home/install.log"
)

if [ "${1:-}" = install ]; then
    [ $# -eq 4 ] || { echo "usage: tools/rock_check.sh install LUA TREE ROCK" >&2; exit 2; }
    scratch=$(mktemp -d)
    if install_rock "$2" "$3" "$4" "$scratch"; then
        rm -rf "$scratch"
        exit 0
    fi
    cat "$scratch/install.log" >&2
    rm -rf "$scratch"
    exit 1
fi

passed=0
failed=0
# $1 label, then the command
step() {
    label=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "rock_check: ok: $label"
    else
        failed=$((failed + 1))
        echo "rock_check: FAILED: $label"
    fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "luarocks lint lua-acmpca-scm-1.rockspec" luarocks lint lua-acmpca-scm-1.rockspec
for f in lua-acmpca-[0-9]*.rockspec; do
    step "luarocks lint $f" luarocks lint "$f"
done

# The archive is `git archive` of HEAD: in an unpacked release (say under
# `luarocks test`) there is no repository, and only the lints run.
if ! git rev-parse --verify -q HEAD >/dev/null 2>&1; then
    echo "rock_check: not a git checkout: make dist and the install are skipped"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

dist() {
    sh tools/dist.sh "$work/dist" >"$work/dist.log" 2>&1 || { cat "$work/dist.log"; return 1; }
    rock=$(grep '\.src\.rock$' "$work/dist.log")
    tar tzf "$(grep '\.tar\.gz$' "$work/dist.log")" >"$work/files" &&
        [ "$(cut -d/ -f1 "$work/files" | sort -u)" = "$(basename "$rock" .src.rock |
            sed 's/-[0-9]*$//')" ] &&
        ! grep -Eq '^[^/]*/build/' "$work/files"
}
step "make dist: one top directory lua-acmpca-V/, nothing from build/" dist

installed() {
    [ -n "${rock:-}" ] || return 1
    install_rock 5.4 "$work/tree" "$rock" "$work/home" || {
        cat "$work/home/install.log"; return 1; }
}
step "luarocks --lua-version=5.4 install (the source rock, offline, lua-cjson from apt)" installed

# The command luarocks installed: its wrapper sets the module paths itself.
run_command() {
    out=$(cd "$work" && env -i PATH=/usr/bin:/bin "$work/tree/bin/acmpca" ensure-renewal \
        --mock --output text --certificate-authority-arn \
        arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/rock-check 2>&1)
    echo "rock_check: the installed acmpca printed: $out"
    [ "$out" = "$(printf 'arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/%s\t%s' \
        rock-check created)" ] &&
        [ -f "$work/tree/lib/lua/5.4/acmpca/core.so" ]
}
step "the installed acmpca runs ensure-renewal --mock" run_command

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
