#!/usr/bin/env bash
# Instructions per spin update of `calo4p sample`, counted by callgrind: the difference
# between two runs that differ only in 10 burn-in sweeps, divided by 10 x chains x units, so
# start-up (model load, quantisation, table) and the one recorded sweep cancel out.
#
#   cargo build --release -p calo4p
#   bash benches/callgrind_ipu.sh [CHAINS]        # default 256
#
# Valgrind does not emulate AVX-512: under callgrind the kernel's run-time dispatch picks
# its AVX2 path, so these are the AVX2 path's counts (AVX-512 runs fewer instructions).
# (A gungraun benchmark would need the gungraun-runner binary installed; this script needs
# only valgrind, and gives the same stable count.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${CALO4P_BIN:-$here/target/release/calo4p}
chains=${1:-256}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" model random --zephyr 6,4 --per-partition 302 --seed 1 --out "$tmp/z64.json" >/dev/null
count() { # burn-in, engine args...
    local burn=$1; shift
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" sample --model "$tmp/z64.json" \
        --chains "$chains" --burn-in "$burn" --sweeps 1 --seed 1 --quiet --threads 1 "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : //p'
}
for engine in "--engine fixed --format Q8.8 --lut-bits 16" "--engine fixed --format Q8.8 --lut-bits 16 --rng xoshiro" \
    "--engine fixed --format Q8.8 --lut-bits 16 --rule metropolis" "--engine float32" "--engine float"; do
    # shellcheck disable=SC2086
    a=$(count 4 $engine); b=$(count 14 $engine)
    python3 -c "print(f'{($b - $a) / (10 * $chains * 1208):7.2f} instructions/update  $engine, $chains chains')"
done
