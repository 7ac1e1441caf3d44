#!/bin/bash
# Runs a libFuzzer target so that everything it writes lands in the build
# tree: libFuzzer adds new inputs to the first corpus directory it is given
# and drops crash/leak/timeout files at -artifact_prefix (default: the cwd),
# so both point into WORK_DIR and the seed corpus in the source tree is only
# read.
#
# usage: run_fuzz.sh FUZZER WORK_DIR SEED_DIR [libFuzzer flags...]
set -euo pipefail

# Absolute paths: meson passes them relative to the build directory, and the
# run happens in WORK_DIR.
fuzzer=$(realpath "$1")
work=$(realpath -m "$2")
seeds=$(realpath "$3")
shift 3

mkdir -p "$work/corpus" "$work/artifacts"
cd "$work"
exec "$fuzzer" -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "$seeds"
