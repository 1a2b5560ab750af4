#!/bin/sh
# Runs the libFuzzer targets (build/fuzz/<target>, made by `make fuzz-build`)
# one after another, each for a number of seconds on a scratch copy of its
# seed corpus (fuzz/corpus/<target>) with its dictionary (fuzz/<target>.dict).
# Nothing is ever written into fuzz/.
#
#   sh fuzz/run.sh [seconds [target...]]   (default $FUZZ_SMOKE_TIME or 20 s, every target)
#
# FUZZ_MODE=smoke (the default): a fresh scratch corpus each run, under
# build/fuzz/smoke/<target>.  FUZZ_MODE=fuzz (`make fuzz`): the scratch
# corpus under build/fuzz/corpus/<target> is kept and grows between runs.
# A finding (crash, sanitizer report, leak, timeout, out-of-memory) is left
# in build/fuzz/artifacts/<target>/; the full log in build/fuzz/<target>.log.
#
# Prints one line per target, "ok <target>: ..." with the executions,
# rate, coverage (cov, ft) and corpus size, or "not ok <target>: ..." with
# the end of the report; then exactly "N passed, M failed" (spec/run.sh
# counts it).  Exit status non-zero on any finding or missing target.
set -u
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SMOKE_TIME:-20}}
[ $# -gt 0 ] && shift
targets=${*:-response headers endpoint sigv4 validate xml}
mode=${FUZZ_MODE:-smoke}
passed=0
failed=0

for t in $targets; do
    bin=build/fuzz/$t
    log=build/fuzz/$t.log
    art=build/fuzz/artifacts/$t/
    if [ ! -x "$bin" ]; then
        echo "not ok $t: $bin not built (make fuzz-build)"
        failed=$((failed + 1))
        continue
    fi
    # The committed reproducers of reported findings replay first: one
    # that still fails is this target's failure (fuzz/crashes-found/).
    if ls fuzz/crashes-found/"$t"/* >/dev/null 2>&1 &&
        ! "$bin" -runs=1 fuzz/crashes-found/"$t"/* >"$log" 2>&1; then
        echo "not ok $t: a reproducer in fuzz/crashes-found/$t/ still fails (log $log):"
        grep -E 'Running:|ERROR|SUMMARY|runtime error|fuzz[:/]' "$log" | head -n 10
        failed=$((failed + 1))
        continue
    fi
    if [ "$mode" = fuzz ]; then
        work=build/fuzz/corpus/$t
    else
        work=build/fuzz/smoke/$t
        rm -rf "$work"
    fi
    mkdir -p "$work" "$art"
    cp fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
    before=$(ls "$art" | wc -l)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -dict=fuzz/"$t".dict -artifact_prefix="$art" -print_final_stats=1 \
        "$work" >"$log" 2>&1
    rc=$?
    after=$(ls "$art" | wc -l)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$done_line" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
    if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ] && [ -n "$done_line" ]; then
        echo "ok $t: ${execs:-?} execs in ${secs} s (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} (entries/bytes)"
        passed=$((passed + 1))
    else
        echo "not ok $t: exit status $rc, new artifacts in $art (log $log):"
        grep -E 'ERROR|SUMMARY|runtime error|fuzz[:/]|Test unit written|^    #[0-9] ' "$log" | head -n 25
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
