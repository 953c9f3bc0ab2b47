#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan + UBSan) into build-fuzz/ and runs each on its corpus.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 20 s for each of fuzz_container fuzz_entropy fuzz_png
#                                             fuzz_jpeg fuzz_pnm fuzz_webp fuzz_metadata
# SECONDS = 0 runs without a time limit (give -runs=N in FUZZ_FLAGS). Extra libFuzzer flags: FUZZ_FLAGS, e.g.
#   FUZZ_FLAGS=-runs=10000000 scripts/fuzz.sh 0 fuzz_entropy
# One worker, one target at a time, at low priority. New inputs go to build-fuzz/corpus/<target> (the committed
# seeds in fuzz/corpus/<target> are only read); crash inputs to build-fuzz/artifacts/. Exits non-zero if clang is
# missing, the build fails, or any target finds a crash, leak, timeout or out-of-memory.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_container fuzz_entropy fuzz_png fuzz_jpeg fuzz_pnm fuzz_webp fuzz_metadata)
build="${DCODEC_FUZZ_BUILD_DIR:-$root/build-fuzz}"

cxx=""
for c in clang++-14 clang++; do
  if command -v "$c" >/dev/null 2>&1; then cxx="$(command -v "$c")"; break; fi
done
if [ -z "$cxx" ]; then
  echo "fuzz.sh: FAILED: neither clang++-14 nor clang++ is installed (scripts/setup.sh installs clang-14 and" \
       "libclang-rt-14-dev)" >&2
  exit 1
fi
cc="${cxx/clang++/clang}"

# Configured every time (quick), so that a target added since the last run is known.
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root/fuzz" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
else
  cmake -S "$root/fuzz" -B "$build" >/dev/null
fi
cmake --build "$build" -j1 --target "${targets[@]}" >/dev/null || {
  echo "fuzz.sh: FAILED: the fuzzers did not build (cmake --build $build -j1 for details)" >&2
  exit 1
}

time_flag=()
[ "$seconds" != 0 ] && time_flag=(-max_total_time="$seconds")
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log="$build/$t.log"
  echo "fuzz.sh: $t (${seconds:-0} s) ..." >&2
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  if nice -n 10 "$build/$t" -max_len=65536 -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$t-" "${time_flag[@]}" ${FUZZ_FLAGS:-} \
       "$build/corpus/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    echo "fuzz.sh: $t: ok, ${runs:-?} executions, ${speed:-?} exec/s" >&2
  else
    echo "fuzz.sh: $t: FAILED (log: $log); the last lines:" >&2
    tail -n 40 "$log" >&2
    status=1
  fi
done
exit $status
