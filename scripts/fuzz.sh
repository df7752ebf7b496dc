#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ with AddressSanitizer (and its LeakSanitizer) and runs each for a bounded
# time, seeded with Fuzz/Corpus, the unit tests' fixtures (Fuzz/fixture_seeds.py) and Fuzz/Regressions, the inputs
# of past findings, which are replayed first, and guided by the names in Fuzz/Dictionaries. Exits non-zero when any
# target finds a crash, a leak or a hang; the input is then in .build-fuzz/artifacts/TARGET/. See docs/FUZZING.md.
#
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzFramerDispatcher FuzzJOSE FuzzOPResponses)

# Largest input per target: a few request lines (the line limit is 2048, so oversized lines are reached), a JWKS
# plus a token, an OP answer.
declare -A max_len=([FuzzFramerDispatcher]=8192 [FuzzJOSE]=16384 [FuzzOPResponses]=8192)
# libFuzzer looks for leaks after every input whose mallocs and frees do not balance. The targets that run the async
# engine always end an input with a task still being torn down on another thread, so that check would run (and scan
# the heap, 15 ms) after every input and never find anything: there LeakSanitizer checks once, at exit, instead,
# which still fails the run.
declare -A leaks_per_input=([FuzzFramerDispatcher]=0 [FuzzJOSE]=1 [FuzzOPResponses]=0)

# Its own build directory, so that the sanitized build never invalidates the normal one; RELYD_FUZZ makes
# Package.swift declare the fuzz targets.
build=.build-fuzz
mkdir -p "$build"
for target in "${targets[@]}"; do
  if ! RELYD_FUZZ=1 swift build -c debug --build-path "$build" -Xswiftc -sanitize=fuzzer,address \
      --product "$target" >"$build/build-$target.log" 2>&1; then
    # gold warns about every sanitizer symbol it cannot export: noise, not the error.
    grep -v "Cannot export local symbol" "$build/build-$target.log" >&2
    exit 1
  fi
done

# Swift's own crash backtracer would catch the abort of a broken invariant first and trip ASan while reading memory;
# libFuzzer's handler reports it and saves the input.
export SWIFT_BACKTRACE=enable=no
failed=()
summary="$build/fuzz-summary.txt"
: >"$summary"
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target" seeds="$build/seeds/$target" artifacts="$build/artifacts/$target/"
  mkdir -p "$corpus" "$seeds" "$artifacts" "Fuzz/Corpus/$target" "Fuzz/Regressions/$target"
  python3 Fuzz/fixture_seeds.py "$target" "$seeds"
  echo "== $target: ${seconds}s" >&2
  status=0
  # The first directory collects the corpus the fuzzer grows; the others are read-only seeds.
  nice -n 10 "$build/debug/$target" -max_total_time="$seconds" -max_len="${max_len[$target]}" -timeout=10 \
    -dict="Fuzz/Dictionaries/$target.dict" -detect_leaks="${leaks_per_input[$target]}" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" \
    "$corpus" "Fuzz/Corpus/$target" "Fuzz/Regressions/$target" "$seeds" >"$build/fuzz-$target.log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$target.log")
  coverage=$(grep -o "cov: [0-9]*" "$build/fuzz-$target.log" | tail -1 || true)
  corpus_size=$(ls "$corpus" | wc -l)
  echo "$target: status $status, ${executions:-?} executions in ${seconds}s, $coverage, corpus $corpus_size" \
    | tee -a "$summary" >&2
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    grep -v "^#[0-9]" "$build/fuzz-$target.log" | tail -60 >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
