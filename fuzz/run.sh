#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after another,
# with one job each (the machine may be shared), and prints the executions
# of each target and their total. Fails if any target crashes, leaks, times
# out or fails an assertion; the reproducer is left in fuzz/artifacts/.
#
#   fuzz/run.sh 60            # every target, 60 s each
#   fuzz/run.sh 300 entry     # some targets only
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# The seeds are fuzz/corpus/<target>/ (committed); what libFuzzer adds
# goes to fuzz/work/<target>/ (ignored by git), so later runs resume from it.
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build -O
mkdir -p work logs

total=0
failed=()
printf '%-16s %14s %10s %8s\n' target executions exec/s result
for target in "${targets[@]}"; do
    mkdir -p "work/$target" "corpus/$target"
    log="logs/$target.log"
    status=ok
    # -jobs is not used: one process, so that the executions are its own.
    if ! cargo +nightly fuzz run -O "$target" "work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=CRASH
        failed+=("$target")
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    runs=${runs:-0}
    total=$((total + runs))
    printf '%-16s %14s %10s %8s\n' "$target" "$runs" "${rate:-?}" "$status"
done
printf '%-16s %14s\n' total "$total"

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashes in: ${failed[*]} (see fuzz/logs/ and fuzz/artifacts/)" >&2
    exit 1
fi
