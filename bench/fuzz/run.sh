#!/usr/bin/env bash
# Builds the experiment-parser fuzzer with clang (in build-fuzz/) and runs it on one core.
#   bench/fuzz/run.sh [SECONDS] [more libFuzzer flags]      (default 600 s)
# Seeds: experiments/*.json and bench/fuzz/seeds/; findings land in build-fuzz/ as crash-* files.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
mkdir -p build-fuzz
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DLEPTON_BUILD_FUZZ=ON -DLEPTON_BUILD_TESTS=OFF "${launcher[@]}" > build-fuzz/configure.log
cmake --build build-fuzz --target fuzz_experiment_parser
corpus=build-fuzz/corpus
mkdir -p "$corpus"
cp experiments/*.json bench/fuzz/seeds/*.json "$corpus"/
cd build-fuzz
exec bin/fuzz_experiment_parser corpus -dict=../bench/fuzz/experiment.dict -max_len=4096 -timeout=10 \
  -max_total_time="$seconds" -print_final_stats=1 "$@"
