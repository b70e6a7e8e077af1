# Sourced by scripts/test (and any script that wants the same log): the wall time of every step,
# and lanes of steps that run beside each other, so that a CI log says where its minutes went.
#
#   step NAME CMD...   runs CMD; prints "▶ NAME" before and "✔ NAME: 12.3 s" (or "✘ …") after
#   lane NAME FUNC     runs the function FUNC in the background, its output kept in a file and
#                      printed whole (never interleaved) when the lane ends
#   await_lane NAME    from inside another lane: waits until lane NAME has ended; fails if it failed
#   join_lanes NAME... waits for those lanes; fails (after printing every lane) if one failed
#   steps_summary      the table of every step (its start and wall seconds), the total wall time,
#                      and the tests counted from the runners' own summary lines (cargo test's
#                      "test result:", node --test's "# pass" / "# fail") as a last line
#                      "tests: N passed, N failed"
#
# A step inside a lane is recorded with the lane's name, e.g. "wasm › SIMD128 build". A script
# run by a step that sources this file too (scripts/build-wasm) records its steps in the same
# table: the table's file and the lane are exported. Times are wall times: steps of lanes that
# overlap share the machine's cores.

if [ -z "${STEPS_FILE:-}" ]; then
    STEPS_START=$(date +%s.%N)
    STEPS_FILE=$(mktemp "${TMPDIR:-/tmp}/steps.XXXXXX")
    STEPS_LANES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lanes.XXXXXX")
    export STEPS_START STEPS_FILE STEPS_LANES_DIR
fi
export STEPS_LANE="${STEPS_LANE:-}"
declare -A STEPS_PIDS=() STEPS_LOGS=()

_steps_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

step() {
    local name="${STEPS_LANE:+$STEPS_LANE › }$1" t0 rc=0 secs start
    shift
    t0=$(date +%s.%N)
    start=$(_steps_since "$STEPS_START")
    echo "▶ $name"
    # Not `"$@" || rc=$?`: bash ignores `set -e` inside a function run as part of `||`, so a
    # function given as CMD would go on past its first failure. A subshell with -e, run while -e
    # is off out here, stops at it.
    local errexit=0
    case $- in *e*) errexit=1; set +e ;; esac
    # Everything a step prints is also kept for the test count of steps_summary: a file per
    # lane, so that lanes writing at once never split each other's lines.
    ( set -eo pipefail; "$@" ) 2>&1 | tee -a "$STEPS_LANES_DIR/output-${STEPS_LANE:-main}.log"
    rc=${PIPESTATUS[0]}
    [ "$errexit" -eq 1 ] && set -e
    secs=$(_steps_since "$t0")
    printf '%s\t%s\t%s\t%s\n' "$name" "$start" "$secs" "$rc" >>"$STEPS_FILE"
    if [ "$rc" -eq 0 ]; then echo "✔ $name: $secs s"; else echo "✘ $name: exit $rc after $secs s"; fi
    return "$rc"
}

lane() {
    local name=$1 func=$2 log
    log=$(mktemp "${TMPDIR:-/tmp}/lane-$name.XXXXXX")
    echo "▶ lane $name (in the background; its log follows when it ends)"
    # The lane's exit code lands in a file, for await_lane in a sibling lane (which cannot `wait`).
    (
        export STEPS_LANE=$name
        trap 'echo $? >"$STEPS_LANES_DIR/$STEPS_LANE.rc"' EXIT
        set -euo pipefail
        "$func"
    ) >"$log" 2>&1 &
    STEPS_PIDS[$name]=$!
    STEPS_LOGS[$name]=$log
}

await_lane() {
    local rc_file="$STEPS_LANES_DIR/$1.rc"
    echo "… waiting for lane $1"
    while [ ! -e "$rc_file" ]; do sleep 1; done
    # The trap writes the file before its contents: give it a moment to be whole.
    until [ -s "$rc_file" ]; do sleep 0.1; done
    [ "$(cat "$rc_file")" -eq 0 ] || { echo "lane $1 failed" >&2; return 1; }
}

join_lanes() {
    local name failed=()
    for name in "$@"; do
        local rc=0
        wait "${STEPS_PIDS[$name]}" || rc=$?
        echo "──── lane $name: $([ "$rc" -eq 0 ] && echo done || echo "FAILED (exit $rc)") ────"
        cat "${STEPS_LOGS[$name]}"
        echo "──── end of lane $name ────"
        rm -f "${STEPS_LOGS[$name]}"
        [ "$rc" -eq 0 ] || failed+=("$name")
    done
    if [ ${#failed[@]} -gt 0 ]; then
        echo "lanes failed: ${failed[*]}" >&2
        return 1
    fi
}

steps_summary() {
    echo
    echo "| step | starts at s | wall s | exit |"
    echo "| --- | ---: | ---: | ---: |"
    awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$STEPS_FILE"
    echo "| **total (wall)** | | **$(_steps_since "$STEPS_START")** | |"
    echo
    # cargo: "test result: ok. 13 passed; 0 failed; …"; node --test: "# pass 28" / "# fail 0".
    cat "$STEPS_LANES_DIR"/output-*.log 2>/dev/null | awk '/^test result: / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
         /^# pass [0-9]+$/ { p += $3 } /^# fail [0-9]+$/ { f += $3 }
         END { printf "tests: %d passed, %d failed\n", p, f }'
    rm -rf "$STEPS_FILE" "$STEPS_LANES_DIR"
}
