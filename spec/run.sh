#!/bin/sh
# Runs every suite: luacheck, the rock's install (tools/rock_check.sh),
# the API reference (tools/docs.sh: no LDoc warning, docs/ up to date),
# then the busted specs under Lua 5.4, under
# LuaJIT (with the nginx specs), under Lua 5.4 against the
# AddressSanitizer/UBSan build, and under valgrind's memcheck (Lua 5.4; a
# memcheck error fails that run); and the pure-C signer's test program
# (spec/c/sigv4_test.c, built by `make check`) plain and under ASan/UBSan;
# the admin console in headless Chromium (spec/browser/run.sh);
# and a short run of each libFuzzer target (fuzz/run.sh).
# Prints each runner's output, then one line "N passed, N failed" summed
# over all runs (also left in build/test-summary for .ci/run).
# Exit status is non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
mkdir -p build
LPATH="lua/?.lua;lua/?/init.lua;spec/?.lua"
passed=0
failed=0

# $1 label, $2 log file: add the counts of one run to the totals: busted's
# "N successes / N failures / N errors" line, or a C test program's
# "N passed, N failed".
tally() {
    line=$(grep -E '^[0-9]+ success|^[0-9]+ passed, [0-9]+ failed$' "$2" | tail -n 1)
    if [ -z "$line" ]; then
        echo "== $1: no result line (crashed?)"
        failed=$((failed + 1))
        return
    fi
    s=$(echo "$line" | sed -E 's/^([0-9]+) .*/\1/')
    case "$line" in
    *success*)
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failure.*/\1/')
        e=$(echo "$line" | sed -E 's/.* ([0-9]+) error.*/\1/')
        f=$((f + e)) ;;
    *)
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/') ;;
    esac
    passed=$((passed + s))
    failed=$((failed + f))
    echo "== $1: $s passed, $f failed"
}

# $1 label, $2 test binary; env from caller.  A non-zero exit with no
# failure counted (a sanitizer report after the last line) is one failure.
run_c() {
    log="build/ctest-$1.log"
    if [ ! -x "$2" ]; then
        echo "== $1: $2 not built (make check builds it)"
        failed=$((failed + 1))
        return
    fi
    "$2" >"$log" 2>&1
    rc=$?
    before=$failed
    cat "$log"
    tally "$1" "$log"
    if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
        echo "== $1: exit status $rc"
        failed=$((failed + 1))
    fi
}

# $1 label, $2 interpreter (may be a command line), $3 build dir, $4 extra
# busted flags; env from caller
run_busted() {
    log="build/busted-$1.log"
    ACMPCA_TEST_BUILD="$3" $2 /usr/bin/busted -o plainTerminal \
        --lpath="$LPATH" --cpath="$3/?.so" $4 spec >"$log" 2>&1
    rc=$?
    cat "$log"
    tally "$1" "$log"
    if [ "$rc" -eq 99 ]; then
        echo "== $1: memcheck reported errors (see above)"
        failed=$((failed + 1))
    fi
}

echo "== luacheck"
if luacheck -q lua spec examples bench bin tools; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# The rock: both rockspecs pass `luarocks lint`; `make dist`'s archive
# installs offline (from its source rock) for Lua 5.4 into a throwaway tree,
# quietly with Debian's lua-cjson, and the installed `acmpca` command works
# (tools/rock_check.sh).  rock_nginx_spec.lua (LuaJIT pass) installs it for
# nginx's LuaJIT and loads it in nginx.
run_c rock tools/rock_check.sh

# The API reference: LDoc builds it from config.ld without a warning and the
# committed docs/ is what that build gives (tools/docs.sh; make docs).
run_c docs tools/docs.sh

run_busted lua5.4 lua5.4 build/5.4 "--exclude-tags=nginx"
run_busted luajit luajit build/jit ""

# The admin console in headless Chromium (chromium-driver, python3-selenium)
# against the real nginx with the LuaJIT build and the fake service;
# screenshots under build/browser/.
run_c browser spec/browser/run.sh

ASAN_LIB=$(cc -print-file-name=libasan.so)
LD_PRELOAD="$ASAN_LIB" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_busted asan lua5.4 build/asan "--exclude-tags=nginx,noasan"

run_busted valgrind "valgrind -q --error-exitcode=99 --leak-check=no lua5.4" build/5.4 \
    "--exclude-tags=nginx,noasan"

run_c sigv4_test build/sigv4_test
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_c sigv4_test-asan build/asan/sigv4_test

# The libFuzzer targets (fuzz/, built by `make check`): the committed
# reproducers replayed, then each target for FUZZ_SMOKE_TIME seconds (20)
# from its seeds; one pass per target with no finding.
run_c fuzz-smoke fuzz/run.sh

echo "$passed passed, $failed failed" >build/test-summary
cat build/test-summary
[ "$failed" -eq 0 ]
